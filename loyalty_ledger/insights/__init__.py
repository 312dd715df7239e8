"""Loyalty metrics of a brand: CLV (lifetime and predicted), churn, retention, basket,
frequency, top customers, NPS, points economy. `metrics`, `lifecycle` and `economy` are pure;
`queries` and `ledger_queries` read SQL; `report` joins them per brand and period; `render`
prints the text report.

May import `programme` (earn rules), `store`, `chain` (the deployment) and the base modules.
"""

from .period import Period, make_period
from .report import METRICS, full_report, period_for

__all__ = ["METRICS", "Period", "full_report", "make_period", "period_for"]
