"""The books of the report as table rows (shared by the text and HTML renderings): per brand,
per brand and expiry period (expired points and breakage), per exchange (swap totals)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report_data import AuditReport

BOOK_HEAD = [
    "brand",
    "name",
    "supply",
    "issued",
    "swapped in",
    "redeemed",
    "swapped out",
    "forfeited",
    "expired",
    "outstanding",
    "breakage",
    "holders",
    "passes",
    "issued by reason",
]
EXPIRY_HEAD = ["brand", "epoch", "from", "to", "issued into", "expired", "breakage"]
EXCHANGE_HEAD = [
    "exchange",
    "id",
    "from -> to",
    "rate",
    "open",
    "swaps",
    "in (Swapped)",
    "burned (from side)",
    "out (Swapped)",
    "issued (to side)",
    "budget",
    "budget left",
]


def pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.2f}%"


def book_rows(report: AuditReport) -> list[list[Any]]:
    rows = []
    for p in report.state.get("programs", []):
        li = p.get("liability", {})
        rows.append(
            [
                p["brand"],
                p["name"],
                p["total_supply"],
                li.get("issued"),
                li.get("swapped_in"),
                li.get("redeemed"),
                li.get("swapped_out"),
                li.get("forfeited"),
                li.get("expired"),
                li.get("outstanding"),
                pct(li.get("breakage_rate")),
                p["holders"],
                len(p["passes"]),
                ", ".join(f"{k}: {v}" for k, v in li.get("issued_by_reason", {}).items()),
            ]
        )
    return rows


def expiry_rows(report: AuditReport) -> list[list[Any]]:
    rows = []
    for p in report.state.get("programs", []):
        for x in p.get("expiry", {}).get("periods", []):
            rows.append(
                [
                    p["brand"],
                    x["epoch"],
                    x["from"],
                    x["to"],
                    x["issued_into"],
                    x["expired"],
                    pct(x["breakage_rate"]),
                ]
            )
    return rows


def exchange_rows(report: AuditReport) -> list[list[Any]]:
    return [
        [
            x["address"],
            x["id"],
            f"{x['from']} -> {x['to']}",
            f"{x['rate'][0]}:{x['rate'][1]}",
            "yes" if x["open"] else "no",
            x["swaps"],
            x["amount_in"],
            x["burned_on_from_side"],
            x["amount_out"],
            x["issued_on_to_side"],
            x["budget"],
            x["budget_left"],
        ]
        for x in report.state.get("exchanges", [])
    ]


def text_lines(report: AuditReport) -> list[str]:
    """The programs' books, expiry periods and exchanges, for `to_text`."""
    out = []
    for p in report.state.get("programs", []):
        li = p.get("liability", {})
        out.append(
            f"  {p['brand']} ({p['name']}): supply {p['total_supply']}, holders "
            f"{p['holders']}, passes {len(p['passes'])}"
        )
        if li:
            out.append(
                f"    issued {li['issued']}  swapped in {li['swapped_in']}  redeemed "
                f"{li['redeemed']}  swapped out {li['swapped_out']}  forfeited "
                f"{li['forfeited']}  expired {li['expired']}  outstanding {li['outstanding']}"
                f"  breakage {pct(li['breakage_rate'])}"
            )
            for r, n in li["issued_by_reason"].items():
                out.append(f"      issued for {r}: {n}")
            for r, n in li["forfeited_by_reason"].items():
                out.append(f"      forfeited for {r}: {n}")
        exp = p.get("expiry", {})
        if exp.get("policy"):
            out.append(
                f"    expiry: {exp['validity_epochs']} epoch(s) of {exp['epoch_length']}s, "
                f"epoch now {exp['epoch']}"
            )
            for x in exp["periods"]:
                out.append(
                    f"      epoch {x['epoch']} ({x['from']}..{x['to']}): expired {x['expired']}"
                    f" of {x['issued_into']} issued into it ({pct(x['breakage_rate'])})"
                )
    for r in exchange_rows(report):
        out.append(
            f"  exchange {r[0]}#{r[1]} {r[2]} at {r[3]}, open {r[4]}: {r[5]} swap(s), "
            f"in {r[6]} (from side burned {r[7]}), out {r[8]} (to side issued {r[9]}), "
            f"budget {r[10]} ({r[11]} left)"
        )
    return out
