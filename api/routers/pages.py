"""The web pages: the brand dashboard and the customer wallet, with their static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

STATIC = (Path(__file__).resolve().parent.parent / "static").resolve()
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
SWAGGER = "/static/vendor/swagger-ui"

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/dashboard")


@router.get("/dashboard")
def dashboard() -> FileResponse:
    """The brand dashboard (needs a brand API key, entered on the page)."""
    return FileResponse(STATIC / "dashboard.html", media_type="text/html")


@router.get("/console")
def console() -> FileResponse:
    """The brand console: perks, members, segments and notifications, exports (a brand key)."""
    return FileResponse(STATIC / "console.html", media_type="text/html")


@router.get("/wallet")
def wallet() -> FileResponse:
    """The customer wallet (Sign-In with Ethereum)."""
    return FileResponse(STATIC / "wallet.html", media_type="text/html")


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
def static(name: str) -> FileResponse:
    """Files under api/static (the pages' JS/CSS and the vendored Chart.js)."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise HTTPException(404, f"no static file {name}")
    return FileResponse(
        path,
        media_type=TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": "public, max-age=300"},
    )
