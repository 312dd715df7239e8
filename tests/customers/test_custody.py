"""Managed keys at rest: AES-256-GCM under a key-encryption key kept out of the database; a
missing or wrong KEK stops the start with a clear error and rewrites nothing; `loyalty keys
rotate-kek` re-seals every key (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from loyalty_ledger.auth import accounts, custody
from loyalty_ledger.config import Settings
from loyalty_ledger.errors import ConfigError
from loyalty_ledger.store import migrate
from loyalty_ledger.store.customers import MemberAccount
from loyalty_ledger.store.offchain import table

from ..migrations import migration_engine

ROOT = Path(__file__).resolve().parents[2]


engine = migration_engine("custody")


@pytest.fixture
def db(engine: Engine) -> tuple[str, Engine]:
    """(URL, engine) of a migrated database, SQLite and PostgreSQL."""
    migrate(engine)
    return engine.url.render_as_string(hide_password=False), engine


def _rows(engine: Engine) -> list[tuple[str, str, str]]:
    t = table(MemberAccount)
    with engine.connect() as conn:
        q = select(t.c.address, t.c.sealed_key, t.c.kek_id).order_by(t.c.address)
        return [tuple(r) for r in conn.execute(q).all()]  # type: ignore[misc]


def test_seal_is_bound_to_the_kek_and_the_owner(tmp_path: Path) -> None:
    kek = custody.kek_from_bytes(os.urandom(32), "test")
    address, sealed = custody.new_sealed_account(kek)
    assert custody.unseal(kek, address, sealed).address == address
    other = custody.kek_from_bytes(os.urandom(32), "other")
    with pytest.raises(ConfigError, match="does not open"):
        custody.unseal(other, address, sealed)
    with pytest.raises(ConfigError, match="does not open"):  # another member's sealed key
        custody.unseal(kek, "0x" + "11" * 20, sealed)
    assert "key=" not in repr(kek) and kek.key.hex() not in repr(kek)


def test_kek_file_is_made_once_and_checked_at_start(db: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = db
    settings = Settings(database_url=url, data_dir=tmp_path / "data")
    kek = custody.load_kek(settings, engine)
    path = custody.kek_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and kek.source == str(path)
    for n in range(3):
        accounts.create_account(engine=engine, kek=kek, email=f"k{n}@example.test")
    before = _rows(engine)
    assert custody.load_kek(settings, engine).kek_id == kek.kek_id  # the same file, reused
    # Missing: no new KEK is made while keys are sealed.
    saved = path.read_text()
    path.unlink()
    with pytest.raises(ConfigError, match="no key-encryption key, but 3 member keys are sealed"):
        custody.load_kek(settings, engine)
    assert not path.exists() and _rows(engine) == before
    # Wrong: from the environment or a replaced file.
    wrong = Settings(database_url=url, data_dir=tmp_path / "data", key_encryption_key="ab" * 32)
    with pytest.raises(ConfigError, match=r"wrong key-encryption key .* 3 member keys"):
        custody.load_kek(wrong, engine)
    bad = Settings(database_url=url, data_dir=tmp_path / "data", key_encryption_key="xyz")
    with pytest.raises(ConfigError, match="not hex"):
        custody.load_kek(bad, engine)
    assert _rows(engine) == before
    path.write_text(saved)


def test_the_api_does_not_start_with_a_wrong_kek(db: tuple[str, Engine], tmp_path: Path) -> None:
    from api.main import create_app

    url, engine = db
    right = Settings(database_url=url, data_dir=tmp_path, key_encryption_key="cd" * 32)
    kek = custody.load_kek(right, engine)
    accounts.create_account(engine=engine, kek=kek, email="start@example.test")
    before = _rows(engine)
    wrong = Settings(database_url=url, data_dir=tmp_path, key_encryption_key="ef" * 32)
    with pytest.raises(ConfigError, match="wrong key-encryption key"):
        create_app(wrong, engine=engine)
    assert _rows(engine) == before


def test_rotate_kek_reseals_every_key(db: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = db
    data = tmp_path / "data"
    settings = Settings(database_url=url, data_dir=data)
    kek = custody.load_kek(settings, engine)
    made = [
        accounts.create_account(engine=engine, kek=kek, email=f"r{n}@example.test")
        for n in range(3)
    ]
    keys_before = {
        m["address"]: custody.unseal(kek, m["address"], m["sealed_key"]).key for m in made
    }
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": url,
        "LOYALTY_DATA_DIR": str(data),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("LOYALTY_KEY_ENCRYPTION_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", "loyalty_ledger", "keys", "rotate-kek"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "re-sealed 3 member keys" in out.stdout
    new = custody.load_kek(settings, engine)
    assert (
        new.kek_id != kek.kek_id
        and stat.S_IMODE(custody.kek_path(settings).stat().st_mode) == 0o600
    )
    for address, sealed, kek_id in _rows(engine):
        assert kek_id == new.kek_id
        assert custody.unseal(new, address, sealed).key == keys_before[address]
        with pytest.raises(ConfigError):
            custody.unseal(kek, address, sealed)
