"""Hardhat's node (npm `hardhat`, pinned in package.json devDependencies) on a free port, for
running the chain smoke test against a second node implementation (tests only)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from loyalty_ledger.chain.anvil import free_port, rpc_chain_id

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "node_modules" / ".bin" / "hardhat"
CONFIG = Path(__file__).with_name("hardhat.config.js")


class HardhatNode:
    """`with HardhatNode() as node: node.url`; stops its whole process group on exit."""

    def __init__(self, startup_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> HardhatNode:
        cmd = [str(BINARY), "--config", str(CONFIG), "node", "--hostname", "127.0.0.1"]
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
        self.process = subprocess.Popen(
            [*cmd, "--port", str(self.port)],
            cwd=CONFIG.parent,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hardhat node exited: {self.output()[-500:]}")
            if rpc_chain_id(self.url, timeout=0.5) is not None:
                return self
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"hardhat node did not answer within {self.startup_timeout}s")

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None
