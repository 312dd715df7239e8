"""Perk eligibility: from the SQL mirror (true as of the block it names) or, in strict mode,
from the chain at one block (`onchain`). The judgement itself is pure (`rules`).

The single check (`check_one`, the hot path of every till and page view) reads the perk, the
checkpoint and the address's holdings in one snapshot: through the engine, or on SQLite
through the store's plain reader (`check_one_sqlite`), which costs a tenth as much.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select, text
from web3 import Web3

from loyalty_ledger.chain import rpc
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.perks.catalogue import (
    T_BAL,
    T_MEMBER,
    T_PASS,
    T_PERK,
    T_STATE,
    T_USAGE,
    MirrorNotReady,
    PerkNotFound,
    _now,
    list_perks,
)
from loyalty_ledger.programme.perks.onchain import (
    Head,
    chain_holdings,
    chain_state,
    head_watch,
    remembered,
)
from loyalty_ledger.programme.perks.rules import Eligibility, Holding, judge, pass_active
from loyalty_ledger.store.reader import ReaderBusy, SqliteReader
from loyalty_ledger.validate import checksum_address

__all__ = ["Eligibility", "Holding", "chain_holdings", "judge"]


def checkpoint(conn: Connection) -> int | None:
    return conn.execute(select(T_STATE.c.checkpoint_block).where(T_STATE.c.id == 1)).scalar()


def mirror_holdings(
    conn: Connection,
    *,
    perk: dict[str, Any],
    program: Program,
    partner: Program | None,
    addresses: Sequence[str],
    now: int,
) -> dict[str, Holding]:
    """Holdings of many addresses from the mirror, in one query per table."""
    low = [a.lower() for a in addresses]
    out = {a: Holding() for a in low}
    for addr, reg, frozen in conn.execute(
        select(T_MEMBER.c.address, T_MEMBER.c.registered, T_MEMBER.c.frozen).where(
            T_MEMBER.c.address.in_(low)
        )
    ):
        out[addr].registered, out[addr].frozen = bool(reg), bool(frozen)
    for addr, amount in conn.execute(
        select(T_BAL.c.holder, T_BAL.c.amount).where(
            T_BAL.c.token == program.points.lower(), T_BAL.c.holder.in_(low)
        )
    ):
        out[addr].balance = int(amount)
    passes = [program.pass_.lower()] + ([partner.pass_.lower()] if partner else [])
    for contract, owner, tier, expires in conn.execute(
        select(T_PASS.c.contract, T_PASS.c.owner, T_PASS.c.tier, T_PASS.c.expires_at).where(
            T_PASS.c.contract.in_(passes), T_PASS.c.owner.in_(low)
        )
    ):
        if contract == program.pass_.lower():
            out[owner].pass_tier, out[owner].pass_expires_at = int(tier), int(expires)
        if partner is not None and contract == partner.pass_.lower():
            out[owner].partner_pass = pass_active(int(expires), now)
    if perk["per_member_limit"] is not None:
        for member, used in conn.execute(
            select(T_USAGE.c.member, T_USAGE.c.used).where(
                T_USAGE.c.perk_id == perk["id"], T_USAGE.c.member.in_(low)
            )
        ):
            out[member].used = int(used)
    return out


_HOLDS = """
    SELECT m.registered, m.frozen, b.amount, p.tier, p.expires_at, pp.expires_at AS partner_exp,
           u.used
    FROM (SELECT {addr} AS addr) x
    LEFT JOIN member m ON m.address = x.addr
    LEFT JOIN balance b ON b.token = {token} AND b.holder = x.addr
    LEFT JOIN pass p ON p.contract = {pass_} AND p.owner = x.addr
    LEFT JOIN pass pp ON pp.contract = {ppass} AND pp.owner = x.addr
    LEFT JOIN perk_usage u ON u.perk_id = {pid} AND u.member = x.addr
"""
_ONE = text(
    "SELECT (SELECT checkpoint_block FROM indexer_state WHERE id = 1) AS checkpoint, "
    + _HOLDS.format(addr=":addr", token=":token", pass_=":pass", ppass=":ppass", pid=":pid")
    .strip()
    .removeprefix("SELECT")
)
_PERK_COLUMNS = [c.name for c in T_PERK.c]
_BOOLEAN_COLUMNS = [c.name for c in T_PERK.c if c.type.python_type is bool]
# The plain reader's single statement: the perk, the checkpoint and the holdings at once.
_CHECK_SQL = f"""
    SELECT {", ".join("k." + c for c in _PERK_COLUMNS)},
           (SELECT checkpoint_block FROM indexer_state WHERE id = 1),
           m.registered, m.frozen, b.amount, p.tier, p.expires_at, pp.expires_at, u.used
    FROM perk k
    LEFT JOIN member m ON m.address = ?
    LEFT JOIN balance b ON b.token = ? AND b.holder = ?
    LEFT JOIN pass p ON p.contract = ? AND p.owner = ?
    LEFT JOIN pass pp ON pp.contract = ? AND pp.owner = ?
    LEFT JOIN perk_usage u ON u.perk_id = k.id AND u.member = ?
    WHERE k.id = ?
"""


def _keys(
    deployment: Deployment, perk: dict[str, Any], addr: str
) -> tuple[str, str, str, str, int]:
    """The holdings statement's parameters: address, points, pass, partner pass, perk."""
    program = deployment.program(perk["brand_id"])
    partner = deployment.program(perk["partner_brand_id"]) if perk["partner_brand_id"] else None
    ppass = partner.pass_.lower() if partner else "-"
    return addr.lower(), program.points.lower(), program.pass_.lower(), ppass, perk["id"]


def _decide(
    perk: dict[str, Any], addr: str, checkpoint: int | None, held: tuple[Any, ...]
) -> Eligibility:
    """The answer from one snapshot's perk, checkpoint and holdings row."""
    if checkpoint is None:
        raise MirrorNotReady()
    registered, frozen, amount, tier, expires, partner_exp, used = held
    now = _now()
    h = Holding(
        registered=bool(registered),
        frozen=bool(frozen),
        balance=int(amount or 0),
        pass_tier=None if tier is None else int(tier),
        pass_expires_at=int(expires or 0),
        partner_pass=partner_exp is not None and pass_active(int(partner_exp), now),
        used=int(used or 0),
    )
    reasons = judge(perk, h, now=now)
    return Eligibility(
        perk_id=perk["id"],
        address=addr,
        eligible=not reasons,
        reasons=reasons,
        as_of_block=int(checkpoint),
        balance=h.balance,
    )


def check_one(
    *, engine: Engine, deployment: Deployment, perk_id: int, address: str
) -> tuple[dict[str, Any], Eligibility]:
    """The hot path: one perk, one address, from the mirror, in two statements."""
    addr = checksum_address(address)
    with engine.connect() as conn:
        row = conn.execute(select(T_PERK).where(T_PERK.c.id == perk_id)).mappings().first()
        if row is None:
            raise PerkNotFound(perk_id)
        perk = dict(row)
        addr_, token, pass_, ppass, pid = _keys(deployment, perk, addr)
        params = {"addr": addr_, "token": token, "pass": pass_, "ppass": ppass, "pid": pid}
        r = conn.execute(_ONE, params).one()
    return perk, _decide(perk, addr, r[0], tuple(r[1:]))


def check_one_sqlite(
    *, reader: SqliteReader, deployment: Deployment, perk_id: int, address: str
) -> tuple[dict[str, Any], Eligibility]:
    """`check_one` through the store's plain SQLite reader, in one statement (one snapshot).

    The statement needs the perk's brand and partner before it has read the perk: the reader
    remembers them per perk id, and the row it reads says whether they still hold (else it
    reads again with the right ones). Raises `ReaderBusy` when the reader cannot read now (the
    caller then uses `check_one`)."""
    addr = checksum_address(address)
    low = addr.lower()
    n = len(_PERK_COLUMNS)
    brands = reader.memo.get(("perk-brands", perk_id))
    for _ in range(3):
        token = pass_ = ppass = "-"
        if brands is not None:
            perk_hint: dict[str, Any] = {"brand_id": brands[0], "partner_brand_id": brands[1]}
            _, token, pass_, ppass, _ = _keys(deployment, perk_hint | {"id": perk_id}, addr)
        row = reader.one(_CHECK_SQL, (low, token, low, pass_, low, ppass, low, low, perk_id))
        if row is None:
            raise PerkNotFound(perk_id)
        perk = dict(zip(_PERK_COLUMNS, row[:n], strict=True))
        read = (perk["brand_id"], perk["partner_brand_id"])
        if read == brands:
            for name in _BOOLEAN_COLUMNS:
                perk[name] = bool(perk[name])
            return perk, _decide(perk, addr, row[n], tuple(row[n + 1 :]))
        brands = reader.memo[("perk-brands", perk_id)] = read
    raise ReaderBusy("the perk changed brands while it was read")


_PERK_USE_SQL = f"""
    SELECT {", ".join("k." + c for c in _PERK_COLUMNS)}, u.used
    FROM perk k LEFT JOIN perk_usage u ON u.perk_id = k.id AND u.member = ?
    WHERE k.id = ?
"""


def perk_and_use_sqlite(
    *, reader: SqliteReader, perk_id: int, address: str
) -> tuple[dict[str, Any], int]:
    """A perk and how often `address` used it, through the plain reader (strict checks)."""
    row = reader.one(_PERK_USE_SQL, (checksum_address(address).lower(), perk_id))
    if row is None:
        raise PerkNotFound(perk_id)
    perk = dict(zip(_PERK_COLUMNS, row, strict=False))
    for name in _BOOLEAN_COLUMNS:
        perk[name] = bool(perk[name])
    return perk, int(row[-1] or 0)


def strict_one(
    *, client: rpc.JsonRpc, deployment: Deployment, perk: dict[str, Any], address: str, used: int
) -> Eligibility:
    """One address's eligibility from the chain at its head (`used`: the perk's usage)."""
    addr = checksum_address(address)
    program = deployment.program(perk["brand_id"])
    partner = deployment.program(perk["partner_brand_id"]) if perk["partner_brand_id"] else None
    held, at = chain_state(
        client=client, deployment=deployment, program=program, partner=partner, addresses=[addr]
    )
    return _strict_answer(perk, addr, held[addr.lower()], at, used)


def _strict_answer(perk: dict[str, Any], addr: str, h: Holding, at: Head, used: int) -> Eligibility:
    """The strict answer for holdings `h` read at head `at`."""
    h.used = used
    reasons = judge(perk, h, now=at.time)
    return Eligibility(
        perk_id=perk["id"],
        address=addr,
        eligible=not reasons,
        reasons=reasons,
        as_of_block=at.number,
        strict=True,
        balance=h.balance,
    )


async def strict_one_async(
    *,
    heads: rpc.AsyncJsonRpc,
    client: rpc.JsonRpc,
    deployment: Deployment,
    perk: dict[str, Any],
    address: str,
    used: int,
) -> Eligibility:
    """`strict_one` on the event loop: the head from the loop's coalescing watch, the holdings
    from memory when this head was read before, else read in a thread."""
    addr = checksum_address(address)
    program = deployment.program(perk["brand_id"])
    partner = deployment.program(perk["partner_brand_id"]) if perk["partner_brand_id"] else None
    at = await head_watch(heads).head()
    h = remembered(deployment=deployment, program=program, partner=partner, at=at, address=addr)
    if h is None:
        held, _ = await asyncio.to_thread(
            chain_state,
            client=client,
            deployment=deployment,
            program=program,
            partner=partner,
            addresses=[addr],
            at=at,
        )
        h = held[addr.lower()]
    return _strict_answer(perk, addr, h, at, used)


def eligibility(
    *,
    engine: Engine,
    deployment: Deployment,
    perk: dict[str, Any],
    addresses: Sequence[str],
    w3: Web3 | None = None,
    strict: bool = False,
) -> list[Eligibility]:
    """Eligibility of each address for `perk`, from the mirror (or the chain when strict)."""
    addrs = [checksum_address(a) for a in addresses]
    program = deployment.program(perk["brand_id"])
    partner = deployment.program(perk["partner_brand_id"]) if perk["partner_brand_id"] else None
    if strict:
        if w3 is None:
            raise InvalidInput("strict mode needs a chain connection")
        held, at, now = chain_holdings(
            w3=w3,
            deployment=deployment,
            perk=perk,
            program=program,
            partner=partner,
            engine=engine,
            addresses=addrs,
        )
    else:
        now = _now()
        with engine.connect() as conn:
            cp = checkpoint(conn)
            if cp is None:
                raise MirrorNotReady()
            at = cp
            held = mirror_holdings(
                conn, perk=perk, program=program, partner=partner, addresses=addrs, now=now
            )
    out = []
    for a in addrs:
        h = held[a.lower()]
        reasons = judge(perk, h, now=now)
        out.append(
            Eligibility(
                perk_id=perk["id"],
                address=a,
                eligible=not reasons,
                reasons=reasons,
                as_of_block=at,
                strict=strict,
                balance=h.balance,
            )
        )
    return out


def eligible_perks(
    *, engine: Engine, deployment: Deployment, address: str, brand_ids: Iterable[str]
) -> list[tuple[dict[str, Any], Eligibility]]:
    """Every active perk of `brand_ids` with `address`'s eligibility (mirror)."""
    out = []
    for bid in brand_ids:
        for perk in list_perks(engine=engine, brand_id=bid, active_only=True):
            [e] = eligibility(engine=engine, deployment=deployment, perk=perk, addresses=[address])
            out.append((perk, e))
    return out
