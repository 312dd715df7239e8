"""Tables of the member relationship: profiles (personal data, off chain only), saved segments,
webhook endpoints, the notification outbox and the erasure log.

Own metadata (like the API's off-chain tables): the indexer never touches them and a mirror
rebuild keeps them. Times are Unix seconds. Personal data lives in `member_profile` and in the
rendered text of not-yet-erased notifications, nowhere else: erasing a member clears both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, MetaData, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import NAMING_CONVENTION, JSONDoc


class CrmModel(SQLModel):
    """Base of the member-relationship tables (own metadata, the store's naming convention)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MemberProfile(CrmModel, table=True):
    """A member's optional profile with one brand (personal data: SQL only, never on chain)."""

    __tablename__ = "member_profile"
    __table_args__ = (Index(None, "brand_id", "email"), Index(None, "brand_id", "phone"))
    brand_id: str = Field(primary_key=True, max_length=32)
    member: str = Field(primary_key=True, max_length=42)  # checksummed
    name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)  # lower-cased
    phone: str | None = Field(default=None, max_length=20)  # E.164 digits with a leading +
    birthday: str | None = Field(default=None, max_length=10)  # YYYY-MM-DD
    birth_month: int | None = None  # 1-12, for "birthday this month" in SQL
    region: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=16)  # email | sms | push | none
    consent: bool = False  # marketing consent
    consent_at: int | None = Field(default=None, sa_type=BigInteger)
    consent_source: str | None = Field(default=None, max_length=32)  # how it was given
    unsubscribed_at: int | None = Field(default=None, sa_type=BigInteger)
    updated_at: int = Field(sa_type=BigInteger)


class Erasure(CrmModel, table=True):
    """That a member's personal data with a brand was erased, when and at whose request."""

    __tablename__ = "member_erasure"
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    member: str = Field(max_length=42)
    requested_by: str = Field(max_length=16)  # member | brand | operator
    erased_at: int = Field(sa_type=BigInteger)


class Segment(CrmModel, table=True):
    """A brand's saved segment: a name and its rules (evaluated on demand, never cached)."""

    __tablename__ = "segment"
    __table_args__ = (UniqueConstraint("brand_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    name: str = Field(max_length=80)
    rules: dict[str, Any] = Field(sa_column=Column(JSONDoc, nullable=False))
    created_at: int = Field(sa_type=BigInteger)


class WebhookEndpoint(CrmModel, table=True):
    """Where a brand receives signed notifications (its signing secret is derived, not stored)."""

    __tablename__ = "webhook_endpoint"
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    url: str = Field(max_length=500)
    active: bool = True
    created_at: int = Field(sa_type=BigInteger)


class Notification(CrmModel, table=True):
    """One message to one member, queued before it is sent (the notification outbox).

    State: queued -> sending (claimed, committed before the send) -> sent | queued (a failure,
    retried at `next_at`) | dead (too many failures) | unknown (a crash while sending: never
    sent again, shown for review). `dedupe_key` makes every trigger and send enqueue once.
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("brand_id", "dedupe_key"),
        Index(None, "state", "next_at"),
        Index(None, "brand_id", "member"),
    )
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    member: str = Field(max_length=42)
    kind: str = Field(max_length=24)  # message | points_expiring | perk_available | tier | birthday
    channel: str = Field(max_length=8)  # email | webhook
    dedupe_key: str = Field(max_length=200)
    recipient: str | None = Field(default=None, max_length=500)  # an email or a webhook URL
    subject: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, sa_type=Text)
    state: str = Field(max_length=8)
    attempts: int = 0
    next_at: int = Field(sa_type=BigInteger)
    claimed_at: int | None = Field(default=None, sa_type=BigInteger)
    sent_at: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, max_length=500)
    created_at: int = Field(sa_type=BigInteger)


crm_metadata = CrmModel.metadata
T_PROFILE: Table = MemberProfile.__table__  # type: ignore[attr-defined]
T_ERASURE: Table = Erasure.__table__  # type: ignore[attr-defined]
T_SEGMENT: Table = Segment.__table__  # type: ignore[attr-defined]
T_WEBHOOK: Table = WebhookEndpoint.__table__  # type: ignore[attr-defined]
T_NOTIFICATION: Table = Notification.__table__  # type: ignore[attr-defined]
