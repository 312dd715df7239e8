"""A low-CPU POST load generator: a minimal asyncio keep-alive HTTP/1.1 client.

`concurrency` connections post body(i) for i = 0, 1, ... until `seconds` or `max_requests`
run out; every request's latency is kept. Bounded in time and count, loopback only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] * 1000 if s else float("nan")


async def _post_load(
    port: int,
    path: str,
    body: Callable[[int], bytes],
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str],
    ok: tuple[int, ...],
) -> dict[str, Any]:
    lat: list[float] = []
    errors: dict[int, int] = {}
    counter = iter(range(max_requests))
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                payload = body(i)
                head_out = (
                    f"POST {path} HTTP/1.1\r\nHost: bench\r\n{extra}"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
                )
                t0 = time.perf_counter()
                writer.write(head_out.encode() + payload)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                lat.append(time.perf_counter() - t0)
                if status not in ok:
                    errors[status] = errors.get(status, 0) + 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    return {
        "requests": len(lat),
        "seconds": wall,
        "rps": len(lat) / wall,
        "p50_ms": pct(lat, 0.50),
        "p99_ms": pct(lat, 0.99),
        "errors": errors,
    }


def post_load(port: int, path: str, body: Callable[[int], bytes], **kw: Any) -> dict[str, Any]:
    """Run the load (see the module docstring); returns requests, rps, p50/p99 (ms), errors."""
    return asyncio.run(_post_load(port, path, body, **kw))
