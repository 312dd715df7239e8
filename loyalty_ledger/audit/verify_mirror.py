"""Does the operator's SQL mirror tell the truth?

Reads the mirror's tables (`loyalty_ledger.store`'s schema, read-only) and compares them with
the audit's own replay and with the node: every event row, every derived row, the checkpoint,
and the chain linkage of the stored blocks. Each row missing, extra or different is a finding
with its key and both values (`expected` = the audit's, `actual` = the mirror's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.engine import make_url

from loyalty_ledger.errors import LedgerValueError

from .chain_replay import Replay
from .decode import Kind, Log, encode
from .digest import BlockDigest, DigestChain
from .mirror_history import HistoryCheck
from .mirror_read import MirrorDb
from .mirror_rows import TABLES, Key, derived_rows, norm, norm_column
from .replay_exchange import EXCHANGE_ROLE
from .rpc import Rpc
from .state import Finding

_DERIVED = TABLES


class MirrorNotOfThisChain(LedgerValueError):
    """The mirror was built on another chain than the node's, or on blocks the node lacks."""

    code = "mirror_not_of_this_chain"


def check_same_chain(rpc: Rpc, mirror: MirrorDb, at_block: int | None) -> None:
    """Refuse to audit a mirror against a node whose chain is not the mirror's: another genesis
    or chain id (the chain was reset), or a head below the audited block (rolled back)."""
    st = mirror.state
    if st is None:
        return
    name = make_url(mirror.url).render_as_string(hide_password=True)
    chain_id, head = rpc.chain_id(), rpc.block_number()
    genesis = (rpc.call("eth_getBlockByNumber", ["0x0", False]) or {}).get("hash", "")
    ours, cp = str(st["genesis_hash"]).lower(), int(st["checkpoint_block"])
    if genesis.lower() != ours or chain_id != int(st["chain_id"]):
        raise MirrorNotOfThisChain(
            f"the chain was reset: the node at {rpc.url} serves chain {chain_id} from genesis "
            f"{genesis[:14]}…, but the mirror {name} was built on chain {st['chain_id']} from "
            f"genesis {ours[:14]}… (up to block {cp}; the node's head is {head}). Audit the "
            "mirror against the node it was built from, or rebuild it with `loyalty index`."
        )
    if at_block is not None and at_block > head:
        raise MirrorNotOfThisChain(
            f"the mirror's block {at_block} is beyond the head {head} of the node at {rpc.url} "
            "(same genesis): the node is behind, or its chain was rolled back under the mirror. "
            "Run `loyalty index` to roll the mirror back, or audit with --at-block."
        )


def _diff(
    table: str,
    ours: dict[Key, dict[str, Any]],
    theirs: dict[Key, dict[str, Any]],
    *,
    defaults: dict[str, Any] | None = None,
) -> list[Finding]:
    out: list[Finding] = []
    for key in sorted(ours.keys() | theirs.keys(), key=str):
        a, b = ours.get(key), theirs.get(key)
        k = f"{table}:{'/'.join(map(str, key))}"
        if b is None:
            assert a is not None
            if defaults is not None and a == {f: defaults[f] for f in a}:
                continue  # the mirror leaves all-default rows out
            out.append(
                Finding("mirror", "row-missing", k, f"{table} row missing from the mirror", a, None)
            )
        elif a is None:
            out.append(
                Finding(
                    "mirror", "row-extra", k, f"{table} row the chain does not justify", None, b
                )
            )
        else:
            diff = {f: (a[f], b.get(f)) for f in a if norm_column(f, b.get(f)) != a[f]}
            if diff:
                out.append(
                    Finding(
                        "mirror",
                        "row-different",
                        k,
                        f"{table} row differs in {', '.join(diff)}",
                        {f: d[0] for f, d in diff.items()},
                        {f: d[1] for f, d in diff.items()},
                    )
                )
    return out


def verify_mirror(
    rpc: Rpc,
    db: MirrorDb,
    rep: Replay,
    history: HistoryCheck,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, Any], list[Finding]]:
    """Every check of the mirror against the replay `rep` (run to the mirror's checkpoint);
    `history` has compared the `event` and `ledger_entry` rows already, range by range."""
    f: list[Finding] = []
    st = db.state
    if st is None:
        return {"rows": 0}, [
            Finding("mirror", "no-checkpoint", db.url, "the mirror has no indexer_state row")
        ]
    cp = int(st["checkpoint_block"])
    if int(st["chain_id"]) != rep.chain_id:
        f.append(
            Finding(
                "mirror",
                "wrong-chain",
                "indexer_state/chain_id",
                "chain id differs",
                rep.chain_id,
                st["chain_id"],
            )
        )
    if str(st["registry_address"]).lower() != rep.state.registry:
        f.append(
            Finding(
                "mirror",
                "wrong-registry",
                "indexer_state/registry_address",
                "registry differs",
                rep.state.registry,
                st["registry_address"],
            )
        )
    # -- checkpoint --------------------------------------------------------------------------
    above = db.blocks_above(cp)
    if above:
        f.append(
            Finding(
                "mirror",
                "rows-above-checkpoint",
                f"indexer_state/checkpoint_block={cp}",
                f"{len(above)} block(s) of rows above the checkpoint (first {above[0]}): "
                "the checkpoint was moved back or rows were written past it",
                cp,
                above[-1],
            )
        )
    blocks = db.blocks()
    node = rpc.headers(sorted({cp, *blocks}))
    cp_hash = (st.get("checkpoint_hash") or "").lower()
    if cp in node and cp_hash and cp_hash != node[cp]["hash"].lower():
        f.append(
            Finding(
                "mirror",
                "checkpoint-hash",
                f"indexer_state/checkpoint_hash@{cp}",
                "checkpoint hash is not the node's",
                node[cp]["hash"].lower(),
                cp_hash,
            )
        )
    f.extend(_linkage(blocks, node))
    f.extend(history.finish(rep.block))
    # -- derived rows --------------------------------------------------------------------------
    info: dict[str, Any] = {"checkpoint": cp, "event_rows": history.rows, "blocks": len(blocks)}
    info.update(history.info())
    exchange = (st.get("exchange_address") or "").lower() or None
    ours_x = exchanges_of(rep)
    if exchange is not None and exchange not in ours_x:
        f.append(
            Finding(
                "mirror",
                "wrong-exchange",
                "indexer_state/exchange_address",
                "the mirror follows an exchange the chain does not know as one",
                sorted(ours_x),
                exchange,
            )
        )
    if cp == rep.block:
        derived, defaults = derived_rows(rep.state, exchange)
        n = 0
        for i, table in enumerate(_DERIVED):
            found, count = _diff_stream(table, derived[table], db.table(table), defaults.get(table))
            f.extend(found)
            n += count
            del derived[table]
            if progress:
                progress("mirror tables", i + 1, len(_DERIVED))
        info["derived_rows"] = n
        info["ledger_rows"] = history.ledger_rows
    else:
        f.append(
            Finding(
                "mirror",
                "derived-not-compared",
                f"checkpoint={cp}",
                f"derived rows are as of the checkpoint {cp}, the audit is at {rep.block}",
                severity="warning",
            )
        )
    info["findings"] = len(f)
    return info, f


def _linkage(blocks: dict[int, tuple[str, str]], node: dict[int, dict[str, Any]]) -> list[Finding]:
    """The stored headers against the node's, and each against its stored parent."""
    f: list[Finding] = []
    prev: tuple[int, str] | None = None
    for n in sorted(blocks):
        h, parent = blocks[n]
        hdr = node.get(n)
        if hdr is None:
            f.append(
                Finding(
                    "linkage", "block-unknown", f"block:{n}", "the node has no such block", None, h
                )
            )
        elif h != hdr["hash"].lower() or parent != hdr["parentHash"].lower():
            f.append(
                Finding(
                    "linkage",
                    "block-hash",
                    f"block:{n}",
                    "stored header is not the node's",
                    [hdr["hash"].lower(), hdr["parentHash"].lower()],
                    [h, parent],
                )
            )
        if prev is not None and prev[0] == n - 1 and parent != prev[1]:
            f.append(
                Finding(
                    "linkage",
                    "parent-link",
                    f"block:{n}",
                    f"parent hash does not link to stored block {n - 1}",
                    prev[1],
                    parent,
                )
            )
        prev = (n, h)
    return f


def _diff_stream(
    table: str,
    ours: dict[Key, dict[str, Any]],
    theirs: Iterable[tuple[Key, dict[str, Any]]],
    defaults: dict[str, Any] | None,
) -> tuple[list[Finding], int]:
    """`_diff` with the mirror's rows streamed (ours is consumed); findings in key order."""
    out: list[Finding] = []
    n = 0
    for key, b in theirs:
        n += 1
        a = ours.pop(key, None)
        out.extend(_diff(table, {key: a} if a is not None else {}, {key: b}))
    out.extend(_diff(table, ours, {}, defaults=defaults))
    out.sort(key=lambda x: x.key)
    return out, n


def exchanges_of(rep: Replay) -> set[str]:
    """Every exchange the audit knows: contracts of that kind and EXCHANGE_ROLE holders."""
    out = {a for a, k in rep.kinds.items() if k is Kind.EXCHANGE}
    for (_, role), holders in rep.state.ever_role.items():
        if role == EXCHANGE_ROLE:
            out |= holders
    return out


def mirror_digests(db: MirrorDb, rep: Replay) -> list[BlockDigest]:
    """The digest chain of the mirror's event rows, re-encoded to raw logs with the audit's ABI."""
    chain = DigestChain(rep.chain_id, rep.state.registry, keep=True)
    for r in db.events(0, None):
        b, li = int(r["block_number"]), int(r["log_index"])
        contract = str(r["contract"]).lower()
        kind = rep.kinds.get(contract)
        kinds = [kind] if kind else list(Kind)
        for k in kinds:
            try:
                topics, data = encode(k, r["event"], norm(dict(r["args"])))
                break
            except (KeyError, ValueError, TypeError):
                continue
        else:  # not re-encodable: hash its name so the digest still differs from the chain's
            topics, data = ("0x" + "00" * 32,), "0x" + str(r["event"]).encode().hex()
        chain.add(
            Log(
                b,
                str(r["block_hash"]).lower(),
                str(r["tx_hash"]).lower(),
                int(r["tx_index"]),
                li,
                contract,
                topics,
                data,
            )
        )
    return chain.finish()
