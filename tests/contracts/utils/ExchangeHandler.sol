// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CoalitionExchange} from "../../../contracts/CoalitionExchange.sol";
import {LoyaltyPoints} from "../../../contracts/LoyaltyPoints.sol";
import {Test} from "./Test.sol";

/// @notice Drives one coalition exchange with random members, amounts, days and pauses, and
/// keeps the ghost totals the exchange invariants read. Refused actions are caught, so the
/// handler never reverts.
contract ExchangeHandler is Test {
    CoalitionExchange internal immutable exchange;
    LoyaltyPoints internal immutable pointsFrom;
    uint256 internal immutable id;
    address internal immutable pauser;

    /// @dev The members who swap.
    address[] public actors;

    /// @dev toBrand points issued by successful swaps.
    uint256 public ghostIssued;
    /// @dev fromBrand points burned by successful swaps.
    uint256 public ghostBurned;
    /// @dev Successful swaps, to show the campaign exercised them.
    uint256 public swaps;
    /// @dev Set when a swap burned more than it was asked to, or issued more than its rate allows.
    bool public ghostBadRounding;
    /// @dev Set when a member spent more than the daily cap on one UTC day.
    bool public ghostCapBroken;
    /// @dev Set when a swap succeeded while the exchange was paused.
    bool public ghostSwappedWhilePaused;

    /// @dev fromBrand points each member burned per UTC day.
    mapping(uint256 day => mapping(address member => uint256 burned)) public ghostSpent;

    constructor(
        CoalitionExchange exchange_,
        LoyaltyPoints pointsFrom_,
        uint256 id_,
        address pauser_,
        address[] memory actors_
    ) {
        exchange = exchange_;
        pointsFrom = pointsFrom_;
        id = id_;
        pauser = pauser_;
        actors = actors_;
    }

    /*//////////////////////////////////////////////////////////////
                                ACTIONS
    //////////////////////////////////////////////////////////////*/

    function swap(uint256 seed, uint256 amountIn) external {
        address member = actors[seed % actors.length];
        // Around what the member may spend (cap left today, balance), so swaps mostly pass and
        // the edges (one point too many, zero) come up often.
        uint256 balance = pointsFrom.balanceOf(member);
        uint256 capLeft = exchange.remainingToday(id, member);
        amountIn = bound(amountIn, 0, (capLeft < balance ? capLeft : balance) + 2);
        bool wasOpen = exchange.isOpen(id);
        vm.prank(member);
        try exchange.swap(id, amountIn) returns (uint256 burned, uint256 issued) {
            CoalitionExchange.Exchange memory terms = exchange.exchangeOf(id);
            if (burned > amountIn || issued * terms.rateFrom > burned * terms.rateTo) {
                ghostBadRounding = true;
            }
            if (!wasOpen) ghostSwappedWhilePaused = true;
            uint256 day = block.timestamp / 1 days;
            ghostSpent[day][member] += burned;
            if (ghostSpent[day][member] > terms.dailyCap) ghostCapBroken = true;
            ghostIssued += issued;
            ghostBurned += burned;
            swaps++;
        } catch {}
    }

    /// @dev Moves time forward by up to two days.
    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 2 days));
    }

    /// @dev Unpauses, or pauses one time in four, so most swaps run open.
    function togglePause(uint256 seed) external {
        bool open = exchange.isOpen(id);
        if (open && seed % 4 != 0) return;
        vm.prank(pauser);
        if (open) exchange.pause(id);
        else exchange.unpause(id);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }
}
