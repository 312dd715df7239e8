"""Off-chain tables of the API: keys, SIWE nonces, perks, redemptions, earn rules and records.

They live next to the mirror (same database) but in their own metadata: the indexer never
touches them, and a mirror rebuild keeps them. Times are Unix seconds; points are integers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from .types import NAMING_CONVENTION, U256, JSONDoc


class OffchainModel(SQLModel):
    """Base of the API's own tables (own metadata, same naming convention as the mirror)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ApiSecret(OffchainModel, table=True):
    """The server's session-signing secret, created on first use (shared by every worker)."""

    __tablename__ = "api_secret"
    id: int = Field(default=1, primary_key=True)
    secret: str = Field(max_length=128)


class SiweNonce(OffchainModel, table=True):
    """A sign-in nonce handed out by the API; consumed once by a verified sign-in."""

    __tablename__ = "siwe_nonce"
    __table_args__ = (Index(None, "expires_at"),)
    nonce: str = Field(primary_key=True, max_length=64)
    issued_at: int = Field(sa_type=BigInteger)
    expires_at: int = Field(sa_type=BigInteger)
    used_at: int | None = Field(default=None, sa_type=BigInteger)


class ApiKey(OffchainModel, table=True):
    """An API key: only the SHA-256 of its secret part is stored."""

    __tablename__ = "api_key"
    key_id: str = Field(primary_key=True, max_length=32)
    secret_hash: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # brand | operator | auditor
    brand_id: str | None = Field(default=None, max_length=32)
    roles: str = Field(default="", max_length=128)  # comma-separated brand roles
    label: str = Field(default="", max_length=128)
    created_at: int = Field(sa_type=BigInteger)
    revoked_at: int | None = Field(default=None, sa_type=BigInteger)


class PerkRow(OffchainModel, table=True):
    """A brand's perk: who is eligible, what it costs, how many there are."""

    __tablename__ = "perk"
    __table_args__ = (UniqueConstraint("brand_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    name: str = Field(max_length=128)
    description: str = Field(default="", max_length=2000)
    min_points: int = Field(default=0, sa_type=BigInteger)
    min_tier: int | None = None
    active_pass_required: bool = False
    partner_brand_id: str | None = Field(default=None, max_length=32)
    point_cost: int = Field(default=0, sa_type=BigInteger)
    per_member_limit: int | None = None
    total_stock: int | None = None
    redeemed_count: int = 0
    valid_from: int | None = Field(default=None, sa_type=BigInteger)
    valid_until: int | None = Field(default=None, sa_type=BigInteger)
    active: bool = True
    created_at: int = Field(sa_type=BigInteger)


class PerkUsage(OffchainModel, table=True):
    """How many times a member has redeemed (or is redeeming) a perk."""

    __tablename__ = "perk_usage"
    perk_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    member: str = Field(primary_key=True, max_length=42)
    used: int = 0


class PointHold(OffchainModel, table=True):
    """Points of a member set aside by redemptions in flight (never spent twice)."""

    __tablename__ = "point_hold"
    token: str = Field(primary_key=True, max_length=42)
    member: str = Field(primary_key=True, max_length=42)
    held: int = Field(default=0, sa_type=BigInteger)


class Redemption(OffchainModel, table=True):
    """A perk redemption: reserved, then confirmed (burned on chain) or failed (released)."""

    __tablename__ = "redemption"
    __table_args__ = (
        UniqueConstraint("member", "idem_key"),
        Index(None, "perk_id"),
        Index(None, "intent_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    perk_id: int
    brand_id: str = Field(max_length=32)
    member: str = Field(max_length=42)
    idem_key: str = Field(max_length=128)
    points: int = Field(sa_type=BigInteger)
    method: str = Field(max_length=16)  # forward | permit | none
    status: str = Field(max_length=16)  # pending | confirmed | failed
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, max_length=500)
    created_at: int = Field(sa_type=BigInteger)
    # SHA-256 of the canonical request body: the same Idempotency-Key with another body is a
    # conflict (NULL on rows from before migration 0006: any body replays them).
    request_hash: str | None = Field(default=None, max_length=64)
    intent_id: int | None = Field(default=None, sa_type=BigInteger)
    """The outbox intent that burns the points (NULL: settled in the request, or free)."""
    reserved: str | None = Field(default=None, max_length=32)
    """What the pending redemption holds (`stock,usage,hold`), released if it fails."""
    hold_token: str | None = Field(default=None, max_length=42)
    """The points contract (lower case) whose points are held."""


class EarnRule(OffchainModel, table=True):
    """A brand's earn rule: points per purchase amount, and bonuses per action."""

    __tablename__ = "earn_rule"
    brand_id: str = Field(primary_key=True, max_length=32)
    currency: str = Field(default="VND", max_length=8)
    amount_per_point: int = Field(default=10_000, sa_type=BigInteger)
    bonuses: dict[str, Any] = Field(sa_column=Column(JSONDoc, nullable=False))
    updated_at: int = Field(sa_type=BigInteger)


class EarnRecord(OffchainModel, table=True):
    """One earning, claimed under its idempotency key before the chain transaction.

    `ordered_at` is when the customer bought (the order's point-of-sale time, sent by the brand;
    for actions, the time of the claim); `created_at` is when the brand recorded it.
    """

    __tablename__ = "earn_record"
    __table_args__ = (
        UniqueConstraint("brand_id", "idem_key"),
        # A member's records, with the same columns as the time index (0028): by the member.
        Index(
            "ix_earn_record_brand_id_member",
            "brand_id",
            "member",
            "reason",
            "status",
            "ordered_at",
            "currency",
            "order_amount",
            "items_count",
        ),
        # The records by time, with what the insights read of them (0026): index-only reads.
        Index(
            "ix_earn_record_by_time",
            "brand_id",
            "ordered_at",
            "status",
            "reason",
            "member",
            "currency",
            "order_amount",
            "items_count",
        ),
        Index(None, "block_number"),  # the points rollups find a block's earnings (0021)
    )
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    idem_key: str = Field(max_length=160)
    member: str = Field(max_length=42)
    reason: str = Field(max_length=32)
    points: int = Field(sa_type=BigInteger)
    order_id: str | None = Field(default=None, max_length=128)
    order_amount: int | None = Field(default=None, sa_type=BigInteger)
    currency: str | None = Field(default=None, max_length=8)
    items_count: int | None = None
    action_id: str | None = Field(default=None, max_length=128)
    status: str = Field(max_length=16)  # pending | confirmed
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    created_at: int = Field(sa_type=BigInteger)
    ordered_at: int = Field(sa_type=BigInteger)
    # SHA-256 of the canonical order or action: the same order id with other details is a
    # conflict (NULL on rows from before migration 0006 and on the demo's rows).
    request_hash: str | None = Field(default=None, max_length=64)
    intent_id: int | None = Field(default=None, sa_type=BigInteger)
    """The outbox intent that issues it (NULL: earned in the request, before the outbox)."""
    channel: str | None = Field(default=None, max_length=16)  # in_store | online | app
    store_id: str | None = Field(default=None, max_length=64)
    tags: str | None = Field(
        default=None, max_length=500
    )  # the order's product tags, comma-separated


BIG_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: a rowid, so it autoincrements


class OutboxIntent(OffchainModel, table=True):
    """A chain write, queued in the same transaction as the request's own rows (the outbox).

    `issue` intents (member, amount, reason, ref) coalesce into issueBatch transactions; `call`
    intents carry their own calldata. State: queued -> sent -> mined | failed.
    """

    __tablename__ = "outbox_intent"
    __table_args__ = (
        UniqueConstraint("idem_key"),
        Index(None, "signer", "state", "id"),
        Index(None, "tx_id"),
    )
    id: int | None = Field(default=None, sa_type=BIG_ID, primary_key=True)
    signer: str = Field(max_length=42)  # the address whose key signs it
    idem_key: str = Field(max_length=240)
    kind: str = Field(max_length=8)  # issue | call
    to_address: str = Field(max_length=42)
    data: str | None = Field(default=None, sa_type=Text)
    value: int = Field(default=0, sa_type=BigInteger)
    member: str | None = Field(default=None, max_length=42)
    amount: int | None = Field(default=None, sa_type=U256)
    reason: str | None = Field(default=None, max_length=32)
    ref: str | None = Field(default=None, max_length=128)
    state: str = Field(max_length=8)
    tx_id: int | None = Field(default=None, sa_type=BigInteger)
    tx_hash: str | None = Field(default=None, max_length=66)
    nonce: int | None = Field(default=None, sa_type=BigInteger)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    error_code: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    created_at: int = Field(sa_type=BigInteger)  # milliseconds
    updated_at: int = Field(sa_type=BigInteger)


class OutboxTx(OffchainModel, table=True):
    """A signed transaction, recorded before it is broadcast (so a crash can re-send it)."""

    __tablename__ = "outbox_tx"
    __table_args__ = (UniqueConstraint("tx_hash"), Index(None, "signer", "state", "nonce"))
    id: int | None = Field(default=None, sa_type=BIG_ID, primary_key=True)
    signer: str = Field(max_length=42)
    nonce: int = Field(sa_type=BigInteger)
    tx_hash: str = Field(max_length=66)
    raw: str = Field(sa_type=Text)
    kind: str = Field(max_length=8)
    max_fee: int | None = Field(default=None, sa_type=BigInteger)
    tip: int | None = Field(default=None, sa_type=BigInteger)
    state: str = Field(max_length=8)  # sent | mined | failed | replaced
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    gas_used: int | None = Field(default=None, sa_type=BigInteger)
    sent_at: int = Field(sa_type=BigInteger)  # milliseconds


offchain_metadata = OffchainModel.metadata


def table(model: type[SQLModel]) -> Table:
    """The Core table of a model (for conditional UPDATEs and bulk statements)."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]
