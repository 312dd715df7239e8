"""Managed keys: each member's signing key sealed with AES-256-GCM (`cryptography`'s AESGCM,
96-bit random nonce, the member's address as associated data) under a key-encryption key
(KEK) that never enters the database.

The KEK comes from LOYALTY_KEY_ENCRYPTION_KEY, else from `<data_dir>/kek` (0600), created on
first run only while no key is sealed. Each sealed key records the KEK's fingerprint, so a
missing or wrong KEK stops the start with a clear error before anything is rewritten.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, func, select, update

from loyalty_ledger.config import Settings
from loyalty_ledger.errors import ConfigError
from loyalty_ledger.store.customers import MemberAccount
from loyalty_ledger.store.offchain import table

SEAL_VERSION = "v1"


@dataclass(frozen=True, repr=False)
class Kek:
    """A key-encryption key and its fingerprint (the key itself is never printed)."""

    key: bytes
    kek_id: str
    source: str

    def __repr__(self) -> str:
        return f"Kek(kek_id={self.kek_id!r}, source={self.source!r})"


def kek_from_bytes(key: bytes, source: str) -> Kek:
    if len(key) != 32:
        raise ConfigError(f"the key-encryption key from {source} must be 32 bytes (64 hex)")
    fingerprint = hashlib.sha256(b"loyalty-ledger kek\0" + key).hexdigest()[:16]
    return Kek(key=key, kek_id=fingerprint, source=source)


def _parse_hex(text: str, source: str) -> bytes:
    try:
        return bytes.fromhex(text.strip().removeprefix("0x"))
    except ValueError:
        raise ConfigError(f"the key-encryption key from {source} is not hex") from None


def kek_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "kek"


def _sealed_ids(engine: Engine) -> dict[str, int]:
    t = table(MemberAccount)
    q = select(t.c.kek_id, func.count()).where(t.c.sealed_key.is_not(None)).group_by(t.c.kek_id)
    with engine.connect() as conn:
        return {str(k): int(n) for k, n in conn.execute(q).all()}


def sealed_keys(engine: Engine) -> int:
    """How many managed keys are sealed (0 before the tables exist)."""
    from sqlalchemy import inspect

    if not inspect(engine).has_table(MemberAccount.__tablename__):
        return 0
    return sum(_sealed_ids(engine).values())


def load_kek(settings: Settings, engine: Engine) -> Kek:
    """The KEK, checked against every sealed key; ConfigError when missing or wrong."""
    sealed = _sealed_ids(engine)
    path = kek_path(settings)
    if settings.key_encryption_key is not None:
        secret = settings.key_encryption_key.get_secret_value()
        kek = kek_from_bytes(_parse_hex(secret, "LOYALTY_KEY_ENCRYPTION_KEY"), "the environment")
    elif path.exists():
        kek = kek_from_bytes(_parse_hex(path.read_text(), str(path)), str(path))
    elif sealed:
        raise ConfigError(
            f"no key-encryption key, but {sum(sealed.values())} member keys are sealed: set "
            f"LOYALTY_KEY_ENCRYPTION_KEY or restore {path} (nothing was changed)"
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        kek = kek_from_bytes(_parse_hex(path.read_text(), str(path)), str(path))
    wrong = {k: n for k, n in sealed.items() if k != kek.kek_id}
    if wrong:
        raise ConfigError(
            f"wrong key-encryption key from {kek.source}: {sum(wrong.values())} member keys "
            f"were sealed under KEK {', '.join(sorted(wrong))}, this one is {kek.kek_id} "
            "(nothing was changed)"
        )
    return kek


def seal(kek: Kek, address: str, private_key: bytes) -> str:
    """`private_key` sealed for `address`: 'v1.' + base64(nonce | ciphertext+tag)."""
    nonce = secrets.token_bytes(12)
    box = AESGCM(kek.key).encrypt(nonce, private_key, address.encode())
    return f"{SEAL_VERSION}.{base64.b64encode(nonce + box).decode()}"


def unseal(kek: Kek, address: str, sealed: str) -> LocalAccount:
    """The member's account; ConfigError (never the key) when it does not open."""
    version, _, body = sealed.partition(".")
    try:
        if version != SEAL_VERSION:
            raise ValueError(version)
        raw = base64.b64decode(body, validate=True)
        key = AESGCM(kek.key).decrypt(raw[:12], raw[12:], address.encode())
    except (InvalidTag, ValueError):
        raise ConfigError(f"the sealed key of {address} does not open with this KEK") from None
    acct: LocalAccount = Account.from_key(key)
    if acct.address != address:
        raise ConfigError(f"the sealed key of {address} belongs to another address")
    return acct


def new_sealed_account(kek: Kek) -> tuple[str, str]:
    """A fresh signing key: (address, sealed key)."""
    acct: LocalAccount = Account.create()
    return acct.address, seal(kek, acct.address, bytes(acct.key))


def reseal_all(engine: Engine, old: Kek, new: Kek) -> int:
    """Re-seal every managed key from `old` to `new` in one transaction; how many."""
    t = table(MemberAccount)
    done = 0
    with engine.begin() as conn:
        rows = conn.execute(
            select(t.c.member_id, t.c.address, t.c.sealed_key).where(t.c.sealed_key.is_not(None))
        ).all()
        for member_id, address, sealed in rows:
            acct = unseal(old, address, sealed)
            conn.execute(
                update(t)
                .where(t.c.member_id == member_id)
                .values(sealed_key=seal(new, address, bytes(acct.key)), kek_id=new.kek_id)
            )
            done += 1
    return done


def rotate(settings: Settings, engine: Engine, new_key: bytes | None = None) -> tuple[int, Kek]:
    """Re-seal every managed key under a new KEK; (how many, the new KEK).

    With the KEK in a file, a random new one is written beside it first (`kek.new`, 0600),
    the keys are re-sealed in one transaction, then the file is replaced. With the KEK in the
    environment, pass the new key; set LOYALTY_KEY_ENCRYPTION_KEY to it afterwards.
    """
    old = load_kek(settings, engine)
    path = kek_path(settings)
    from_env = settings.key_encryption_key is not None
    if new_key is None and from_env:
        raise ConfigError(
            "the KEK comes from LOYALTY_KEY_ENCRYPTION_KEY: pass the new key (--new-key-file), "
            "then set the variable to it"
        )
    fresh = new_key if new_key is not None else secrets.token_bytes(32)
    new = kek_from_bytes(fresh, "the new key")
    staged = path.with_name("kek.new")
    if not from_env:
        staged.unlink(missing_ok=True)
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(fresh.hex() + "\n")
    count = reseal_all(engine, old, new)
    if not from_env:
        os.replace(staged, path)
    return count, new
