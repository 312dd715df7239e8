"""Passkeys (WebAuthn) through py_webauthn: registration and assertion ceremonies with
single-use server challenges; several passkeys per member; the relying party from settings.

A replayed assertion fails twice over: its challenge is used already, and the credential's
signature counter must grow when the authenticator keeps one.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_client_data_json
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from loyalty_ledger.auth.principal import AuthenticationFailed
from loyalty_ledger.config import Settings
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.store.customers import Passkey, WebauthnChallenge
from loyalty_ledger.store.offchain import table

CHALLENGE_TTL = 300  # seconds a ceremony may take
RP_NAME = "Loyalty Ledger"


def origin(settings: Settings) -> str:
    return settings.webauthn_origin or f"http://{settings.webauthn_rp_id}:{settings.api_port}"


def _store_challenge(engine: Engine, challenge: bytes, purpose: str, member_id: str | None) -> None:
    t, now = table(WebauthnChallenge), int(time.time())
    with engine.begin() as conn:
        conn.execute(t.delete().where(t.c.expires_at < now - CHALLENGE_TTL))
        conn.execute(
            insert(t).values(
                challenge=bytes_to_base64url(challenge),
                purpose=purpose,
                member_id=member_id,
                expires_at=now + CHALLENGE_TTL,
            )
        )


def _consume_challenge(
    engine: Engine, credential: dict[str, Any], purpose: str
) -> tuple[bytes, str | None]:
    """The ceremony's challenge, marked used; AuthenticationFailed when unknown, used or old."""
    try:
        client = parse_client_data_json(
            base64url_to_bytes(credential["response"]["clientDataJSON"])
        )
    except Exception:
        raise InvalidInput("not a WebAuthn credential (clientDataJSON)") from None
    key, now = bytes_to_base64url(client.challenge), int(time.time())
    t = table(WebauthnChallenge)
    with engine.begin() as conn:
        # The write first: SQLite takes its write lock before any read (a read upgraded to a
        # write after another writer committed fails at once, "database is locked").
        res = conn.execute(
            update(t)
            .where(
                t.c.challenge == key,
                t.c.used_at.is_(None),
                t.c.expires_at > now,
                t.c.purpose == purpose,
            )
            .values(used_at=now)
        )
        row = conn.execute(select(t).where(t.c.challenge == key)).mappings().first()
    if row is None or res.rowcount != 1:
        raise AuthenticationFailed("the passkey challenge is unknown, expired or used already")
    return client.challenge, row["member_id"]


def registration_options(
    *, engine: Engine, settings: Settings, member_id: str, user_name: str, existing: list[str]
) -> dict[str, Any]:
    """Options for navigator.credentials.create() (a discoverable passkey for `member_id`)."""
    opts = generate_registration_options(
        rp_id=settings.webauthn_rp_id,
        rp_name=RP_NAME,
        user_id=member_id.encode(),
        user_name=user_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
        ],
    )
    _store_challenge(engine, opts.challenge, "register", member_id)
    return dict(json.loads(options_to_json(opts)))


def register(
    *, engine: Engine, settings: Settings, credential: dict[str, Any], label: str = ""
) -> str:
    """Verify a new passkey and store it; returns the member id it was created for."""
    challenge, member_id = _consume_challenge(engine, credential, "register")
    try:
        v = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=origin(settings),
        )
    except Exception as exc:
        raise AuthenticationFailed(f"the passkey was not accepted: {str(exc)[:200]}") from None
    assert member_id is not None
    with engine.begin() as conn:
        conn.execute(
            insert(table(Passkey)).values(
                credential_id=bytes_to_base64url(v.credential_id),
                member_id=member_id,
                public_key=bytes_to_base64url(v.credential_public_key),
                sign_count=v.sign_count,
                label=label[:64],
                created_at=int(time.time()),
            )
        )
    return member_id


def authentication_options(
    *, engine: Engine, settings: Settings, purpose: str = "login", member_id: str | None = None
) -> dict[str, Any]:
    """Options for navigator.credentials.get(): any of the site's passkeys (sign-in), or the
    member's own (a step-up before a sensitive action)."""
    allow = (
        [PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in _ids(engine, member_id)]
        if member_id
        else None
    )
    opts = generate_authentication_options(rp_id=settings.webauthn_rp_id, allow_credentials=allow)
    _store_challenge(engine, opts.challenge, purpose, member_id)
    return dict(json.loads(options_to_json(opts)))


def authenticate(
    *, engine: Engine, settings: Settings, credential: dict[str, Any], purpose: str = "login"
) -> str:
    """Verify an assertion; returns the member id of the passkey (checked against the
    challenge's member for a step-up)."""
    challenge, wanted = _consume_challenge(engine, credential, purpose)
    t = table(Passkey)
    cred_id = str(credential.get("id") or "")
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.credential_id == cred_id)).mappings().first()
    if row is None or (wanted is not None and row["member_id"] != wanted):
        raise AuthenticationFailed("this passkey is not registered here (or not yours)")
    try:
        v = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=origin(settings),
            credential_public_key=base64url_to_bytes(row["public_key"]),
            credential_current_sign_count=row["sign_count"],
        )
    except Exception as exc:
        raise AuthenticationFailed(f"the passkey assertion was refused: {str(exc)[:200]}") from None
    with engine.begin() as conn:
        conn.execute(
            update(t)
            .where(t.c.credential_id == cred_id)
            .values(sign_count=v.new_sign_count, last_used_at=int(time.time()))
        )
    return str(row["member_id"])


def _ids(engine: Engine, member_id: str | None) -> list[str]:
    t = table(Passkey)
    with engine.connect() as conn:
        return [
            str(r)
            for r in conn.execute(
                select(t.c.credential_id).where(t.c.member_id == member_id)
            ).scalars()
        ]


def list_passkeys(*, engine: Engine, member_id: str) -> list[dict[str, Any]]:
    t = table(Passkey)
    cols = (t.c.credential_id, t.c.label, t.c.created_at, t.c.last_used_at)
    with engine.connect() as conn:
        rows = conn.execute(
            select(*cols).where(t.c.member_id == member_id).order_by(t.c.created_at)
        )
        return [dict(r) for r in rows.mappings()]


def remove_passkey(*, engine: Engine, member_id: str, credential_id: str) -> bool:
    """Remove one of the member's passkeys; False when it is not theirs."""
    t = table(Passkey)
    with engine.begin() as conn:
        res = conn.execute(
            delete(t).where(t.c.member_id == member_id, t.c.credential_id == credential_id)
        )
    return res.rowcount == 1
