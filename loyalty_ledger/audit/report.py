"""The audit report: data, and its JSON, text and self-contained HTML renderings."""

from __future__ import annotations

import html
import json
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


def to_json(report: AuditReport, *, indent: int | None = 2) -> str:
    return json.dumps(report.as_dict(), indent=indent, default=str)


def _liability_lines(report: AuditReport) -> list[str]:
    out = []
    for p in report.state.get("programs", []):
        li = p.get("liability", {})
        out.append(
            f"  {p['brand']} ({p['name']}): supply {p['total_supply']}, holders "
            f"{p['holders']}, passes {len(p['passes'])}"
        )
        if li:
            out.append(
                f"    issued {li['issued']}  redeemed {li['redeemed']}  forfeited "
                f"{li['forfeited']}  outstanding {li['outstanding']}"
            )
            for r, n in li["issued_by_reason"].items():
                out.append(f"      issued for {r}: {n}")
            for r, n in li["forfeited_by_reason"].items():
                out.append(f"      forfeited for {r}: {n}")
    return out


def to_text(report: AuditReport, *, max_findings: int = 50) -> str:
    lines = [
        report.summary(),
        f"network: chain {report.chain_id}, registry {report.registry}, "
        f"blocks {report.start_block}..{report.block} ({report.block_hash})",
        f"digest: {report.digest} over {report.digest_blocks} block(s) with network events",
        "programs:",
        *_liability_lines(report),
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


_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:80em;color:#222}
h1{font-size:1.4em}.ok{color:#176b2c}.bad{color:#a31515}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}code{font-size:.9em;word-break:break-all}.num{text-align:right}"""


def _table(head: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def to_html(report: AuditReport) -> str:
    """One self-contained page: no scripts, no external assets."""
    e = html.escape
    cls = "ok" if report.ok else "bad"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Ledger audit, block {report.block}</title><style>{_CSS}</style></head><body>",
        f"<h1 class='{cls}'>{e(report.summary())}</h1>",
        _table(
            ["chain", "registry", "blocks", "block hash", "digest"],
            [
                [
                    report.chain_id,
                    report.registry,
                    f"{report.start_block}..{report.block}",
                    report.block_hash,
                    report.digest,
                ]
            ],
        ),
        "<h2>Programs and points liability</h2>",
    ]
    rows = []
    for p in report.state.get("programs", []):
        li = p.get("liability", {})
        rows.append(
            [
                p["brand"],
                p["name"],
                p["total_supply"],
                li.get("issued"),
                li.get("redeemed"),
                li.get("forfeited"),
                li.get("outstanding"),
                p["holders"],
                len(p["passes"]),
                ", ".join(f"{k}: {v}" for k, v in li.get("issued_by_reason", {}).items()),
            ]
        )
    parts.append(
        _table(
            [
                "brand",
                "name",
                "supply",
                "issued",
                "redeemed",
                "forfeited",
                "outstanding",
                "holders",
                "passes",
                "issued by reason",
            ],
            rows,
        )
    )
    parts.append("<h2>Checks</h2>")
    parts.append(
        _table(
            ["check", "result"], [[k, json.dumps(v, default=str)] for k, v in report.checks.items()]
        )
    )
    if report.bisect:
        parts.append(
            "<h2>Bisect</h2>" + _table(["", ""], [[k, v] for k, v in report.bisect.items()])
        )
    parts.append(f"<h2>Findings ({len(report.findings)})</h2>")
    parts.append(
        _table(
            ["severity", "check", "rule", "key", "detail", "audit", "other"],
            [
                [f.severity, f.check, f.code, f.key, f.detail, f.expected, f.actual]
                for f in report.findings
            ],
        )
        if report.findings
        else "<p>None.</p>"
    )
    if report.statement:
        parts.append(f"<h2>Statement of {e(report.statement['member'])}</h2>")
        parts.append(
            _table(
                ["block", "log", "brand", "entry", "change", "balance", "counterparty", "detail"],
                [
                    [
                        x["block"],
                        x["log_index"],
                        x["brand"],
                        x["kind"],
                        x["delta"],
                        x["balance"],
                        x["counterparty"] or "",
                        json.dumps(x["detail"]),
                    ]
                    for x in report.statement["entries"]
                ],
            )
        )
    parts.append(
        "<h2>Timings</h2>"
        + _table(["phase", "seconds"], [[k, f"{v:.3f}"] for k, v in report.timings.items()])
    )
    parts.append("</body></html>")
    return "".join(parts)
