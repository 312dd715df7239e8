"""Perks: definitions (SQL), eligibility from the mirror or the chain, and safe redemption.

Eligibility reads the SQL mirror and says the block it is true as of; strict mode reads the
chain at one block. A redemption reserves stock, the member's per-perk count and the points
with atomic conditional UPDATEs before the burn is relayed, and releases them if it fails, so
concurrent requests can never exceed stock or limit nor spend the same points twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_utils import keccak
from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from web3 import Web3
from web3.types import RPCEndpoint

from . import ledger
from .chain import Receipt, Sender
from .consent import Expected, expect_call, forward_request, permit, relay
from .deploy import Deployment, Program
from .errors import ContractRevert, InvalidInput, LedgerError, NodeUnreachable, UnknownProgram
from .store.models import Balance, IndexerState, Member, Pass
from .store.offchain import PerkRow, PerkUsage, PointHold, Redemption, table
from .validate import checksum_address

PERK_FIELDS = (
    "name",
    "description",
    "min_points",
    "min_tier",
    "active_pass_required",
    "partner_brand_id",
    "point_cost",
    "per_member_limit",
    "total_stock",
    "valid_from",
    "valid_until",
    "active",
)

T_PERK, T_USAGE, T_HOLD, T_RED = (
    table(PerkRow),
    table(PerkUsage),
    table(PointHold),
    table(Redemption),
)
T_BAL, T_PASS, T_MEMBER, T_STATE = (
    Balance.__table__,  # type: ignore[attr-defined]
    Pass.__table__,  # type: ignore[attr-defined]
    Member.__table__,  # type: ignore[attr-defined]
    IndexerState.__table__,  # type: ignore[attr-defined]
)


# --- errors ----------------------------------------------------------------------------------


class PerkNotFound(LedgerError):
    code = "perk_not_found"

    def __init__(self, perk_id: int) -> None:
        super().__init__(f"no perk {perk_id}")
        self.perk_id = perk_id


class PerkExists(LedgerError):
    code = "perk_exists"


class NotEligible(LedgerError):
    code = "not_eligible"

    def __init__(self, reasons: Sequence[Reason]) -> None:
        super().__init__("not eligible: " + "; ".join(r.detail for r in reasons))
        self.reasons = list(reasons)


class OutOfStock(LedgerError):
    code = "out_of_stock"

    def __init__(self, perk_id: int) -> None:
        super().__init__(f"perk {perk_id} is out of stock")


class LimitReached(LedgerError):
    code = "limit_reached"

    def __init__(self, perk_id: int, limit: int) -> None:
        super().__init__(f"the member has redeemed perk {perk_id} {limit} times already")


class PointsHeld(LedgerError):
    code = "points_held"

    def __init__(self, member: str) -> None:
        super().__init__(f"{member}'s points are held by redemptions in flight; try again")


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"


class MirrorNotReady(LedgerError):
    code = "mirror_not_ready"

    def __init__(self) -> None:
        super().__init__("the SQL mirror has not indexed the network yet")


# --- definitions -----------------------------------------------------------------------------


def _now() -> int:
    return int(time.time())


def _check_definition(values: dict[str, Any], deployment: Deployment) -> None:
    for name in ("min_points", "point_cost"):
        if name in values and (values[name] is None or values[name] < 0):
            raise InvalidInput(f"{name} must be a whole number >= 0")
    for name in ("per_member_limit", "total_stock"):
        if values.get(name) is not None and values[name] < 0:
            raise InvalidInput(f"{name} must be >= 0 (or null for no limit)")
    if values.get("min_tier") is not None and values["min_tier"] < 0:
        raise InvalidInput("min_tier must be >= 0")
    partner = values.get("partner_brand_id")
    if partner is not None:
        deployment.program(partner)  # UnknownProgram when the partner does not exist
    vf, vu = values.get("valid_from"), values.get("valid_until")
    if vf is not None and vu is not None and vu <= vf:
        raise InvalidInput("valid_until must be after valid_from")


def create_perk(
    *, engine: Engine, deployment: Deployment, brand_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Define a perk for `brand_id` (its program must exist)."""
    deployment.program(brand_id)
    values = {k: v for k, v in values.items() if k in PERK_FIELDS}
    _check_definition(values, deployment)
    try:
        with engine.begin() as conn:
            pid = conn.execute(
                insert(T_PERK).values(brand_id=brand_id, created_at=_now(), **values)
            ).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError:
        raise PerkExists(f"brand {brand_id} has a perk named {values.get('name')!r}") from None
    return get_perk(engine=engine, perk_id=int(pid))


def get_perk(*, engine: Engine, perk_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(T_PERK).where(T_PERK.c.id == perk_id)).mappings().first()
    if row is None:
        raise PerkNotFound(perk_id)
    return dict(row)


def list_perks(*, engine: Engine, brand_id: str, active_only: bool = False) -> list[dict[str, Any]]:
    q = select(T_PERK).where(T_PERK.c.brand_id == brand_id).order_by(T_PERK.c.id)
    if active_only:
        q = q.where(T_PERK.c.active.is_(True))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def update_perk(
    *, engine: Engine, deployment: Deployment, perk_id: int, values: dict[str, Any]
) -> dict[str, Any]:
    values = {k: v for k, v in values.items() if k in PERK_FIELDS}
    merged = {**get_perk(engine=engine, perk_id=perk_id), **values}
    _check_definition(merged, deployment)
    if values:
        try:
            with engine.begin() as conn:
                conn.execute(update(T_PERK).where(T_PERK.c.id == perk_id).values(**values))
        except IntegrityError:
            raise PerkExists(f"a perk named {values.get('name')!r} exists") from None
    return get_perk(engine=engine, perk_id=perk_id)


def deactivate_perk(*, engine: Engine, perk_id: int) -> dict[str, Any]:
    """Perks are never deleted (redemptions refer to them): they are switched off."""
    get_perk(engine=engine, perk_id=perk_id)
    with engine.begin() as conn:
        conn.execute(update(T_PERK).where(T_PERK.c.id == perk_id).values(active=False))
    return get_perk(engine=engine, perk_id=perk_id)


# --- eligibility -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str


@dataclass
class Holding:
    """What eligibility needs to know about one address."""

    registered: bool = False
    frozen: bool = False
    balance: int = 0
    pass_tier: int | None = None
    pass_expires_at: int = 0
    partner_pass: bool = False  # holds an active pass of the partner brand
    used: int = 0


@dataclass
class Eligibility:
    perk_id: int
    address: str
    eligible: bool
    reasons: list[Reason] = field(default_factory=list)
    as_of_block: int | None = None
    strict: bool = False
    balance: int = 0


def _active(expires_at: int, now: int) -> bool:
    return expires_at == 0 or expires_at > now


def judge(perk: dict[str, Any], h: Holding, *, now: int) -> list[Reason]:
    """Every reason `h` cannot redeem `perk` now (pure; empty when eligible)."""
    out: list[Reason] = []
    if not perk["active"]:
        out.append(Reason("perk_inactive", "the perk is switched off"))
    if perk["valid_from"] is not None and now < perk["valid_from"]:
        out.append(Reason("not_started", f"the perk starts at {perk['valid_from']}"))
    if perk["valid_until"] is not None and now >= perk["valid_until"]:
        out.append(Reason("ended", f"the perk ended at {perk['valid_until']}"))
    if perk["total_stock"] is not None and perk["redeemed_count"] >= perk["total_stock"]:
        out.append(Reason("out_of_stock", "no stock left"))
    if perk["per_member_limit"] is not None and h.used >= perk["per_member_limit"]:
        out.append(Reason("limit_reached", f"redeemed {h.used} of {perk['per_member_limit']}"))
    if not h.registered:
        out.append(Reason("not_a_member", "the address is not a registered member"))
    if h.frozen:
        out.append(Reason("account_frozen", "the account is frozen"))
    needed = max(perk["min_points"], perk["point_cost"])
    if h.balance < needed:
        out.append(Reason("insufficient_points", f"holds {h.balance} points, needs {needed}"))
    has_pass = h.pass_tier is not None
    active = has_pass and _active(h.pass_expires_at, now)
    if (perk["active_pass_required"] or perk["min_tier"] is not None) and not has_pass:
        out.append(Reason("no_pass", "holds no membership pass"))
    elif perk["active_pass_required"] and not active:
        out.append(Reason("pass_expired", f"the pass expired at {h.pass_expires_at}"))
    if perk["min_tier"] is not None and has_pass and (h.pass_tier or 0) < perk["min_tier"]:
        out.append(Reason("tier_too_low", f"tier {h.pass_tier}, needs {perk['min_tier']}"))
    if perk["partner_brand_id"] is not None and not h.partner_pass:
        out.append(
            Reason("no_partner_pass", f"needs an active pass of brand {perk['partner_brand_id']}")
        )
    return out


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
            out[owner].partner_pass = _active(int(expires), now)
    if perk["per_member_limit"] is not None:
        for member, used in conn.execute(
            select(T_USAGE.c.member, T_USAGE.c.used).where(
                T_USAGE.c.perk_id == perk["id"], T_USAGE.c.member.in_(low)
            )
        ):
            out[member].used = int(used)
    return out


_SEL = {
    name: keccak(text=sig)[:4]
    for name, sig in {
        "isMember": "isMember(address)",
        "isFrozen": "isFrozen(address)",
        "balanceOf": "balanceOf(address)",
        "passOf": "passOf(address)",
        "isActive": "isActive(address)",
        "passInfo": "passInfo(uint256)",
    }.items()
}


def _batch_calls(w3: Web3, at: int, calls: list[tuple[str, str, int | str]]) -> list[bytes]:
    """eth_calls at block `at` in ONE JSON-RPC batch: (contract, function, one argument)."""
    if not calls:
        return []
    reqs = []
    for to, fn, arg in calls:
        word = int(arg, 16) if isinstance(arg, str) else arg
        data = "0x" + (_SEL[fn] + word.to_bytes(32, "big")).hex()
        reqs.append((RPCEndpoint("eth_call"), [{"to": to, "data": data}, hex(at)]))
    try:
        out = w3.provider.make_batch_request(reqs)  # type: ignore[attr-defined]
    except requests.RequestException as exc:
        raise NodeUnreachable(str(getattr(w3.provider, "endpoint_uri", "node")), str(exc)) from None
    if not isinstance(out, list):
        raise ContractRevert(f"batch call failed: {out.get('error')}")
    by_id = sorted(out, key=lambda r: int(r["id"]))
    results = []
    for r in by_id:
        if "error" in r:
            raise ContractRevert(f"eth_call failed: {r['error']}")
        results.append(bytes.fromhex(str(r["result"])[2:]))
    return results


def _word(raw: bytes, i: int = 0) -> int:
    return int.from_bytes(raw[32 * i : 32 * (i + 1)], "big")


def chain_holdings(
    *,
    w3: Web3,
    deployment: Deployment,
    perk: dict[str, Any],
    program: Program,
    partner: Program | None,
    engine: Engine,
    addresses: Sequence[str],
) -> tuple[dict[str, Holding], int, int]:
    """Holdings read from the chain at one block: (holdings, block number, block time).

    Three round trips for any number of addresses: the head, one batch of reads at that
    block, one batch for the pass details of the holders.
    """
    block = w3.eth.get_block("latest")
    at, now = int(block["number"]), int(block["timestamp"])
    addrs = [checksum_address(a) for a in addresses]
    reg, pts, pas = deployment.registry, program.points, program.pass_
    per = 5 if partner is not None else 4
    calls: list[tuple[str, str, int | str]] = []
    for a in addrs:
        calls += [(reg, "isMember", a), (reg, "isFrozen", a), (pts, "balanceOf", a)]
        calls.append((pas, "passOf", a))
        if partner is not None:
            calls.append((partner.pass_, "isActive", a))
    res = _batch_calls(w3, at, calls)
    out: dict[str, Holding] = {}
    token_ids: dict[str, int] = {}
    for i, a in enumerate(addrs):
        r = res[i * per : (i + 1) * per]
        h = Holding(registered=bool(_word(r[0])), frozen=bool(_word(r[1])), balance=_word(r[2]))
        if partner is not None:
            h.partner_pass = bool(_word(r[4]))
        if _word(r[3]):
            token_ids[a] = _word(r[3])
        out[a.lower()] = h
    holders = list(token_ids)
    infos = _batch_calls(w3, at, [(pas, "passInfo", token_ids[a]) for a in holders])
    for holder, raw in zip(holders, infos, strict=True):
        h = out[holder.lower()]
        h.pass_tier, h.pass_expires_at = _word(raw, 1), _word(raw, 2)
    if perk["per_member_limit"] is not None:
        with engine.connect() as conn:
            for member, used in conn.execute(
                select(T_USAGE.c.member, T_USAGE.c.used).where(
                    T_USAGE.c.perk_id == perk["id"], T_USAGE.c.member.in_(list(out))
                )
            ):
                out[member].used = int(used)
    return out, at, now


_ONE = text(
    """
    SELECT (SELECT checkpoint_block FROM indexer_state WHERE id = 1) AS checkpoint,
           m.registered, m.frozen, b.amount, p.tier, p.expires_at, pp.expires_at AS partner_exp,
           u.used
    FROM (SELECT :addr AS addr) x
    LEFT JOIN member m ON m.address = x.addr
    LEFT JOIN balance b ON b.token = :token AND b.holder = x.addr
    LEFT JOIN pass p ON p.contract = :pass AND p.owner = x.addr
    LEFT JOIN pass pp ON pp.contract = :ppass AND pp.owner = x.addr
    LEFT JOIN perk_usage u ON u.perk_id = :pid AND u.member = x.addr
    """
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
        program = deployment.program(perk["brand_id"])
        partner = deployment.program(perk["partner_brand_id"]) if perk["partner_brand_id"] else None
        r = conn.execute(
            _ONE,
            {
                "addr": addr.lower(),
                "token": program.points.lower(),
                "pass": program.pass_.lower(),
                "ppass": partner.pass_.lower() if partner else "-",
                "pid": perk_id,
            },
        ).one()
    if r.checkpoint is None:
        raise MirrorNotReady()
    now = _now()
    h = Holding(
        registered=bool(r.registered),
        frozen=bool(r.frozen),
        balance=int(r.amount or 0),
        pass_tier=None if r.tier is None else int(r.tier),
        pass_expires_at=int(r.expires_at or 0),
        partner_pass=r.partner_exp is not None and _active(int(r.partner_exp), now),
        used=int(r.used or 0),
    )
    reasons = judge(perk, h, now=now)
    return perk, Eligibility(
        perk_id=perk_id,
        address=addr,
        eligible=not reasons,
        reasons=reasons,
        as_of_block=int(r.checkpoint),
        balance=h.balance,
    )


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


# --- redemption ------------------------------------------------------------------------------


def redemption_ref(perk_id: int) -> str:
    """The on-chain reference of a perk's burns (the mirror groups redemptions by it)."""
    return f"perk:{perk_id}"


def redeem_call(*, w3: Web3, program: Program, perk: dict[str, Any]) -> Any:
    return ledger.redeem_call(
        w3=w3, program=program, amount=perk["point_cost"], ref=redemption_ref(perk["id"])
    )


def _upsert_zero(conn: Connection, tbl: Any, **key: Any) -> None:
    """INSERT … ON CONFLICT DO NOTHING (SQLite >= 3.24 and PostgreSQL)."""
    cols = ", ".join(key)
    params = ", ".join(f":{k}" for k in key)
    conn.execute(
        text(f"INSERT INTO {tbl.name} ({cols}) VALUES ({params}) ON CONFLICT DO NOTHING"), key
    )


@dataclass
class RedeemOutcome:
    redemption: dict[str, Any]
    replayed: bool = False  # True when the Idempotency-Key matched an earlier request


def _get_redemption(engine: Engine, member: str, key: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(select(T_RED).where(T_RED.c.member == member, T_RED.c.idem_key == key))
            .mappings()
            .first()
        )
    return dict(row) if row else None


def _claim(engine: Engine, perk: dict[str, Any], member: str, key: str, method: str) -> int | None:
    """Insert (or revive a failed) redemption row; None when the key is taken already."""
    values = {
        "perk_id": perk["id"],
        "brand_id": perk["brand_id"],
        "member": member,
        "idem_key": key,
        "points": perk["point_cost"],
        "method": method,
        "status": "pending",
        "created_at": _now(),
    }
    try:
        with engine.begin() as conn:
            return int(conn.execute(insert(T_RED).values(**values)).inserted_primary_key[0])  # type: ignore[index]
    except IntegrityError:
        pass
    with engine.begin() as conn:  # a failed attempt under the same key may be retried
        res = conn.execute(
            update(T_RED)
            .where(
                T_RED.c.member == member,
                T_RED.c.idem_key == key,
                T_RED.c.status == "failed",
                T_RED.c.perk_id == perk["id"],
            )
            .values(status="pending", error=None, method=method, created_at=_now())
        )
        if res.rowcount != 1:
            return None
        return int(
            conn.execute(
                select(T_RED.c.id).where(T_RED.c.member == member, T_RED.c.idem_key == key)
            ).scalar_one()
        )


def _reserve(
    engine: Engine, perk: dict[str, Any], member: str, token: str, balance: int
) -> list[str]:
    """Take one unit of stock, one use of the member's limit and hold the points, atomically
    each (conditional UPDATEs); returns what was taken, raises (after releasing) when not."""
    taken: list[str] = []
    pid, cost = perk["id"], perk["point_cost"]
    try:
        with engine.begin() as conn:
            res = conn.execute(
                update(T_PERK)
                .where(
                    T_PERK.c.id == pid,
                    T_PERK.c.active.is_(True),
                    or_(
                        T_PERK.c.total_stock.is_(None),
                        T_PERK.c.redeemed_count < T_PERK.c.total_stock,
                    ),
                )
                .values(redeemed_count=T_PERK.c.redeemed_count + 1)
            )
        if res.rowcount != 1:
            raise OutOfStock(pid)
        taken.append("stock")
        if perk["per_member_limit"] is not None:
            with engine.begin() as conn:
                _upsert_zero(conn, T_USAGE, perk_id=pid, member=member, used=0)
                res = conn.execute(
                    update(T_USAGE)
                    .where(
                        T_USAGE.c.perk_id == pid,
                        T_USAGE.c.member == member,
                        T_USAGE.c.used < perk["per_member_limit"],
                    )
                    .values(used=T_USAGE.c.used + 1)
                )
            if res.rowcount != 1:
                raise LimitReached(pid, perk["per_member_limit"])
            taken.append("usage")
        if cost > 0:
            with engine.begin() as conn:
                _upsert_zero(conn, T_HOLD, token=token, member=member, held=0)
                res = conn.execute(
                    update(T_HOLD)
                    .where(
                        T_HOLD.c.token == token,
                        T_HOLD.c.member == member,
                        T_HOLD.c.held + cost <= balance,
                    )
                    .values(held=T_HOLD.c.held + cost)
                )
            if res.rowcount != 1:
                raise PointsHeld(member)
            taken.append("hold")
    except BaseException:
        _release(engine, perk, member, token, taken)
        raise
    return taken


def _release(
    engine: Engine, perk: dict[str, Any], member: str, token: str, taken: Sequence[str]
) -> None:
    pid, cost = perk["id"], perk["point_cost"]
    with engine.begin() as conn:
        if "stock" in taken:
            conn.execute(
                update(T_PERK)
                .where(T_PERK.c.id == pid)
                .values(redeemed_count=T_PERK.c.redeemed_count - 1)
            )
        if "usage" in taken:
            conn.execute(
                update(T_USAGE)
                .where(T_USAGE.c.perk_id == pid, T_USAGE.c.member == member)
                .values(used=T_USAGE.c.used - 1)
            )
        if "hold" in taken:
            _unhold(conn, token, member, cost)


def _unhold(conn: Connection, token: str, member: str, cost: int) -> None:
    conn.execute(
        update(T_HOLD)
        .where(T_HOLD.c.token == token, T_HOLD.c.member == member)
        .values(held=T_HOLD.c.held - cost)
    )
    conn.execute(delete(T_HOLD).where(and_(T_HOLD.c.token == token, T_HOLD.c.held <= 0)))


def redeem(
    *,
    engine: Engine,
    w3: Web3,
    deployment: Deployment,
    perk_id: int,
    member: str,
    idempotency_key: str,
    relayer: Sender,
    brand_sender: Sender | None = None,
    forward: tuple[dict[str, Any], str] | None = None,
    permit_data: tuple[dict[str, Any], str] | None = None,
) -> RedeemOutcome:
    """Redeem `perk_id` for `member` with their signed consent; safe to retry with the same key.

    The consent is a signed ForwardRequest for `redeem(point_cost, "perk:<id>")` (relayed by
    `relayer`) or an ERC-2612 permit for `brand_sender` (a redeemer of the brand). Perks that
    cost no points need no signature.
    """
    member = checksum_address(member)
    if not idempotency_key or len(idempotency_key) > 128:
        raise InvalidInput("an Idempotency-Key of 1 to 128 characters is required")
    perk = get_perk(engine=engine, perk_id=perk_id)
    program = deployment.program(perk["brand_id"])
    token = program.points.lower()
    earlier = _get_redemption(engine, member, idempotency_key)
    if earlier is not None and earlier["status"] != "failed":
        if earlier["perk_id"] != perk_id:
            raise IdempotencyConflict("this Idempotency-Key was used for another perk")
        return RedeemOutcome(earlier, replayed=True)

    method, request, signed_permit = "none", None, None
    cost = perk["point_cost"]
    if cost > 0:
        if forward is not None:
            method, request = "forward", forward_request(*forward)
            call = redeem_call(w3=w3, program=program, perk=perk)
            data = bytes.fromhex(call._encode_transaction_data()[2:])
            expect_call(request, Expected(signer=member, to=program.points, data=data))
        elif permit_data is not None:
            if brand_sender is None:
                raise InvalidInput("permit redemption needs the brand's redeemer key")
            method, signed_permit = "permit", permit(*permit_data)
            if signed_permit.owner != member or signed_permit.value != cost:
                raise InvalidInput(f"the permit must be from {member} for exactly {cost} points")
        else:
            raise InvalidInput("a perk that costs points needs a signed request or permit")

    [elig] = eligibility(engine=engine, deployment=deployment, perk=perk, addresses=[member])
    if not elig.eligible:
        raise NotEligible(elig.reasons)
    rid = _claim(engine, perk, member, idempotency_key, method)
    if rid is None:  # a concurrent request with the same key won
        again = _get_redemption(engine, member, idempotency_key)
        if again is None or again["perk_id"] != perk_id:
            raise IdempotencyConflict("this Idempotency-Key was used for another perk")
        return RedeemOutcome(again, replayed=True)
    try:
        taken = _reserve(engine, perk, member.lower(), token, elig.balance)
    except LedgerError as err:
        _finish(engine, rid, status="failed", error=err.message)
        raise
    try:
        receipt: Receipt | None = None
        if request is not None:
            receipt = relay(relayer=relayer, deployment=deployment, request=request)
        elif signed_permit is not None:
            assert brand_sender is not None
            receipt = ledger.redeem_with_permit(
                sender=brand_sender,
                program=program,
                permit=signed_permit,
                ref=redemption_ref(perk_id),
            )
    except BaseException as err:
        _release(engine, perk, member.lower(), token, taken)
        _finish(engine, rid, status="failed", error=str(err)[:500])
        raise
    # Stock and usage stay taken; the hold goes (the burn is on chain now).
    with engine.begin() as conn:
        if "hold" in taken:
            _unhold(conn, token, member.lower(), cost)
    _finish(
        engine,
        rid,
        status="confirmed",
        tx_hash=receipt.tx_hash if receipt else None,
        block_number=receipt.block_number if receipt else None,
    )
    return RedeemOutcome(_get_redemption(engine, member, idempotency_key) or {})


def _finish(engine: Engine, rid: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(T_RED).where(T_RED.c.id == rid).values(**values))


def list_redemptions(
    *, engine: Engine, brand_id: str, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """A brand's redemptions, newest first."""
    q = select(T_RED).where(T_RED.c.brand_id == brand_id)
    if before_id is not None:
        q = q.where(T_RED.c.id < before_id)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(T_RED.c.id.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]


__all__ = [
    "IdempotencyConflict",
    "LimitReached",
    "MirrorNotReady",
    "NotEligible",
    "OutOfStock",
    "PerkExists",
    "PerkNotFound",
    "PointsHeld",
    "UnknownProgram",
    "create_perk",
    "deactivate_perk",
    "eligibility",
    "eligible_perks",
    "get_perk",
    "list_perks",
    "list_redemptions",
    "redeem",
    "update_perk",
]
