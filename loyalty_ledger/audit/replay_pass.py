"""Replay rules of the membership passes (ERC-721 + IMembershipPass events), mixed into
`replay.Replayer`: owners from Transfer, tier and expiry from the domain events, `locked` from
Locked/Unlocked and TransferabilityChanged; a soulbound pass that moves outside a recovery is a
breach."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .decode import ZERO_ADDRESS, Event
from .state import Finding, LedgerState, PassBook, PassRecord


class PassRules:
    """The `_on_pass_*` handlers; `Replayer` provides the state and the rule helpers."""

    if TYPE_CHECKING:
        state: LedgerState

        def _passes(self, address: str) -> PassBook: ...
        def _check_credit(self, ev: Event, to: str) -> None: ...
        def _check_debit(self, ev: Event, frm: str) -> None: ...
        def _expect(self, rule: str, contract: str, subject: object, finding: Finding) -> None: ...
        def _excuse(self, rule: str, contract: str, subject: object) -> None: ...
        def _breach(self, code: str, ev: Event, detail: str) -> Finding: ...

    # -- passes ---------------------------------------------------------------------------

    def _record(self, book: PassBook, token_id: int, owner: str, block: int) -> PassRecord:
        rec = book.passes.get(token_id)
        if rec is None:
            rec = book.passes[token_id] = PassRecord(
                token_id, owner, 0, 0, not book.transferable, block
            )
        return rec

    def _on_pass_Transfer(self, ev: Event) -> None:
        a = ev.args
        book = self._passes(ev.log.address)
        book.events += 1
        frm, to, tid = a["from"], a["to"], a["tokenId"]
        if frm != ZERO_ADDRESS:
            if book.holder.get(frm) == tid:
                del book.holder[frm]
            self._check_debit(ev, frm)
        if to == ZERO_ADDRESS:
            book.passes.pop(tid, None)
            book.revoked.add(tid)
            return
        rec = self._record(book, tid, to, ev.log.block_number)
        rec.owner = to
        book.holder[to] = tid
        book.ever_owners.add(to)
        self._check_credit(ev, to)
        if frm != ZERO_ADDRESS and not book.transferable:
            self._expect(
                "soulbound",
                book.address,
                tid,
                self._breach(
                    "soulbound-moved",
                    ev,
                    f"soulbound pass {tid} of {book.address} moved {frm} -> {to}",
                ),
            )

    def _on_pass_PassIssued(self, ev: Event) -> None:
        book, a = self._passes(ev.log.address), ev.args
        book.events += 1
        rec = self._record(book, a["tokenId"], a["member"], ev.log.block_number)
        rec.tier, rec.expires_at = a["tier"], a["expiresAt"]

    def _on_pass_PassTierChanged(self, ev: Event) -> None:
        book, a = self._passes(ev.log.address), ev.args
        book.events += 1
        rec = self._record(book, a["tokenId"], a["member"], ev.log.block_number)
        if rec.tier != a["fromTier"]:
            self.state.findings.append(
                self._breach(
                    "tier-mismatch",
                    ev,
                    f"pass {a['tokenId']} changed from tier {a['fromTier']} "
                    f"but the replay had tier {rec.tier}",
                )
            )
        rec.tier = a["toTier"]

    def _on_pass_PassRenewed(self, ev: Event) -> None:
        book, a = self._passes(ev.log.address), ev.args
        book.events += 1
        self._record(book, a["tokenId"], a["member"], ev.log.block_number).expires_at = a[
            "expiresAt"
        ]

    def _on_pass_PassRevoked(self, ev: Event) -> None:
        self._passes(ev.log.address).events += 1

    def _on_pass_PassRecovered(self, ev: Event) -> None:
        book, a = self._passes(ev.log.address), ev.args
        book.events += 1
        self._excuse("soulbound", book.address, a["tokenId"])
        self._excuse("credit", book.address, a["newWallet"])
        self._excuse("debit", book.address, a["lostWallet"])

    def _on_pass_TierAdded(self, ev: Event) -> None:
        book = self._passes(ev.log.address)
        book.events += 1
        book.tiers[ev.args["tier"]] = ev.args["name"]

    def _on_pass_TransferabilityChanged(self, ev: Event) -> None:
        book = self._passes(ev.log.address)
        book.events += 1
        book.transferable = ev.args["transferable"]
        for rec in book.passes.values():
            rec.locked = not book.transferable

    def _on_pass_Locked(self, ev: Event) -> None:
        rec = self._passes(ev.log.address).passes.get(ev.args["tokenId"])
        if rec is not None:
            rec.locked = True

    def _on_pass_Unlocked(self, ev: Event) -> None:
        rec = self._passes(ev.log.address).passes.get(ev.args["tokenId"])
        if rec is not None:
            rec.locked = False
