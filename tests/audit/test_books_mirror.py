"""The mirror check on the expiry + exchange network (`conftest._build_books`): the indexer's
mirror audits clean; a changed lot, a wrong swept epoch, a missing swap line are caught.

Runs on SQLite and on PostgreSQL (a throw-away database per test; skipped without a server).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from loyalty_ledger.audit.report import to_text
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.store import metadata

from .mirrors import PARAMS, exec_, indexed_mirror, rows

pytestmark = pytest.mark.chain
T = metadata.tables


@pytest.fixture(params=PARAMS)
def mirror(request: pytest.FixtureRequest, books: Any, tmp_path: Any) -> Iterator[str]:
    yield from indexed_mirror(
        request.param, tmp_path, books.anvil.url, books.deployment, exchange=True
    )


def _audit(books: Any, url: str) -> Any:
    return run_audit(books.network, database=url, check_code=False)


def test_clean_mirror_with_lots_and_swaps(books: Any, mirror: str) -> None:
    rep = run_audit(books.network, database=mirror, check_code=False, bisect_database=mirror)
    assert rep.ok, to_text(rep)
    assert rep.block == books.marks["end"]
    assert rep.checks["mirror"]["event_rows"] == rep.events  # the exchange's events included
    assert rep.bisect["first_difference"] is None  # every new event re-encodes from its row
    lots = rows(mirror, select(T["point_lot"]))
    assert len(lots) == 7  # acme: m0 e+2, e+3; m1 e+2; m2 e+2; m3 e+3. bolt: m0, m2 e+4
    kinds = [r["kind"] for r in rows(mirror, select(T["ledger_entry"]))]
    assert kinds.count("swap_out") == 2 and kinds.count("swap_in") == 2
    (ex,) = rows(mirror, select(T["exchange"]))
    assert ex["issued"] == 120


def test_mirror_lot_amount_changed(books: Any, mirror: str) -> None:
    lot = T["point_lot"]
    token, m1 = books.acme.points.lower(), books.addr(1)
    x = books.e0 + 2
    key = (lot.c.token == token, lot.c.holder == m1, lot.c.expiry_epoch == x)
    exec_(mirror, update(lot).where(*key).values(amount=12))
    rep = _audit(books, mirror)
    (f,) = rep.errors
    assert (f.check, f.code, f.key) == ("mirror", "row-different", f"point_lot:{token}/{m1}/{x}")
    assert (f.expected, f.actual) == ({"amount": 120}, {"amount": 12})


def test_mirror_swept_epoch_wrong(books: Any, mirror: str) -> None:
    cs = T["contract_state"]
    token = books.acme.points.lower()
    exec_(mirror, update(cs).where(cs.c.address == token).values(swept_epoch=books.e0 + 1))
    rep = _audit(books, mirror)
    (f,) = rep.errors
    assert (f.code, f.key) == ("row-different", f"contract_state:{token}")
    assert (f.expected, f.actual) == ({"swept_epoch": books.e0 + 2}, {"swept_epoch": books.e0 + 1})


def test_mirror_swap_entry_missing(books: Any, mirror: str) -> None:
    le = T["ledger_entry"]
    row = rows(mirror, select(le).where(le.c.kind == "swap_in"))[0]
    exec_(mirror, delete(le).where(le.c.id == row["id"]))
    rep = _audit(books, mirror)
    (f,) = rep.errors
    assert (f.code, f.key) == (
        "row-missing",
        f"ledger_entry:{row['block_number']}/{row['log_index']}",
    )
    assert f.expected["kind"] == "swap_in" and f.expected["amount"] == row["amount"]
    assert f.expected["ref"] == "0x" + "00" * 32 and f.expected["reason"] == "exchange"


def test_mirror_exchange_row_changed(books: Any, mirror: str) -> None:
    ex = T["exchange"]
    exec_(mirror, update(ex).where(ex.c.id == 0).values(issued=100, paused_to=True))
    rep = _audit(books, mirror)
    (f,) = rep.errors
    assert (f.code, f.key) == ("row-different", "exchange:0")
    assert (f.expected, f.actual) == (
        {"issued": 120, "paused_to": False},
        {"issued": 100, "paused_to": True},
    )
