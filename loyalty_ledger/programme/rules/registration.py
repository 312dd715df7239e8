"""What happens when a member joins a brand: their profile (birth month, the referral code
they came with, linked to the referrer) and the welcome bonus, which is the brand's rules for
the `signup` action like any other (`action:signup`; by default `bonus-signup`)."""

from __future__ import annotations

from sqlalchemy import Engine

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.programme import earn

from .referrals import set_profile


def on_registration(
    *,
    engine: Engine,
    sender: Sender,
    program: Program,
    member: str,
    referral_code: str | None = None,
    birth_month: int | None = None,
    queued: bool = False,
) -> earn.Earned:
    """Record the new member's profile (refusing a bad referral before anything is paid),
    then pay the welcome bonus once (action id: the member's address)."""
    set_profile(
        engine=engine,
        brand_id=program.brand_id,
        member=member,
        birth_month=birth_month,
        referral=referral_code,
    )
    return earn.earn_action(
        engine=engine,
        sender=sender,
        program=program,
        member=member,
        action="signup",
        action_id=member,
        queued=queued,
    )
