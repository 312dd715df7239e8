"""The indexer: fetch logs in adaptive ranges, decode in bulk, write idempotently, follow the head,
roll back reorgs. `run_indexer(settings)` for jobs, `index_app` for the CLI."""

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
