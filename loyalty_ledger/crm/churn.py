"""Churn risk and RFM scores, pure and explainable (no trained weights).

Churn risk is the chance that a customer has stopped buying, given how long it has been since
their last purchase (recency r, days) and how often they usually buy (their gap g, days):

- g: the customer's average gap between purchases, shrunk towards the brand's typical gap G
  (the median gap of customers with two or more purchases) with the weight of one gap, so a
  one-order customer gets G and a regular gets close to their own rhythm;
- an active customer makes no purchase in r days with probability exp(-r / g) (purchases as a
  Poisson process);
- a customer leaves at the brand's monthly hazard h, so has left within r days with
  probability q = 1 - exp(-h r / 30); h = the customers silent for more than 4 of their own
  gaps, per customer-month observed;
- risk = q / (q + (1 - q) exp(-r / g)) (Bayes: gone, or still here and just quiet).

The score is risk x 100, rounded; "at risk" is 50 and above. Each score carries r, g, the
purchases missed (r / g) and q, so a manager can see why. RFM: recency, frequency and monetary
quintiles (5 best) over the brand's buying customers. Precision and recall on the demo:
docs/segments.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

DAY = 86_400
AT_RISK = 50  # a churn-risk score at or above this is "at risk"
SILENT_GAPS = 4  # silent for more than this many own gaps: counted as gone for the hazard


@dataclass(frozen=True)
class Buyer:
    """A customer's purchases before the as-of time."""

    member: str
    orders: int
    spend: int
    first: int  # Unix seconds
    last: int


@dataclass(frozen=True)
class Risk:
    """A churn-risk score and its reasons."""

    score: int  # 0-100
    recency_days: float
    gap_days: float
    missed: float  # purchases an active customer would have made since the last one
    left_prior: float  # q: chance of having left in that time at the brand's hazard


def typical_gap(buyers: Sequence[Buyer]) -> float:
    """G: the median average gap (days) of customers with two or more purchases (30 if none)."""
    gaps = [(b.last - b.first) / DAY / (b.orders - 1) for b in buyers if b.orders > 1]
    return max(1.0, median(gaps)) if gaps else 30.0


def own_gap(b: Buyer, brand_gap: float) -> float:
    """The customer's gap, shrunk towards the brand's by one gap's weight."""
    return max(1.0, ((b.last - b.first) / DAY + brand_gap) / b.orders)


def monthly_hazard(buyers: Sequence[Buyer], as_of: int, brand_gap: float) -> float:
    """h: customers silent for more than SILENT_GAPS own gaps, per customer-month observed."""
    gone, months = 0, 0.0
    for b in buyers:
        gap = own_gap(b, brand_gap)
        silent = (as_of - b.last) / DAY
        if silent > SILENT_GAPS * gap:
            gone += 1
            months += ((b.last - b.first) / DAY + SILENT_GAPS * gap) / 30
        else:
            months += (as_of - b.first) / DAY / 30
    return gone / months if months > 0 else 0.0


def risk(b: Buyer, *, as_of: int, brand_gap: float, hazard: float) -> Risk:
    """The churn risk of one customer."""
    r = max(0.0, (as_of - b.last) / DAY)
    g = own_gap(b, brand_gap)
    q = 1 - math.exp(-hazard * r / 30)
    quiet = math.exp(-r / g)
    p = q / (q + (1 - q) * quiet) if q > 0 else 0.0
    return Risk(round(100 * p), round(r, 1), round(g, 1), round(r / g, 2), round(q, 3))


def risks(buyers: Sequence[Buyer], *, as_of: int) -> dict[str, Risk]:
    """Every customer's churn risk, with the brand's gap and hazard taken from the same data."""
    gap = typical_gap(buyers)
    h = monthly_hazard(buyers, as_of, gap)
    return {b.member: risk(b, as_of=as_of, brand_gap=gap, hazard=h) for b in buyers}


def _quintiles(values: dict[str, float]) -> dict[str, int]:
    """1-5 by rank (5: the highest fifth); ties share the lower rank's quintile."""
    ordered = sorted(values.values())
    n = len(ordered)
    first_rank: dict[float, int] = {}
    for i, v in enumerate(ordered):
        first_rank.setdefault(v, i)
    return {k: 1 + (5 * first_rank[v]) // n for k, v in values.items()}


def rfm(buyers: Sequence[Buyer], *, as_of: int) -> dict[str, tuple[int, int, int]]:
    """(R, F, M) quintiles, 1-5, 5 best: the most recent, most frequent, biggest spenders."""
    if not buyers:
        return {}
    r = _quintiles({b.member: -(as_of - b.last) for b in buyers})
    f = _quintiles({b.member: b.orders for b in buyers})
    m = _quintiles({b.member: b.spend for b in buyers})
    return {b.member: (r[b.member], f[b.member], m[b.member]) for b in buyers}


def precision_recall(predicted: Iterable[str], actual: Iterable[str]) -> dict[str, float]:
    """Precision, recall and F1 of a predicted set against the true one."""
    p, a = set(predicted), set(actual)
    hit = len(p & a)
    precision = hit / len(p) if p else 0.0
    recall = hit / len(a) if a else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}
