"""Signing keys by who acts: the operator, the relayer, and one issuer key per brand.

A key comes from, in order: its environment variable (`LOYALTY_OPERATOR_KEY`,
`LOYALTY_RELAYER_KEY`, `LOYALTY_BRAND_KEY_<BRAND>`), an encrypted keystore file in
`<data_dir>/keys/` (Web3 Secret Storage, unlocked by `LOYALTY_KEYSTORE_PASSWORD`), the shared
`LOYALTY_BRAND_KEY` for brands without their own, and, for a node on this machine only, anvil's
public development key. Nothing here prints, logs or returns key material: only addresses.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from pydantic import SecretStr

from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings, env_name, is_local_url
from loyalty_ledger.errors import ConfigError, InvalidInput, KeyMissing

NAME = re.compile(r"^(operator|relayer|customer|brand|brand:[A-Za-z0-9][A-Za-z0-9_-]{0,31})$")


def check_name(name: str) -> str:
    """A key's name: operator, relayer, customer, brand:<brand id>, or brand (the shared one)."""
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(f"a key name is operator, relayer, customer or brand:<id>, not {name!r}")
    return name


def keystore_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "keys"


def key_file(settings: Settings, name: str) -> Path:
    return keystore_dir(settings) / (check_name(name).replace(":", "-") + ".json")


def _env_hint(name: str) -> str:
    if name.startswith("brand:"):
        return f"LOYALTY_BRAND_KEY_{env_name(name[6:])}"
    return f"LOYALTY_{name.upper()}_KEY"


def _write_keystore(path: Path, keystore: dict[str, object], *, force: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{path} exists already (use --force to replace it)") from None
    with os.fdopen(fd, "w") as fh:
        json.dump(keystore, fh)


def _password(password: str | SecretStr) -> str:
    value = password.get_secret_value() if isinstance(password, SecretStr) else password
    if not value:
        raise InvalidInput("the keystore password may not be empty")
    return value


def import_key(
    settings: Settings,
    name: str,
    private_key: str | bytes,
    password: str | SecretStr,
    *,
    force: bool = False,
    iterations: int | None = None,
) -> str:
    """Encrypt `private_key` into the keystore as `name`; returns its address."""
    try:
        account = Account.from_key(private_key)
    except (ValueError, TypeError):
        raise InvalidInput("that is not a valid private key") from None
    keystore = Account.encrypt(account.key, _password(password), iterations=iterations)
    _write_keystore(key_file(settings, name), keystore, force=force)
    return str(account.address)


def create_key(
    settings: Settings,
    name: str,
    password: str | SecretStr,
    *,
    force: bool = False,
    iterations: int | None = None,
) -> str:
    """A new random key (the OS's CSPRNG, through eth-account) saved encrypted as `name`."""
    account = Account.create()
    return import_key(settings, name, account.key, password, force=force, iterations=iterations)


@dataclass(frozen=True)
class KeyInfo:
    name: str
    address: str
    source: str


def list_keys(settings: Settings) -> list[KeyInfo]:
    """The keystore's keys (name, address); nothing is decrypted."""
    out = []
    folder = keystore_dir(settings)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        stem = path.stem
        name = "brand:" + stem[6:] if stem.startswith("brand-") else stem
        try:
            address = json.loads(path.read_text()).get("address", "")
        except (OSError, ValueError):
            address = ""
        if NAME.match(name) and address:
            out.append(KeyInfo(name, to_checksum_address("0x" + str(address)[-40:]), str(path)))
    return out


class KeyRing:
    """The accounts the API and CLI sign with, resolved once each (see the module's order)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._accounts: dict[str, tuple[LocalAccount, str]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeyRing({len(self._accounts)} keys resolved)"

    def account(self, name: str) -> LocalAccount:
        """The account of `name`; KeyMissing when no source has it."""
        return self._resolve(name)[0]

    def source(self, name: str) -> str:
        """Where `name`'s key comes from (an env variable, a file, the local dev default)."""
        return self._resolve(name)[1]

    def has(self, name: str) -> bool:
        try:
            self._resolve(name)
        except ConfigError:
            return False
        return True

    def _resolve(self, name: str) -> tuple[LocalAccount, str]:
        check_name(name)
        with self._lock:
            hit = self._accounts.get(name)
            if hit is None:
                secret, source = self._find(name)
                try:
                    hit = (Account.from_key(secret.get_secret_value()), source)
                except (ValueError, TypeError):
                    raise ConfigError(
                        f"the {name} key from {source} is not a private key"
                    ) from None
                self._accounts[name] = hit
        return hit

    def _find(self, name: str) -> tuple[SecretStr, str]:
        s = self._settings
        local = s.dev_keys and is_local_url(s.rpc_url)
        role, _, brand = name.partition(":")
        env = s.own_brand_key(brand) if brand else getattr(s, f"{role}_key", None)
        dev_default = local and env is not None and env.get_secret_value() == ANVIL_DEV_KEYS[0]
        if env is not None and not dev_default:
            return env, _env_hint(name)
        path = key_file(s, name)
        if path.is_file():
            return self._decrypt(name, path), str(path)
        if brand and s.brand_key is not None:
            return s.brand_key, "LOYALTY_BRAND_KEY (shared by brands without their own)"
        if local and role != "customer":
            return SecretStr(ANVIL_DEV_KEYS[0]), "anvil's development key (local node only)"
        raise KeyMissing(
            name,
            f"set {_env_hint(name)} or run `loyalty keys create {name}` "
            "(only a local node with LOYALTY_DEV_KEYS on gets anvil's development key)",
        )

    def _decrypt(self, name: str, path: Path) -> SecretStr:
        password = self._settings.keystore_password
        if password is None:
            raise KeyMissing(name, f"{path} is locked: set LOYALTY_KEYSTORE_PASSWORD")
        try:
            keystore = json.loads(path.read_text())
            key = Account.decrypt(keystore, password.get_secret_value())
        except ValueError:
            raise KeyMissing(name, f"{path} does not open with LOYALTY_KEYSTORE_PASSWORD") from None
        return SecretStr("0x" + bytes(key).hex())
