"""Fetching from the node: logs in adaptive block ranges, block headers, chain identity."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .decode import SPECS, Decoded
from .rpc import Rpc, RpcError, RpcTimeout, RpcTooLarge

log = logging.getLogger("loyalty_ledger.indexer")
PROGRAM_REGISTERED = next(k[0] for k, s in SPECS.items() if s.name == "ProgramRegistered")


class ChainShorter(Exception):
    """The node's head fell below a block being fetched (a reorg to a shorter chain, a reset, a
    chain reloaded from a state saved before it): the indexer reconciles before going on."""


@dataclass(frozen=True, slots=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int = 0


def chain_identity(rpc: Rpc) -> tuple[int, str]:
    """(chain id, genesis block hash) of the node."""
    chain_id, genesis = rpc.batch([("eth_chainId", []), ("eth_getBlockByNumber", ["0x0", False])])
    return int(chain_id, 16), genesis["hash"]


def head_number(rpc: Rpc) -> int:
    return int(rpc.call("eth_blockNumber", []), 16)


def headers(rpc: Rpc, numbers: list[int]) -> dict[int, Header | None]:
    """Headers by number (None where the node has no such block), one batched request."""
    out: dict[int, Header | None] = {}
    for i in range(0, len(numbers), 200):
        chunk = numbers[i : i + 200]
        blocks = rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
        for n, blk in zip(chunk, blocks, strict=True):
            out[n] = (
                Header(n, blk["hash"], blk["parentHash"], int(blk["timestamp"], 16))
                if blk
                else None
            )
    return out


def fill_times(rpc: Rpc, events: list[Decoded], known: Mapping[int, Header | None]) -> bool:
    """Give events the node sent without `blockTimestamp` their block's timestamp, from `known`
    headers or one batched request for the missing blocks only. False when a header does not
    match an event's block hash (the chain moved: retry the batch)."""
    missing = {ev.block_number for ev in events if ev.block_time is None}
    if not missing:
        return True
    got = {n: known.get(n) for n in missing}
    ask = sorted(n for n, h in got.items() if h is None)
    if ask:
        got.update(headers(rpc, ask))
    for ev in events:
        if ev.block_time is None:
            h = got[ev.block_number]
            if h is None or h.hash != ev.block_hash:
                return False
            ev.block_time = h.timestamp
    return True


class LogFetcher:
    """eth_getLogs over an address list; the block range grows while answers are small and
    halves when the node refuses (too many results, too large, timeout)."""

    def __init__(
        self,
        rpc: Rpc,
        *,
        initial: int = 10,
        minimum: int = 1,
        maximum: int = 100_000,
        target_logs: int = 8000,
        timeout: float | None = None,
    ) -> None:
        self.rpc = rpc
        self.size = initial
        self.minimum = minimum
        self.maximum = maximum
        self.target = target_logs
        self.timeout = timeout
        self.calls = 0
        self.splits = 0

    def fetch(self, addresses: list[str], start: int, end_max: int) -> tuple[int, list[Any]]:
        """Logs of `addresses` in [start, end]; returns (end, logs) with start <= end <= end_max."""
        while True:
            end = min(end_max, start + self.size - 1)
            try:
                logs = self.get(addresses, start, end, retry_timeouts=end == start)
            except (RpcError, RpcTimeout, RpcTooLarge) as exc:
                if end == start:
                    if head_number(self.rpc) < start:
                        raise ChainShorter(f"the node's head is below block {start}") from exc
                    # One block cannot be split further: wait and ask again.
                    log.warning("eth_getLogs refused for block %d: %s; retrying", start, exc)
                    self.rpc.sleep(0.5)
                    continue
                self.splits += 1
                self.size = max(self.minimum, (end - start + 1) // 2)
                log.info(
                    "eth_getLogs refused for %d blocks (%s); range now %d",
                    end - start + 1,
                    exc,
                    self.size,
                )
                continue
            n = end - start + 1
            if len(logs) < self.target // 2 and n == self.size:
                self.size = min(self.maximum, self.size * 2)
            elif len(logs) > self.target * 2:
                self.size = max(self.minimum, n // 2)
            return end, logs

    def get(
        self,
        addresses: list[str],
        start: int,
        end: int,
        *,
        retry_timeouts: bool = True,
    ) -> list[Any]:
        self.calls += 1
        flt = {"address": addresses, "fromBlock": hex(start), "toBlock": hex(end)}
        result = self.rpc.call(
            "eth_getLogs", [flt], timeout=self.timeout, retry_timeouts=retry_timeouts
        )
        return list(result or [])

    def fetch_all(self, addresses: list[str], start: int, end: int) -> list[Any]:
        """Every log of `addresses` in [start, end], in as many requests as it takes."""
        out: list[Any] = []
        while start <= end:
            got_end, logs = self.fetch(addresses, start, end)
            out.extend(logs)
            start = got_end + 1
        return out


def cut_at_new_program(
    logs: list[Any], end: int, registry: str, known: frozenset[str]
) -> tuple[list[Any], int]:
    """End a batch at the first registration of an unknown program (before decoding)."""
    first = None
    for lg in logs:
        t = lg["topics"]
        if (
            t
            and t[0] == PROGRAM_REGISTERED
            and len(t) == 4
            and lg["address"].lower() == registry
            and "0x" + t[2][26:] not in known
        ):
            n = int(lg["blockNumber"], 16)
            first = n if first is None else min(first, n)
    if first is None:
        return logs, end
    return [lg for lg in logs if int(lg["blockNumber"], 16) <= first], first
