"""Who a request is from, read from its headers alone: the credential it sends, the caller when
known without I/O, and the client address for per-client limits."""

from __future__ import annotations

from fastapi import Request

from loyalty_ledger.auth import AuthenticationFailed, Principal, cached_key


def credential(x_api_key: str | None, authorization: str | None) -> tuple[str, str]:
    """The credential a request sends: ("key", API key) or ("session", token).

    An X-API-Key header wins; AuthenticationFailed when there is none or it is malformed."""
    if x_api_key:
        return "key", x_api_key
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed("use 'Authorization: Bearer <session token>'")
        return ("key", token) if token.startswith("llk_") else ("session", token)
    raise AuthenticationFailed("sign in (SIWE) or send an API key")


def principal_at_hand(kind: str, value: str) -> Principal | None:
    """The caller when known without I/O: an API key verified in the last seconds; None when
    the database must be asked (always for a session: it may have been signed out)."""
    return cached_key(value) if kind == "key" else None


def client_of(request: Request) -> str:
    """Who is asking, for per-client limits: the peer address."""
    return request.client.host if request.client else "unknown"
