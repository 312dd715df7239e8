"""Who is calling: Sign-In with Ethereum (EIP-4361) for customers, hashed API keys for the rest.

Customers get a short-lived HMAC-signed session token bound to one address after a verified
SIWE message with a server-issued, single-use nonce. Brands, the operator and auditors use API
keys; only the SHA-256 of a key's secret is stored (the secret is 256 random bits, so a fast
hash is the right one), and a key carries its kind, brand and roles.

Modules: `principal` (who, roles, errors), `siwe`, `sessions`, `api_keys`; the public names are
re-exported here. May import `store` and the base modules.
"""

from loyalty_ledger.auth.api_keys import (
    authenticate_key,
    cached_key,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from loyalty_ledger.auth.principal import (
    BRAND_ROLES,
    CLOCK_SKEW,
    KEY_CACHE_TTL,
    KEY_KINDS,
    NONCE_TTL,
    SESSION_TTL,
    AuthenticationFailed,
    Forbidden,
    MalformedSiwe,
    Principal,
    SiweRejected,
)
from loyalty_ledger.auth.sessions import (
    Session,
    new_session,
    session_secret_known,
    verify_session,
)
from loyalty_ledger.auth.siwe import (
    consume_nonce,
    issue_nonce,
    parse_siwe,
    sign_in,
    verify_siwe,
)

__all__ = [
    "BRAND_ROLES",
    "CLOCK_SKEW",
    "KEY_CACHE_TTL",
    "KEY_KINDS",
    "NONCE_TTL",
    "SESSION_TTL",
    "AuthenticationFailed",
    "Forbidden",
    "MalformedSiwe",
    "Principal",
    "Session",
    "SiweRejected",
    "authenticate_key",
    "cached_key",
    "consume_nonce",
    "create_api_key",
    "issue_nonce",
    "list_api_keys",
    "new_session",
    "parse_siwe",
    "revoke_api_key",
    "session_secret_known",
    "sign_in",
    "verify_session",
    "verify_siwe",
]
