"""Brand insights (any key of the brand, the operator or an auditor) and NPS survey answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from sqlalchemy import Engine

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.insights import report
from loyalty_ledger.insights.answers import Answers, next_expiry
from loyalty_ledger.insights.period import Period, make_period
from loyalty_ledger.insights.surveys import record_answer
from loyalty_ledger.programme import earn, views
from loyalty_ledger.store.reader import database_version, offchain_version

from ..deps import BrandReader, IssuerDep, ProgramDep, StateDep

router = APIRouter(prefix="/brands/{brand_id}", tags=["insights"])

From = Annotated[
    str | None, Query(alias="from", description="start date YYYY-MM-DD (UTC), inclusive")
]
To = Annotated[str | None, Query(alias="to", description="end date YYYY-MM-DD (UTC), exclusive")]


@dataclass(frozen=True)
class Scope:
    """What every metric reads: the brand's program, the mirror and the period, and the app's
    answers kept while the database is unchanged (`insights.answers`)."""

    engine: Engine
    program: Program
    period: Period
    answers: Answers

    @property
    def kw(self) -> dict[str, Any]:
        return {"engine": self.engine, "program": self.program, "period": self.period}

    def answer(self, metric: str, version: str | None = None, **args: Any) -> dict[str, Any]:
        """A metric's answer, kept from an earlier request while nothing it reads changed: the
        points economy reads the mirror (any commit changes its version), the others only the
        earn records, earn rules and survey answers (a new indexed block leaves them be)."""
        p = self.period
        key = (self.program.brand_id, self.program.points, metric, p.start, p.end, *args.items())
        if metric == "points":  # as of now: true until the next lot or pass expires
            now = int(time.time())
            return self.answers.get(  # type: ignore[no-any-return]
                key,
                version or database_version(self.engine),
                lambda: report.points(**self.kw, now=now),
                lambda: next_expiry(self.engine, self.program, now),
            )
        version = offchain_version(self.engine)
        group = GROUPS.get(metric) if not args else None
        if group is not None:  # one read answers its siblings too: keep them all
            fn, names = group
            hit = self.answers.peek(key, version)
            if hit is not None:
                return hit  # type: ignore[no-any-return]
            every = fn(**self.kw)
            for name in names:
                self.answers.put((*key[:2], name, *key[3:]), version, every[name])
            return every[metric]  # type: ignore[no-any-return]
        fn = REPORTS[metric]
        return self.answers.get(  # type: ignore[no-any-return]
            key, version, lambda: fn(**self.kw, **args)
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
# Metrics computed together from one read (the default top-customers limit only).
GROUPS: dict[str, tuple[Callable[..., dict[str, dict[str, Any]]], tuple[str, ...]]] = {
    name: (report.by_customer, ("clv", "frequency", "top_customers"))
    for name in ("clv", "frequency", "top_customers")
} | {name: (report.lifecycle, ("churn", "retention")) for name in ("churn", "retention")}
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
    return Scope(
        engine=state.engine,
        program=program,
        period=make_period(f, t),
        answers=answers_of(request),
    )


ScopeDep = Annotated[Scope, Depends(insight_scope)]


@router.get("/insights/dashboard")
def dashboard(scope: ScopeDep) -> Response:
    """Every metric of the dashboard in one answer (each as its own endpoint answers it), kept
    while nothing it reads changed: the dashboard's first load is one request."""
    version = database_version(scope.engine)
    p = scope.period
    key = (scope.program.brand_id, scope.program.points, "dashboard", p.start, p.end)

    def body() -> bytes:
        st = views.mirror_state(engine=scope.engine)
        head = {
            "brand_id": scope.program.brand_id,
            "period": p.to_json(),
            "as_of_block": st["checkpoint_block"] if st else None,
        }
        parts = {name: scope.answer(name, version) for name in DASHBOARD}
        return orjson.dumps(jsonable_encoder(head | parts))

    now = int(time.time())  # the points part is true until the next expiry after this
    data = scope.answers.get(
        key, version, body, lambda: next_expiry(scope.engine, scope.program, now)
    )
    return Response(data, media_type="application/json")


DASHBOARD = ("clv", "churn", "retention", "basket", "frequency", "top_customers", "nps", "points")


@router.get("/insights/clv")
def clv(scope: ScopeDep) -> dict[str, Any]:
    """Customer lifetime value over the period and its distribution."""
    return scope.answer("clv")


@router.get("/insights/churn")
def churn(scope: ScopeDep) -> dict[str, Any]:
    """Churn rate over the period, and month over month."""
    return scope.answer("churn")


@router.get("/insights/retention")
def retention(scope: ScopeDep) -> dict[str, Any]:
    """Retention by monthly cohort."""
    return scope.answer("retention")


@router.get("/insights/basket")
def basket(scope: ScopeDep) -> dict[str, Any]:
    """Average order value and items per order, with the monthly trend."""
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
    if limit == 10:  # the default: shared with the other metrics of the customers' stats
        return scope.answer("top_customers")
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


class SurveyAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: StrictStr
    survey_id: StrictStr = Field(min_length=1, max_length=64)
    score: StrictInt = Field(ge=0, le=10)
    comment: StrictStr = Field(default="", max_length=500)
    answered_at: StrictInt | None = Field(default=None, ge=0, le=2**62)
    earn_bonus: StrictBool = False


@router.post("/surveys/answers", status_code=201)
def survey_answer(
    brand_id: str, body: SurveyAnswerIn, _p: IssuerDep, program: ProgramDep, state: StateDep
) -> dict[str, Any]:
    """Record a member's NPS answer (0-10), once per survey; optionally earn the survey bonus."""
    answer, duplicate = record_answer(
        engine=state.engine,
        brand_id=brand_id,
        member=body.member,
        survey_id=body.survey_id,
        score=body.score,
        comment=body.comment,
        answered_at=body.answered_at,
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
        )
        earned = {**e.record, "duplicate": e.duplicate}
    return {"answer": answer, "duplicate": duplicate, "earned": earned}
