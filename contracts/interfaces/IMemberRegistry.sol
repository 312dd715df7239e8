// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IMemberRegistry
/// @notice The permissioned part of the network: who may hold or receive any of its tokens, who
/// is frozen, which brand programs exist, and the recovery of a lost wallet to a new address.
/// @dev Roles (OpenZeppelin AccessControl): DEFAULT_ADMIN_ROLE and OPERATOR_ROLE belong to the
/// network operator; REGISTRAR_ROLE may register and deregister members (the operator grants it
/// to brands that onboard their own customers). Freeze, unfreeze, recovery and program
/// registration are operator-only.
interface IMemberRegistry {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `account` is not a registered member.
    error RegistryNotAMember(address account);
    /// @notice `account` is registered already.
    error RegistryAlreadyMember(address account);
    /// @notice `account` is frozen.
    error RegistryAccountFrozen(address account);
    /// @notice `account` is not frozen.
    error RegistryNotFrozen(address account);
    /// @notice The zero address cannot be a member, a program or a brand admin.
    error RegistryZeroAddress();
    /// @notice A program for `brandId` is registered already.
    error RegistryProgramExists(bytes32 brandId);
    /// @notice No program is registered for `brandId`.
    error RegistryUnknownProgram(bytes32 brandId);
    /// @notice A wallet cannot be recovered to itself.
    error RegistrySameAccount(address account);
    /// @notice `points` and `pass` do not both report `brandId` and this registry.
    error RegistryProgramMismatch(bytes32 brandId, address points, address pass);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `member` may now hold and receive tokens of the network.
    event MemberRegistered(address indexed member, address indexed by);
    /// @notice `member` may no longer receive tokens of the network.
    event MemberDeregistered(address indexed member, address indexed by);
    /// @notice Nothing moves from or to `member` until it is unfrozen.
    event MemberFrozen(address indexed member, address indexed by);
    /// @notice `member` may move tokens again.
    event MemberUnfrozen(address indexed member, address indexed by);
    /// @notice Every point and pass of `lostWallet` moved to `newWallet`; `lostWallet` is
    /// deregistered. Emitted after the programs' own PointsRecovered / PassRecovered events.
    event MemberRecovered(
        address indexed lostWallet, address indexed newWallet, address indexed by
    );
    /// @notice A brand program joined the network. Indexers discover programs from this event.
    event ProgramRegistered(
        bytes32 indexed brandId,
        address indexed points,
        address indexed pass,
        address admin,
        string name
    );

    /*//////////////////////////////////////////////////////////////
                              MEMBERSHIP
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers `member` (registrar or operator).
    function register(address member) external;

    /// @notice Registers every address of `members` (registrar or operator); reverts on the first
    /// one that is zero or registered already.
    function registerBatch(address[] calldata members) external;

    /// @notice Deregisters `member` (registrar or operator). Its tokens stay but cannot move.
    function deregister(address member) external;

    /// @notice Freezes `member` (operator).
    function freeze(address member) external;

    /// @notice Unfreezes `member` (operator).
    function unfreeze(address member) external;

    /// @notice Moves all points and the pass of `lostWallet` in every program to `newWallet`,
    /// which must be registered and not frozen, then deregisters `lostWallet` (operator).
    function recover(address lostWallet, address newWallet) external;

    /*//////////////////////////////////////////////////////////////
                               PROGRAMS
    //////////////////////////////////////////////////////////////*/

    /// @notice Adds a brand program (its points and pass contracts) to the network (operator).
    function registerProgram(
        bytes32 brandId,
        address points,
        address pass,
        address admin,
        string calldata name
    ) external;

    /// @notice The points and pass contracts of `brandId`; reverts when unknown.
    function programOf(bytes32 brandId) external view returns (address points, address pass);

    /// @notice How many programs the network has.
    function programCount() external view returns (uint256);

    /// @notice The `index`-th program, in registration order.
    function programAt(uint256 index)
        external
        view
        returns (bytes32 brandId, address points, address pass);

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Whether `account` is registered.
    function isMember(address account) external view returns (bool);

    /// @notice Whether `account` is frozen.
    function isFrozen(address account) external view returns (bool);

    /// @notice Whether `account` may hold and receive tokens: registered and not frozen.
    function canHold(address account) external view returns (bool);

    /// @notice Whether both `a` and `b` may hold and receive tokens: a transfer's check in one
    /// call.
    function canHoldBoth(address a, address b) external view returns (bool);

    /// @notice The index of the first of `accounts` that may not hold tokens (unregistered or
    /// frozen), or `accounts.length` when all may: one call checks a whole batch.
    function firstNonHolder(address[] calldata accounts) external view returns (uint256 index);

    /// @notice The wallet `lostWallet` was recovered to, or zero.
    function recoveredTo(address lostWallet) external view returns (address);
}
