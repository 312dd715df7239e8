// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ICoalitionExchange} from "./interfaces/ICoalitionExchange.sol";
import {ILoyaltyPoints} from "./interfaces/ILoyaltyPoints.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";

/// @title CoalitionExchange
/// @notice Swaps between partner brands' points at a rate the network operator registers and
/// both brands' admins approve, within a per-member daily cap and a total budget.
/// @dev Holds no role of its own: the operator is whoever holds OPERATOR_ROLE on the registry,
/// a brand's admin whoever holds DEFAULT_ADMIN_ROLE on that brand's points contract, both read
/// at call time (so a rotated admin acts at once). Each brand admin grants this contract
/// EXCHANGE_ROLE on its points contract; a swap then burns through `exchangeOut` and issues
/// through `exchangeIn`, and those enforce membership, freeze and each program's pause (their
/// errors reach the caller unchanged). Both hooks receive `ref = bytes32(id)`: the exchange id
/// as a big-endian uint256, so an indexer pairs the two sides of a swap with its exchange.
/// Every id-taking function reverts ExchangeUnknown for an id that was never registered.
contract CoalitionExchange is ICoalitionExchange, ERC2771Context {
    /*//////////////////////////////////////////////////////////////
                                 ROLES
    //////////////////////////////////////////////////////////////*/

    /// @dev The registry's operator role (MemberRegistry.OPERATOR_ROLE).
    bytes32 private constant _OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @dev A points contract's brand admin role (AccessControl.DEFAULT_ADMIN_ROLE).
    bytes32 private constant _BRAND_ADMIN_ROLE = 0x00;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev The points contracts of an exchange's two brands, looked up once at registration
    /// (the registry never replaces a brand's program).
    struct Programs {
        ILoyaltyPoints from;
        ILoyaltyPoints to;
    }

    /// @dev What a member spent on an exchange on its last UTC day of activity: one slot that a
    /// new day overwrites, so a member's first swap of a day writes a non-zero slot.
    struct DailySpend {
        uint64 day;
        uint128 spent;
    }

    /// @dev The network's member registry.
    IMemberRegistry private immutable _registry;

    /// @dev Exchanges by id (index).
    Exchange[] private _exchanges;
    /// @dev Points contracts by exchange id.
    mapping(uint256 id => Programs) private _programs;
    /// @dev fromBrand points each member spent per exchange on its last day of activity.
    mapping(uint256 id => mapping(address member => DailySpend)) private _spends;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry_ The network's member registry (its OPERATOR_ROLE is the operator here).
    /// @param trustedForwarder The network's ERC2771Forwarder, through which members swap.
    constructor(address registry_, address trustedForwarder) ERC2771Context(trustedForwarder) {
        _registry = IMemberRegistry(registry_);
    }

    /*//////////////////////////////////////////////////////////////
                               OPERATIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICoalitionExchange
    function registerExchange(
        bytes32 fromBrand,
        bytes32 toBrand,
        uint128 rateFrom,
        uint128 rateTo,
        uint128 dailyCap,
        uint128 budget
    ) external returns (uint256 id) {
        address sender = _msgSender();
        if (!_isOperator(sender)) revert ExchangeNotOperator(sender);
        if (fromBrand == toBrand) revert ExchangeSameBrand(fromBrand);
        if (rateFrom == 0 || rateTo == 0 || dailyCap == 0 || budget == 0) {
            revert ExchangeBadTerms(rateFrom, rateTo, dailyCap, budget);
        }
        // Reverts RegistryUnknownProgram for a brand the network does not know.
        (address pointsFrom,) = _registry.programOf(fromBrand);
        (address pointsTo,) = _registry.programOf(toBrand);

        id = _exchanges.length;
        Exchange storage exchange = _exchanges.push();
        exchange.fromBrand = fromBrand;
        exchange.toBrand = toBrand;
        exchange.rateFrom = rateFrom;
        exchange.rateTo = rateTo;
        exchange.dailyCap = dailyCap;
        exchange.budget = budget;
        _programs[id] = Programs(ILoyaltyPoints(pointsFrom), ILoyaltyPoints(pointsTo));
        emit ExchangeRegistered(id, fromBrand, toBrand, rateFrom, rateTo, dailyCap, budget);
    }

    /// @inheritdoc ICoalitionExchange
    /// @dev An account that administers both brands approves both sides in one call. Reverts
    /// ExchangeAlreadyApproved (naming the first brand the caller administers) when every side
    /// the caller administers is approved already.
    function approve(uint256 id) external {
        Exchange storage exchange = _exchange(id);
        address sender = _msgSender();
        (bool adminFrom, bool adminTo) = _brandAdmin(id, sender);
        if (!adminFrom && !adminTo) revert ExchangeNotAuthorized(id, sender);

        bool approvedFrom = exchange.approvedFrom;
        bool approvedTo = exchange.approvedTo;
        bool approvedNow;
        if (adminFrom && !approvedFrom) {
            exchange.approvedFrom = true;
            approvedFrom = true;
            approvedNow = true;
            emit ExchangeApproved(id, exchange.fromBrand, sender);
        }
        if (adminTo && !approvedTo) {
            exchange.approvedTo = true;
            approvedTo = true;
            approvedNow = true;
            emit ExchangeApproved(id, exchange.toBrand, sender);
        }
        if (!approvedNow) {
            revert ExchangeAlreadyApproved(id, adminFrom ? exchange.fromBrand : exchange.toBrand);
        }
        // This call approved at least one side, so both approved means it just opened.
        if (approvedFrom && approvedTo) emit ExchangeOpened(id);
    }

    /// @inheritdoc ICoalitionExchange
    /// @dev Sets every pause flag of the caller's (an account may be a brand admin and the
    /// operator); a flag set already stays set, without an event. Reverts ExchangeNotAuthorized
    /// for anyone else.
    function pause(uint256 id) external {
        _setPause(id, true);
    }

    /// @inheritdoc ICoalitionExchange
    /// @dev Clears the caller's own pause flags only; reverts ExchangeNotPausedBy when the caller
    /// (a brand admin or the operator) had set none, ExchangeNotAuthorized for anyone else.
    function unpause(uint256 id) external {
        _setPause(id, false);
    }

    /// @inheritdoc ICoalitionExchange
    /// @dev Checks, in order: approval (ExchangeNotApproved), pause (ExchangePaused), a result of
    /// zero (ExchangeTooSmall), the member's daily cap counted in points burned
    /// (ExchangeDailyCapExceeded), the budget counted in points issued (ExchangeBudgetExceeded).
    /// The points contracts then refuse an unregistered or frozen member (PointsNotAMember,
    /// PointsAccountFrozen), a paused program (EnforcedPause) or a short balance. Panics only if
    /// `amountIn * rateTo / rateFrom` does not fit 256 bits, which no budget could cover anyway.
    function swap(uint256 id, uint256 amountIn) external returns (uint256 burned, uint256 issued) {
        Exchange storage exchange = _exchange(id);
        if (!(exchange.approvedFrom && exchange.approvedTo)) revert ExchangeNotApproved(id);
        if (exchange.pausedFrom || exchange.pausedTo || exchange.pausedOperator) {
            revert ExchangePaused(id);
        }
        (burned, issued) = _quote(exchange.rateFrom, exchange.rateTo, amountIn);
        if (issued == 0) {
            revert ExchangeTooSmall(amountIn, Math.ceilDiv(exchange.rateFrom, exchange.rateTo));
        }

        address member = _msgSender();
        // Effects first (the counters), then the two points contracts.
        _record(exchange, id, member, burned, issued);
        Programs storage programs = _programs[id];
        bytes32 ref = bytes32(id);
        programs.from.exchangeOut(member, burned, ref);
        programs.to.exchangeIn(member, issued, ref);
        emit Swapped(
            id,
            member,
            exchange.fromBrand,
            burned,
            exchange.toBrand,
            issued,
            exchange.rateFrom,
            exchange.rateTo
        );
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICoalitionExchange
    function quote(uint256 id, uint256 amountIn)
        external
        view
        returns (uint256 burned, uint256 issued)
    {
        Exchange storage exchange = _exchange(id);
        return _quote(exchange.rateFrom, exchange.rateTo, amountIn);
    }

    /// @inheritdoc ICoalitionExchange
    function exchangeOf(uint256 id) external view returns (Exchange memory) {
        return _exchange(id);
    }

    /// @inheritdoc ICoalitionExchange
    function exchangeCount() external view returns (uint256) {
        return _exchanges.length;
    }

    /// @inheritdoc ICoalitionExchange
    function isOpen(uint256 id) external view returns (bool) {
        Exchange storage exchange = _exchange(id);
        return exchange.approvedFrom && exchange.approvedTo && !exchange.pausedFrom
            && !exchange.pausedTo && !exchange.pausedOperator;
    }

    /// @inheritdoc ICoalitionExchange
    function remainingToday(uint256 id, address member) external view returns (uint256) {
        Exchange storage exchange = _exchange(id);
        DailySpend storage spend = _spends[id][member];
        // Days are UTC calendar days: a validator's few seconds of leeway only move a swap made
        // at midnight into the day it was submitted in.
        // forge-lint: disable-next-line(block-timestamp)
        if (spend.day != block.timestamp / 1 days) return exchange.dailyCap;
        // spent <= dailyCap, as `swap` keeps it.
        unchecked {
            return exchange.dailyCap - spend.spent;
        }
    }

    /// @inheritdoc ICoalitionExchange
    function registry() external view returns (address) {
        return address(_registry);
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev Exchange `id`, or ExchangeUnknown.
    function _exchange(uint256 id) private view returns (Exchange storage) {
        if (id >= _exchanges.length) revert ExchangeUnknown(id);
        return _exchanges[id];
    }

    /// @dev issued = floor(amountIn * rateTo / rateFrom), burned = ceil(issued * rateFrom /
    /// rateTo): the least amount that buys `issued`, never more than `amountIn` (since
    /// issued * rateFrom <= amountIn * rateTo). Rates are non-zero (checked at registration).
    function _quote(uint256 rateFrom, uint256 rateTo, uint256 amountIn)
        private
        pure
        returns (uint256 burned, uint256 issued)
    {
        issued = Math.mulDiv(amountIn, rateTo, rateFrom);
        burned = Math.mulDiv(issued, rateFrom, rateTo, Math.Rounding.Ceil);
    }

    /// @dev Checks a swap of `burned` for `issued` against `member`'s daily cap on exchange `id`
    /// and the exchange's budget, then counts it in both.
    function _record(
        Exchange storage exchange,
        uint256 id,
        address member,
        uint256 burned,
        uint256 issued
    ) private {
        // A UTC day number; uint64 holds it for far longer than the chain will run.
        uint64 today = uint64(block.timestamp / 1 days);
        DailySpend storage spend = _spends[id][member];
        uint256 spentToday = spend.day == today ? spend.spent : 0;
        // spentToday <= dailyCap: every swap keeps it so, and terms never change.
        uint256 capLeft = exchange.dailyCap - spentToday;
        if (burned > capLeft) revert ExchangeDailyCapExceeded(id, member, burned, capLeft);
        uint256 issuedBefore = exchange.issued;
        // issued <= budget: every swap keeps it so, and terms never change.
        uint256 budgetLeft = exchange.budget - issuedBefore;
        if (issued > budgetLeft) revert ExchangeBudgetExceeded(id, issued, budgetLeft);

        spend.day = today;
        // At most dailyCap (checked above), a uint128: the cast keeps every bit.
        // forge-lint: disable-next-line(unsafe-typecast)
        spend.spent = uint128(spentToday + burned);
        // At most budget (checked above), a uint128: the cast keeps every bit.
        // forge-lint: disable-next-line(unsafe-typecast)
        exchange.issued = uint128(issuedBefore + issued);
    }

    /// @dev Sets (`paused`) or clears the caller's pause flags on exchange `id`, one
    /// ExchangePauseSet per flag that changes (brandId zero for the operator's).
    function _setPause(uint256 id, bool paused) private {
        Exchange storage exchange = _exchange(id);
        address sender = _msgSender();
        (bool adminFrom, bool adminTo) = _brandAdmin(id, sender);
        bool operator = _isOperator(sender);
        if (!adminFrom && !adminTo && !operator) revert ExchangeNotAuthorized(id, sender);

        bool changed;
        if (adminFrom && exchange.pausedFrom != paused) {
            exchange.pausedFrom = paused;
            changed = true;
            emit ExchangePauseSet(id, exchange.fromBrand, sender, paused);
        }
        if (adminTo && exchange.pausedTo != paused) {
            exchange.pausedTo = paused;
            changed = true;
            emit ExchangePauseSet(id, exchange.toBrand, sender, paused);
        }
        if (operator && exchange.pausedOperator != paused) {
            exchange.pausedOperator = paused;
            changed = true;
            emit ExchangePauseSet(id, bytes32(0), sender, paused);
        }
        if (!changed && !paused) revert ExchangeNotPausedBy(id, sender);
    }

    /// @dev Whether `account` administers exchange `id`'s fromBrand and toBrand programs.
    function _brandAdmin(uint256 id, address account)
        private
        view
        returns (bool adminFrom, bool adminTo)
    {
        Programs storage programs = _programs[id];
        adminFrom = IAccessControl(address(programs.from)).hasRole(_BRAND_ADMIN_ROLE, account);
        adminTo = IAccessControl(address(programs.to)).hasRole(_BRAND_ADMIN_ROLE, account);
    }

    /// @dev Whether `account` is the network operator (OPERATOR_ROLE on the registry).
    function _isOperator(address account) private view returns (bool) {
        return IAccessControl(address(_registry)).hasRole(_OPERATOR_ROLE, account);
    }
}
