"""A tiny HTTP proxy in front of anvil that injects faults: 429, 5xx, hangs, resets, duplicates,
answers cut off mid-transfer ("truncate": the full Content-Length, half the body, then the
connection closes; "short": half the body, its own length), a lagging head, and eth_getLogs
answers without `blockTimestamp` (as Hardhat's node gives them)."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        seed: int = 0,
        modes: tuple[str, ...] = ("429", "500", "502", "503", "hang", "reset", "dup"),
        hang: float = 1.5,
    ) -> None:
        self.upstream = upstream
        self.rate = rate
        self.modes = modes
        self.hang = hang
        self.rnd = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: dict[str, int] = {}
        self.requests = 0
        self.lag_head: int | None = None  # when set: the node pretends its head is this block
        self.strip_timestamps = False  # when set: eth_getLogs results lose `blockTimestamp`
        self.script: list[str | None] = []  # modes for the next requests, in order (then `rate`)
        self.session = requests.Session()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _pick(self) -> str | None:
        with self.lock:
            self.requests += 1
            if self.script:
                mode = self.script.pop(0)
            elif self.rnd.random() >= self.rate:
                return None
            else:
                mode = self.rnd.choice(self.modes)
            if mode is None:
                return None
            self.injected[mode] = self.injected.get(mode, 0) + 1
            return mode

    def handle(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        mode = self._pick()
        if mode in ("429", "500", "502", "503"):
            payload = b"fault injected"
            h.send_response(int(mode))
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        if mode == "hang":
            time.sleep(self.hang)
            h.close_connection = True
            return
        if mode == "reset":
            h.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            h.close_connection = True
            h.connection.close()
            return
        resp = self.session.post(
            self.upstream, data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        content = resp.content
        if self.lag_head is not None or self.strip_timestamps:
            content = self._rewrite(body, content)
        if mode == "dup":  # the same logs delivered twice in one answer
            data = json.loads(content)
            if isinstance(data, dict) and isinstance(data.get("result"), list):
                data["result"] = data["result"] + data["result"]
                content = json.dumps(data).encode()
        length = len(content)
        if mode in ("truncate", "short"):
            content = content[: len(content) // 2]
            length = length if mode == "truncate" else len(content)
            h.close_connection = True
        h.send_response(resp.status_code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(length))
        h.end_headers()
        h.wfile.write(content)

    def _rewrite(self, body: bytes, content: bytes) -> bytes:
        req, ans = json.loads(body), json.loads(content)
        pairs = zip(req, ans, strict=False) if isinstance(req, list) else [(req, ans)]
        by_id = {a.get("id"): a for a in (ans if isinstance(ans, list) else [ans])}
        for r, _ in pairs:
            a = by_id.get(r.get("id"))
            if a is None or "result" not in a:
                continue
            if r["method"] == "eth_getLogs" and self.strip_timestamps:
                for lg in a["result"] or []:
                    lg.pop("blockTimestamp", None)
            if self.lag_head is None:
                continue
            if r["method"] == "eth_blockNumber":
                a["result"] = hex(self.lag_head)
            elif (
                r["method"] == "eth_getBlockByNumber"
                and r["params"][0].startswith("0x")
                and int(r["params"][0], 16) > self.lag_head
            ):
                a["result"] = None
        return json.dumps(ans).encode()

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
