"""Dependencies as Annotated aliases: the app state, the database engine, the chain, the caller.

Dependencies that only compute (no I/O) are `async def` so FastAPI runs them on the event loop
instead of hopping to the thread pool; those that may block (the caller's key lookup) are not.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from eth_account.signers.local import LocalAccount
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from web3 import Web3

from loyalty_ledger.auth import (
    Forbidden,
    Principal,
    authenticate_key,
    verify_session,
)
from loyalty_ledger.auth.custody import Kek, load_kek, sealed_keys
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.keys import KeyRing
from loyalty_ledger.chain.rpc import AsyncJsonRpc, JsonRpc
from loyalty_ledger.chain.rpc import async_client as async_rpc_client
from loyalty_ledger.chain.rpc import client as rpc_client
from loyalty_ledger.chain.sender import Sender, connect_settings
from loyalty_ledger.config import Settings
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.health import Outages
from loyalty_ledger.store.reader import SqliteReader
from loyalty_ledger.store.reader import for_engine as reader_for
from loyalty_ledger.validate import checksum_address

from .credentials import credential, principal_at_hand


@dataclass
class ApiOptions:
    """What the API needs beyond Settings: the SIWE binding and request limits."""

    siwe_domain: str
    siwe_uri: str
    max_body: int = 64 * 1024
    session_ttl: int = 900


@dataclass
class AppState:
    """Shared by every request: settings, engine, the deployment, chain handle and signers."""

    settings: Settings
    engine: Engine
    options: ApiOptions
    _deployment: Deployment | None = None
    _deployment_mtime: float = -1.0
    _deployment_checked: float = 0.0
    _w3: Web3 | None = None
    _reader: SqliteReader | bool | None = False  # False: not looked up yet
    _senders: dict[str, Sender] = field(default_factory=dict)
    _brand_senders: dict[str, tuple[Deployment, Sender]] = field(default_factory=dict)
    _keys: KeyRing | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    _submitting: set[str] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    # What this API found down, and since when (for /health); the main job's indexer's own view.
    outages: Outages = field(default_factory=lambda: Outages("api", logging.getLogger("api")))
    indexer_outages: Outages | None = None
    _kek: Kek | None = None  # seals members' managed keys (checked at start when any exist)

    @property
    def deployment(self) -> Deployment:
        """The deployment file, re-read when it changes (a brand was onboarded meanwhile)."""
        now = time.monotonic()
        if self._deployment is not None and now - self._deployment_checked < 1.0:
            return self._deployment  # stat the file at most once a second
        self._deployment_checked = now
        path = Path(self.settings.deployment_file)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            if self._deployment is not None:
                return self._deployment
            raise LedgerError(f"no deployment file at {path}; deploy the network first") from None
        if self._deployment is None or mtime != self._deployment_mtime:
            with self._lock:
                self._deployment = Deployment.load(path)
                self._deployment_mtime = mtime
        return self._deployment

    def save_deployment(self, dep: Deployment) -> None:
        with self._lock:
            dep.save(self.settings.deployment_file)
            self._deployment = dep
            self._deployment_mtime = Path(self.settings.deployment_file).stat().st_mtime

    @property
    def reader(self) -> SqliteReader | None:
        """The plain SQLite reader of the hot reads (None on PostgreSQL)."""
        if self._reader is False:
            self._reader = reader_for(self.engine)
        return self._reader  # type: ignore[return-value]

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            with self._lock:
                if self._w3 is None:
                    self._w3 = connect_settings(self.settings)
        return self._w3

    @property
    def kek(self) -> Kek:
        """The key-encryption key (made on first use when no key is sealed yet)."""
        if self._kek is None:
            with self._lock:
                if self._kek is None:
                    self._kek = load_kek(self.settings, self.engine)
        return self._kek

    def check_kek(self) -> None:
        """At start: with sealed keys in the database, a missing or wrong KEK is a ConfigError
        (a database that is down now is checked on first use instead)."""
        try:
            sealed = sealed_keys(self.engine)
        except (OperationalError, InterfaceError):
            return
        if sealed:
            self._kek = load_kek(self.settings, self.engine)

    @property
    def rpc(self) -> JsonRpc:
        """The lean JSON-RPC client of hot chain reads (after `w3` checked the node once)."""
        if self._w3 is None:
            self.w3  # noqa: B018 - connects, and checks the chain id
        return rpc_client(self.settings.rpc_url, timeout=self.settings.rpc_timeout)

    @property
    def rpc_async(self) -> AsyncJsonRpc:
        """The event loop's JSON-RPC client of hot chain reads (after `w3` checked the node)."""
        self.rpc  # noqa: B018 - connects once, and checks the chain id
        return async_rpc_client(self.settings.rpc_url, timeout=self.settings.rpc_timeout)

    def chain_restarted(self) -> None:
        """The node came back from a saved state (it may have lost its last blocks): every
        signer asks the node for its nonce again."""
        with self._lock:
            for s in self._senders.values():
                s.reset_nonce()

    def chain_id(self) -> int:
        return self.settings.chain_id or self.deployment.chain_id

    @property
    def keys(self) -> KeyRing:
        if self._keys is None:
            self._keys = KeyRing(self.settings)
        return self._keys

    def sender(self, role: str) -> Sender:
        """One Sender per key, allowed only its role's contracts (roles sharing a key share its
        nonce counter and its allowed targets); KeyMissing (503) when the key is missing."""
        account = self.keys.account(role)
        dep = self.deployment
        targets = {
            "operator": (dep.registry, dep.exchange or "", ""),
            "relayer": (dep.forwarder,),
        }.get(role)
        if role.startswith("brand:"):
            prog = dep.program(role[6:])
            targets = (prog.points, prog.pass_, dep.exchange or "")
        elif role == "brand":  # the shared LOYALTY_BRAND_KEY: every brand's contracts
            progs = dep.programs.values()
            targets = (*(p.points for p in progs), *(p.pass_ for p in progs), dep.exchange or "")
        with self._lock:
            s = self._senders.get(account.address)
            if s is None:
                s = _shared_sender(self.w3, account, self.settings)
                self._senders[account.address] = s
            if targets is not None:
                s.allow(role, *targets)
        self.submit_for(s)
        return s

    def brand_sender(self, brand_id: str) -> Sender:
        """The brand's own issuer key (issuer/redeemer roles on its contracts only), its
        submitter running here (`submit_for`); resolved once per deployment (every earn asks)."""
        dep = self.deployment
        hit = self._brand_senders.get(brand_id)
        if hit is not None and hit[0] is dep:
            return hit[1]
        dep.program(brand_id)
        sender = self.sender(f"brand:{brand_id}")
        self._brand_senders[brand_id] = (dep, sender)
        return sender

    brand_writer = brand_sender  # the name the write routes use

    def submit_for(self, sender: Sender) -> None:
        """Run a submitter for this key in this process (it sends only while it holds the
        key's lease; another worker's takes over when this one dies)."""
        if not self.settings.submitter:
            return
        with self._lock:
            if sender.address in self._submitting:
                return
            self._submitting.add(sender.address)
        from loyalty_ledger.ledger.outbox import start_submitters

        url = self.engine.url.render_as_string(hide_password=False)
        start_submitters(
            engine=self.engine, url=url, senders=[sender], settings=self.settings, stop=self.stop
        )

    def key_report(self) -> list[str]:
        """One line per signer: where its key comes from, or that the brand is read-only."""
        lines = []
        names = ["operator", "relayer"]
        with contextlib.suppress(LedgerError):
            names += [f"brand:{b}" for b in sorted(self.deployment.programs)]
        for name in names:
            try:
                addr = self.keys.account(name).address
                lines.append(f"{name}: {addr} (key from {self.keys.source(name)})")
            except LedgerError as err:
                ro = " (read-only)" if name.startswith("brand:") else ""
                lines.append(f"{name}{ro}: {err.message}")
        return lines


_SHARED: dict[tuple[str, str], Sender] = {}
_SHARED_LOCK = threading.Lock()


def _shared_sender(w3: Web3, account: LocalAccount, settings: Settings) -> Sender:
    """One Sender per node and key in this process: apps on one node (an API beside the main
    job's, tests' apps on two databases) take the key's nonces from one counter."""
    with _SHARED_LOCK:
        key = (settings.rpc_url, account.address)
        s = _SHARED.get(key)
        if s is None:
            s = _SHARED[key] = Sender.from_settings(w3, account, settings, error_decoder())
        return s


async def get_state(request: Request) -> AppState:
    return request.app.state.api  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


async def get_engine(state: StateDep) -> Engine:
    return state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


async def get_deployment(state: StateDep) -> Deployment:
    return state.deployment


DeploymentDep = Annotated[Deployment, Depends(get_deployment)]


async def current_principal(request: Request) -> Principal:
    """The caller: an API key (X-API-Key) or a customer session (Authorization: Bearer).

    Answered from memory when it can be (`principal_at_hand`); anything that reads the
    database runs in the thread pool. The headers and the state are read from the request, not
    declared as parameters and sub-dependencies: every request would pay for their resolution
    (the OpenAPI document lists both schemes for every route that depends on this).
    """
    state: AppState = request.app.state.api
    headers = request.headers
    kind, value = credential(headers.get("x-api-key"), headers.get("authorization"))
    principal = principal_at_hand(kind, value)
    if principal is not None:
        return principal
    if kind == "key":
        return await run_in_threadpool(authenticate_key, engine=state.engine, key=value)
    return await run_in_threadpool(verify_session, engine=state.engine, token=value)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def optional_principal(request: Request) -> Principal | None:
    """The caller when credentials are sent (bad ones are still a 401), else None."""
    if not (request.headers.get("authorization") or request.headers.get("x-api-key")):
        return None
    return await current_principal(request)


MaybePrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


async def current_customer(principal: PrincipalDep) -> Principal:
    if principal.kind != "customer":
        raise Forbidden("this endpoint is for signed-in customers")
    return principal


CustomerDep = Annotated[Principal, Depends(current_customer)]


async def current_operator(principal: PrincipalDep) -> Principal:
    if principal.kind != "operator":
        raise Forbidden("this endpoint needs the operator key")
    return principal


OperatorDep = Annotated[Principal, Depends(current_operator)]


async def program_of(deployment: DeploymentDep, brand_id: str) -> Program:
    return deployment.program(brand_id)


ProgramDep = Annotated[Program, Depends(program_of)]


async def brand_reader(principal: PrincipalDep, brand_id: str) -> Principal:
    """Any key of this brand, the operator or an auditor."""
    if not principal.can_read_brand(brand_id):
        raise Forbidden(f"no access to brand {brand_id}")
    return principal


BrandReader = Annotated[Principal, Depends(brand_reader)]


def brand_scope(principal: Principal, brand: str | None) -> str | None:
    """The brand a member is seen through: a brand key sees only through its own brand."""
    if principal.kind != "brand":
        return brand
    if brand is not None and brand != principal.brand_id:
        raise Forbidden(f"no access to brand {brand}")
    return principal.brand_id


def brand_role(role: str):  # type: ignore[no-untyped-def]
    """A dependency: the caller holds `role` for the path's brand (or is the operator)."""

    async def check(principal: PrincipalDep, brand_id: str) -> Principal:
        if not principal.has_brand_role(brand_id, role):
            raise Forbidden(f"needs the {role} role of brand {brand_id}")
        return principal

    return check


IssuerDep = Annotated[Principal, Depends(brand_role("issuer"))]
PerkManagerDep = Annotated[Principal, Depends(brand_role("perk_manager"))]


async def programme_manager(principal: PrincipalDep, brand_id: str) -> Principal:
    """The caller may change the brand's earning rules, campaigns and tiers: a key with the
    programme_manager or perk_manager role, or the operator."""
    if not any(
        principal.has_brand_role(brand_id, r) for r in ("programme_manager", "perk_manager")
    ):
        raise Forbidden(f"needs the programme_manager (or perk_manager) role of brand {brand_id}")
    return principal


ProgrammeManagerDep = Annotated[Principal, Depends(programme_manager)]


async def member_reader(principal: PrincipalDep, address: str) -> str:
    """The path's address, checksummed; customers may only read their own."""
    addr = checksum_address(address)
    if not principal.can_read_member(addr):
        raise Forbidden("a customer can only see their own account")
    return addr


MemberReadDep = Annotated[str, Depends(member_reader)]


async def member_actor(customer: CustomerDep, address: str) -> str:
    """The path's address, which must be the signed-in customer's own."""
    addr = checksum_address(address)
    if customer.address != addr:
        raise Forbidden("a customer can only act for their own address")
    return addr


MemberActorDep = Annotated[str, Depends(member_actor)]
