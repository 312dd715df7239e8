"""The pages name their own files by content hash: those are kept by the browser for a year
(immutable), a file asked for without its hash for five minutes; pages and files answer 304 to
the ETag they were sent with."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.deps import ApiOptions
from api.main import create_app
from loyalty_ledger.config import Settings
from loyalty_ledger.store import make_engine


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = Settings(rpc_url="http://127.0.0.1:9", database_url="sqlite://")
    app = create_app(settings, options=ApiOptions("x", "http://x"), engine=make_engine("sqlite://"))
    return TestClient(app)


@pytest.mark.parametrize("page", ["/dashboard", "/console", "/wallet"])
def test_a_page_names_its_files_by_hash(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text)
    assert refs and all(re.fullmatch(r"/static/[\w./-]+\?v=[0-9a-f]{16}", u) for u in refs), refs
    again = client.get(page, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    for url in refs:
        f = client.get(url)
        assert f.status_code == 200 and f.content
        assert f.headers["cache-control"] == "public, max-age=31536000, immutable"
        same = client.get(url, headers={"If-None-Match": f.headers["etag"]})
        assert same.status_code == 304 and not same.content


def test_a_file_without_its_hash_is_kept_five_minutes(client: TestClient) -> None:
    for url in ("/static/common.js", "/static/common.js?v=0000000000000000"):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
        assert r.headers["cache-control"] == "public, max-age=300"
    assert client.get("/static/../main.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404
