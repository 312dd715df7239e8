"""The indexer: fetch logs in adaptive ranges, decode in bulk, write idempotently, follow the head,
roll back reorgs. `run_indexer(settings)` for jobs; the `loyalty index` command is in `cli`.

May import `store` and the base modules; never `chain` (it speaks JSON-RPC itself), the ledger
or anything above.
"""

from .decode import decode_logs
from .errors import ChainMismatch, ExpiryMismatch, IndexerError, ReorgTooDeep
from .runner import Indexer, IndexerOptions, run_indexer

__all__ = [
    "ChainMismatch",
    "ExpiryMismatch",
    "Indexer",
    "IndexerError",
    "IndexerOptions",
    "ReorgTooDeep",
    "decode_logs",
    "run_indexer",
]
