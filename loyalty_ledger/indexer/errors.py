"""Errors that stop the indexer (it refuses rather than writing a wrong mirror)."""

from __future__ import annotations

from ..errors import LedgerError


class IndexerError(LedgerError):
    code = "indexer_error"


class ChainMismatch(IndexerError):
    """The node's chain (id or genesis) is not the one the store mirrors."""

    code = "chain_mismatch"


class ReorgTooDeep(IndexerError):
    """A reorganisation reaches below the stored block window."""

    code = "reorg_too_deep"

    def __init__(self, checkpoint: int, window: int, lowest: int | None = None) -> None:
        kept = f" (blocks {lowest}..{checkpoint} kept)" if lowest is not None else ""
        super().__init__(
            f"chain reorganisation deeper than the {window}-block window below checkpoint "
            f"{checkpoint}{kept}: no common ancestor among the stored blocks; the mirror "
            "cannot be rolled back safely. Rebuild it (new database) with a larger --window."
        )


class NodeBehindMirror(IndexerError):
    """The node's head is below every block the mirror keeps for reorg handling."""

    code = "node_behind_mirror"

    def __init__(self, url: str, head: int, checkpoint: int, lowest: int, window: int) -> None:
        super().__init__(
            f"the node at {url} has head {head}, below the mirror's checkpoint {checkpoint} "
            f"and below the blocks it keeps for reorgs ({lowest}..{checkpoint}, a {window}-block "
            "window): its chain was rolled back deeper than that, or it is still syncing. "
            "Point LOYALTY_RPC_URL at a synced node of this chain, or rebuild the mirror "
            "(new database)."
        )


class ExpiryMismatch(IndexerError):
    """The mirror's expiry lots cannot explain a debit the chain made (or a sweep would take a
    balance below zero): writing on would make the mirror wrong. Rebuild it."""

    code = "expiry_mismatch"
