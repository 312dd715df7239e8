"""Do the recorded earnings explain what the chain credited?

For each confirmed earning in the database under audit (mined at or below the audited block)
that has rule lines (`earn_line`: which rule version paid how much), the lines must add up to
the points its own transaction credited on chain: the `PointsIssued` events of the brand's
points contract in that transaction's receipt, for the earning's member, reason and reference
(as the write path issues them: the order id, else the action id). They must also add up to
the earning's recorded points. Each disagreement is a finding naming the earning; a
transaction the node does not have is a warning (an earning sent without the outbox and lost
with blocks a crash rolled back stays recorded: the write path says so).

Read page by page (by earning id), so memory follows the page, not the history; receipts come
from the audit's own RPC client and are decoded by its own decoder (not the indexer's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, inspect, select

from loyalty_ledger.store.offchain import EarnRecord, table
from loyalty_ledger.store.rules_tables import EarnLine
from loyalty_ledger.validate import reason_bytes, ref_bytes, text32

from .decode import Kind, Log, decode
from .mirror_read import MirrorDb
from .rpc import Failed, Rpc
from .state import Finding, LedgerState

T_EARN, T_LINE = table(EarnRecord), table(EarnLine)
PAGE = 2_000
Key = tuple[str, str, str, str, str]  # (tx hash, token, member, reason, ref), lower-case hex


def _text(raw: bytes) -> str:
    return text32("0x" + raw.hex())


def earning_key(row: dict[str, Any], token: str) -> Key:
    """Where an earning's credit is on chain: its transaction, token, member, reason, ref."""
    ref = row["order_id"] or row["action_id"] or ""
    return (
        str(row["tx_hash"]).lower(),
        token.lower(),
        str(row["member"]).lower(),
        _text(reason_bytes(row["reason"])),
        _text(ref_bytes(ref)),
    )


def _pages(db: MirrorDb, block: int) -> Iterator[list[dict[str, Any]]]:
    """Confirmed earnings mined at or below `block`, with their lines' sum and count."""
    e, sums = T_EARN.c, (T_LINE.c.earn_id, func.sum(T_LINE.c.points), func.count())
    after = 0
    while True:
        q = (
            select(T_EARN)
            .where(e.id > after, e.status == "confirmed", e.block_number <= block)
            .order_by(e.id)
            .limit(PAGE)
        )
        with db.engine.connect() as c:
            rows = [dict(r) for r in c.execute(q).mappings()]
            if not rows:
                return
            ids = [r["id"] for r in rows]
            got = {
                int(i): (int(s or 0), int(n))
                for i, s, n in c.execute(
                    select(*sums).where(T_LINE.c.earn_id.in_(ids)).group_by(T_LINE.c.earn_id)
                )
            }
        for r in rows:
            r["lines_sum"], r["lines"] = got.get(r["id"], (0, 0))
        after = ids[-1]
        yield rows


def _credits(rpc: Rpc, hashes: list[str], workers: int) -> dict[str, dict[Key, int] | None]:
    """Per transaction: the points its receipt's PointsIssued events credited, by key
    (None: the node has no receipt for it)."""
    calls = [("eth_getTransactionReceipt", [h]) for h in hashes]
    out: dict[str, dict[Key, int] | None] = {}
    for h, rc in zip(hashes, rpc.batch_many(calls, workers=workers), strict=True):
        if isinstance(rc, Failed) or not rc:
            out[h] = None
            continue
        credit: dict[Key, int] = defaultdict(int)
        if int(rc.get("status", "0x1"), 16) == 1:
            for raw in rc.get("logs", []):
                ev = decode(Log.from_rpc(raw), Kind.POINTS)
                if ev.name == "PointsIssued":
                    a = ev.args
                    key = (h, ev.log.address, a["member"], text32(a["reason"]), text32(a["ref"]))
                    credit[key] += int(a["amount"])
        out[h] = credit
    return out


def _page_findings(
    rows: list[dict[str, Any]], tokens: dict[str, str], rpc: Rpc, workers: int
) -> tuple[list[Finding], dict[str, int]]:
    counts = dict.fromkeys(("checked", "without_lines", "unknown_brand"), 0)
    findings: list[Finding] = []
    mine = []
    for r in rows:
        if not r["lines"]:
            counts["without_lines"] += 1  # points set by the caller, or from before the rules
            continue
        if r["brand_id"] not in tokens:
            counts["unknown_brand"] += 1
            findings.append(_finding(r, "earn-unknown-brand", "its brand is not on chain", 0))
            continue
        counts["checked"] += 1
        if r["points"] != r["lines_sum"]:
            why = f"its record says {r['points']} points"
            findings.append(_finding(r, "earn-record-mismatch", why, r["points"]))
        if r["lines_sum"] > 0 or r["tx_hash"]:
            mine.append(r)
    hashes = sorted({str(r["tx_hash"]).lower() for r in mine if r["tx_hash"]})
    credits = _credits(rpc, hashes, workers)
    wanted: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for r in mine:
        if not r["tx_hash"]:
            findings.append(_finding(r, "earn-not-issued", "no transaction credited it", 0))
            continue
        wanted[earning_key(r, tokens[r["brand_id"]])].append(r)
    for key, group in wanted.items():
        credit = credits.get(key[0])
        if credit is None:  # a warning: written without the outbox, an earning mined in
            # blocks that a crash then lost stays recorded (the outbox would send it again)
            why = f"the node has no transaction {key[0]} (lost with rolled-back blocks?)"
            findings += [_finding(r, "earn-tx-missing", why, 0, "warning") for r in group]
            continue
        on_chain, recorded = credit.get(key, 0), sum(r["lines_sum"] for r in group)
        if on_chain != recorded:
            for r in group:
                why = f"transaction {key[0]} credited {on_chain} for it"
                findings.append(_finding(r, "earn-lines-mismatch", why, on_chain))
    return findings, counts


def _finding(
    row: dict[str, Any], code: str, why: str, theirs: int, severity: str = "error"
) -> Finding:
    what = f"order {row['order_id']}" if row["order_id"] else f"{row['reason']} action"
    return Finding(
        "earnings",
        code,
        f"earning:{row['brand_id']}/{row['id']}",
        f"earning {row['id']} ({what}) of {row['brand_id']}: its rule lines add up to "
        f"{row['lines_sum']} points, but {why}",
        theirs,
        row["lines_sum"],
        severity,
    )


def verify_earnings(
    rpc: Rpc, db: MirrorDb, state: LedgerState, block: int, *, workers: int = 4
) -> tuple[dict[str, Any], list[Finding]]:
    """Reconcile every confirmed earning's rule lines with its on-chain credit (see above)."""
    names = set(inspect(db.engine).get_table_names())
    if not {T_EARN.name, T_LINE.name} <= names:
        return {"skipped": "the database has no earnings"}, []
    tokens = {text32(p.brand_id): p.points for p in state.programs.values()}
    info: dict[str, Any] = dict.fromkeys(("checked", "without_lines", "unknown_brand"), 0)
    findings: list[Finding] = []
    for rows in _pages(db, block):
        got, counts = _page_findings(rows, tokens, rpc, workers)
        findings += got
        for k, v in counts.items():
            info[k] += v
    info["mismatches"] = sum(1 for f in findings if f.severity == "error")
    info["missing_tx"] = len(findings) - info["mismatches"]
    return info, findings
