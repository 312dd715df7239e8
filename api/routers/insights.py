"""Brand insights (any key of the brand, the operator or an auditor) and NPS survey answers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import requests
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from sqlalchemy import Engine

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.errors import NodeUnreachable
from loyalty_ledger.insights import earning_split, report
from loyalty_ledger.insights.answers import Answers, mirror_version, next_expiry
from loyalty_ledger.insights.period import Period
from loyalty_ledger.insights.settings import MAX_CHURN_DAYS, get_settings, set_settings
from loyalty_ledger.insights.surveys import record_answer
from loyalty_ledger.ledger import outbox
from loyalty_ledger.programme import earn, views
from loyalty_ledger.programme.order_time import EARLIEST_ORDER, programme_start
from loyalty_ledger.store.reader import offchain_version

from ..deps import AppState, BrandReader, IssuerDep, ProgramDep, StateDep
from . import parts
from .operations import prefer_wait, settled_earning
from .writes import PreferHeader

router = APIRouter(prefix="/brands/{brand_id}", tags=["insights"])

From = Annotated[
    str | None,
    Query(
        alias="from",
        description="start date YYYY-MM-DD (UTC), inclusive; default: the first day of the "
        "month three full months ago (or of the programme's first month, if later)",
    ),
]
To = Annotated[
    str | None,
    Query(
        alias="to",
        description="end date YYYY-MM-DD (UTC), exclusive; default: tomorrow (this month to date)",
    ),
]


@dataclass(frozen=True)
class Scope:
    """What every metric reads: the brand's program, the mirror and the period, and the app's
    answers kept while nothing they read changed (`insights.answers`)."""

    engine: Engine
    program: Program
    period: Period
    answers: Answers

    @property
    def kw(self) -> dict[str, Any]:
        return {"engine": self.engine, "program": self.program, "period": self.period}

    def key(self, what: str, *more: Any) -> tuple[Any, ...]:
        """What an answer of the period is kept under: an ended period's under its end, a
        running one's under the minute it was asked in (`RUNNING_KEEP`), so that no answer, nor
        a dashboard made of kept parts, is older than that minute."""
        p = self.period
        when = ("running", p.now // RUNNING_KEEP) if p.partial else p.as_of
        return (self.program.brand_id, self.program.points, what, p.start, p.end, when, *more)

    def until(self, expiry: bool = False) -> float | None:
        """Until when an answer computed at the period's clock is served while nothing it reads
        changes: a running period's to the end of its minute (it says the second it is as of);
        one "as of now" (`expiry`: the points economy) until the next lot or pass expires."""
        p = self.period
        ends = [(p.now // RUNNING_KEEP + 1) * RUNNING_KEEP] if p.partial else []
        if expiry and (at := next_expiry(self.engine, self.program, p.now)) is not None:
            ends.append(at)
        return min(ends) if ends else None

    def answer(self, metric: str, version: str | None = None, **args: Any) -> dict[str, Any]:
        """A metric's answer, kept from an earlier request while nothing it reads changed: the
        points economy reads the mirror (kept per indexed head block) and the earn records, the
        others the earn records, rules, settings and surveys only (a new block leaves them be)."""
        key = self.key(metric, *args.items())
        if metric == "points":  # as of now: true until the next lot or pass expires
            return self.answers.get(  # type: ignore[no-any-return]
                key,
                version or mirror_version(self.engine),
                lambda: report.points(**self.kw, now=self.period.now),
                lambda: self.until(expiry=True),
            )
        fn = REPORTS[metric]
        return self.answers.get(  # type: ignore[no-any-return]
            key,
            offchain_version(self.engine),
            lambda: fn(**self.kw, **args),
            lambda: self.until(),
        )


REPORTS: dict[str, Callable[..., dict[str, Any]]] = {
    "clv": report.clv,
    "churn": report.churn,
    "retention": report.retention,
    "basket": report.basket,
    "frequency": report.frequency,
    "top_customers": report.top_customers,
    "nps": report.nps,
}
DASHBOARD = ("clv", "churn", "retention", "basket", "frequency", "top_customers", "nps", "points")
SLOWEST_FIRST = (  # the pool's workers then finish together
    *("clv", "churn", "retention", "basket", "top_customers", "frequency", "points", "nps"),
)
PARALLEL = 3
RUNNING_KEEP = 60  # a running period's answers are kept within the minute (of Unix time)
_answers_lock = threading.Lock()


def answers_of(request: Request) -> Answers:
    """The app's kept insights answers (made on first use)."""
    kept: Answers | None = getattr(request.app.state, "insights_answers", None)
    if kept is None:
        with _answers_lock:
            kept = getattr(request.app.state, "insights_answers", None)
            if kept is None:
                kept = request.app.state.insights_answers = Answers()
    return kept


def insight_scope(
    _r: BrandReader,
    program: ProgramDep,
    state: StateDep,
    request: Request,
    f: From = None,
    t: To = None,
) -> Scope:
    """A reader of the brand (any of its keys, the operator, an auditor) and a valid period."""
    period = report.period_for(engine=state.engine, program=program, start=f, end=t)
    return Scope(engine=state.engine, program=program, period=period, answers=answers_of(request))


ScopeDep = Annotated[Scope, Depends(insight_scope)]


@router.get("/insights/dashboard")
def dashboard(scope: ScopeDep, request: Request) -> Response:
    """Every metric of the dashboard in one answer (each as its own endpoint answers it), with
    the block the mirror is at: the dashboard's first load is one request. Kept per indexed
    head block and off-chain version (a running period's for a minute at most). With `Accept:
    application/x-ndjson`: the same as lines, the brand, period and block first, then
    `{"part": name, "answer": ...}` per metric as soon as it is ready (the page draws each)."""
    version = mirror_version(scope.engine)
    p = scope.period

    def head() -> dict[str, Any]:
        st = views.mirror_state(engine=scope.engine)
        return {
            "brand_id": scope.program.brand_id,
            "period": p.to_json(),
            "as_of_block": st["checkpoint_block"] if st else None,
        }

    def work(name: str) -> dict[str, Any]:
        return scope.answer(name, version)

    key = scope.key("dashboard")
    if parts.wants_ndjson(request.headers.get("accept")):
        lines_key = (*key, parts.NDJSON)
        kept = scope.answers.peek(lines_key, version)
        if kept is not None:  # every line at once, as the one answer would be
            return Response(kept, media_type=parts.NDJSON)

        def keep(lines: bytes) -> None:
            scope.answers.put(lines_key, version, lines, scope.until(expiry=True))

        lines = parts.stream(head, SLOWEST_FIRST, work, PARALLEL, keep)
        return StreamingResponse(lines, media_type=parts.NDJSON)

    def body() -> bytes:
        # The parts in parallel: their SQL runs without the GIL (SQLite in the process, or
        # the PostgreSQL server), so two cores draw the charts sooner.
        top = head()
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            done = dict(zip(SLOWEST_FIRST, pool.map(work, SLOWEST_FIRST), strict=True))
        return parts.dumps(top | {name: done[name] for name in DASHBOARD})

    data = scope.answers.get(key, version, body, lambda: scope.until(expiry=True))
    return Response(data, media_type="application/json")


@router.get("/insights/clv")
def clv(scope: ScopeDep) -> dict[str, Any]:
    """Customer lifetime value to date, predicted value, and spend in the period."""
    return scope.answer("clv")


@router.get("/insights/churn")
def churn(scope: ScopeDep) -> dict[str, Any]:
    """Churn as N days without a purchase, month on month, and activity-based."""
    return scope.answer("churn")


@router.get("/insights/retention")
def retention(scope: ScopeDep) -> dict[str, Any]:
    """Retention by first-purchase cohort (and by first-activity cohort)."""
    return scope.answer("retention")


@router.get("/insights/basket")
def basket(scope: ScopeDep) -> dict[str, Any]:
    """Average order value and items per order, monthly, and the previous period's totals."""
    return scope.answer("basket")


@router.get("/insights/frequency")
def frequency(scope: ScopeDep) -> dict[str, Any]:
    """Purchase frequency and repeat-purchase rate."""
    return scope.answer("frequency")


@router.get("/insights/top-customers")
def top_customers(
    scope: ScopeDep, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict[str, Any]:
    """The top customers by spend and by order count."""
    return scope.answer("top_customers", limit=limit)


@router.get("/insights/nps")
def nps(scope: ScopeDep) -> dict[str, Any]:
    """Net Promoter Score from the survey answers in the period."""
    return scope.answer("nps")


@router.get("/insights/points")
def points(scope: ScopeDep) -> dict[str, Any]:
    """Points economy: totals, expiry, swaps, liability, gifts, tiers and the books (all time);
    issued, swapped, expired and breakage per month of the period (`flows`)."""
    return scope.answer("points")


class InsightsSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    churn_days: StrictInt = Field(ge=1, le=MAX_CHURN_DAYS)


@router.get("/insights/settings")
def insights_settings(brand_id: str, _r: BrandReader, _p: ProgramDep, state: StateDep) -> Any:
    """The brand's insights settings: churn = `churn_days` without a purchase (default 90)."""
    return get_settings(engine=state.engine, brand_id=brand_id)


@router.put("/insights/settings")
def put_insights_settings(
    brand_id: str, body: InsightsSettingsIn, _i: IssuerDep, _p: ProgramDep, state: StateDep
) -> Any:
    """Set how many days without a purchase make a customer churned."""
    return set_settings(engine=state.engine, brand_id=brand_id, churn_days=body.churn_days)


class SurveyAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: StrictStr
    survey_id: StrictStr = Field(min_length=1, max_length=64)
    score: StrictInt = Field(ge=0, le=10)
    comment: StrictStr = Field(default="", max_length=500)
    # Unix seconds (default: now); at most 5 minutes ahead of the server's clock and not before
    # the programme began, like an order's time (checked by the domain layer: 422 invalid_input).
    answered_at: StrictInt | None = Field(default=None, ge=0, le=2**62)
    earn_bonus: StrictBool = False


def _programme_start(state: AppState, program: Program) -> int:
    """When the programme began (its deploy block's time); the 2000-01-01 floor when the node
    does not answer (a survey answer needs no chain otherwise)."""
    try:
        return programme_start(state.w3, program)
    except (NodeUnreachable, requests.RequestException, OSError):
        return EARLIEST_ORDER


@router.post("/surveys/answers", status_code=201)
def survey_answer(
    brand_id: str,
    body: SurveyAnswerIn,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
) -> dict[str, Any]:
    """Record a member's NPS answer (0-10), once per survey; optionally earn the survey bonus
    (queued in the outbox: `earned.status` is pending until mined; Prefer: wait=N waits)."""
    answer, duplicate = record_answer(
        engine=state.engine,
        brand_id=brand_id,
        member=body.member,
        survey_id=body.survey_id,
        score=body.score,
        comment=body.comment,
        answered_at=body.answered_at,
        earliest=EARLIEST_ORDER if body.answered_at is None else _programme_start(state, program),
    )
    earned = None
    if body.earn_bonus:
        e = earn.earn_action(
            engine=state.engine,
            sender=state.brand_sender(brand_id),
            program=program,
            member=answer["member"],
            action="survey",
            action_id=f"{body.survey_id}:{answer['member']}",
            queued=state.settings.outbox,
        )
        earned = {**e.record, "duplicate": e.duplicate}
        if earned["status"] == "pending" and earned.get("intent_id"):
            row = outbox.wait(state.engine, earned["intent_id"], prefer_wait(prefer))
            earned |= settled_earning(row or {})
    return {"answer": answer, "duplicate": duplicate, "earned": earned}


@router.get("/insights/earnings-split")
def earnings_split(
    scope: ScopeDep,
    by: Annotated[Literal["rule", "channel", "store"], Query(description="split by")] = "rule",
) -> list[dict[str, Any]]:
    """Points, earnings and members in the period per earn rule, channel or store."""
    return earning_split.earnings_split(
        engine=scope.engine, brand_id=scope.program.brand_id, period=scope.period, by=by
    )


@router.get("/insights/tier-migration")
def tier_migration(scope: ScopeDep) -> dict[str, int]:
    """Members whose tier went up, down or stayed in the period (the tier job's changes)."""
    return earning_split.tier_moves(
        engine=scope.engine, brand_id=scope.program.brand_id, period=scope.period
    )
