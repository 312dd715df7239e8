"""Tables of the SQL mirror: raw events, blocks, checkpoint, derived state, ledger history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import NAMING_CONVENTION, U256, JSONDoc

# Addresses and hashes are stored lowercase 0x-hex.

# A surrogate key: BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class StoreModel(SQLModel):
    """Base of the mirror's tables: own metadata with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IndexerState(StoreModel, table=True):
    """The checkpoint: every stored row is at or below `checkpoint_block`."""

    __tablename__ = "indexer_state"
    id: int = Field(default=1, primary_key=True)
    chain_id: int = Field(sa_type=BigInteger)
    genesis_hash: str = Field(max_length=66)
    registry_address: str = Field(max_length=42)
    start_block: int = Field(sa_type=BigInteger)
    checkpoint_block: int = Field(sa_type=BigInteger)
    checkpoint_hash: str | None = Field(default=None, max_length=66)
    exchange_address: str | None = Field(default=None, max_length=42)
    reorg_window: int | None = Field(default=None, sa_type=BigInteger)  # blocks kept for reorgs


class BlockSeen(StoreModel, table=True):
    """A recent block header (the reorg window)."""

    __tablename__ = "block"
    number: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    hash: str = Field(max_length=66)
    parent_hash: str = Field(max_length=66)


class Event(StoreModel, table=True):
    """Every log of the network's contracts, decoded."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("chain_id", "block_number", "log_index"),
        Index(None, "contract", "event"),
    )
    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str = Field(max_length=66)
    tx_hash: str = Field(max_length=66)
    tx_index: int
    log_index: int
    contract: str = Field(max_length=42)
    event: str = Field(max_length=64)
    args: dict[str, Any] = Field(sa_column=Column(JSONDoc, nullable=False))


class Program(StoreModel, table=True):
    """A brand program registered in the member registry."""

    __tablename__ = "program"
    brand_id: str = Field(primary_key=True, max_length=66)
    points: str = Field(max_length=42, unique=True)
    pass_address: str = Field(max_length=42, unique=True)
    admin: str = Field(max_length=42)
    name: str
    block_number: int = Field(sa_type=BigInteger)


def _zero() -> Any:
    """Keyword arguments of a NOT NULL column that defaults to 0 (in SQL too: back-fill)."""
    return {"server_default": "0"}


class ContractState(StoreModel, table=True):
    """Per-contract flags and totals: supply (points), paused, transferable and tiers (pass);
    a points program's expiry clock and policy (all 0 until its first ExpiryPolicySet)."""

    __tablename__ = "contract_state"
    address: str = Field(primary_key=True, max_length=42)
    total_supply: int = Field(default=0, sa_type=U256)
    paused: bool = False
    transferable: bool = False
    tier_count: int = 0
    validity_epochs: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs=_zero())
    epoch_zero: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs=_zero())
    epoch_length: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs=_zero())
    swept_epoch: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs=_zero())
    """Expired lots up to this epoch are out of `balance.amount` (the head block's epoch)."""


class Balance(StoreModel, table=True):
    """A holder's points in one program (rows at zero are removed)."""

    __tablename__ = "balance"
    token: str = Field(primary_key=True, max_length=42)
    holder: str = Field(primary_key=True, max_length=42)
    amount: int = Field(sa_type=U256)


class PointLot(StoreModel, table=True):
    """An expiring lot: `amount` of a holder's points that expire when epoch `expiry_epoch`
    starts (at `expires_at`, seconds). Points that never expire are `balance.amount` minus the
    live lots. A lot whose epoch has started stays, frozen, as the record of what expired."""

    __tablename__ = "point_lot"
    __table_args__ = (Index(None, "token", "expiry_epoch"),)
    token: str = Field(primary_key=True, max_length=42)
    holder: str = Field(primary_key=True, max_length=42)
    expiry_epoch: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    expires_at: int = Field(sa_type=BigInteger)
    amount: int = Field(sa_type=U256)


class Exchange(StoreModel, table=True):
    """A coalition exchange (CoalitionExchange id): terms, approvals, pauses, points issued."""

    __tablename__ = "exchange"
    id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    from_brand: str = Field(max_length=66)
    to_brand: str = Field(max_length=66)
    rate_from: int = Field(sa_type=U256)
    rate_to: int = Field(sa_type=U256)
    daily_cap: int = Field(sa_type=U256)
    budget: int = Field(sa_type=U256)
    issued: int = Field(default=0, sa_type=U256)
    approved_from: bool = False
    approved_to: bool = False
    paused_from: bool = False
    paused_to: bool = False
    paused_operator: bool = False
    opened_block: int | None = Field(default=None, sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)


class Pass(StoreModel, table=True):
    """A membership pass that exists (burned passes are removed)."""

    __tablename__ = "pass"
    __table_args__ = (Index(None, "contract", "owner"),)
    contract: str = Field(primary_key=True, max_length=42)
    token_id: int = Field(primary_key=True, sa_type=U256)
    owner: str = Field(max_length=42)
    tier: int = 0
    expires_at: int = Field(default=0, sa_type=U256)
    locked: bool = True


class Tier(StoreModel, table=True):
    """A tier a pass program defined."""

    __tablename__ = "tier"
    contract: str = Field(primary_key=True, max_length=42)
    tier: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str


class Member(StoreModel, table=True):
    """An account the registry knows about."""

    __tablename__ = "member"
    address: str = Field(primary_key=True, max_length=42)
    registered: bool = False
    frozen: bool = False
    recovered_to: str | None = Field(default=None, max_length=42)


class RoleMember(StoreModel, table=True):
    """An AccessControl role held by an account on a contract."""

    __tablename__ = "role"
    contract: str = Field(primary_key=True, max_length=42)
    role: str = Field(primary_key=True, max_length=66)
    account: str = Field(primary_key=True, max_length=42)


class RoleAdmin(StoreModel, table=True):
    """The admin role of a role, when changed from the default."""

    __tablename__ = "role_admin"
    contract: str = Field(primary_key=True, max_length=42)
    role: str = Field(primary_key=True, max_length=66)
    admin_role: str = Field(max_length=66)


class LedgerEntry(StoreModel, table=True):
    """One line of a program's points history (issue, redeem, forfeit, transfer, gift, recovery,
    swap_out / swap_in: the two sides of a coalition swap, `ref` = the exchange id as bytes32)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("block_number", "log_index"),
        Index(None, "token", "account", "block_number"),
        Index(None, "token", "counterparty", "block_number"),
        Index(None, "token", "block_time"),  # a month's or a period's entries (0021)
    )
    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    block_number: int = Field(sa_type=BigInteger)
    log_index: int
    tx_hash: str = Field(max_length=66)
    token: str = Field(max_length=42)
    kind: str = Field(max_length=16)
    account: str = Field(max_length=42)
    counterparty: str | None = Field(default=None, max_length=42)
    amount: int = Field(sa_type=U256)
    reason: str | None = None
    ref: str | None = None
    memo: str | None = None
    by: str | None = Field(default=None, max_length=42)
    block_time: int | None = Field(default=None, sa_type=BigInteger)
    """The block's timestamp (seconds); NULL on rows indexed before migration 0005."""


class LedgerMonth(StoreModel, table=True):
    """Rollup of the points history: entries that moved points (amount > 0) and their sum, per
    program, kind and UTC month of the block (month = year * 12 + month - 1; -1: no block time).
    Kept by the indexer in the transaction that writes the entries, journaled like them."""

    __tablename__ = "ledger_month"
    token: str = Field(primary_key=True, max_length=42)
    month: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(primary_key=True, max_length=16)
    entries: int = Field(default=0, sa_type=BigInteger)
    amount: int = Field(default=0, sa_type=U256)


class GiftParty(StoreModel, table=True):
    """Rollup of the gifts: per program and member, gifts sent and received (any amount)."""

    __tablename__ = "gift_party"
    token: str = Field(primary_key=True, max_length=42)
    member: str = Field(primary_key=True, max_length=42)
    sent: int = Field(default=0, sa_type=BigInteger)
    received: int = Field(default=0, sa_type=BigInteger)


class Journal(StoreModel, table=True):
    """Undo log of derived state in the reorg window: a row's value before block N changed it."""

    __tablename__ = "journal"
    __table_args__ = (Index(None, "block_number"),)
    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    block_number: int = Field(sa_type=BigInteger)
    tbl: str = Field(max_length=32)
    key: list[Any] = Field(sa_column=Column(JSONDoc, nullable=False))
    old: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONDoc, nullable=True))


metadata = StoreModel.metadata
