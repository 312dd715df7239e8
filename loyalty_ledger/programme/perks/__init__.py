"""Perks: definitions (SQL), eligibility from the mirror or the chain, and safe redemption.

Eligibility reads the SQL mirror and says the block it is true as of; strict mode reads the
chain at one block. A redemption reserves stock, the member's per-perk count and the points
with atomic conditional UPDATEs before the burn is relayed, and releases them if it fails, so
concurrent requests can never exceed stock or limit nor spend the same points twice.
"""

from loyalty_ledger.errors import UnknownProgram
from loyalty_ledger.programme.perks.catalogue import (
    IdempotencyConflict,
    LimitReached,
    MirrorNotReady,
    NotEligible,
    OutOfStock,
    PerkExists,
    PerkNotFound,
    PointsHeld,
    Reason,
    create_perk,
    deactivate_perk,
    get_perk,
    list_perks,
    update_perk,
)
from loyalty_ledger.programme.perks.eligibility import (
    Eligibility,
    Holding,
    chain_holdings,
    check_one,
    check_one_sqlite,
    checkpoint,
    eligibility,
    eligible_perks,
    judge,
    mirror_holdings,
    perk_and_use_sqlite,
    strict_one,
    strict_one_async,
)
from loyalty_ledger.programme.perks.redemption import (
    RedeemOutcome,
    get_redemption,
    list_redemptions,
    redeem,
    redeem_call,
    redemption_by_key,
    redemption_ref,
)

__all__ = [
    "Eligibility",
    "Holding",
    "IdempotencyConflict",
    "LimitReached",
    "MirrorNotReady",
    "NotEligible",
    "OutOfStock",
    "PerkExists",
    "PerkNotFound",
    "PointsHeld",
    "Reason",
    "RedeemOutcome",
    "UnknownProgram",
    "chain_holdings",
    "check_one",
    "check_one_sqlite",
    "checkpoint",
    "create_perk",
    "deactivate_perk",
    "eligibility",
    "eligible_perks",
    "get_perk",
    "get_redemption",
    "judge",
    "list_perks",
    "list_redemptions",
    "mirror_holdings",
    "perk_and_use_sqlite",
    "redeem",
    "redeem_call",
    "redemption_by_key",
    "redemption_ref",
    "strict_one",
    "strict_one_async",
    "update_perk",
]
