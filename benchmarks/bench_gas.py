"""Gas per ledger operation beside plain OpenZeppelin ERC-20 / ERC-721, in one anvil run.

Usage: .venv/bin/python benchmarks/bench_gas.py
Prints a table (gas from transaction receipts, so the 21,000 intrinsic gas and calldata are
included on both sides) and the permissioning overhead in %. Batch figures are per recipient.
"""

from __future__ import annotations

import time

from _common import Bench, addresses, member_account, network, register_all
from web3 import Web3

from loyalty_ledger import gasless, ledger
from loyalty_ledger.artifacts import load_artifact
from loyalty_ledger.chain import Sender
from loyalty_ledger.ledger import BatchItem


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
    for n in (100, 1000):
        members = addresses(n, salt=f"plain{n}")
        rcpt = op.transact(token.functions.mintBatch(members, [100] * n))
        gas[f"batch issue, per new recipient (n={n})"] = rcpt.gas_used / n
    gas["pass issue"] = op.transact(nft.functions.mint(alice.address, 1)).gas_used
    return gas


def main() -> None:
    started = time.perf_counter()
    with network(gas_limit=100_000_000) as bench:
        ours, plain = ledger_gas(bench), plain_gas(bench)
    print(f"{'operation':44} {'ledger':>10} {'plain OZ':>10} {'overhead':>9}")
    for name, value in ours.items():
        base = plain.get(name)
        extra = f"{100 * (value - base) / base:+8.1f}%" if base else f"{'-':>9}"
        base_s = f"{base:10,.0f}" if base else f"{'-':>10}"
        print(f"{name:44} {value:10,.0f} {base_s} {extra}")
    print(f"(anvil, solc 0.8.28, optimizer 10,000 runs; {time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()
