"""Shared set-up for the benchmarks: a private anvil, a deployed network, funded accounts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.types import RPCEndpoint

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.deploy import Deployment, Program, add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.expiry import PERMANENT, Book, Clock
from loyalty_ledger.ledger import register_members


@dataclass
class Bench:
    """A fresh network with one brand; `operator` also holds the brand's roles."""

    w3: Web3
    operator: Sender
    deployment: Deployment
    program: Program


def addresses(n: int, salt: str = "member") -> list[str]:
    """`n` distinct deterministic addresses (no keys needed to receive points)."""
    return [Web3.to_checksum_address(keccak(text=f"{salt}-{i}")[12:]) for i in range(n)]


def member_account(i: int) -> LocalAccount:
    """A deterministic keyed account for a member that must sign."""
    return Account.from_key(keccak(text=f"bench-member-key-{i}"))


def register_all(bench: Bench, members: list[str], chunk: int = 500) -> None:
    for start in range(0, len(members), chunk):
        part = members[start : start + chunk]
        register_members(sender=bench.operator, deployment=bench.deployment, members=part)


@contextmanager
def network(*, gas_limit: int = 30_000_000, extra: list[str] | None = None) -> Iterator[Bench]:
    """Start a private anvil (random port), deploy the network and one brand."""
    args = ["--gas-limit", str(gas_limit), "--silent", *(extra or [])]
    with Anvil(port=0, extra_args=args) as node:
        w3 = connect(node.url)
        operator = Sender(w3, ANVIL_DEV_KEYS[0])
        deployment = deploy_network(w3, operator)
        program = add_brand(
            w3,
            operator,
            deployment,
            brand_id="bench",
            name="Bench Points",
            symbol="BNCH",
            admin=operator.address,
            tiers=["silver", "gold"],
        )
        yield Bench(w3=w3, operator=operator, deployment=deployment, program=program)


# --- member activity under an expiry policy (bench_indexer --real, bench_audit) ---------------

DEBIT_MIX = (("transfer", 0.4), ("gift", 0.2), ("redeem", 0.4))
"""Shares of the members' own debits: plain transfers, gifts (with a memo), redemptions."""
DEBIT_EVENTS = {"transfer": 1, "gift": 2, "redeem": 2}
"""Events each debit emits: Transfer, plus PointsGifted or PointsRedeemed."""
_SEL = {
    "transfer": keccak(text="transfer(address,uint256)")[:4],
    "gift": keccak(text="gift(address,uint256,string)")[:4],
    "redeem": keccak(text="redeem(uint256,bytes32)")[:4],
}
REDEEM_REF = b"reward".ljust(32, b"\0")
_SEL_LOTS = keccak(text="lotsOf(address)")[:4]
_SEL_PERM = keccak(text="permanentBalanceOf(address)")[:4]


def anvil_rpc(w3: Web3, method: str, params: list[Any] | None = None) -> Any:
    """One JSON-RPC call; raises on an error reply."""
    resp = w3.provider.make_request(RPCEndpoint(method), params or [])
    if "error" in resp:
        raise RuntimeError(f"{method}: {resp['error']}")
    return resp.get("result")


def anvil_batch(w3: Web3, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """Many JSON-RPC calls in one HTTP request; raises on the first error reply."""
    replies = w3.provider.make_batch_request(  # type: ignore[attr-defined]
        [(RPCEndpoint(m), p) for m, p in calls]
    )
    if not isinstance(replies, list):
        raise RuntimeError(f"batch refused: {replies}")
    out = []
    for (method, _), reply in zip(calls, replies, strict=True):
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        out.append(reply["result"])
    return out


def advance_time(w3: Web3, seconds: int) -> int:
    """Moves anvil's clock `seconds` on and mines a block there; returns its timestamp."""
    anvil_rpc(w3, "evm_increaseTime", [seconds])
    anvil_rpc(w3, "evm_mine")
    return int(w3.eth.get_block("latest")["timestamp"])


class MemberActivity:
    """Members' own transfers, gifts and redemptions, on anvil, with a model of every lot.

    The members need no keys: anvil impersonates them (`anvil_autoImpersonateAccount`) and each
    gets gas money, so the debits are sent as the members themselves, the same transactions
    (and events) a member's wallet sends. `expiry.Book` follows every issue and debit, so each
    debit spends at most the sender's live points (soonest-to-expire lots first, as the contract
    does) and no transaction reverts; every receipt is checked anyway. Debits are mined
    `per_block` to a block (automine off meanwhile), and no member both sends and receives in
    one block, so the order the node gives a block's transactions does not matter.
    """

    def __init__(self, w3: Web3, members: list[str], *, seed: int = 7) -> None:
        self.w3 = w3
        self.members = members
        self.rnd = random.Random(seed)
        self.books: dict[str, Book] = {}  # token (checksum) -> model
        self.nonces = dict.fromkeys(members, 0)
        self.sent = dict.fromkeys(DEBIT_EVENTS, 0)
        self.events = 0
        self._senders: set[str] = set()
        self._receivers: set[str] = set()
        anvil_rpc(w3, "anvil_autoImpersonateAccount", [True])
        for start in range(0, len(members), 500):
            anvil_batch(
                w3, [("anvil_setBalance", [m, hex(10**21)]) for m in members[start : start + 500]]
            )

    def track(self, token: str, clock: Clock, validity: int) -> None:
        """Follow points contract `token` (its clock and policy) from now on."""
        self.books[token] = Book(clock, validity=validity)

    def head_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def issued(self, token: str, members: list[str], amounts: list[int], timestamp: int) -> None:
        """Tell the model about issues mined at `timestamp` (any time in the same epoch)."""
        book = self.books[token]
        for m, a in zip(members, amounts, strict=True):
            book.issue(m, a, timestamp)

    def _debit(self, now: int) -> tuple[str, str, str, int, bytes] | None:
        """Picks a sender holding live points in some program, a kind, a recipient, an amount."""
        rnd, tokens = self.rnd, list(self.books)
        for _ in range(50):
            token, src = rnd.choice(tokens), rnd.choice(self.members)
            if src in self._receivers:
                continue
            live = self.books[token].balance(src, now)
            if live:
                break
        else:
            return None
        kind = rnd.choices([k for k, _ in DEBIT_MIX], [w for _, w in DEBIT_MIX])[0]
        # Redemptions are a good part of the balance, transfers and gifts smaller; either may
        # span several lots.
        share = rnd.uniform(0.2, 0.7) if kind == "redeem" else rnd.uniform(0.05, 0.4)
        amount = max(1, min(live, round(live * share)))
        book = self.books[token]
        self._senders.add(src)
        if kind == "redeem":
            book.burn(src, amount, now)
            data = _SEL[kind] + abi_encode(["uint256", "bytes32"], [amount, REDEEM_REF])
            return token, src, kind, amount, data
        dst = src
        while dst == src or dst in self._senders:
            dst = rnd.choice(self.members)
        self._receivers.add(dst)
        book.move(src, dst, amount, now)
        if kind == "gift":
            args = [dst, amount, "thanks"]
            data = _SEL[kind] + abi_encode(["address", "uint256", "string"], args)
        else:
            data = _SEL[kind] + abi_encode(["address", "uint256"], [dst, amount])
        return token, src, kind, amount, data

    def debits(self, events: int, *, per_block: int = 250) -> int:
        """Sends debits until they emit about `events` events; returns the events emitted.

        All in the current epoch (the caller moves the clock between rounds).
        """
        now = self.head_time()
        epoch = {t: b.clock.epoch(now) for t, b in self.books.items()}
        anvil_rpc(self.w3, "evm_setAutomine", [False])
        emitted = 0
        try:
            while emitted < events:
                txs, want = [], 0
                # No member both sends and receives in one block: the model then does not
                # depend on how the node orders the block's transactions.
                self._senders, self._receivers = set(), set()
                while len(txs) < per_block and emitted + want < events:
                    d = self._debit(now)
                    if d is None:
                        break
                    token, src, kind, _, data = d
                    tx = {
                        "from": src,
                        "to": token,
                        "data": "0x" + data.hex(),
                        "gas": hex(600_000),
                        "nonce": hex(self.nonces[src]),
                    }
                    self.nonces[src] += 1
                    txs.append(tx)
                    self.sent[kind] += 1
                    want += DEBIT_EVENTS[kind]
                if not txs:
                    break
                hashes = anvil_batch(self.w3, [("eth_sendTransaction", [tx]) for tx in txs])
                anvil_rpc(self.w3, "evm_mine")
                emitted += self._check(hashes)
        finally:
            anvil_rpc(self.w3, "evm_setAutomine", [True])
        end = self.head_time()
        for t, b in self.books.items():
            if b.clock.epoch(end) != epoch[t]:
                raise RuntimeError("an epoch started while debits were sent: the model is off")
        self.events += emitted
        return emitted

    def _check(self, hashes: list[str]) -> int:
        """Every debit mined, none reverted; returns their log count."""
        logs = 0
        for _ in range(5):
            receipts = anvil_batch(self.w3, [("eth_getTransactionReceipt", [h]) for h in hashes])
            if all(r is not None for r in receipts):
                break
            anvil_rpc(self.w3, "evm_mine")  # did not fit in one block
        else:
            raise RuntimeError("debits not mined")
        for r in receipts:
            if int(r["status"], 16) != 1:
                raise RuntimeError(f"debit reverted: {r['transactionHash']}")
            logs += len(r["logs"])
        return logs

    def expired(self, timestamp: int) -> int:
        """Points that expired unspent by `timestamp`, over every tracked program."""
        return sum(b.expired_total(timestamp) for b in self.books.values())

    def lots(self, timestamp: int) -> tuple[int, int]:
        """(live, expired) expiring lots holding points at `timestamp`, over every program."""
        live = dead = 0
        for b in self.books.values():
            epoch = b.clock.epoch(timestamp)
            for h in b.holdings.values():
                for x, a in h.lots.items():
                    if x != PERMANENT and a:
                        live += x > epoch
                        dead += x <= epoch
        return live, dead

    def verify(self, sample: int = 50) -> int:
        """`lotsOf` and `permanentBalanceOf` of `sample` members in every program equal the
        model's (at the head); raises otherwise. Returns the number of holdings compared."""
        now = self.head_time()
        who = self.rnd.sample(self.members, min(sample, len(self.members)))
        calls, keys = [], []
        for token in self.books:
            for m in who:
                arg = abi_encode(["address"], [m])
                for sel in (_SEL_LOTS, _SEL_PERM):
                    calls.append(("eth_call", [{"to": token, "data": "0x" + (sel + arg).hex()}]))
                keys.append((token, m))
        out = anvil_batch(self.w3, calls)
        for i, (token, m) in enumerate(keys):
            book = self.books[token]
            xs, amounts = abi_decode(["uint256[]", "uint256[]"], bytes.fromhex(out[2 * i][2:]))
            perm = int(out[2 * i + 1], 16)
            held = book.holdings.get(m)
            want = held.live_lots(book.clock.epoch(now)) if held else []
            want_perm = dict(want).pop(PERMANENT, 0)
            want = [(x, a) for x, a in want if x != PERMANENT]
            got = list(zip(xs, amounts, strict=True))
            if got != want or perm != want_perm:
                raise RuntimeError(f"model != chain for {m} in {token}: {got} {perm} vs {want}")
        return len(keys)
