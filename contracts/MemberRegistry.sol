// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {ILoyaltyPoints} from "./interfaces/ILoyaltyPoints.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IMembershipPass} from "./interfaces/IMembershipPass.sol";

/// @title MemberRegistry
/// @notice Who may hold the network's tokens, who is frozen, which brand programs exist, and the
/// recovery of lost wallets across every program.
contract MemberRegistry is IMemberRegistry, AccessControl {
    /*//////////////////////////////////////////////////////////////
                                 ROLES
    //////////////////////////////////////////////////////////////*/

    /// @notice The network operator: freezes, recovers, registers programs and members.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Brands that onboard their own customers: register and deregister members.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Bit of a member's flags word: the account is registered.
    uint256 private constant _REGISTERED = 1;
    /// @dev Bit of a member's flags word: the account is frozen.
    uint256 private constant _FROZEN = 2;

    /// @dev A brand program's two contracts.
    struct Program {
        address points;
        address pass;
    }

    /// @dev One slot per member (bit 0 registered, bit 1 frozen), so `canHold` is one SLOAD.
    mapping(address member => uint256 flags) private _members;
    /// @dev Where each recovered wallet went.
    mapping(address lostWallet => address newWallet) private _recoveredTo;
    /// @dev Programs by brand.
    mapping(bytes32 brandId => Program) private _programs;
    /// @dev Brands in registration order.
    bytes32[] private _brandIds;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param operator The network operator (admin and operator roles).
    constructor(address operator) {
        if (operator == address(0)) revert RegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /*//////////////////////////////////////////////////////////////
                               MEMBERSHIP
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMemberRegistry
    function register(address member) external {
        _checkRegistrar();
        _register(member);
    }

    /// @inheritdoc IMemberRegistry
    function registerBatch(address[] calldata members) external {
        _checkRegistrar();
        uint256 n = members.length;
        // i < n <= calldata length, far below 2**256: the increment cannot overflow.
        for (uint256 i; i < n;) {
            _register(members[i]);
            unchecked {
                ++i;
            }
        }
    }

    /// @inheritdoc IMemberRegistry
    function deregister(address member) external {
        _checkRegistrar();
        uint256 flags = _members[member];
        if (flags & _REGISTERED == 0) revert RegistryNotAMember(member);
        // The frozen bit stays: only the operator lifts a freeze.
        _members[member] = flags & ~_REGISTERED;
        emit MemberDeregistered(member, _msgSender());
    }

    /// @inheritdoc IMemberRegistry
    function freeze(address member) external onlyRole(OPERATOR_ROLE) {
        uint256 flags = _members[member];
        if (flags & _REGISTERED == 0) revert RegistryNotAMember(member);
        if (flags & _FROZEN != 0) revert RegistryAccountFrozen(member);
        _members[member] = flags | _FROZEN;
        emit MemberFrozen(member, _msgSender());
    }

    /// @inheritdoc IMemberRegistry
    function unfreeze(address member) external onlyRole(OPERATOR_ROLE) {
        uint256 flags = _members[member];
        if (flags & _FROZEN == 0) revert RegistryNotFrozen(member);
        _members[member] = flags & ~_FROZEN;
        emit MemberUnfrozen(member, _msgSender());
    }

    /// @inheritdoc IMemberRegistry
    function recover(address lostWallet, address newWallet) external onlyRole(OPERATOR_ROLE) {
        if (lostWallet == newWallet) revert RegistrySameAccount(lostWallet);
        if (_members[lostWallet] & _REGISTERED == 0) revert RegistryNotAMember(lostWallet);
        uint256 flags = _members[newWallet];
        if (flags & _REGISTERED == 0) revert RegistryNotAMember(newWallet);
        if (flags & _FROZEN != 0) revert RegistryAccountFrozen(newWallet);

        uint256 n = _brandIds.length;
        // i < n = number of programs: the increment cannot overflow.
        for (uint256 i; i < n;) {
            Program storage program = _programs[_brandIds[i]];
            ILoyaltyPoints(program.points).recover(lostWallet, newWallet);
            IMembershipPass(program.pass).recover(lostWallet, newWallet);
            unchecked {
                ++i;
            }
        }

        _recoveredTo[lostWallet] = newWallet;
        delete _members[lostWallet];
        emit MemberRecovered(lostWallet, newWallet, _msgSender());
    }

    /*//////////////////////////////////////////////////////////////
                                PROGRAMS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMemberRegistry
    function registerProgram(
        bytes32 brandId,
        address points,
        address pass,
        address admin,
        string calldata name
    ) external onlyRole(OPERATOR_ROLE) {
        if (points == address(0) || pass == address(0) || admin == address(0)) {
            revert RegistryZeroAddress();
        }
        if (_programs[brandId].points != address(0)) revert RegistryProgramExists(brandId);
        if (
            ILoyaltyPoints(points).brandId() != brandId
                || IMembershipPass(pass).brandId() != brandId
                || ILoyaltyPoints(points).registry() != address(this)
                || IMembershipPass(pass).registry() != address(this)
        ) revert RegistryProgramMismatch(brandId, points, pass);

        _programs[brandId] = Program({points: points, pass: pass});
        _brandIds.push(brandId);
        emit ProgramRegistered(brandId, points, pass, admin, name);
    }

    /// @inheritdoc IMemberRegistry
    function programOf(bytes32 brandId) external view returns (address points, address pass) {
        Program storage program = _programs[brandId];
        points = program.points;
        if (points == address(0)) revert RegistryUnknownProgram(brandId);
        pass = program.pass;
    }

    /// @inheritdoc IMemberRegistry
    function programCount() external view returns (uint256) {
        return _brandIds.length;
    }

    /// @inheritdoc IMemberRegistry
    function programAt(uint256 index)
        external
        view
        returns (bytes32 brandId, address points, address pass)
    {
        brandId = _brandIds[index];
        Program storage program = _programs[brandId];
        (points, pass) = (program.points, program.pass);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMemberRegistry
    function isMember(address account) external view returns (bool) {
        return _members[account] & _REGISTERED != 0;
    }

    /// @inheritdoc IMemberRegistry
    function isFrozen(address account) external view returns (bool) {
        return _members[account] & _FROZEN != 0;
    }

    /// @inheritdoc IMemberRegistry
    function canHold(address account) external view returns (bool) {
        return _members[account] == _REGISTERED;
    }

    /// @inheritdoc IMemberRegistry
    function canHoldBoth(address a, address b) external view returns (bool) {
        return _members[a] == _REGISTERED && _members[b] == _REGISTERED;
    }

    /// @inheritdoc IMemberRegistry
    function firstNonHolder(address[] calldata accounts) external view returns (uint256 index) {
        // The hot path of every transfer and batch issue: one hash and one SLOAD per account.
        assembly ("memory-safe") {
            let n := accounts.length
            mstore(0x20, _members.slot)
            for {} lt(index, n) { index := add(index, 1) } {
                // Mapping key as Solidity computes it: the address, cleaned to 160 bits.
                mstore(0x00, shr(96, shl(96, calldataload(add(accounts.offset, shl(5, index))))))
                if iszero(eq(sload(keccak256(0x00, 0x40)), _REGISTERED)) { break }
            }
        }
    }

    /// @inheritdoc IMemberRegistry
    function recoveredTo(address lostWallet) external view returns (address) {
        return _recoveredTo[lostWallet];
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev Reverts unless the caller is a registrar or the operator.
    function _checkRegistrar() private view {
        address caller = _msgSender();
        if (!hasRole(REGISTRAR_ROLE, caller) && !hasRole(OPERATOR_ROLE, caller)) {
            revert AccessControlUnauthorizedAccount(caller, REGISTRAR_ROLE);
        }
    }

    /// @dev Marks `member` registered, keeping a frozen bit left by an earlier deregistration.
    function _register(address member) private {
        if (member == address(0)) revert RegistryZeroAddress();
        uint256 flags = _members[member];
        if (flags & _REGISTERED != 0) revert RegistryAlreadyMember(member);
        _members[member] = flags | _REGISTERED;
        emit MemberRegistered(member, _msgSender());
    }
}
