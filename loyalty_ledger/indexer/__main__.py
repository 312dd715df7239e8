"""`python -m loyalty_ledger.indexer [--follow] ...`: the index command on its own."""

from loyalty_ledger.cli.index import index_app

index_app()
