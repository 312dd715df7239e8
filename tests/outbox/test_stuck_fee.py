"""A transaction stuck on a node with a fee market is replaced with a higher fee (same nonce):
the intent ends mined by the replacement, the old transaction is recorded `replaced`, and the
points are issued once (SQLite, PostgreSQL). The test holds blocks back and raises the base fee
with anvil's own methods; the submitter calls none."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from web3.exceptions import TransactionNotFound

from loyalty_ledger import ledger
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.chain.submitter import Submitter
from loyalty_ledger.ledger import outbox
from loyalty_ledger.store import make_engine, migrate
from loyalty_ledger.store import outbox as sql

from ..pg import fresh_schema
from .conftest import BRAND_KEY, MEMBERS


@pytest.fixture(params=["sqlite", "postgresql"])
def eng(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        e = make_engine(f"sqlite:///{tmp_path / 'stuck.db'}")
        migrate(e)
        yield e
        e.dispose()
        return
    with fresh_schema("obstuck") as url:
        e = make_engine(url)
        migrate(e)
        yield e
        e.dispose()


def _rpc(w3: Any, method: str, *params: Any) -> Any:
    reply = w3.provider.make_request(method, list(params))
    assert "error" not in reply, reply
    return reply.get("result")


def _txs(eng: Engine) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        return [dict(r) for r in conn.execute(select(sql.T_TX).order_by(sql.T_TX.c.id)).mappings()]


def _queued(
    w3: Any, dep: Any, eng: Engine, member: str, amount: int, key: str
) -> tuple[int, Submitter, int]:
    """One queued issue to `member` and a started submitter (stuck after 0.2 s) for it; the
    intent id, the submitter and the member's balance before."""
    acme = dep.program("acme")
    sender = Sender(w3, BRAND_KEY, decoder=error_decoder())
    before = ledger.balance_of(w3=w3, program=acme, member=member)
    with eng.begin() as conn:
        iid = outbox.Issuer(sender, acme).issue(
            conn,
            idem_key=f"{key}:{eng.dialect.name}",
            member=member,
            amount=amount,
            reason="purchase",
            ref=key[0],
        )
    sub = Submitter(sender, sql.SqlOutbox(eng, sender.address), batch_ms=0, stuck_seconds=0.2)
    sub.start()
    return iid, sub, before


def _until_mined(eng: Engine, sub: Submitter, iid: int) -> None:
    deadline = time.monotonic() + 30
    while (sql.intent(eng, iid) or {}).get("state") != "mined":
        assert time.monotonic() < deadline, sql.intent(eng, iid)
        sub.step()
        time.sleep(0.02)


def test_a_stuck_tx_is_replaced_with_a_higher_fee(net: Any, eng: Engine) -> None:
    w3, dep, _ = net
    acme, member = dep.program("acme"), MEMBERS[5].address
    iid, sub, before = _queued(w3, dep, eng, member, 9, "stuck")
    _rpc(w3, "evm_setAutomine", False)  # blocks are held back: the tx waits in the pool
    try:
        sub.step()
        [old] = _txs(eng)
        assert old["state"] == "sent" and old["max_fee"] and old["tip"]
        time.sleep(0.3)
        sub.step()  # unmined past stuck_seconds: re-signed for the same nonce, a higher fee
        old, new = _txs(eng)
        assert (old["state"], new["state"]) == ("replaced", "sent")
        assert new["nonce"] == old["nonce"] and new["max_fee"] > old["max_fee"]
        # a base fee the old fee cannot pay but the new one can: only the replacement fits
        _rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(int(old["max_fee"] * 1.1)))
        _rpc(w3, "evm_mine")
    finally:
        _rpc(w3, "evm_setAutomine", True)
    _until_mined(eng, sub, iid)
    row = sql.intent(eng, iid)
    assert row is not None and row["tx_hash"] == new["tx_hash"]
    states = {t["tx_hash"]: t["state"] for t in _txs(eng)}
    assert states == {old["tx_hash"]: "replaced", new["tx_hash"]: "mined"}
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(old["tx_hash"])
    assert ledger.balance_of(w3=w3, program=acme, member=member) - before == 9


def test_the_replaced_tx_mined_instead_settles_its_intents_once(net: Any, eng: Engine) -> None:
    """The replacement lost the race: the original fee was mined at the nonce (the fault test
    caught a batch credited twice: the replacement's intents were re-queued as if their nonce
    went to a stranger). The intent ends mined by the original; nothing is sent again."""
    w3, dep, _ = net
    acme, member = dep.program("acme"), MEMBERS[6].address
    iid, sub, before = _queued(w3, dep, eng, member, 7, "twin")
    _rpc(w3, "evm_setAutomine", False)
    try:
        sub.step()
        time.sleep(0.3)
        sub.step()  # replaced with a higher fee
        old, new = _txs(eng)
        assert (old["state"], new["state"]) == ("replaced", "sent")
        # the original wins: the replacement leaves the pool, the original is mined
        _rpc(w3, "anvil_dropTransaction", new["tx_hash"])
        _rpc(w3, "eth_sendRawTransaction", old["raw"])
        _rpc(w3, "evm_mine")
    finally:
        _rpc(w3, "evm_setAutomine", True)
    _until_mined(eng, sub, iid)
    for _ in range(5):  # nothing left to send
        sub.step()
    row = sql.intent(eng, iid)
    assert row is not None and row["tx_hash"] == old["tx_hash"]
    assert [t["state"] for t in _txs(eng)] == ["replaced", "mined"]
    assert ledger.balance_of(w3=w3, program=acme, member=member) - before == 7
