"""`loyalty submitter`: the outbox's submitters in a process of their own.

One thread per signing key (each brand's issuer key, the operator's, the relayer's); a thread
sends only while it holds its key's lease, so any number of these processes (and API workers
with `LOYALTY_SUBMITTER` on) can run side by side: one sends per key, another takes over when
it dies. Runs until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Annotated, Any

import typer

from loyalty_ledger.cli.context import STOP_SIGNALS, Ctx, _run, job_say
from loyalty_ledger.errors import LedgerError

DatabaseOpt = Annotated[str | None, typer.Option("--database", help="Database URL.")]
BrandOpt = Annotated[
    list[str] | None, typer.Option("--brand", help="Only these brands' keys (repeat).")
]


def submitter(ctx: typer.Context, database: DatabaseOpt = None, brand: BrandOpt = None) -> None:
    """Send the outbox's queued chain writes, one lease holder per signing key, until stopped."""

    def run(c: Ctx) -> None:
        from loyalty_ledger.ledger.outbox import start_submitters
        from loyalty_ledger.store import make_engine, migrate

        url = database or c.settings.database_url
        assert url is not None
        engine = make_engine(url)
        migrate(engine)
        say = job_say(c.json)
        senders = _senders(c, brand, say)
        if not senders:
            raise LedgerError("no signing key to submit for")
        stop = threading.Event()
        for sig in STOP_SIGNALS:
            signal.signal(sig, lambda *_: stop.set())
        start_submitters(
            engine=engine,
            url=engine.url.render_as_string(hide_password=False),
            senders=senders,
            settings=c.settings,
            stop=stop,
            on_lease=lambda address, held: say(
                f"submitter {address}: {'holds the lease, sending' if held else 'lease lost'}"
            ),
        )
        say(f"submitter: {len(senders)} key(s), waiting for their leases; Ctrl-C stops")
        if c.json:  # like the other long-running commands: one JSON line on stdout
            typer.echo(json.dumps({"submitter": [s.address for s in senders]}))
        while not stop.wait(0.5):
            pass
        engine.dispose()

    _run(ctx, run)


def _senders(c: Ctx, brands: list[str] | None, say: Any) -> list[Any]:
    """A Sender per key this process submits for (a brand without a key is said and skipped)."""
    dep = c.deployment()
    names = [f"brand:{b}" for b in (brands or sorted(dep.programs))]
    if not brands:
        names += ["operator", "relayer"]
    out: dict[str, Any] = {}
    for name in names:
        if name.startswith("brand:"):
            dep.program(name[6:])  # an unknown brand names the deployed ones
        try:
            s = c.sender(name, None)
        except LedgerError as err:
            say(f"submitter: {name}: {err.message}; skipped")
            continue
        out.setdefault(s.address, s)
    return list(out.values())
