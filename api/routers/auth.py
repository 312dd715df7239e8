"""Sign-In with Ethereum for customers; who am I."""

from __future__ import annotations

from fastapi import APIRouter

from loyalty_ledger import auth

from ..deps import PrincipalDep, StateDep
from ..schemas import NonceOut, PrincipalOut, SessionOut, VerifyIn

router = APIRouter(prefix="/auth", tags=["auth"])


@router.get("/nonce", response_model=NonceOut)
def nonce(state: StateDep) -> NonceOut:
    """A single-use nonce for a SIWE message, with the domain, URI and chain id to bind."""
    value, expires = auth.issue_nonce(engine=state.engine)
    return NonceOut(
        nonce=value,
        expires_at=expires,
        domain=state.options.siwe_domain,
        uri=state.options.siwe_uri,
        chain_id=state.chain_id(),
    )


@router.post("/verify", response_model=SessionOut)
def verify(body: VerifyIn, state: StateDep) -> SessionOut:
    """Verify a signed SIWE message and open a short session for its address."""
    s = auth.sign_in(
        engine=state.engine,
        message=body.message,
        signature=body.signature,
        domain=state.options.siwe_domain,
        uri=state.options.siwe_uri,
        chain_id=state.chain_id(),
        ttl=state.options.session_ttl,
    )
    return SessionOut(token=s.token, address=s.address, expires_at=s.expires_at)


@router.get("/me", response_model=PrincipalOut)
def me(principal: PrincipalDep) -> PrincipalOut:
    """The authenticated caller."""
    return PrincipalOut(
        kind=principal.kind,
        address=principal.address,
        brand_id=principal.brand_id,
        roles=sorted(principal.roles),
    )
