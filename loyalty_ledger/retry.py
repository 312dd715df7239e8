"""Retrying a node's passing failures: HTTP 429 / 5xx, dropped connections, timeouts, answers
cut off. Capped exponential backoff, an optional time budget per request, and log lines that
name the RPC method: when failures start (and every so often while they last), and once when
the node answers again. Stdlib only: the indexer's and the audit's JSON-RPC clients each keep
their own HTTP code and share only this policy.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import LedgerError, NodeUnreachable


class NodeGaveUp(NodeUnreachable):
    """The node kept failing one request for longer than the time budget."""

    code = "node_gave_up"

    def __init__(self, url: str, method: str, tries: int, seconds: float, problem: str) -> None:
        LedgerError.__init__(
            self,
            f"the node at {url} did not answer {method} ({tries} tries over {seconds:.1f}s; "
            f"last: {problem}). Is it up, and does LOYALTY_RPC_URL (or --rpc-url) point at it?",
        )
        self.url, self.method, self.tries, self.problem = url, method, tries, problem


def method_of(payload: Any) -> str:
    """The RPC method(s) of a request body, for log lines and errors."""
    if isinstance(payload, dict):
        return str(payload.get("method"))
    names = sorted({str(p.get("method")) for p in payload if isinstance(p, dict)})
    return f"batch of {len(payload)} {'/'.join(names)}"


_INCOMPLETE = re.compile(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)")


def cut_off(detail: str) -> str:
    """Say plainly that an answer was cut off mid-transfer (from an IncompleteRead text)."""
    m = _INCOMPLETE.search(detail)
    if m:
        got, more = int(m.group(1)), int(m.group(2))
        return f"the answer was cut off after {got} of {got + more} bytes (truncated JSON)"
    return f"the answer was cut off mid-transfer (truncated JSON): {detail[:120]}"


def unparsable(content: bytes, status: int, exc: ValueError) -> str:
    """What is wrong with an answer that is not JSON: cut off, empty, or something else."""
    if not content.strip():
        return f"an empty answer (HTTP {status})"
    pos = getattr(exc, "pos", None)
    if isinstance(pos, int) and pos >= len(content.rstrip()):
        return f"the answer was cut off after {len(content)} bytes (truncated JSON)"
    return f"an answer that is not JSON (HTTP {status}): {content[:60]!r}"


class Retry:
    """The retry policy of one client: `wait` after each failed try, `answered` after a good one.

    `give_up_after` (seconds per request, None: never) bounds how long one request is retried;
    `sleep` may raise to abandon the wait (the indexer's stop event).
    """

    def __init__(
        self,
        url: str,
        log: logging.Logger,
        *,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        give_up_after: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.log = log
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.give_up_after = give_up_after
        self.sleep = sleep
        self.retries = 0  # failed tries, over the client's life
        self._lock = threading.Lock()
        self._down_since: float | None = None  # start of the current stretch of failures
        self._failed = 0  # failed tries in the current stretch

    def wait(self, method: str, problem: str, attempt: int, started: float) -> None:
        """After the `attempt`-th failed try of `method` (first sent at monotonic `started`):
        log, then sleep the backoff, or raise NodeGaveUp when the budget would run out."""
        now = time.monotonic()
        with self._lock:
            self.retries += 1
            self._failed += 1
            if self._down_since is None:
                self._down_since = now
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        spent = now - started
        if self.give_up_after is not None and spent + delay > self.give_up_after:
            self.log.error(
                "rpc %s to %s failed %d times; giving up: %s", method, self.url, attempt, problem
            )
            raise NodeGaveUp(self.url, method, attempt, spent, problem)
        if attempt in (1, 5) or attempt % 20 == 0:
            self.log.warning(
                "rpc %s to %s: %s; retry %d in %.2fs", method, self.url, problem, attempt, delay
            )
        self.sleep(delay)

    def answered(self, method: str) -> None:
        """A try of `method` got an answer: say so once if the node had been failing."""
        if self._down_since is None:
            return
        with self._lock:
            since, failed = self._down_since, self._failed
            self._down_since, self._failed = None, 0
        if since is not None:
            self.log.warning(
                "rpc: the node at %s answers again (%s) after %d failed tries over %.1fs",
                self.url,
                method,
                failed,
                time.monotonic() - since,
            )
