"""One view call the audit plans (what the replay expects, how to read the answer) and the
ABI helpers the planners share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak


def selector(sig: str) -> str:
    return keccak(sig.encode())[:4].hex()


def _addr(a: str) -> str:
    return "0" * 24 + a[2:]


def _uint(n: int) -> str:
    return f"{n:064x}"


@dataclass(frozen=True, slots=True)
class ViewCall:
    """One view call: what the replay expects, and how to read the answer."""

    key: str
    to: str
    data: str
    expected: Any
    parse: Callable[[str], Any]
    reverts: bool = False  # expected to revert (a burned pass)


def _u(h: str) -> int:
    return int(h, 16) if h and h != "0x" else 0


def _b(h: str) -> bool:
    return _u(h) != 0


def _a(h: str) -> str:
    return "0x" + h[-40:] if len(h) >= 42 else "0x" + "0" * 40


def _pass_info(h: str) -> tuple[str, int, int]:
    w = h[2:]
    return ("0x" + w[24:64], int(w[64:128], 16), int(w[128:192], 16))
