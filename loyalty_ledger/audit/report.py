"""The audit report: data, and its JSON, text and self-contained HTML renderings."""

from __future__ import annotations

import json
from typing import Any

from .report_books import text_lines
from .report_data import AuditReport
from .report_html import to_html

__all__ = ["AuditReport", "to_html", "to_json", "to_text"]


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
        lines.append(f"statement of {report.statement['member']} (times UTC):")
        lines += [statement_line(e) for e in report.statement["entries"]]
    lines.append("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in report.timings.items()))
    return "\n".join(lines) + "\n"


def statement_line(e: dict[str, Any]) -> str:
    """One statement entry: its date first (the block only where the node gave no time)."""
    when = e.get("date") or f"block {e['block']}"
    money = f"{e['delta']:+d} -> {e['balance']}" if e["balance"] is not None else ""
    d = e["detail"]
    note = d["swap"] if "swap" in d else (json.dumps(d, default=str) if d else "")
    parts = [f"{when:<19}", e["brand"], f"{e['kind']:<14}", money, e["counterparty"], note]
    parts.append(f"(#{e['block']}:{e['log_index']})")
    return "  " + "  ".join(p for p in parts if p)
