"""`loyalty audit`: replay the ledger from the chain alone and check the code, the chain views
and the SQL mirror. Exit code 0 when everything agrees, 1 when anything does not, 2 on bad
input or an unreachable node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from loyalty_ledger.errors import LedgerError

if TYPE_CHECKING:
    from loyalty_ledger.audit.chain_replay import Network
    from loyalty_ledger.audit.report import AuditReport
    from loyalty_ledger.audit.rpc import Rpc

audit_app = typer.Typer(help=__doc__, pretty_exceptions_enable=False)

Opt = typer.Option


def _network(
    rpc_url: str | None,
    deployment: Path | None,
    registry: str | None,
    from_block: int | None,
    forwarder: str | None,
    exchange: str | None = None,
) -> Network:
    from loyalty_ledger.audit.chain_replay import Network
    from loyalty_ledger.config import get_settings

    settings = get_settings()
    url = rpc_url or settings.rpc_url
    fwd, ex = (forwarder.lower() if forwarder else None), (exchange.lower() if exchange else None)
    if registry:
        return Network(url, registry.lower(), from_block or 0, fwd, ex)
    path = deployment or settings.deployment_file
    if not Path(path).exists():
        raise typer.BadParameter(f"no deployment file at {path}: pass --deployment or --registry")
    net = Network.from_deployment(url, str(path))
    return Network(
        url,
        net.registry,
        net.start_block if from_block is None else from_block,
        fwd or net.forwarder,
        ex or net.exchange,
    )


class _Bar:
    """Rich progress for every long phase: the mirror below a checkpoint (blocks), the replay
    (blocks; fetch and replay run together), the chain views (calls), the mirror's tables."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=total or None)
        self.progress.update(self.tasks[phase], completed=done, total=total or None)


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    rpc_url: Annotated[str | None, Opt("--rpc-url", help="Node (default from settings).")] = None,
    deployment: Annotated[Path | None, Opt("--deployment", help="Deployment file.")] = None,
    registry: Annotated[
        str | None, Opt("--registry", help="Registry address (instead of a deployment file).")
    ] = None,
    from_block: Annotated[int | None, Opt("--from-block", help="Deployment block.")] = None,
    forwarder: Annotated[str | None, Opt("--forwarder", help="Forwarder address.")] = None,
    exchange: Annotated[
        str | None, Opt("--exchange", help="Coalition exchange address (else discovered).")
    ] = None,
    at_block: Annotated[
        int | None,
        Opt(
            "--at-block", help="Audit as of this block (default: head, or the mirror's checkpoint)."
        ),
    ] = None,
    database: Annotated[
        str | None, Opt("--database", help="SQL mirror URL to verify (with its earnings).")
    ] = None,
    member: Annotated[str | None, Opt("--member", help="Print this member's statement.")] = None,
    bisect: Annotated[
        Path | None,
        Opt(
            "--bisect",
            help="Published digest list (JSON): every entry is checked against the replay.",
        ),
    ] = None,
    bisect_database: Annotated[
        str | None, Opt("--bisect-database", help="Or a second mirror.")
    ] = None,
    no_code: Annotated[bool, Opt("--no-code", help="Skip bytecode verification.")] = False,
    no_chain: Annotated[bool, Opt("--no-chain", help="Skip the chain view calls.")] = False,
    as_json: Annotated[bool, Opt("--json", help="Print the JSON report.")] = False,
    json_out: Annotated[Path | None, Opt("--json-out", help="Write the JSON report.")] = None,
    html_out: Annotated[Path | None, Opt("--html", help="Write the HTML report.")] = None,
    digests_out: Annotated[
        Path | None, Opt("--digests-out", help="Write the digest list (for publishing).")
    ] = None,
    checkpoint: Annotated[
        Path | None,
        Opt(
            "--checkpoint",
            help="Checkpoint file: start from it when sound, write the new one "
            "(default: DATA_DIR/audit/checkpoint-CHAIN-GENESIS-REGISTRY.json).",
        ),
    ] = None,
    full: Annotated[
        bool, Opt("--full", help="Replay from genesis (then write a new checkpoint).")
    ] = False,
    no_checkpoint: Annotated[
        bool, Opt("--no-checkpoint", help="Neither read nor write a checkpoint.")
    ] = False,
    workers: Annotated[int, Opt("--workers", min=1, max=32)] = 4,
    give_up_after: Annotated[
        float,
        Opt("--give-up-after", min=0.0, help="Seconds to retry a failing node request."),
    ] = 60.0,
) -> None:
    """Audit the ledger (see the module docstring for what is checked)."""
    from loyalty_ledger.audit.report import to_json, to_text
    from loyalty_ledger.audit.rpc import Rpc
    from loyalty_ledger.audit.runner import run_audit
    from loyalty_ledger.cli.context import RPC_HINT, wants_json

    as_json = as_json or wants_json(ctx)
    root = getattr(ctx.find_root().obj, "settings", None)
    console = Console(stderr=True)
    net = _network(
        rpc_url or getattr(root, "rpc_url", None),
        deployment or getattr(root, "deployment_file", None),
        registry,
        from_block,
        forwarder,
        exchange,
    )
    bar = _Bar(console)
    rpc = Rpc(net.rpc_url, give_up_after=give_up_after)
    try:
        cp_path = None
        if not no_checkpoint:
            data_dir = getattr(root, "data_dir", None)
            cp_path = checkpoint or _default_checkpoint(rpc, net, data_dir)
        with bar.progress:
            report = run_audit(
                net,
                at_block=at_block,
                database=database,
                check_code=not no_code,
                check_chain=not no_chain,
                member=member,
                bisect_file=str(bisect) if bisect else None,
                bisect_database=bisect_database,
                workers=workers,
                progress=bar,
                rpc=rpc,
                checkpoint=cp_path,
                full=full,
                keep_digests=digests_out is not None,
            )
    except (OSError, ValueError, LedgerError) as err:
        import requests

        hint = f"; {RPC_HINT}" if isinstance(err, requests.ConnectionError) else ""
        console.print(f"[red]audit failed:[/red] {err}{hint}", highlight=False)
        raise typer.Exit(2) from err
    note = report.checks.get("checkpoint")
    if isinstance(note, dict) and note.get("note"):
        console.print(f"checkpoint: {note['note']}", highlight=False)
    _write(report, json_out, html_out, digests_out)
    if as_json:
        typer.echo(to_json(report))
    else:
        typer.echo(to_text(report), nl=False)
    console.print(("[green]" if report.ok else "[red]") + report.summary())
    raise typer.Exit(0 if report.ok else 1)


def _default_checkpoint(rpc: Rpc, net: Network, data_dir: Path | None) -> Path:
    """DATA_DIR/audit/checkpoint-CHAIN-GENESIS-REGISTRY.json: one file per network, so a reset
    chain (another genesis) starts afresh instead of being refused."""
    from loyalty_ledger.config import get_settings

    genesis = str((rpc.call("eth_getBlockByNumber", ["0x0", False]) or {}).get("hash", "0x"))
    base = Path(data_dir) if data_dir is not None else get_settings().data_dir
    name = f"checkpoint-{rpc.chain_id()}-{genesis[2:14].lower()}-{net.registry.lower()}.json"
    return base / "audit" / name


def _write(
    report: AuditReport, json_out: Path | None, html_out: Path | None, digests_out: Path | None
) -> None:
    from loyalty_ledger.audit import digest as dg
    from loyalty_ledger.audit.report import to_html, to_json

    if json_out:
        json_out.write_text(to_json(report))
    if html_out:
        html_out.write_text(to_html(report))
    if digests_out:
        digests_out.write_text(
            json.dumps(dg.dump(report.chain_id, report.registry, report.digests), indent=1)
        )
