"""Shared fixtures: one anvil per session on a free port, a deployed network with two brands,
and an evm_snapshot/evm_revert around every chain test so each starts from the same state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from loyalty_ledger import contracts, ledger
from loyalty_ledger.anvil import Anvil
from loyalty_ledger.artifacts import CONTRACTS, artifact_path, error_decoder
from loyalty_ledger.chain import Sender, connect
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.deploy import Deployment, add_brand, deploy_network

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
    add_brand(w3, op, dep, brand_id="acme", name="Acme Points", symbol="ACME",
              admin=ACME_ADMIN.address, tiers=ACME_TIERS)
    add_brand(w3, op, dep, brand_id="beta", name="Beta Points", symbol="BETA",
              admin=BETA_ADMIN.address, tiers=["Basic", "Plus"])
    ledger.register_members(sender=op, deployment=dep, members=[ALICE.address, BOB.address])
    acme = Sender(w3, ACME_ADMIN, decoder=error_decoder())
    ledger.issue_points(sender=acme, program=dep.program("acme"), member=ALICE.address,
                        amount=ALICE_START, reason="signup", ref="welcome")
    return dep


@pytest.fixture(autouse=True)
def _chain_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Chain tests run between evm_snapshot and evm_revert (anvil-only methods: tests only)."""
    if request.node.get_closest_marker("chain") is None:
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
    """Everything a failed operation must leave alone: head, nonces, balances, members, passes."""
    people = [OPERATOR, ACME_ADMIN, BETA_ADMIN, ALICE, BOB, CAROL, RELAYER, MALLORY]
    reg = contracts.registry(w3, dep)
    fwd = contracts.forwarder(w3, dep)
    state: dict[str, Any] = {"block": w3.eth.block_number}
    for p in people:
        a = p.address
        state[f"nonce:{a}"] = w3.eth.get_transaction_count(a)
        state[f"member:{a}"] = (reg.functions.isMember(a).call(), reg.functions.isFrozen(a).call())
        state[f"fwd-nonce:{a}"] = fwd.functions.nonces(a).call()
        for bid, prog in dep.programs.items():
            pts, pas = contracts.points(w3, prog), contracts.passes(w3, prog)
            state[f"{bid}:bal:{a}"] = pts.functions.balanceOf(a).call()
            state[f"{bid}:permit-nonce:{a}"] = pts.functions.nonces(a).call()
            state[f"{bid}:pass:{a}"] = pas.functions.passOf(a).call()
    for bid, prog in dep.programs.items():
        state[f"{bid}:supply"] = contracts.points(w3, prog).functions.totalSupply().call()
        state[f"{bid}:paused"] = contracts.points(w3, prog).functions.paused().call()
    return state


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
