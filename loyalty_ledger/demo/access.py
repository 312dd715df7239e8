"""How to get into a running demo: a dashboard link per brand (with a viewer API key), the wallet
page, and a demo customer to sign in as. Kept in the data dir (`demo-access.json`, mode 0600:
it holds keys) so that every run of the main job prints the same links; keys that no longer
authenticate (a new database) are replaced by fresh ones.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from web3 import Web3

from loyalty_ledger import auth, ledger
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.config import Settings
from loyalty_ledger.demo.world import BRANDS, World

FILE_NAME = "demo-access.json"
DEMO_EMAIL = "demo@loyalty.example"  # the demo customer's sign-in without a wallet
VIEWER_LABEL = "demo dashboard"


@dataclass(frozen=True)
class DemoCustomer:
    """A simulated member whose key the demo knows: import it into a browser wallet."""

    address: str
    private_key: str
    brand: str
    tier: str
    points: int


@dataclass
class DemoAccess:
    """What the main job prints, tied to one deployment (chain id + registry)."""

    chain_id: int
    registry: str
    viewer_keys: dict[str, str] = field(default_factory=dict)  # brand -> viewer API key
    customer: DemoCustomer | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoAccess:
        cust = data.get("customer")
        return cls(
            chain_id=int(data["chain_id"]),
            registry=str(data["registry"]),
            viewer_keys=dict(data.get("viewer_keys") or {}),
            customer=DemoCustomer(**cust) if cust else None,
        )


def access_file(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def save(data_dir: Path, access: DemoAccess) -> Path:
    """Write the access file readable by its owner only (0600), atomically."""
    path = access_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(access.as_dict(), fh, indent=1)
    os.chmod(tmp, 0o600)  # os.open's mode is masked by the umask; an old file keeps its mode
    tmp.replace(path)
    return path


def load(data_dir: Path, deployment: Deployment) -> DemoAccess | None:
    """The saved access of this deployment, or None (no file, unreadable, another network)."""
    path = access_file(data_dir)
    try:
        access = DemoAccess.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    same = access.chain_id == deployment.chain_id and (
        access.registry.lower() == deployment.registry.lower()
    )
    return access if same else None


def pick_customer(world: World, w3: Web3, deployment: Deployment) -> DemoCustomer:
    """The first-brand member with the highest tier and the most history: a full wallet page."""
    brand = BRANDS[0]
    activity: dict[str, int] = {}
    for r in world.records:
        if r["brand_id"] == brand.brand_id and "member" in r:
            m = str(r["member"])
            activity[m] = activity.get(m, 0) + 1
    passes = {m: t for (b, m), (t, _exp) in world.passes.items() if b == brand.brand_id}
    best = max(
        world.accounts, key=lambda a: (passes.get(a.address, -1), activity.get(a.address, 0))
    )
    tier = passes.get(best.address)
    points = ledger.balance_of(
        w3=w3, program=deployment.program(brand.brand_id), member=best.address
    )
    return DemoCustomer(
        address=best.address,
        private_key="0x" + bytes(best.key).hex(),
        brand=brand.brand_id,
        tier=brand.tiers[tier] if tier is not None else "no pass",
        points=int(points),
    )


def ensure_viewer_keys(engine: Engine, deployment: Deployment, access: DemoAccess) -> bool:
    """Give every brand a viewer key that authenticates (minting where needed); True if any
    key changed."""
    changed = False
    for brand in sorted(deployment.programs):
        key = access.viewer_keys.get(brand)
        if key is not None:
            try:
                who = auth.authenticate_key(engine=engine, key=key)
                if who.brand_id == brand and "viewer" in who.roles:
                    continue
            except auth.AuthenticationFailed:
                pass
        access.viewer_keys[brand] = auth.create_api_key(
            engine=engine, kind="brand", brand_id=brand, roles=["viewer"], label=VIEWER_LABEL
        )[1]
        changed = True
    for brand in set(access.viewer_keys) - set(deployment.programs):
        del access.viewer_keys[brand]
        changed = True
    return changed


def links(access: DemoAccess, *, base: str, rpc_url: str) -> dict[str, Any]:
    """The links and sign-in facts, as the main job's --json prints them."""
    return {
        "api": base,
        "dashboards": {
            b: f"{base}/dashboard#brand={b}&key={k}" for b, k in sorted(access.viewer_keys.items())
        },
        "wallet": f"{base}/wallet",
        "docs": f"{base}/docs",
        "chain": {"rpc_url": rpc_url, "chain_id": access.chain_id},
        "customer": asdict(access.customer) if access.customer else None,
    }


def lines(access: DemoAccess, *, base: str, rpc_url: str) -> list[str]:
    """What a person reads: the links, then how to sign in to the wallet as a demo customer."""
    info = links(access, base=base, rpc_url=rpc_url)
    out = [f"dashboard ({b}): {url}" for b, url in info["dashboards"].items()]
    out.append(f"wallet: {info['wallet']}")
    c = access.customer
    if c is None:
        out.append(
            "wallet sign-in: this network was not seeded by the demo here, so no demo "
            "customer's key is known; sign in with a registered member's wallet"
        )
        return out
    out += [
        f"sign in to the wallet as a demo customer ({c.brand} {c.tier}, {c.points} points when "
        "seeded):",
        f"  1. in a browser wallet (e.g. MetaMask), add the network {rpc_url} "
        f"(chain id {access.chain_id}) and import this demo account's private key:",
        f"     {c.private_key}   (address {c.address}; a demo key for this local chain only)",
        f"  2. open {info['wallet']}, press 'Sign in with Ethereum' and sign the message",
        f"or, with no wallet at all: open {info['wallet']}, enter {DEMO_EMAIL} and press "
        "'Email me a code'; with no SMTP server set (LOYALTY_SMTP_HOST), the mail with the "
        "6-digit code is written to this log and to <data dir>/mail/",
    ]
    return out


def ensure_demo_member(settings: Settings, engine: Engine, access: DemoAccess) -> None:
    """The demo customer can sign in by email code: an account for DEMO_EMAIL holding their
    key, sealed under the key-encryption key like any managed key."""
    from loyalty_ledger.auth import accounts, custody

    if access.customer is not None:
        kek = custody.load_kek(settings, engine)
        accounts.adopt(
            engine=engine, kek=kek, email=DEMO_EMAIL, private_key=access.customer.private_key
        )


def for_reuse(settings: Settings, deployment: Deployment) -> DemoAccess:
    """The saved access of a live deployment, its viewer keys checked (fresh ones where the
    database no longer knows them), saved again when anything changed."""
    from loyalty_ledger.store import make_engine, migrate

    acc = load(settings.data_dir, deployment) or DemoAccess(
        deployment.chain_id, deployment.registry
    )
    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        changed = ensure_viewer_keys(engine, deployment, acc)
        ensure_demo_member(settings, engine, acc)
    finally:
        engine.dispose()
    if changed or not access_file(settings.data_dir).exists():
        save(settings.data_dir, acc)
    return acc


def prepare_demo_member(settings: Settings, access: DemoAccess) -> None:
    """`ensure_demo_member` on the settings' database (migrated first)."""
    from loyalty_ledger.store import make_engine, migrate

    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        ensure_demo_member(settings, engine, access)
    finally:
        engine.dispose()
