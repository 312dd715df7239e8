"""Gas per ledger operation beside plain OpenZeppelin ERC-20 / ERC-721, in one anvil run.

Usage: .venv/bin/python benchmarks/bench_gas.py
Prints a table (gas from transaction receipts, so the 21,000 intrinsic gas and calldata are
included on both sides) and the permissioning overhead in %. Batch figures are per recipient.
Then the "expiry" section: transfer, gift and redeem by a sender holding 1, 12 or 24 live
ERC-7818 lots (validity 24 epochs, one lot per epoch, issued in successive epochs by moving
anvil's clock), taking (a) part of the soonest lot or (b) every live lot, each beside a plain
OpenZeppelin transfer to an existing holder, with the ratio (the aim: at most 2x at 12 lots).
"""

from __future__ import annotations

import time

from _common import Bench, addresses, member_account, network, register_all
from web3 import Web3
from web3.types import RPCEndpoint

from loyalty_ledger import ledger
from loyalty_ledger.chain.artifacts import load_artifact
from loyalty_ledger.chain.deploy import DEFAULT_EPOCH_SECONDS, add_brand
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.ledger import BatchItem, gasless, lots

VALIDITY = 24
"""Epochs an expiring lot stays valid in the expiry section."""
LOT_COUNTS = (1, 12, 24)
"""How many live lots the sender holds."""
LOT_SIZE = 100
"""Points issued to each holder per epoch (one lot per epoch)."""
EXPIRY_OPS = ("transfer", "gift", "redeem")
CASES = {"a": "soonest lot only", "b": "drains every live lot"}


def deploy_plain(bench: Bench, name: str) -> object:
    art = load_artifact(name)
    rcpt = bench.operator.deploy(art.bytecode, art.abi, bench.operator.address)
    return bench.w3.eth.contract(address=rcpt.contract_address, abi=art.abi)


def funded_member(bench: Bench, i: int) -> Sender:
    account = member_account(i)
    bench.operator.transact({"to": account.address, "value": Web3.to_wei(1, "ether")})
    return Sender(bench.w3, account)


def ledger_gas(bench: Bench) -> dict[str, float]:
    op, prog = bench.operator, bench.program
    alice, bob = funded_member(bench, 1), funded_member(bench, 2)
    register_all(bench, [alice.address, bob.address])
    gas: dict[str, float] = {}
    issue = ledger.issue_points
    gas["issue (new holder)"] = issue(
        sender=op, program=prog, member=alice.address, amount=500, ref="order-1"
    ).gas_used
    gas["issue (existing holder)"] = issue(
        sender=op, program=prog, member=alice.address, amount=500, ref="order-2"
    ).gas_used
    gas["transfer"] = ledger.transfer_points(
        sender=alice, program=prog, to=bob.address, amount=10
    ).gas_used
    gas["transfer (existing holder)"] = ledger.transfer_points(
        sender=alice, program=prog, to=bob.address, amount=10
    ).gas_used
    gas["gift (memo 'happy birthday')"] = ledger.gift_points(
        sender=alice, program=prog, to=bob.address, amount=10, memo="happy birthday"
    ).gas_used
    gas["redeem (holder's own call)"] = ledger.redeem_points(
        sender=alice, program=prog, amount=10, ref="perk-1"
    ).gas_used
    call = ledger.gift_call(w3=bench.w3, program=prog, to=bob.address, amount=5, memo="thanks")
    gas["gift, gasless (forwarder execute)"] = gasless.relay_call(
        relayer=op, deployment=bench.deployment, signer=alice.account, call=call
    ).gas_used
    for n in (100, 1000):
        members = addresses(n, salt=f"batch{n}")
        register_all(bench, members)
        items = [BatchItem(member=m, amount=100, ref=f"o{i}") for i, m in enumerate(members)]
        (rcpt,) = ledger.issue_points_batch(sender=op, program=prog, items=items, chunk_size=n)
        gas[f"batch issue, per new recipient (n={n})"] = rcpt.gas_used / n
    _, rcpt = ledger.issue_pass(sender=op, program=prog, member=alice.address, tier=0)
    gas["pass issue"] = rcpt.gas_used
    gas["pass tier upgrade"] = ledger.set_tier(
        sender=op, program=prog, member=alice.address, tier=1
    ).gas_used
    return gas


def plain_gas(bench: Bench) -> dict[str, float]:
    op = bench.operator
    token, nft = deploy_plain(bench, "PlainPoints"), deploy_plain(bench, "PlainPass")
    alice, bob = funded_member(bench, 11), funded_member(bench, 12)
    gas: dict[str, float] = {}
    gas["issue (new holder)"] = op.transact(token.functions.mint(alice.address, 500)).gas_used
    gas["issue (existing holder)"] = op.transact(token.functions.mint(alice.address, 500)).gas_used
    gas["transfer"] = alice.transact(token.functions.transfer(bob.address, 10)).gas_used
    gas["transfer (existing holder)"] = alice.transact(
        token.functions.transfer(bob.address, 10)
    ).gas_used
    for n in (100, 1000):
        members = addresses(n, salt=f"plain{n}")
        rcpt = op.transact(token.functions.mintBatch(members, [100] * n))
        gas[f"batch issue, per new recipient (n={n})"] = rcpt.gas_used / n
    gas["pass issue"] = op.transact(nft.functions.mint(alice.address, 1)).gas_used
    return gas


def advance_epoch(bench: Bench) -> None:
    """Moves anvil's clock one expiry epoch on (the next block is mined that much later)."""
    bench.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [DEFAULT_EPOCH_SECONDS])
    bench.w3.provider.make_request(RPCEndpoint("evm_mine"), [])


def expiry_gas(bench: Bench) -> tuple[dict[tuple[int, str, str], int], dict[str, float]]:
    """Debits by senders holding 1, 12 or 24 live lots; issue and batch figures with a policy.

    A second brand (so the no-policy figures above stay as they are) sets a validity of 24
    epochs, then issues every epoch for 24 epochs: each sender gets one lot in each of the last
    N epochs (a member who earned in each of its N most recent months), the recipient one in
    every epoch (an existing holder of the same lots, and of permanent points). Every measured
    debit has its own sender.
    """
    op = bench.operator
    prog = add_brand(
        bench.w3,
        op,
        bench.deployment,
        brand_id="bench-expiry",
        name="Expiry Points",
        symbol="XPT",
        admin=op.address,
        tiers=["silver"],
    )
    senders: dict[tuple[int, str, str], Sender] = {}
    i = 100
    for n in LOT_COUNTS:
        for what in EXPIRY_OPS:
            for case in CASES:
                senders[(n, what, case)] = funded_member(bench, i)
                i += 1
    permanent_only = funded_member(bench, i)
    recipient = addresses(1, salt="expiry-recipient")[0]
    register_all(bench, [s.address for s in senders.values()] + [permanent_only.address, recipient])
    # Points issued before any policy never expire: the recipient holds some too.
    for member in (permanent_only.address, recipient):
        ledger.issue_points(sender=op, program=prog, member=member, amount=1_000)
    lots.set_validity_duration(sender=op, program=prog, epochs=VALIDITY)
    other: dict[str, float] = {}
    for epoch in range(VALIDITY):
        if epoch:
            advance_epoch(bench)
        holders = [s.address for (n, _, _), s in senders.items() if n >= VALIDITY - epoch]
        items = [BatchItem(member=m, amount=LOT_SIZE) for m in [recipient, *holders]]
        ledger.issue_points_batch(sender=op, program=prog, items=items, chunk_size=len(items))
    gas: dict[tuple[int, str, str], int] = {}
    for (n, what, case), sender in senders.items():
        amount = LOT_SIZE // 2 if case == "a" else n * LOT_SIZE
        if what == "transfer":
            rcpt = ledger.transfer_points(sender=sender, program=prog, to=recipient, amount=amount)
        elif what == "gift":
            rcpt = ledger.gift_points(
                sender=sender, program=prog, to=recipient, amount=amount, memo="happy birthday"
            )
        else:
            rcpt = ledger.redeem_points(sender=sender, program=prog, amount=amount, ref="perk-1")
        gas[(n, what, case)] = rcpt.gas_used
    other["transfer, sender holds only permanent points (policy 24 active)"] = (
        ledger.transfer_points(sender=permanent_only, program=prog, to=recipient, amount=10)
    ).gas_used
    alice = addresses(2, salt="expiry-issue")
    register_all(bench, alice)
    issue = ledger.issue_points
    other["issue under policy (new holder)"] = issue(
        sender=op, program=prog, member=alice[0], amount=500, ref="order-1"
    ).gas_used
    other["issue under policy (existing holder, same lot)"] = issue(
        sender=op, program=prog, member=alice[0], amount=500, ref="order-2"
    ).gas_used
    for n in (100, 1000):
        members = addresses(n, salt=f"expiry-batch{n}")
        register_all(bench, members)
        items = [BatchItem(member=m, amount=100, ref=f"o{i}") for i, m in enumerate(members)]
        (rcpt,) = ledger.issue_points_batch(sender=op, program=prog, items=items, chunk_size=n)
        other[f"batch issue under policy, per new recipient (n={n})"] = rcpt.gas_used / n
    return gas, other


def main() -> None:
    started = time.perf_counter()
    with network(gas_limit=100_000_000) as bench:
        ours, plain = ledger_gas(bench), plain_gas(bench)
        expiry, expiry_other = expiry_gas(bench)
    print(f"{'operation':44} {'ledger':>10} {'plain OZ':>10} {'overhead':>9}")
    for name, value in ours.items():
        base = plain.get(name)
        extra = f"{100 * (value - base) / base:+8.1f}%" if base else f"{'-':>9}"
        base_s = f"{base:10,.0f}" if base else f"{'-':>10}"
        print(f"{name:44} {value:10,.0f} {base_s} {extra}")
    base = plain["transfer (existing holder)"]
    print()
    print(f"expiry (validity {VALIDITY} epochs; the recipient holds the same lots already;")
    print(f"ratio = gas / plain OZ transfer to an existing holder, {base:,.0f})")
    print(f"{'operation':10} {'case':24} {'lots':>5} {'gas':>9} {'ratio':>7} {'<= 2x':>6}")
    for (n, what, case), value in expiry.items():
        ratio = value / base
        ok = "yes" if ratio <= 2 else "no"
        print(f"{what:10} {case + ') ' + CASES[case]:24} {n:5} {value:9,} {ratio:6.2f}x {ok:>6}")
    for name, value in expiry_other.items():
        print(f"{name:66} {value:9,.0f}")
    print(f"(anvil, solc 0.8.28, optimizer 10,000 runs; {time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()
