"""Settings from the environment (prefix LOYALTY_) and `.env`; nothing else reads os.environ."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Anvil's well-known development accounts (public knowledge; local chains only).
ANVIL_DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def is_local_url(url: str) -> bool:
    """Whether an RPC URL points at this machine (where anvil's dev keys are acceptable)."""
    return (urlparse(url).hostname or "") in LOCAL_HOSTS


def env_name(brand_id: str) -> str:
    """A brand id as it appears in an environment variable name: ACME_COFFEE for acme-coffee."""
    return "".join(c if c.isalnum() else "_" for c in brand_id).upper()


class Settings(BaseSettings):
    """Every setting of the ledger; env vars are LOYALTY_<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="LOYALTY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int | None = None
    confirmations: int = Field(default=0, ge=0)
    rpc_timeout: float = Field(default=10.0, gt=0)
    receipt_timeout: float = Field(default=120.0, gt=0)
    max_fee_per_gas: int | None = Field(default=None, ge=0)
    max_priority_fee_per_gas: int | None = Field(default=None, ge=0)
    gas_limit_multiplier: float = Field(default=1.2, ge=1.0)
    operator_key: SecretStr | None = None
    brand_key: SecretStr | None = None
    customer_key: SecretStr | None = None
    relayer_key: SecretStr | None = None
    brand_keys: dict[str, SecretStr] = Field(default_factory=dict)
    """Per-brand issuer keys, from LOYALTY_BRAND_KEY_<BRAND> (brand id upper-cased, - as _)."""
    dev_keys: bool = True
    """Whether anvil's public development keys are the defaults for a node on this machine."""
    keystore_password: SecretStr | None = None
    """Unlocks the encrypted keystore files in <data_dir>/keys (Web3 Secret Storage)."""
    outbox_batch_items: int = Field(default=500, ge=1, le=500)
    """Earns and plain issues of one brand coalesce into issueBatch txs of at most this many."""
    outbox_batch_ms: int = Field(default=50, ge=0)
    """...or whatever has waited this long (milliseconds)."""
    outbox_stuck_seconds: float = Field(default=30.0, gt=0)
    """A sent tx unmined this long is re-sent (dropped) or replaced with a higher fee."""
    outbox: bool = True
    """Whether the API queues earning in the outbox (202 Accepted) instead of sending it in
    the request (every other API write is queued whatever this says)."""
    submitter: bool = True
    """Whether the API process runs the submitters (only a key's lease holder sends)."""
    data_dir: Path = Path(".data")
    chain_state_interval: float = Field(default=5.0, gt=0)  # seconds between saves of the chain
    database_url: str | None = None
    deployment_file: Path = Path("deployments/local.json")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None
    """The API's address as members reach it (unsubscribe links); default http://host:port."""
    smtp_host: str | None = None
    """Mail server; without one, mail goes to the log and <data_dir>/mail/ (the local default)."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Loyalty Ledger <no-reply@localhost>"
    webauthn_rp_id: str = "localhost"
    """Passkeys' relying-party id: the site's host name (a passkey works only on its RP id)."""
    webauthn_origin: str | None = None
    """The page origin passkeys are used from (default http://<rp id>:<api port>)."""
    key_encryption_key: SecretStr | None = None
    """Seals members' managed keys (64 hex); default: <data_dir>/kek (0600, made on first run)."""
    gift_step_up_above: int = Field(default=500, ge=0)
    """Managed-key gifts above this many points need a fresh passkey or email code (per brand:
    PUT /brands/{b}/member-settings)."""
    notify_max_attempts: int = Field(default=5, ge=1, le=50)
    """A webhook or mail delivery that failed this many times is dead-lettered."""
    notify_backoff: float = Field(default=2.0, ge=0)
    """Seconds before the first retry of a failed delivery; doubled at each further try."""

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir / 'ledger.db'}"
        # The public dev key is a default for a local node only; a remote node needs a real key.
        if self.operator_key is None and self.dev_keys and is_local_url(self.rpc_url):
            self.operator_key = SecretStr(ANVIL_DEV_KEYS[0])
        prefix = "LOYALTY_BRAND_KEY_"
        for name, value in os.environ.items():
            if name.upper().startswith(prefix) and value and len(name) > len(prefix):
                self.brand_keys.setdefault(name[len(prefix) :].upper(), SecretStr(value))
        return self

    def own_brand_key(self, brand_id: str) -> SecretStr | None:
        """The brand's own key from LOYALTY_BRAND_KEY_<BRAND>, if set."""
        return self.brand_keys.get(env_name(brand_id))

    def key(self, role: str) -> str:
        """The private key for `role` (operator, brand, customer, relayer), with fallbacks."""
        from .errors import ConfigError

        secret: SecretStr | None = getattr(self, f"{role}_key", None)
        if secret is None and role in ("brand", "relayer"):
            secret = self.operator_key
        if secret is None:
            raise ConfigError(f"no {role} key: pass --key or set LOYALTY_{role.upper()}_KEY")
        return secret.get_secret_value()


def get_settings(**overrides: Any) -> Settings:
    """A fresh Settings from the environment; non-None `overrides` win (cheap; cache if needed)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def public_url(settings: Settings) -> str:
    """The API's base URL as members reach it (no trailing slash)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{settings.api_host}:{settings.api_port}"
