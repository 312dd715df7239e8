"""Loyalty metrics of a brand: CLV, churn, retention, basket, frequency, top customers, NPS,
points economy. `metrics` is pure; `queries` reads SQL; `report` joins them per brand/period.

May import `programme` (earn rules), `store`, `chain` (the deployment) and the base modules.
"""

from .period import Period, make_period
from .report import METRICS, full_report

__all__ = ["METRICS", "Period", "full_report", "make_period"]
