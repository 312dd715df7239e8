// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {ILoyaltyPoints} from "./interfaces/ILoyaltyPoints.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";

/// @title LoyaltyPoints
/// @notice One brand's points (ERC-20, decimals 0) that only registered, unfrozen members hold.
/// @dev Every balance change goes through `_move`, the single choke point: it asks `_authorize`
/// (every permission rule: pause, membership, freeze) and then writes balances through
/// `_credit` / `_debit`, the only code that touches them. OpenZeppelin's `_update` (reached by
/// `transferFrom`) is a thin wrapper into it; `transfer` calls it directly. `issueBatch` also
/// moves each recipient's points through `_move` (as Op.IssueInBatch), but checks the rules for
/// the whole batch in one registry call (`_authorizeIssueBatch`, next to `_authorize`) and adds
/// the batch total to the supply once. Balances live here rather than in OpenZeppelin's private
/// storage so their layout can change (e.g. ERC-7818 epoch expiry) in `_credit` / `_debit` alone.
contract LoyaltyPoints is ILoyaltyPoints, ERC20Permit, AccessControl, Pausable, ERC2771Context {
    /*//////////////////////////////////////////////////////////////
                                 ROLES
    //////////////////////////////////////////////////////////////*/

    /// @notice May issue points.
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    /// @notice May redeem points with the holder's consent (allowance or permit).
    bytes32 public constant REDEEMER_ROLE = keccak256("REDEEMER_ROLE");
    /// @notice May pause and unpause the program.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice The longest gift memo, in bytes.
    uint256 public constant MAX_MEMO_BYTES = 64;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev What a balance change is, which decides the rules `_move` applies.
    enum Op {
        Issue, // mint to a member that can hold; supply grows
        IssueInBatch, // as Issue, but the caller adds the batch total to the supply once
        Transfer, // both sides must be able to hold
        Redeem, // burn with the holder's consent; the holder must not be frozen
        Forfeit, // burn by the brand; works on frozen accounts
        Recover // registry moves a lost wallet's points; ignores pause and freeze
    }

    /// @dev keccak256("PointsIssued(address,uint256,bytes32,bytes32)"), for the batch loop's
    /// assembly (a test checks it against `PointsIssued.selector`).
    uint256 private constant _POINTS_ISSUED_EVENT =
        0x17675c9a6c545147040ee6fe5122956488dd4520338e4aa6ad50c915af83bb3c;

    /// @dev The brand this program belongs to.
    bytes32 private immutable _brandId;
    /// @dev The network's member registry.
    IMemberRegistry private immutable _registry;

    /// @dev Points per holder.
    mapping(address account => uint256) private _pointsOf;
    /// @dev Points in existence.
    uint256 private _supply;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param name_ Token name (also the EIP-712 domain name for permits).
    /// @param symbol_ Token symbol.
    /// @param brandId_ The brand this program belongs to.
    /// @param registry_ The network's member registry.
    /// @param trustedForwarder The network's ERC2771Forwarder.
    /// @param admin The brand admin (admin, issuer, redeemer and pauser roles).
    constructor(
        string memory name_,
        string memory symbol_,
        bytes32 brandId_,
        address registry_,
        address trustedForwarder,
        address admin
    ) ERC20(name_, symbol_) ERC20Permit(name_) ERC2771Context(trustedForwarder) {
        _brandId = brandId_;
        _registry = IMemberRegistry(registry_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ISSUER_ROLE, admin);
        _grantRole(REDEEMER_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////
                               OPERATIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ILoyaltyPoints
    function issue(address member, uint256 amount, bytes32 reason, bytes32 ref)
        external
        onlyRole(ISSUER_ROLE)
    {
        _move(address(0), member, amount, Op.Issue);
        emit PointsIssued(member, amount, reason, ref);
    }

    /// @inheritdoc ILoyaltyPoints
    function issueBatch(
        address[] calldata members,
        uint256[] calldata amounts,
        bytes32 reason,
        bytes32[] calldata refs
    ) external onlyRole(ISSUER_ROLE) {
        uint256 n = members.length;
        if (n == 0 || n != amounts.length || n != refs.length) {
            revert PointsBadBatch(n, amounts.length, refs.length);
        }
        _authorizeIssueBatch(members);
        uint256 total;
        // Per-recipient gas is the point of a batch: elements are read and PointsIssued is
        // emitted in assembly (no bounds checks: the three lengths are equal, checked above).
        for (uint256 i; i < n;) {
            address member;
            uint256 amount;
            assembly ("memory-safe") {
                let o := shl(5, i)
                // Cleaned to 160 bits, as the registry cleans it when checking the batch.
                member := shr(96, shl(96, calldataload(add(members.offset, o))))
                amount := calldataload(add(amounts.offset, o))
            }
            // Checked: a wrap here would hide an overflow of the supply below.
            total += amount;
            _move(address(0), member, amount, Op.IssueInBatch);
            // emit PointsIssued(member, amount, reason, refs[i]);
            assembly ("memory-safe") {
                mstore(0x00, amount)
                mstore(0x20, calldataload(add(refs.offset, shl(5, i))))
                log3(0x00, 0x40, _POINTS_ISSUED_EVENT, member, reason)
            }
            // i < n = calldata array length, far below 2**256: cannot overflow.
            unchecked {
                ++i;
            }
        }
        // The supply grows once per batch; checked, so it also bounds every balance credited above.
        _supply += total;
    }

    /// @inheritdoc ILoyaltyPoints
    function redeem(uint256 amount, bytes32 ref) external {
        address member = _msgSender();
        _move(member, address(0), amount, Op.Redeem);
        emit PointsRedeemed(member, amount, ref, member);
    }

    /// @inheritdoc ILoyaltyPoints
    function redeemFrom(address member, uint256 amount, bytes32 ref)
        external
        onlyRole(REDEEMER_ROLE)
    {
        _redeemFrom(member, amount, ref);
    }

    /// @inheritdoc ILoyaltyPoints
    function redeemWithPermit(
        address member,
        uint256 amount,
        bytes32 ref,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external onlyRole(REDEEMER_ROLE) {
        permit(member, _msgSender(), amount, deadline, v, r, s);
        _redeemFrom(member, amount, ref);
    }

    /// @inheritdoc ILoyaltyPoints
    function forfeit(address member, uint256 amount, bytes32 reason)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _move(member, address(0), amount, Op.Forfeit);
        emit PointsForfeited(member, amount, reason, _msgSender());
    }

    /// @inheritdoc ILoyaltyPoints
    function gift(address to, uint256 amount, string calldata memo) external {
        if (bytes(memo).length > MAX_MEMO_BYTES) {
            revert PointsMemoTooLong(bytes(memo).length, MAX_MEMO_BYTES);
        }
        address from = _msgSender();
        _move(from, to, amount, Op.Transfer);
        emit PointsGifted(from, to, amount, memo);
    }

    /// @inheritdoc ILoyaltyPoints
    function recover(address lostWallet, address newWallet) external {
        if (msg.sender != address(_registry)) revert PointsOnlyRegistry(msg.sender);
        uint256 amount = _pointsOf[lostWallet];
        if (amount == 0) return;
        _move(lostWallet, newWallet, amount, Op.Recover);
        emit PointsRecovered(lostWallet, newWallet, amount);
    }

    /// @notice Moves `value` of the caller's points to `to` (both must be registered, unfrozen).
    /// @dev Straight into the choke point: skips OpenZeppelin's `_transfer` → `_update` hop on
    /// the most frequent member action (the zero-address check stays).
    function transfer(address to, uint256 value) public override returns (bool) {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        _move(_msgSender(), to, value, Op.Transfer);
        return true;
    }

    /// @inheritdoc ILoyaltyPoints
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ILoyaltyPoints
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ILoyaltyPoints
    function brandId() external view returns (bytes32) {
        return _brandId;
    }

    /// @inheritdoc ILoyaltyPoints
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @notice Points are whole numbers.
    function decimals() public pure override returns (uint8) {
        return 0;
    }

    /// @notice Points in existence.
    function totalSupply() public view override returns (uint256) {
        return _supply;
    }

    /// @notice Points held by `account`.
    function balanceOf(address account) public view override returns (uint256) {
        return _pointsOf[account];
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev Burns `member`'s points, spending the caller's allowance.
    function _redeemFrom(address member, uint256 amount, bytes32 ref) private {
        address by = _msgSender();
        _spendAllowance(member, by, amount);
        _move(member, address(0), amount, Op.Redeem);
        emit PointsRedeemed(member, amount, ref, by);
    }

    /// @dev OpenZeppelin's hook, reached by `transferFrom` (and `_mint`/`_burn`, which this
    /// contract does not call): routed into the choke point, so no OpenZeppelin path bypasses it.
    function _update(address from, address to, uint256 value) internal override {
        Op op = from == address(0) ? Op.Issue : to == address(0) ? Op.Redeem : Op.Transfer;
        _move(from, to, value, op);
    }

    /// @dev The single choke point for balances: checks the rules for `op`, then moves `value`
    /// points from `from` (zero: issue) to `to` (zero: burn) and emits Transfer. Nothing else
    /// writes `_pointsOf` (only `_credit` / `_debit`, called from here) or `_supply` (but
    /// `issueBatch`, which adds its total once).
    function _move(address from, address to, uint256 value, Op op) private {
        if (value == 0) revert PointsZeroAmount();
        if (op == Op.IssueInBatch) {
            // Authorized for the whole batch up front; issueBatch adds the total supply once.
            _credit(to, value);
        } else {
            _authorize(op, from, to);
            if (from == address(0)) {
                // Checked: the supply bounds every balance, so credits cannot overflow.
                _supply += value;
            } else {
                _debit(from, value);
            }
            if (to == address(0)) {
                // value <= the debited balance <= supply.
                unchecked {
                    _supply -= value;
                }
            } else {
                _credit(to, value);
            }
        }
        emit Transfer(from, to, value);
    }

    /// @dev Adds `value` to `to`'s balance.
    function _credit(address to, uint256 value) private {
        // A balance never exceeds the supply, whose growth is checked (per issue, or once per
        // batch, where any wrap here makes the batch total overflow and revert).
        unchecked {
            _pointsOf[to] += value;
        }
    }

    /// @dev Takes `value` from `from`'s balance, reverting when it holds less.
    function _debit(address from, uint256 value) private {
        uint256 balance = _pointsOf[from];
        if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
        // balance >= value, checked just above.
        unchecked {
            _pointsOf[from] = balance - value;
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 RULES
    //////////////////////////////////////////////////////////////*/

    /// @dev Every permission rule for one move, in one place: pause stops everything but
    /// recovery; an issue needs a recipient that can hold; a transfer needs both sides able to
    /// hold; a redemption needs an unfrozen holder; a forfeiture has no member rule (it is how a
    /// brand takes points from a frozen account); a recovery ignores pause and freeze (the
    /// registry has checked the new wallet). A batch issue is authorized as a whole by
    /// `_authorizeIssueBatch` (same rules, one registry call) and never reaches here.
    function _authorize(Op op, address from, address to) private view {
        if (op == Op.Transfer) {
            _requireNotPaused();
            if (!_registryAnswers(IMemberRegistry.canHoldBoth.selector, from, to)) {
                _revertNonHolder(_registry.canHold(from) ? to : from);
            }
        } else if (op == Op.Issue) {
            _requireNotPaused();
            if (!_registryAnswers(IMemberRegistry.canHold.selector, to, address(0))) {
                _revertNonHolder(to);
            }
        } else if (op == Op.Redeem) {
            _requireNotPaused();
            if (_registry.isFrozen(from)) revert PointsAccountFrozen(from);
        } else if (op == Op.Forfeit) {
            _requireNotPaused();
        }
    }

    /// @dev The Issue rules for every recipient of a batch, with one registry call.
    function _authorizeIssueBatch(address[] calldata members) private view {
        _requireNotPaused();
        uint256 bad = _firstNonHolder(members);
        if (bad != members.length) _revertNonHolder(members[bad]);
    }

    /// @dev Reverts with why `account` may not hold (called once the registry said it may not).
    function _revertNonHolder(address account) private view {
        if (!_registry.isMember(account)) revert PointsNotAMember(account);
        revert PointsAccountFrozen(account);
    }

    /// @dev The registry's bool answer to `selector(a, b)` (`canHold(a)` ignores `b`), without
    /// allocating or ABI-decoding: this is on the path of every issue and transfer. A failed or
    /// short answer reads as false, so the caller's slow path reverts with the reason.
    function _registryAnswers(bytes4 selector, address a, address b)
        private
        view
        returns (bool yes)
    {
        address reg = address(_registry);
        assembly ("memory-safe") {
            // Built in free memory, which is not allocated: nothing else uses it meanwhile.
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), a)
            mstore(add(ptr, 0x24), b)
            let ok := staticcall(gas(), reg, ptr, 0x44, 0x00, 0x20)
            yes := and(and(ok, gt(returndatasize(), 0x1f)), eq(mload(0x00), 1))
        }
    }

    /// @dev `registry.firstNonHolder(accounts)`, forwarding the calldata list as it is: the
    /// hot path of `issueBatch`, where re-encoding every element would cost gas per recipient.
    function _firstNonHolder(address[] calldata accounts) private view returns (uint256 index) {
        address reg = address(_registry);
        bytes4 selector = IMemberRegistry.firstNonHolder.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), 0x20)
            mstore(add(ptr, 0x24), accounts.length)
            let size := shl(5, accounts.length)
            calldatacopy(add(ptr, 0x44), accounts.offset, size)
            let ok := staticcall(gas(), reg, ptr, add(0x44, size), 0x00, 0x20)
            if iszero(and(ok, gt(returndatasize(), 0x1f))) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            index := mload(0x00)
        }
    }

    /*//////////////////////////////////////////////////////////////
                          CONTEXT (ERC-2771)
    //////////////////////////////////////////////////////////////*/

    /// @dev The member who signed a forwarded request, else the caller.
    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    /// @dev The calldata without the forwarder's appended sender.
    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    /// @dev 20 bytes (the sender) when called through the trusted forwarder.
    function _contextSuffixLength()
        internal
        view
        override(Context, ERC2771Context)
        returns (uint256)
    {
        return ERC2771Context._contextSuffixLength();
    }
}
