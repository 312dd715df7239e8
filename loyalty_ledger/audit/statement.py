"""One member's statement: every entry that touched the member, with running balances."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .decode import ZERO_ADDRESS, Event, Kind, bytes32_text


@dataclass(slots=True)
class Entry:
    block: int
    log_index: int
    tx: str
    brand: str  # brand id, or the contract address before its ProgramRegistered
    contract: str
    kind: str  # issue redeem forfeit transfer-in transfer-out gift-in gift-out recover-in ...
    delta: int = 0
    balance: int | None = None  # running points balance (points entries only)
    counterparty: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    time: int | None = None  # the block's timestamp, when known

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "date": iso_date(self.time),
            "block": self.block,
            "log_index": self.log_index,
            "tx": self.tx,
            "brand": self.brand,
            "contract": self.contract,
            "kind": self.kind,
            "delta": self.delta,
            "balance": self.balance,
            "counterparty": self.counterparty,
            "detail": self.detail,
        }


# Domain event -> (kind label, fields to copy into the entry's detail).
_LABEL = {
    "PointsIssued": ("issue", ("reason", "ref")),
    "PointsRedeemed": ("redeem", ("ref", "by")),
    "PointsForfeited": ("forfeit", ("reason", "by")),
    "PointsGifted": ("gift", ("memo",)),
    "PointsRecovered": ("recover", ()),
}


class StatementBuilder:
    """Feed it every event (in order); it keeps what concerns `member`."""

    def __init__(self, member: str) -> None:
        self.member = member.lower()
        self.entries: list[Entry] = []
        self.balances: dict[str, int] = {}
        self._brand: dict[str, str] = {}
        self._at_epoch: tuple[str, int] | None = None  # (tx, lot) of a TransferAtEpoch

    def add(self, ev: Event) -> None:
        a, m, log = ev.args, self.member, ev.log
        if ev.kind is Kind.REGISTRY and ev.name == "ProgramRegistered":
            self._brand[a["points"]] = bytes32_text(a["brandId"])
            self._brand[a["pass"]] = bytes32_text(a["brandId"])
        if m not in a.values():
            return
        if ev.name == "TransferAtEpoch":  # its Transfer follows: note the lot on that entry
            self._at_epoch = (log.tx_hash, a["epoch"])
            return
        if ev.kind is Kind.EXCHANGE and ev.name == "Swapped":
            self._swap_sides(ev)  # the two sides say it; no line of its own
            return
        brand = (
            "registry" if ev.kind is Kind.REGISTRY else self._brand.get(log.address, log.address)
        )
        if ev.kind is Kind.POINTS and ev.name == "Transfer":
            frm, to, v = a["from"], a["to"], a["value"]
            delta = (v if to == m else 0) - (v if frm == m else 0)
            bal = self.balances[log.address] = self.balances.get(log.address, 0) + delta
            kind = (
                "issue"
                if frm == ZERO_ADDRESS
                else "burn"
                if to == ZERO_ADDRESS
                else "transfer-in"
                if to == m
                else "transfer-out"
            )
            other = None if ZERO_ADDRESS in (frm, to) else (frm if to == m else to)
            at, self._at_epoch = self._at_epoch, None
            self.entries.append(
                Entry(
                    log.block_number,
                    log.log_index,
                    log.tx_hash,
                    brand,
                    log.address,
                    kind,
                    delta,
                    bal,
                    other,
                    {"epoch": at[1]} if at and at[0] == log.tx_hash else {},
                    log.block_time,
                )
            )
            return
        if ev.name in _LABEL and ev.kind is Kind.POINTS:
            label, fields = _LABEL[ev.name]
            for e in reversed(self.entries):  # the Transfer came just before, same tx
                if e.tx != log.tx_hash:
                    break
                if e.contract == log.address and abs(e.delta) == a["amount"] and not e.detail:
                    direction = "-in" if e.delta > 0 else "-out"
                    e.kind = label + (direction if label in ("gift", "recover") else "")
                    said = {f: _text(f, a[f]) for f in fields}
                    e.detail = {f: v for f, v in said.items() if v != ""} or {"event": ev.name}
                    break
            return
        if ev.name in ("Approval", "RoleGranted", "RoleRevoked", "Transfer"):
            if ev.kind is Kind.PASS and ev.name == "Transfer":
                self.entries.append(
                    Entry(
                        log.block_number,
                        log.log_index,
                        log.tx_hash,
                        brand,
                        log.address,
                        "pass-" + ("in" if a["to"] == m else "out"),
                        counterparty=(a["from"] if a["to"] == m else a["to"])
                        if ZERO_ADDRESS not in (a["from"], a["to"])
                        else None,
                        detail={"tokenId": a["tokenId"]},
                        time=log.block_time,
                    )
                )
            return
        self.entries.append(
            Entry(
                log.block_number,
                log.log_index,
                log.tx_hash,
                brand,
                log.address,
                ev.name,
                detail={k: _text(k, v) for k, v in a.items()},
                time=log.block_time,
            )
        )

    def _swap_sides(self, ev: Event) -> None:
        """The redeem and issue just before a Swapped (same tx) are its two sides; they say the
        brands and the rate (the raw ref is only the exchange id)."""
        a = ev.args
        terms = (
            f"{bytes32_text(a['fromBrand'])} → {bytes32_text(a['toBrand'])} "
            f"at {a['rateFrom']}:{a['rateTo']}"
        )
        for e in reversed(self.entries):
            if e.tx != ev.log.tx_hash:
                break
            if e.kind in ("redeem", "issue"):
                e.kind = "swap-out" if e.kind == "redeem" else "swap-in"
                e.detail = {"swap": terms, "exchange_id": a["id"], "exchange": ev.log.address}

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "balances": dict(self.balances),
            "entries": [e.as_dict() for e in self.entries],
        }


def _text(name: str, value: Any) -> Any:
    """bytes32 reasons, refs and brand ids as text; an empty (zero) one as ""."""
    if name in ("reason", "ref", "brandId") and isinstance(value, str):
        return "" if value.startswith("0x") and not value[2:].strip("0") else bytes32_text(value)
    return value


def iso_date(ts: int | None) -> str | None:
    """A block time as `2026-03-01 10:22:05` (UTC); None when the node did not give it."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
