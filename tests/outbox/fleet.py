"""Real processes around one database, for the outbox's fault tests and the write benchmark:
two API processes (`loyalty api serve`), submitters (`loyalty submitter`), and tills: a client
posting earns with unique order ids that, like a till, sends the same request again (same order
id, same body) when its answer was lost.

Every wait is bounded; `cleanup()` kills what was started (by process group, never by name).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, select

from loyalty_ledger.chain.anvil import free_port
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.store import outbox as sql

ROOT = Path(__file__).resolve().parents[2]
POINT = 10_000  # VND per point under the default earn rule


class Fleet:
    """Two API processes (uvicorn, one port each) and the submitters, in sessions of their own.

    Two uvicorn processes rather than one with `--workers 2`: the test then knows when a
    restarted one serves again, and kills only serving ones (killing workers that are still
    importing would only measure start-up)."""

    def __init__(
        self,
        workdir: Path,
        *,
        rpc_url: str,
        database_url: str,
        deployment_file: Path,
        extra_env: dict[str, str] | None = None,
        apis: int = 2,
    ) -> None:
        self.dir = workdir
        self.ports = [free_port() for _ in range(apis)]
        self.bases = [f"http://127.0.0.1:{p}" for p in self.ports]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
        env |= {
            "PYTHONPATH": str(ROOT),
            "LOYALTY_RPC_URL": rpc_url,
            "LOYALTY_DATABASE_URL": database_url,
            "LOYALTY_DEPLOYMENT_FILE": str(deployment_file),
            "LOYALTY_DATA_DIR": str(workdir / ".data"),
            "LOYALTY_OPERATOR_KEY": ANVIL_DEV_KEYS[0],
            "LOYALTY_BRAND_KEY": ANVIL_DEV_KEYS[1],
            "LOYALTY_OUTBOX": "1",
            "LOYALTY_SUBMITTER": "0",  # the API only accepts; `loyalty submitter` sends
        }
        self.env = env | (extra_env or {})
        self.apis: list[subprocess.Popen[bytes] | None] = [None] * apis
        self.submitters: list[subprocess.Popen[bytes]] = []
        self.started = self.kills = 0

    def _spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> Any:
        self.started += 1
        log = self.dir / f"{name}-{self.started}.log"
        with open(log, "wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "loyalty_ledger", *args],
                cwd=self.dir,
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def start_api(self, i: int) -> None:
        """API process `i` on its port (not waiting for it)."""
        port = str(self.ports[i])
        self.apis[i] = self._spawn("api", "api", "serve", env={"LOYALTY_API_PORT": port})

    def start(self, submitters: int = 2, timeout: float = 120.0) -> None:
        """Every API process and `submitters` submitters; returns once every API serves."""
        for i in range(len(self.apis)):
            self.start_api(i)
        for _ in range(submitters):
            self.start_submitter()
        deadline = time.monotonic() + timeout
        while len(self.serving()) < len(self.apis):
            dead = [p for p in self.apis if p is not None and p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise AssertionError(f"the API did not start:\n{self.logs('api')}")
            time.sleep(0.2)

    def serving(self) -> list[int]:
        """The API processes that answer now."""
        return [
            i
            for i, p in enumerate(self.apis)
            if p is not None and p.poll() is None and _answers(self.bases[i])
        ]

    def start_submitter(self) -> subprocess.Popen[bytes]:
        p = self._spawn("submitter", "submitter")
        self.submitters.append(p)
        return p

    def live_submitters(self) -> list[subprocess.Popen[bytes]]:
        self.submitters = [p for p in self.submitters if p.poll() is None]
        return self.submitters

    def kill_one(self, rng: random.Random) -> str:
        """SIGKILL an API process or a submitter (in turn, each chosen at random) and start it
        again (not waiting); only an API process that serves (killing one still starting
        would only measure start-up). Returns what was killed."""
        for i, p in enumerate(self.apis):  # one killed before: started again
            if p is not None and p.poll() is not None:
                self.start_api(i)
        subs, serving = self.live_submitters(), self.serving()
        self.kills += 1
        if subs and (not serving or self.kills % 2):
            victim = rng.choice(subs)
            what = "submitter"
        elif serving:
            i = rng.choice(serving)
            victim, what = self.apis[i], "api"  # type: ignore[assignment]
        else:
            return "none"
        victim.kill()
        victim.wait(10)
        if what == "submitter":
            self.start_submitter()
        else:
            self.start_api(i)
        return what

    @contextlib.contextmanager
    def running(self) -> Iterator[Fleet]:
        """Kills everything afterwards; on a failure, prints the processes' last log lines."""
        try:
            yield self
        except BaseException:
            print(self.logs("submitter")[-4000:], self.logs("api")[-4000:])
            raise
        finally:
            self.cleanup()

    def logs(self, name: str) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.dir.glob(f"{name}-*"))

    def cleanup(self) -> None:
        procs = [p for p in (*self.apis, *self.submitters) if p is not None]
        for p in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/openapi.json", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Till:
    """`count` purchases of `prefix-i` by members in turn, `concurrency` at a time, spread over
    at least `min_seconds`; a request that got no answer (or a 5xx) is sent again, unchanged."""

    bases: list[str]
    key: str
    members: list[str]
    count: int
    prefix: str
    concurrency: int = 16
    min_seconds: float = 0.0
    brand: str = "acme"
    answers: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    refused: list[str] = field(default_factory=list)

    def order(self, i: int) -> dict[str, Any]:
        return {
            "member": self.members[i % len(self.members)],
            "order_id": f"{self.prefix}-{i}",
            "amount": (1 + i % 5) * POINT,
            "currency": "VND",
            "items": 1,
        }

    def expected(self) -> dict[str, int]:
        """Points per member once every order earned exactly once."""
        out: dict[str, int] = {}
        for i in range(self.count):
            o = self.order(i)
            out[o["member"]] = out.get(o["member"], 0) + o["amount"] // POINT
        return out

    def run(self) -> None:
        """Bounded: an order still unanswered after 300 s + 50 ms per order is given up."""
        asyncio.run(self._run(time.monotonic() + 300 + self.count / 20))

    async def _run(self, deadline: float) -> None:
        todo = iter(range(self.count))
        t0 = time.monotonic()

        async def worker(w: int) -> None:
            conn = _Conn(self.bases, w)
            try:
                for i in todo:
                    pace = t0 + self.min_seconds * i / self.count - time.monotonic()
                    if pace > 0:
                        await asyncio.sleep(pace)
                    await self._post(conn, i, deadline)
            finally:
                conn.close()

        await asyncio.gather(*(worker(w) for w in range(self.concurrency)))

    async def _post(self, conn: _Conn, i: int, deadline: float) -> None:
        """Post order `i`, and again (to the next API) while no answer came back."""
        body = self.order(i)
        path = f"/brands/{self.brand}/earn/purchase"
        while time.monotonic() < deadline:
            try:
                status, text = await asyncio.wait_for(conn.post(path, body, self.key), 30)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                status, text = 0, ""  # the process died with our request: send it again
            if status == 0 or status >= 500:
                self.retries += 1
                conn.next()
                await asyncio.sleep(0.05)
                continue
            self.answers[body["order_id"]] = status
            if status not in (200, 202):
                self.refused.append(f"{body['order_id']}: {status} {text[:200]}")
            return
        self.refused.append(f"{body['order_id']}: no answer before the deadline")


class _Conn:
    """One keep-alive HTTP/1.1 connection of a till (a minimal client: little CPU, so the
    load generator does not starve the servers on a 2-core machine)."""

    def __init__(self, bases: list[str], at: int) -> None:
        self.ports = [int(b.rsplit(":", 1)[1]) for b in bases]
        self.at = at
        self.rw: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    def next(self) -> None:
        self.close()
        self.at += 1

    def close(self) -> None:
        if self.rw is not None:
            self.rw[1].close()
            self.rw = None

    async def post(self, path: str, body: dict[str, Any], key: str) -> tuple[int, str]:
        if self.rw is None:
            port = self.ports[self.at % len(self.ports)]
            self.rw = await asyncio.open_connection("127.0.0.1", port)
        reader, writer = self.rw
        payload = json.dumps(body).encode()
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: till\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, (await reader.readexactly(length)).decode(errors="replace")


def drained(engine: Engine, timeout: float, alive: Callable[[], None] | None = None) -> dict:  # type: ignore[type-arg]
    """The intents' states once none is queued or sent (AssertionError after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = sql.counts(engine)
        if not counts.get("queued") and not counts.get("sent"):
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(f"the outbox did not drain in {timeout}s: {counts}")
        if alive is not None:
            alive()
        time.sleep(0.25)


def earn_rows(engine: Engine) -> list[dict[str, Any]]:
    from loyalty_ledger.store.offchain import EarnRecord, table

    t = table(EarnRecord)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t)).mappings()]
