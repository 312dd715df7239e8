"""The submitter against a real anvil, on SQLite and PostgreSQL: batching, a reverting item in
a batch, a crash before the broadcast, a nonce taken by another transaction, two submitters."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import Engine, func, select
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.chain.submitter import MAX_MINED_REVERTS, Submitter
from loyalty_ledger.config import Settings
from loyalty_ledger.ledger import outbox
from loyalty_ledger.store import make_engine, migrate
from loyalty_ledger.store import outbox as sql

from ..pg import fresh_schema
from .conftest import BRAND_KEY, MEMBERS, OPERATOR_KEY


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ob.db'}"
        eng = make_engine(url)
        migrate(eng)
        yield eng, url
        eng.dispose()
        return
    with fresh_schema("ob") as url:
        eng = make_engine(url)
        migrate(eng)
        yield eng, url
        eng.dispose()


def _queue(
    eng: Engine, sender: Sender, dep: Deployment, items: list[tuple[str, int, str]]
) -> list[int]:
    issuer = outbox.Issuer(sender, dep.program("acme"))
    ids = []
    with eng.begin() as conn:
        for member, amount, ref in items:
            ids.append(
                issuer.issue(
                    conn,
                    idem_key=f"t:{ref}",
                    member=member,
                    amount=amount,
                    reason="purchase",
                    ref=ref,
                )
            )
    return ids


def _drain(sub: Submitter, eng: Engine, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sub.step()
        c = sql.counts(eng)
        if not c.get("queued") and not c.get("sent"):
            return
        time.sleep(0.02)
    raise AssertionError(f"not drained: {sql.counts(eng)}")


def _balances(w3: Web3, dep: Deployment) -> dict[str, int]:
    return {
        m.address: ledger.balance_of(w3=w3, program=dep.program("acme"), member=m.address)
        for m in MEMBERS
    }


def test_batches_and_a_bad_item_fails_alone(net: Any, db: Any) -> None:
    w3, dep, _ = net
    eng, _url = db
    sender = Sender(w3, BRAND_KEY, decoder=error_decoder())
    before = _balances(w3, dep)
    stranger = Account.create().address  # not a member: reverts PointsNotAMember
    op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
    ledger.freeze_member(sender=op, deployment=dep, member=MEMBERS[5].address)
    items = [(m.address, i + 1, f"{eng.dialect.name}-o{i}") for i, m in enumerate(MEMBERS[:10])]
    items.insert(3, (stranger, 7, f"{eng.dialect.name}-bad"))
    ids = _queue(eng, sender, dep, items)
    sub = Submitter(sender, sql.SqlOutbox(eng, sender.address), batch_items=50, batch_ms=0)
    sub.start()
    _drain(sub, eng)
    ledger.unfreeze_member(sender=op, deployment=dep, member=MEMBERS[5].address)
    rows = {i: sql.intent(eng, i) for i in ids}
    failed = {i: r for i, r in rows.items() if r and r["state"] == "failed"}
    assert {r["error_code"] for r in failed.values()} == {"not_a_member", "account_frozen"}
    assert {r["member"] for r in failed.values()} == {stranger, MEMBERS[5].address}
    mined = [r for r in rows.values() if r and r["state"] == "mined"]
    assert len(mined) == 9 and len({r["tx_hash"] for r in mined}) <= 3  # batched
    after = _balances(w3, dep)
    for i, m in enumerate(MEMBERS[:10]):
        assert after[m.address] - before[m.address] == (0 if i == 5 else i + 1)


def test_crash_before_broadcast_and_lost_nonce(net: Any, db: Any, monkeypatch: Any) -> None:
    w3, dep, _ = net
    eng, _url = db
    sender = Sender(w3, BRAND_KEY, decoder=error_decoder())
    before = _balances(w3, dep)
    tag = eng.dialect.name
    _queue(eng, sender, dep, [(MEMBERS[0].address, 5, f"{tag}-crash")])
    sub = Submitter(sender, sql.SqlOutbox(eng, sender.address), batch_ms=0)
    sub.start()
    monkeypatch.setattr(Submitter, "_broadcast", lambda self, raw: None)  # "dies" here
    sub.step()
    assert sql.counts(eng).get("sent") == 1
    monkeypatch.undo()
    # meanwhile the key sends something else with the nonce the lost tx holds
    rogue = Sender(w3, BRAND_KEY, decoder=error_decoder())
    _queue(eng, sender, dep, [(MEMBERS[1].address, 3, f"{tag}-after")])
    ledger.issue_points(
        sender=rogue, program=dep.program("acme"), member=MEMBERS[2].address, amount=1
    )
    restarted = Submitter(
        Sender(w3, BRAND_KEY, decoder=error_decoder()),
        sql.SqlOutbox(eng, sender.address),
        batch_ms=0,
    )
    restarted.start()
    _drain(restarted, eng)
    after = _balances(w3, dep)
    assert after[MEMBERS[0].address] - before[MEMBERS[0].address] == 5  # once, not twice
    assert after[MEMBERS[1].address] - before[MEMBERS[1].address] == 3
    assert sql.counts(eng) == {"mined": 2}


def test_a_receipt_served_late_is_not_a_lost_nonce(net: Any, db: Any, monkeypatch: Any) -> None:
    """A node may count a mined transaction's nonce before it serves its receipt (CI once saw
    "nonce went to another transaction" and then a batch credited twice): the submitter looks
    again, and never queues again a transaction that is in a block."""
    w3, dep, _ = net
    eng, _url = db
    sender = Sender(w3, BRAND_KEY, decoder=error_decoder())
    member = MEMBERS[3].address
    before = _balances(w3, dep)[member]
    _queue(eng, sender, dep, [(member, 7, f"{eng.dialect.name}-late")])
    sub = Submitter(sender, sql.SqlOutbox(eng, sender.address), batch_ms=0)
    sub.start()
    assert sub.send_ready() == 1  # mined at once (automining)
    real, misses = Submitter._receipts, [2]  # the first two looks find no receipt

    def late(self: Submitter, hashes: list[str]) -> list[dict[str, Any] | None]:
        if misses[0]:
            misses[0] -= 1
            return [None] * len(hashes)
        return real(self, hashes)

    monkeypatch.setattr(Submitter, "_receipts", late)
    sub.reconcile()  # its nonce is used and it has no receipt, but it is in a block: it waits
    assert not misses[0] and sql.counts(eng) == {"sent": 1}
    _drain(sub, eng)
    assert _balances(w3, dep)[member] - before == 7  # once, not twice
    assert sql.counts(eng) == {"mined": 1}


def test_a_dropped_tx_is_re_sent_on_start(net: Any, db: Any, monkeypatch: Any) -> None:
    w3, dep, _ = net
    eng, _url = db
    sender = Sender(w3, BRAND_KEY, decoder=error_decoder())
    before = _balances(w3, dep)
    _queue(eng, sender, dep, [(MEMBERS[3].address, 4, f"{eng.dialect.name}-drop")])
    sub = Submitter(sender, sql.SqlOutbox(eng, sender.address), batch_ms=0)
    sub.start()
    monkeypatch.setattr(Submitter, "_broadcast", lambda self, raw: None)
    sub.step()
    monkeypatch.undo()
    again = Submitter(
        Sender(w3, BRAND_KEY, decoder=error_decoder()),
        sql.SqlOutbox(eng, sender.address),
        batch_ms=0,
    )
    again.start()  # nothing stays pending across a restart
    _drain(again, eng)
    assert _balances(w3, dep)[MEMBERS[3].address] - before[MEMBERS[3].address] == 4


def test_two_submitters_one_sends_then_the_other_takes_over(net: Any, db: Any) -> None:
    w3, dep, _ = net
    eng, url = db
    settings = Settings(rpc_url="http://127.0.0.1:1", outbox_batch_ms=0, _env_file=None)  # type: ignore[call-arg]
    leases: list[str] = []
    stops = {"a": threading.Event(), "b": threading.Event()}
    senders = {k: Sender(w3, BRAND_KEY, decoder=error_decoder()) for k in stops}
    threads = {
        k: threading.Thread(
            target=outbox.run_submitter,
            kwargs={
                "engine": eng,
                "url": url,
                "sender": senders[k],
                "settings": settings,
                "stop": stops[k],
                "on_lease": lambda _ok, k=k: leases.append(k),
            },
            daemon=True,
        )
        for k in stops
    }
    for t in threads.values():
        t.start()
    tag = eng.dialect.name
    first = _queue(eng, senders["a"], dep, [(MEMBERS[4].address, 2, f"{tag}-l1")])
    assert outbox.wait(eng, first[0], 20)["state"] == "mined"  # type: ignore[index]
    time.sleep(0.5)
    assert len(leases) == 1  # only one holds the key
    holder = leases[0]
    stops[holder].set()  # the holder goes away (its lease with it)
    threads[holder].join(10)
    second = _queue(eng, senders["a"], dep, [(MEMBERS[4].address, 3, f"{tag}-l2")])
    assert outbox.wait(eng, second[0], 20)["state"] == "mined"  # type: ignore[index]
    assert leases[1:] == [k for k in stops if k != holder]
    for ev in stops.values():
        ev.set()
    for t in threads.values():
        t.join(10)


def test_an_item_that_keeps_reverting_once_mined_fails_alone(
    net: Any, db: Any, monkeypatch: Any
) -> None:
    """Pre-flight passes (here: skipped) but the batch reverts once mined: its items are sent
    alone, the good ones land once, the bad one fails after MAX_MINED_REVERTS mined reverts
    with its decoded reason (it used to be re-queued for ever)."""
    w3, dep, _ = net
    eng, _url = db
    sender = Sender(w3, BRAND_KEY, decoder=error_decoder())
    before = _balances(w3, dep)
    tag = eng.dialect.name
    stranger = Account.create().address  # not a member: the whole batch reverts on chain
    items = [(m.address, 20 + i, f"{tag}-mr{i}") for i, m in enumerate(MEMBERS[10:14])]
    items.insert(2, (stranger, 9, f"{tag}-mr-bad"))
    ids = _queue(eng, sender, dep, items)
    monkeypatch.setattr(Submitter, "_estimate", lambda self, to, data, value=0: 2_000_000)
    sub = Submitter(sender, sql.SqlOutbox(eng, sender.address), batch_items=50, batch_ms=0)
    sub.start()
    _drain(sub, eng, timeout=30)
    bad = sql.intent(eng, ids[2])
    assert bad is not None and bad["state"] == "failed" and bad["error_code"] == "not_a_member"
    assert bad["attempts"] == MAX_MINED_REVERTS and "reverted on chain 3 times" in bad["error"]
    good = [sql.intent(eng, i) for i in ids[:2] + ids[3:]]
    assert all(r and r["state"] == "mined" for r in good)
    after = _balances(w3, dep)
    for i, m in enumerate(MEMBERS[10:14]):
        assert after[m.address] - before[m.address] == 20 + i  # once
    with eng.connect() as conn:
        reverted = conn.execute(
            select(func.count()).select_from(sql.T_TX).where(sql.T_TX.c.state == "failed")
        ).scalar()
    assert reverted == MAX_MINED_REVERTS  # the batch once, then the bad item alone twice
