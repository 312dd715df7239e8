"""The SQL store: the mirror's SQLModel tables, the off-chain tables (perks, earnings, keys,
sessions), the engine with Alembic migrations, and the single-writer lock.

May import only the base modules (`config`, `errors`, `validate`, `expiry`).
"""

from . import customers as customers  # registers the customer tables on the off-chain metadata
from .engine import (
    WriterLock,
    database_unavailable,
    default_database_url,
    make_engine,
    migrate,
    normalise_url,
)
from .models import (
    Balance,
    BlockSeen,
    ContractState,
    Event,
    Exchange,
    IndexerState,
    Journal,
    LedgerEntry,
    Member,
    Pass,
    PointLot,
    Program,
    RoleAdmin,
    RoleMember,
    Tier,
    metadata,
)
from .types import U256

__all__ = [
    "U256",
    "Balance",
    "BlockSeen",
    "ContractState",
    "Event",
    "Exchange",
    "IndexerState",
    "Journal",
    "LedgerEntry",
    "Member",
    "Pass",
    "PointLot",
    "Program",
    "RoleAdmin",
    "RoleMember",
    "Tier",
    "WriterLock",
    "database_unavailable",
    "default_database_url",
    "make_engine",
    "metadata",
    "migrate",
    "normalise_url",
]
