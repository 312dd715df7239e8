"""`python -m loyalty_ledger.indexer [--follow] ...`: the index command on its own."""

from .cli import index_app

index_app()
