"""Shared fixtures: one anvil per session on a free port, a deployed network with two brands,
and an evm_snapshot/evm_revert around every chain test so each starts from the same state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.artifacts import CONTRACTS, artifact_path, error_decoder
from loyalty_ledger.chain.deploy import Deployment, add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.config import ANVIL_DEV_KEYS

# Roles of anvil's dev accounts in the tests.
OPERATOR, ACME_ADMIN, BETA_ADMIN, ALICE, BOB, CAROL, RELAYER, MALLORY = (
    Account.from_key(k) for k in ANVIL_DEV_KEYS[:8]
)
ACME_TIERS = ["Silver", "Gold", "Platinum"]
ALICE_START = 100  # acme points alice holds at the start of every test


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[Anvil]:
    missing = [n for n in CONTRACTS if not artifact_path(n).exists()]
    if missing:
        pytest.fail(f"compiled artifacts missing for {missing}: run `scripts/forge build`")
    with Anvil(port=0) as node:  # port 0: a free port, never a shared 8545
        yield node


@pytest.fixture(scope="session")
def w3(anvil_node: Anvil) -> Web3:
    return connect(anvil_node.url)


@pytest.fixture(scope="session")
def network(w3: Web3) -> Deployment:
    """Registry + forwarder, brands acme and beta, alice and bob registered, alice holds 100."""
    op = Sender(w3, OPERATOR, decoder=error_decoder())
    dep = deploy_network(w3, op)
    add_brand(
        w3,
        op,
        dep,
        brand_id="acme",
        name="Acme Points",
        symbol="ACME",
        admin=ACME_ADMIN.address,
        tiers=ACME_TIERS,
    )
    add_brand(
        w3,
        op,
        dep,
        brand_id="beta",
        name="Beta Points",
        symbol="BETA",
        admin=BETA_ADMIN.address,
        tiers=["Basic", "Plus"],
    )
    ledger.register_members(sender=op, deployment=dep, members=[ALICE.address, BOB.address])
    acme = Sender(w3, ACME_ADMIN, decoder=error_decoder())
    ledger.issue_points(
        sender=acme,
        program=dep.program("acme"),
        member=ALICE.address,
        amount=ALICE_START,
        reason="signup",
        ref="welcome",
    )
    return dep


@pytest.fixture(autouse=True)
def _chain_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Chain tests here run between evm_snapshot and evm_revert (anvil-only: tests only).

    Only for test files directly in tests/: subdirectories bring their own nodes.
    """
    mine = Path(request.node.path).parent == Path(__file__).parent
    if not mine or request.node.get_closest_marker("chain") is None:
        yield
        return
    w3: Web3 = request.getfixturevalue("w3")
    request.getfixturevalue("network")
    snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield
    assert w3.provider.make_request("evm_revert", [snap])["result"]  # type: ignore[arg-type]


def _sender(w3: Web3, account: LocalAccount) -> Sender:
    return Sender(w3, account, decoder=error_decoder())


# Senders are per test: a snapshot revert rewinds nonces, so none may outlive a test.
@pytest.fixture
def operator(w3: Web3) -> Sender:
    return _sender(w3, OPERATOR)


@pytest.fixture
def acme_admin(w3: Web3) -> Sender:
    return _sender(w3, ACME_ADMIN)


@pytest.fixture
def beta_admin(w3: Web3) -> Sender:
    return _sender(w3, BETA_ADMIN)


@pytest.fixture
def alice(w3: Web3) -> Sender:
    return _sender(w3, ALICE)


@pytest.fixture
def bob(w3: Web3) -> Sender:
    return _sender(w3, BOB)


@pytest.fixture
def carol(w3: Web3) -> Sender:
    return _sender(w3, CAROL)


@pytest.fixture
def relayer(w3: Web3) -> Sender:
    return _sender(w3, RELAYER)


@pytest.fixture
def acme(network: Deployment) -> Any:
    return network.program("acme")


@pytest.fixture
def beta(network: Deployment) -> Any:
    return network.program("beta")


def chain_state(w3: Web3, dep: Deployment) -> dict[str, Any]:
    """Everything a failed operation must leave alone: head, nonces, balances, members, passes.

    Read in one JSON-RPC batch (the suite calls this twice per rejected operation)."""
    people = [OPERATOR, ACME_ADMIN, BETA_ADMIN, ALICE, BOB, CAROL, RELAYER, MALLORY]
    reg, fwd = contracts.registry(w3, dep), contracts.forwarder(w3, dep)
    keys: list[str] = ["block"]
    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_block_number())  # type: ignore[arg-type]
        for p in people:
            a = p.address
            reads = [
                ("nonce", w3.eth.get_transaction_count(a)),
                ("member", reg.functions.isMember(a)),
                ("frozen", reg.functions.isFrozen(a)),
                ("fwd-nonce", fwd.functions.nonces(a)),
            ]
            for bid, prog in dep.programs.items():
                pts, pas = contracts.points(w3, prog), contracts.passes(w3, prog)
                reads += [
                    (f"{bid}:bal", pts.functions.balanceOf(a)),
                    (f"{bid}:permit-nonce", pts.functions.nonces(a)),
                    (f"{bid}:pass", pas.functions.passOf(a)),
                ]
            for name, req in reads:
                keys.append(f"{name}:{a}")
                batch.add(req)  # type: ignore[arg-type]
        for bid, prog in dep.programs.items():
            pts = contracts.points(w3, prog)
            keys += [f"{bid}:supply", f"{bid}:paused"]
            batch.add(pts.functions.totalSupply())  # type: ignore[arg-type]
            batch.add(pts.functions.paused())  # type: ignore[arg-type]
        results = batch.execute()
    return dict(zip(keys, results, strict=True))


@pytest.fixture
def unchanged(w3: Web3, network: Deployment):  # type: ignore[no-untyped-def]
    """`with unchanged(): ...` asserts that the block runs without touching the chain."""

    @contextmanager
    def check() -> Iterator[None]:
        before = chain_state(w3, network)
        yield
        after = chain_state(w3, network)
        assert after == before, {k: (before[k], after[k]) for k in before if before[k] != after[k]}

    return check


@pytest.fixture
def cli(anvil_node: Anvil, network: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `loyalty …` against the test node and a deployment file of the test network."""
    from typer.testing import CliRunner

    from loyalty_ledger.cli.app import app  # imported here: the CLI's imports are slow

    dep_file = tmp_path / "deployments" / "local.json"
    network.save(dep_file)
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {"LOYALTY_RPC_URL": anvil_node.url, "LOYALTY_DEPLOYMENT_FILE": str(dep_file)}

    def run(*args: str, ok: bool = True) -> Any:
        result = CliRunner().invoke(app, list(args), env=env)
        if ok:
            assert result.exit_code == 0, (result.output, result.stderr, result.exception)
        return result

    run.dep_file = dep_file  # type: ignore[attr-defined]
    return run
