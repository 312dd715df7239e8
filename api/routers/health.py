"""Liveness and sync status: chain head, indexer checkpoint, lag.

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

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from loyalty_ledger.programme import views

from ..deps import AppState

router = APIRouter(tags=["health"])
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


def _chain(state: AppState) -> Seen:
    try:
        return Seen(int(state.w3.eth.block_number), "ok", time.monotonic())
    except Exception as exc:  # any failure here means: not serving chain data
        return Seen(None, f"unreachable: {type(exc).__name__}", time.monotonic())


def _database(state: AppState) -> Seen:
    now, version = time.monotonic(), None
    try:
        if state.reader is not None:
            version = state.reader.data_version()  # before the read: never older than it
        st = views.mirror_state(engine=state.engine)
        return Seen(st["checkpoint_block"] if st else None, "ok", now, version)
    except Exception as exc:
        return Seen(None, f"unavailable: {type(exc).__name__}", now)


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
        return answer(chain, db)

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
        return answer(chain, db)

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


def answer(chain: Seen, db: Seen) -> tuple[dict[str, Any], int]:
    """/health's body and status from one probe of each dependency."""
    out: dict[str, Any] = {
        "status": "ok" if chain.word == "ok" and db.word == "ok" else "degraded",
        "chain_head": chain.value,
        "indexer_checkpoint": db.value,
        "chain": chain.word,
        "database": db.word,
    }
    head, cp = out["chain_head"], out["indexer_checkpoint"]
    out["lag_blocks"] = head - cp if head is not None and cp is not None else None
    if out["status"] != "ok":
        out["error"] = "unavailable"
        out["detail"] = f"chain: {out['chain']}; database: {out['database']}"
    return out, 200 if out["status"] == "ok" else 503


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
    """Chain head, indexer checkpoint and lag; 503 when the node or the database is down."""
    cache = cache_of(request.app)
    out, status = cache.cached() or cache.probe()
    return JSONResponse(out, status_code=status)
