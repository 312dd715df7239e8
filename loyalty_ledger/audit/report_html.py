"""The audit report as one self-contained HTML page (no scripts, no external assets)."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from .report_books import (
    BOOK_HEAD,
    EXCHANGE_HEAD,
    EXPIRY_HEAD,
    book_rows,
    exchange_rows,
    expiry_rows,
)

if TYPE_CHECKING:
    from .report_data import AuditReport

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
    parts.append(_table(BOOK_HEAD, book_rows(report)))
    periods = expiry_rows(report)
    if periods:
        parts.append("<h2>Expired points and breakage, per brand and period</h2>")
        parts.append(_table(EXPIRY_HEAD, periods))
    swaps = exchange_rows(report)
    if swaps:
        parts.append("<h2>Coalition exchange: swap totals</h2>")
        parts.append(_table(EXCHANGE_HEAD, swaps))
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
                [
                    "date (UTC)",
                    "block",
                    "log",
                    "brand",
                    "entry",
                    "change",
                    "balance",
                    "counterparty",
                    "detail",
                ],
                [
                    [
                        x.get("date") or "",
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
