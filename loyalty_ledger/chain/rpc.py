"""A lean JSON-RPC client for hot reads: batches over one keep-alive HTTP connection per thread.

web3's provider stack (middleware, result formatters, a `requests` session) costs about a
millisecond per call; a read that gates a perk needs two small batches. This client sends raw
JSON (orjson) over `http.client` and returns raw results; callers decode the words themselves.
"""

from __future__ import annotations

import http.client
import threading
from typing import Any
from urllib.parse import urlsplit

import orjson

from loyalty_ledger.errors import NodeUnreachable


class RpcError(Exception):
    """An error reply to one call of a batch (e.g. a reverted eth_call)."""

    def __init__(self, method: str, error: Any) -> None:
        super().__init__(f"{method} failed: {error}")
        self.error = error


class JsonRpc:
    """Batched JSON-RPC to one node URL (http or https), thread-safe."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
        return conn

    def _post(self, body: bytes) -> Any:
        headers = {"Content-Type": "application/json"}
        for attempt in (1, 2):  # a kept-alive connection the node closed meanwhile: once more
            conn = self._conn()
            try:
                conn.request("POST", self._path, body, headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise NodeUnreachable(self.url, f"HTTP {resp.status}")
                return orjson.loads(data)
            except (OSError, http.client.HTTPException, orjson.JSONDecodeError) as exc:
                conn.close()
                self._local.conn = None
                if attempt == 2 or isinstance(exc, TimeoutError):
                    raise NodeUnreachable(self.url, type(exc).__name__) from None
        raise AssertionError("unreachable")

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """The results of `calls` (method, params) in order; an error reply becomes an RpcError
        in its place (the caller decides whether it matters); a refused batch raises one."""
        if not calls:
            return []
        body = orjson.dumps(
            [
                {"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                for i, (m, p) in enumerate(calls)
            ]
        )
        replies = self._post(body)
        if not isinstance(replies, list):  # the whole batch refused
            raise RpcError("batch", replies.get("error") if isinstance(replies, dict) else replies)
        by_id = {r.get("id"): r for r in replies}
        out: list[Any] = []
        for i, (method, _params) in enumerate(calls):
            r = by_id.get(i)
            if r is None:
                raise NodeUnreachable(self.url, f"no reply to {method}")
            out.append(RpcError(method, r["error"]) if "error" in r else r.get("result"))
        return out

    def call(self, method: str, params: list[Any]) -> Any:
        """One call's result; RpcError on an error reply."""
        [result] = self.batch([(method, params)])
        if isinstance(result, RpcError):
            raise result
        return result


_clients: dict[tuple[str, float], JsonRpc] = {}
_lock = threading.Lock()


def client(url: str, *, timeout: float = 10.0) -> JsonRpc:
    """The shared client of `url` (one per URL and timeout)."""
    with _lock:
        c = _clients.get((url, timeout))
        if c is None:
            c = _clients[(url, timeout)] = JsonRpc(url, timeout=timeout)
    return c
