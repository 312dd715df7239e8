"""Schemathesis (property-based, from the OpenAPI document) over every operation, as every kind
of caller: no server error, and no status, content type or body the document does not allow.

Bounded: a few examples per operation and caller (positive and negative data), deterministic,
no shrinking, on its own anvil and SQLite (fuzzed writes never touch the other tests' network).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.deps import ApiOptions
from api.main import create_app
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.config import Settings
from loyalty_ledger.store import make_engine

from .conftest import BRAND, OPERATOR_KEY, Env, _make_env

pytestmark = pytest.mark.chain

CONFIG = """
[generation]
with-security-parameters = false

[phases.coverage]
enabled = false

[phases.stateful]
enabled = false
"""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 3  # per operation, mode (positive, negative) and caller: ~53 x 2 x 3 x 6 requests
CALLERS = ("issuer", "viewer", "operator", "auditor", "customer", "anonymous")


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, dict[str, Any]]]:
    """Its own node, network (brands acme and beta), mirror, and headers for every caller."""
    tmp = tmp_path_factory.mktemp("fuzz")
    with Anvil(port=0) as node:
        w3 = connect(node.url)
        op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
        dep = deploy_network(w3, op)
        for bid in ("acme", "beta"):
            add_brand(
                w3,
                op,
                dep,
                brand_id=bid,
                name=bid,
                symbol=bid.upper(),
                admin=BRAND.address,
                tiers=["Silver", "Gold"],
            )
        path: Path = tmp / "deployment.json"
        dep.save(path)
        env = _make_env(f"sqlite:///{tmp / 'fuzz.db'}", path, node, w3, tmp)
        member = env.new_member(points=100)
        env.index()
        headers = {
            "issuer": env.h("acme:issuer"),
            "viewer": env.h("acme:viewer"),
            "operator": env.h("operator"),
            "auditor": env.h("auditor"),
            "customer": env.sign_in(member),
            "anonymous": {},
        }
        yield env, headers


@pytest.fixture(scope="module")
def api_schema(fuzz_env: tuple[Env, dict[str, Any]]) -> Any:
    env, _headers = fuzz_env
    return schemathesis.openapi.from_asgi(
        "/openapi.json", env.client.app, config=SchemathesisConfig.from_str(CONFIG)
    )


def _operations() -> list[str]:
    """Every operation of the document ("GET /perks/{perk_id}"), read from an app with no node."""
    settings = Settings(rpc_url="http://127.0.0.1:9", database_url="sqlite://")
    app = create_app(settings, options=ApiOptions("x", "http://x"), engine=make_engine("sqlite://"))
    spec = app.openapi()
    return [f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item]


@pytest.mark.parametrize("label", _operations())
def test_every_operation_as_every_caller(
    label: str, api_schema: Any, fuzz_env: tuple[Env, dict[str, Any]]
) -> None:
    _env, headers = fuzz_env
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            for caller in CALLERS:
                case.call_and_validate(headers=headers[caller], checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Nothing to make invalid (no parameters, or a path string that takes anything).
            assert mode is GenerationMode.NEGATIVE, label
