"""End of batch: points whose lot expired by the indexed head leave `balance.amount`.

`balanceOf` on chain counts live lots only, and a lot dies with no transaction when its expiry
epoch starts. So after each batch, for every program with a clock, the lots whose expiry epoch
is in (swept_epoch, epoch of the head block] are taken out of their holders' balances and
`swept_epoch` moves to the head's epoch. The lot rows stay: they record what expired. Every
write goes through the cache's journal, so a rollback restores balances and `swept_epoch`.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from . import lots, rows
from .cache import Cache

LOT = rows.TABLES["point_lot"]
STATE = rows.TABLES["contract_state"]


def clocked(conn: Connection, cache: Cache) -> set[str]:
    """Points contracts with an expiry clock (read once per cache)."""
    if cache.clocked is None:
        q = select(STATE.c.address).where(STATE.c.epoch_length > 0)
        cache.clocked = set(conn.execute(q).scalars())
    return cache.clocked


def due(cache: Cache, head_time: int) -> list[str]:
    """Clocked programs whose head epoch passed their swept epoch (their state is cached)."""
    out = []
    for c in sorted(cache.clocked or ()):
        cs = cache.rows["contract_state"].get((c,))
        clock = lots.clock_of(cs)
        if cs is not None and clock is not None and clock.epoch(head_time) > cs["swept_epoch"]:
            out.append(c)
    return out


def sweep(conn: Connection, cache: Cache, programs: list[str], block: int, head_time: int) -> None:
    """Take the lots that expired by `head_time` out of the balances of `programs`.

    Reads lots from the database, so the batch's lot changes must be stored first.
    """
    for c in programs:
        cs = cache.rows["contract_state"][(c,)]
        clock = lots.clock_of(cs)
        assert cs is not None and clock is not None
        epoch, swept = clock.epoch(head_time), cs["swept_epoch"]
        q = select(LOT.c.holder, LOT.c.expiry_epoch, LOT.c.amount).where(
            LOT.c.token == c, LOT.c.expiry_epoch > swept, LOT.c.expiry_epoch <= epoch
        )
        found = {(c, h, x): a for h, x, a in conn.execute(q)}
        expired = lots.expired_parts(found, swept, epoch)
        rows.load(conn, cache, _need(c, expired), set())
        for holder, amount in expired.items():
            row = cache.get("balance", (c, holder))
            left = (row["amount"] if row else 0) - amount
            if left < 0:
                raise lots.ExpiryMismatch(
                    f"{holder}'s lots of {c} expiring by epoch {epoch} hold {amount} points, "
                    f"more than the balance {left + amount}"
                )
            cache.put("balance", (c, holder), {"amount": left} if left else None, block)
        cache.put("contract_state", (c,), {**cs, "swept_epoch": epoch}, block)


def _need(c: str, expired: dict[str, int]) -> dict[str, set[tuple[str, ...]]]:
    need: dict[str, set[tuple[str, ...]]] = {t: set() for t in rows.TABLES}
    need["balance"] = {(c, h) for h in expired}
    return need
