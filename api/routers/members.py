"""Members without a wallet: their account and member card, joining a brand, gifts and perk
redemptions signed with their managed key, vouchers, and leaving custody (export, move)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from loyalty_ledger import ledger
from loyalty_ledger.auth import accounts, managed
from loyalty_ledger.auth.principal import FRESH_AUTH, Principal, StepUpRequired
from loyalty_ledger.chain import contracts
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.ledger import consent, outbox
from loyalty_ledger.ledger.outbox import enqueue_call
from loyalty_ledger.programme import perks, vouchers
from loyalty_ledger.programme.rules.registration import on_registration

from ..deps import AppState, CustomerDep, StateDep
from ..member_schemas import GiftIn, MoveIn
from . import operations

router = APIRouter(prefix="/members/me", tags=["members"])
E404: dict[int | str, dict[str, str]] = {
    404: {"description": "No member account, or no such member"}
}
PreferHeader = Annotated[str | None, Header(description="RFC 7240, e.g. wait=10 (seconds)")]
VOUCHER_WAIT = 10.0  # seconds a redemption waits for its burn without a Prefer header

log = logging.getLogger(__name__)


def _me(state: AppState, customer: Principal) -> dict[str, Any]:
    account = accounts.by_address(state.engine, customer.address or "")
    if account is None:
        raise accounts.UnknownMember("this wallet signs in with Ethereum: it has no member account")
    return account


def _fresh(customer: Principal, what: str) -> None:
    if customer.auth_at is None or time.time() - customer.auth_at > FRESH_AUTH:
        raise StepUpRequired(f"{what} needs a fresh passkey or email code (POST /auth/step-up)")


def qr_svg(text: str) -> str:
    """A QR code of `text` as an SVG data URI (segno)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=6, border=2))


@router.get("", responses=E404)
def me(customer: CustomerDep, state: StateDep) -> dict[str, Any]:
    """The member's account and member card (a QR of the member id that a till scans)."""
    account = _me(state, customer)
    reg = contracts.registry(state.w3, state.deployment)
    registered = bool(reg.functions.isMember(account["address"]).call())
    return {
        **accounts.public(account),
        "registered": registered,
        "card_qr": qr_svg(account["member_id"]),
    }


def welcome_hook(state: AppState, brand_id: str, address: str) -> None:
    """A member joined `brand_id` on the wallet page (registration mined): the brand's welcome
    bonus (its `action:signup` rules), paid once whatever the number of calls."""
    if state.deployment is None or brand_id not in state.deployment.programs:
        return
    try:
        on_registration(
            engine=state.engine,
            sender=state.brand_writer(brand_id),
            program=state.deployment.program(brand_id),
            member=address,
            queued=state.settings.outbox,
        )
    except LedgerError as exc:  # the member is in; the bonus is retried on their next join
        log.warning("welcome bonus of %s at %s not paid: %s", address, brand_id, exc)


def _queue_registration(state: AppState, address: str) -> int:
    """The operator's registration of `address`, queued in the outbox; the intent id."""
    operator = state.sender("operator")
    state.submit_for(operator)
    reg = contracts.registry(state.w3, state.deployment)
    with state.engine.begin() as conn:
        return enqueue_call(
            conn,
            sender=operator,
            call=reg.functions.register(address),
            idem_key=f"register:{address}:{uuid.uuid4().hex[:8]}",
        )


@router.post("/join/{brand_id}", responses={202: {"description": "Queued."}})
def join(brand_id: str, customer: CustomerDep, state: StateDep, prefer: PreferHeader = None) -> Any:
    """Join a brand: registered on the network by the operator (through the outbox), then the
    brand's welcome bonus applies."""
    state.deployment.program(brand_id)
    address = customer.address or ""
    reg = contracts.registry(state.w3, state.deployment)
    body = {"brand_id": brand_id, "address": address}
    if reg.functions.isMember(address).call():
        welcome_hook(state, brand_id, address)
        return {**body, "status": "member"}
    operator = state.sender("operator")
    if not state.settings.outbox:
        ledger.register_member(sender=operator, deployment=state.deployment, member=address)
        welcome_hook(state, brand_id, address)
        return {**body, "status": "confirmed"}
    intent = _queue_registration(state, address)
    out = operations.accepted(state, body, intent, prefer)
    if isinstance(out, dict) and out.get("status") == "confirmed":
        welcome_hook(state, brand_id, address)
    return out


def _to_address(state: AppState, to: str) -> str:
    return to if to.startswith("0x") else accounts.address_of(state.engine, to)


def _relay(
    state: AppState,
    message: dict[str, Any],
    signature: str,
    body: dict[str, Any],
    prefer: str | None,
) -> Any:
    request = consent.forward_request(message, signature)
    relayer = state.sender("relayer")
    if not state.settings.outbox:
        r = managed.relay_now(relayer=relayer, deployment=state.deployment, request=request)
        return {**body, "status": "confirmed", "tx_hash": r.tx_hash, "block_number": r.block_number}
    state.submit_for(relayer)
    intent = managed.queue_forward(
        engine=state.engine, relayer=relayer, deployment=state.deployment, request=request
    )
    return operations.accepted(state, body, intent, prefer)


@router.post("/gifts", responses={202: {"description": "Queued."}, **E404})
def gift(body: GiftIn, customer: CustomerDep, state: StateDep, prefer: PreferHeader = None) -> Any:
    """Gift points to a friend (an address or a member id), signed with your managed key;
    above the brand's amount it needs a fresh passkey or email code."""
    program = state.deployment.program(body.brand_id)
    limit = vouchers.settings_of(state.engine, body.brand_id, state.settings.gift_step_up_above)
    if body.amount > limit["step_up_above"]:
        _fresh(customer, f"a gift above {limit['step_up_above']} points")
    acct = accounts.signer(engine=state.engine, kek=state.kek, address=customer.address or "")
    to = _to_address(state, body.to)
    call = ledger.gift_call(w3=state.w3, program=program, to=to, amount=body.amount, memo=body.memo)
    message, signature = managed.signed_forward(
        w3=state.w3, deployment=state.deployment, acct=acct, call=call
    )
    out = {"brand_id": body.brand_id, "to": to, "amount": body.amount, "memo": body.memo}
    return _relay(state, message, signature, out, prefer)


@router.post("/perks/{perk_id}/redeem")
def redeem(
    perk_id: int,
    customer: CustomerDep,
    state: StateDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    prefer: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Redeem a perk with your managed key's consent: the points burn (queued in the outbox;
    waited for up to `Prefer: wait=N`, 10 s without the header), and once burned you get a
    voucher (a short code and its QR) to show at the brand's till."""
    perk = perks.get_perk(engine=state.engine, perk_id=perk_id)
    acct = accounts.signer(engine=state.engine, kek=state.kek, address=customer.address or "")
    program = state.deployment.program(perk["brand_id"])
    forward = None
    if perk["point_cost"]:
        call = perks.redeem_call(w3=state.w3, program=program, perk=perk)
        forward = managed.signed_forward(
            w3=state.w3, deployment=state.deployment, acct=acct, call=call
        )
    out = perks.redeem(
        engine=state.engine,
        w3=state.w3,
        deployment=state.deployment,
        perk_id=perk_id,
        member=acct.address,
        idempotency_key=idempotency_key or f"voucher:{uuid.uuid4().hex}",
        relayer=state.sender("relayer"),
        forward=forward,
    )
    redemption = out.redemption
    if redemption.get("status") == "pending" and out.intent_id is not None:
        wait = operations.prefer_wait(prefer) if prefer else VOUCHER_WAIT
        outbox.wait(state.engine, out.intent_id, wait)
        redemption = perks.get_redemption(engine=state.engine, redemption_id=redemption["id"])
    if redemption.get("status") != "confirmed":
        return {"redemption": redemption, "voucher": None}
    ttl = vouchers.settings_of(state.engine, perk["brand_id"], state.settings.gift_step_up_above)[
        "voucher_ttl"
    ]
    v = vouchers.issue(engine=state.engine, redemption=redemption, ttl=ttl)
    return {"redemption": redemption, "voucher": {**v, "qr": qr_svg(v["code"])}}


@router.get("/vouchers")
def my_vouchers(customer: CustomerDep, state: StateDep) -> list[dict[str, Any]]:
    """Your vouchers, newest first: open, used and expired."""
    return [
        {**v, "qr": qr_svg(v["code"])}
        for v in vouchers.of_member(state.engine, customer.address or "")
    ]


@router.get("/vouchers/{code}")
def my_voucher(code: str, customer: CustomerDep, state: StateDep) -> dict[str, Any]:
    """One of your vouchers (another member's is not found)."""
    row = vouchers.get(state.engine, code)
    if row["member"] != customer.address:
        raise vouchers.UnknownVoucher(f"no voucher {code} of yours")
    v = vouchers.view(state.engine, row)
    return {**v, "qr": qr_svg(v["code"])}


@router.post("/key/export")
def export_key(customer: CustomerDep, state: StateDep) -> Any:
    """Your managed key, to import into a wallet of your own (needs a fresh passkey or email
    code; the key stays managed until you move)."""
    _fresh(customer, "exporting your key")
    acct = accounts.signer(engine=state.engine, kek=state.kek, address=customer.address or "")
    body = {"address": acct.address, "private_key": "0x" + bytes(acct.key).hex()}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/key/move", responses={202: {"description": "Queued."}, **E404})
def move(body: MoveIn, customer: CustomerDep, state: StateDep, prefer: PreferHeader = None) -> Any:
    """Move to your own wallet: the registry's recovery carries your points and passes across
    every programme to `new_address`, and the managed key is destroyed (fresh proof needed)."""
    _fresh(customer, "moving to your own wallet")
    account = _me(state, customer)
    new = ledger.member_status(
        w3=state.w3, deployment=state.deployment, account=body.new_address
    ).address
    reg = contracts.registry(state.w3, state.deployment)
    operator = state.sender("operator")
    call = reg.functions.recover(account["address"], new)
    out = {"from": account["address"], "to": new}
    if not state.settings.outbox:
        if not reg.functions.isMember(new).call():
            ledger.register_member(sender=operator, deployment=state.deployment, member=new)
        operator.transact(call)
        accounts.moved(engine=state.engine, address=account["address"], new_address=new)
        return {**out, "status": "confirmed"}
    if not reg.functions.isMember(new).call():  # recovery moves to a registered wallet
        first = _queue_registration(state, new)
        row = outbox.wait(state.engine, first, 30.0)
        if row is None or row["state"] != "mined":
            raise LedgerError(f"registering {new} did not complete: {row and row['error']}")
    state.submit_for(operator)
    with state.engine.begin() as conn:
        intent = enqueue_call(
            conn, sender=operator, call=call, idem_key=f"move:{account['address']}:{new}"
        )
    res = operations.accepted(state, out, intent, prefer or "wait=20")
    if isinstance(res, dict) and res.get("status") == "confirmed":
        accounts.moved(engine=state.engine, address=account["address"], new_address=new)
    return res
