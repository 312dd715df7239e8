"""Test network: the mock contracts (same events as the real ones) deployed on an anvil node,
plus the check that the mirror equals the chain."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from web3 import Web3

from loyalty_ledger.indexer.decode import decode_logs
from loyalty_ledger.store import models as m

ARTIFACTS = json.loads((Path(__file__).parent / "mocks" / "MockNetwork.json").read_text())
ZERO = "0x" + "0" * 40


def rpc(w3: Web3, method: str, params: list[Any] | None = None) -> Any:
    resp = w3.provider.make_request(method, params or [])  # type: ignore[arg-type]
    if "error" in resp:
        raise RuntimeError(resp["error"])
    return resp["result"]


def member_addresses(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    return [Web3.to_checksum_address("0x" + rnd.randbytes(20).hex()) for _ in range(n)]


@dataclass
class Brand:
    brand_id: bytes
    points: Any
    pass_: Any


@dataclass
class Net:
    w3: Web3
    registry: Any
    forwarder: Any
    start_block: int
    brands: list[Brand] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    exchange: Any = None  # the CoalitionExchange of real networks

    @property
    def op(self) -> str:
        return self.w3.eth.accounts[0]

    def deploy(self, name: str, *args: Any) -> Any:
        art = ARTIFACTS[name]
        c = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        rcpt = self.w3.eth.wait_for_transaction_receipt(
            c.constructor(*args).transact({"from": self.op})
        )
        return self.w3.eth.contract(address=rcpt.contractAddress, abi=art["abi"])

    def tx(self, fn: Any, sender: str | None = None, gas: int = 29_000_000) -> Any:
        rcpt = self.w3.eth.wait_for_transaction_receipt(
            fn.transact({"from": sender or self.op, "gas": gas})
        )
        assert rcpt.status == 1, f"transaction reverted: {fn.fn_name}"
        return rcpt

    def add_brand(self, name: str, *, register: bool = True) -> Brand:
        bid = name.encode().ljust(32, b"\0")
        points = self.deploy("MockPoints", self.op)
        pass_ = self.deploy("MockPass", self.op)
        if register:
            self.tx(
                self.registry.functions.registerProgram(
                    bid, points.address, pass_.address, self.op, name
                )
            )
        b = Brand(bid, points, pass_)
        self.brands.append(b)
        return b

    def register_members(self, members: list[str]) -> None:
        for i in range(0, len(members), 200):
            self.tx(self.registry.functions.registerBatch(members[i : i + 200]))
        self.members += members

    def issue_batch(
        self, brand: Brand, members: list[str], amounts: list[int], reason: str = "purchase"
    ) -> Any:
        refs = [f"order-{random.randrange(10**9)}".encode().ljust(32, b"\0") for _ in members]
        fn = brand.points.functions.issueBatch(
            members, amounts, reason.encode().ljust(32, b"\0"), refs
        )
        return self.tx(fn, gas=max(29_000_000, 80_000 * len(members)))

    def deployment_file(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "chain_id": self.w3.eth.chain_id,
                    "registry": self.registry.address,
                    "forwarder": self.forwarder.address,
                    "start_block": self.start_block,
                    "programs": {},
                    **({"exchange": self.exchange.address} if self.exchange else {}),
                }
            )
        )
        return path


def deploy_net(w3: Web3) -> Net:
    start = w3.eth.block_number + 1
    tmp = Net(w3, None, None, start)
    tmp.registry = tmp.deploy("MockRegistry")
    tmp.forwarder = tmp.deploy("MockForwarder")
    return tmp


def activity(net: Net, rnd: random.Random, steps: int) -> None:
    """A random mix of every kind of operation."""
    w3 = net.w3
    for _ in range(steps):
        b = rnd.choice(net.brands)
        k = rnd.randrange(10)
        if k < 3:
            ms = rnd.sample(net.members, min(len(net.members), rnd.randint(1, 30)))
            net.issue_batch(b, ms, [rnd.randint(1, 10**6) for _ in ms])
        elif k == 3:
            net.tx(
                b.points.functions.issue(
                    rnd.choice(net.members),
                    2**200 + rnd.randint(1, 9),
                    b"signup".ljust(32, b"\0"),
                    b"\x01" * 32,
                )
            )
        elif k == 4:
            holder = w3.eth.accounts[rnd.randrange(1, 4)]
            net.tx(
                b.points.functions.issue(
                    holder, 1000, b"visit".ljust(32, b"\0"), b"r".ljust(32, b"\0")
                )
            )
            net.tx(b.points.functions.gift(rnd.choice(net.members), 10, "happy birthday"), holder)
            net.tx(b.points.functions.transfer(rnd.choice(net.members), 5), holder)
            net.tx(b.points.functions.redeem(7, b"order-7".ljust(32, b"\0")), holder)
        elif k == 5:
            mbr = rnd.choice(net.members)
            bal = b.points.functions.balanceOf(mbr).call()
            if bal:
                net.tx(
                    b.points.functions.forfeit(mbr, max(1, bal // 3), b"expiry".ljust(32, b"\0"))
                )
        elif k == 6:
            mbr = rnd.choice(net.members)
            if b.pass_.functions.passOf(mbr).call() == 0:
                net.tx(b.pass_.functions.issue(mbr, rnd.randrange(2), 2**63 + rnd.randrange(100)))
            else:
                net.tx(b.pass_.functions.setTier(mbr, rnd.randrange(3)))
                net.tx(b.pass_.functions.renew(mbr, rnd.randrange(1, 2**40)))
        elif k == 7:
            mbr = rnd.choice(net.members)
            net.tx(
                net.registry.functions.freeze(mbr)
                if rnd.random() < 0.5
                else net.registry.functions.unfreeze(mbr)
            )
        elif k == 8:
            choice = rnd.randrange(4)
            if choice == 0:
                net.tx(b.pass_.functions.setTransferable(rnd.random() < 0.5))
            elif choice == 1:
                net.tx(b.pass_.functions.addTier(f"tier{rnd.randrange(99)}"))
            elif choice == 2:
                net.tx(b.points.functions.grantRole(b"\x07" * 32, rnd.choice(net.members)))
            else:
                net.tx(b.points.functions.pause())
                net.tx(b.points.functions.unpause())
        else:
            lost, new = rnd.sample(net.members, 2)
            net.tx(net.registry.functions.recover(lost, new))
            net.tx(net.forwarder.functions.execute(rnd.randrange(10**6)))


def all_logs(net: Net, to_block: int) -> list[dict[str, Any]]:
    """Every log of the network up to `to_block`, straight from the node (raw JSON)."""
    addrs = [net.registry.address, net.forwarder.address]
    if net.exchange is not None:
        addrs.append(net.exchange.address)
    n = net.registry.functions.programCount().call(block_identifier=to_block)
    for i in range(n):
        _, pts, ps = net.registry.functions.programAt(i).call(block_identifier=to_block)
        addrs += [pts, ps]
    return rpc(
        net.w3,
        "eth_getLogs",
        [{"address": addrs, "fromBlock": hex(net.start_block), "toBlock": hex(to_block)}],
    )


def assert_mirror_equals_chain(net: Net, engine: Engine, *, derived: bool = True) -> int:
    """The mirror at its checkpoint equals the chain at that block; returns the event count."""
    from sqlalchemy import inspect

    if not inspect(engine).has_table("indexer_state"):  # killed before migrating
        return 0
    with engine.connect() as conn:
        st = conn.execute(select(m.IndexerState.__table__)).mappings().one_or_none()
        if st is None:  # killed before its first transaction
            return 0
        blk = st["checkpoint_block"]
        if st["checkpoint_hash"] is None:  # nothing indexed yet
            assert blk == net.start_block - 1
            assert conn.execute(select(m.Event.__table__)).first() is None
            return 0
        assert st["checkpoint_hash"] == net.w3.eth.get_block(blk)["hash"].to_0x_hex()
        ev_t = m.Event.__table__
        rows = (
            conn.execute(select(ev_t).order_by(ev_t.c.block_number, ev_t.c.log_index))
            .mappings()
            .all()
        )
        assert all(r["block_number"] <= blk for r in rows), "a row above the checkpoint"
        logs = decode_logs(all_logs(net, blk))
        got = [
            (
                r["block_number"],
                r["log_index"],
                r["block_hash"],
                r["tx_hash"],
                r["contract"],
                r["event"],
                r["args"],
            )
            for r in rows
        ]
        want = [
            (e.block_number, e.log_index, e.block_hash, e.tx_hash, e.contract, e.event, e.args)
            for e in logs
        ]
        assert got == want
        if not derived:
            return len(rows)
        bal = {
            (r["token"], r["holder"]): r["amount"]
            for r in conn.execute(select(m.Balance.__table__)).mappings()
        }
        passes = {
            (r["contract"], r["token_id"]): r
            for r in conn.execute(select(m.Pass.__table__)).mappings()
        }
        cstate = {
            r["address"]: r for r in conn.execute(select(m.ContractState.__table__)).mappings()
        }
        members = {r["address"]: r for r in conn.execute(select(m.Member.__table__)).mappings()}
        programs = {r["brand_id"]: r for r in conn.execute(select(m.Program.__table__)).mappings()}
        ledger = conn.execute(select(m.LedgerEntry.__table__)).mappings().all()
        lots = conn.execute(select(m.PointLot.__table__)).mappings().all()
    # the history explains every balance: issue + swap_in - redeem - forfeit - swap_out
    # +/- transfer, gift, recovery - what expired (lots whose epoch the head has reached)
    from collections import Counter

    from_ledger: Counter[tuple[str, str]] = Counter()
    expired: Counter[str] = Counter()
    for e in ledger:
        t, a, amt = e["token"], e["account"], e["amount"]
        if e["kind"] in ("issue", "swap_in"):
            from_ledger[(t, a)] += amt
        elif e["kind"] in ("redeem", "forfeit", "swap_out"):
            from_ledger[(t, a)] -= amt
        else:
            from_ledger[(t, a)] -= amt
            from_ledger[(t, e["counterparty"])] += amt
    times = {(e.block_number, e.log_index): e.block_time for e in logs}
    assert all(e["block_time"] == times[(e["block_number"], e["log_index"])] for e in ledger)
    for lot in lots:
        t = lot["token"]
        if lot["expiry_epoch"] <= cstate[t]["swept_epoch"]:
            from_ledger[(t, lot["holder"])] -= lot["amount"]
            expired[t] += lot["amount"]
    assert {k: v for k, v in from_ledger.items() if v} == bal
    reg = net.registry
    holders = set(net.members) | set(net.w3.eth.accounts[:4])
    n = reg.functions.programCount().call(block_identifier=blk)
    assert len(programs) == n
    for i in range(n):
        bid, pts_addr, pass_addr = reg.functions.programAt(i).call(block_identifier=blk)
        prog = programs["0x" + bid.hex()]
        assert (prog["points"], prog["pass_address"]) == (pts_addr.lower(), pass_addr.lower())
        brand = next(b for b in net.brands if b.points.address == pts_addr)
        pts, ps = brand.points, brand.pass_
        supply = pts.functions.totalSupply().call(block_identifier=blk)
        assert cstate.get(pts_addr.lower(), {"total_supply": 0})["total_supply"] == supply
        assert cstate[pass_addr.lower()]["transferable"] == ps.functions.transferable().call(
            block_identifier=blk
        )
        total = 0
        for h in holders:
            onchain = pts.functions.balanceOf(h).call(block_identifier=blk)
            assert bal.get((pts_addr.lower(), h.lower()), 0) == onchain, (h, blk)
            total += onchain
        mirror_total = sum(v for (t, _), v in bal.items() if t == pts_addr.lower())
        assert mirror_total + expired[pts_addr.lower()] == supply
        mine = {k[1]: v for k, v in passes.items() if k[0] == pass_addr.lower()}
        ids = {
            e.args["tokenId"]
            for e in logs
            if e.contract == pass_addr.lower() and e.event == "Transfer"
        }
        assert set(mine) <= ids
        for tid in ids:
            try:
                owner, tier, exp = ps.functions.passInfo(tid).call(block_identifier=blk)
            except Exception:  # the real pass reverts for a burned token id
                owner, tier, exp = ZERO, 0, 0
            row = mine.get(tid)
            if owner == ZERO:
                assert row is None, tid
                continue
            assert row is not None, (tid, owner)
            assert (row["owner"], row["tier"], row["expires_at"]) == (owner.lower(), tier, exp)
            assert row["locked"] == ps.functions.locked(tid).call(block_identifier=blk)
    for a in holders:
        mrow = members.get(a.lower())
        assert (mrow["registered"] if mrow else False) == reg.functions.isMember(a).call(
            block_identifier=blk
        )
        assert (mrow["frozen"] if mrow else False) == reg.functions.isFrozen(a).call(
            block_identifier=blk
        )
    return len(rows)


class Follower:
    """Runs an indexer with follow=True in a thread; `wait_synced()` waits for the head."""

    def __init__(self, indexer: Any, net: Net, engine: Engine) -> None:
        import threading

        self.idx, self.net, self.engine = indexer, net, engine
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.idx.run(follow=True)
        except BaseException as exc:  # surfaced by wait_synced / stop
            self.error = exc

    def __enter__(self) -> Follower:
        self.thread.start()
        return self

    def checkpoint(self) -> tuple[int, str | None]:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(select(m.IndexerState.__table__)).mappings().first()
        except Exception:  # not migrated yet
            return (-1, None)
        return (row["checkpoint_block"], row["checkpoint_hash"]) if row else (-1, None)

    def wait_synced(self, timeout: float = 30.0) -> int:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error is not None:
                raise self.error
            head = self.net.w3.eth.get_block("latest")
            cp, h = self.checkpoint()
            if cp == head["number"] and h == head["hash"].to_0x_hex():
                return cp
            time.sleep(0.02)
        raise AssertionError(f"indexer not synced within {timeout}s: {self.checkpoint()} vs head")

    def __exit__(self, *exc: object) -> None:
        self.idx.stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()


def reorg(net: Net, depth: int, with_tx: bool = True) -> None:
    """anvil_reorg: replace the last `depth` blocks; with a new issue tx in the first of them."""
    txs: list[Any] = []
    if with_tx and net.brands:
        b = net.brands[0]
        fn = b.points.functions.issue(net.members[0], 777, b"reorg".ljust(32, b"\0"), b"\x02" * 32)
        data = fn._encode_transaction_data()
        txs = [[{"from": net.op, "to": b.points.address, "data": data, "gas": hex(300_000)}, 0]]
    rpc(net.w3, "anvil_reorg", [depth, txs])
