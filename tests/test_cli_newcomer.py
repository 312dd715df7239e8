"""The `loyalty` command as a newcomer meets it: every command answers --json, a dead node's
error names LOYALTY_RPC_URL, an unknown brand lists the known ones (exit 2), keys only for
deployed brands, and `pass issue` / `pass upgrade` take the tier the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main

from loyalty_ledger import auth
from loyalty_ledger.chain.anvil import free_port
from loyalty_ledger.cli.app import app
from loyalty_ledger.store import make_engine, migrate

from .conftest import ACME_ADMIN, ALICE, BETA_ADMIN, BOB, CAROL

pytestmark = pytest.mark.chain

ACME_KEY = "0x" + bytes(ACME_ADMIN.key).hex()
BETA_KEY = "0x" + bytes(BETA_ADMIN.key).hex()
ALICE_KEY = "0x" + bytes(ALICE.key).hex()


def leaf_commands() -> set[str]:
    """Every runnable command of `loyalty`, as its words ("points issue", "audit", ...)."""
    out: set[str] = set()

    def walk(cmd: Any, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
            if getattr(cmd, "invoke_without_command", False):
                out.add(" ".join(path))
        else:
            out.add(" ".join(path))

    walk(typer.main.get_command(app), [])
    return out


def test_node_down_names_the_setting(cli: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    r = cli("--rpc-url", url, "points", "balance", "acme", BOB.address, ok=False)
    assert r.exit_code == 1 and url in r.stderr and "LOYALTY_RPC_URL" in r.stderr
    assert r.stderr.count("\n") == 1
    rj = cli("--json", "--rpc-url", url, "member", "status", BOB.address, ok=False)
    assert "LOYALTY_RPC_URL" in json.loads(rj.stderr)["detail"]


@pytest.mark.parametrize(
    "args",
    [
        ["points", "issue", "nope", BOB.address, "5", "--key", ACME_KEY],
        ["points", "balance", "nope", BOB.address],
        ["points", "lots", "nope", BOB.address],
        ["pass", "show", "nope", BOB.address],
        ["insights", "report", "--brand", "nope"],
        ["api", "key", "create", "brand", "--brand", "nope", "--role", "viewer"],
    ],
)
def test_unknown_brand_lists_the_known_ones(cli: Any, args: list[str]) -> None:
    r = cli(*args, ok=False)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: no program for brand 'nope'")
    assert "known brands: acme, beta" in r.stderr and r.stderr.count("\n") == 1
    rj = cli("--json", *args, ok=False)
    assert rj.exit_code == 2 and json.loads(rj.stderr)["error"] == "unknown_program"


def test_key_create_only_for_a_deployed_brand(cli: Any, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keys.db'}"
    r = cli("api", "key", "create", "brand", "--brand", "gamma", "--role", "viewer",
            "--database-url", db, ok=False)  # fmt: skip
    assert r.exit_code == 2 and "known brands: acme, beta" in r.stderr
    engine = make_engine(db)
    migrate(engine)
    assert auth.list_api_keys(engine=engine) == []  # nothing was created
    made = cli("--json", "api", "key", "create", "brand", "--brand", "acme", "--role", "viewer",
               "--database-url", db)  # fmt: skip
    data = json.loads(made.stdout)
    assert (data["kind"], data["brand"], data["roles"]) == ("brand", "acme", ["viewer"])
    who = auth.authenticate_key(engine=engine, key=data["key"])
    assert who.brand_id == "acme" and who.key_id == data["key_id"]
    gone = cli("--json", "api", "key", "revoke", data["key_id"], "--database-url", db)
    assert json.loads(gone.stdout) == {"key_id": data["key_id"], "revoked": True}
    again = cli("--json", "api", "key", "revoke", data["key_id"], "--database-url", db, ok=False)
    assert again.exit_code == 1 and "no active key" in json.loads(again.stderr)["detail"]
    engine.dispose()


def test_pass_issue_and_upgrade_take_the_tier_alike(cli: Any) -> None:
    """Both take --tier, as a name (any case) or a number, and answer with both."""
    r = cli("--json", "pass", "issue", "acme", BOB.address, "--tier", "silver", "--key", ACME_KEY)
    assert (json.loads(r.stdout)["tier"], json.loads(r.stdout)["tier_name"]) == (0, "Silver")
    r = cli("--json", "pass", "upgrade", "acme", BOB.address, "--tier", "2", "--key", ACME_KEY)
    assert (json.loads(r.stdout)["tier"], json.loads(r.stdout)["tier_name"]) == (2, "Platinum")
    r = cli("pass", "upgrade", "acme", BOB.address, "--tier", "Gold", "--key", ACME_KEY)
    assert "to Gold" in r.stdout
    r = cli("pass", "issue", "acme", CAROL.address, "--tier", "1", "--key", ACME_KEY, ok=False)
    assert r.exit_code == 1 and "not a registered member" in r.stderr  # tier 1 was understood
    bad = cli("pass", "upgrade", "acme", BOB.address, "--tier", "Diamond", "--key", ACME_KEY,
              ok=False)  # fmt: skip
    assert bad.exit_code == 2 and "tiers: Silver, Gold, Platinum" in bad.stderr
    assert cli("pass", "upgrade", "acme", BOB.address, "Gold", ok=False).exit_code == 2


def _runs(cli: Any, tmp: Path) -> dict[str, list[str]]:
    """One --json invocation per command that finishes by itself, in an order that works on
    the test network (`up` and `api serve` run until stopped: see test_up.py)."""
    db = f"sqlite:///{tmp / 'cli.db'}"
    ex = ["--rate-from", "100", "--rate-to", "80", "--daily-cap", "500", "--budget", "1000"]
    csv = tmp / "batch.csv"
    csv.write_text(f"{BOB.address},2\n{ALICE.address},3\n")
    dead = f"http://127.0.0.1:{free_port()}"
    secret = tmp / "key.hex"
    secret.write_text("0x" + "42" * 32)
    return {
        "chain up": ["chain", "up"],
        "member register": ["member", "register", CAROL.address],
        "member freeze": ["member", "freeze", CAROL.address],
        "member unfreeze": ["member", "unfreeze", CAROL.address],
        "member status": ["member", "status", CAROL.address],
        "member deregister": ["member", "deregister", CAROL.address],
        "points issue": ["points", "issue", "acme", BOB.address, "5", "--key", ACME_KEY],
        "points issue-batch": ["points", "issue-batch", "acme", str(csv), "--key", ACME_KEY],
        "points redeem": ["points", "redeem", "acme", "1", "--key", ALICE_KEY],
        "points transfer": ["points", "transfer", "acme", BOB.address, "1", "--key", ALICE_KEY],
        "points gift": ["points", "gift", "acme", BOB.address, "1", "--key", ALICE_KEY],
        "points balance": ["points", "balance", "acme", BOB.address],
        "points policy": ["points", "policy", "acme"],
        "points lots": ["points", "lots", "acme", ALICE.address],
        "pass issue": ["pass", "issue", "acme", ALICE.address, "--tier", "Gold", "--key", ACME_KEY],
        "pass upgrade": [
            "pass",
            "upgrade",
            "acme",
            ALICE.address,
            "--tier",
            "0",
            "--key",
            ACME_KEY,
        ],
        "pass renew": ["pass", "renew", "acme", ALICE.address, "4102444800", "--key", ACME_KEY],
        "pass show": ["pass", "show", "acme", ALICE.address],
        "pass revoke": ["pass", "revoke", "acme", ALICE.address, "--key", ACME_KEY],
        "exchange open": ["exchange", "open", "acme", "beta", *ex],
        "exchange approve": ["exchange", "approve", "0", "--key", ACME_KEY],
        "exchange pause": ["exchange", "pause", "0", "--operator"],
        "exchange unpause": ["exchange", "unpause", "0", "--operator"],
        "exchange list": ["exchange", "list"],
        "exchange quote": ["exchange", "quote", "0", "50"],
        "exchange swap": ["exchange", "swap", "0", "50", "--key", ALICE_KEY],
        "member recover": ["member", "recover", BOB.address, ALICE.address],
        "brand add": [
            "brand",
            "add",
            "gamma",
            "--name",
            "G",
            "--symbol",
            "G",
            "--admin",
            ACME_ADMIN.address,
            "--tier",
            "A",
            "--tier",
            "B",
        ],
        "index": ["index", "--database", db],
        "insights report": ["insights", "report", "--brand", "acme"],
        "insights settings": ["insights", "settings", "--brand", "acme"],
        "api key create": ["api", "key", "create", "auditor", "--database-url", db],
        "api key list": ["api", "key", "list", "--database-url", db],
        "api key revoke": ["api", "key", "revoke", "nokey", "--database-url", db],
        "audit": ["audit", "--no-code"],
        "deploy": ["--deployment", str(tmp / "other.json"), "deploy", "--demo"],
        "demo": [
            "--rpc-url",
            dead,
            "--deployment",
            str(tmp / "demo.json"),
            "demo",
            "--no-serve",
            "--members",
            "10",
            "--months",
            "1",
        ],
        # last: the keystore lives in the data dir, and these brands are not the network's
        "keys create": ["keys", "create", "brand:zeta"],
        "keys import": ["keys", "import", "brand:eta", "--key-file", str(secret)],
        "keys list": ["keys", "list"],
    }


def _json_of(stream: str, lines: list[str]) -> Any:
    """The output as one JSON document, else its last line as one (jobs say progress first)."""
    for text in (stream, lines[-1]):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            continue
    return None


def test_every_command_answers_json(cli: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("LOYALTY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOYALTY_KEYSTORE_PASSWORD", "correct horse battery staple")
    runs = _runs(cli, tmp_path)
    beta_approve = ["exchange", "approve", "0", "--key", BETA_KEY]
    # tested in their own processes (test_up.py; the submitter: tests/outbox/test_faults.py)
    long_running = {"up", "api serve", "submitter"}
    long_running.add("keys rotate-kek")  # needs sealed member keys: tests/customers/test_custody.py
    # the earn rules' groups answer --json in tests/test_cli_rules.py (on a rules database)
    rules = {c for c in leaf_commands() if c.split()[0] in ("rule", "campaign", "tier")}
    want = leaf_commands() - rules
    assert set(runs) | long_running == want, "a new command needs a --json check here"
    for name, args in runs.items():
        before = [beta_approve] if name == "exchange pause" else []
        for extra in before:
            cli("--json", *extra)
        r = cli("--json", *args, ok=name != "api key revoke")
        stream = r.stderr if name == "api key revoke" else r.stdout
        lines = [ln for ln in stream.splitlines() if ln.strip()]
        assert lines, f"{name}: no output"
        data = _json_of(stream, lines)
        if data is None:
            pytest.fail(f"`loyalty --json {name}` printed no JSON: {stream[-500:]!r}")
        assert isinstance(data, dict | list), name
        if name == "demo":
            assert set(data["dashboards"]) == {"coffee", "fashion"} and data["customer"]
