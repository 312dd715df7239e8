"""The README's main job (`loyalty up`) as a child process the tests start, signal and restart,
with a small demo, free ports (never 8545/8000) and its own data dir; plus what the tests ask
it: health, the chain, the mirror, an audit. Every wait is bounded."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from sqlalchemy import text
from web3 import Web3

from loyalty_ledger.chain.anvil import free_port
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.store import make_engine

ROOT = Path(__file__).resolve().parents[2]


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    """`check()`'s first truthy answer; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            last = check()
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False  # our own child, now reaped
    return True


class MainJob:
    """`python -m loyalty_ledger up` in `workdir`, started again by each `start()`."""

    def __init__(
        self,
        workdir: Path,
        *,
        database_url: str | None = None,
        direct_database_url: str | None = None,
        rpc_url: str | None = None,
        interval: float = 1.0,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """`database_url` is what the job uses (maybe through a proxy); the test reads the
        mirror through `direct_database_url` (default: the same)."""
        self.dir = workdir
        self.api = f"http://127.0.0.1:{free_port()}"
        self.rpc_url = rpc_url or f"http://127.0.0.1:{free_port()}"
        self.deployment_file = workdir / "deployment.json"
        self.data_dir = workdir / ".data"
        self.database_url = database_url or f"sqlite:///{self.data_dir / 'ledger.db'}"
        self.direct_database_url = direct_database_url or self.database_url
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
        env |= {
            "PYTHONPATH": str(ROOT),
            "LOYALTY_RPC_URL": self.rpc_url,
            "LOYALTY_API_PORT": self.api.rsplit(":", 1)[1],
            "LOYALTY_DATA_DIR": str(self.data_dir),
            "LOYALTY_DEPLOYMENT_FILE": str(self.deployment_file),
            "LOYALTY_CHAIN_STATE_INTERVAL": str(interval),
        }
        if database_url:
            env["LOYALTY_DATABASE_URL"] = database_url
        env |= extra_env or {}
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.anvils: set[int] = set()  # every anvil pid seen, for the cleanup

    # ------------------------------------------------------------------ the process
    def start(self) -> MainJob:
        self.runs += 1
        with open(self._out(), "wb") as out, open(self._err(), "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "loyalty_ledger", "up", "--members", "30", "--months", "2"],
                cwd=self.dir,
                env=self.env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def _out(self, run: int | None = None) -> Path:
        return self.dir / f"up-{run or self.runs}.out"

    def _err(self, run: int | None = None) -> Path:
        return self.dir / f"up-{run or self.runs}.err"

    def output(self, run: int | None = None) -> str:
        return self._out(run).read_text() + self._err(run).read_text()

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Seconds until the API answers /health with 200 (the job printed its links)."""
        t0 = time.monotonic()

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the main job exited ({self.proc.returncode}):\n{self.output()}"
                )
            if "Ctrl-C stops everything" not in self._out().read_text():
                return False
            return self.health().status_code == 200

        wait_for("the main job to serve", ready, timeout)
        self.anvils.update([p] if (p := self.anvil_pid()) else [])
        return time.monotonic() - t0

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 90.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def anvil_pid(self) -> int | None:
        try:
            return int(json.loads((self.data_dir / "chain" / "owner.json").read_text())["anvil"])
        except (OSError, ValueError, KeyError):
            return None

    def cleanup(self) -> None:
        """Kill whatever this job left (never fails)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        for pid in self.anvils | ({p} if (p := self.anvil_pid()) else set()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if alive(pid) and "anvil" in Path(f"/proc/{pid}/cmdline").read_text():
                    os.kill(pid, signal.SIGKILL)

    # ------------------------------------------------------------------ what it serves
    def health(self, timeout: float = 5.0) -> requests.Response:
        return requests.get(f"{self.api}/health", timeout=timeout)

    def get(self, path: str, key: str | None = None) -> requests.Response:
        headers = {"X-API-Key": key} if key else {}
        return requests.get(f"{self.api}{path}", headers=headers, timeout=15)

    def post(self, path: str, body: dict[str, Any], key: str, **headers: str) -> requests.Response:
        headers = {"X-API-Key": key, "Prefer": "wait=30", **headers}  # the settled answer
        return requests.post(f"{self.api}{path}", json=body, headers=headers, timeout=60)

    def wait_synced(self, timeout: float = 60.0, head: int | None = None) -> int:
        """The mirror's checkpoint once it equals the node's head (at least `head`)."""

        def synced() -> int | None:
            h = self.health().json()
            cp = h.get("indexer_checkpoint")
            ok = h.get("status") == "ok" and cp is not None and cp == self.w3().eth.block_number
            return cp if ok and (head is None or cp >= head) else None

        return int(wait_for("the mirror to reach the chain's head", synced, timeout))

    # ------------------------------------------------------------------ chain and mirror
    def w3(self, url: str | None = None) -> Web3:
        return Web3(Web3.HTTPProvider(url or self.rpc_url, request_kwargs={"timeout": 10}))

    def deployment(self) -> Deployment:
        return Deployment.load(self.deployment_file)

    def sender(self, key_index: int, url: str | None = None) -> Sender:
        account = Account.from_key(ANVIL_DEV_KEYS[key_index])
        return Sender(self.w3(url), account, decoder=error_decoder())

    def mirror(self) -> dict[str, Any]:
        """The mirror's checkpoint and event count, read directly (not through a proxy)."""
        engine = make_engine(self.direct_database_url)
        try:
            with engine.connect() as conn:
                cp = conn.execute(text("select checkpoint_block from indexer_state")).scalar()
                events = conn.execute(text("select count(*) from event")).scalar_one()
        finally:
            engine.dispose()
        return {"checkpoint": cp, "events": int(events)}

    def audit(
        self, database_url: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """`loyalty audit --database` of the mirror against the chain (code check skipped: slow,
        and not what a restart can change)."""
        cmd = [sys.executable, "-m", "loyalty_ledger", "audit", "--rpc-url", self.rpc_url,
               "--deployment", str(self.deployment_file), "--no-code",
               "--database", database_url or self.direct_database_url]  # fmt: skip
        return subprocess.run(
            cmd, cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=timeout
        )


def audit_clean(job: MainJob) -> None:
    """`loyalty audit --database` finds nothing wrong between the chain and the mirror."""
    r = job.audit()
    report = r.stdout + r.stderr
    assert r.returncode == 0, report
    assert "mirror: {" in r.stdout and '"findings": 0' in r.stdout, report
