"""Perk eligibility: from the SQL mirror (true as of the block it names) or, in strict mode,
from the chain at one block.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_utils import keccak
from sqlalchemy import Connection, Engine, select, text
from web3 import Web3
from web3.types import RPCEndpoint

from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.errors import (
    ContractRevert,
    InvalidInput,
    NodeUnreachable,
)
from loyalty_ledger.programme.perks.catalogue import (
    T_BAL,
    T_MEMBER,
    T_PASS,
    T_PERK,
    T_STATE,
    T_USAGE,
    MirrorNotReady,
    PerkNotFound,
    Reason,
    _now,
    list_perks,
)
from loyalty_ledger.validate import checksum_address


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
