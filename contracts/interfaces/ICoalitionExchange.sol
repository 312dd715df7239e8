// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICoalitionExchange
/// @notice Swaps between partner brands' points: an exchange converts brand `fromBrand`'s points
/// into `toBrand`'s at `rateTo` per `rateFrom` (e.g. 100 → 80), with a per-member daily cap (in
/// `fromBrand` points spent per UTC day) and a total budget (in `toBrand` points issued).
/// @dev The network operator (OPERATOR_ROLE on the member registry) registers an exchange; it
/// opens once both brands' admins (DEFAULT_ADMIN_ROLE on their points contract) approve; either
/// brand admin or the operator can pause it, and each lifts only its own pause. A swap burns the
/// member's `fromBrand` points and issues `toBrand` points in one transaction (the exchange
/// holds EXCHANGE_ROLE on both points contracts); members swap gaslessly through the network's
/// ERC2771Forwarder. Rounding never creates points: `amountOut = floor(amountIn * rateTo /
/// rateFrom)` and only `ceil(amountOut * rateFrom / rateTo)` (at most `amountIn`) is burned.
interface ICoalitionExchange {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice One exchange's terms and state.
    struct Exchange {
        bytes32 fromBrand; // points burned
        bytes32 toBrand; // points issued
        uint128 rateFrom; // `rateFrom` fromBrand points ...
        uint128 rateTo; // ... buy `rateTo` toBrand points
        uint128 dailyCap; // fromBrand points a member may spend per UTC day
        uint128 budget; // toBrand points the exchange may issue in total
        uint128 issued; // toBrand points issued so far
        bool approvedFrom; // fromBrand's admin approved
        bool approvedTo; // toBrand's admin approved
        bool pausedFrom; // paused by fromBrand's admin
        bool pausedTo; // paused by toBrand's admin
        bool pausedOperator; // paused by the operator
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice No exchange has id `id`.
    error ExchangeUnknown(uint256 id);
    /// @notice An exchange needs two different brands.
    error ExchangeSameBrand(bytes32 brandId);
    /// @notice Rates, cap and budget must be positive.
    error ExchangeBadTerms(uint256 rateFrom, uint256 rateTo, uint256 dailyCap, uint256 budget);
    /// @notice `account` is not the network operator.
    error ExchangeNotOperator(address account);
    /// @notice `account` is neither brand's admin (nor, where allowed, the operator).
    error ExchangeNotAuthorized(uint256 id, address account);
    /// @notice `brandId` approved exchange `id` already.
    error ExchangeAlreadyApproved(uint256 id, bytes32 brandId);
    /// @notice Exchange `id` still waits for a brand's approval.
    error ExchangeNotApproved(uint256 id);
    /// @notice Exchange `id` is paused.
    error ExchangePaused(uint256 id);
    /// @notice The caller has not paused exchange `id`.
    error ExchangeNotPausedBy(uint256 id, address account);
    /// @notice `amountIn` buys no point; at least `minimum` is needed.
    error ExchangeTooSmall(uint256 amountIn, uint256 minimum);
    /// @notice `member` may spend only `remaining` more today on exchange `id`.
    error ExchangeDailyCapExceeded(
        uint256 id, address member, uint256 requested, uint256 remaining
    );
    /// @notice Exchange `id` may issue only `remaining` more points.
    error ExchangeBudgetExceeded(uint256 id, uint256 requested, uint256 remaining);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The operator registered exchange `id` (closed until both brands approve).
    event ExchangeRegistered(
        uint256 indexed id,
        bytes32 indexed fromBrand,
        bytes32 indexed toBrand,
        uint256 rateFrom,
        uint256 rateTo,
        uint256 dailyCap,
        uint256 budget
    );
    /// @notice `brandId`'s admin `by` approved exchange `id`.
    event ExchangeApproved(uint256 indexed id, bytes32 indexed brandId, address by);
    /// @notice Both brands approved: exchange `id` is open (unless paused).
    event ExchangeOpened(uint256 indexed id);
    /// @notice `by` (a brand admin, `brandId`, or the operator, brandId zero) paused exchange `id`.
    event ExchangePauseSet(uint256 indexed id, bytes32 indexed brandId, address by, bool paused);
    /// @notice `member` swapped `amountIn` of `fromBrand`'s points for `amountOut` of `toBrand`'s
    /// at `rateTo` per `rateFrom`.
    event Swapped(
        uint256 indexed id,
        address indexed member,
        bytes32 fromBrand,
        uint256 amountIn,
        bytes32 toBrand,
        uint256 amountOut,
        uint256 rateFrom,
        uint256 rateTo
    );

    /*//////////////////////////////////////////////////////////////
                               OPERATIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers an exchange from `fromBrand`'s points to `toBrand`'s (operator).
    function registerExchange(
        bytes32 fromBrand,
        bytes32 toBrand,
        uint128 rateFrom,
        uint128 rateTo,
        uint128 dailyCap,
        uint128 budget
    ) external returns (uint256 id);

    /// @notice Approves exchange `id` for the caller's brand (that brand's admin); the second
    /// approval opens it.
    function approve(uint256 id) external;

    /// @notice Pauses exchange `id` for the caller's side (either brand's admin, or the operator).
    function pause(uint256 id) external;

    /// @notice Lifts the caller's own pause of exchange `id`.
    function unpause(uint256 id) external;

    /// @notice Swaps the caller's `amountIn` fromBrand points (at most; see `quote`) for toBrand
    /// points, returning what was burned and issued. The caller is the member, directly or
    /// through the forwarder.
    function swap(uint256 id, uint256 amountIn) external returns (uint256 burned, uint256 issued);

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice What `amountIn` would burn and issue on exchange `id` (rounding only; caps,
    /// budget and state are checked by `swap`).
    function quote(uint256 id, uint256 amountIn)
        external
        view
        returns (uint256 burned, uint256 issued);

    /// @notice Exchange `id`; reverts when unknown.
    function exchangeOf(uint256 id) external view returns (Exchange memory);

    /// @notice How many exchanges exist (ids are 0 .. count-1).
    function exchangeCount() external view returns (uint256);

    /// @notice Whether exchange `id` is approved by both brands and not paused.
    function isOpen(uint256 id) external view returns (bool);

    /// @notice fromBrand points `member` may still spend on exchange `id` today.
    function remainingToday(uint256 id, address member) external view returns (uint256);

    /// @notice The network's member registry.
    function registry() external view returns (address);
}
