// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ILoyaltyPoints
/// @notice One brand's points: an ERC-20 with decimals 0 (whole points) that only registered,
/// unfrozen members of the network may hold or receive.
/// @dev Roles: DEFAULT_ADMIN_ROLE (brand admin: grants roles, forfeits), ISSUER_ROLE (issue),
/// REDEEMER_ROLE (redeem with the holder's consent: allowance or ERC-2612 permit), PAUSER_ROLE.
/// The network's ERC2771Forwarder is trusted, so a member can transfer, gift and redeem by
/// signing an EIP-712 ForwardRequest that a relayer submits (the member holds no ETH).
/// Reason codes and references are bytes32: reasons are short ASCII words left-aligned
/// ("purchase", "signup", "review", "referral", "survey", "visit", "adjustment", "expiry",
/// "fraud" ...); a reference is an order or action id (ASCII up to 32 bytes, else its keccak256).
/// Value moves emit the ERC-20 Transfer event and, beside it, the domain event below.
interface ILoyaltyPoints {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `account` is not a registered member of the network.
    error PointsNotAMember(address account);
    /// @notice `account` is frozen.
    error PointsAccountFrozen(address account);
    /// @notice Amounts must be at least one point.
    error PointsZeroAmount();
    /// @notice Batch arrays differ in length, or are empty.
    error PointsBadBatch(uint256 members, uint256 amounts, uint256 refs);
    /// @notice A gift memo is longer than `max` bytes.
    error PointsMemoTooLong(uint256 length, uint256 max);
    /// @notice Only the member registry may call this.
    error PointsOnlyRegistry(address caller);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `amount` points were issued to `member` for `reason`, with external reference `ref`.
    event PointsIssued(address indexed member, uint256 amount, bytes32 indexed reason, bytes32 ref);
    /// @notice `member` redeemed `amount` points (burned) against `ref`; `by` is who submitted it.
    event PointsRedeemed(address indexed member, uint256 amount, bytes32 ref, address indexed by);
    /// @notice The brand forfeited (burned) `amount` of `member`'s points for `reason`.
    event PointsForfeited(
        address indexed member, uint256 amount, bytes32 indexed reason, address indexed by
    );
    /// @notice `from` gave `to` `amount` points with a short `memo`.
    event PointsGifted(address indexed from, address indexed to, uint256 amount, string memo);
    /// @notice The registry moved all `amount` points of `lostWallet` to `newWallet`.
    event PointsRecovered(address indexed lostWallet, address indexed newWallet, uint256 amount);

    /*//////////////////////////////////////////////////////////////
                               OPERATIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Issues `amount` new points to `member` (issuer).
    function issue(address member, uint256 amount, bytes32 reason, bytes32 ref) external;

    /// @notice Issues `amounts[i]` to `members[i]` with reference `refs[i]`, one reason for all
    /// (issuer).
    function issueBatch(
        address[] calldata members,
        uint256[] calldata amounts,
        bytes32 reason,
        bytes32[] calldata refs
    ) external;

    /// @notice Burns `amount` of the caller's own points against `ref` (the holder's consent is
    /// the call itself, direct or through the forwarder).
    function redeem(uint256 amount, bytes32 ref) external;

    /// @notice Burns `amount` of `member`'s points against `ref`, spending the allowance the
    /// member gave the caller (redeemer).
    function redeemFrom(address member, uint256 amount, bytes32 ref) external;

    /// @notice `redeemFrom` after applying the member's ERC-2612 permit for exactly `amount`
    /// (redeemer), so one relayed transaction carries the member's signed consent.
    function redeemWithPermit(
        address member,
        uint256 amount,
        bytes32 ref,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Burns `amount` of `member`'s points without consent, for `reason` such as expiry
    /// or fraud (brand admin). Works on frozen accounts.
    function forfeit(address member, uint256 amount, bytes32 reason) external;

    /// @notice Transfers `amount` of the caller's points to `to` with a `memo` (at most
    /// MAX_MEMO_BYTES bytes).
    function gift(address to, uint256 amount, string calldata memo) external;

    /// @notice Moves every point of `lostWallet` to `newWallet` (registry only; ignores pause and
    /// freeze, which are the reason recovery exists).
    function recover(address lostWallet, address newWallet) external;

    /// @notice Stops every issue, redemption, forfeiture and transfer (pauser).
    function pause() external;

    /// @notice Resumes them (pauser).
    function unpause() external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The brand this program belongs to.
    function brandId() external view returns (bytes32);

    /// @notice The network's member registry.
    function registry() external view returns (address);
}
