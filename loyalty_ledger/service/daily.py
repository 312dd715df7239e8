"""The main job's daily rules run: every brand's birthday bonuses and tier evaluation
(`programme.rules.daily`), once when the job starts and again on each new UTC day.

Both are idempotent (a birthday once per member and year, a tier change once per evaluation),
so a restart that runs them again the same day grants and moves nothing twice. Their chain
writes go through the outbox, sent by the API's submitters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.deps import AppState
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.programme.rules.daily import run_daily_safely

log = logging.getLogger("loyalty_ledger.service")
CHECK_EVERY = 300.0  # seconds between looks at the UTC date


def run_all(state: AppState, now: int | None = None) -> list[dict[str, Any]]:
    """One daily run of every brand of the deployment (a brand without a key is skipped)."""
    out = []
    for brand_id in sorted(state.deployment.programs):
        try:
            sender = state.brand_writer(brand_id)
        except LedgerError as exc:
            log.warning("daily rules job: brand %s skipped: %s", brand_id, exc)
            continue
        got = run_daily_safely(
            engine=state.engine,
            sender=sender,
            program=state.deployment.program(brand_id),
            now=now,
        )
        if got is not None:
            out.append(got)
    return out


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def keep_daily(
    state: AppState,
    stop: threading.Event,
    say: Callable[[str], None],
    *,
    check_every: float = CHECK_EVERY,
    first_delay: float = 5.0,
) -> threading.Thread:
    """A thread that runs `run_all` after `first_delay` s, then on each new UTC day."""

    def loop() -> None:
        done = None
        if stop.wait(first_delay):
            return
        while not stop.is_set():
            day = _today()
            if day != done:
                t = time.perf_counter()
                runs = run_all(state)
                granted = sum(r["birthday"]["granted"] for r in runs)
                moved = sum(
                    (r["tiers"] or {}).get("up", 0) + (r["tiers"] or {}).get("down", 0)
                    for r in runs
                )
                say(
                    f"daily rules {day}: {granted} birthday bonus(es), {moved} tier change(s) "
                    f"({time.perf_counter() - t:.1f}s)"
                )
                done = day
            stop.wait(check_every)

    thread = threading.Thread(target=loop, name="daily-rules", daemon=True)
    thread.start()
    return thread
