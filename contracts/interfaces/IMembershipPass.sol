// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IMembershipPass
/// @notice One brand's membership passes: an ERC-721 with at most one pass per member, ordered
/// brand-defined tiers (0 is the lowest), an expiry, and ERC-5192 soulbinding unless the brand
/// enables transfer. Token ids start at 1; 0 means "no pass".
/// @dev Roles: DEFAULT_ADMIN_ROLE (brand admin: tiers, transferability), ISSUER_ROLE (issue,
/// tier changes, renewal, revocation). Holders must be registered, unfrozen members.
/// ERC-5192 (interface id 0xb45a3c0e, answered by `supportsInterface`): lockedness is
/// programme-wide. A pass is minted with `Locked(tokenId)` while passes are soulbound and with
/// `Unlocked(tokenId)` while they are transferable. `setTransferable` locks or unlocks every pass
/// of the programme at once and emits one `TransferabilityChanged(transferable)` for all of them,
/// not a `Locked`/`Unlocked` per token: an ERC-5192 indexer applies it to every pass of the
/// contract, or asks `locked(tokenId)`, which always answers for the one token (ERC-5192's
/// per-token view). While locked, every ERC-721 transfer (to another wallet or to the holder
/// itself) reverts `PassNotTransferable`; only the registry's `recover` moves a locked pass.
interface IMembershipPass {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `account` is not a registered member of the network.
    error PassNotAMember(address account);
    /// @notice `account` is frozen.
    error PassAccountFrozen(address account);
    /// @notice `member` holds pass `tokenId` already (one pass per member).
    error PassAlreadyHeld(address member, uint256 tokenId);
    /// @notice `member` holds no pass.
    error PassNotHeld(address member);
    /// @notice Passes of this program are soulbound.
    error PassNotTransferable(uint256 tokenId);
    /// @notice `tier` is not one of the program's `tierCount` tiers.
    error PassUnknownTier(uint8 tier, uint8 tierCount);
    /// @notice `expiresAt` is not in the future (0 means "never expires").
    error PassExpiryInPast(uint64 expiresAt);
    /// @notice The pass is at `tier` already.
    error PassSameTier(uint8 tier);
    /// @notice Only the member registry may call this.
    error PassOnlyRegistry(address caller);
    /// @notice A program has between 1 and 255 tiers; `count` is outside that range.
    error PassBadTierCount(uint256 count);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Pass `tokenId` was issued to `member` at `tier`, valid until `expiresAt` (0: never).
    event PassIssued(address indexed member, uint256 indexed tokenId, uint8 tier, uint64 expiresAt);
    /// @notice The pass moved from `fromTier` to `toTier` (an upgrade when `toTier` is higher).
    event PassTierChanged(
        address indexed member, uint256 indexed tokenId, uint8 fromTier, uint8 toTier
    );
    /// @notice The pass is now valid until `expiresAt`.
    event PassRenewed(address indexed member, uint256 indexed tokenId, uint64 expiresAt);
    /// @notice The pass was revoked (burned).
    event PassRevoked(address indexed member, uint256 indexed tokenId);
    /// @notice The registry moved pass `tokenId` from `lostWallet` to `newWallet`.
    event PassRecovered(
        address indexed lostWallet, address indexed newWallet, uint256 indexed tokenId
    );
    /// @notice The brand added tier number `tier` called `name`.
    event TierAdded(uint8 indexed tier, string name);
    /// @notice Every pass of this program is now transferable (unlocked), or soulbound (locked)
    /// again: one event for all of them, in place of ERC-5192's per-token Locked/Unlocked.
    event TransferabilityChanged(bool transferable);
    /// @notice ERC-5192: `tokenId` is soulbound; emitted when it is minted locked.
    event Locked(uint256 tokenId);
    /// @notice ERC-5192: `tokenId` is transferable; emitted when it is minted unlocked.
    event Unlocked(uint256 tokenId);

    /*//////////////////////////////////////////////////////////////
                               OPERATIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Issues a pass to `member` at `tier` until `expiresAt` (issuer).
    function issue(address member, uint8 tier, uint64 expiresAt) external returns (uint256 tokenId);

    /// @notice Moves `member`'s pass to `tier`, up or down (issuer).
    function setTier(address member, uint8 tier) external;

    /// @notice Sets `member`'s pass to expire at `expiresAt` (issuer).
    function renew(address member, uint64 expiresAt) external;

    /// @notice Burns `member`'s pass (issuer).
    function revoke(address member) external;

    /// @notice Appends a tier above the current highest (brand admin); returns its number.
    function addTier(string calldata name) external returns (uint8 tier);

    /// @notice Lets passes move between members, or binds them again (brand admin): every pass's
    /// `locked` changes at once, announced by one TransferabilityChanged (no per-token event).
    function setTransferable(bool transferable_) external;

    /// @notice Moves `lostWallet`'s pass to `newWallet`, soulbound or not (registry only).
    function recover(address lostWallet, address newWallet) external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The pass `member` holds, or 0.
    function passOf(address member) external view returns (uint256 tokenId);

    /// @notice The tier and expiry of pass `tokenId`; reverts when it does not exist.
    function passInfo(uint256 tokenId)
        external
        view
        returns (address owner, uint8 tier, uint64 expiresAt);

    /// @notice Whether `member` holds a pass that has not expired.
    function isActive(address member) external view returns (bool);

    /// @notice The tier of `member`'s pass; reverts with PassNotHeld when it holds none.
    function tierOf(address member) external view returns (uint8);

    /// @notice How many tiers the program has.
    function tierCount() external view returns (uint8);

    /// @notice The name of tier `tier`.
    function tierName(uint8 tier) external view returns (string memory);

    /// @notice Whether passes may move between members.
    function transferable() external view returns (bool);

    /// @notice ERC-5192: whether `tokenId` is soulbound now (the programme's current
    /// transferability, whatever events it was minted with); reverts when it does not exist.
    function locked(uint256 tokenId) external view returns (bool);

    /// @notice The brand this program belongs to.
    function brandId() external view returns (bytes32);

    /// @notice The network's member registry.
    function registry() external view returns (address);
}
