"""Tables of the insights: NPS survey answers recorded by brands through the API, and each
brand's insights settings (the churn window).

Own metadata (like the API's off-chain tables): the indexer never touches them and a mirror
rebuild keeps them. Times are Unix seconds.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, MetaData, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import NAMING_CONVENTION


class InsightsModel(SQLModel):
    """Base of the insights tables (own metadata, the store's naming convention)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SurveyAnswer(InsightsModel, table=True):
    """A member's answer to a brand's NPS question (0-10), once per survey."""

    __tablename__ = "survey_answer"
    __table_args__ = (
        UniqueConstraint("brand_id", "survey_id", "member"),
        Index(None, "brand_id", "answered_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    survey_id: str = Field(max_length=64)
    member: str = Field(max_length=42)  # checksummed, like the earn records
    score: int
    comment: str = Field(default="", max_length=500)
    answered_at: int = Field(sa_type=BigInteger)
    created_at: int = Field(sa_type=BigInteger)


class InsightsSetting(InsightsModel, table=True):
    """A brand's insights settings: churn is `churn_days` without a purchase."""

    __tablename__ = "insights_setting"
    brand_id: str = Field(primary_key=True, max_length=32)
    churn_days: int
    updated_at: int = Field(sa_type=BigInteger)


class ChangeCounter(InsightsModel, table=True):
    """How many writes a group of tables has seen: bumped by database triggers in the writing
    transaction (migration 0011), so a reader can tell whether anything it read changed.
    `offchain`: the earn records, earn rules, survey answers and insights settings."""

    __tablename__ = "change_counter"
    name: str = Field(primary_key=True, max_length=32)
    n: int = Field(default=0, sa_type=BigInteger)


class EarnMonth(InsightsModel, table=True):
    """The confirmed earn records of a brand per month (UTC), member and currency ('' for
    none): kept by database triggers in the transaction that writes the records (migration
    0011), so every writer keeps it. Purchases: reason `purchase` with an amount."""

    __tablename__ = "earn_month"
    __table_args__ = {"sqlite_with_rowid": False}
    brand_id: str = Field(primary_key=True, max_length=32)
    month: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    member: str = Field(primary_key=True, max_length=42)
    currency: str = Field(primary_key=True, max_length=8)
    records: int = Field(sa_type=BigInteger)  # every confirmed record (any reason)
    orders: int = Field(sa_type=BigInteger)  # purchases
    spend: int = Field(sa_type=BigInteger)  # their amounts
    items: int = Field(sa_type=BigInteger)  # their items (none counted as 0)
    first_at: int | None = Field(default=None, sa_type=BigInteger)  # first purchase's time
    last_at: int | None = Field(default=None, sa_type=BigInteger)  # last purchase's time


class EarnMember(InsightsModel, table=True):
    """`EarnMonth` all time: the confirmed earn records of a brand per member and currency,
    and the time of the member's first record (any reason), kept the same way."""

    __tablename__ = "earn_member"
    __table_args__ = {"sqlite_with_rowid": False}
    brand_id: str = Field(primary_key=True, max_length=32)
    member: str = Field(primary_key=True, max_length=42)
    currency: str = Field(primary_key=True, max_length=8)
    records: int = Field(sa_type=BigInteger)
    orders: int = Field(sa_type=BigInteger)
    spend: int = Field(sa_type=BigInteger)
    items: int = Field(sa_type=BigInteger)
    first_at: int | None = Field(default=None, sa_type=BigInteger)
    last_at: int | None = Field(default=None, sa_type=BigInteger)
    first_record_at: int = Field(sa_type=BigInteger)


class EarnPlaced(InsightsModel, table=True):
    """The points of confirmed earn records (points > 0, mined) whose block holds an issue of a
    program's points (`token`), per brand, month of the earning's own time and month of that
    block (-1: no block time): what the month flows move from block time to the earning's time.
    Kept by triggers on `earn_record` and `ledger_entry` in the writing transaction (migration
    0021): an entry a reorg rolls back takes its block's earnings out. Issue entries are only
    inserted and deleted (the indexer's one relabel, redeem to swap_out, leaves them be)."""

    __tablename__ = "earn_placed"
    __table_args__ = {"sqlite_with_rowid": False}
    brand_id: str = Field(primary_key=True, max_length=32)
    token: str = Field(primary_key=True, max_length=42)
    month: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    block_month: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    points: int = Field(sa_type=BigInteger)
    earnings: int = Field(sa_type=BigInteger)


insights_metadata = InsightsModel.metadata
T_SURVEY: Table = SurveyAnswer.__table__  # type: ignore[attr-defined]
T_SETTING: Table = InsightsSetting.__table__  # type: ignore[attr-defined]
T_CHANGES: Table = ChangeCounter.__table__  # type: ignore[attr-defined]
T_EARN_MONTH: Table = EarnMonth.__table__  # type: ignore[attr-defined]
T_EARN_MEMBER: Table = EarnMember.__table__  # type: ignore[attr-defined]
T_EARN_PLACED: Table = EarnPlaced.__table__  # type: ignore[attr-defined]
# What `offchain` counts: every table the earn and survey metrics read.
OFFCHAIN_TABLES = ("earn_record", "earn_rule", "survey_answer", "insights_setting")
