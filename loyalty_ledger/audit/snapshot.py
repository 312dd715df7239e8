"""The replay's state as canonical JSON, and back (no pickle: a foreign file only ever builds
the audit's own plain data classes).

Encoding: a data class is `{"@": name, field: value, …}` (its fields in declaration order), a
set is `{"@set": sorted items}`, a tuple `{"@tuple": items}`, a dict whose keys are not all
strings `{"@map": [[key, value], …]}` (insertion order kept, which the replay's iteration
order depends on); str, int, bool and None are themselves. `state_hash` is the keccak-256 of
the encoded text exactly as stored.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from eth_hash.auto import keccak

from loyalty_ledger.errors import LedgerValueError
from loyalty_ledger.expiry import Book, Clock, Holding

from . import state as st

_STATE = "ExchangeBook Finding LedgerState PassBook PassRecord PointsBook Policy Program Recovery"
_STATE += " RegistryState"
_CLASSES: dict[str, type] = {c.__name__: c for c in (Book, Clock, Holding)} | {
    name: getattr(st, name) for name in _STATE.split()
}


class SnapshotUnreadable(LedgerValueError):
    """A snapshot's text is not a state this auditor wrote."""

    code = "audit_snapshot_unreadable"


def _enc(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | str):
        return v
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        name = type(v).__name__
        if name not in _CLASSES:
            raise TypeError(f"{name} is not part of the audit's state")
        out: dict[str, Any] = {"@": name}
        for f in dataclasses.fields(v):
            out[f.name] = _enc(getattr(v, f.name))
        return out
    if isinstance(v, set | frozenset):
        return {"@set": sorted((_enc(x) for x in v), key=_order)}
    if isinstance(v, tuple):
        return {"@tuple": [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("@") for k in v):
            return {k: _enc(x) for k, x in v.items()}
        return {"@map": [[_enc(k), _enc(x)] for k, x in v.items()]}
    raise TypeError(f"cannot snapshot a {type(v).__name__}")


def _order(x: Any) -> str:
    return json.dumps(x, sort_keys=True)


def _dec(v: Any) -> Any:
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "@" in v:
        cls = _CLASSES.get(str(v["@"]))
        if cls is None:
            raise SnapshotUnreadable(f"unknown class {v['@']!r} in the snapshot")
        names = {f.name for f in dataclasses.fields(cls)}
        args = {k: _dec(x) for k, x in v.items() if k != "@"}
        if set(args) != names:
            raise SnapshotUnreadable(f"{v['@']} in the snapshot has other fields than expected")
        return cls(**args)
    if "@set" in v:
        return {_dec(x) for x in v["@set"]}
    if "@tuple" in v:
        return tuple(_dec(x) for x in v["@tuple"])
    if "@map" in v:
        return {_dec(k): _dec(x) for k, x in v["@map"]}
    return {k: _dec(x) for k, x in v.items()}


def dump_state(state: st.LedgerState, last_time: int | None) -> str:
    """The replay's state (before `finish`) and its last event time, as canonical JSON text."""
    return json.dumps(
        {"state": _enc(state), "last_time": last_time}, separators=(",", ":"), sort_keys=False
    )


def load_state(text: str) -> tuple[st.LedgerState, int | None]:
    try:
        raw = json.loads(text)
        state = _dec(raw["state"])
    except (ValueError, KeyError, TypeError) as err:
        raise SnapshotUnreadable(f"the snapshot's state does not decode: {err}") from err
    if not isinstance(state, st.LedgerState):
        raise SnapshotUnreadable("the snapshot holds no ledger state")
    last = raw.get("last_time")
    return state, int(last) if last is not None else None


def state_hash(text: str) -> str:
    return "0x" + keccak(text.encode()).hex()
