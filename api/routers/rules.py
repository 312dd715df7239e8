"""Earning rules a brand runs: rules (versioned), campaigns, simulate, earning explanations,
member profiles (referral codes, birth month) and registration with the welcome bonus.

Reads: any key of the brand. Changes: programme_manager or perk_manager (or the operator);
registration pays points, so it needs the issuer role."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from loyalty_ledger.ledger import passes
from loyalty_ledger.programme import earn, views
from loyalty_ledger.programme.rules import (
    campaigns,
    daily,
    perk_grant,
    referrals,
    store,
    tier_job,
    tiers,
)
from loyalty_ledger.programme.rules.explain import explain_earning
from loyalty_ledger.programme.rules.registration import on_registration
from loyalty_ledger.programme.rules.simulate import simulate
from loyalty_ledger.validate import checksum_address

from ..deps import BrandReader, IssuerDep, ProgramDep, ProgrammeManagerDep, StateDep
from ..rule_schemas import (
    CampaignIn,
    ProfileIn,
    RegistrationIn,
    RuleActiveIn,
    RuleIn,
    SimulateIn,
    TierRuleIn,
)
from ..schemas import EarnOut
from .brands import earn_reply
from .writes import PreferHeader

router = APIRouter(prefix="/brands/{brand_id}", tags=["rules"])


def _spec(body: RuleIn) -> dict[str, Any]:
    out = body.model_dump(exclude_none=True)
    if body.limit is not None:
        out["limit"] = body.limit.model_dump()
    return out


@router.get("/rules")
def list_rules(
    brand_id: str, _r: BrandReader, _p: ProgramDep, state: StateDep
) -> list[dict[str, Any]]:
    """The current version of every earn rule (on or off), highest priority first."""
    earn.ensure_defaults(engine=state.engine, brand_id=brand_id)
    return store.list_rules(engine=state.engine, brand_id=brand_id)


@router.get("/rules/{rule_id}")
def get_rule(
    brand_id: str,
    rule_id: str,
    _r: BrandReader,
    _p: ProgramDep,
    state: StateDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """A rule's current version (or the given `version`)."""
    return store.get_rule(engine=state.engine, brand_id=brand_id, rule_id=rule_id, version=version)


@router.get("/rules/{rule_id}/versions")
def rule_versions(
    brand_id: str, rule_id: str, _r: BrandReader, _p: ProgramDep, state: StateDep
) -> list[dict[str, Any]]:
    """Every version of a rule, oldest first."""
    return store.list_rules(engine=state.engine, brand_id=brand_id, versions_of=rule_id)


@router.put("/rules/{rule_id}")
def put_rule(
    brand_id: str,
    rule_id: str,
    body: RuleIn,
    _m: ProgrammeManagerDep,
    _p: ProgramDep,
    state: StateDep,
) -> dict[str, Any]:
    """Create a rule or edit it (a new version; earnings already made keep theirs)."""
    earn.ensure_defaults(engine=state.engine, brand_id=brand_id)
    spec = _spec(body)
    perk_grant.check_perk_effect(state.engine, brand_id, spec)
    return store.put_rule(engine=state.engine, brand_id=brand_id, rule_id=rule_id, spec=spec)


@router.patch("/rules/{rule_id}")
def switch_rule(
    brand_id: str,
    rule_id: str,
    body: RuleActiveIn,
    _m: ProgrammeManagerDep,
    _p: ProgramDep,
    state: StateDep,
) -> dict[str, Any]:
    """Switch a rule on or off (a new version)."""
    return store.set_active(
        engine=state.engine, brand_id=brand_id, rule_id=rule_id, active=body.active
    )


@router.get("/campaigns")
def list_campaigns(
    brand_id: str, _r: BrandReader, _p: ProgramDep, state: StateDep
) -> list[dict[str, Any]]:
    """Every campaign with its cost (points paid), earnings and members reached."""
    return campaigns.list_campaigns(engine=state.engine, brand_id=brand_id)


@router.get("/campaigns/{campaign_id}")
def campaign(
    brand_id: str, campaign_id: str, _r: BrandReader, _p: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """A campaign's report: window, budget, spent, rules, cost and reach."""
    return campaigns.campaign_report(
        engine=state.engine, brand_id=brand_id, campaign_id=campaign_id
    )


@router.put("/campaigns/{campaign_id}")
def put_campaign(
    brand_id: str,
    campaign_id: str,
    body: CampaignIn,
    _m: ProgrammeManagerDep,
    _p: ProgramDep,
    state: StateDep,
) -> dict[str, Any]:
    """Create or change a campaign (its rules name it in `campaign_id`)."""
    return campaigns.put_campaign(
        engine=state.engine, brand_id=brand_id, campaign_id=campaign_id, **body.model_dump()
    )


@router.post("/simulate")
def run_simulation(
    brand_id: str, body: SimulateIn, _m: ProgrammeManagerDep, program: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """What the rules (with unsaved drafts) would have paid for the orders of a past period:
    points, members reached, liability added, per rule (and per order with with_orders)."""
    rate = earn.get_rule(engine=state.engine, brand_id=brand_id).amount_per_point
    return simulate(
        engine=state.engine,
        brand_id=brand_id,
        pass_contract=program.pass_,
        base_rate=rate,
        start=body.from_,
        end=body.to,
        drafts=[d.model_dump(exclude_none=True) for d in body.drafts],
        only_drafts=body.only_drafts,
        with_orders=body.with_orders,
    )


@router.get("/earnings/{earn_id}")
def explain(
    brand_id: str, earn_id: int, _r: BrandReader, _p: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """Why an earning paid what it did: each rule (and version) with its points and reason."""
    return explain_earning(engine=state.engine, brand_id=brand_id, earn_id=earn_id)


@router.post("/members/{address}/referral-code")
def referral_code(
    brand_id: str, address: str, _r: BrandReader, _p: ProgramDep, state: StateDep
) -> dict[str, str]:
    """The member's referral code (made on first ask, then kept)."""
    code = referrals.referral_code(engine=state.engine, brand_id=brand_id, member=address)
    return {"member": checksum_address(address), "referral_code": code}


@router.put("/members/{address}/profile")
def put_profile(
    brand_id: str, address: str, body: ProfileIn, _i: IssuerDep, _p: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """Record a member's birth month and/or the referral code they joined with (a referral
    to themselves, a loop, a second referrer or after an order is refused: 422)."""
    return referrals.set_profile(
        engine=state.engine,
        brand_id=brand_id,
        member=address,
        birth_month=body.birth_month,
        referral=body.referral_code,
    )


@router.post("/registrations", response_model=EarnOut, responses={202: {"description": "Queued."}})
def register(
    brand_id: str,
    body: RegistrationIn,
    _i: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
) -> Any:
    """A member joined: record the profile (and referral), pay the welcome bonus once (the
    brand's rules for action:signup)."""
    return earn_reply(
        state,
        on_registration(
            engine=state.engine,
            sender=state.brand_writer(brand_id),
            program=program,
            member=body.member,
            referral_code=body.referral_code,
            birth_month=body.birth_month,
            queued=state.settings.outbox,
        ),
        prefer,
    )


@router.get("/tier-rule")
def get_tier_rule(brand_id: str, _r: BrandReader, program: ProgramDep, state: StateDep) -> Any:
    """The brand's tier rule (null: none), with the names of the pass's tiers."""
    policy = tiers.get_tier_rule(engine=state.engine, brand_id=brand_id)
    if policy is None:
        return None
    names = views.tier_names(engine=state.engine, pass_contract=program.pass_)
    return tiers.policy_json(policy) | {"tiers": names}


@router.put("/tier-rule")
def put_tier_rule(
    brand_id: str,
    body: TierRuleIn,
    _m: ProgrammeManagerDep,
    program: ProgramDep,
    state: StateDep,
) -> dict[str, Any]:
    """Set how members qualify for tiers: points earned or amount spent over a rolling window,
    a minimum per tier (tier numbers of the brand's pass) and the grace before a downgrade."""
    return tiers.put_tier_rule(
        engine=state.engine,
        brand_id=brand_id,
        tier_count=len(passes.tiers(w3=state.w3, program=program)),
        **body.model_dump(),
    )


@router.post("/tiers/evaluate")
def evaluate_tiers(
    brand_id: str, _m: ProgrammeManagerDep, program: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """Evaluate every pass holder now and queue their tier changes in the outbox (a re-run the
    same day changes nothing twice); the intents' states are at GET /operations/{id}."""
    sender = state.brand_sender(brand_id)
    state.submit_for(sender)
    return tier_job.evaluate_tiers(engine=state.engine, sender=sender, program=program)


@router.post("/rules/run-daily")
def run_daily(
    brand_id: str, _m: ProgrammeManagerDep, program: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """The brand's daily rules run now (the main job runs it every day): birthday bonuses for
    the members born this month (its `action:birthday` rules, once a year each), then the tier
    evaluation; the writes are queued in the outbox, and a re-run grants nothing twice."""
    sender = state.brand_writer(brand_id)
    return daily.run_daily(engine=state.engine, sender=sender, program=program)
