"""Sign-in without a wallet: email one-time codes and passkeys; sessions, step-up, sign-out.

SIWE (`auth`) and these share one session model: every session is listed and revocable.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from loyalty_ledger.auth import accounts, email_codes, passkeys, sessions
from loyalty_ledger.auth.principal import AuthenticationFailed, Forbidden
from loyalty_ledger.mail import send_mail

from ..credentials import client_of
from ..deps import AppState, CustomerDep, MaybePrincipalDep, StateDep
from ..member_schemas import (
    CredentialIn,
    EmailStartIn,
    EmailVerifyIn,
    MemberSessionOut,
    StepUpIn,
)

router = APIRouter(prefix="/auth", tags=["auth"])
E401: dict[int | str, dict[str, str]] = {401: {"description": "Wrong or used code or passkey"}}
E403: dict[int | str, dict[str, str]] = {403: {"description": "Not a member's session"}}
E429: dict[int | str, dict[str, str]] = {
    429: {"description": "Too many codes or tries: wait Retry-After seconds"}
}


def _session(
    state: AppState, account: dict[str, Any], method: str, request: Request, created: bool
) -> MemberSessionOut:
    s = sessions.new_session(
        engine=state.engine,
        address=account["address"],
        ttl=state.options.session_ttl,
        method=method,
        client=request.headers.get("user-agent", ""),
    )
    return MemberSessionOut(
        token=s.token,
        address=s.address,
        member_id=account["member_id"],
        expires_at=s.expires_at,
        created=created,
    )


def mail_code(state: AppState, email: str, code: str, why: str) -> None:
    text = (
        f"Your Loyalty Ledger code: {code}\n\nIt is valid for 10 minutes and works once, "
        f"to {why}. If you did not ask for it, ignore this mail."
    )
    send_mail(state.settings, email, f"Your code: {code}", text)


@router.post("/email/start", status_code=202, responses=E429)
def email_start(body: EmailStartIn, state: StateDep, request: Request) -> dict[str, Any]:
    """Mail a 6-digit sign-in code (valid 10 minutes, once); joins a new member on first use."""
    email = email_codes.normalise_email(body.email)
    code = email_codes.issue_code(engine=state.engine, email=email, client=client_of(request))
    mail_code(state, email, code, "sign in")
    return {"sent": True, "expires_in": email_codes.CODE_TTL}


@router.post("/email/verify", response_model=MemberSessionOut, responses={**E401, **E429})
def email_verify(body: EmailVerifyIn, state: StateDep, request: Request) -> MemberSessionOut:
    """Sign in with the mailed code; a new address gets an account with a managed key."""
    email = email_codes.check_code(engine=state.engine, email=body.email, code=body.code)
    account = accounts.by_email(state.engine, email)
    created = account is None
    if account is None:
        account = accounts.create_account(engine=state.engine, kek=state.kek, email=email)
    return _session(state, account, "email", request, created)


@router.post("/passkey/register/options", responses=E403)
def passkey_register_options(state: StateDep, principal: MaybePrincipalDep) -> dict[str, Any]:
    """Options for navigator.credentials.create(): a new member, or one more passkey for the
    signed-in member."""
    if principal is not None:
        if principal.kind != "customer" or principal.address is None:
            raise Forbidden("passkeys are for members")
        account = accounts.by_address(state.engine, principal.address)
        if account is None:
            raise Forbidden("this wallet signs in with Ethereum: it has no member account")
        member_id, name = account["member_id"], account["email"] or account["member_id"]
        existing = [
            p["credential_id"]
            for p in passkeys.list_passkeys(engine=state.engine, member_id=member_id)
        ]
    else:
        member_id = accounts.new_member_id()
        name, existing = member_id, []
    return passkeys.registration_options(
        engine=state.engine,
        settings=state.settings,
        member_id=member_id,
        user_name=name,
        existing=existing,
    )


@router.post("/passkey/register", response_model=MemberSessionOut, responses=E401)
def passkey_register(body: CredentialIn, state: StateDep, request: Request) -> MemberSessionOut:
    """Store a new passkey; for a new member, create the account (and its managed key)."""
    member_id = passkeys.register(
        engine=state.engine, settings=state.settings, credential=body.credential, label=body.label
    )
    account = accounts.by_id(state.engine, member_id)
    created = account is None
    if account is None:
        account = accounts.create_account(engine=state.engine, kek=state.kek, member_id=member_id)
    return _session(state, account, "passkey", request, created)


@router.post("/passkey/login/options")
def passkey_login_options(state: StateDep) -> dict[str, Any]:
    """Options for navigator.credentials.get() (any passkey of this site)."""
    return passkeys.authentication_options(engine=state.engine, settings=state.settings)


@router.post("/passkey/login", response_model=MemberSessionOut, responses=E401)
def passkey_login(body: CredentialIn, state: StateDep, request: Request) -> MemberSessionOut:
    """Sign in with a passkey assertion (its challenge works once)."""
    member_id = passkeys.authenticate(
        engine=state.engine, settings=state.settings, credential=body.credential
    )
    account = accounts.by_id(state.engine, member_id)
    if account is None:
        raise AuthenticationFailed("this passkey's member is gone")
    return _session(state, account, "passkey", request, False)


def _account(state: AppState, address: str | None) -> dict[str, Any]:
    account = accounts.by_address(state.engine, address or "")
    if account is None:
        raise Forbidden("this wallet signs in with Ethereum: it has no member account")
    return account


@router.post("/step-up/options", responses=E429)
def step_up_options(customer: CustomerDep, state: StateDep) -> dict[str, Any]:
    """Options for a fresh passkey assertion by the signed-in member; mails a code instead
    (answer {"email": true}) when they have no passkey."""
    account = _account(state, customer.address)
    if passkeys.list_passkeys(engine=state.engine, member_id=account["member_id"]):
        return passkeys.authentication_options(
            engine=state.engine,
            settings=state.settings,
            purpose="step-up",
            member_id=account["member_id"],
        )
    if not account["email"]:
        raise Forbidden("no passkey and no email on this account")
    code = email_codes.issue_code(
        engine=state.engine, email=account["email"], client=f"step-up:{account['member_id']}"
    )
    mail_code(state, account["email"], code, "confirm a payment or key export")
    return {"email": True}


@router.post("/step-up", responses=E429)
def step_up(body: StepUpIn, customer: CustomerDep, state: StateDep) -> dict[str, Any]:
    """Prove presence again (passkey assertion or mailed code): large gifts and key export
    need it within the last 5 minutes."""
    account = _account(state, customer.address)
    if body.credential is not None:
        who = passkeys.authenticate(
            engine=state.engine,
            settings=state.settings,
            credential=body.credential,
            purpose="step-up",
        )
        if who != account["member_id"]:
            raise AuthenticationFailed("this passkey is not yours")
    elif body.code is not None and account["email"]:
        email_codes.check_code(engine=state.engine, email=account["email"], code=body.code)
    else:
        raise AuthenticationFailed("send a passkey assertion or the mailed code")
    assert customer.session_id is not None
    return {"auth_at": sessions.step_up(engine=state.engine, session_id=customer.session_id)}


@router.get("/sessions")
def list_sessions(customer: CustomerDep, state: StateDep) -> list[dict[str, Any]]:
    """The signed-in member's open sessions (this one is marked `current`)."""
    rows = sessions.list_sessions(engine=state.engine, address=customer.address or "")
    return [{**r, "current": r["session_id"] == customer.session_id} for r in rows]


@router.delete("/sessions/{session_id}")
def revoke_session(session_id: str, customer: CustomerDep, state: StateDep) -> dict[str, Any]:
    """Sign one of your sessions out (another device)."""
    if not sessions.revoke_session(
        engine=state.engine, address=customer.address or "", session_id=session_id
    ):
        return JSONResponse(  # type: ignore[return-value]
            {"error": "unknown_session", "detail": "no open session of yours with this id"},
            status_code=404,
        )
    return {"revoked": session_id}


@router.post("/sign-out")
def sign_out(customer: CustomerDep, state: StateDep) -> dict[str, Any]:
    """End this session."""
    sessions.revoke_session(
        engine=state.engine, address=customer.address or "", session_id=customer.session_id or ""
    )
    return {"signed_out": True}


@router.get("/passkeys")
def list_passkeys(customer: CustomerDep, state: StateDep) -> list[dict[str, Any]]:
    """The signed-in member's passkeys."""
    account = _account(state, customer.address)
    return passkeys.list_passkeys(engine=state.engine, member_id=account["member_id"])


@router.delete("/passkeys/{credential_id}")
def remove_passkey(credential_id: str, customer: CustomerDep, state: StateDep) -> dict[str, Any]:
    """Remove one of your passkeys (the others keep working)."""
    account = _account(state, customer.address)
    keys = passkeys.list_passkeys(engine=state.engine, member_id=account["member_id"])
    if not account["email"] and [k["credential_id"] for k in keys] == [credential_id]:
        return JSONResponse(  # type: ignore[return-value]
            {"error": "last_sign_in", "detail": "your only way to sign in: add another first"},
            status_code=409,
        )
    if not passkeys.remove_passkey(
        engine=state.engine, member_id=account["member_id"], credential_id=credential_id
    ):
        return JSONResponse(  # type: ignore[return-value]
            {"error": "unknown_passkey", "detail": "no passkey of yours with this id"},
            status_code=404,
        )
    return {"removed": credential_id}
