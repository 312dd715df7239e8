"""Member profiles: the member reads, edits and erases their own; a brand key sees what consent
allows; the unsubscribe link of every notification."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import Field, StrictBool, StrictStr

from loyalty_ledger.auth import Forbidden
from loyalty_ledger.crm import notify, profiles

from ..deps import CustomerDep, DeploymentDep, MemberActorDep, MemberReadDep, PrincipalDep, StateDep
from ..schemas import Strict

router = APIRouter(tags=["profiles"])
Brand = Annotated[str, Query(min_length=1, max_length=32, description="the brand's id")]


class ProfileIn(Strict):
    """Fields to set (null clears one; absent ones stay); consent with how it was given."""

    name: StrictStr | None = Field(default=None, max_length=120)
    email: StrictStr | None = Field(default=None, max_length=254)
    phone: StrictStr | None = Field(default=None, max_length=32)
    birthday: StrictStr | None = Field(default=None, max_length=10)
    region: StrictStr | None = Field(default=None, max_length=64)
    channel: StrictStr | None = Field(default=None, max_length=16)
    consent: StrictBool | None = None


@router.get("/customers/{address}/profile")
def read_profile(
    address: MemberReadDep,
    principal: PrincipalDep,
    state: StateDep,
    dep: DeploymentDep,
    brand: Brand,
) -> dict[str, Any]:
    """The member's profile with a brand: all of it for the member, what consent allows for
    the brand (null: no profile)."""
    dep.program(brand)
    if principal.kind == "brand" and principal.brand_id != brand:
        raise Forbidden(f"no access to brand {brand}")
    p = profiles.get_profile(engine=state.engine, brand_id=brand, member=address)
    if principal.kind == "customer":
        return {"profile": p}
    return {"profile": profiles.brand_view(p)}


@router.put("/customers/{address}/profile")
def write_profile(
    address: MemberActorDep,
    _c: CustomerDep,
    body: ProfileIn,
    state: StateDep,
    dep: DeploymentDep,
    brand: Brand,
) -> dict[str, Any]:
    """Create or change the signed-in member's profile with a brand."""
    dep.program(brand)
    sent = body.model_dump(exclude_unset=True)
    consent = sent.pop("consent", None)
    p = profiles.save_profile(
        engine=state.engine,
        brand_id=brand,
        member=address,
        fields=sent,
        consent=consent,
        source="wallet",
    )
    return {"profile": p}


@router.delete("/customers/{address}/profile")
def erase_own(
    address: MemberActorDep, _c: CustomerDep, state: StateDep, dep: DeploymentDep, brand: Brand
) -> dict[str, Any]:
    """Erase the member's personal data with a brand (the ledger and aggregates stay)."""
    dep.program(brand)
    return {
        "erased": profiles.erase(
            engine=state.engine, brand_id=brand, member=address, requested_by="member"
        )
    }


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title>
<link rel="stylesheet" href="/static/style.css"></head><body><main class="narrow"><h1>{title}</h1>
<p>{text}</p>{form}</main></body></html>"""


@router.get("/unsubscribe", include_in_schema=False)
def unsubscribe_page(
    state: StateDep, t: Annotated[str, Query(max_length=400)] = ""
) -> HTMLResponse:
    """Asks to confirm (a mail scanner's GET changes nothing)."""
    brand, _member = notify.read_unsubscribe_token(state.engine, t)
    action = html.escape(f"/unsubscribe?t={t}")
    form = (
        f'<form method="post" action="{action}">'
        '<button type="submit" id="unsubscribe">Unsubscribe</button></form>'
    )
    text = f"Stop messages from {html.escape(brand)}? This withdraws your marketing consent."
    return HTMLResponse(_PAGE.format(title="Unsubscribe", text=text, form=form))


@router.post("/unsubscribe", include_in_schema=False)
def unsubscribe(state: StateDep, t: Annotated[str, Query(max_length=400)] = "") -> HTMLResponse:
    """Withdraw consent: no further messages from the brand."""
    brand, member = notify.read_unsubscribe_token(state.engine, t)
    profiles.unsubscribe(engine=state.engine, brand_id=brand, member=member)
    text = f"You will get no more messages from {html.escape(brand)}."
    return HTMLResponse(_PAGE.format(title="Unsubscribed", text=text, form=""))
