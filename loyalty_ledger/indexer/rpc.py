"""A lean JSON-RPC client for the indexer: raw JSON (no web3 formatters), retries with backoff."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import orjson
import requests

log = logging.getLogger("loyalty_ledger.indexer")


class Stopped(Exception):
    """The stop event was set while waiting."""


class RpcError(Exception):
    """The node answered with a JSON-RPC error (it refused the request)."""

    def __init__(self, method: str, error: Any) -> None:
        self.method = method
        self.error = error
        self.code = error.get("code") if isinstance(error, dict) else None
        msg = error.get("message") if isinstance(error, dict) else str(error)
        super().__init__(f"{method}: {msg}")


class RpcTimeout(Exception):
    """The request timed out (only raised when the caller asked not to retry timeouts)."""


class RpcTooLarge(Exception):
    """The node (or a gateway) refused the response as too large (HTTP 413)."""


class Rpc:
    """JSON-RPC over HTTP; 429, 5xx, timeouts and connection errors retried forever with a
    capped exponential backoff (the node may go away and come back), until `stop` is set."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        stop: threading.Event | None = None,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.stop = stop or threading.Event()
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = requests.Session()
        self._id = 0
        self.retries = 0
        self.seconds = 0.0  # time spent in requests (for the benchmark's breakdown)

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped()

    def _post(self, payload: Any, timeout: float, retry_timeouts: bool) -> Any:
        attempt = 0
        body = json.dumps(payload)
        while True:
            if self.stop.is_set():
                raise Stopped()
            t0 = time.perf_counter()
            problem: str
            try:
                resp = self.session.post(
                    self.url,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=timeout,
                )
                self.seconds += time.perf_counter() - t0
                if resp.status_code == 413:
                    raise RpcTooLarge(f"HTTP 413 from {self.url}")
                if resp.status_code == 429 or resp.status_code >= 500:
                    problem = f"HTTP {resp.status_code}"
                else:
                    try:
                        answer = orjson.loads(resp.content)
                    except ValueError:
                        problem = f"unparsable answer (HTTP {resp.status_code})"
                    else:
                        if attempt:  # said once: the node is back
                            log.warning("rpc: the node answers again after %d retries", attempt)
                        return answer
            except requests.Timeout:
                self.seconds += time.perf_counter() - t0
                if not retry_timeouts:
                    raise RpcTimeout(f"no answer from {self.url} within {timeout}s") from None
                problem = "timeout"
            except requests.ConnectionError as exc:
                self.seconds += time.perf_counter() - t0
                problem = f"connection error ({type(exc).__name__})"
            delay = min(self.max_backoff, self.backoff * (2**attempt))
            attempt += 1
            self.retries += 1
            if attempt == 1:  # said once per outage; its end is said too
                log.warning("rpc %s; retrying (backoff up to %gs)", problem, self.max_backoff)
            self.sleep(delay)

    def call(
        self,
        method: str,
        params: list[Any],
        *,
        timeout: float | None = None,
        retry_timeouts: bool = True,
    ) -> Any:
        self._id += 1
        payload = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}
        answer = self._post(payload, timeout or self.timeout, retry_timeouts)
        if not isinstance(answer, dict):
            raise RpcError(method, {"message": f"unexpected answer {str(answer)[:200]}"})
        if "error" in answer:
            raise RpcError(method, answer["error"])
        return answer.get("result")

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; results in call order."""
        if not calls:
            return []
        first = self._id + 1
        payload = [
            {"jsonrpc": "2.0", "id": first + i, "method": m, "params": p}
            for i, (m, p) in enumerate(calls)
        ]
        self._id += len(calls)
        answer = self._post(payload, self.timeout, True)
        if not isinstance(answer, list):
            raise RpcError("batch", answer.get("error") if isinstance(answer, dict) else answer)
        by_id = {a.get("id"): a for a in answer}
        out = []
        for i, (m, _) in enumerate(calls):
            a = by_id.get(first + i)
            if a is None or "error" in a:
                raise RpcError(m, (a or {}).get("error", {"message": "missing from batch"}))
            out.append(a.get("result"))
        return out

    def close(self) -> None:
        self.session.close()
