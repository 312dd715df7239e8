"""The audit report: data, and its JSON, text and self-contained HTML renderings."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .digest import BlockDigest
from .report_books import text_lines
from .report_html import to_html
from .state import Finding

__all__ = ["AuditReport", "to_html", "to_json", "to_text"]


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


def to_json(report: AuditReport, *, indent: int | None = 2) -> str:
    return json.dumps(report.as_dict(), indent=indent, default=str)


def to_text(report: AuditReport, *, max_findings: int = 50) -> str:
    lines = [
        report.summary(),
        f"network: chain {report.chain_id}, registry {report.registry}, "
        f"blocks {report.start_block}..{report.block} ({report.block_hash})",
        f"digest: {report.digest} over {report.digest_blocks} block(s) with network events",
        "programs:",
        *text_lines(report),
        "checks:",
    ]
    for name, info in report.checks.items():
        lines.append(f"  {name}: {json.dumps(info, default=str)}")
    if report.bisect:
        lines.append(f"bisect: {json.dumps(report.bisect, default=str)}")
    if report.findings:
        lines.append(f"findings ({len(report.findings)}):")
        for f in report.findings[:max_findings]:
            extra = (
                ""
                if f.expected is None and f.actual is None
                else f" [audit: {f.expected!r}; other: {f.actual!r}]"
            )
            lines.append(f"  {f.severity.upper()} {f.check}/{f.code} {f.key}: {f.detail}{extra}")
        if len(report.findings) > max_findings:
            lines.append(f"  ... and {len(report.findings) - max_findings} more (see --json)")
    if report.statement:
        lines.append(f"statement of {report.statement['member']}:")
        for e in report.statement["entries"]:
            money = f"{e['delta']:+d} -> {e['balance']}" if e["balance"] is not None else ""
            detail = json.dumps(e["detail"], default=str) if e["detail"] else ""
            text = f"  #{e['block']}:{e['log_index']} {e['brand']} {e['kind']:<14} {money}"
            lines.append(f"{text}  {e['counterparty'] or ''} {detail}".rstrip())
    lines.append("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in report.timings.items()))
    return "\n".join(lines) + "\n"
