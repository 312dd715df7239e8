"""Launcher for Foundry's anvil: reuse a node at the URL, else start the binary and stop it."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import urlparse

import requests

from loyalty_ledger.errors import LedgerError, NodeUnreachable

PROJECT_ROOT = Path(__file__).resolve().parents[2]

_PLATFORMS = {
    ("linux", "x86_64"): "linux-amd64",
    ("linux", "amd64"): "linux-amd64",
    ("linux", "aarch64"): "linux-arm64",
    ("linux", "arm64"): "linux-arm64",
    ("darwin", "x86_64"): "darwin-amd64",
    ("darwin", "arm64"): "darwin-arm64",
    ("windows", "amd64"): "win32-amd64",
}


def foundry_binary(tool: str, root: Path = PROJECT_ROOT) -> Path:
    """Path of the Foundry binary npm installed for this platform (not the Node wrapper)."""
    key = (platform.system().lower(), platform.machine().lower())
    plat = _PLATFORMS.get(key)
    if plat is None:
        raise LedgerError(f"unsupported platform {key[0]}-{key[1]} for Foundry's {tool}")
    exe = f"{tool}.exe" if plat.startswith("win") else tool
    path = root / "node_modules" / "@foundry-rs" / f"{tool}-{plat}" / "bin" / exe
    if not path.exists():
        raise LedgerError(f"{tool} binary not found at {path}; run `npm ci`")
    return path


def free_port() -> int:
    """A TCP port that is free right now on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rpc_chain_id(url: str, timeout: float = 1.0) -> int | None:
    """The chain id the node at `url` reports, or None when nothing answers."""
    try:
        resp = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            timeout=timeout,
        )
        return int(resp.json()["result"], 16)
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


class Anvil:
    """A running anvil node: `with Anvil(port=0) as node: node.url`.

    port=0 picks a free port. When `url` is given and a node answers there, it is reused and
    `stop()` leaves it alone.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        block_time: float | None = None,
        chain_id: int | None = None,
        startup_timeout: float = 20.0,
        extra_args: list[str] | None = None,
    ) -> None:
        if url is not None:
            parsed = urlparse(url)
            host = parsed.hostname or host
            port = parsed.port if port is None else port
        self.host = host
        self.port = port or free_port()
        self.block_time = block_time
        self.chain_id = chain_id
        self.startup_timeout = startup_timeout
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.reused = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [str(foundry_binary("anvil")), "--host", self.host, "--port", str(self.port)]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        if self.chain_id is not None:
            cmd += ["--chain-id", str(self.chain_id)]
        return cmd + self.extra_args

    def start(self) -> Anvil:
        """Reuse a node answering at the URL, else start the binary and wait for its RPC."""
        running = rpc_chain_id(self.url)
        if running is not None:
            if self.chain_id is not None and running != self.chain_id:
                raise LedgerError(f"a node on chain {running} is at {self.url} already")
            self.reused = True
            return self
        # A file, not a pipe: a full pipe would block anvil.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the node)
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,  # own process group: stop() takes down everything it spawns
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace")
                self.process = None
                raise NodeUnreachable(self.url, f"anvil exited: {err.strip()[-300:]}")
            if rpc_chain_id(self.url, timeout=0.5) is not None:
                return self
            time.sleep(0.05)
        self.stop()
        raise NodeUnreachable(self.url, f"anvil did not answer within {self.startup_timeout}s")

    def stop(self) -> None:
        """Stop the node this launcher started (its whole process group); no-op when reused."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
