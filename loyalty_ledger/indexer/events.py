"""The events of the network's contracts, as Solidity signatures (the ABI the indexer decodes)."""

from __future__ import annotations

# Registry (IMemberRegistry + AccessControl + Pausable).
REGISTRY_EVENTS = (
    "MemberRegistered(address indexed member, address indexed by)",
    "MemberDeregistered(address indexed member, address indexed by)",
    "MemberFrozen(address indexed member, address indexed by)",
    "MemberUnfrozen(address indexed member, address indexed by)",
    "MemberRecovered(address indexed lostWallet, address indexed newWallet, address indexed by)",
    "ProgramRegistered(bytes32 indexed brandId, address indexed points, address indexed pass, "
    "address admin, string name)",
)
# Shared by every contract (OpenZeppelin).
COMMON_EVENTS = (
    "RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
    "RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
    "RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, "
    "bytes32 indexed newAdminRole)",
    "Paused(address account)",
    "Unpaused(address account)",
    "EIP712DomainChanged()",
)
POINTS_EVENTS = (
    "Transfer(address indexed from, address indexed to, uint256 value)",
    "Approval(address indexed owner, address indexed spender, uint256 value)",
    "PointsIssued(address indexed member, uint256 amount, bytes32 indexed reason, bytes32 ref)",
    "PointsRedeemed(address indexed member, uint256 amount, bytes32 ref, address indexed by)",
    "PointsForfeited(address indexed member, uint256 amount, bytes32 indexed reason, "
    "address indexed by)",
    "PointsGifted(address indexed from, address indexed to, uint256 amount, string memo)",
    "PointsRecovered(address indexed lostWallet, address indexed newWallet, uint256 amount)",
    "ExpiryPolicySet(uint256 validityEpochs, uint256 fromEpoch, uint256 epochZero, "
    "uint256 epochLength, address indexed by)",
    "TransferAtEpoch(address indexed from, address indexed to, uint256 epoch, uint256 value)",
)
PASS_EVENTS = (
    "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)",
    "Approval(address indexed owner, address indexed approved, uint256 indexed tokenId)",
    "ApprovalForAll(address indexed owner, address indexed operator, bool approved)",
    "PassIssued(address indexed member, uint256 indexed tokenId, uint8 tier, uint64 expiresAt)",
    "PassTierChanged(address indexed member, uint256 indexed tokenId, uint8 fromTier, "
    "uint8 toTier)",
    "PassRenewed(address indexed member, uint256 indexed tokenId, uint64 expiresAt)",
    "PassRevoked(address indexed member, uint256 indexed tokenId)",
    "PassRecovered(address indexed lostWallet, address indexed newWallet, uint256 indexed tokenId)",
    "TierAdded(uint8 indexed tier, string name)",
    "TransferabilityChanged(bool transferable)",
    "Locked(uint256 tokenId)",
    "Unlocked(uint256 tokenId)",
    "MetadataUpdate(uint256 _tokenId)",
    "BatchMetadataUpdate(uint256 _fromTokenId, uint256 _toTokenId)",
)
FORWARDER_EVENTS = ("ExecutedForwardRequest(address indexed signer, uint256 nonce, bool success)",)
# CoalitionExchange (ICoalitionExchange).
EXCHANGE_EVENTS = (
    "ExchangeRegistered(uint256 indexed id, bytes32 indexed fromBrand, bytes32 indexed toBrand, "
    "uint256 rateFrom, uint256 rateTo, uint256 dailyCap, uint256 budget)",
    "ExchangeApproved(uint256 indexed id, bytes32 indexed brandId, address by)",
    "ExchangeOpened(uint256 indexed id)",
    "ExchangePauseSet(uint256 indexed id, bytes32 indexed brandId, address by, bool paused)",
    "Swapped(uint256 indexed id, address indexed member, bytes32 fromBrand, uint256 amountIn, "
    "bytes32 toBrand, uint256 amountOut, uint256 rateFrom, uint256 rateTo)",
)

ALL_EVENTS = (
    REGISTRY_EVENTS
    + COMMON_EVENTS
    + POINTS_EVENTS
    + PASS_EVENTS
    + FORWARDER_EVENTS
    + EXCHANGE_EVENTS
)
