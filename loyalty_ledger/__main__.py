"""`python -m loyalty_ledger` runs the `loyalty` command."""

from .cli import app

app(prog_name="loyalty")
