"""Audit the ledger from the chain alone: replay, recompute, verify code, chain views and mirror.

The replay keeps each program's expiry lots (`loyalty_ledger.expiry`'s model, at each event's
block time) and pairs each coalition swap's two sides; the books per program are
issued + swapped in = redeemed + swapped out + forfeited + expired + outstanding.

Bounded memory: the replay streams the logs in pages (fetch, apply, drop) and the mirror is
read range by range (`mirror_read`, `mirror_history`) and table by table, so memory follows the
state, not the history. Incremental: `checkpoint` keeps the replayed state at block N sealed
into the digest chain; the next audit checks it (`incremental.plan`) and replays N+1 … head,
checking the mirror's rows below N against the checkpoint's range digests (`mirror_range`).

Independent of the indexer on purpose: it shares no code with it (its own RPC client, ABI
decoding and replay), so a bug in the indexer cannot hide in the audit. May import `store` (to
read a mirror under audit), `expiry` (the pure rules) and the base modules only.

Public API:
    run_audit(network, ..., checkpoint=PATH) -> AuditReport   audit, incremental (runner)
    replay_chain(rpc, registry, start, at) -> Replay   fetch + pure replay (chain_replay)
    Replayer / check_invariants                   the pure core over decoded events
    verify_code / verify_chain / verify_mirror    the three comparisons
    verify_earnings                               rule lines vs what each earning's tx credited
    DigestChain / first_difference                the published ledger digest (digest)
    to_json / to_text / to_html                   report renderings
    summarise_state / member_lots                 the recomputed state as data (summary)
"""

from .chain_replay import Network, Replay, replay_chain
from .decode import Event, Kind, Log, decode, encode
from .digest import BlockDigest, DigestChain, first_difference
from .invariants import check_invariants
from .replay import Replayer
from .report import AuditReport, to_html, to_json, to_text
from .rpc import Rpc
from .runner import run_audit
from .state import Finding, LedgerState
from .summary import member_lots, summarise_state
from .verify_chain import verify_chain
from .verify_code import compile_sources, verify_code

__all__ = [
    "AuditReport",
    "BlockDigest",
    "DigestChain",
    "Event",
    "Finding",
    "Kind",
    "LedgerState",
    "Log",
    "Network",
    "Replay",
    "Replayer",
    "Rpc",
    "check_invariants",
    "compile_sources",
    "decode",
    "encode",
    "first_difference",
    "member_lots",
    "replay_chain",
    "run_audit",
    "summarise_state",
    "to_html",
    "to_json",
    "to_text",
    "verify_chain",
    "verify_code",
]
