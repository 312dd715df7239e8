"""A lean JSON-RPC client for the indexer: raw JSON (no web3 formatters), retries with backoff
(`loyalty_ledger.retry`: log lines name the method; the node's return is said once)."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import orjson
import requests

from ..retry import Retry, cut_off, method_of, unparsable

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
    """JSON-RPC over HTTP; 429, 5xx, timeouts, connection errors and answers cut off are retried
    with a capped exponential backoff (the node may go away and come back) until `stop` is set,
    or for at most `give_up_after` seconds per request when that is set (then NodeGaveUp)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        stop: threading.Event | None = None,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        give_up_after: float | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.stop = stop or threading.Event()
        self.retry = Retry(
            url,
            log,
            backoff=backoff,
            max_backoff=max_backoff,
            give_up_after=give_up_after,
            sleep=self.sleep,
        )
        self.session = requests.Session()
        self._id = 0
        self.seconds = 0.0  # time spent in requests (for the benchmark's breakdown)

    @property
    def retries(self) -> int:
        return self.retry.retries

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped()

    def _post(self, payload: Any, timeout: float, retry_timeouts: bool) -> Any:
        body = json.dumps(payload)
        method, started, attempt = method_of(payload), time.monotonic(), 0
        while True:
            if self.stop.is_set():
                raise Stopped()
            attempt += 1
            t0 = time.perf_counter()
            try:
                got = self._try(body, timeout)
            except requests.Timeout:
                if not retry_timeouts:
                    raise RpcTimeout(f"no answer from {self.url} within {timeout}s") from None
                got = f"no answer within {timeout:g}s"
            finally:
                self.seconds += time.perf_counter() - t0
            if not isinstance(got, str):
                self.retry.answered(method)
                return got[0]
            self.retry.wait(method, got, attempt, started)

    def _try(self, body: str, timeout: float) -> tuple[Any] | str:
        """(the parsed answer,) or what went wrong, when worth another try."""
        try:
            resp = self.session.post(
                self.url, data=body, headers={"Content-Type": "application/json"}, timeout=timeout
            )
        except requests.Timeout:
            raise
        except requests.ConnectionError as exc:
            return f"connection failed or dropped ({type(exc).__name__})"
        except requests.exceptions.ChunkedEncodingError as exc:
            return cut_off(str(exc))
        if resp.status_code == 413:
            raise RpcTooLarge(f"HTTP 413 from {self.url}")
        if resp.status_code == 429 or resp.status_code >= 500:
            return f"HTTP {resp.status_code}"
        try:
            return (orjson.loads(resp.content),)
        except ValueError as exc:
            return unparsable(resp.content, resp.status_code, exc)

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
