"""What happens when a member joins a brand: their profile (birth month, the referral code
they came with, linked to the referrer) and the welcome bonus, which is the brand's rules for
the `signup` action like any other (`action:signup`; by default `bonus-signup`)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.programme import earn
from loyalty_ledger.store.offchain import EarnRecord, table
from loyalty_ledger.validate import checksum_address

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


def joined(*, engine: Engine, brand_id: str, member: str) -> bool:
    """Has `member` joined `brand_id` (its welcome claimed, paid or under way)? A member
    registered on the network joins each brand of it once."""
    t = table(EarnRecord)
    key = f"action:signup:{checksum_address(member)}"
    with engine.connect() as conn:
        found = conn.execute(
            select(t.c.id).where(t.c.brand_id == brand_id, t.c.idem_key == key).limit(1)
        ).first()
    return found is not None
