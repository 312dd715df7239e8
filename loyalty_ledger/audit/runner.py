"""`run_audit`: replay, then every check the options ask for, into one `AuditReport`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import digest as dg
from . import incremental
from .chain_replay import Network, Progress, Replay, replay_chain
from .decode import Kind
from .report import AuditReport
from .rpc import Rpc
from .state import Finding
from .summary import member_lots, summarise_state
from .verify_chain import verify_chain
from .verify_code import verify_code

if TYPE_CHECKING:
    from .mirror_read import MirrorDb

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
    checkpoint: str | Path | None = None,
    full: bool = False,
    keep_digests: bool | None = None,
) -> AuditReport:
    """Audit `network` as of `at_block` (default: the mirror's checkpoint with `database`,
    else the head). With `checkpoint` (a file), start from the checkpoint there when it is
    sound (not with `full`), and write the new one at the audited block. `keep_digests`
    (default: without a checkpoint) keeps every block's digest in the report, which needs
    the replay from genesis."""
    if keep_digests is None:
        keep_digests = checkpoint is None
    rpc = rpc or Rpc(network.rpc_url)
    db = None
    if database is not None:
        from .mirror_read import MirrorDb

        db = MirrorDb(database)
    try:
        return _run(
            network,
            rpc,
            db,
            at_block,
            check_code=check_code,
            check_chain=check_chain,
            member=member,
            bisect_file=bisect_file,
            bisect_database=bisect_database,
            workers=workers,
            progress=progress,
            checkpoint=checkpoint,
            full=full,
            keep_digests=keep_digests,
        )
    finally:
        if db is not None:
            db.close()


def _run(
    network: Network,
    rpc: Rpc,
    db: MirrorDb | None,
    at_block: int | None,
    *,
    check_code: bool,
    check_chain: bool,
    member: str | None,
    bisect_file: str | None,
    bisect_database: str | None,
    workers: int,
    progress: Progress | None,
    checkpoint: str | Path | None,
    full: bool,
    keep_digests: bool,
) -> AuditReport:
    timings: dict[str, float] = {}
    checks: dict[str, object] = {}
    findings: list[Finding] = []
    if db is not None:
        from .verify_mirror import check_same_chain

        if at_block is None:
            at_block = db.checkpoint_block
        check_same_chain(rpc, db, at_block)
    t = time.perf_counter()
    rpc.chain_id()  # the first request: a node that does not answer fails here, plainly
    block = rpc.block_number() if at_block is None else at_block
    why = _needs_history(member, bisect_file, bisect_database, keep_digests)
    pl = incremental.plan(
        rpc, network, block, checkpoint, full=full, needs_history=why, mirror=db is not None
    )
    timings["plan"] = time.perf_counter() - t
    history = None
    if db is not None:
        from .mirror_history import HistoryCheck
        from .verify_mirror import _diff

        xs = incremental.exchanges(pl.kinds)
        first = None if pl.resume is None else pl.resume.block + 1
        history = HistoryCheck(
            rpc, db, network.start_block, _diff, lambda: xs, first=first, stored=pl.ranges
        )
        if pl.resume is not None:
            t_m = time.perf_counter()
            history.below(pl.kinds, progress)
            timings["mirror_below_checkpoint"] = time.perf_counter() - t_m
    rep = replay_chain(
        rpc,
        network.registry,
        network.start_block,
        at_block,
        member=member,
        forwarder=network.forwarder,
        exchange=network.exchange,
        progress=progress,
        on_page=history.page if history is not None else None,
        keep_digests=bool(keep_digests or bisect_file or bisect_database) and pl.resume is None,
        resume=pl.resume,
        snapshot=pl.path is not None,
        kinds=pl.kinds,
    )
    timings["replay_total"] = time.perf_counter() - t
    timings.update({f"replay_{k}": v for k, v in rep.timings.items()})
    findings.extend(rep.state.findings)
    checks["replay"] = {
        "events": rep.log_count,
        "events_replayed": rep.log_count - (pl.resume.log_count if pl.resume else 0),
        "blocks_with_events": rep.digest_blocks,
        "contracts": len(rep.kinds),
        "invariant_errors": sum(1 for f in rep.state.findings if f.severity == "error"),
    }
    if pl.path is not None:
        checks["checkpoint"] = pl.describe()
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
        tick = _Tick(progress, "views")
        n, chain_findings = verify_chain(
            rpc, rep.state, rep.block, workers=workers, on_done=tick, on_plan=tick.plan
        )
        findings.extend(chain_findings)
        checks["chain"] = {"view_calls": n, "mismatches": len(chain_findings)}
        timings["chain"] = time.perf_counter() - t
    if db is not None and history is not None:
        from .verify_mirror import verify_mirror

        t = time.perf_counter()
        info, mirror_findings = verify_mirror(rpc, db, rep, history, progress)
        findings.extend(mirror_findings)
        checks["mirror"] = info
        timings["mirror"] = time.perf_counter() - t
    if db is not None:
        from .verify_earnings import verify_earnings

        t = time.perf_counter()
        earned, earn_findings = verify_earnings(rpc, db, rep.state, rep.block, workers=workers)
        findings.extend(earn_findings)
        checks["earnings"] = earned
        timings["earnings"] = time.perf_counter() - t
    if pl.path is not None:
        t = time.perf_counter()
        incremental.write(pl, network, rep, history.digests if history is not None else None)
        timings["checkpoint_write"] = time.perf_counter() - t
    bisect = None
    if bisect_file is not None or bisect_database is not None:
        bisect = _bisect(rep, bisect_file, bisect_database, db)
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
    return AuditReport(
        chain_id=rep.chain_id,
        registry=network.registry,
        start_block=network.start_block,
        block=rep.block,
        block_hash=rep.block_hash,
        digest=rep.digest,
        digest_blocks=rep.digest_blocks,
        events=rep.log_count,
        state=summarise_state(rep.state),
        findings=findings,
        checks=checks,
        timings=timings,
        statement=_statement(rep),
        bisect=bisect,
        digests=rep.digests,
    )


def _needs_history(
    member: str | None, bisect_file: str | None, bisect_db: str | None, digests: bool
) -> str | None:
    """Which option needs the replay from genesis (a statement, a digest list), if any."""
    if member:
        return "--member (a statement from the first event)"
    if bisect_file or bisect_db:
        return "--bisect (every digest of the chain)"
    if digests:
        return "the digest list"
    return None


def _bisect(
    rep: Replay, path: str | None, database: str | None, db: MirrorDb | None
) -> dict[str, object]:
    """Check a published digest list (or a second mirror's chain) entry by entry."""
    if path is not None:
        header, published = dg.load_list(path)
        theirs = [d for d in published if d.block <= rep.block]
        against = path
    else:
        from .mirror_read import MirrorDb
        from .verify_mirror import mirror_digests

        assert database is not None
        header = {}
        other = db if db is not None and db.url == database else MirrorDb(database)
        try:
            theirs = [d for d in mirror_digests(other, rep) if d.block <= rep.block]
        finally:
            if other is not db:
                other.close()
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


class _Tick:
    """Progress of the chain views: the planned number of calls, then calls answered."""

    def __init__(self, progress: Progress | None, phase: str) -> None:
        self.progress, self.phase = progress, phase
        self.done = self.total = 0

    def plan(self, total: int) -> None:
        self.total = total
        if self.progress:
            self.progress(self.phase, 0, total)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.progress:
            self.progress(self.phase, self.done, self.total)
