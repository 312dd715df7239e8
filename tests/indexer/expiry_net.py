"""A real network (forge artifacts) with point expiry and the coalition exchange, driven on
anvil while the pure model (`loyalty_ledger.expiry.Book`) follows every operation; and the
check that the mirror's lots, balances, clocks and exchanges equal the chain's views."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from sqlalchemy import Engine, select
from web3 import Web3

from loyalty_ledger.chain.artifacts import artifact_path, default_out_dir, load_abi
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.expiry import PERMANENT, Book, Clock
from loyalty_ledger.store import metadata

from .netutil import Brand, Net, rpc

OUT: Path = default_out_dir()
"""The forge artifacts the network is deployed from."""
EPOCH = 86_400
EXCHANGE_ROLE = keccak(text="EXCHANGE_ROLE")
OPERATOR, ACME, BETA, ALICE, BOB, CAROL, DAVE = (Account.from_key(k) for k in ANVIL_DEV_KEYS[:7])
MEMBERS = [a.address for a in (ALICE, BOB, CAROL, DAVE)]


def b32(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def require_artifacts() -> None:
    """Skip (with why) while the contracts with expiry and the exchange are not compiled."""
    pts = artifact_path("LoyaltyPoints", OUT)
    if not pts.exists() or not artifact_path("CoalitionExchange", OUT).exists():
        pytest.skip(f"forge artifacts with expiry and the exchange missing under {OUT}")
    if "lotsOf" not in {f.get("name") for f in json.loads(pts.read_text())["abi"]}:
        pytest.skip(f"LoyaltyPoints under {OUT} predates expiry (no lotsOf)")


@dataclass
class XNet:
    """The network, its contracts, and the model of each points contract."""

    w3: Web3
    net: Net
    exchange: Any
    books: dict[str, Book] = field(default_factory=dict)  # points address (lower) → model

    @property
    def acme(self) -> Any:
        return self.net.brands[0].points

    @property
    def beta(self) -> Any:
        return self.net.brands[1].points

    def send(self, fn: Any, sender: str) -> tuple[Any, int]:
        """Send as `sender` (anvil's unlocked dev accounts); returns (receipt, block time)."""
        rcpt = self.w3.eth.wait_for_transaction_receipt(
            fn.transact({"from": sender, "gas": 3_000_000})
        )
        assert rcpt.status == 1, f"reverted: {fn.fn_name}"
        return rcpt, self.w3.eth.get_block(rcpt.blockNumber)["timestamp"]

    def book(self, pts: Any) -> Book:
        return self.books[pts.address.lower()]

    def wait(self, seconds: int) -> None:
        rpc(self.w3, "evm_increaseTime", [seconds])
        rpc(self.w3, "evm_mine")

    # ---- operations on the chain and on the model
    def issue(self, pts: Any, admin: str, to: str, amount: int) -> None:
        fn = pts.functions.issue(to, amount, b32("purchase"), b32("o"))
        _, ts = self.send(fn, admin)
        self.book(pts).issue(to.lower(), amount, ts)

    def policy(self, pts: Any, admin: str, validity: int) -> None:
        self.send(pts.functions.setValidityDuration(validity), admin)
        self.book(pts).validity = validity

    def transfer(self, pts: Any, src: str, dst: str, amount: int) -> None:
        _, ts = self.send(pts.functions.transfer(dst, amount), src)
        self.book(pts).move(src.lower(), dst.lower(), amount, ts)

    def gift(self, pts: Any, src: str, dst: str, amount: int) -> None:
        _, ts = self.send(pts.functions.gift(dst, amount, "for you"), src)
        self.book(pts).move(src.lower(), dst.lower(), amount, ts)

    def transfer_at(self, pts: Any, src: str, dst: str, lot: int, amount: int) -> None:
        _, ts = self.send(pts.functions.transferAtEpoch(lot, dst, amount), src)
        self.book(pts).move(src.lower(), dst.lower(), amount, ts, at_epoch=lot)

    def redeem(self, pts: Any, src: str, amount: int) -> None:
        _, ts = self.send(pts.functions.redeem(amount, b32("coffee")), src)
        self.book(pts).burn(src.lower(), amount, ts)

    def forfeit(self, pts: Any, admin: str, who: str, amount: int) -> None:
        _, ts = self.send(pts.functions.forfeit(who, amount, b32("fraud")), admin)
        self.book(pts).burn(who.lower(), amount, ts)

    def swap(self, xid: int, member: str, amount_in: int) -> tuple[int, int]:
        burned, issued = self.exchange.functions.quote(xid, amount_in).call()
        _, ts = self.send(self.exchange.functions.swap(xid, amount_in), member)
        self.book(self.acme).burn(member.lower(), burned, ts)
        self.book(self.beta).issue(member.lower(), issued, ts)
        return burned, issued


def build(w3: Web3, tmp_path: Path) -> XNet:
    """Registry, forwarder, exchange; brands acme and beta (1-day epochs, no policy yet); the
    dev accounts alice..dave registered. Writes tmp_path/deployment.json."""
    from loyalty_ledger.chain.deploy import add_brand, deploy_network

    dep = deploy_network(w3, OPERATOR, out_dir=OUT)
    for bid, admin in (("acme", ACME), ("beta", BETA)):
        add_brand(
            w3,
            OPERATOR,
            dep,
            brand_id=bid,
            name=f"{bid} points",
            symbol=bid.upper(),
            admin=admin.address,
            tiers=["Basic"],
            epoch_length=EPOCH,
            out_dir=OUT,
        )
    dep.save(tmp_path / "deployment.json")
    reg = w3.eth.contract(address=dep.registry, abi=load_abi("MemberRegistry", OUT))
    fwd = w3.eth.contract(address=dep.forwarder, abi=load_abi("ERC2771Forwarder", OUT))
    net = Net(w3, reg, fwd, dep.start_block, exchange=None)
    for prog in dep.programs.values():
        pts = w3.eth.contract(address=prog.points, abi=load_abi("LoyaltyPoints", OUT))
        ps = w3.eth.contract(address=prog.pass_, abi=load_abi("MembershipPass", OUT))
        net.brands.append(Brand(prog.brand_id.encode(), pts, ps))
    assert dep.exchange is not None
    xch = w3.eth.contract(address=dep.exchange, abi=load_abi("CoalitionExchange", OUT))
    net.exchange = xch
    x = XNet(w3, net, xch)
    x.send(reg.functions.registerBatch(MEMBERS), OPERATOR.address)
    net.members = list(MEMBERS)
    for b in net.brands:
        clock = Clock(b.points.functions.epochZero().call(), EPOCH)
        x.books[b.points.address.lower()] = Book(clock)
    align_to_epoch(w3, clock)
    return x


def align_to_epoch(w3: Web3, clock: Clock, into: int = 3600) -> None:
    """Move the chain to `into` seconds after the next epoch start, so that the stories' waits
    cross the same epoch boundaries whatever the time of day the tests run at."""
    now = w3.eth.get_block("latest")["timestamp"]
    start = clock.zero + ((now - clock.zero) // clock.length + 1) * clock.length
    rpc(w3, "evm_setNextBlockTimestamp", [start + into])
    rpc(w3, "evm_mine")


def open_exchange(x: XNet) -> int:
    """Exchange acme → beta at 100 → 80 (cap 1000 a day, budget 10,000), approved by both."""
    xid = x.exchange.functions.exchangeCount().call()
    fn = x.exchange.functions.registerExchange(b32("acme"), b32("beta"), 100, 80, 1000, 10_000)
    x.send(fn, OPERATOR.address)
    for pts, admin in ((x.acme, ACME), (x.beta, BETA)):
        x.send(pts.functions.grantRole(EXCHANGE_ROLE, x.exchange.address), admin.address)
        x.send(x.exchange.functions.approve(xid), admin.address)
    return xid


def assert_lots_equal_chain(x: XNet, engine: Engine) -> None:
    """At the mirror's checkpoint: balances = balanceOf, live lots = lotsOf, every lot (expired
    ones kept) = the model's, clock and policy = the contract's, exchanges = exchangeOf."""
    t = metadata.tables
    with engine.connect() as c:
        blk = c.execute(select(t["indexer_state"].c.checkpoint_block)).scalar_one()
        lots = {
            (r.token, r.holder, r.expiry_epoch): r for r in c.execute(select(t["point_lot"])).all()
        }
        bal = {(r.token, r.holder): r.amount for r in c.execute(select(t["balance"])).all()}
        cs = {r["address"]: r for r in c.execute(select(t["contract_state"])).mappings().all()}
        xrows = {r["id"]: r for r in c.execute(select(t["exchange"])).mappings().all()}
    assert blk == x.w3.eth.block_number, "index to the head before comparing"
    now = x.w3.eth.get_block(blk)["timestamp"]
    for b in x.net.brands:
        pts, tok = b.points, b.points.address.lower()
        book = x.book(pts)
        row = cs.get(tok) or {"validity_epochs": 0, "total_supply": 0, "epoch_length": 0}
        v = pts.functions.validityDuration().call(block_identifier=blk)
        assert row["validity_epochs"] == v == book.validity
        assert row["total_supply"] == pts.functions.totalSupply().call(block_identifier=blk)
        if row["epoch_length"]:
            assert row["epoch_zero"] == pts.functions.epochZero().call()
            assert row["epoch_length"] == pts.functions.epochLength().call()
            epoch = pts.functions.currentEpoch().call(block_identifier=blk)
            assert row["swept_epoch"] == epoch == book.clock.epoch(now)
        for h in MEMBERS:
            hl = h.lower()
            onchain = pts.functions.balanceOf(h).call(block_identifier=blk)
            assert bal.get((tok, hl), 0) == onchain == book.balance(hl, now), (tok, h)
            xs, amounts = pts.functions.lotsOf(h).call(block_identifier=blk)
            live = [
                (k[2], r.amount)
                for k, r in sorted(lots.items())
                if k[:2] == (tok, hl) and k[2] > row.get("swept_epoch", 0)
            ]
            assert live == list(zip(xs, amounts, strict=True)), (tok, h)
            perm = pts.functions.permanentBalanceOf(h).call(block_identifier=blk)
            assert onchain - sum(a for _, a in live) == perm
        want = {
            (tok, hl, xx): (book.clock.start(xx), a)
            for hl, held in book.holdings.items()
            for xx, a in held.lots.items()
            if xx != PERMANENT and a
        }
        got = {k: (r.expires_at, r.amount) for k, r in lots.items() if k[0] == tok}
        assert got == want
    n = x.exchange.functions.exchangeCount().call(block_identifier=blk)
    assert sorted(xrows) == list(range(n))
    for i in range(n):
        e = x.exchange.functions.exchangeOf(i).call(block_identifier=blk)
        r = xrows[i]
        assert (r["from_brand"], r["to_brand"]) == ("0x" + e[0].hex(), "0x" + e[1].hex())
        got_x = tuple(r[k] for k in ("rate_from", "rate_to", "daily_cap", "budget", "issued"))
        assert got_x == tuple(e[2:7])
        flags = ("approved_from", "approved_to", "paused_from", "paused_to", "paused_operator")
        assert tuple(r[k] for k in flags) == tuple(e[7:12])
        assert (r["opened_block"] is not None) == (e[7] and e[8])
