"""Request and response bodies. Amounts are strict integers: 2.5 or "25" is a 422, never rounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from loyalty_ledger.validate import printable_text

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
# The EIP-55 checksum is checked by the domain layer, which says what is wrong (invalid_address).
Address = Annotated[StrictStr, WithJsonSchema({"type": "string", "pattern": ADDRESS_PATTERN})]
# An address, or a member id from a member card (M and 8 letters or digits).
MemberRef = Annotated[
    StrictStr,
    WithJsonSchema({"type": "string", "pattern": r"^(0x[0-9a-fA-F]{40}|[Mm][0-9A-Za-z]{8})$"}),
]
HexAddress = Annotated[StrictStr, Field(pattern=ADDRESS_PATTERN)]  # inside signed messages
HexBytes = Annotated[StrictStr, Field(pattern=r"^0x([0-9a-fA-F]{2})*$", max_length=32_768)]
Signature = Annotated[StrictStr, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]
# Names people read (brands, tiers): printable text, no control characters.
PrintableName = Annotated[StrictStr, AfterValidator(lambda v: printable_text(v, "a name"))]


def _uint_check(bits: int) -> Any:
    """A uint<bits> of a signed EIP-712 message: a JSON integer or its decimal text (wallets
    and JavaScript clients send big numbers as text); nothing else (no hex, floats, signs)."""
    top = 2**bits - 1

    def check(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 78:
            number = int(value)
        else:
            raise ValueError(f"must be a whole number 0 to 2**{bits}-1 (integer or decimal text)")
        if not 0 <= number <= top:
            raise ValueError(f"must be a whole number 0 to 2**{bits}-1")
        return number

    return check


def _uint_schema(bits: int) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": 2**bits - 1},
            {"type": "string", "pattern": r"^[0-9]{1,78}$"},
        ],
        "description": f"uint{bits}: an integer or its decimal text",
    }


Uint256 = Annotated[int, BeforeValidator(_uint_check(256)), WithJsonSchema(_uint_schema(256))]
Uint48 = Annotated[int, BeforeValidator(_uint_check(48)), WithJsonSchema(_uint_schema(48))]


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


class ForwardMessage(Strict):
    """The signed ForwardRequest (OZ ERC2771Forwarder), as /prepare returned it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: HexAddress = Field(alias="from")
    to: HexAddress
    value: Uint256
    gas: Uint256
    nonce: Uint256
    deadline: Uint48
    data: HexBytes


class PermitMessage(Strict):
    """The signed ERC-2612 permit, as /redeem/prepare returned it."""

    owner: HexAddress
    spender: HexAddress
    value: Uint256
    nonce: Uint256
    deadline: Uint256


class Signed(Strict):
    """A signed forward request and its 65-byte signature (0x-hex)."""

    message: ForwardMessage
    signature: Signature

    def parts(self) -> tuple[dict[str, Any], str]:
        return self.message.model_dump(by_alias=True), self.signature


class SignedPermit(Strict):
    message: PermitMessage
    signature: Signature

    def parts(self) -> tuple[dict[str, Any], str]:
        return self.message.model_dump(), self.signature


class TxOut(BaseModel):
    tx_hash: str | None
    status: str
    block_number: int | None = None
    operation: dict[str, Any] | None = None  # the outbox operation that carried it


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
    permit: SignedPermit | None = None
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
    operation: dict[str, Any] | None = None


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
    member: MemberRef
    order_id: StrictStr = Field(min_length=1, max_length=128)
    amount: StrictInt = Field(ge=0, le=2**63 - 1)
    currency: StrictStr = Field(min_length=3, max_length=8)
    items: StrictInt = Field(ge=0, le=1_000_000)
    # The order's point-of-sale time: ISO 8601 with a timezone (default: now); at most 5 minutes
    # ahead of the server's clock (checked by the domain layer: 422 invalid_input).
    ordered_at: IsoTime | None = None
    channel: Literal["in_store", "online", "app"] | None = None
    store_id: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    tags: list[StrictStr] | None = Field(default=None, max_length=50)  # product tags


class ActionIn(Strict):
    member: Address
    # signup, review, referral, survey, visit, or any action an earn rule of the brand names
    action: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
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
    channel: str | None = None
    store_id: str | None = None
    tags: str | None = None  # comma-separated
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
    name: PrintableName = Field(min_length=1, max_length=64)
    symbol: PrintableName = Field(min_length=1, max_length=16)
    tiers: list[Annotated[PrintableName, Field(min_length=1)]] = Field(min_length=1, max_length=255)
    admin: Address | None = None


class MemberIn(Strict):
    address: Address


class RecoverIn(Strict):
    new_wallet: Address
