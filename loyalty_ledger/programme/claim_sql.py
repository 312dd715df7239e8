"""A claim group's statements on the database driver (`store.driver_sql`), in the open
transaction of the SQLAlchemy connection they are given: the members' facts of the whole group
in one statement, then its records and rule lines one executemany each (one round trip each on
PostgreSQL). The SQL text is fixed (per group size for SQLite's facts), rows bound as tuples."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from loyalty_ledger.store.driver_sql import (
    execute_many,
    fetch_all,
    insert_returning,
    insert_sql,
    pipeline,
)
from loyalty_ledger.store.outbox import INSERT_ISSUE

RECORD_COLUMNS = (
    "brand_id", "idem_key", "member", "reason", "points", "order_id", "order_amount",
    "currency", "items_count", "action_id", "status", "created_at", "ordered_at",
    "request_hash", "intent_id", "channel", "store_id", "tags",
)  # fmt: skip
LINE_COLUMNS = (
    "earn_id", "brand_id", "rule_id", "version", "campaign_id", "points", "perk_id", "why",
    "usage_member", "usage_period",
)  # fmt: skip
INSERT_RECORD = {pg: insert_sql("earn_record", RECORD_COLUMNS, pg) for pg in (False, True)}
INSERT_LINE = {
    pg: insert_sql("earn_line", LINE_COLUMNS, pg, returning=False) for pg in (False, True)
}

# The same facts as `accept.FACTS_ORDER` / `FACTS_ACTION`, for each claim `k` of a group:
# (i, brand, member, member lower-cased, pass contract lower-cased, 1 for a purchase).
_FACTS = (
    "SELECT k.i, CASE WHEN k.p = 1 THEN (SELECT count(*) FROM earn_record e "
    "WHERE e.brand_id = k.b AND e.member = k.m AND e.reason = 'purchase') ELSE 0 END, "
    "(SELECT tier FROM pass WHERE contract = k.pc AND owner = k.ml), "
    "(SELECT birth_month FROM rule_member r WHERE r.brand_id = k.b AND r.member = k.m), "
    "(SELECT referred_by FROM rule_member r WHERE r.brand_id = k.b AND r.member = k.m), "
    "(SELECT n FROM change_counter WHERE name = 'rules') FROM {k} ORDER BY k.i"
)
FACTS_PG = _FACTS.format(
    k="unnest(%s::int[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int[]) "
    "AS k(i, b, m, ml, pc, p)"
)
# PostgreSQL: a member's purchases are priced one transaction at a time (the n-th order is
# counted from what committed), each claim's transaction locking its members (`accept.
# member_keys`, sorted) until it commits.
LOCK_MEMBERS = (
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/claims'), k) "
    "FROM unnest(%s::integer[]) AS t(k)"
)
FACT_KEYS = ("orders", "tier", "birth_month", "referred_by", "rules_version")
Ask = tuple[str, str, str, bool]
"""What a claim's facts depend on: brand, member, pass contract, whether a purchase."""


@functools.lru_cache(maxsize=128)
def _facts_sqlite(n: int) -> str:
    rows = ", ".join(["(?, ?, ?, ?, ?, ?)"] * n)
    return f"WITH k(i, b, m, ml, pc, p) AS (VALUES {rows}) " + _FACTS.format(k="k")


def group_facts(
    conn: Connection, asks: Sequence[Ask], lock: Sequence[int] = ()
) -> list[dict[str, Any]]:
    """Each claim's member facts (orders: its member's purchases claimed so far, 0 for an
    action; tier; birth month; referrer; the rules version) in one statement, in order. On
    PostgreSQL, with the members' `lock` keys taken first, in the same round trip (the facts
    statement runs once the locks are held, so it counts what the last holder committed)."""
    rows = [(i, b, m, m.lower(), pc.lower(), int(p)) for i, (b, m, pc, p) in enumerate(asks)]
    if conn.dialect.name == "postgresql":
        args = [list(c) for c in zip(*rows, strict=True)]
        with pipeline(conn, FACTS_PG) as pg:
            if lock:
                pg.cursor().execute(LOCK_MEMBERS, [list(lock)])
            cur = pg.cursor()
            cur.execute(FACTS_PG, args)
        got = cur.fetchall()
    else:
        got = fetch_all(conn, _facts_sqlite(len(rows)), [x for r in rows for x in r])
    return [dict(zip(FACT_KEYS, r[1:], strict=True)) for r in got]


def insert_records(conn: Connection, records: Sequence[dict[str, Any]]) -> list[int]:
    """The group's earn records (each with its `status`); their ids in order."""
    rows = [tuple(v.get(k) for k in RECORD_COLUMNS) for v in records]
    return insert_returning(conn, INSERT_RECORD[conn.dialect.name == "postgresql"], rows)


def insert_lines(conn: Connection, lines: Sequence[dict[str, Any]]) -> None:
    """The group's rule lines (`rules.live.line_rows`)."""
    rows = [tuple(x[k] for k in LINE_COLUMNS) for x in lines]
    execute_many(conn, INSERT_LINE[conn.dialect.name == "postgresql"], rows)


# PostgreSQL, all in one round trip: a record finds its intent, a line its record, by the
# unique key each was inserted with (so nothing waits for an id to come back first).
_REC = [c for c in RECORD_COLUMNS if c != "intent_id"]
RECORD_PG = (
    f"INSERT INTO earn_record ({', '.join(_REC)}, intent_id) "
    f"VALUES ({', '.join(['%s'] * len(_REC))}, "
    "(SELECT id FROM outbox_intent WHERE idem_key = %s)) RETURNING id, intent_id"
)
_LINE = [c for c in LINE_COLUMNS if c != "earn_id"]
LINE_PG = (
    f"INSERT INTO earn_line (earn_id, {', '.join(_LINE)}) VALUES ((SELECT id FROM earn_record "
    f"WHERE brand_id = %s AND idem_key = %s), {', '.join(['%s'] * len(_LINE))})"
)


def write_pg(
    conn: Connection,
    intents: Sequence[tuple[Any, ...]],
    records: Sequence[tuple[dict[str, Any], str | None]],
    lines: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    commit: bool,
) -> list[tuple[int, int | None]]:
    """A group's intents (`store.outbox.issue_params`), records (each with its intent's
    idempotency key) and lines (each with its record's values) in one round trip, ending with
    the COMMIT when `commit` (SQLAlchemy's own commit then finds nothing to do): the records'
    (id, intent id) in order."""
    with pipeline(conn, "INSERT INTO earn_record") as pg:
        c_int, c_rec, c_line = pg.cursor(), pg.cursor(), pg.cursor()
        if intents:
            c_int.executemany(INSERT_ISSUE[True], intents)
        pending = {"status": "pending"}
        rows = [(*((v | pending).get(k) for k in _REC), key) for v, key in records]
        c_rec.executemany(RECORD_PG, rows, returning=True)
        if lines:
            args = [(v["brand_id"], v["idem_key"], *(x[k] for k in _LINE)) for v, x in lines]
            c_line.executemany(LINE_PG, args)
        if commit:
            pg.commit()
    out = []
    while True:
        rid, intent = c_rec.fetchone()
        out.append((int(rid), None if intent is None else int(intent)))
        if not c_rec.nextset():
            return out
