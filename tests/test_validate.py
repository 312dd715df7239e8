"""Input validation, error decoding and settings: pure, no chain."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from loyalty_ledger import errors as E
from loyalty_ledger.chain.revert import ErrorDecoder
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings, get_settings
from loyalty_ledger.validate import (
    ascii_bytes32,
    brand_id_bytes,
    checksum_address,
    parse_amount,
    positive_amount,
    ref_bytes,
    text32,
)

GOOD = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_checksum_address_accepts_checksummed_and_single_case() -> None:
    assert checksum_address(GOOD) == GOOD
    assert checksum_address(GOOD.lower()) == GOOD
    assert checksum_address("0x" + GOOD[2:].upper()) == GOOD


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0x123",
        "70997970C51812dc3A010C7d01b50e0d17dc79C8",
        GOOD + "00",
        "0xZZ" + GOOD[4:],
        None,
        123,
        b"\x00" * 20,
    ],
)
def test_malformed_address_rejected(bad: object) -> None:
    with pytest.raises(E.InvalidAddress):
        checksum_address(bad)


def test_wrong_checksum_rejected() -> None:
    wrong = GOOD[:-2] + "c8"  # the last letter in the wrong case
    assert wrong != GOOD
    with pytest.raises(E.InvalidAddress, match="checksum"):
        checksum_address(wrong)
    assert issubclass(E.InvalidAddress, ValueError)


@pytest.mark.parametrize(
    "bad", [0, -1, -100, 1.0, 2.5, Decimal("3"), "5", True, False, None, 2**256]
)
def test_bad_amounts_rejected(bad: object) -> None:
    with pytest.raises(E.InvalidAmount):
        positive_amount(bad)


def test_good_amounts() -> None:
    assert positive_amount(1) == 1
    assert positive_amount(2**256 - 1) == 2**256 - 1
    assert parse_amount(" 25 ") == 25
    assert parse_amount("1_000") == 1000


@pytest.mark.parametrize("text", ["0", "-3", "2.5", "1e3", "abc", "", "nan"])
def test_parse_amount_rejects(text: str) -> None:
    with pytest.raises(E.InvalidAmount):
        parse_amount(text)


def test_bytes32_codes() -> None:
    assert ascii_bytes32("purchase") == b"purchase" + b"\0" * 24
    assert ref_bytes("order-1") == b"order-1".ljust(32, b"\0")
    long_ref = "x" * 40
    assert ref_bytes(long_ref) == keccak(long_ref.encode())
    assert brand_id_bytes("acme") == b"acme".ljust(32, b"\0")
    for bad in ("", "a" * 33, "ünï", "has space"):
        with pytest.raises(E.InvalidInput):
            brand_id_bytes(bad)
    with pytest.raises(E.InvalidInput):
        ascii_bytes32("é")


def test_text32_is_the_one_text_form_of_a_bytes32() -> None:
    def hx(raw: bytes) -> str:
        return "0x" + raw.hex()

    ref = "0x9aC4dB2f7E15a6B3cD8e9F01aB23cD"  # a checksummed address cut to 32 characters
    assert text32(hx(ref_bytes(ref))) == ref  # hex-looking text is text, case kept
    assert text32(hx(ref_bytes("order-1"))) == "order-1"
    digest = keccak(b"x" * 40)
    assert text32(hx(digest).upper().replace("0X", "0x")) == hx(digest)  # hashes: lower hex
    assert text32(hx(b"\0" * 32)) == "0x" + "00" * 32
    assert text32(hx(b"a\0b".ljust(32, b"\0"))) == hx(b"a\0b".ljust(32, b"\0"))
    assert text32(hx(b"tab\t".ljust(32, b"\0"))).startswith("0x74")  # not printable


def _err(sig: str, types: list[str], args: list[object]) -> bytes:
    return keccak(text=sig)[:4] + encode(types, args)


@pytest.mark.parametrize(
    ("sig", "types", "args", "cls"),
    [
        (
            "ERC20InsufficientBalance(address,uint256,uint256)",
            ["address", "uint256", "uint256"],
            [GOOD, 5, 10],
            E.InsufficientPoints,
        ),
        (
            "AccessControlUnauthorizedAccount(address,bytes32)",
            ["address", "bytes32"],
            [GOOD, keccak(text="ISSUER_ROLE")],
            E.Unauthorized,
        ),
        ("EnforcedPause()", [], [], E.Paused),
        ("ERC2771ForwarderExpiredRequest(uint48)", ["uint48"], [7], E.SignatureExpired),
        (
            "ERC2771ForwarderInvalidSigner(address,address)",
            ["address", "address"],
            [GOOD, GOOD],
            E.InvalidSignature,
        ),
        ("ERC2612ExpiredSignature(uint256)", ["uint256"], [7], E.SignatureExpired),
        (
            "ERC2612InvalidSigner(address,address)",
            ["address", "address"],
            [GOOD, GOOD],
            E.InvalidSignature,
        ),
        ("ERC721NonexistentToken(uint256)", ["uint256"], [9], E.NoPass),
        ("Error(string)", ["string"], ["boom"], E.ContractRevert),
    ],
)
def test_decoder_builtin_errors(
    sig: str, types: list[str], args: list[object], cls: type[E.LedgerError]
) -> None:
    err = ErrorDecoder().decode(_err(sig, types, args))
    assert type(err) is cls


def test_decoder_from_abi_and_args() -> None:
    abi = [
        {
            "type": "error",
            "name": "PointsNotAMember",
            "inputs": [{"name": "account", "type": "address"}],
        }
    ]
    err = ErrorDecoder([abi]).decode(
        "0x" + _err("PointsNotAMember(address)", ["address"], [GOOD]).hex()
    )
    assert isinstance(err, E.NotAMember)
    assert err.account == GOOD
    assert err.code == "not_a_member"


def test_decoder_unknown_and_empty() -> None:
    assert isinstance(ErrorDecoder().decode(b"\x12\x34\x56\x78"), E.ContractRevert)
    assert isinstance(ErrorDecoder().decode(None), E.ContractRevert)
    assert isinstance(ErrorDecoder().decode("0x"), E.ContractRevert)


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    s = Settings()
    assert s.rpc_url == "http://127.0.0.1:8545"
    assert s.confirmations == 0
    assert s.deployment_file == Path("deployments/local.json")
    assert s.database_url == "sqlite:///.data/ledger.db"
    assert s.api_port == 8000
    assert s.operator_key is not None
    assert s.operator_key.get_secret_value() == ANVIL_DEV_KEYS[0]
    assert ANVIL_DEV_KEYS[0] not in repr(s)  # SecretStr hides it


def test_settings_env_and_remote_has_no_dev_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOYALTY_RPC_URL", "https://rpc.example.org")
    monkeypatch.setenv("LOYALTY_CONFIRMATIONS", "3")
    s = get_settings()
    assert s.confirmations == 3
    assert s.operator_key is None  # the public dev key is a local default only
    with pytest.raises(E.ConfigError):
        s.key("operator")
    assert get_settings(rpc_url="http://localhost:9999").key("relayer") == ANVIL_DEV_KEYS[0]


@given(st.integers(min_value=1, max_value=2**256 - 1))
def test_property_positive_ints_round_trip(n: int) -> None:
    assert positive_amount(n) == n
    assert parse_amount(str(n)) == n


@given(st.integers(max_value=0))
def test_property_non_positive_rejected(n: int) -> None:
    with pytest.raises(E.InvalidAmount):
        positive_amount(n)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
def test_property_refs_are_32_bytes(ref: str) -> None:
    raw = ref_bytes(ref)
    assert len(raw) == 32
    if len(ref) <= 32:
        assert raw.rstrip(b"\0") == ref.encode().rstrip(b"\0")


@given(st.binary(min_size=20, max_size=20))
def test_property_any_case_of_a_checksummed_address(raw: bytes) -> None:
    from eth_utils import to_checksum_address

    good = to_checksum_address(raw)
    assert checksum_address(good) == good
    assert checksum_address(good.lower()) == good


@pytest.mark.parametrize("name", ["Gold", "Café Ngon", "Vàng ☕", "A B"])
def test_printable_text_accepts_names(name: str) -> None:
    from loyalty_ledger.validate import printable_text

    assert printable_text(name, "a name") == name


@pytest.mark.parametrize(
    "name", ["", "Gold\n", "Gold\x07", "\x1b[31mRed", "a\u200bb", "a\u2028b", 5]
)
def test_printable_text_rejects_control_characters(name: object) -> None:
    from loyalty_ledger.validate import printable_text

    with pytest.raises(E.InvalidInput):
        printable_text(name, "a name")
