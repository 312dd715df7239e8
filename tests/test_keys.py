"""Signing keys: where each comes from, the keystore and `loyalty keys`, and what a key may sign."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from pydantic import SecretStr
from typer.testing import CliRunner

from loyalty_ledger import ledger
from loyalty_ledger.chain import keys
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings
from loyalty_ledger.errors import InvalidInput, KeyMissing, KeyMisuse

from .conftest import ACME_ADMIN, BOB

FAST = 2**4  # scrypt cost for tests (the default is 2**18)


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(data_dir=tmp_path, _env_file=None, **kw)  # type: ignore[call-arg]


def test_keystore_round_trip_and_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = _settings(tmp_path, keystore_password=SecretStr("pw"), rpc_url="https://rpc.example")
    addr = keys.create_key(s, "brand:acme", "pw", iterations=FAST)
    path = keys.key_file(s, "brand:acme")
    assert path.stat().st_mode & 0o777 == 0o600
    assert [k.name for k in keys.list_keys(s)] == ["brand:acme"]
    assert keys.list_keys(s)[0].address == addr
    ring = keys.KeyRing(s)
    assert ring.account("brand:acme").address == addr and ring.source("brand:acme") == str(path)
    with pytest.raises(KeyMissing, match="LOYALTY_BRAND_KEY_BETA"):
        ring.account("brand:beta")  # a remote node: no development key
    with pytest.raises(KeyMissing, match="LOYALTY_RELAYER_KEY"):
        ring.account("relayer")
    # the brand's own environment variable wins over the keystore
    other = Account.create()
    monkeypatch.setenv("LOYALTY_BRAND_KEY_ACME", "0x" + bytes(other.key).hex())
    s2 = Settings(data_dir=tmp_path, rpc_url="https://rpc.example", _env_file=None)  # type: ignore[call-arg]
    assert keys.KeyRing(s2).account("brand:acme").address == other.address
    assert keys.KeyRing(s2).source("brand:acme") == "LOYALTY_BRAND_KEY_ACME"
    assert "0x" + bytes(other.key).hex() not in repr(s2) + repr(keys.KeyRing(s2))


def test_keystore_locked_or_wrong_password(tmp_path: Path) -> None:
    s = _settings(tmp_path, rpc_url="https://rpc.example")
    keys.create_key(s, "operator", "right", iterations=FAST)
    with pytest.raises(KeyMissing, match="LOYALTY_KEYSTORE_PASSWORD"):
        keys.KeyRing(s).account("operator")
    wrong = _settings(tmp_path, rpc_url="https://rpc.example", keystore_password="nope")
    with pytest.raises(KeyMissing, match="does not open"):
        keys.KeyRing(wrong).account("operator")
    with pytest.raises(InvalidInput):  # an existing file is never overwritten silently
        keys.create_key(s, "operator", "x", iterations=FAST)


def test_local_defaults_only_when_allowed(tmp_path: Path) -> None:
    local = _settings(tmp_path, rpc_url="http://127.0.0.1:1")
    assert (
        keys.KeyRing(local).account("brand:acme").address
        == Account.from_key(ANVIL_DEV_KEYS[0]).address
    )
    strict = _settings(tmp_path, rpc_url="http://127.0.0.1:1", dev_keys=False)
    assert not keys.KeyRing(strict).has("brand:acme") and not keys.KeyRing(strict).has("operator")
    with pytest.raises(InvalidInput):
        keys.check_name("brand:acme;rm")


def test_cli_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loyalty_ledger.cli.app import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(keys.Account, "encrypt", _fast_encrypt)
    env = {"LOYALTY_KEYSTORE_PASSWORD": "s3cret", "LOYALTY_DATA_DIR": str(tmp_path)}
    run = CliRunner().invoke
    r = run(app, ["--json", "keys", "create", "brand:acme"], env=env)
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    secret = Account.create()
    key_file = tmp_path / "k.txt"
    key_file.write_text("0x" + bytes(secret.key).hex())
    r = run(app, ["--json", "keys", "import", "relayer", "--key-file", str(key_file)], env=env)
    assert r.exit_code == 0 and json.loads(r.stdout)["address"] == secret.address
    r = run(app, ["--json", "keys", "list"], env=env)
    listed = {k["name"]: k["address"] for k in json.loads(r.stdout)}
    assert listed == {"brand:acme": created["address"], "relayer": secret.address}
    assert bytes(secret.key).hex() not in r.output + (tmp_path / "keys/relayer.json").read_text()
    r = run(app, ["keys", "create", "brand:acme"], env=env)  # exists already
    assert r.exit_code == 2 and "--force" in r.stderr
    r = run(app, ["keys", "create", "nobody"], env=env)
    assert r.exit_code == 2 and "a key name is" in r.stderr
    # the prompt, when no password is in the environment
    r = run(
        app,
        ["keys", "create", "operator"],
        env={"LOYALTY_DATA_DIR": str(tmp_path)},
        input="pw\npw\n",
    )
    assert r.exit_code == 0 and "operator: 0x" in r.stdout


_real_encrypt = Account.encrypt


def _fast_encrypt(key: Any, password: str, kdf: Any = None, iterations: Any = None) -> Any:
    return _real_encrypt(key, password, kdf=kdf, iterations=FAST)


@pytest.mark.chain
def test_a_brand_key_signs_only_its_brand(w3: Any, network: Deployment, unchanged: Any) -> None:
    acme, beta = network.program("acme"), network.program("beta")
    sender = Sender(w3, ACME_ADMIN).allow("brand:acme", acme.points, acme.pass_)
    with unchanged(), pytest.raises(KeyMisuse, match="brand:acme key may not sign"):
        ledger.issue_points(sender=sender, program=beta, member=BOB.address, amount=1)
    ledger.issue_points(sender=sender, program=acme, member=BOB.address, amount=1)
    relayer = Sender(w3, ACME_ADMIN).allow("relayer", network.forwarder)
    with pytest.raises(KeyMisuse):
        relayer.deploy("0x00", [])
