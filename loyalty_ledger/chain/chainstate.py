"""The embedded chain's state on disk, so a local anvil survives restarts and crashes.

Files in the state directory (`<data dir>/chain`):

- `state.json`: saved by `ChainState.save` every few seconds while the head moves, through
  `anvil_dumpState`, written whole (temporary file, fsync, rename): never half a file;
- `exit.json`: anvil's own dump when it is told to stop (SIGTERM, also sent when its parent
  dies); a dump cut off by a kill does not parse and is ignored;
- `owner.json`: who runs the node (anvil's pid, its parent's pid, its URL);
- `lock`: an flock held by the job and by its anvil for as long as either lives.

On start the newest of the two dumps that parses is loaded. A crash loses at most the last
save interval; the indexer rolls the mirror back to the reloaded head.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import logging
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import requests

from loyalty_ledger.config import Settings
from loyalty_ledger.errors import LedgerError

log = logging.getLogger("loyalty_ledger.chain")


class ChainStateError(LedgerError):
    """The chain's state directory cannot be used."""

    code = "chain_state_error"


@dataclass(frozen=True)
class Dump:
    """A state file that parses, and the head it holds."""

    path: Path
    head: int
    mtime: float


_LONG_NUMBER = re.compile(rb"[:\[,]\s*-?\d{19,}")


def _dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # an integer above 64 bits
        return json.dumps(data, separators=(",", ":")).encode()


def read_dump(path: Path, *, one_genesis: bool = False) -> Dump | None:
    """The dump at `path` when it is whole (parses as anvil's state), else None; with
    `one_genesis`, extra genesis blocks are dropped from the file first (`_one_genesis`)."""
    try:
        raw = path.read_bytes()
        stat = path.stat()
        data = orjson.loads(raw)  # a check: numbers past 64 bits may come back as floats
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "accounts" not in data:
        return None
    head = data.get("best_block_number")
    if head is None:
        head = int(str((data.get("block") or {}).get("number", "0x0")), 16)
    if one_genesis and raw.count(b'"number":"0x0"') > 1:
        if _LONG_NUMBER.search(raw):
            data = json.loads(raw)  # exact integers for the rewrite
        _one_genesis(path, data)
    return Dump(path, int(head), stat.st_mtime)


def _one_genesis(path: Path, data: dict[str, Any]) -> None:
    """Keep only the chain's own block 0 in a dump.

    anvil adds a genesis block of its own (stamped with the start time) to a node it starts
    from a dump, and dumps it with the others; loading such a dump again may put that block at
    number 0, and the chain would seem reset. The chain's own genesis is the oldest one.
    """
    blocks = data.get("blocks") or []
    genesis = [b for b in blocks if b.get("header", {}).get("number") == "0x0"]
    if len(genesis) < 2:
        return
    keep = min(genesis, key=lambda b: int(b["header"]["timestamp"], 16))
    drop = {id(b) for b in genesis if b is not keep}
    data["blocks"] = [b for b in blocks if id(b) not in drop]
    write_atomically(path, _dumps(data))
    log.info("chain state: dropped %d extra genesis blocks from %s", len(genesis) - 1, path.name)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: a reader (or a crash) sees the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _rpc(url: str, method: str, params: list[Any], timeout: float) -> Any:
    resp = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=timeout
    )
    answer = resp.json()
    if "error" in answer:
        raise ChainStateError(f"{method}: {answer['error']}")
    return answer["result"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChainState:
    """The state directory of one embedded chain (see the module docstring)."""

    @classmethod
    def of(cls, settings: Settings) -> ChainState:
        """Where a local node of `settings` keeps its chain: `<data dir>/chain`."""
        return cls(settings.data_dir / "chain", interval=settings.chain_state_interval)

    def __init__(self, directory: Path | str, *, interval: float = 5.0) -> None:
        self.dir = Path(directory)
        self.interval = interval
        self.state = self.dir / "state.json"
        self.exit = self.dir / "exit.json"
        self.owner_file = self.dir / "owner.json"
        self._lock_fd: int | None = None
        self.saved: tuple[int, str] | None = None  # (head, hash) of the last save

    # ---------------------------------------------------------------- which dump to load
    def newest(self) -> Dump | None:
        """The newest whole dump (anvil's exit dump or the last save); None: a new chain.

        A dump that does not parse is set aside with a warning (never loaded, never silently
        overwritten) and the next newest is tried; with none left, that is an error, not a new
        chain.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        paths = sorted(
            (p for p in (self.state, self.exit) if p.exists()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        broken = 0
        for path in paths:
            dump = read_dump(path, one_genesis=True)
            if dump is not None:
                return dump
            broken += 1
            aside = path.with_name(f"{path.stem}.broken-{time.strftime('%Y%m%d-%H%M%S')}.json")
            path.rename(aside)
            log.warning("chain state %s is cut off (killed while saving); set aside as %s",
                        path.name, aside.name)  # fmt: skip
        if broken:
            raise ChainStateError(
                f"no whole chain state in {self.dir}: the dumps there are cut off (set aside as "
                "*.broken-*.json). Restore a good state.json, or remove the directory to start "
                "a new chain (and a new mirror)."
            )
        return None

    def check_loaded(self, url: str) -> None:
        """The reloaded chain is whole: its block 1 sits on its block 0."""
        one = _rpc(url, "eth_getBlockByNumber", ["0x1", False], 5.0)
        zero = _rpc(url, "eth_getBlockByNumber", ["0x0", False], 5.0)
        if one is not None and one["parentHash"] != zero["hash"]:
            raise ChainStateError(
                f"anvil reloaded {self.dir} with a genesis block of its own ({zero['hash']}, "
                f"not {one['parentHash']}): the saved state is inconsistent"
            )

    # ---------------------------------------------------------------- saving
    def head(self, url: str, timeout: float = 5.0) -> tuple[int, str]:
        block = _rpc(url, "eth_getBlockByNumber", ["latest", False], timeout)
        return int(block["number"], 16), str(block["hash"])

    def save(self, url: str, *, timeout: float = 120.0) -> int:
        """Dump the node's state (`anvil_dumpState`) into state.json atomically; its head."""
        mark = self.head(url)
        raw = _rpc(url, "anvil_dumpState", [False], timeout)
        data = gzip.decompress(bytes.fromhex(raw[2:]))
        write_atomically(self.state, data)
        self.saved = mark
        return mark[0]

    def save_if_moved(self, url: str) -> int | None:
        """Save when the head moved since the last save; the head saved, else None."""
        mark = self.head(url)
        if mark == self.saved:
            return None
        return self.save(url)

    # ---------------------------------------------------------------- ownership
    def claim(
        self,
        url: str,
        answers: Callable[[str], bool],
        *,
        say: Callable[[str], None],
        timeout: float = 90.0,
        orphan_grace: float = 20.0,
    ) -> bool:
        """Take the directory's lock; False when a live job runs this chain's node at `url`.

        A node whose parent died (a killed job) is saving its state and exiting: wait for it;
        one still running after `orphan_grace` seconds is stopped (SIGTERM: it saves first).
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        start, said, stopped = time.monotonic(), False, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock_fd = fd
                return True
            except BlockingIOError:
                pass
            owner = self.owner()
            waited = time.monotonic() - start
            if owner and alive(owner["parent"]) and owner.get("url") == url and answers(url):
                os.close(fd)
                return False
            if owner and not alive(owner["parent"]) and waited > orphan_grace and not stopped:
                say(f"stopping the orphaned anvil (pid {owner['anvil']}) of {self.dir}")
                _signal(owner["anvil"], signal.SIGTERM)
                stopped = True
            if waited > timeout:
                os.close(fd)
                who = f" (anvil pid {owner['anvil']}, by pid {owner['parent']})" if owner else ""
                raise ChainStateError(
                    f"another process holds the chain state in {self.dir}{who}"
                    f" and its node does not answer at {url}; stop it or use another "
                    "LOYALTY_DATA_DIR"
                )
            if not said:
                say(f"waiting for the previous anvil of {self.dir} to save its state and exit")
                said = True
            time.sleep(0.2)

    @property
    def lock_fd(self) -> int | None:
        return self._lock_fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def owner(self) -> dict[str, Any] | None:
        try:
            data = orjson.loads(self.owner_file.read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and "anvil" in data else None

    def record_owner(self, anvil_pid: int, url: str) -> None:
        body = {"anvil": anvil_pid, "parent": os.getpid(), "url": url}
        write_atomically(self.owner_file, orjson.dumps(body))


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


class StateKeeper:
    """Saves a node's state every `interval` seconds while its head moves (a daemon thread).

    A failed save is logged once (and once more when saving works again); the next tick tries
    again.
    """

    def __init__(self, state: ChainState, url: str) -> None:
        self.state, self.url = state, url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chain-state", daemon=True)
        self.failing: str | None = None
        self.saves = 0
        self.paused = False  # while a job seeds a new network: a half-seeded chain is no use

    def start(self) -> StateKeeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.state.interval):
            if self.paused:
                continue
            try:
                if self.state.save_if_moved(self.url) is not None:
                    self.saves += 1
                if self.failing is not None:
                    log.warning("chain state: saving works again")
                    self.failing = None
            except (requests.RequestException, OSError, ValueError, LedgerError) as exc:
                if self.failing is None:
                    log.warning("chain state: could not save (%s); retrying", exc)
                self.failing = str(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=150)
