"""`loyalty keys …`: encrypted signing keys in the data dir (create, import, list).

The password comes from LOYALTY_KEYSTORE_PASSWORD or a prompt; a key to import from a file or
a hidden prompt, never from the command line (shell history). Only addresses are printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loyalty_ledger.cli.context import Ctx, _emit, _run
from loyalty_ledger.errors import InvalidInput

keys_app = typer.Typer(no_args_is_help=True, help="Signing keys: operator, relayer, brand:<id>.")
Name = Annotated[str, typer.Argument(help="operator, relayer or brand:<brand id>.")]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing keystore file.")]


def _password(c: Ctx, *, confirm: bool) -> str:
    if c.settings.keystore_password is not None:
        return c.settings.keystore_password.get_secret_value()
    return str(typer.prompt("keystore password", hide_input=True, confirmation_prompt=confirm))


@keys_app.command("create")
def keys_create(ctx: typer.Context, name: Name, force: Force = False) -> None:
    """Create a new random key, saved encrypted in <data dir>/keys/."""
    from loyalty_ledger.chain import keys

    def run(c: Ctx) -> None:
        keys.check_name(name)
        address = keys.create_key(c.settings, name, _password(c, confirm=True), force=force)
        path = keys.key_file(c.settings, name)
        _emit(c, {"name": name, "address": address, "file": str(path)}, f"{name}: {address}")

    _run(ctx, run)


@keys_app.command("import")
def keys_import(
    ctx: typer.Context,
    name: Name,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="A file holding the hex private key.")
    ] = None,
    force: Force = False,
) -> None:
    """Encrypt an existing private key (from --key-file or a hidden prompt) into the keystore."""
    from loyalty_ledger.chain import keys

    def run(c: Ctx) -> None:
        keys.check_name(name)
        if key_file is not None:
            if not key_file.is_file():
                raise InvalidInput(f"no such file: {key_file}")
            secret = key_file.read_text().strip()
        else:
            secret = str(typer.prompt("private key (hex)", hide_input=True))
        address = keys.import_key(
            c.settings, name, secret.strip(), _password(c, confirm=True), force=force
        )
        path = keys.key_file(c.settings, name)
        _emit(c, {"name": name, "address": address, "file": str(path)}, f"{name}: {address}")

    _run(ctx, run)


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """The keystore's keys and their addresses (nothing is decrypted)."""
    from loyalty_ledger.chain import keys

    def run(c: Ctx) -> None:
        found = keys.list_keys(c.settings)
        rows = [{"name": k.name, "address": k.address, "file": k.source} for k in found]
        human = "\n".join(f"{k.name:24} {k.address}" for k in found) or "no keys in the keystore"
        if c.json:
            import json

            typer.echo(json.dumps(rows))
        else:
            _emit(c, {}, human)

    _run(ctx, run)


@keys_app.command("rotate-kek")
def keys_rotate_kek(
    ctx: typer.Context,
    new_key_file: Annotated[
        Path | None,
        typer.Option("--new-key-file", help="The new KEK (64 hex); default: a random one."),
    ] = None,
) -> None:
    """Re-seal every member's managed key under a new key-encryption key."""
    from loyalty_ledger.auth import custody
    from loyalty_ledger.store import make_engine, migrate

    def run(c: Ctx) -> None:
        assert c.settings.database_url is not None
        engine = make_engine(c.settings.database_url)
        migrate(engine)
        new = None
        if new_key_file is not None:
            if not new_key_file.is_file():
                raise InvalidInput(f"no such file: {new_key_file}")
            new = custody._parse_hex(new_key_file.read_text(), str(new_key_file))
        count, kek = custody.rotate(c.settings, engine, new)
        human = f"re-sealed {count} member keys under KEK {kek.kek_id}"
        _emit(c, {"resealed": count, "kek_id": kek.kek_id}, human)

    _run(ctx, run)
