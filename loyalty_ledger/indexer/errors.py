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

    def __init__(self, checkpoint: int, window: int) -> None:
        super().__init__(
            f"chain reorganisation deeper than the {window}-block window below checkpoint "
            f"{checkpoint}: no common ancestor among the stored blocks; the mirror cannot be "
            "rolled back safely. Rebuild it (new database) or raise the window."
        )


class ExpiryMismatch(IndexerError):
    """The mirror's expiry lots cannot explain a debit the chain made (or a sweep would take a
    balance below zero): writing on would make the mirror wrong. Rebuild it."""

    code = "expiry_mismatch"
