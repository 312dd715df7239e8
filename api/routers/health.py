"""Liveness and sync status: chain head, indexer checkpoint, lag, and what is down since when.

Load balancers and dashboards ask this many times a second, so it is answered from memory: a
background thread probes the node's head and the mirror's checkpoint every `REFRESH` seconds
while the endpoint is being asked. The answer is never older than `MAX_AGE`, on SQLite the
checkpoint is re-read whenever another connection committed (the reader's data version), and a
checkpoint past the remembered head means the head moved: it is probed again first.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from loyalty_ledger.programme import views
from loyalty_ledger.store import database_unavailable

from ..deps import AppState

router = APIRouter(tags=["health"])
PROBE_TIMEOUT = 2.0  # seconds: /health answers promptly even when the node hangs
REFRESH = 0.25  # seconds between background probes
MAX_AGE = 1.0  # seconds: an older observation is probed again before it is answered
IDLE = 30.0  # seconds without a request after which the background probes stop


@dataclass(frozen=True)
class Seen:
    """One probe of one dependency: its value (head or checkpoint), its word, when."""

    value: int | None
    word: str
    at: float  # time.monotonic()
    version: int | None = None  # the SQLite reader's data version when read


def _node_head(state: AppState) -> int:
    """The node's head, asked directly with a short timeout (not through web3's retries)."""
    resp = requests.post(
        state.settings.rpc_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        timeout=min(PROBE_TIMEOUT, state.settings.rpc_timeout),
    )
    resp.raise_for_status()
    return int(resp.json()["result"], 16)


def _chain(state: AppState) -> Seen:
    try:
        head = _node_head(state)
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        state.outages.down("node", type(exc).__name__, action="answering 503 for what needs it")
        return Seen(None, f"unreachable: {type(exc).__name__}", time.monotonic())
    state.outages.up("node")
    return Seen(head, "ok", time.monotonic())


def _database(state: AppState) -> Seen:
    now, version = time.monotonic(), None
    try:
        if state.reader is not None:
            version = state.reader.data_version()  # before the read: never older than it
        st = views.mirror_state(engine=state.engine)
    except Exception as exc:
        reason = database_unavailable(exc) or type(exc).__name__
        state.outages.down("database", reason, action="answering 503 for what needs it")
        return Seen(None, f"unavailable: {type(exc).__name__}", now)
    state.outages.up("database")
    return Seen(st["checkpoint_block"] if st else None, "ok", now, version)


class HealthCache:
    """The last probes of one app, refreshed in the background while /health is asked."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.chain: Seen | None = None
        self.database: Seen | None = None
        self.asked = time.monotonic()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _fresh_database(self, now: float) -> Seen | None:
        db = self.database
        if db is None or now - db.at > MAX_AGE:
            return None
        if db.version is not None:  # SQLite: valid while nobody committed since
            reader = self.state.reader
            try:
                if reader is None or reader.data_version() != db.version:
                    return None
            except Exception:
                return None
        return db

    def cached(self) -> tuple[dict[str, Any], int] | None:
        """The answer from memory, or None when something must be probed first."""
        now = self.asked = time.monotonic()
        self._follow()
        chain, db = self.chain, self._fresh_database(now)
        if chain is None or db is None or now - chain.at > MAX_AGE:
            return None
        if chain.value is not None and db.value is not None and db.value > chain.value:
            return None  # the indexer saw a newer block than the remembered head
        return answer(self.state, chain, db)

    def probe(self) -> tuple[dict[str, Any], int]:
        """Probe what is stale now (blocking), then answer."""
        now = time.monotonic()
        with self._lock:
            db = self._fresh_database(now) or _database(self.state)
            chain = self.chain
            stale = chain is None or now - chain.at > MAX_AGE
            if stale or (
                db.value is not None
                and chain is not None
                and chain.value is not None
                and db.value > chain.value
            ):
                chain = _chain(self.state)
            self.chain, self.database = chain, db
        assert chain is not None
        return answer(self.state, chain, db)

    def _follow(self) -> None:
        """Keep a background prober running while the endpoint is being asked."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="health-probe", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while time.monotonic() - self.asked < IDLE:
            time.sleep(REFRESH)
            chain, db = _chain(self.state), _database(self.state)
            with self._lock:
                self.chain, self.database = chain, db


def answer(state: AppState, chain: Seen, db: Seen) -> tuple[dict[str, Any], int]:
    """/health's body and status from one probe of each dependency and what is down now."""
    out: dict[str, Any] = {
        "status": "ok",
        "chain_head": chain.value,
        "indexer_checkpoint": db.value,
        "chain": chain.word,
        "database": db.word,
    }
    head, cp = out["chain_head"], out["indexer_checkpoint"]
    out["lag_blocks"] = head - cp if head is not None and cp is not None else None
    out["down"] = down = state.outages.snapshot()
    if state.indexer_outages is not None:
        out["indexer"] = {"waiting_for": state.indexer_outages.snapshot()}
    if down:
        out["status"] = "degraded"
        out["error"] = "unavailable"
        out["detail"] = "; ".join(
            f"the {what} is unavailable since {o['since']} ({o['seconds']:g}s): {o['reason']}"
            for what, o in sorted(down.items())
        )
    return out, 503 if down else 200


_cache_lock = threading.Lock()


def cache_of(app: FastAPI) -> HealthCache:
    """The app's health cache (made on first use)."""
    cache: HealthCache | None = getattr(app.state, "health_cache", None)
    if cache is None:
        with _cache_lock:
            cache = getattr(app.state, "health_cache", None)
            if cache is None:
                cache = app.state.health_cache = HealthCache(app.state.api)
    return cache


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """Chain head, indexer checkpoint and lag; 503 naming what is down, and since when."""
    cache = cache_of(request.app)
    out, status = cache.cached() or cache.probe()
    return JSONResponse(out, status_code=status)
