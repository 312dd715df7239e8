"""The ledger layer: the on-chain operations, validated and pre-flighted.

Owns points (`points`), the member registry (`members`), passes (`passes`), expiry lots
(`lots`), the coalition exchange (`exchange`), gasless relaying (`gasless`) and the consent
checks on relayed member requests (`consent`). May import `chain` and the base modules
(`config`, `errors`, `validate`, `expiry`); never `store`, `indexer` or anything above.
The members, points and pass operations are re-exported here: `ledger.issue_points(...)`.
"""

from loyalty_ledger.ledger.members import (
    MemberStatus,
    deregister_member,
    freeze_member,
    grant_registrar,
    grant_role,
    has_role,
    member_status,
    recover_member,
    register_member,
    register_members,
    revoke_role,
    unfreeze_member,
)
from loyalty_ledger.ledger.passes import (
    PassInfo,
    issue_pass,
    pass_of,
    renew_pass,
    revoke_pass,
    set_tier,
    set_transferable,
    transfer_pass,
)
from loyalty_ledger.ledger.points import (
    DEFAULT_CHUNK,
    MAX_MEMO_BYTES,
    BatchItem,
    balance_of,
    forfeit_points,
    gift_call,
    gift_points,
    is_paused,
    issue_points,
    issue_points_batch,
    pause,
    redeem_call,
    redeem_points,
    redeem_with_permit,
    total_supply,
    transfer_call,
    transfer_points,
    unpause,
)

__all__ = [
    "DEFAULT_CHUNK",
    "MAX_MEMO_BYTES",
    "BatchItem",
    "MemberStatus",
    "PassInfo",
    "balance_of",
    "deregister_member",
    "forfeit_points",
    "freeze_member",
    "gift_call",
    "gift_points",
    "grant_registrar",
    "grant_role",
    "has_role",
    "is_paused",
    "issue_pass",
    "issue_points",
    "issue_points_batch",
    "member_status",
    "pass_of",
    "pause",
    "recover_member",
    "redeem_call",
    "redeem_points",
    "redeem_with_permit",
    "register_member",
    "register_members",
    "renew_pass",
    "revoke_pass",
    "revoke_role",
    "set_tier",
    "set_transferable",
    "total_supply",
    "transfer_call",
    "transfer_pass",
    "transfer_points",
    "unfreeze_member",
    "unpause",
]
