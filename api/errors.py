"""One error body for the whole API: {"error": code, "detail": text}, one status per error class."""

from __future__ import annotations

import logging
from typing import Any

import requests
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from loyalty_ledger import errors as e
from loyalty_ledger.auth import AuthenticationFailed, Forbidden, MalformedSiwe
from loyalty_ledger.auth.accounts import UnknownMember
from loyalty_ledger.auth.managed import RequestInFlight
from loyalty_ledger.auth.principal import RateLimited, StepUpRequired
from loyalty_ledger.health import Outages
from loyalty_ledger.mail import MailFailed
from loyalty_ledger.programme.perks import (
    IdempotencyConflict,
    LimitReached,
    MirrorNotReady,
    NotEligible,
    OutOfStock,
    PerkExists,
    PerkNotFound,
    PointsHeld,
)
from loyalty_ledger.programme.rules.errors import UnknownRule
from loyalty_ledger.programme.vouchers import UnknownVoucher, VoucherProblem
from loyalty_ledger.store import database_unavailable

log = logging.getLogger("api")

# Most specific first is not needed: the status is looked up along the exception's MRO.
STATUS: dict[type[BaseException], int] = {
    AuthenticationFailed: 401,
    Forbidden: 403,
    e.Unauthorized: 403,
    MalformedSiwe: 400,
    e.InvalidSignature: 400,
    e.SignatureExpired: 400,
    e.LedgerValueError: 422,
    e.UnknownProgram: 404,
    e.UnknownOperation: 404,
    e.NotFound: 404,
    e.KeyMisuse: 403,
    PerkNotFound: 404,
    e.NoPass: 409,
    e.NotAMember: 409,
    e.AlreadyMember: 409,
    e.AccountFrozen: 409,
    e.NotFrozen: 409,
    e.InsufficientPoints: 409,
    e.InsufficientAllowance: 409,
    e.PassNotTransferable: 409,
    e.PassAlreadyHeld: 409,
    e.SameTier: 409,
    e.Paused: 409,
    e.NotPaused: 409,
    e.ProgramExists: 409,
    e.ContractRevert: 409,
    e.PointsExpired: 409,
    e.UnknownExchange: 404,
    UnknownRule: 404,
    e.ExchangeNotApproved: 409,
    e.ExchangeAlreadyApproved: 409,
    e.ExchangeDailyCapExceeded: 409,
    e.ExchangeBudgetExceeded: 409,
    PerkExists: 409,
    NotEligible: 409,
    OutOfStock: 409,
    LimitReached: 409,
    PointsHeld: 409,
    IdempotencyConflict: 409,
    RateLimited: 429,
    StepUpRequired: 403,
    UnknownMember: 404,
    UnknownVoucher: 404,
    VoucherProblem: 409,
    RequestInFlight: 409,
    MailFailed: 503,
    e.NodeUnreachable: 503,
    e.WrongChain: 503,
    e.ConfigError: 503,
    e.ArtifactMissing: 503,
    MirrorNotReady: 503,
    e.LedgerError: 503,  # anything else (no deployment, tx not mined in time, node rejected)
}


# A queued write that failed carries only its error's code: its status, by the same table.
CODE_STATUS = {
    getattr(cls, "code", ""): status
    for cls, status in STATUS.items()
    if cls is not e.LedgerError and hasattr(cls, "code")
}


def status_of_code(code: str | None) -> int:
    """The status of a failed operation's error code (409 when the code is not a known one)."""
    status = CODE_STATUS.get(code or "", 409)
    return status if status < 500 else 409


def status_of(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _outages(req: Request) -> Outages | None:
    state = getattr(req.app.state, "api", None)
    return getattr(state, "outages", None)


def _ledger_error(req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.LedgerError)
    if isinstance(exc, e.NodeUnreachable) and (outages := _outages(req)) is not None:
        outages.down("node", exc.message, action="answering 503 for what needs it")
    extra: dict[str, Any] = {}
    if isinstance(exc, NotEligible):
        extra["reasons"] = [{"code": r.code, "detail": r.detail} for r in exc.reasons]
    elif isinstance(exc, e.ExchangeDailyCapExceeded | e.ExchangeBudgetExceeded):
        extra = {"requested": exc.requested, "remaining": exc.remaining}
    elif isinstance(exc, e.ExchangeTooSmall):
        extra["minimum"] = exc.minimum
    elif isinstance(exc, VoucherProblem) and exc.voucher is not None:
        extra["voucher"] = exc.voucher
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return JSONResponse(body(exc.code, exc.message, **extra), status_of(exc), headers=headers)


def _validation(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errs):
        return JSONResponse(body("invalid_json", "the request body is not valid JSON"), 400)
    parts = []
    for err in errs[:10]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return JSONResponse(body("validation_error", "; ".join(parts) or "invalid request"), 422)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def _http(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code
    return JSONResponse(body(code, detail), exc.status_code, headers=exc.headers)


def _node_down(req: Request, exc: Exception) -> JSONResponse:
    if (outages := _outages(req)) is not None:
        outages.down("node", type(exc).__name__, action="answering 503 for what needs it")
    return JSONResponse(
        body("node_unreachable", f"the Ethereum node is unreachable: {type(exc).__name__}"), 503
    )


def _db_down(req: Request, exc: Exception) -> JSONResponse:
    reason = database_unavailable(exc) or f"{type(exc).__name__}: {str(exc)[:160]}"
    outages = _outages(req)
    if outages is None or outages.down("database", reason, action="answering 503 for it"):
        log.debug("database error: %s", exc)
    return JSONResponse(body("database_unavailable", "the database is unavailable"), 503)


def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(body("internal_error", "an unexpected error occurred"), 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.LedgerError, _ledger_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(requests.ConnectionError, _node_down)
    app.add_exception_handler(requests.Timeout, _node_down)
    app.add_exception_handler(OperationalError, _db_down)
    app.add_exception_handler(InterfaceError, _db_down)
    app.add_exception_handler(Exception, _unexpected)
