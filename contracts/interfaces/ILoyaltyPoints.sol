// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC7818} from "./IERC7818.sol";

/// @title ILoyaltyPoints
/// @notice One brand's points: an ERC-20 with decimals 0 (whole points) that only registered,
/// unfrozen members of the network may hold or receive.
/// @dev Roles: DEFAULT_ADMIN_ROLE (brand admin: grants roles, forfeits), ISSUER_ROLE (issue),
/// REDEEMER_ROLE (redeem with the holder's consent: allowance or ERC-2612 permit), PAUSER_ROLE.
/// The network's ERC2771Forwarder is trusted, so a member can transfer, gift and redeem by
/// signing an EIP-712 ForwardRequest that a relayer submits (the member holds no ETH).
/// Reason codes and references are bytes32: reasons are short ASCII words left-aligned
/// ("purchase", "signup", "review", "referral", "survey", "visit", "adjustment", "dormant",
/// "fraud" ...); a reference is an order or action id (ASCII up to 32 bytes, else its keccak256).
/// Value moves emit the ERC-20 Transfer event and, beside it, the domain event below.
/// EIP-20: `transfer`, `transferFrom`, `transferAtEpoch` and `transferFromAtEpoch` of 0 points
/// are normal transfers (same membership, freeze and pause rules; Transfer emitted, no balance
/// changes); issue, redeem, forfeit, gift and the exchange refuse 0 (`PointsZeroAmount`).
///
/// Expiry (ERC-7818, time-based epochs): epoch `e` starts at `epochZero + e * epochLength`.
/// Under a policy of `v` epochs (`validityDuration`, set by the brand admin; 0 = never), points
/// credited by an issue in epoch `c` form a lot that expires when epoch `c + v` starts; the lot's
/// identifier in the ERC-7818 functions is that expiry epoch, and `PERMANENT` names the lot of
/// points that never expire. A policy change applies to points issued afterwards; points held
/// keep their expiry. Every debit (transfer, gift, redemption, forfeiture, exchange, recovery)
/// takes from live lots soonest-to-expire first and the permanent lot last, and a transfer or
/// gift credits the recipient lots with the same expiries (gifting never extends validity).
/// `balanceOf` counts live lots only; `totalSupply` is issued - redeemed - forfeited, so it
/// still counts points that expired unspent (the sum of balances never exceeds it).
interface ILoyaltyPoints is IERC7818 {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `account` is not a registered member of the network.
    error PointsNotAMember(address account);
    /// @notice `account` is frozen.
    error PointsAccountFrozen(address account);
    /// @notice Amounts must be at least one point (every operation but the ERC-20 / ERC-7818
    /// transfers, which move 0 as EIP-20 requires).
    error PointsZeroAmount();
    /// @notice Batch arrays differ in length, or are empty.
    error PointsBadBatch(uint256 members, uint256 amounts, uint256 refs);
    /// @notice A gift memo is longer than `max` bytes.
    error PointsMemoTooLong(uint256 length, uint256 max);
    /// @notice Only the member registry may call this.
    error PointsOnlyRegistry(address caller);
    /// @notice The epoch length given to the constructor is zero.
    error PointsBadEpochLength();
    /// @notice A validity of `epochs` is longer than `max`.
    error PointsValidityTooLong(uint256 epochs, uint256 max);
    /// @notice A lot that expires holds at most `max` points; `amount` would pass it.
    error PointsAmountTooLarge(uint256 amount, uint256 max);
    /// @notice `sender` tried to move points of `epoch`, which has expired (ERC-7818).
    error ERC7818TransferredExpiredToken(address sender, uint256 epoch);

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
    /// @notice From epoch `fromEpoch` on, issued points stay valid `validityEpochs` epochs
    /// (0 = never); `epochZero` and `epochLength` define the (immutable) epoch clock, so a replay
    /// needs no contract call.
    event ExpiryPolicySet(
        uint256 validityEpochs,
        uint256 fromEpoch,
        uint256 epochZero,
        uint256 epochLength,
        address indexed by
    );
    /// @notice The Transfer that follows moves `value` points of lot `epoch` only (ERC-7818
    /// `transferAtEpoch`), not the soonest-to-expire ones.
    event TransferAtEpoch(address indexed from, address indexed to, uint256 epoch, uint256 value);

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

    /// @notice Burns `amount` of `member`'s points without consent, for `reason` such as dormancy
    /// or fraud (brand admin). Works on frozen accounts.
    function forfeit(address member, uint256 amount, bytes32 reason) external;

    /// @notice Transfers `amount` (at least 1) of the caller's points to `to` with a `memo` (at
    /// most MAX_MEMO_BYTES bytes).
    function gift(address to, uint256 amount, string calldata memo) external;

    /// @notice Moves every point of `lostWallet` to `newWallet` (registry only; ignores pause and
    /// freeze, which are the reason recovery exists).
    function recover(address lostWallet, address newWallet) external;

    /// @notice Sets how many epochs newly issued points stay valid, 0 for never, at most
    /// MAX_VALIDITY_EPOCHS (brand admin). Points already held keep their expiry.
    function setValidityDuration(uint256 epochs) external;

    /// @notice Burns `amount` of `member`'s points for a swap in the network's coalition exchange
    /// (exchange role); `member` must be registered and not frozen. Emits PointsRedeemed with
    /// `by` the exchange.
    function exchangeOut(address member, uint256 amount, bytes32 ref) external;

    /// @notice Issues `amount` points to `member` for a swap (exchange role), under this
    /// program's expiry policy. Emits PointsIssued with reason "exchange".
    function exchangeIn(address member, uint256 amount, bytes32 ref) external;

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

    /// @notice When epoch 0 started (UTC midnight of the deploy day), in seconds.
    function epochZero() external view returns (uint256);

    /// @notice When `epoch` starts, in seconds: lots with that expiry are valid until one second
    /// before.
    function epochStart(uint256 epoch) external view returns (uint256);

    /// @notice `account`'s live lots, soonest-to-expire first: their expiry epochs and amounts
    /// (the permanent lot is not listed: see `permanentBalanceOf`).
    function lotsOf(address account)
        external
        view
        returns (uint256[] memory expiries, uint256[] memory amounts);

    /// @notice `account`'s points that never expire.
    function permanentBalanceOf(address account) external view returns (uint256);
}
