"""API test fixtures: one anvil + network per session, the app on SQLite (and PostgreSQL for the
concurrency test), an indexer backfill after each chain action, API keys for every role."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from web3 import Web3

from api.deps import ApiOptions, AppState
from api.main import create_app, serve
from loyalty_ledger import auth, ledger
from loyalty_ledger.auth.managed import sign_typed as sign_typed  # tests sign as wallets do
from loyalty_ledger.chain.anvil import Anvil, free_port
from loyalty_ledger.chain.artifacts import CONTRACTS, artifact_path, error_decoder
from loyalty_ledger.chain.deploy import DEFAULT_EPOCH_SECONDS, Deployment, add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings
from loyalty_ledger.indexer import run_indexer

from ..pg import fresh_schema

OPERATOR_KEY, BRAND_KEY, RELAYER_KEY = ANVIL_DEV_KEYS[0], ANVIL_DEV_KEYS[1], ANVIL_DEV_KEYS[7]
BRAND = Account.from_key(BRAND_KEY)
DOMAIN, URI = "testserver", "http://testserver"
ROLES = ("issuer", "redeemer", "perk_manager", "viewer")


@pytest.fixture(autouse=True)
def _chain_isolation() -> Iterator[None]:
    """Override of tests/conftest.py's snapshot isolation: the mirror cannot be rewound."""
    yield


@pytest.fixture(scope="session")
def api_node() -> Iterator[Anvil]:
    missing = [n for n in CONTRACTS if not artifact_path(n).exists()]
    if missing:
        pytest.fail(f"compiled artifacts missing for {missing}: run `scripts/forge build`")
    with Anvil(port=0) as node:
        yield node


@pytest.fixture(scope="session")
def api_network(api_node: Anvil, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Web3]:
    """Registry + forwarder; brands acme and beta administered by the API's brand key."""
    w3 = connect(api_node.url)
    op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
    dep = deploy_network(w3, op)
    for bid, tiers in (("acme", ["Silver", "Gold", "Platinum"]), ("beta", ["Basic", "Plus"])):
        add_brand(
            w3,
            op,
            dep,
            brand_id=bid,
            name=f"{bid} points",
            symbol=bid.upper(),
            admin=BRAND.address,
            tiers=tiers,
        )
    path = tmp_path_factory.mktemp("dep") / "deployment.json"
    dep.save(path)
    return path, w3


@dataclass
class Env:
    """The app under test and the handles a test needs."""

    settings: Settings
    client: TestClient
    state: AppState
    w3: Web3
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def deployment(self) -> Deployment:
        return self.state.deployment

    def index(self) -> None:
        """Backfill the mirror up to the head."""
        run_indexer(self.settings, follow=False, progress=False, poll_interval=0.02)

    def h(self, who: str) -> dict[str, str]:
        """Headers of an API key by role name ('operator', 'acme:issuer', …)."""
        return {"X-API-Key": self.keys[who]}

    def new_member(
        self, points: int = 0, brand: str = "acme", register: bool = True
    ) -> LocalAccount:
        acct: LocalAccount = Account.create()
        if register:
            ledger.register_member(
                sender=self.state.sender("operator"),
                deployment=self.deployment,
                member=acct.address,
            )
        if points:
            ledger.issue_points(
                sender=self.state.sender("brand"),
                program=self.deployment.program(brand),
                member=acct.address,
                amount=points,
                reason="signup",
                ref="setup",
            )
        return acct

    def sign_in(self, acct: LocalAccount, **over: Any) -> dict[str, str]:
        token = self.client.post("/auth/verify", json=siwe_body(self, acct, **over)).json()["token"]
        return {"Authorization": f"Bearer {token}"}


def siwe_text(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    nonce: str,
    issued_at: str,
    expiration: str | None = None,
    not_before: str | None = None,
    statement: str | None = "Sign in to Loyalty Ledger",
) -> str:
    """EIP-4361 text, formatted by hand (so tests can also build invalid messages)."""
    head = f"{domain} wants you to sign in with your Ethereum account:\n{address}\n\n"
    if statement is not None:
        head += f"{statement}\n\n"
    lines = [
        f"URI: {uri}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {issued_at}",
    ]
    if expiration:
        lines.append(f"Expiration Time: {expiration}")
    if not_before:
        lines.append(f"Not Before: {not_before}")
    return head + "\n".join(lines)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def siwe_body(
    env: Env,
    acct: LocalAccount,
    *,
    signer: LocalAccount | None = None,
    nonce: str | None = None,
    **fields: Any,
) -> dict[str, str]:
    """A signed sign-in body for `acct` with a fresh nonce; `fields` override the message."""
    now = datetime.now(UTC)
    n = nonce or env.client.get("/auth/nonce").json()["nonce"]
    params: dict[str, Any] = dict(
        domain=DOMAIN,
        address=acct.address,
        uri=URI,
        chain_id=env.deployment.chain_id,
        nonce=n,
        issued_at=iso(now),
        expiration=iso(now + timedelta(minutes=5)),
    )
    params.update(fields)
    message = siwe_text(**params)
    sig = (signer or acct).sign_message(encode_defunct(text=message)).signature
    return {"message": message, "signature": "0x" + bytes(sig).hex()}


def api_settings(db_url: str, dep_path: Path, node: Anvil, tmp: Path, **over: Any) -> Settings:
    """The tests' settings: this node, database and deployment, the test keys; `over` wins."""
    values: dict[str, Any] = dict(
        rpc_url=node.url,
        database_url=db_url,
        deployment_file=dep_path,
        data_dir=tmp,
        operator_key=OPERATOR_KEY,
        brand_key=BRAND_KEY,
        relayer_key=RELAYER_KEY,
        receipt_timeout=60,
    )
    return Settings(**{**values, **over})


def _make_env(db_url: str, dep_path: Path, node: Anvil, w3: Web3, tmp: Path) -> Env:
    settings = api_settings(db_url, dep_path, node, tmp)
    run_indexer(settings, follow=False, progress=False)  # migrates, then backfills
    app = create_app(settings, options=ApiOptions(siwe_domain=DOMAIN, siwe_uri=URI))
    state: AppState = app.state.api
    # Writes are queued in the outbox: every request waits for its settled result, as before.
    client = TestClient(app, headers={"Prefer": "wait=30"})
    env = Env(settings=settings, client=client, state=state, w3=w3)
    add_keys(env, ROLES)
    return env


def add_keys(env: Env, roles: tuple[str, ...]) -> None:
    """API keys: operator, auditor, and per brand `{brand}:all` and `{brand}:{role}`."""
    eng = env.state.engine
    env.keys["operator"] = auth.create_api_key(engine=eng, kind="operator")[1]
    env.keys["auditor"] = auth.create_api_key(engine=eng, kind="auditor")[1]
    for bid in ("acme", "beta"):
        env.keys[f"{bid}:all"] = auth.create_api_key(
            engine=eng, kind="brand", brand_id=bid, roles=roles
        )[1]
        for role in roles:
            env.keys[f"{bid}:{role}"] = auth.create_api_key(
                engine=eng, kind="brand", brand_id=bid, roles=[role]
            )[1]


@pytest.fixture(scope="session")
def env(
    api_network: tuple[Path, Web3], api_node: Anvil, tmp_path_factory: pytest.TempPathFactory
) -> Env:
    tmp = tmp_path_factory.mktemp("sqlite")
    return _make_env(f"sqlite:///{tmp / 'api.db'}", api_network[0], api_node, api_network[1], tmp)


@pytest.fixture(scope="session")
def pg_env(
    api_network: tuple[Path, Web3], api_node: Anvil, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    with fresh_schema("api") as url:
        yield _make_env(
            url, api_network[0], api_node, api_network[1], tmp_path_factory.mktemp("pg")
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def any_env(request: pytest.FixtureRequest) -> Env:
    return request.getfixturevalue("env" if request.param == "sqlite" else "pg_env")


def onboard_brand(
    env: Env,
    brand_id: str,
    *,
    epoch_length: int = DEFAULT_EPOCH_SECONDS,
    tiers: list[str] | None = None,
) -> None:
    """A fresh brand on the shared chain, administered by the API's brand key, with API keys
    `{brand_id}:{role}` and `{brand_id}:all` (tests that change a brand's policy or exchanges
    use their own brands, so they leave acme and beta as the other tests expect them)."""
    dep = Deployment.from_json(env.deployment.to_json())
    add_brand(
        env.w3,
        env.state.sender("operator"),
        dep,
        brand_id=brand_id,
        name=f"{brand_id} points",
        symbol=brand_id.upper()[:16],
        admin=BRAND.address,
        tiers=tiers or ["Basic"],
        epoch_length=epoch_length,
    )
    env.state.save_deployment(dep)
    eng = env.state.engine
    env.keys[f"{brand_id}:all"] = auth.create_api_key(
        engine=eng, kind="brand", brand_id=brand_id, roles=ROLES
    )[1]
    for role in ROLES:
        env.keys[f"{brand_id}:{role}"] = auth.create_api_key(
            engine=eng, kind="brand", brand_id=brand_id, roles=[role]
        )[1]


@pytest.fixture
def served(any_env: Env):  # type: ignore[no-untyped-def]
    """The env's app behind uvicorn on a free port; yields (env, base url)."""
    port = free_port()
    settings = any_env.settings.model_copy(update={"api_port": port})
    stop, ready = threading.Event(), threading.Event()
    thread = serve(settings, stop, app=any_env.client.app, ready=ready)  # type: ignore[arg-type]
    assert ready.wait(15), "the API did not start"
    try:
        yield any_env, f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive(), "serve() did not stop on its stop event"
