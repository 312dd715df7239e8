"""`python -m loyalty_ledger` runs the `loyalty` command."""

from loyalty_ledger.cli.app import app

app(prog_name="loyalty")
