"""Brand insights (any key of the brand, the operator or an auditor) and NPS survey answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from sqlalchemy import Engine

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.insights import report
from loyalty_ledger.insights.period import Period, make_period
from loyalty_ledger.insights.surveys import record_answer
from loyalty_ledger.programme import earn

from ..deps import BrandReader, IssuerDep, ProgramDep, StateDep

router = APIRouter(prefix="/brands/{brand_id}", tags=["insights"])

From = Annotated[
    str | None, Query(alias="from", description="start date YYYY-MM-DD (UTC), inclusive")
]
To = Annotated[str | None, Query(alias="to", description="end date YYYY-MM-DD (UTC), exclusive")]


@dataclass(frozen=True)
class Scope:
    """What every metric reads: the brand's program, the mirror and the period."""

    engine: Engine
    program: Program
    period: Period

    @property
    def kw(self) -> dict[str, Any]:
        return {"engine": self.engine, "program": self.program, "period": self.period}


def insight_scope(
    _r: BrandReader,
    program: ProgramDep,
    state: StateDep,
    f: From = None,
    t: To = None,
) -> Scope:
    """A reader of the brand (any of its keys, the operator, an auditor) and a valid period."""
    return Scope(engine=state.engine, program=program, period=make_period(f, t))


ScopeDep = Annotated[Scope, Depends(insight_scope)]


@router.get("/insights/clv")
def clv(scope: ScopeDep) -> dict[str, Any]:
    """Customer lifetime value over the period and its distribution."""
    return report.clv(**scope.kw)


@router.get("/insights/churn")
def churn(scope: ScopeDep) -> dict[str, Any]:
    """Churn rate over the period, and month over month."""
    return report.churn(**scope.kw)


@router.get("/insights/retention")
def retention(scope: ScopeDep) -> dict[str, Any]:
    """Retention by monthly cohort."""
    return report.retention(**scope.kw)


@router.get("/insights/basket")
def basket(scope: ScopeDep) -> dict[str, Any]:
    """Average order value and items per order, with the monthly trend."""
    return report.basket(**scope.kw)


@router.get("/insights/frequency")
def frequency(scope: ScopeDep) -> dict[str, Any]:
    """Purchase frequency and repeat-purchase rate."""
    return report.frequency(**scope.kw)


@router.get("/insights/top-customers")
def top_customers(
    scope: ScopeDep, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict[str, Any]:
    """The top customers by spend and by order count."""
    return report.top_customers(**scope.kw, limit=limit)


@router.get("/insights/nps")
def nps(scope: ScopeDep) -> dict[str, Any]:
    """Net Promoter Score from the survey answers in the period."""
    return report.nps(**scope.kw)


@router.get("/insights/points")
def points(scope: ScopeDep) -> dict[str, Any]:
    """Points economy: totals, expiry, swaps, liability, gifts, tiers and the books (all time);
    issued, swapped, expired and breakage per month of the period (`flows`)."""
    return report.points(**scope.kw)


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
