"""The web pages: the brand dashboard and the customer wallet, with their static files."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

STATIC = (Path(__file__).resolve().parent.parent / "static").resolve()
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
SWAGGER = "/static/vendor/swagger-ui"
# A page's own files, named with their content's hash (`?v=`): kept by the browser for a year
# without asking again; a page names the new hash once a file changes. Without it (or another
# hash): five minutes. A page itself is asked again each time (its ETag: 304 when unchanged).
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
STATIC_REF = re.compile(r'(src|href)="(/static/[^"?#]+)"')

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/dashboard")


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    """The brand dashboard (needs a brand API key, entered on the page)."""
    return page(request, "dashboard.html")


@router.get("/console")
def console(request: Request) -> Response:
    """The brand console: perks, members, segments and notifications, exports (a brand key)."""
    return page(request, "console.html")


@router.get("/wallet")
def wallet(request: Request) -> Response:
    """The customer wallet (Sign-In with Ethereum)."""
    return page(request, "wallet.html")


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    """The API's OpenAPI page: Swagger UI served from here (vendored), no CDN needed."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} - docs",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
        # No online validator badge (it would call validator.swagger.io).
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/static/{name:path}")
def static(name: str, request: Request) -> Response:
    """Files under api/static (the pages' JS/CSS and the vendored Chart.js)."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise HTTPException(404, f"no static file {name}")
    tag = digest(path, path.stat().st_mtime_ns)
    cache = IMMUTABLE if request.query_params.get("v") == tag else SHORT
    if request.headers.get("if-none-match") == f'"{tag}"':
        return Response(status_code=304, headers={"ETag": f'"{tag}"', "Cache-Control": cache})
    return FileResponse(
        path,
        media_type=TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": cache, "ETag": f'"{tag}"'},
    )


@lru_cache(maxsize=256)
def digest(path: Path, _mtime_ns: int) -> str:
    """A file's content hash (kept per modification time)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def page(request: Request, name: str) -> Response:
    """A page with its own files named by their hashes (`/static/x.js?v=...`)."""
    path = STATIC / name
    html = versioned(path, path.stat().st_mtime_ns)
    tag = '"' + hashlib.sha256(html.encode()).hexdigest()[:16] + '"'
    headers = {"Cache-Control": "no-cache", "ETag": tag}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(html, headers=headers)


@lru_cache(maxsize=32)
def versioned(path: Path, _mtime_ns: int) -> str:
    def named(m: re.Match[str]) -> str:
        file = (path.parent / m[2].removeprefix("/static/")).resolve()
        if not file.is_file():
            return m[0]
        return f'{m[1]}="{m[2]}?v={digest(file, file.stat().st_mtime_ns)}"'

    return STATIC_REF.sub(named, path.read_text(encoding="utf-8"))
