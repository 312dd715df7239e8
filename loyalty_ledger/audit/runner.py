"""`run_audit`: replay, then every check the options ask for, into one `AuditReport`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import digest as dg
from .chain_replay import Network, Progress, Replay, replay_chain
from .decode import Kind
from .report import AuditReport
from .rpc import Rpc
from .state import Finding
from .summary import member_lots, summarise_state
from .verify_chain import verify_chain
from .verify_code import verify_code

_CODE_NAME = {
    Kind.REGISTRY: "MemberRegistry",
    Kind.POINTS: "LoyaltyPoints",
    Kind.PASS: "MembershipPass",
    Kind.FORWARDER: "ERC2771Forwarder",
    Kind.EXCHANGE: "CoalitionExchange",
}


def run_audit(
    network: Network,
    *,
    at_block: int | None = None,
    database: str | None = None,
    check_code: bool = True,
    check_chain: bool = True,
    member: str | None = None,
    bisect_file: str | None = None,
    bisect_database: str | None = None,
    workers: int = 4,
    progress: Progress | None = None,
    rpc: Rpc | None = None,
) -> AuditReport:
    """Audit `network` as of `at_block` (default: the mirror's checkpoint with `database`,
    else the head)."""
    rpc = rpc or Rpc(network.rpc_url)
    timings: dict[str, float] = {}
    checks: dict[str, object] = {}
    findings: list[Finding] = []
    mirror = None
    if database is not None:
        from .mirror_rows import Mirror
        from .verify_mirror import check_same_chain

        mirror = Mirror.load(database)
        if at_block is None:
            at_block = mirror.checkpoint_block
        check_same_chain(rpc, mirror, at_block)
    t = time.perf_counter()
    rep = replay_chain(
        rpc,
        network.registry,
        network.start_block,
        at_block,
        member=member,
        forwarder=network.forwarder,
        exchange=network.exchange,
        keep_events=mirror is not None,
        progress=progress,
    )
    timings["replay_total"] = time.perf_counter() - t
    timings.update({f"replay_{k}": v for k, v in rep.timings.items()})
    findings.extend(rep.state.findings)
    checks["replay"] = {
        "events": rep.log_count,
        "blocks_with_events": len(rep.digests),
        "contracts": len(rep.kinds),
        "invariant_errors": sum(1 for f in rep.state.findings if f.severity == "error"),
    }
    if check_code:
        t = time.perf_counter()
        contracts = {addr: _CODE_NAME[kind] for addr, kind in rep.kinds.items()}
        code_checks, code_findings = verify_code(rpc, contracts, block=rep.block)
        findings.extend(code_findings)
        checks["code"] = {
            "contracts": len(code_checks),
            "mismatched": [c.address for c in code_checks if not c.ok],
        }
        timings["code"] = time.perf_counter() - t
    if check_chain:
        t = time.perf_counter()
        n, chain_findings = verify_chain(
            rpc, rep.state, rep.block, workers=workers, on_done=_tick(progress, "views")
        )
        findings.extend(chain_findings)
        checks["chain"] = {"view_calls": n, "mismatches": len(chain_findings)}
        timings["chain"] = time.perf_counter() - t
    if mirror is not None:
        from .verify_mirror import verify_mirror

        t = time.perf_counter()
        info, mirror_findings = verify_mirror(rpc, mirror, rep)
        findings.extend(mirror_findings)
        checks["mirror"] = info
        timings["mirror"] = time.perf_counter() - t
    bisect = None
    if bisect_file is not None or bisect_database is not None:
        bisect = _bisect(rep, bisect_file, bisect_database)
        if bisect["differing_entries"]:
            findings.append(
                Finding(
                    "digest",
                    "digest-differs",
                    str(bisect["against"]),
                    f"{bisect['differing_entries']} of {bisect['theirs_blocks']} published "
                    f"entries differ from the replay; first {bisect['first_entry']}",
                    bisect.get("ours"),
                    bisect.get("theirs"),
                )
            )
    head = (
        rep.digests[-1].digest
        if rep.digests
        else "0x" + dg.genesis(rep.chain_id, network.registry).hex()
    )
    return AuditReport(
        chain_id=rep.chain_id,
        registry=network.registry,
        start_block=network.start_block,
        block=rep.block,
        block_hash=rep.block_hash,
        digest=head,
        digest_blocks=len(rep.digests),
        events=rep.log_count,
        state=summarise_state(rep.state),
        findings=findings,
        checks=checks,
        timings=timings,
        statement=_statement(rep),
        bisect=bisect,
        digests=rep.digests,
    )


def _bisect(rep: Replay, path: str | None, database: str | None) -> dict[str, object]:
    """Check a published digest list (or a second mirror's chain) entry by entry."""
    if path is not None:
        header, published = dg.load_list(path)
        theirs = [d for d in published if d.block <= rep.block]
        against = path
    else:
        from .mirror_rows import Mirror
        from .verify_mirror import mirror_digests

        assert database is not None
        header = {}
        theirs = [d for d in mirror_digests(Mirror.load(database), rep) if d.block <= rep.block]
        against = database
    diffs = dg.differences(rep.digests, theirs)
    wrong = dg.header_differences(header, rep.chain_id, rep.state.registry)
    out: dict[str, object] = {
        "against": against,
        "first_difference": diffs[0].block if diffs else None,
        "ours_blocks": len(rep.digests),
        "theirs_blocks": len(theirs),
        "differing_entries": len(diffs) + len(wrong),
        "entries": [d.describe() for d in diffs[:20]] + wrong,
        "first_entry": diffs[0].describe() if diffs else (wrong[0] if wrong else None),
    }
    if diffs:
        i = diffs[0].index
        out["ours"] = rep.digests[i].as_dict() if i < len(rep.digests) else None
        out["theirs"] = theirs[i].as_dict() if i < len(theirs) else None
    return out


def _statement(rep: Replay) -> dict[str, Any] | None:
    if rep.statement is None:
        return None
    return {**rep.statement.as_dict(), "lots": member_lots(rep.state, rep.statement.member)}


def _tick(progress: Progress | None, phase: str) -> Callable[[int], None] | None:
    if progress is None:
        return None
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        progress(phase, done[0], 0)

    return tick
