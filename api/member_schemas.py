"""Bodies of the wallet-less member routes: email codes, passkeys, sessions, gifts, vouchers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictInt, StrictStr

from .schemas import Signed, Strict


class EmailStartIn(Strict):
    email: StrictStr = Field(min_length=3, max_length=254)


class EmailVerifyIn(Strict):
    email: StrictStr = Field(min_length=3, max_length=254)
    code: StrictStr = Field(min_length=1, max_length=16)


class CredentialIn(Strict):
    """A PublicKeyCredential as JSON (base64url fields), from navigator.credentials."""

    credential: dict[str, Any]
    label: StrictStr = Field(default="", max_length=64)


class StepUpIn(Strict):
    """A fresh proof of presence: a passkey assertion, or the email code just sent."""

    credential: dict[str, Any] | None = None
    code: StrictStr | None = Field(default=None, max_length=16)


class MemberSessionOut(BaseModel):
    token: str
    token_type: str = "bearer"
    address: str
    member_id: str | None = None
    expires_at: int
    created: bool = False


class GiftIn(Strict):
    brand_id: StrictStr = Field(min_length=1, max_length=32)
    to: StrictStr = Field(min_length=1, max_length=42, description="an address or a member id")
    amount: StrictInt = Field(ge=1, le=2**63 - 1)
    memo: StrictStr = Field(default="", max_length=64)


class VoucherRedeemIn(Strict):
    """Members with their own wallet: the burn's forward request, signed in the wallet (from
    `POST /perks/{id}/redeem/prepare`). Members with a managed key send no body."""

    forward: Signed | None = None


class MoveIn(Strict):
    new_address: StrictStr = Field(min_length=42, max_length=42)


class MemberSettingsIn(Strict):
    step_up_above: StrictInt = Field(ge=0, le=2**62)
    voucher_ttl: StrictInt = Field(ge=60, le=366 * 86_400)
