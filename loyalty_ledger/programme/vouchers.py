"""Vouchers: a confirmed perk redemption as a short code (and its QR) that the brand's cashier
checks and uses once, at that brand only, before it expires; and each brand's member settings
(the step-up threshold of gifts, how long a voucher is valid)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.errors import InvalidInput, LedgerError
from loyalty_ledger.store.customers import BrandMemberSetting, Voucher
from loyalty_ledger.store.offchain import PerkRow, table

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud at a till
DEFAULT_VOUCHER_TTL = 30 * 86_400


class VoucherProblem(LedgerError):
    """A voucher that cannot be used (HTTP 409): used, expired, or another brand's."""

    def __init__(self, code: str, message: str, voucher: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]
        self.voucher = voucher


class UnknownVoucher(LedgerError):
    """No such voucher (HTTP 404)."""

    code = "unknown_voucher"


def normalise_code(text: str) -> str:
    """A code as typed: upper-case, without spaces or dashes; InvalidInput when malformed."""
    raw = "".join(text.split()).replace("-", "").upper() if isinstance(text, str) else ""
    if len(raw) != 8 or any(c not in CODE_ALPHABET for c in raw):
        raise InvalidInput("a voucher code is 8 letters and digits, e.g. 7KQ4-X9MP")
    return raw


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def settings_of(engine: Engine, brand_id: str, default_step_up: int) -> dict[str, int]:
    t = table(BrandMemberSetting)
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.brand_id == brand_id)).mappings().first()
    if row is None:
        return {"step_up_above": default_step_up, "voucher_ttl": DEFAULT_VOUCHER_TTL}
    return {"step_up_above": row["step_up_above"], "voucher_ttl": row["voucher_ttl"]}


def set_settings(*, engine: Engine, brand_id: str, step_up_above: int, voucher_ttl: int) -> None:
    t = table(BrandMemberSetting)
    values = {
        "step_up_above": step_up_above,
        "voucher_ttl": voucher_ttl,
        "updated_at": int(time.time()),
    }
    with engine.begin() as conn:
        if conn.execute(update(t).where(t.c.brand_id == brand_id).values(**values)).rowcount == 0:
            conn.execute(insert(t).values(brand_id=brand_id, **values))


def issue(*, engine: Engine, redemption: dict[str, Any], ttl: int) -> dict[str, Any]:
    """The voucher of a confirmed redemption (the same one when asked again)."""
    t = table(Voucher)
    now = int(time.time())
    for _ in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(t).values(
                        code=code,
                        brand_id=redemption["brand_id"],
                        perk_id=redemption["perk_id"],
                        redemption_id=redemption["id"],
                        member=redemption["member"],
                        created_at=now,
                        expires_at=now + ttl,
                    )
                )
            break
        except IntegrityError:
            pass  # the redemption has its voucher already, or (rarely) the code is taken
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.redemption_id == redemption["id"])).mappings().one()
    return view(engine, dict(row))


def view(engine: Engine, row: dict[str, Any], now: int | None = None) -> dict[str, Any]:
    """A voucher as people read it: the code with a dash, the perk's name, its state."""
    now = now or int(time.time())
    p = table(PerkRow)
    with engine.connect() as conn:
        name = conn.execute(select(p.c.name).where(p.c.id == row["perk_id"])).scalar()
    state = "used" if row["used_at"] else ("expired" if row["expires_at"] <= now else "open")
    keep = ("brand_id", "perk_id", "member", "created_at", "expires_at", "used_at")
    return {
        "code": shown(row["code"]),
        "perk_name": name,
        "state": state,
        **{k: row[k] for k in keep},
    }


def of_member(engine: Engine, member: str) -> list[dict[str, Any]]:
    t = table(Voucher)
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.member == member).order_by(t.c.created_at.desc()))
        found = [dict(r) for r in rows.mappings()]
    return [view(engine, r) for r in found]


def get(engine: Engine, code: str) -> dict[str, Any]:
    t = table(Voucher)
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.code == normalise_code(code))).mappings().first()
    if row is None:
        raise UnknownVoucher(f"no voucher {code}")
    return dict(row)


def check(engine: Engine, brand_id: str, code: str) -> dict[str, Any]:
    """The voucher as the brand's cashier sees it; VoucherProblem names why it cannot be used."""
    row = get(engine, code)
    if row["brand_id"] != brand_id:
        raise VoucherProblem(
            "voucher_other_brand", f"voucher {shown(row['code'])} is not for {brand_id}"
        )
    v = view(engine, row)
    if v["state"] == "used":
        raise VoucherProblem("voucher_used", f"voucher {v['code']} was used already", v)
    if v["state"] == "expired":
        raise VoucherProblem("voucher_expired", f"voucher {v['code']} has expired", v)
    return v


def use(*, engine: Engine, brand_id: str, code: str, cashier: str) -> dict[str, Any]:
    """Use a voucher once (atomically: two tills cannot both use it)."""
    check(engine, brand_id, code)
    t, now = table(Voucher), int(time.time())
    raw = normalise_code(code)
    with engine.begin() as conn:
        res = conn.execute(
            update(t)
            .where(
                t.c.code == raw,
                t.c.brand_id == brand_id,
                t.c.used_at.is_(None),
                t.c.expires_at > now,
            )
            .values(used_at=now, used_by=cashier[:32])
        )
    if res.rowcount != 1:
        check(engine, brand_id, code)  # raises why (used meanwhile, or just expired)
    return view(engine, get(engine, code))
