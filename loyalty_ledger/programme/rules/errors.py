"""The earn rules' own errors (the API answers UnknownRule with 404, ReferralRefused 422)."""

from __future__ import annotations

from loyalty_ledger.errors import LedgerValueError, NotFound


class UnknownRule(NotFound):
    """No such earn rule, rule version, campaign or earning in this brand."""

    code = "unknown_rule"


class ReferralRefused(LedgerValueError):
    """A referral that cannot be: self-referral, a loop, an unknown code, already referred."""

    code = "referral_refused"
