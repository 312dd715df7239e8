"""A lean JSON-RPC client for hot reads: batches over one keep-alive HTTP/1.1 connection per
thread, on a plain socket.

web3's provider stack (middleware, result formatters, a `requests` session) costs about a
millisecond per call and `http.client` still ~0.2 ms; a strict eligibility check needs a head
and a batch of views. This client writes the request itself, reads a Content-Length or chunked
reply, parses it with orjson and returns raw results (callers decode the words). For reads
only: a kept-alive connection the node closed meanwhile is retried once.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import weakref
from typing import Any
from urllib.parse import urlsplit

import orjson

from loyalty_ledger.errors import NodeUnreachable


class RpcError(Exception):
    """An error reply to one call of a batch (e.g. a reverted eth_call), or a refused batch."""

    def __init__(self, method: str, error: Any) -> None:
        super().__init__(f"{method} failed: {error}")
        self.error = error


class _Closed(Exception):
    """The node closed the connection before a complete reply."""


class _Http:
    """One keep-alive HTTP/1.1 connection (a thread's own)."""

    def __init__(self, host: str, port: int, tls: bool, timeout: float) -> None:
        self.addr, self.tls, self.timeout = (host, port), tls, timeout
        self.sock: socket.socket | None = None
        self.buf = bytearray()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, bytearray()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.addr, timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.addr[0])
        return sock

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _Closed()
        self.buf += chunk

    def _until(self, mark: bytes) -> bytes:
        while (i := self.buf.find(mark)) < 0:
            self._fill()
        out = bytes(self.buf[:i])
        del self.buf[: i + len(mark)]
        return out

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def post(self, request: bytes) -> tuple[int, bytes]:
        """Send a whole request; the reply's (status, body)."""
        if self.sock is None:
            self.sock = self._connect()
        self.sock.sendall(request)
        head = self._until(b"\r\n\r\n").split(b"\r\n")
        status = int(head[0].split(b" ", 2)[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip().lower()
        if b"content-length" in fields:
            body = self._exactly(int(fields[b"content-length"]))
        elif fields.get(b"transfer-encoding") == b"chunked":
            parts = []
            while size := int(self._until(b"\r\n").split(b";")[0], 16):
                parts.append(self._exactly(size))
                self._exactly(2)
            self._until(b"\r\n")  # the (empty) trailer
            body = b"".join(parts)
        else:  # the body runs to the end of the connection
            try:
                while True:
                    self._fill()
            except _Closed:
                body, self.buf = bytes(self.buf), bytearray()
            fields[b"connection"] = b"close"
        if fields.get(b"connection") == b"close":
            self.close()
        return status, body


class JsonRpc:
    """Batched JSON-RPC reads from one node URL (http or https), thread-safe."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if tls else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._open = (host, port, tls, timeout)
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self._local = threading.local()

    def _post(self, body: bytes) -> Any:
        request = self._head + str(len(body)).encode() + b"\r\n\r\n" + body
        for attempt in (1, 2):
            conn: _Http | None = getattr(self._local, "conn", None)
            fresh = conn is None
            if conn is None:
                conn = self._local.conn = _Http(*self._open)
            try:
                status, data = conn.post(request)
                if status != 200:
                    raise NodeUnreachable(self.url, f"HTTP {status}")
                return orjson.loads(data)
            except (OSError, _Closed, ValueError, IndexError) as exc:
                conn.close()
                self._local.conn = None
                # A kept-alive connection the node closed meanwhile: once more on a new one.
                if fresh or attempt == 2 or isinstance(exc, TimeoutError):
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
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
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


class AsyncJsonRpc:
    """Single JSON-RPC reads on the running event loop, over keep-alive connections kept per loop
    (no thread hop: for the few calls a hot request makes, e.g. the chain head)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        parts = urlsplit(url)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._tls else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self._timeout = timeout
        self._idle: weakref.WeakKeyDictionary[Any, list[tuple[Any, Any]]] = (
            weakref.WeakKeyDictionary()
        )

    async def call(self, method: str, params: list[Any]) -> Any:
        """One call's result; RpcError on an error reply, NodeUnreachable when nothing answers."""
        body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = self._head + str(len(body)).encode() + b"\r\n\r\n" + body
        try:
            reply = await asyncio.wait_for(self._post(request), self._timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise NodeUnreachable(self.url, type(exc).__name__) from None
        except TimeoutError:
            raise NodeUnreachable(self.url, "TimeoutError") from None
        if "error" in reply:
            raise RpcError(method, reply["error"])
        return reply.get("result")

    async def _post(self, request: bytes) -> Any:
        idle = self._idle.setdefault(asyncio.get_running_loop(), [])
        for attempt in (1, 2):
            reused = bool(idle)
            if idle:
                reader, writer = idle.pop()
            else:
                ssl_ctx = ssl.create_default_context() if self._tls else None
                reader, writer = await asyncio.open_connection(self._host, self._port, ssl=ssl_ctx)
            try:
                writer.write(request)
                head = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
                status = int(head[0].split(b" ", 2)[1])
                fields = {}
                for line in head[1:]:
                    name, _, value = line.partition(b":")
                    fields[name.strip().lower()] = value.strip().lower()
                if b"content-length" not in fields:  # chunked or to the end: not kept alive
                    data = await self._rest(reader, fields)
                    writer.close()
                else:
                    data = await reader.readexactly(int(fields[b"content-length"]))
                    if fields.get(b"connection") == b"close":
                        writer.close()
                    else:
                        idle.append((reader, writer))
            except (OSError, asyncio.IncompleteReadError):
                writer.close()
                if reused and attempt == 1:
                    continue  # a kept-alive connection the node closed meanwhile
                raise
            if status != 200:
                raise NodeUnreachable(self.url, f"HTTP {status}")
            return orjson.loads(data)
        raise AssertionError("unreachable")

    @staticmethod
    async def _rest(reader: Any, fields: dict[bytes, bytes]) -> bytes:
        if fields.get(b"transfer-encoding") != b"chunked":
            return bytes(await reader.read())
        parts = []
        while size := int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")
        return b"".join(parts)


_async_clients: dict[tuple[str, float], AsyncJsonRpc] = {}


def async_client(url: str, *, timeout: float = 10.0) -> AsyncJsonRpc:
    """The shared async client of `url` (one per URL and timeout)."""
    with _lock:
        c = _async_clients.get((url, timeout))
        if c is None:
            c = _async_clients[(url, timeout)] = AsyncJsonRpc(url, timeout=timeout)
    return c
