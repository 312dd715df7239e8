"""A small JSON-RPC client of the audit's own: plain HTTP, batch requests, no web3 formatting.

The audit reads hundreds of thousands of logs; web3's per-log formatting would dominate the
replay, and sharing the node client with the code under audit would weaken the audit. Passing
failures (HTTP 429 / 5xx, dropped connections, timeouts, answers cut off) are retried with a
capped backoff for at most `give_up_after` seconds per request (`loyalty_ledger.retry`), then
the audit stops with `NodeGaveUp`, which says what the node did last.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from loyalty_ledger.retry import Retry, cut_off, method_of, unparsable

try:  # orjson parses eth_getLogs answers several times faster; json is the fallback
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads  # type: ignore[assignment]

Call = tuple[str, list[Any]]
log = logging.getLogger("loyalty_ledger.audit")


class RpcError(Exception):
    """The node answered a request with an error object."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.method = method
        self.code = error.get("code")
        self.data = error.get("data")
        self.error = error
        super().__init__(f"{method}: {error.get('message', error)}")


@dataclass(frozen=True, slots=True)
class Failed:
    """A batch item that failed (an eth_call revert, say): kept in place of its result."""

    error: RpcError


class Rpc:
    """JSON-RPC over HTTP with keep-alive sessions (one per thread) and batch requests."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 300.0,
        batch_size: int = 250,
        give_up_after: float = 60.0,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.batch_size = batch_size
        self.retry = Retry(
            url, log, backoff=backoff, max_backoff=max_backoff, give_up_after=give_up_after
        )
        self._local = threading.local()
        self._ids = 0

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
        return s

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload, separators=(",", ":"))
        method, started, attempt = method_of(payload), time.monotonic(), 0
        while True:
            attempt += 1
            problem = self._try(body)
            if not isinstance(problem, str):
                self.retry.answered(method)
                return problem[0]
            self.retry.wait(method, problem, attempt, started)

    def _try(self, body: str) -> tuple[Any] | str:
        """(the parsed answer,) or what went wrong, when worth another try."""
        try:
            resp = self._session().post(
                self.url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
        except requests.Timeout:
            return f"no answer within {self.timeout:g}s"
        except requests.ConnectionError as exc:
            return f"connection failed or dropped ({type(exc).__name__})"
        except requests.exceptions.ChunkedEncodingError as exc:
            return cut_off(str(exc))
        transient = resp.status_code == 429 or resp.status_code >= 500
        if not transient:
            resp.raise_for_status()  # a 4xx (413 too large ...) is the caller's to handle
        try:
            out = _loads(resp.content)
        except ValueError as exc:
            return (
                f"HTTP {resp.status_code}"
                if transient
                else unparsable(resp.content, resp.status_code, exc)
            )
        if transient and not (isinstance(out, dict) and "error" in out):
            return f"HTTP {resp.status_code}"
        return (out,)  # a JSON-RPC error object, even with a 5xx, is the node's answer

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        """One request; raises RpcError when the node answers with an error."""
        out = self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
        if "error" in out:
            raise RpcError(method, out["error"])
        return out["result"]

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """One JSON-RPC batch; failed items come back as `Failed` in their place."""
        if not calls:
            return []
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        answers = self._post(payload)
        if isinstance(answers, dict):  # a node that rejects the batch as a whole
            raise RpcError("batch", answers.get("error", answers))
        results: list[Any] = [None] * len(calls)
        for a in answers:
            i = a["id"]
            if "error" in a:
                results[i] = Failed(RpcError(calls[i][0], a["error"]))
            else:
                results[i] = a["result"]
        return results

    def batch_many(
        self,
        calls: Sequence[Call],
        *,
        workers: int = 4,
        on_done: Callable[[int], None] | None = None,
    ) -> list[Any]:
        """Many calls in batches of `batch_size` from a small thread pool; results in order."""
        chunks = [calls[i : i + self.batch_size] for i in range(0, len(calls), self.batch_size)]
        out: list[Any] = []
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for res in pool.map(self.batch, chunks):
                out.extend(res)
                if on_done:
                    on_done(len(res))
        return out

    # -- typed helpers ------------------------------------------------------------------------

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def get_logs(
        self,
        addresses: Sequence[str],
        from_block: int,
        to_block: int,
        topics: list[Any] | None = None,
    ) -> list[dict[str, Any]]:
        flt: dict[str, Any] = {
            "address": list(addresses),
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
        }
        if topics:
            flt["topics"] = topics
        return self.call("eth_getLogs", [flt])  # type: ignore[no-any-return]

    def headers(self, numbers: Sequence[int], *, workers: int = 4) -> dict[int, dict[str, Any]]:
        """Block headers (without transactions) by number; missing blocks are left out."""
        calls: list[Call] = [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]
        res = self.batch_many(calls, workers=workers)
        return {n: h for n, h in zip(numbers, res, strict=True) if isinstance(h, dict)}


def iter_log_ranges(
    rpc: Rpc,
    addresses: Sequence[str],
    from_block: int,
    to_block: int,
    *,
    span: int = 2_000,
    target_logs: int = 20_000,
    workers: int = 3,
    topics: list[Any] | None = None,
) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:
    """Yield (first, last, logs) for consecutive block ranges covering [from_block, to_block].

    Ranges adapt to the log density (halving on a node's "too many results" error, aiming at
    about `target_logs` per request) and a few requests are kept in flight, yielded in order;
    a caller that starts with a small `span` never holds a page much above `target_logs`.
    """
    if to_block < from_block:
        return
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        nxt = from_block
        inflight: list[tuple[int, int, Any]] = []
        while nxt <= to_block or inflight:
            while nxt <= to_block and len(inflight) < workers:
                last = min(to_block, nxt + span - 1)
                inflight.append(
                    (nxt, last, pool.submit(rpc.get_logs, addresses, nxt, last, topics))
                )
                nxt = last + 1
            first, last, fut = inflight.pop(0)
            try:
                logs = fut.result()
            except (RpcError, requests.HTTPError):
                if last == first:
                    raise
                # Too many results: refetch this range in halves, drop what was in flight.
                for r in inflight:
                    r[2].cancel()
                inflight = []
                mid = (first + last) // 2
                half = max(1, span // 2)
                for a, b in ((first, mid), (mid + 1, last)):
                    yield from iter_log_ranges(
                        rpc,
                        addresses,
                        a,
                        b,
                        span=half,
                        target_logs=target_logs,
                        workers=1,
                        topics=topics,
                    )
                nxt, span = last + 1, half
                continue
            n, width = len(logs), last - first + 1
            del fut
            yield first, last, logs
            del logs
            # Aim the next ranges at `target_logs` from this one's density, widening at most 2x
            # at a time (a sparse stretch may be followed by dense blocks): a page holds about
            # `target_logs` logs, so memory stays bounded whatever the history's length.
            if n > target_logs:
                span = max(1, width * target_logs // n)
            elif n < target_logs // 2:
                span = min(2 * width, 1_000_000)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
