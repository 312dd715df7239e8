"""The accept path under contention, served by uvicorn (SQLite and PostgreSQL): while another
process keeps committing writes to the same database, concurrent earnings (a new brand: its
first earning seeds the default rules) and rule edits are all answered, never 503 "database is
locked"; and a rule changed through another process is evaluated by the next earning here."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from loyalty_ledger.programme import rules_cache

from .test_rules_api import _brand, _members

pytestmark = pytest.mark.chain
ROOT = Path(__file__).resolve().parents[2]

# Another process committing short write transactions as fast as it can (as a submitter, the
# tier job or the CLI do beside the API), until `stop` exists or 60 s pass.
WRITER = """
import sys, time
from pathlib import Path
from sqlalchemy import text
from loyalty_ledger.store import make_engine
e, stop, ready = make_engine(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
q = text("INSERT INTO rule_member (brand_id, member, joined_at) VALUES (:b, :m, 0)")
end, i = time.monotonic() + 60, 0
while time.monotonic() < end and not stop.exists():
    with e.begin() as c:
        c.execute(q, {"b": sys.argv[4], "m": f"0x{i:040x}"})
    i += 1
    if i == 20:
        ready.touch()
print(i)
"""


def test_no_503_under_writer_contention(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env, base = served
    bid, pm, iss = _brand(env)
    members = _members(env, 8)
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, env.settings.database_url, str(stop), str(ready),
         "contend" + uuid.uuid4().hex[:6]],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), "the writer process did not start writing"
        with httpx.Client(base_url=base, timeout=60) as h:

            def call(i: int) -> int:
                if i % 5 == 4:  # a rule edit: reads the versions, then writes one
                    spec = {"trigger": "purchase", "effect": {"type": "fixed", "points": i}}
                    return h.put(
                        f"/brands/{bid}/rules/edit{i % 3}", json=spec, headers=pm
                    ).status_code
                body = {"member": members[i % 8], "order_id": f"k{i}", "amount": 20_000,
                        "currency": "VND", "items": 1}  # fmt: skip
                return h.post(f"/brands/{bid}/earn/purchase", json=body, headers=iss).status_code

            with ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(call, range(150)))
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=30)
    assert writer.returncode == 0
    assert int(out.strip()) > 20  # it kept writing meanwhile
    assert 503 not in codes
    assert {c for i, c in enumerate(codes) if i % 5 == 4} == {200}
    assert {c for i, c in enumerate(codes) if i % 5 != 4} == {202}


def test_rule_changed_in_another_process_is_seen_by_the_next_earn(served) -> None:  # type: ignore[no-untyped-def]
    env, base = served
    bid, _pm, iss = _brand(env)
    [m] = _members(env, 1)
    order = {"member": m, "amount": 50_000, "currency": "VND", "items": 1}
    with httpx.Client(base_url=base, timeout=60) as h:
        r = h.post(f"/brands/{bid}/earn/purchase", json={**order, "order_id": "p1"}, headers=iss)
        assert r.status_code == 202 and r.json()["points"] == 5, r.text
        before = rules_cache.last(env.state.engine, bid)
        assert before is not None  # the API now prices this brand's earnings from memory
        code = (
            "from loyalty_ledger.store import make_engine\n"
            "from loyalty_ledger.programme.earn import set_rule\n"
            "from loyalty_ledger.programme.rules.store import put_rule\n"
            f"e = make_engine({env.settings.database_url!r})\n"
            f"set_rule(engine=e, brand_id={bid!r}, currency='VND', amount_per_point=5000,"
            " bonuses={})\n"
            f"put_rule(engine=e, brand_id={bid!r}, rule_id='plus3',"
            " spec={'trigger': 'purchase', 'effect': {'type': 'fixed', 'points': 3}})\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        r = h.post(f"/brands/{bid}/earn/purchase", json={**order, "order_id": "p2"}, headers=iss)
        assert r.status_code == 202 and r.json()["points"] == 50_000 // 5000 + 3, r.text
    after = rules_cache.last(env.state.engine, bid)
    assert after is not None and after.version > before.version
