"""The brand console's member relationship: member search and 360° page, erasure on request,
segments (counted live), notifications and webhooks, CSV exports. Reads need any key of the
brand (a viewer too); changes need its perk_manager role (the programme manager) or the
operator."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import Field, StrictInt, StrictStr

from loyalty_ledger.crm import deliver, export, member360, notify, profiles, segments, webhooks
from loyalty_ledger.crm.facts import member_facts
from loyalty_ledger.crm.perk_results import results_by_tier
from loyalty_ledger.crm.triggers import run_triggers
from loyalty_ledger.errors import InvalidInput

from ..delivery import ensure_delivery
from ..deps import BrandReader, PerkManagerDep, ProgramDep, StateDep
from ..schemas import Strict

router = APIRouter(prefix="/brands/{brand_id}", tags=["console"])
Id = Annotated[int, Path(ge=1, le=2**62)]


class RulesIn(Strict):
    rules: dict[str, Any]


class SegmentIn(Strict):
    name: StrictStr = Field(min_length=1, max_length=80)
    rules: dict[str, Any]


class SendIn(Strict):
    """A message to a saved segment or to rules; `send_id` makes a retried send queue once."""

    segment_id: StrictInt | None = Field(default=None, ge=1, le=2**62)
    rules: dict[str, Any] | None = None
    subject: StrictStr = Field(min_length=1, max_length=200)
    text: StrictStr = Field(min_length=1, max_length=5000)
    send_id: StrictStr | None = Field(default=None, min_length=1, max_length=64)


class WebhookIn(Strict):
    url: StrictStr = Field(min_length=1, max_length=500)


@router.get("/access")
def access(principal: BrandReader, program: ProgramDep) -> dict[str, Any]:
    """What this key may do with the brand (the console hides what it may not)."""
    return {
        "brand_id": program.brand_id,
        "name": program.name,
        "kind": principal.kind,
        "roles": sorted(principal.roles),
        "manage": principal.has_brand_role(program.brand_id, "perk_manager"),
        "programme": any(  # rules, campaigns, tiers and exchanges
            principal.has_brand_role(program.brand_id, r)
            for r in ("programme_manager", "perk_manager")
        ),
    }


@router.get("/perk-results")
def perk_results(_r: BrandReader, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """Per perk and tier: confirmed redemptions, points spent, distinct members."""
    return {"results": results_by_tier(engine=state.engine, program=program)}


@router.get("/members")
def find(
    _r: BrandReader,
    program: ProgramDep,
    state: StateDep,
    q: Annotated[str, Query(min_length=3, max_length=254)],
) -> dict[str, Any]:
    """Members by address (or its first hex digits), consented email or phone."""
    found = member360.search(engine=state.engine, program=program, query=q)
    return {"members": found}


@router.get("/members/{address}")
def member(address: str, _r: BrandReader, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """One member's 360° view: profile (as consent allows), points by expiry, pass and tier
    history, orders, redemptions, notifications, churn and RFM scores."""
    return member360.member_360(engine=state.engine, program=program, address=address)


@router.delete("/members/{address}/profile")
def erase(address: str, _m: PerkManagerDep, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """Erase a member's personal data on their request (the ledger and aggregates stay)."""
    done = profiles.erase(
        engine=state.engine, brand_id=program.brand_id, member=address, requested_by="brand"
    )
    return {"erased": done}


@router.post("/segments/count")
def count(body: RulesIn, _r: BrandReader, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """How many members match the rules now, and the first few."""
    found = segments.evaluate(engine=state.engine, program=program, rules=body.rules)
    return {"count": len(found), "sample": [f.member for f in found[:20]]}


@router.get("/segments")
def list_segments(_r: BrandReader, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """The saved segments, each with its live count."""
    facts, now = member_facts(engine=state.engine, program=program), int(time.time())
    out = []
    for s in segments.list_segments(engine=state.engine, brand_id=program.brand_id):
        n = sum(1 for f in facts.values() if segments.matches(f, s["rules"], now))
        out.append({**s, "count": n})
    return {"segments": out}


@router.post("/segments", status_code=201)
def save_segment(
    body: SegmentIn, _m: PerkManagerDep, program: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """Save a segment (a name and its rules)."""
    return segments.save_segment(
        engine=state.engine, brand_id=program.brand_id, name=body.name, rules=body.rules
    )


@router.delete("/segments/{segment_id}", status_code=204)
def delete_segment(
    segment_id: Id, _m: PerkManagerDep, program: ProgramDep, state: StateDep
) -> None:
    """Delete a saved segment."""
    segments.delete_segment(engine=state.engine, brand_id=program.brand_id, segment_id=segment_id)


@router.post("/notifications", status_code=202)
def send(body: SendIn, _m: PerkManagerDep, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """Queue a message to every consenting member of a segment (sent in the background)."""
    if (body.segment_id is None) == (body.rules is None):
        raise InvalidInput("send to a segment_id or to rules, not both")
    rules = body.rules
    if body.segment_id is not None:
        rules = segments.get_segment(
            engine=state.engine, brand_id=program.brand_id, segment_id=body.segment_id
        )["rules"]
    found = segments.evaluate(engine=state.engine, program=program, rules=rules)
    key = f"msg:{body.send_id or time.time_ns()}"
    counts = notify.enqueue(
        engine=state.engine,
        settings=state.settings,
        brand_id=program.brand_id,
        brand_name=program.name or program.brand_id,
        members=found,
        kind="message",
        key=key,
        subject=body.subject,
        text=body.text,
    )
    ensure_delivery(state)
    return {"matched": len(found), **counts}


@router.post("/notifications/triggers", status_code=202)
def triggers(_m: PerkManagerDep, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """Run the brand's triggers now (points expiring, perk within reach, new tier, birthday);
    the API also runs them every few minutes once it sends notifications."""
    queued = run_triggers(engine=state.engine, settings=state.settings, program=program)
    ensure_delivery(state)
    return {"queued": queued}


@router.get("/notifications")
def notifications(_r: BrandReader, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """Notifications by state (queued, sending, sent, dead, unknown)."""
    return {"states": deliver.counts_by_state(state.engine, program.brand_id)}


@router.get("/webhooks")
def list_webhooks(_r: BrandReader, program: ProgramDep, state: StateDep) -> dict[str, Any]:
    """The brand's webhook endpoints (their secrets are shown only when added)."""
    return {"webhooks": webhooks.list_endpoints(engine=state.engine, brand_id=program.brand_id)}


@router.post("/webhooks", status_code=201)
def add_webhook(
    body: WebhookIn, _m: PerkManagerDep, program: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """Add an endpoint; the answer carries its signing secret, shown this once."""
    return webhooks.add_endpoint(engine=state.engine, brand_id=program.brand_id, url=body.url)


@router.delete("/webhooks/{endpoint_id}", status_code=204)
def disable_webhook(
    endpoint_id: Id, _m: PerkManagerDep, program: ProgramDep, state: StateDep
) -> None:
    """Switch an endpoint off."""
    webhooks.disable_endpoint(
        engine=state.engine, brand_id=program.brand_id, endpoint_id=endpoint_id
    )


@router.get("/export/{name}.csv")
def export_csv(
    name: str, _r: BrandReader, program: ProgramDep, state: StateDep
) -> StreamingResponse:
    """A table as CSV: members, profiles, orders, redemptions, perks, notifications, segments,
    ledger."""
    chunks = export.export_csv(engine=state.engine, program=program, name=name)
    first = next(chunks)  # an unknown name fails here, before the answer starts

    def body() -> Any:
        yield first
        yield from chunks

    headers = {"Content-Disposition": f'attachment; filename="{program.brand_id}-{name}.csv"'}
    return StreamingResponse(body(), media_type="text/csv", headers=headers)
