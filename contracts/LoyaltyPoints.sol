// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IERC7818} from "./interfaces/IERC7818.sol";
import {ILoyaltyPoints} from "./interfaces/ILoyaltyPoints.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";

/// @title LoyaltyPoints
/// @notice One brand's points (ERC-20, decimals 0) that only registered, unfrozen members hold.
/// @dev Every balance change goes through `_move`, the single choke point: it asks `_authorize`
/// (every permission rule: pause, membership, freeze) and then writes balances through
/// `_credit` / `_take` / `_takeAt`, the only code that touches them. OpenZeppelin's `_update` (reached by
/// `transferFrom`) is a thin wrapper into it; `transfer` calls it directly. `issueBatch` also
/// moves each recipient's points through `_move` (as Op.IssueInBatch), but checks the rules for
/// the whole batch in one registry call (`_authorizeIssueBatch`, next to `_authorize`) and adds
/// the batch total to the supply once. Balances live here rather than in OpenZeppelin's private
/// storage, laid out for ERC-7818 expiry:
/// - `_pointsOf[a]`: the permanent lot (points that never expire), as before expiry existed, so a
///   program that never sets a policy pays for one balance slot per holder and nothing more;
/// - `_lots[a][x >> 2]`: expiring lots packed four per slot, lot `x` (its expiry epoch) in the
///   64-bit lane `x & 3` (bits `64 * (x & 3)` up), so the lots of four consecutive epochs cost one
///   storage access;
/// - `_validity` and `_maxExpiry` (the highest expiry ever credited) share the slot of
///   Pausable's `_paused` flag, which every issue and transfer reads anyway.
/// A debit walks the slots from the current epoch's up to `_maxExpiry`'s, soonest lane first, and
/// then the permanent lot; a transfer adds what it took from a slot to the recipient's slot of the
/// same index in the same step (same expiries), and stops once it has enough. With no policy ever
/// set, `_maxExpiry` is 0 and the walk is skipped. Its cost is one storage read per slot it passes,
/// empty or not: up to the highest expiry issued so far, at most 7 slots under a validity of 24.
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
    /// @notice May burn and issue points for swaps (the network's coalition exchange).
    bytes32 public constant EXCHANGE_ROLE = keccak256("EXCHANGE_ROLE");

    /// @notice The longest gift memo, in bytes.
    uint256 public constant MAX_MEMO_BYTES = 64;
    /// @notice The lot of points that never expire, in the ERC-7818 functions.
    uint256 public constant PERMANENT = type(uint256).max;
    /// @notice The longest validity a policy may set, in epochs.
    uint256 public constant MAX_VALIDITY_EPOCHS = 1000;
    /// @notice The most points one expiring lot holds.
    uint256 public constant MAX_LOT = type(uint64).max;

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
        Recover, // registry moves a lost wallet's points; ignores pause and freeze
        ExchangeOut // burn for a swap; the holder must be a registered, unfrozen member
    }

    /// @dev keccak256("PointsIssued(address,uint256,bytes32,bytes32)"), for the batch loop's
    /// assembly (a test checks it against `PointsIssued.selector`).
    uint256 private constant _POINTS_ISSUED_EVENT =
        0x17675c9a6c545147040ee6fe5122956488dd4520338e4aa6ad50c915af83bb3c;

    /// @dev One 64-bit lane of a lots slot.
    uint256 private constant _LANE = type(uint64).max;
    /// @dev The lowest bit of lanes 1 to 3: where a carry out of lanes 0 to 2 lands in a sum.
    uint256 private constant _LANE_CARRIES = (1 << 64) | (1 << 128) | (1 << 192);

    /// @dev The brand this program belongs to.
    bytes32 private immutable _brandId;
    /// @dev The network's member registry.
    IMemberRegistry private immutable _registry;
    /// @dev When epoch 0 started: UTC midnight of the deploy day, in seconds.
    uint256 private immutable _epochZero;
    /// @dev Seconds per epoch.
    uint256 private immutable _epochLength;

    // The two policy fields come first: they pack into the slot of Pausable's `_paused` (declared
    // by a base contract just before them), which every issue and transfer reads anyway.
    /// @dev Epochs newly issued points stay valid; 0 = never expire.
    uint32 private _validity;
    /// @dev The highest expiry epoch ever credited (0: none), where a debit's walk stops.
    uint64 private _maxExpiry;

    /// @dev Permanent points (the lot that never expires) per holder.
    mapping(address account => uint256) private _pointsOf;
    /// @dev Expiring lots per holder, four per slot: lot `x` in slot `x >> 2`, lane `x & 3`.
    mapping(address account => mapping(uint256 slotIndex => uint256 lanes)) private _lots;
    /// @dev Points in existence (issued - redeemed - forfeited, expired ones included).
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
    /// @param epochLength_ Seconds per expiry epoch (at least 1); epoch 0 starts at UTC midnight
    /// of the deploy day. Points never expire until the admin sets a validity.
    constructor(
        string memory name_,
        string memory symbol_,
        bytes32 brandId_,
        address registry_,
        address trustedForwarder,
        address admin,
        uint256 epochLength_
    ) ERC20(name_, symbol_) ERC20Permit(name_) ERC2771Context(trustedForwarder) {
        if (epochLength_ == 0) revert PointsBadEpochLength();
        _brandId = brandId_;
        _registry = IMemberRegistry(registry_);
        _epochZero = block.timestamp - block.timestamp % 1 days;
        _epochLength = epochLength_;
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
        _move(address(0), member, amount, Op.Issue, 0);
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
        // One lot for the whole batch (PERMANENT under no policy): the clock and policy are read,
        // and `_maxExpiry` raised, once.
        uint256 lot = _issueLot();
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
            _move(address(0), member, amount, Op.IssueInBatch, lot);
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
        _move(member, address(0), amount, Op.Redeem, 0);
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
        _move(member, address(0), amount, Op.Forfeit, 0);
        emit PointsForfeited(member, amount, reason, _msgSender());
    }

    /// @inheritdoc ILoyaltyPoints
    function gift(address to, uint256 amount, string calldata memo) external {
        if (bytes(memo).length > MAX_MEMO_BYTES) {
            revert PointsMemoTooLong(bytes(memo).length, MAX_MEMO_BYTES);
        }
        // A gift is not an EIP-20 transfer: a gift of nothing is a mistake (`_move` lets a
        // Transfer of 0 through, as EIP-20 requires).
        if (amount == 0) revert PointsZeroAmount();
        address from = _msgSender();
        _move(from, to, amount, Op.Transfer, 0);
        emit PointsGifted(from, to, amount, memo);
    }

    /// @inheritdoc ILoyaltyPoints
    function recover(address lostWallet, address newWallet) external {
        if (msg.sender != address(_registry)) revert PointsOnlyRegistry(msg.sender);
        // Live and permanent points; expired lots stay behind (they are worth nothing).
        uint256 amount = balanceOf(lostWallet);
        if (amount == 0) return;
        _move(lostWallet, newWallet, amount, Op.Recover, 0);
        emit PointsRecovered(lostWallet, newWallet, amount);
    }

    /// @notice Moves `value` of the caller's points to `to` (both must be registered, unfrozen).
    /// @dev Straight into the choke point: skips OpenZeppelin's `_transfer` → `_update` hop on
    /// the most frequent member action (the zero-address check stays).
    function transfer(address to, uint256 value) public override(ERC20, IERC20) returns (bool) {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        _move(_msgSender(), to, value, Op.Transfer, 0);
        return true;
    }

    /// @inheritdoc IERC7818
    function transferAtEpoch(uint256 epoch, address to, uint256 value) external returns (bool) {
        _transferAtEpoch(epoch, _msgSender(), to, value);
        return true;
    }

    /// @inheritdoc IERC7818
    function transferFromAtEpoch(uint256 epoch, address from, address to, uint256 value)
        external
        returns (bool)
    {
        _spendAllowance(from, _msgSender(), value);
        _transferAtEpoch(epoch, from, to, value);
        return true;
    }

    /// @inheritdoc ILoyaltyPoints
    function setValidityDuration(uint256 epochs) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (epochs > MAX_VALIDITY_EPOCHS) {
            revert PointsValidityTooLong(epochs, MAX_VALIDITY_EPOCHS);
        }
        // epochs <= MAX_VALIDITY_EPOCHS fits in 32 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        _validity = uint32(epochs);
        emit ExpiryPolicySet(epochs, currentEpoch(), _epochZero, _epochLength, _msgSender());
    }

    /// @inheritdoc ILoyaltyPoints
    function exchangeOut(address member, uint256 amount, bytes32 ref)
        external
        onlyRole(EXCHANGE_ROLE)
    {
        _move(member, address(0), amount, Op.ExchangeOut, 0);
        emit PointsRedeemed(member, amount, ref, _msgSender());
    }

    /// @inheritdoc ILoyaltyPoints
    function exchangeIn(address member, uint256 amount, bytes32 ref)
        external
        onlyRole(EXCHANGE_ROLE)
    {
        _move(address(0), member, amount, Op.Issue, 0);
        emit PointsIssued(member, amount, "exchange", ref);
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
    function totalSupply() public view override(ERC20, IERC20) returns (uint256) {
        return _supply;
    }

    /// @notice Points `account` can use now: its live lots and its permanent points.
    function balanceOf(address account)
        public
        view
        override(ERC20, IERC20)
        returns (uint256 balance)
    {
        balance = _pointsOf[account];
        (uint256 s, uint256 last, uint256 shift) = _liveSlots();
        mapping(uint256 => uint256) storage lots = _lots[account];
        // The live points of all lots and the permanent ones add up to at most the supply (every
        // one was issued and is counted once); s <= last < 2**62.
        unchecked {
            for (; s <= last; ++s) {
                uint256 word = lots[s] >> shift;
                shift = 0;
                while (word != 0) {
                    balance += word & _LANE;
                    word >>= 64;
                }
            }
        }
    }

    /// @inheritdoc IERC7818
    function balanceOfAtEpoch(uint256 epoch, address account) external view returns (uint256) {
        if (epoch == PERMANENT) return _pointsOf[account];
        if (epoch <= currentEpoch()) return 0;
        return (_lots[account][epoch >> 2] >> ((epoch & 3) << 6)) & _LANE;
    }

    /// @inheritdoc ILoyaltyPoints
    function lotsOf(address account)
        external
        view
        returns (uint256[] memory expiries, uint256[] memory amounts)
    {
        (uint256 first, uint256 last, uint256 firstShift) = _liveSlots();
        mapping(uint256 => uint256) storage lots = _lots[account];
        uint256 n;
        // Counts, then fills: slot indices and lane shifts are tiny (s <= last < 2**62,
        // shift < 256), and n counts lanes.
        unchecked {
            for ((uint256 s, uint256 shift) = (first, firstShift); s <= last; ++s) {
                uint256 word = lots[s];
                for (; shift < 256; shift += 64) {
                    if ((word >> shift) & _LANE != 0) ++n;
                }
                shift = 0;
            }
            expiries = new uint256[](n);
            amounts = new uint256[](n);
            n = 0;
            for ((uint256 s, uint256 shift) = (first, firstShift); s <= last; ++s) {
                uint256 word = lots[s];
                for (; shift < 256; shift += 64) {
                    uint256 amount = (word >> shift) & _LANE;
                    if (amount != 0) {
                        expiries[n] = (s << 2) | (shift >> 6);
                        amounts[n] = amount;
                        ++n;
                    }
                }
                shift = 0;
            }
        }
    }

    /// @inheritdoc ILoyaltyPoints
    function permanentBalanceOf(address account) external view returns (uint256) {
        return _pointsOf[account];
    }

    /// @inheritdoc IERC7818
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - _epochZero) / _epochLength;
    }

    /// @inheritdoc ILoyaltyPoints
    function epochZero() external view returns (uint256) {
        return _epochZero;
    }

    /// @inheritdoc IERC7818
    function epochLength() external view returns (uint256) {
        return _epochLength;
    }

    /// @inheritdoc ILoyaltyPoints
    function epochStart(uint256 epoch) external view returns (uint256) {
        return _epochZero + epoch * _epochLength;
    }

    /// @inheritdoc IERC7818
    function epochType() external pure returns (EPOCH_TYPE) {
        return EPOCH_TYPE.TIME_BASED;
    }

    /// @inheritdoc IERC7818
    function validityDuration() external view returns (uint256) {
        return _validity;
    }

    /// @inheritdoc IERC7818
    function isEpochExpired(uint256 epoch) external view returns (bool) {
        return epoch <= currentEpoch();
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev Burns `member`'s points, spending the caller's allowance.
    function _redeemFrom(address member, uint256 amount, bytes32 ref) private {
        address by = _msgSender();
        _spendAllowance(member, by, amount);
        _move(member, address(0), amount, Op.Redeem, 0);
        emit PointsRedeemed(member, amount, ref, by);
    }

    /// @dev OpenZeppelin's hook, reached by `transferFrom` (and `_mint`/`_burn`, which this
    /// contract does not call): routed into the choke point, so no OpenZeppelin path bypasses it.
    function _update(address from, address to, uint256 value) internal override {
        Op op = from == address(0) ? Op.Issue : to == address(0) ? Op.Redeem : Op.Transfer;
        _move(from, to, value, op, 0);
    }

    /// @dev ERC-7818 `transferAtEpoch` for `from` (the caller, or the owner whose allowance was
    /// spent): moves `value` of lot `epoch` only, under the transfer rules.
    function _transferAtEpoch(uint256 epoch, address from, address to, uint256 value) private {
        if (epoch <= currentEpoch()) revert ERC7818TransferredExpiredToken(from, epoch);
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        _move(from, to, value, Op.Transfer, epoch);
    }

    /// @dev The single choke point for balances: checks the rules for `op`, then moves `value`
    /// points from `from` (zero: issue) to `to` (zero: burn) and emits Transfer. `lot` is, for a
    /// batch issue, the lot credited (the batch computed it once); for a debit, the one lot to
    /// take from (ERC-7818 `transferAtEpoch`, announced by TransferAtEpoch), or 0 for soonest-to-
    /// expire first (no lot is named 0: lot 0 expired when epoch 0 started). Nothing else writes
    /// `_pointsOf` or `_lots` (only `_credit` / `_take` / `_takeAt`, called from here) or `_supply`
    /// (but `issueBatch`, which adds its total once). A `value` of 0 goes to `_moveNothing`.
    function _move(address from, address to, uint256 value, Op op, uint256 lot) private {
        if (value == 0) {
            _moveNothing(from, to, op, lot);
            return;
        }
        if (op == Op.IssueInBatch) {
            // Authorized for the whole batch up front; issueBatch adds the total supply once.
            if (lot == PERMANENT) {
                // As in `_credit`, spelled out on the batch's per-recipient path: a balance never
                // exceeds the supply, and a wrap here makes the batch total overflow and revert.
                unchecked {
                    _pointsOf[to] += value;
                }
            } else {
                _credit(to, value, lot);
            }
        } else {
            _authorize(op, from, to);
            if (from == address(0)) {
                // Checked: the supply bounds every balance, so credits cannot overflow.
                _supply += value;
                _credit(to, value, _issueLot());
            } else {
                if (lot == 0) {
                    if (_maxExpiry == 0) _takePermanent(from, to, value);
                    else _take(from, to, value);
                } else {
                    _takeAt(from, to, value, lot);
                    emit TransferAtEpoch(from, to, lot, value);
                }
                if (to == address(0)) {
                    // value <= the debited balance <= supply.
                    unchecked {
                        _supply -= value;
                    }
                }
            }
        }
        emit Transfer(from, to, value);
    }

    /// @dev A move of 0 points: EIP-20 says a transfer of 0 is a normal transfer that fires
    /// Transfer, so a Transfer (only `transfer`, `transferFrom` and ERC-7818's `transferAtEpoch` /
    /// `transferFromAtEpoch` reach here with 0: `gift` refuses it first) checks the same rules
    /// and emits the same events, touching no balance; every other operation refuses 0.
    function _moveNothing(address from, address to, Op op, uint256 lot) private {
        if (op != Op.Transfer) revert PointsZeroAmount();
        _authorize(op, from, to);
        if (lot != 0) emit TransferAtEpoch(from, to, lot, 0);
        emit Transfer(from, to, 0);
    }

    /// @dev The lot an issue now goes to: PERMANENT under no policy, else the current epoch plus
    /// the validity, which raises `_maxExpiry` when it is the highest yet.
    function _issueLot() private returns (uint256 lot) {
        uint256 validity = _validity;
        if (validity == 0) return PERMANENT;
        // currentEpoch() <= block.timestamp and validity <= 1000: far below 2**64.
        unchecked {
            lot = currentEpoch() + validity;
        }
        // lot < 2**64, as above.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (lot > _maxExpiry) _maxExpiry = uint64(lot);
    }

    /// @dev Adds `value` to `to`'s lot `lot` (PERMANENT or an expiry epoch <= `_maxExpiry`).
    function _credit(address to, uint256 value, uint256 lot) private {
        if (lot == PERMANENT) {
            // A balance never exceeds the supply, whose growth is checked (per issue, or once per
            // batch, where any wrap here makes the batch total overflow and revert).
            unchecked {
                _pointsOf[to] += value;
            }
            return;
        }
        mapping(uint256 => uint256) storage lots = _lots[to];
        uint256 index = lot >> 2;
        uint256 shift = (lot & 3) << 6;
        uint256 word = lots[index];
        uint256 held = (word >> shift) & _LANE;
        // held <= _LANE, so _LANE - held cannot underflow.
        unchecked {
            if (value > _LANE - held) _revertLotOverflow(held, value);
            // held + value <= _LANE: the lane does not carry into the next.
            lots[index] = word + (value << shift);
        }
    }

    /// @dev Takes `value` from `from`'s live lots, soonest-to-expire first, then from its
    /// permanent points, and credits `to` (zero: a burn) the same lots; reverts when `from` holds
    /// fewer live points. The walk covers the slots from the current epoch's to `_maxExpiry`'s
    /// and stops as soon as `value` is met; what it takes from a slot goes into the recipient's
    /// slot of the same index at once.
    function _take(address from, address to, uint256 value) private {
        uint256 left = value;
        (uint256 s, uint256 last, uint256 shift) = _liveSlots();
        if (s <= last) {
            mapping(uint256 => uint256) storage src = _lots[from];
            mapping(uint256 => uint256) storage dst = _lots[to];
            // s <= last < 2**62 and shift < 256; per lane, a part taken is at most what the lane
            // holds (so `word - taken` borrows from no lane) and `left` only shrinks by parts it
            // covers; the recipient's sum is checked for lane carries below.
            unchecked {
                for (; s <= last; ++s) {
                    uint256 word = src[s];
                    if (word >> shift == 0) {
                        shift = 0;
                        continue;
                    }
                    uint256 taken;
                    for (; shift < 256; shift += 64) {
                        uint256 held = (word >> shift) & _LANE;
                        if (held >= left) {
                            taken |= left << shift;
                            left = 0;
                            break;
                        }
                        taken |= held << shift;
                        left -= held;
                    }
                    shift = 0;
                    if (taken == 0) continue;
                    src[s] = word - taken;
                    if (to != address(0)) {
                        uint256 had = dst[s];
                        uint256 sum = had + taken;
                        if ((sum ^ had ^ taken) & _LANE_CARRIES != 0 || sum < had) {
                            _revertLanesOverflow(had, taken);
                        }
                        dst[s] = sum;
                    }
                    if (left == 0) return;
                }
            }
        }
        uint256 permanent = _pointsOf[from];
        if (permanent < left) {
            // value - left is what the walk took (every live lot): the live balance with permanent.
            revert ERC20InsufficientBalance(from, value - left + permanent, value);
        }
        // permanent >= left, checked just above; a recipient's balance never exceeds the supply.
        unchecked {
            _pointsOf[from] = permanent - left;
            if (to != address(0)) _pointsOf[to] += left;
        }
    }

    /// @dev `_take` for a program that never had a policy: every point is permanent.
    function _takePermanent(address from, address to, uint256 value) private {
        uint256 balance = _pointsOf[from];
        if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
        // balance >= value, checked just above; a recipient's balance never exceeds the supply.
        unchecked {
            _pointsOf[from] = balance - value;
            if (to != address(0)) _pointsOf[to] += value;
        }
    }

    /// @dev Takes `value` from `from`'s lot `lot` only (live: the caller checked) and credits it
    /// to the same lot of `to`.
    function _takeAt(address from, address to, uint256 value, uint256 lot) private {
        if (lot == PERMANENT) {
            uint256 permanent = _pointsOf[from];
            if (permanent < value) revert ERC20InsufficientBalance(from, permanent, value);
            // permanent >= value; a recipient's balance never exceeds the supply.
            unchecked {
                _pointsOf[from] = permanent - value;
                _pointsOf[to] += value;
            }
            return;
        }
        uint256 index = lot >> 2;
        uint256 shift = (lot & 3) << 6;
        uint256 word = _lots[from][index];
        uint256 held = (word >> shift) & _LANE;
        if (held < value) revert ERC20InsufficientBalance(from, held, value);
        // value <= held: the lane does not borrow from the next.
        unchecked {
            _lots[from][index] = word - (value << shift);
        }
        _credit(to, value, lot);
    }

    /// @dev The live part of the lots: slots `first` to `last` (none when first > last), lanes
    /// from bit `shift` on in the first slot (the lanes below hold lots that have expired).
    function _liveSlots() private view returns (uint256 first, uint256 last, uint256 shift) {
        uint256 maxExpiry = _maxExpiry;
        // No policy was ever set: no lots, and no clock to read.
        if (maxExpiry == 0) return (1, 0, 0);
        // currentEpoch() < block.timestamp: no overflow.
        unchecked {
            uint256 next = currentEpoch() + 1;
            // No lot expires after the current epoch: no walk.
            if (maxExpiry < next) return (1, 0, 0);
            return (next >> 2, maxExpiry >> 2, (next & 3) << 6);
        }
    }

    /// @dev Reverts PointsAmountTooLarge for a lot holding `held` that would receive `value`.
    function _revertLotOverflow(uint256 held, uint256 value) private pure {
        revert PointsAmountTooLarge(
            value > type(uint256).max - held ? type(uint256).max : held + value, MAX_LOT
        );
    }

    /// @dev Reverts PointsAmountTooLarge for the first lane where `had + taken` passes MAX_LOT.
    function _revertLanesOverflow(uint256 had, uint256 taken) private pure {
        for (uint256 shift; shift < 256; shift += 64) {
            uint256 sum = ((had >> shift) & _LANE) + ((taken >> shift) & _LANE);
            if (sum > _LANE) revert PointsAmountTooLarge(sum, MAX_LOT);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 RULES
    //////////////////////////////////////////////////////////////*/

    /// @dev Every permission rule for one move, in one place: pause stops everything but
    /// recovery; an issue needs a recipient that can hold; a transfer needs both sides able to
    /// hold; a redemption needs an unfrozen holder; a forfeiture has no member rule (it is how a
    /// brand takes points from a frozen account); a recovery ignores pause and freeze (the
    /// registry has checked the new wallet); a swap out needs a holder that is a registered, unfrozen
    /// member (as the sender of a transfer). A batch issue is authorized as a whole by
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
        } else if (op == Op.ExchangeOut) {
            _requireNotPaused();
            if (!_registryAnswers(IMemberRegistry.canHold.selector, from, address(0))) {
                _revertNonHolder(from);
            }
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
