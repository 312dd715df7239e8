"""Who is calling: customers by Sign-In with Ethereum (EIP-4361), passkeys or email codes;
hashed API keys for the rest; and the managed keys of members without a wallet.

Customers get a short-lived HMAC-signed session token bound to one address after a verified
SIWE message with a server-issued, single-use nonce. Brands, the operator and auditors use API
keys; only the SHA-256 of a key's secret is stored (the secret is 256 random bits, so a fast
hash is the right one), and a key carries its kind, brand and roles.

Every customer session is a row (listed, revocable), whichever way they signed in. Members
without a wallet get a signing key sealed with AES-256-GCM under a key-encryption key kept out
of the database; the server signs their forward requests only inside their own requests.

Modules: `principal` (who, roles, errors), `siwe`, `sessions`, `api_keys`, `email_codes`,
`passkeys`, `accounts`, `custody` (KEK, sealing), `managed` (signing and queuing their
requests); the public names are re-exported here. May import `ledger`, `chain`, `store`, `mail`
and the base modules.
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
    "sign_in",
    "verify_session",
    "verify_siwe",
]
