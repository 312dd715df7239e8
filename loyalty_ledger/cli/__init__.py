"""The `loyalty` command (Typer): `app` builds the root command from one module per command
group; `context` holds what they share (settings, output, error handling). The top layer:
it may import any package, and nothing imports it. Command modules import their heavy
dependencies (web3, SQL) inside the commands so that `loyalty --help` stays fast.
"""
