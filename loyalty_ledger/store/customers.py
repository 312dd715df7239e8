"""Off-chain tables of customers without a wallet: accounts with sealed keys, sessions, email
codes and their per-client sending limit, passkeys, WebAuthn challenges, vouchers and each
brand's member settings.

A sealed key is AES-256-GCM ciphertext under a key-encryption key that never enters the
database; only its short fingerprint (`kek_id`) is stored, to tell a wrong KEK at start.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlmodel import Field

from .offchain import OffchainModel


class MemberAccount(OffchainModel, table=True):
    """A member known by email and/or passkeys; `member_id` is what the member card carries."""

    __tablename__ = "member_account"
    __table_args__ = (UniqueConstraint("email"), UniqueConstraint("address"))
    member_id: str = Field(primary_key=True, max_length=16)
    email: str | None = Field(default=None, max_length=254)
    address: str = Field(max_length=42)
    sealed_key: str | None = Field(default=None, sa_type=Text)  # None: their own wallet
    kek_id: str | None = Field(default=None, max_length=16)
    created_at: int = Field(sa_type=BigInteger)
    moved_at: int | None = Field(default=None, sa_type=BigInteger)


class MemberSession(OffchainModel, table=True):
    """A signed-in session (SIWE, passkey or email code), listed and revocable by its member."""

    __tablename__ = "member_session"
    __table_args__ = (Index(None, "address"),)
    session_id: str = Field(primary_key=True, max_length=32)
    address: str = Field(max_length=42)
    method: str = Field(max_length=16)  # siwe | passkey | email
    created_at: int = Field(sa_type=BigInteger)
    expires_at: int = Field(sa_type=BigInteger)
    auth_at: int = Field(sa_type=BigInteger)  # last proof of presence (sign-in or step-up)
    revoked_at: int | None = Field(default=None, sa_type=BigInteger)
    client: str = Field(default="", max_length=200)


class EmailCode(OffchainModel, table=True):
    """The one open sign-in code of an address (only its hash), its tries and its sending rate."""

    __tablename__ = "email_code"
    email: str = Field(primary_key=True, max_length=254)
    code_hash: str | None = Field(default=None, max_length=64)
    expires_at: int = Field(default=0, sa_type=BigInteger)
    tries: int = 0
    locked_until: int = Field(default=0, sa_type=BigInteger)
    window_start: int = Field(default=0, sa_type=BigInteger)
    sent_in_window: int = 0


class EmailClientLimit(OffchainModel, table=True):
    """How many sign-in codes one client (an HMAC of its address) asked for in its current
    window: the per-client sending limit, shared by every API process."""

    __tablename__ = "email_client_limit"
    __table_args__ = (Index(None, "window_start"),)
    client: str = Field(primary_key=True, max_length=64)
    window_start: int = Field(sa_type=BigInteger)
    sent: int = 0


class Passkey(OffchainModel, table=True):
    """A WebAuthn credential of a member (public key only)."""

    __tablename__ = "passkey"
    __table_args__ = (Index(None, "member_id"),)
    credential_id: str = Field(primary_key=True, max_length=1400)  # base64url
    member_id: str = Field(max_length=16)
    public_key: str = Field(sa_type=Text)  # base64url COSE key
    sign_count: int = Field(default=0, sa_type=BigInteger)
    label: str = Field(default="", max_length=64)
    created_at: int = Field(sa_type=BigInteger)
    last_used_at: int | None = Field(default=None, sa_type=BigInteger)


class WebauthnChallenge(OffchainModel, table=True):
    """A WebAuthn challenge handed out once; consumed by the ceremony that answers it."""

    __tablename__ = "webauthn_challenge"
    __table_args__ = (Index(None, "expires_at"),)
    challenge: str = Field(primary_key=True, max_length=128)  # base64url
    purpose: str = Field(max_length=16)  # register | login | step-up
    member_id: str | None = Field(default=None, max_length=16)
    expires_at: int = Field(sa_type=BigInteger)
    used_at: int | None = Field(default=None, sa_type=BigInteger)


class Voucher(OffchainModel, table=True):
    """A redeemed perk as a short code the brand's cashier checks and uses once."""

    __tablename__ = "voucher"
    __table_args__ = (Index(None, "member"), UniqueConstraint("redemption_id"))
    code: str = Field(primary_key=True, max_length=16)
    brand_id: str = Field(max_length=32)
    perk_id: int
    redemption_id: int
    member: str = Field(max_length=42)
    created_at: int = Field(sa_type=BigInteger)
    expires_at: int = Field(sa_type=BigInteger)
    used_at: int | None = Field(default=None, sa_type=BigInteger)
    used_by: str | None = Field(default=None, max_length=32)  # the cashier's key id


class BrandMemberSetting(OffchainModel, table=True):
    """A brand's rules for wallet-less members: step-up above N points, voucher validity."""

    __tablename__ = "brand_member_setting"
    brand_id: str = Field(primary_key=True, max_length=32)
    step_up_above: int = Field(sa_type=BigInteger)
    voucher_ttl: int = Field(sa_type=BigInteger)  # seconds
    updated_at: int = Field(sa_type=BigInteger)
