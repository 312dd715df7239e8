"""The pure replay core: decoded events in log order -> `LedgerState`.

No I/O here. Value comes from the ERC-20/721 Transfer events (what moved); the domain events
(PointsIssued, PointsForfeited, PassIssued, ...) give reasons, tiers and expiries and feed the
liability totals that the invariants compare with the Transfers.

Point expiry (`replay_expiry`) keeps each program's lots in the `expiry.Book` model; the
coalition exchange (`replay_exchange`) pairs each swap's two sides with its Swapped.

Rules checked while replaying (each breach is a `Finding` with check "invariant"):
  * a credit (points or pass) goes only to a registered, unfrozen member, unless the same
    transaction is a recorded recovery (PointsRecovered / PassRecovered / MemberRecovered);
  * a frozen account is debited only by a forfeiture or a recovery in the same transaction;
  * a soulbound pass (program not transferable) moves between two wallets only by recovery;
  * no balance goes negative; a tier change starts from the tier the replay knows;
  * no account spends an expired point (every debit is covered by live lots at its time);
  * every swap side has its Swapped and every swap keeps to its exchange's terms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .decode import ZERO_ADDRESS, Event, Kind, bytes32_text
from .replay_exchange import ExchangeRules
from .replay_expiry import ExpiryRules
from .replay_pass import PassRules
from .state import (
    Finding,
    LedgerState,
    PassBook,
    PointsBook,
    Program,
    Recovery,
)

_Excuse = tuple[str, str, object]  # (rule, contract, subject)


class Replayer(PassRules, ExpiryRules, ExchangeRules):
    """Applies events one by one (with their block times, for expiry); call `finish()` after
    the last one."""

    def __init__(self, registry: str) -> None:
        self.state = LedgerState(registry=registry.lower())
        self._tx = ""
        self._sides = []
        self._last_time: int | None = None
        self._pending: list[tuple[_Excuse, Finding]] = []
        self._excused: set[_Excuse] = set()
        self._handlers: dict[tuple[Kind, str], Callable[[Event], None]] = {}
        for name in dir(self):
            if name.startswith("_on_"):
                kind, ev = name[4:].split("_", 1)
                self._handlers[(Kind(kind), ev)] = getattr(self, name)

    # -- driving --------------------------------------------------------------------------

    def apply_all(self, events: Iterable[Event]) -> LedgerState:
        for ev in events:
            self.apply(ev)
        return self.state

    def apply(self, ev: Event) -> None:
        log = ev.log
        if log.tx_hash != self._tx:
            self._flush()
            self._tx = log.tx_hash
        st = self.state
        st.events += 1
        st.block = log.block_number
        if log.block_time is not None:
            self._last_time = log.block_time
        h = self._handlers.get((ev.kind, ev.name))
        if h is not None:
            h(ev)
        elif ev.name in ("RoleGranted", "RoleRevoked"):
            self._role(ev)
        elif ev.name == "RoleAdminChanged":
            st.role_admin[(log.address, ev.args["role"])] = ev.args["newAdminRole"]
        elif ev.name == "Unknown":
            st.unknown += 1
            st.findings.append(
                Finding(
                    "invariant",
                    "unknown-event",
                    f"{log.block_number}:{log.log_index}",
                    f"log of {log.address} with topic {log.topics[0] if log.topics else '-'} "
                    "matches no known event",
                    severity="warning",
                )
            )

    def snapshot(self) -> str:
        """The state so far (transactions closed), as a checkpoint's canonical text."""
        from .snapshot import dump_state

        self._flush()
        self._tx = ""
        return dump_state(self.state, self._last_time)

    def resume(self, state: LedgerState, last_time: int | None) -> None:
        """Continue from a checkpoint's state (`snapshot.load_state`)."""
        self.state, self._last_time = state, last_time

    def finish(self, block: int | None = None, timestamp: int | None = None) -> LedgerState:
        """Close the replay as of `block` at `timestamp` (default: the last event's time):
        balances become what `balanceOf` answers then, expired lots are totalled."""
        self._flush()
        self._tx = ""
        if block is not None:
            self.state.block = block
        self.state.block_time = self._last_time if timestamp is None else timestamp
        for book in self.state.points.values():
            self._close_lots(book, self.state.block_time)
        return self.state

    def _flush(self) -> None:
        self._flush_expiry()
        self._flush_exchange()
        for excuse, finding in self._pending:
            if excuse not in self._excused:
                self.state.findings.append(finding)
        self._pending.clear()
        self._excused.clear()

    def _expect(self, rule: str, contract: str, subject: object, finding: Finding) -> None:
        self._pending.append(((rule, contract, subject), finding))

    def _excuse(self, rule: str, contract: str, subject: object) -> None:
        self._excused.add((rule, contract, subject))

    def _breach(self, code: str, ev: Event, detail: str) -> Finding:
        log = ev.log
        return Finding(
            "invariant", code, f"{log.block_number}:{log.log_index}:{log.tx_hash}", detail
        )

    def _check_credit(self, ev: Event, to: str) -> None:
        reg = self.state.members
        if to not in reg.members or to in reg.frozen:
            why = "frozen" if to in reg.frozen else "not a registered member"
            self._expect(
                "credit",
                ev.log.address,
                to,
                self._breach(
                    "credit-to-non-member", ev, f"{ev.log.address} credited {to}, which is {why}"
                ),
            )

    def _check_debit(self, ev: Event, frm: str) -> None:
        if frm in self.state.members.frozen:
            self._expect(
                "debit",
                ev.log.address,
                frm,
                self._breach(
                    "debit-of-frozen", ev, f"{ev.log.address} debited frozen account {frm}"
                ),
            )

    # -- books ----------------------------------------------------------------------------

    def _points(self, address: str) -> PointsBook:
        book = self.state.points.get(address)
        if book is None:
            book = self.state.points[address] = PointsBook(brand_id="", address=address)
        return book

    def _passes(self, address: str) -> PassBook:
        book = self.state.passes.get(address)
        if book is None:
            book = self.state.passes[address] = PassBook(brand_id="", address=address)
        return book

    def _role(self, ev: Event) -> None:
        key = (ev.log.address, ev.args["role"])
        holders = self.state.roles.setdefault(key, set())
        self.state.ever_role.setdefault(key, set()).add(ev.args["account"])
        if ev.name == "RoleGranted":
            holders.add(ev.args["account"])
        else:
            holders.discard(ev.args["account"])

    # -- registry -------------------------------------------------------------------------

    def _on_registry_ProgramRegistered(self, ev: Event) -> None:
        a = ev.args
        prog = Program(
            a["brandId"], a["name"], a["points"], a["pass"], a["admin"], ev.log.block_number
        )
        self.state.programs[prog.brand_id] = prog
        self._points(prog.points).brand_id = prog.brand_id
        self._passes(prog.pass_).brand_id = prog.brand_id

    def _on_registry_MemberRegistered(self, ev: Event) -> None:
        reg = self.state.members
        reg.events += 1
        reg.members.add(ev.args["member"])
        reg.seen.add(ev.args["member"])

    def _on_registry_MemberDeregistered(self, ev: Event) -> None:
        self.state.members.events += 1
        self.state.members.members.discard(ev.args["member"])

    def _on_registry_MemberFrozen(self, ev: Event) -> None:
        self.state.members.events += 1
        self.state.members.frozen.add(ev.args["member"])

    def _on_registry_MemberUnfrozen(self, ev: Event) -> None:
        self.state.members.events += 1
        self.state.members.frozen.discard(ev.args["member"])

    def _on_registry_MemberRecovered(self, ev: Event) -> None:
        a, reg = ev.args, self.state.members
        reg.events += 1
        reg.recoveries.append(
            Recovery(a["lostWallet"], a["newWallet"], a["by"], ev.log.block_number, ev.log.tx_hash)
        )
        reg.recovered_to[a["lostWallet"]] = a["newWallet"]
        reg.members.discard(a["lostWallet"])
        reg.frozen.discard(a["lostWallet"])  # the registry deletes the lost wallet's record
        for book in self.state.points.values():
            self._excuse("credit", book.address, a["newWallet"])
            self._excuse("debit", book.address, a["lostWallet"])
        for pbook in self.state.passes.values():
            self._excuse("credit", pbook.address, a["newWallet"])
            self._excuse("debit", pbook.address, a["lostWallet"])

    # -- points ---------------------------------------------------------------------------

    def _on_points_Transfer(self, ev: Event) -> None:
        a = ev.args
        book = self._points(ev.log.address)
        book.events += 1
        frm, to, v = a["from"], a["to"], a["value"]
        mint, burn = frm == ZERO_ADDRESS, to == ZERO_ADDRESS
        self._lots_transfer(book, ev, frm, to, v, mint, burn)
        held = book.held
        if mint:
            book.total_supply += v
            book.minted += v
        else:
            left = held.get(frm, 0) - v
            if left < 0:
                self.state.findings.append(
                    self._breach(
                        "negative-balance", ev, f"{frm} would hold {left} points of {book.address}"
                    )
                )
            held[frm] = left
            self._check_debit(ev, frm)
        if burn:
            book.total_supply -= v
            book.burned += v
        else:
            held[to] = held.get(to, 0) + v
            self._check_credit(ev, to)

    def _on_points_PointsIssued(self, ev: Event) -> None:
        book, a = self._points(ev.log.address), ev.args
        book.events += 1
        book.issued += a["amount"]
        if self._swap_in(book, ev):
            return
        r = bytes32_text(a["reason"])
        book.issued_by_reason[r] = book.issued_by_reason.get(r, 0) + a["amount"]

    def _on_points_PointsRedeemed(self, ev: Event) -> None:
        book = self._points(ev.log.address)
        book.events += 1
        book.redeemed += ev.args["amount"]
        self._swap_out(book, ev)

    def _on_points_PointsForfeited(self, ev: Event) -> None:
        book, a = self._points(ev.log.address), ev.args
        book.events += 1
        book.forfeited += a["amount"]
        r = bytes32_text(a["reason"])
        book.forfeited_by_reason[r] = book.forfeited_by_reason.get(r, 0) + a["amount"]
        self._excuse("debit", book.address, a["member"])

    def _on_points_PointsGifted(self, ev: Event) -> None:
        book = self._points(ev.log.address)
        book.events += 1
        book.gifted += ev.args["amount"]

    def _on_points_PointsRecovered(self, ev: Event) -> None:
        book, a = self._points(ev.log.address), ev.args
        book.events += 1
        book.recovered += a["amount"]
        self._excuse("credit", book.address, a["newWallet"])
        self._excuse("debit", book.address, a["lostWallet"])

    def _on_points_Paused(self, ev: Event) -> None:
        self._points(ev.log.address).paused = True

    def _on_points_Unpaused(self, ev: Event) -> None:
        self._points(ev.log.address).paused = False
