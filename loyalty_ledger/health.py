"""What is down, and since when: the dependencies (database, node) a part of the service waits
for. Each change is logged once (down, then back with how long it lasted); `/health` shows the
current ones. Thread-safe: the indexer, the API's requests and the main job share one tracker.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Outage:
    what: str
    since: float  # epoch seconds
    reason: str

    def as_dict(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        return {
            "since": datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": round(max(0.0, now - self.since), 1),
            "reason": self.reason,
        }


class Outages:
    """The dependencies that are down now; `down` and `up` log only when the state changes."""

    def __init__(self, who: str, log: logging.Logger) -> None:
        self.who, self.log = who, log
        self._lock = threading.Lock()
        self._now: dict[str, Outage] = {}
        self.ended: list[tuple[str, float]] = []  # (what, seconds) of the outages that ended

    def down(self, what: str, reason: str, *, action: str = "retrying") -> bool:
        """`what` failed; True (and one log line) when it was up until now."""
        with self._lock:
            if what in self._now:
                return False
            self._now[what] = Outage(what, time.time(), reason)
        self.log.warning("the %s is unavailable (%s); %s", what, reason, action)
        return True

    def up(self, what: str) -> float | None:
        """`what` works again; how long it was down (and one log line), or None if it was up."""
        with self._lock:
            outage = self._now.pop(what, None)
            if outage is None:
                return None
            seconds = time.time() - outage.since
            self.ended.append((what, seconds))
        self.log.warning("the %s is back after %.1fs", what, seconds)
        return seconds

    def is_down(self, what: str) -> bool:
        return what in self._now

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """{what: {since, seconds, reason}} of what is down now."""
        with self._lock:
            current = list(self._now.values())
        now = time.time()
        return {o.what: o.as_dict(now) for o in current}
