"""The text report of `loyalty insights report`: narrow tables that stay readable in 80
columns. Every rate shows its numerator and denominator; a partial month is starred."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

NA = "-"  # shown for a figure without data (a ratio over zero)
PARTIAL = "*"
MAX_COHORT_COLUMNS = 10  # m+0 .. m+9 fit in 80 columns


def money(v: Any) -> str:
    return NA if v is None else f"{int(v):,}"


def pct(v: Any) -> str:
    return NA if v is None else f"{100 * v:.1f}%"


def num(v: Any, digits: int = 2) -> str:
    return NA if v is None else f"{v:.{digits}f}"


def rate(v: Any, n: int, d: int, of: str = "") -> str:
    """A rate with its numerator and denominator: '33.3% (1 of 3)'."""
    return f"{pct(v)} ({n:,} of {d:,}{' ' + of if of else ''})"


def month(row: dict[str, Any]) -> str:
    return row["month"] + (PARTIAL if row.get("partial") else "")


def _table(title: str, *cols: str) -> Table:
    t = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")
    t.add_column(cols[0], no_wrap=True, min_width=8)  # a month, starred: never squeezed
    for c in cols[1:]:
        t.add_column(c, justify="right", overflow="fold")  # a figure wraps, never cut
    return t


def headline(rep: dict[str, Any]) -> Table:
    clv, churn, basket, freq = rep["clv"], rep["churn"], rep["basket"], rep["frequency"]
    nps, pts = rep["nps"], rep["points"]
    life, pred, spent = clv["lifetime"], clv["predicted"], clv["in_period"]
    act, lapsed, prev = churn["activity"], churn["lapsed"], basket["previous"]
    t = _table(f"Headline ({clv.get('currency', '')}, minor units)", "", "")
    t.show_header = False
    t.columns[1].justify = "left"
    before = f"{prev['period']['from'][:10]} → {prev['period']['as_of'][:10]}"
    rows = [
        ("customers who bought", money(spent["customers"])),
        ("orders / revenue", f"{money(spent['orders'])} / {money(spent['revenue'])}"),
        ("  previous period", f"{money(prev['orders'])} / {money(prev['revenue'])} ({before})"),
        ("average order value", money(basket["average_order_value"])),
        ("items per order", num(basket["items_per_order"])),
        ("lifetime value to date", f"mean {money(life['mean'])}"),
        ("  median / customers", f"{money(life['median'])} / {money(life['customers'])}"),
        (f"predicted value ({pred['horizon_days'] // 365} years)", money(pred["value"])),
        (
            "  = AOV x orders x windows",
            f"{money(pred['average_order_value'])} x {num(pred['orders_per_customer'])} x "
            f"{num(pred['expected_windows'], 1)} ({pred['days']}-day windows)",
        ),
        ("spend in period / customer", f"mean {money(spent['clv_mean'])}"),
        ("orders per customer", num(freq["purchase_frequency"])),
        (
            "repeat-purchase rate",
            rate(freq["repeat_purchase_rate"], freq["repeat_customers"], freq["customers"]),
        ),
        (
            f"churn: no purchase {churn['days']}d",
            rate(churn["churn_rate"], churn["churned"], churn["at_risk"]),
        ),
        ("lapsed customers", rate(lapsed["lapsed_rate"], lapsed["lapsed"], lapsed["customers"])),
        (
            "activity churn vs previous",
            rate(act["churn_rate"], act["churned"], act["active_at_start"]),
        ),
        ("NPS", f"{num(nps['nps'], 1)} ({nps['answers']:,} answers)"),
        ("points issued / redeemed", f"{money(pts['issued'])} / {money(pts['redeemed'])}"),
        ("points outstanding", money(pts["outstanding_liability"])),
        (
            "redemption rate",
            rate(pts["redemption_rate"], pts["redeemed"], pts["credited"], "credited"),
        ),
        (
            "breakage (expired+forfeit)",
            rate(pts["breakage_rate"], pts["breakage"], pts["credited"], "credited"),
        ),
        ("expired / forfeited", f"{money(pts['expired'])} / {money(pts['forfeited'])}"),
        ("swapped in / out", f"{money(pts['swapped_in'])} / {money(pts['swapped_out'])}"),
        (
            "books balance",
            "yes" if pts["books"]["balanced"] else f"off by {money(pts['books']['difference'])}",
        ),
        ("gifts (count / points)", f"{pts['gifts']['count']:,} / {money(pts['gifts']['points'])}"),
    ]
    for label, value in rows:
        t.add_row(label, value)
    t.columns[0].min_width = max(len(label) for label, _ in rows)
    return t


def by_month(rep: dict[str, Any]) -> list[Table]:
    sales = _table("Sales by month", "month", "orders", "revenue", "AOV", "items/order", "buyers")
    for b in rep["basket"]["trend"]:
        sales.add_row(
            month(b),
            money(b["orders"]),
            money(b["revenue"]),
            money(b["average_order_value"]),
            num(b["items_per_order"]),
            money(b["customers"]),
        )
    people = _table("Customers by month", "month", "churn (bought m-1, not m)", "NPS (answers)")
    for c, n in zip(rep["churn"]["monthly"], rep["nps"]["trend"], strict=True):
        people.add_row(
            month(c),
            rate(c["churn_rate"], c["churned"], c["active_at_start"]),
            f"{num(n['nps'], 0)} ({n['answers']:,})",
        )
    points = _table(
        "Points by month", "month", "issued", "swap in/out", "redeemed", "expired", "forfeit", "brk"
    )
    for f in rep["points"]["flows"]["trend"]:
        points.add_row(
            month(f),
            money(f["issued"]),
            f"{money(f['swapped_in'])}/{money(f['swapped_out'])}",
            money(f["redeemed"]),
            money(f["expired"]),
            money(f["forfeited"]),
            pct(f["breakage_rate"]),
        )
    return [sales, people, points]


def cohort_table(title: str, rows: list[dict[str, Any]], extra: str | None = None) -> Table:
    width = min(max((len(r["retention"]) for r in rows), default=0), MAX_COHORT_COLUMNS)
    cols = ["cohort", "size", *([extra] if extra else []), *[f"m+{k}" for k in range(width)]]
    t = _table(title, *cols)
    for r in rows:
        cells = [
            NA if v is None else f"{100 * v:.0f}%" + (PARTIAL if p else "")
            for v, p in zip(r["retention"][:width], r["partial"][:width], strict=True)
        ]
        more = [money(r[extra.replace(" ", "_")])] if extra else []
        t.add_row(r["cohort"], money(r["size"]), *more, *cells, *[""] * (width - len(cells)))
    return t


def print_report(rep: dict[str, Any], console: Console | None = None) -> None:
    con = console or Console()
    p, days = rep["period"], rep["churn"]["days"]
    state = (
        f"to date, as of {p['as_of'][:16].replace('T', ' ')} UTC" if p["partial"] else "complete"
    )
    con.print(f"[bold]{rep['brand_id']}[/bold]  {p['from'][:10]} → {p['to'][:10]} (excl.), {state}")
    if p["partial_months"]:
        con.print(f"{PARTIAL} partial month: {', '.join(p['partial_months'])}")
    con.print(f"churn: no purchase for {days} days; money in minor units")
    con.print(headline(rep))
    for t in by_month(rep):
        con.print(t)
    ret = rep["retention"]
    con.print(
        cohort_table("Retention by first-purchase cohort (bought in month m+k)", ret["cohorts"])
    )
    con.print(
        cohort_table(
            "Members by first-activity cohort (signups included; active in m+k)",
            ret["activity_cohorts"],
            extra="never bought",
        )
    )
    top = _table("Top customers by spend", "member", "spend", "orders")
    for r in rep["top_customers"]["by_spend"]:
        top.add_row(r["member"], money(r["spend"]), str(r["orders"]))
    con.print(top)
    tiers = ", ".join(f"{t['name']} {t['active']}/{t['passes']}" for t in rep["points"]["tiers"])
    con.print(f"tiers (active/all passes): {tiers or NA}")
    con.print(f"points by month: {rep['points']['flows']['timing']}", soft_wrap=False)
