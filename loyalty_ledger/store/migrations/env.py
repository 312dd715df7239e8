"""Alembic environment: runs on the connection the store hands over (config.attributes)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from loyalty_ledger.store.crm_tables import crm_metadata
from loyalty_ledger.store.insights_tables import insights_metadata
from loyalty_ledger.store.models import metadata
from loyalty_ledger.store.offchain import offchain_metadata

# Every table the migrations own: the mirror, the API's off-chain tables, the insights' and the
# member relationship's (profiles, segments, notifications).
TARGETS = [metadata, offchain_metadata, insights_metadata, crm_metadata]

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=TARGETS,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic -x url=...` from the command line (autogenerate during development)
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass the database: alembic -x url=...")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
