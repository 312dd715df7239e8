"""Fixtures for members without a wallet: an in-process SMTP server (aiosmtpd), and the API
over the shared test chain with the outbox on, mail going to that server, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from web3 import Web3

from api.deps import ApiOptions, AppState
from api.main import create_app
from loyalty_ledger.auth import email_codes
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.config import Settings
from loyalty_ledger.indexer import run_indexer

from ..api.conftest import (  # noqa: F401  (fixtures)
    BRAND,
    BRAND_KEY,
    DOMAIN,
    OPERATOR_KEY,
    RELAYER_KEY,
    ROLES,
    URI,
    Env,
    add_keys,
    api_network,
    api_node,
    api_settings,
)
from ..pg import fresh_schema

ROLES_ALL = (*ROLES, "cashier")
_LIVE: list[Env] = []  # the environments alive now (their databases hold client counts)


@pytest.fixture(autouse=True)
def _chain_isolation() -> Iterator[None]:
    """No snapshots (the mirror cannot be rewound); each test starts with no client counted
    by the per-client sending limit (the test client is one client)."""
    for env in _LIVE:
        email_codes.forget_clients(env.state.engine)
    yield


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def last_code(self, to: str, timeout: float = 10.0) -> str:
        """The 6-digit code in the newest mail to `to`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in reversed(self.messages):
                if m["To"] == to:
                    found = re.search(r"\b(\d{6})\b", m.get_payload(decode=True).decode())
                    assert found, m
                    return found.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def member_settings(
    db_url: str, dep: Path, node: Anvil, tmp: Path, smtp_port: int, **over: object
) -> Settings:
    """The API tests' settings with the outbox on and mail to the test's SMTP server."""
    mail = dict(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_tls="none")
    return api_settings(
        db_url,
        dep,
        node,
        tmp,
        outbox=True,
        mail_from="Loyalty <no-reply@example.test>",
        **{**mail, **over},
    )


def make_env(settings: Settings, w3: Web3) -> Env:
    run_indexer(settings, follow=False, progress=False)  # migrates, then backfills
    app = create_app(settings, options=ApiOptions(siwe_domain=DOMAIN, siwe_uri=URI))
    state: AppState = app.state.api
    env = Env(settings=settings, client=TestClient(app), state=state, w3=w3)
    add_keys(env, ROLES_ALL)
    _LIVE.append(env)
    return env


def drop_env(env: Env) -> None:
    """Stop the environment's submitters and forget it (before its schema or node goes)."""
    env.state.stop.set()
    if env in _LIVE:
        _LIVE.remove(env)


def points_of(env: Env, address: str, brand: str = "acme") -> int:
    """A member's balance, read from the chain."""
    token = contracts.points(env.w3, env.deployment.program(brand))
    return int(token.functions.balanceOf(address).call())


@pytest.fixture(scope="session")
def m_env(
    api_network: tuple[Path, Web3],  # noqa: F811
    api_node: Anvil,  # noqa: F811
    smtp: tuple[Inbox, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Env:
    tmp = tmp_path_factory.mktemp("members-sqlite")
    s = member_settings(f"sqlite:///{tmp / 'api.db'}", api_network[0], api_node, tmp, smtp[1])
    return make_env(s, api_network[1])


@pytest.fixture(scope="session")
def m_pg_env(
    api_network: tuple[Path, Web3],  # noqa: F811
    api_node: Anvil,  # noqa: F811
    smtp: tuple[Inbox, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Env]:
    with fresh_schema("members") as url:
        tmp = tmp_path_factory.mktemp("members-pg")
        env = make_env(member_settings(url, api_network[0], api_node, tmp, smtp[1]), api_network[1])
        yield env
        drop_env(env)  # the submitters, before the schema goes


@pytest.fixture(params=["sqlite", "postgresql"])
def any_m_env(request: pytest.FixtureRequest) -> Env:
    return request.getfixturevalue("m_env" if request.param == "sqlite" else "m_pg_env")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def email_sign_in(env: Env, inbox: Inbox, email: str) -> dict[str, object]:
    """The whole email journey: ask for a code, read it from the SMTP server, sign in."""
    r = env.client.post("/auth/email/start", json={"email": email})
    assert r.status_code == 202, r.text
    code = inbox.last_code(email.strip().lower())
    r = env.client.post("/auth/email/verify", json={"email": email, "code": code})
    assert r.status_code == 200, r.text
    return dict(r.json())


def deploy_acme_beta(node: Anvil, folder: Path) -> tuple[Path, Web3]:
    """A network on `node`: brands acme and beta administered by the API's brand key."""
    w3 = connect(node.url)
    op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
    dep = deploy_network(w3, op)
    for bid in ("acme", "beta"):
        add_brand(
            w3,
            op,
            dep,
            brand_id=bid,
            name=f"{bid} points",
            symbol=bid.upper(),
            admin=BRAND.address,
            tiers=["Basic"],
        )
    path = folder / "deployment.json"
    dep.save(path)
    return path, w3


@pytest.fixture(params=["sqlite", "postgresql"])
def chain_env(
    request: pytest.FixtureRequest, smtp: tuple[Inbox, int], tmp_path: Path
) -> Iterator[Env]:
    """The API on a chain of its own (its submitters are the only senders of its keys)."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'api.db'}"
        else:
            url = stack.enter_context(fresh_schema("memberchain"))
        node = stack.enter_context(Anvil(port=0))
        dep, w3 = deploy_acme_beta(node, tmp_path)
        env = make_env(member_settings(url, dep, node, tmp_path, smtp[1]), w3)
        try:
            yield env
        finally:
            drop_env(env)
            time.sleep(0.3)  # the submitters see the stop before the node and schema go


@contextlib.contextmanager
def writer_alongside(database_url: str) -> Iterator[list[int]]:
    """Another process's writer, as SQLite sees it: its own engine committing a nonce in a loop
    while the block runs; yields its count of commits (checked by the caller: it really ran)."""
    import threading

    from loyalty_ledger.auth import siwe
    from loyalty_ledger.store import make_engine

    other = make_engine(database_url)
    stop, writes = threading.Event(), [0]

    def write() -> None:
        while not stop.is_set():
            siwe.issue_nonce(engine=other)
            writes[0] += 1

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield writes
    finally:
        stop.set()
        writer.join(10)
        other.dispose()
