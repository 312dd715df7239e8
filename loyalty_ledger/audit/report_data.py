"""The audit report's data: what was replayed, the digest, the findings and the checks run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .digest import BlockDigest
from .state import Finding


@dataclass(slots=True)
class AuditReport:
    chain_id: int
    registry: str
    start_block: int
    block: int
    block_hash: str
    digest: str  # digest of the last block <= `block` with network events
    digest_blocks: int
    events: int
    state: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)  # per check: what ran, counts
    timings: dict[str, float] = field(default_factory=dict)
    statement: dict[str, Any] | None = None
    bisect: dict[str, Any] | None = None
    digests: list[BlockDigest] = field(default_factory=list)  # the full chain, for publishing

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.ok:
            warn = len(self.findings)
            return (
                f"OK: ledger of network {self.registry} (chain {self.chain_id}) as of block "
                f"{self.block} has digest {self.digest}; {self.events} events replayed"
                + (f", {warn} warning(s)" if warn else "")
            )
        by = Counter(f"{f.check}/{f.code}" for f in self.errors)
        parts = ", ".join(f"{n} {k}" for k, n in by.most_common())
        return f"FAILED: {len(self.errors)} error(s) at block {self.block}: {parts}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "network": {
                "chain_id": self.chain_id,
                "registry": self.registry,
                "start_block": self.start_block,
            },
            "block": self.block,
            "block_hash": self.block_hash,
            "digest": {"value": self.digest, "blocks": self.digest_blocks, "version": 1},
            "events": self.events,
            "checks": self.checks,
            "findings": [f.as_dict() for f in self.findings],
            "state": self.state,
            "statement": self.statement,
            "bisect": self.bisect,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }
