"""Compare the replayed state with the contracts' own view functions at the same block.

Every call goes out as JSON-RPC batches from a small thread pool; every mismatch is listed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .rpc import Failed, Rpc
from .state import Finding, LedgerState
from .verify_books import plan_book_calls
from .viewcall import ViewCall, _a, _addr, _b, _pass_info, _u, _uint, selector

_SEL = {
    s.split("(")[0]: selector(s)
    for s in [
        "totalSupply()",
        "paused()",
        "balanceOf(address)",
        "passOf(address)",
        "passInfo(uint256)",
        "locked(uint256)",
        "transferable()",
        "isMember(address)",
        "isFrozen(address)",
        "recoveredTo(address)",
        "programCount()",
        "hasRole(bytes32,address)",
    ]
}


def plan_calls(state: LedgerState) -> list[ViewCall]:
    """Every view the replayed state makes a claim about."""
    calls: list[ViewCall] = []
    s = _SEL
    for book in state.points.values():
        p = book.address
        calls.append(
            ViewCall(f"points:{p}/totalSupply", p, s["totalSupply"], book.total_supply, _u)
        )
        calls.append(ViewCall(f"points:{p}/paused", p, s["paused"], book.paused, _b))
        for holder, bal in book.balances.items():
            calls.append(
                ViewCall(f"points:{p}/balance/{holder}", p, s["balanceOf"] + _addr(holder), bal, _u)
            )
    for pb in state.passes.values():
        p = pb.address
        calls.append(ViewCall(f"pass:{p}/transferable", p, s["transferable"], pb.transferable, _b))
        for owner in pb.ever_owners:
            calls.append(
                ViewCall(
                    f"pass:{p}/passOf/{owner}",
                    p,
                    s["passOf"] + _addr(owner),
                    pb.holder.get(owner, 0),
                    _u,
                )
            )
        for tid, rec in pb.passes.items():
            calls.append(
                ViewCall(
                    f"pass:{p}/passInfo/{tid}",
                    p,
                    s["passInfo"] + _uint(tid),
                    (rec.owner, rec.tier, rec.expires_at),
                    _pass_info,
                )
            )
            calls.append(
                ViewCall(f"pass:{p}/locked/{tid}", p, s["locked"] + _uint(tid), rec.locked, _b)
            )
        for tid in pb.revoked - pb.passes.keys():
            calls.append(
                ViewCall(
                    f"pass:{p}/passInfo/{tid}",
                    p,
                    s["passInfo"] + _uint(tid),
                    "revert (burned)",
                    _pass_info,
                    reverts=True,
                )
            )
    reg, r = state.members, state.registry
    calls.append(
        ViewCall(f"registry:{r}/programCount", r, s["programCount"], len(state.programs), _u)
    )
    accounts = set(reg.seen) | reg.frozen
    for book in state.points.values():
        accounts.update(book.balances)
    for pb in state.passes.values():
        accounts.update(pb.ever_owners)
    for acct in sorted(accounts):
        calls.append(
            ViewCall(
                f"registry:{r}/isMember/{acct}",
                r,
                s["isMember"] + _addr(acct),
                acct in reg.members,
                _b,
            )
        )
        calls.append(
            ViewCall(
                f"registry:{r}/isFrozen/{acct}",
                r,
                s["isFrozen"] + _addr(acct),
                acct in reg.frozen,
                _b,
            )
        )
    for lost, new in reg.recovered_to.items():
        calls.append(
            ViewCall(f"registry:{r}/recoveredTo/{lost}", r, s["recoveredTo"] + _addr(lost), new, _a)
        )
    calls.extend(plan_book_calls(state))
    for (contract, role), ever in state.ever_role.items():
        holders = state.roles.get((contract, role), set())
        for acct in ever:
            calls.append(
                ViewCall(
                    f"roles:{contract}/{role}/{acct}",
                    contract,
                    s["hasRole"] + role[2:] + _addr(acct),
                    acct in holders,
                    _b,
                )
            )
    return calls


def verify_chain(
    rpc: Rpc,
    state: LedgerState,
    block: int,
    *,
    workers: int = 4,
    on_done: Callable[[int], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> tuple[int, list[Finding]]:
    """Run every planned view at `block`; return (number of calls, findings)."""
    calls = plan_calls(state)
    if on_plan is not None:
        on_plan(len(calls))
    tag = hex(block)
    answers = rpc.batch_many(
        [("eth_call", [{"to": c.to, "data": "0x" + c.data}, tag]) for c in calls],
        workers=workers,
        on_done=on_done,
    )
    findings: list[Finding] = []
    for c, ans in zip(calls, answers, strict=True):
        if isinstance(ans, Failed):
            if not c.reverts:
                findings.append(
                    Finding(
                        "chain",
                        "view-reverted",
                        c.key,
                        f"the view reverted: {ans.error}",
                        c.expected,
                        "revert",
                    )
                )
            continue
        if c.reverts:
            findings.append(
                Finding(
                    "chain",
                    "view-mismatch",
                    c.key,
                    "the replay has this pass burned, the chain answers",
                    c.expected,
                    _jsonable(c.parse(ans)),
                )
            )
            continue
        got = c.parse(ans)
        if got != c.expected:
            findings.append(
                Finding(
                    "chain",
                    "view-mismatch",
                    c.key,
                    f"replay says {c.expected!r}, chain says {got!r}",
                    _jsonable(c.expected),
                    _jsonable(got),
                )
            )
    return len(calls), findings


def _jsonable(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v
