"""Launcher for Foundry's anvil: reuse a node at the URL, else start the binary and stop it.

A node this launcher starts dies with the process that started it (Linux: PR_SET_PDEATHSIG, set
by a tiny trampoline before exec), so a killed job never leaves an orphan on its port. With a
`ChainState` the node reloads its state on start, saves it while it runs and dumps it on stop.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import urlparse

import requests

from loyalty_ledger.errors import LedgerError, NodeUnreachable

from .chainstate import ChainState, Dump, StateKeeper

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


# Runs in the child before exec: ask the kernel for SIGTERM when the parent dies, then make sure
# the parent did not die before that, then become anvil (the setting survives exec).
_TRAMPOLINE = """
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0) != 0:
    sys.exit("anvil launcher: prctl(PR_SET_PDEATHSIG) failed")
if os.getppid() != int(sys.argv[1]):
    sys.exit(0)
os.execv(sys.argv[2], sys.argv[2:])
"""
_YEAR = 365 * 24 * 3600  # anvil's own periodic dump, effectively off: the keeper saves instead


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
    `stop()` leaves it alone. With `state`, the node's chain lives in that directory (see
    `chainstate`); `restart()` brings a node that died back from it. The kernel signals the
    node when the *thread* that started it ends: start and restart it from a thread that lives
    as long as the job (the main thread).
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        block_time: float | None = None,
        chain_id: int | None = None,
        startup_timeout: float = 60.0,
        extra_args: list[str] | None = None,
        state: ChainState | None = None,
        die_with_parent: bool = True,
        say: Callable[[str], None] | None = None,
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
        self.state = state
        self.die_with_parent = die_with_parent and sys.platform.startswith("linux")
        self.say = say or (lambda _line: None)
        self.process: subprocess.Popen[bytes] | None = None
        self.loaded: Dump | None = None  # the state the running node was started from
        self.keeper: StateKeeper | None = None
        self._log: IO[bytes] | None = None
        self.reused = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self, load: Path | None = None) -> list[str]:
        cmd = [str(foundry_binary("anvil")), "--host", self.host, "--port", str(self.port)]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        if self.chain_id is not None:
            cmd += ["--chain-id", str(self.chain_id)]
        if self.state is not None:
            if load is not None:
                cmd += ["--load-state", str(load)]
            cmd += ["--dump-state", str(self.state.exit), "--state-interval", str(_YEAR)]
        cmd += self.extra_args
        if self.die_with_parent:
            cmd = [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, str(os.getpid()), *cmd]
        return cmd

    def start(self) -> Anvil:
        """Reuse a node answering at the URL, else start the binary and wait for its RPC."""
        if self.state is not None and not self.state.claim(
            self.url, lambda u: rpc_chain_id(u) is not None, say=self.say
        ):
            self.reused = True  # the node of a live job with this state dir (`chain up`)
            return self
        running = rpc_chain_id(self.url)
        if running is not None:
            if self.state is not None:
                self.state.release()  # someone else's node: its state is its own
            if self.chain_id is not None and running != self.chain_id:
                raise LedgerError(f"a node on chain {running} is at {self.url} already")
            self.reused = True
            return self
        try:
            self._launch()
        except BaseException:
            if self.state is not None:
                self.state.release()
            raise
        return self

    def _launch(self) -> None:
        self.loaded = self.state.newest() if self.state is not None else None
        # A file, not a pipe: a full pipe would block anvil.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the node)
        fds = () if self.state is None or self.state.lock_fd is None else (self.state.lock_fd,)
        self.process = subprocess.Popen(
            self.command(self.loaded.path if self.loaded else None),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,  # own process group: stop() takes down everything it spawns
            pass_fds=fds,  # the state dir's lock: held as long as anvil lives
        )
        try:
            self._await_rpc(self.process)
        except BaseException:
            self._terminate()
            raise

    def _await_rpc(self, proc: subprocess.Popen[bytes]) -> None:
        """Wait for the new node's RPC; then check what it loaded and start saving its state."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise NodeUnreachable(self.url, f"anvil exited: {self.log_tail()}")
            if rpc_chain_id(self.url, timeout=0.5) is not None:
                if self.state is not None:
                    if self.loaded is not None:
                        self.state.check_loaded(self.url)
                    self.state.record_owner(proc.pid, self.url)
                    self.state.saved = None  # save soon after start (the exit dump is spent)
                    self.keeper = StateKeeper(self.state, self.url).start()
                return
            time.sleep(0.05)
        raise NodeUnreachable(self.url, f"anvil did not answer within {self.startup_timeout}s")

    def log_tail(self, n: int = 300) -> str:
        """The end of what anvil wrote on stderr."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace").strip()[-n:]

    def exit_code(self) -> int | None:
        """The exit code of the node this launcher started, once it has exited; else None."""
        return None if self.process is None else self.process.poll()

    def restart(self) -> Dump | None:
        """Start the node again after it died (from its state, when it has one)."""
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper = None
        self._terminate()
        self._launch()
        return self.loaded

    def _terminate(self) -> None:
        """Stop the process group: SIGTERM (anvil dumps its state), SIGKILL when it hangs."""
        proc, self.process = self.process, None
        try:
            if proc is None or proc.poll() is not None:
                return
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)  # a big state takes seconds to dump
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def stop(self) -> None:
        """Stop the node this launcher started (its whole process group); no-op when reused."""
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper = None
        try:
            self._terminate()
        finally:
            if self.state is not None and not self.reused:
                self.state.release()

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
