"""Load generators and server CPU accounting for the API benchmarks.

`wrk` (Debian's package, one thread, little CPU) is the load generator when it is installed;
otherwise a minimal asyncio HTTP/1.1 client (`raw`), which also drives the POST loads
(`post_load`); `httpx` drives mixed JSON bodies. Every load is
bounded by a duration and a request count, and the server's CPU per request is read from
/proc for the server's process session only.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

Make = Callable[[int], tuple[str, str, Any]]

WRK_SCRIPT = """
local paths, i = {}, 0
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) used so far by every process of session `sid` (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # after the ")" : state ppid pgrp session ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measured(sid: int, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a load; add the server's CPU per request (independent of other load)."""
    c0 = session_cpu(sid)
    r = fn()
    r["cpu_ms"] = (session_cpu(sid) - c0) * 1000 / max(1, r["requests"])
    return r


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] * 1000 if s else float("nan")


def _summary(lat: list[float], wall: float, errors: dict[int, int]) -> dict[str, Any]:
    return {
        "requests": len(lat),
        "seconds": wall,
        "rps": len(lat) / wall,
        "p50_ms": pct(lat, 0.50),
        "p99_ms": pct(lat, 0.99),
        "errors": errors,
    }


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if m is None:
        return float("nan")
    return float(m.group(1)) * _UNIT[m.group(2)]


def wrk(
    base: str, make: Make, *, concurrency: int, seconds: float, paths: int, headers: dict[str, str]
) -> dict[str, Any]:
    """`wrk -t1 -c{concurrency}` for `seconds` over the GET paths make(0..paths-1), in turn."""
    with tempfile.TemporaryDirectory() as tmp:
        plist, script = Path(tmp) / "paths.txt", Path(tmp) / "rotate.lua"
        plist.write_text("\n".join(make(i)[1] for i in range(paths)) + "\n")
        script.write_text(WRK_SCRIPT % {"paths": plist})
        cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency"]
        cmd += ["--timeout", "10s", "-s", str(script)]
        for k, v in headers.items():
            cmd += ["-H", f"{k}: {v}"]
        out = subprocess.run(
            [*cmd, base], capture_output=True, text=True, timeout=seconds + 60, check=True
        ).stdout
    reqs = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if reqs is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    n = int(reqs.group(1))
    wall = _ms(reqs.group(2) + reqs.group(3)) / 1000
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)$", out, re.M)
    errors: dict[Any, int] = {"non-2xx": int(bad.group(1))} if bad else {}
    if errs:
        errors["socket"] = sum(int(x) for x in re.findall(r"\d+", errs.group(1)))
    return {
        "requests": n,
        "seconds": wall,
        "rps": n / wall,
        "p50_ms": _ms(lat.get("50", "")),
        "p99_ms": _ms(lat.get("99", "")),
        "errors": errors,
    }


async def _raw(
    port: int,
    request: Callable[[int], bytes],
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    ok: tuple[int, ...] = (200,),
) -> dict[str, Any]:
    """`concurrency` keep-alive HTTP/1.1 connections send request(i) (raw bytes) for
    i = 0, 1, ... until `seconds` or `max_requests` run out; every latency is kept."""
    lat: list[float] = []
    errors: dict[int, int] = {}
    counter = iter(range(max_requests))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                data = request(i)
                t0 = time.perf_counter()
                writer.write(data)
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
    return _summary(lat, time.perf_counter() - t0, errors)


def _head(method: str, url: str, headers: dict[str, str]) -> str:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{method} {url} HTTP/1.1\r\nHost: bench\r\n{extra}"


async def load_raw(
    port: int,
    make: Make,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str],
) -> dict[str, Any]:
    """The same GET load from the minimal keep-alive HTTP/1.1 client (when wrk is missing)."""
    return await _raw(
        port,
        lambda i: (_head("GET", make(i)[1], headers) + "\r\n").encode(),
        concurrency=concurrency,
        seconds=seconds,
        max_requests=max_requests,
    )


def post_load(
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
    """A low-CPU POST load of body(i) to `path` from the same raw client; returns requests,
    rps, p50/p99 (ms) and the count of answers outside `ok` by status."""

    def request(i: int) -> bytes:
        payload = body(i)
        head = _head("POST", path, headers)
        return (
            f"{head}Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload

    return asyncio.run(
        _raw(
            port,
            request,
            concurrency=concurrency,
            seconds=seconds,
            max_requests=max_requests,
            ok=ok,
        )
    )


async def load_httpx(
    base: str,
    make: Make,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str],
) -> dict[str, Any]:
    """`concurrency` workers issue make(i) -> (method, url, json) until time or count runs out."""
    lat: list[float] = []
    errors: dict[int, int] = {}
    counter = iter(range(max_requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                method, url, body = make(i)
                t0 = time.perf_counter()
                r = await client.request(method, url, json=body)
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors[r.status_code] = errors.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return _summary(lat, time.perf_counter() - t0, errors)


def get_load(
    base: str, make: Make, *, concurrency: int, seconds: float, paths: int, headers: dict[str, str]
) -> Callable[[], dict[str, Any]]:
    """A GET load from wrk when installed, else from the raw client."""
    if have_wrk():
        return lambda: wrk(
            base, make, concurrency=concurrency, seconds=seconds, paths=paths, headers=headers
        )
    port = int(base.rsplit(":", 1)[1])
    return lambda: asyncio.run(
        load_raw(
            port,
            make,
            concurrency=concurrency,
            seconds=seconds,
            max_requests=10**7,
            headers=headers,
        )
    )
