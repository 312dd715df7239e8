"""The daily rules job on SQLite and PostgreSQL against a real chain: the birthday bonus is
the brand's `action:birthday` rule, granted without a purchase to the members born this month,
once a year, through the outbox; the job killed half-way and re-run grants nobody twice; the
main job's run (`service.daily.run_all`) does the same."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from eth_account import Account

from loyalty_ledger import ledger
from loyalty_ledger.programme import earn
from loyalty_ledger.programme.rules import daily
from loyalty_ledger.programme.rules.referrals import set_profile
from loyalty_ledger.service.daily import keep_daily, run_all

from .conftest import Env, onboard_brand
from .test_tiers import _drain

pytestmark = pytest.mark.chain


def test_birthday_bonus_once_a_year_killed_and_rerun(
    any_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, c = any_env, any_env.client
    bid = "bd" + uuid.uuid4().hex[:8]
    onboard_brand(env, bid)
    sender, program = env.state.brand_sender(bid), env.deployment.program(bid)
    eng = env.state.engine
    month = datetime.now(UTC).month
    members = [Account.create().address for _ in range(4)]
    ledger.register_members(
        sender=env.state.sender("operator"), deployment=env.deployment, members=members
    )
    for m, born in zip(members, (month, month % 12 + 1, month, None), strict=True):
        set_profile(engine=eng, brand_id=bid, member=m, birth_month=born)
    # No birthday rule yet: nothing is due, nothing granted.
    assert daily.grant_birthdays(engine=eng, sender=sender, program=program)["rule"] is False
    rule = {
        "trigger": "action:birthday",
        "conditions": {"birthday_month": True},
        "effect": {"type": "fixed", "points": 150},
        "limit": {"count": 1, "period": "year"},
        "name": "Happy birthday",
    }
    r = c.put(f"/brands/{bid}/rules/birthday-gift", json=rule, headers=env.h(f"{bid}:all"))
    assert r.status_code == 200, r.text

    real, calls = earn.earn_action, []

    def dying(**kw: object) -> earn.Earned:  # the job dies after its first grant
        if calls:
            raise SystemExit("killed")
        calls.append(kw["member"])
        return real(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(earn, "earn_action", dying)
    with pytest.raises(SystemExit):
        daily.grant_birthdays(engine=eng, sender=sender, program=program)
    monkeypatch.setattr(earn, "earn_action", real)
    born_now = sorted([members[0], members[2]])
    assert daily.due_birthdays(eng, bid, month, datetime.now(UTC).year) == [
        m for m in born_now if m not in calls
    ]
    out = daily.run_daily(engine=eng, sender=sender, program=program)
    assert out["birthday"]["granted"] == 1 and out["birthday"]["points"] == 150, out
    assert out["tiers"] is None  # the brand has no tier rule
    again = daily.run_daily(engine=eng, sender=sender, program=program)
    assert again["birthday"] == {**again["birthday"], "due": 0, "granted": 0}
    path = f"/brands/{bid}/rules/run-daily"
    assert c.post(path, headers=env.h(f"{bid}:viewer")).status_code == 403
    r = c.post(path, headers=env.h(f"{bid}:perk_manager"))
    assert r.status_code == 200 and r.json()["birthday"]["granted"] == 0, r.text
    assert bid in {r["brand_id"] for r in run_all(env.state)}  # the main job's run: no more
    said: list[str] = []
    stop = threading.Event()
    thread = keep_daily(env.state, stop, said.append, first_delay=0, check_every=0.05)
    deadline = time.monotonic() + 20
    while not said and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert said and said[0].startswith("daily rules ") and " 0 birthday bonus(es)" in said[0]
    _drain(env, sender)
    got = [ledger.balance_of(w3=env.w3, program=program, member=m) for m in members]
    assert got == [150, 0, 150, 0]
    earnings = c.get(f"/brands/{bid}/earnings", headers=env.h(f"{bid}:viewer")).json()
    mine = [e for e in earnings if e["reason"] == "birthday"]
    assert sorted(e["member"] for e in mine) == born_now
    assert all(e["status"] == "confirmed" for e in mine)
    why = c.get(f"/brands/{bid}/earnings/{mine[0]['id']}", headers=env.h(f"{bid}:viewer"))
    assert [x["rule_id"] for x in why.json()["lines"]] == ["birthday-gift"]
