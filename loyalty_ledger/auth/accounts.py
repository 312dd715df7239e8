"""Member accounts without a wallet: a short member id (the member card), an email and/or
passkeys, and a managed signing key sealed under the KEK (`custody`)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.auth import custody
from loyalty_ledger.auth.principal import Forbidden
from loyalty_ledger.errors import InvalidInput, LedgerError
from loyalty_ledger.store.customers import MemberAccount, MemberSession
from loyalty_ledger.store.offchain import table
from loyalty_ledger.validate import checksum_address

ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
PUBLIC = ("member_id", "email", "address", "created_at", "moved_at")


class UnknownMember(LedgerError):
    """No member with this id (HTTP 404)."""

    code = "unknown_member"


def new_member_id() -> str:
    """'M' and 8 characters that read aloud and type without confusion (40 bits)."""
    return "M" + "".join(secrets.choice(ID_ALPHABET) for _ in range(8))


def normalise_member_id(text: str) -> str:
    """A member id as typed or scanned: upper-case, O→0, I/L→1; InvalidInput otherwise."""
    raw = text.strip().upper().replace("-", "") if isinstance(text, str) else ""
    fixed = raw[:1] + raw[1:].replace("O", "0").replace("I", "1").replace("L", "1")
    if len(fixed) != 9 or fixed[0] != "M" or any(c not in ID_ALPHABET for c in fixed[1:]):
        raise InvalidInput("a member id is M and 8 letters or digits, e.g. M7K3Q9XA2")
    return fixed


def _one(engine: Engine, where: Any) -> dict[str, Any] | None:
    t = table(MemberAccount)
    with engine.connect() as conn:
        row = conn.execute(select(t).where(where)).mappings().first()
    return dict(row) if row is not None else None


def by_email(engine: Engine, email: str) -> dict[str, Any] | None:
    return _one(engine, table(MemberAccount).c.email == email)


def by_id(engine: Engine, member_id: str) -> dict[str, Any] | None:
    return _one(engine, table(MemberAccount).c.member_id == member_id)


def by_address(engine: Engine, address: str) -> dict[str, Any] | None:
    return _one(engine, table(MemberAccount).c.address == checksum_address(address))


def address_of(engine: Engine, member_id: str) -> str:
    """The address a member card's id stands for; UnknownMember when none."""
    row = by_id(engine, normalise_member_id(member_id))
    if row is None:
        raise UnknownMember(f"no member {member_id}")
    return str(row["address"])


def member_address(engine: Engine, member: str) -> str:
    """An address as given, or the address of a member id (a scanned member card)."""
    if isinstance(member, str) and member.strip()[:1] in ("M", "m"):
        return address_of(engine, member)
    return member


def public(row: dict[str, Any]) -> dict[str, Any]:
    """What a member sees of their account (never the sealed key)."""
    return {**{k: row[k] for k in PUBLIC}, "managed_key": row["sealed_key"] is not None}


def create_account(
    *, engine: Engine, kek: custody.Kek, email: str | None = None, member_id: str | None = None
) -> dict[str, Any]:
    """A new member with a managed key; the existing one when `email` is taken meanwhile."""
    address, sealed = custody.new_sealed_account(kek)
    row = {
        "member_id": member_id or new_member_id(),
        "email": email,
        "address": address,
        "sealed_key": sealed,
        "kek_id": kek.kek_id,
        "created_at": int(time.time()),
    }
    try:
        with engine.begin() as conn:
            conn.execute(insert(table(MemberAccount)).values(**row))
    except IntegrityError:
        existing = by_email(engine, email) if email else None
        if existing is None:
            raise
        return existing
    return {**row, "moved_at": None}


def adopt(*, engine: Engine, kek: custody.Kek, email: str, private_key: str) -> dict[str, Any]:
    """An account for an existing key (the demo's simulated member), sealed like any managed
    key; the existing account when the email or the address has one."""
    from eth_account import Account

    acct: LocalAccount = Account.from_key(private_key)
    found = by_email(engine, email) or by_address(engine, acct.address)
    if found is not None:
        return found
    row = {
        "member_id": new_member_id(),
        "email": email,
        "address": acct.address,
        "sealed_key": custody.seal(kek, acct.address, bytes(acct.key)),
        "kek_id": kek.kek_id,
        "created_at": int(time.time()),
    }
    with engine.begin() as conn:
        conn.execute(insert(table(MemberAccount)).values(**row))
    return {**row, "moved_at": None}


def signer(*, engine: Engine, kek: custody.Kek, address: str) -> LocalAccount:
    """The managed key of `address` (only ever inside a request authenticated as them)."""
    row = by_address(engine, address)
    if row is None or row["sealed_key"] is None:
        raise Forbidden("this member signs with their own wallet: the server holds no key")
    return custody.unseal(kek, row["address"], row["sealed_key"])


def moved(*, engine: Engine, address: str, new_address: str) -> None:
    """After the registry's recovery: the account follows the member's own wallet, the managed
    key is destroyed, and the sessions of the old address end (sign in with the wallet)."""
    t, sessions = table(MemberAccount), table(MemberSession)
    now = int(time.time())
    with engine.begin() as conn:
        conn.execute(
            update(sessions)
            .where(sessions.c.address == checksum_address(address), sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        conn.execute(
            update(t)
            .where(t.c.address == checksum_address(address))
            .values(
                address=checksum_address(new_address),
                sealed_key=None,
                kek_id=None,
                moved_at=now,
            )
        )
