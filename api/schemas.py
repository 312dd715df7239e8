"""Request and response bodies. Amounts are strict integers: 2.5 or "25" is a 422, never rounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

Address = StrictStr  # checked (EIP-55) by the domain layer, which says what is wrong


def _iso_time(value: Any) -> Any:
    """ISO 8601 text only (no Unix numbers, no numeric strings); the timezone is checked next."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time with a timezone, e.g. 2026-11-29T10:15:00Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "must be an ISO 8601 time with a timezone, e.g. 2026-11-29T10:15:00Z"
        ) from None


IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_time)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- auth ------------------------------------------------------------------------------------


class NonceOut(BaseModel):
    nonce: str
    expires_at: int
    domain: str
    uri: str
    chain_id: int


class VerifyIn(Strict):
    message: StrictStr = Field(max_length=8192)
    signature: StrictStr = Field(max_length=200)


class SessionOut(BaseModel):
    token: str
    token_type: str = "bearer"
    address: str
    expires_at: int


class PrincipalOut(BaseModel):
    kind: str
    address: str | None = None
    brand_id: str | None = None
    roles: list[str] = []


# --- signing (EIP-712) -----------------------------------------------------------------------


class TypedData(BaseModel):
    """eth_signTypedData_v4 input: sign it and send back `message` with the signature."""

    types: dict[str, Any]
    primaryType: str
    domain: dict[str, Any]
    message: dict[str, Any]


class Signed(Strict):
    message: dict[str, Any]
    signature: StrictStr = Field(max_length=200)


class TxOut(BaseModel):
    tx_hash: str | None
    status: str
    block_number: int | None = None


# --- perks -----------------------------------------------------------------------------------


class PerkFields(Strict):
    description: StrictStr = Field(default="", max_length=2000)
    min_points: StrictInt = Field(default=0, ge=0, le=2**63 - 1)
    min_tier: StrictInt | None = Field(default=None, ge=0, le=255)
    active_pass_required: StrictBool = False
    partner_brand_id: StrictStr | None = Field(default=None, max_length=32)
    point_cost: StrictInt = Field(default=0, ge=0, le=2**63 - 1)
    per_member_limit: StrictInt | None = Field(default=None, ge=0, le=2**31 - 1)
    total_stock: StrictInt | None = Field(default=None, ge=0, le=2**31 - 1)
    valid_from: StrictInt | None = Field(default=None, ge=0, le=2**63 - 1)
    valid_until: StrictInt | None = Field(default=None, ge=0, le=2**63 - 1)


class PerkCreate(PerkFields):
    name: StrictStr = Field(min_length=1, max_length=128)


class PerkUpdate(Strict):
    name: StrictStr | None = Field(default=None, min_length=1, max_length=128)
    description: StrictStr | None = Field(default=None, max_length=2000)
    min_points: StrictInt | None = Field(default=None, ge=0, le=2**63 - 1)
    min_tier: StrictInt | None = Field(default=None, ge=0, le=255)
    active_pass_required: StrictBool | None = None
    partner_brand_id: StrictStr | None = Field(default=None, max_length=32)
    point_cost: StrictInt | None = Field(default=None, ge=0, le=2**63 - 1)
    per_member_limit: StrictInt | None = Field(default=None, ge=0, le=2**31 - 1)
    total_stock: StrictInt | None = Field(default=None, ge=0, le=2**31 - 1)
    valid_from: StrictInt | None = Field(default=None, ge=0, le=2**63 - 1)
    valid_until: StrictInt | None = Field(default=None, ge=0, le=2**63 - 1)
    active: StrictBool | None = None


class PerkPublic(PerkFields):
    model_config = ConfigDict(extra="ignore")
    id: int
    brand_id: str
    name: str
    redeemed_count: int
    active: bool
    created_at: int


class ReasonOut(BaseModel):
    code: str
    detail: str


class EligibilityOut(BaseModel):
    perk_id: int
    address: str
    eligible: bool
    reasons: list[ReasonOut]
    as_of_block: int | None
    strict: bool


class EligibilityBatchIn(Strict):
    addresses: list[Address] = Field(min_length=1, max_length=500)
    strict: StrictBool = False


class RedeemPrepareIn(Strict):
    method: Literal["forward", "permit"] = "forward"
    member: Address | None = None  # brand redeemers only: whose points


class RedeemIn(Strict):
    forward: Signed | None = None
    permit: Signed | None = None
    member: Address | None = None  # brand redeemers only


class RedemptionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    perk_id: int
    brand_id: str
    member: str
    points: int
    method: str
    status: str
    tx_hash: str | None
    block_number: int | None
    error: str | None = None
    replayed: bool = False


# --- customers -------------------------------------------------------------------------------


class TransferPrepareIn(Strict):
    brand_id: StrictStr = Field(max_length=32)
    kind: Literal["transfer", "gift"] = "gift"
    to: Address
    amount: StrictInt = Field(gt=0, le=2**255)
    memo: StrictStr = Field(default="", max_length=64)


class TransferIn(Signed):
    brand_id: StrictStr = Field(max_length=32)


# --- expiry and the coalition exchange ------------------------------------------------------


class ExpiryPolicyIn(Strict):
    epochs: StrictInt = Field(ge=0, le=1000)  # 0: points never expire


class SwapPrepareIn(Strict):
    amount: StrictInt = Field(gt=0, le=2**255)  # from-brand points to swap (at most)


class SwapOut(TxOut):
    exchange_id: int
    burned: int
    issued: int


# --- brands ----------------------------------------------------------------------------------


class PurchaseIn(Strict):
    member: Address
    order_id: StrictStr = Field(min_length=1, max_length=128)
    amount: StrictInt = Field(ge=0, le=2**63 - 1)
    currency: StrictStr = Field(min_length=3, max_length=8)
    items: StrictInt = Field(ge=0, le=1_000_000)
    # The order's point-of-sale time: ISO 8601 with a timezone (default: now); at most 5 minutes
    # ahead of the server's clock and 366 days back (checked by the domain layer: 422
    # invalid_input).
    ordered_at: IsoTime | None = None


class ActionIn(Strict):
    member: Address
    action: Literal["signup", "review", "referral", "survey", "visit"]
    action_id: StrictStr = Field(min_length=1, max_length=128)


class BatchIn(Strict):
    orders: list[PurchaseIn] = Field(min_length=1, max_length=500)


class EarnOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    brand_id: str
    member: str
    reason: str
    points: int
    order_id: str | None
    order_amount: int | None
    currency: str | None
    items_count: int | None
    action_id: str | None
    status: str
    tx_hash: str | None
    block_number: int | None
    ordered_at: int  # Unix seconds, like every other time the API returns
    duplicate: bool = False


class EarnRuleIn(Strict):
    currency: StrictStr = Field(min_length=3, max_length=8)
    amount_per_point: StrictInt = Field(ge=1, le=2**62)
    bonuses: dict[str, StrictInt] = {}


class EarnRuleOut(BaseModel):
    brand_id: str
    currency: str
    amount_per_point: int
    bonuses: dict[str, int]


class PassIssueIn(Strict):
    member: Address
    tier: StrictInt | StrictStr = 0
    expires_at: StrictInt = Field(default=0, ge=0, le=2**64 - 1)


class PassTierIn(Strict):
    tier: StrictInt | StrictStr


class PassRenewIn(Strict):
    expires_at: StrictInt = Field(ge=0, le=2**64 - 1)


# --- admin -----------------------------------------------------------------------------------


class BrandIn(Strict):
    brand_id: StrictStr = Field(min_length=1, max_length=32)
    name: StrictStr = Field(min_length=1, max_length=64)
    symbol: StrictStr = Field(min_length=1, max_length=16)
    tiers: list[StrictStr] = Field(min_length=1, max_length=255)
    admin: Address | None = None


class MemberIn(Strict):
    address: Address


class RecoverIn(Strict):
    new_wallet: Address
