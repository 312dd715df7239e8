// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {CoalitionExchange} from "../../contracts/CoalitionExchange.sol";
import {LoyaltyPoints} from "../../contracts/LoyaltyPoints.sol";
import {ICoalitionExchange} from "../../contracts/interfaces/ICoalitionExchange.sol";
import {ILoyaltyPoints} from "../../contracts/interfaces/ILoyaltyPoints.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {Deployers} from "./utils/Deployers.sol";
import {ExchangeHandler} from "./utils/ExchangeHandler.sol";

/// @notice The exchange deployed on the shared network, with EXCHANGE_ROLE on both brands.
abstract contract ExchangeFixture is Deployers {
    bytes32 internal constant EXCHANGE_REASON = "exchange";

    CoalitionExchange internal exchange;

    function deployExchange() internal {
        deployNetwork();
        exchange = new CoalitionExchange(address(registry), address(forwarder));
        vm.startPrank(adminA);
        pointsA.grantRole(pointsA.EXCHANGE_ROLE(), address(exchange));
        vm.stopPrank();
        vm.startPrank(adminB);
        pointsB.grantRole(pointsB.EXCHANGE_ROLE(), address(exchange));
        vm.stopPrank();
    }

    /// @dev Registers an exchange from brand A to brand B (operator).
    function register(uint256 rateFrom, uint256 rateTo, uint256 dailyCap, uint256 budget)
        internal
        returns (uint256 id)
    {
        vm.prank(operator);
        id = exchange.registerExchange(
            BRAND_A,
            BRAND_B,
            SafeCast.toUint128(rateFrom),
            SafeCast.toUint128(rateTo),
            SafeCast.toUint128(dailyCap),
            SafeCast.toUint128(budget)
        );
    }

    /// @dev Registers an exchange from brand A to brand B and has both admins approve it.
    function open(uint256 rateFrom, uint256 rateTo, uint256 dailyCap, uint256 budget)
        internal
        returns (uint256 id)
    {
        id = register(rateFrom, rateTo, dailyCap, budget);
        vm.prank(adminA);
        exchange.approve(id);
        vm.prank(adminB);
        exchange.approve(id);
    }
}

contract CoalitionExchangeTest is ExchangeFixture {
    uint128 internal constant RATE_FROM = 100;
    uint128 internal constant RATE_TO = 80;
    uint128 internal constant DAILY_CAP = 1000;
    uint128 internal constant BUDGET = 10_000;

    /// @dev A → B at 100 → 80, cap 1000 A per day, budget 10 000 B; registered, not approved.
    uint256 internal id;

    function setUp() public {
        deployExchange();
        id = register(RATE_FROM, RATE_TO, DAILY_CAP, BUDGET);
        issueA(alice, 5000);
        issueA(bob, 5000);
    }

    function approveBoth() internal {
        vm.prank(adminA);
        exchange.approve(id);
        vm.prank(adminB);
        exchange.approve(id);
    }

    function swapAs(address member, uint256 amountIn)
        internal
        returns (uint256 burned, uint256 issued)
    {
        vm.prank(member);
        return exchange.swap(id, amountIn);
    }

    /*//////////////////////////////////////////////////////////////
                                REGISTER
    //////////////////////////////////////////////////////////////*/

    function test_RegisterExchange() public {
        vm.expectEmit(true, true, true, true, address(exchange));
        emit ICoalitionExchange.ExchangeRegistered(1, BRAND_B, BRAND_A, 3, 7, 50, 900);
        vm.prank(operator);
        uint256 second = exchange.registerExchange(BRAND_B, BRAND_A, 3, 7, 50, 900);

        assertEq(second, 1);
        assertEq(exchange.exchangeCount(), 2);
        ICoalitionExchange.Exchange memory terms = exchange.exchangeOf(second);
        assertEq(terms.fromBrand, BRAND_B);
        assertEq(terms.toBrand, BRAND_A);
        assertEq(terms.rateFrom, 3);
        assertEq(terms.rateTo, 7);
        assertEq(terms.dailyCap, 50);
        assertEq(terms.budget, 900);
        assertEq(terms.issued, 0);
        assertFalse(terms.approvedFrom || terms.approvedTo);
        assertFalse(terms.pausedFrom || terms.pausedTo || terms.pausedOperator);
        assertFalse(exchange.isOpen(second));
        assertEq(exchange.remainingToday(second, alice), 50);
        assertEq(exchange.registry(), address(registry));
        assertTrue(exchange.isTrustedForwarder(address(forwarder)));
    }

    function test_RevertWhen_RegisterCallerNotOperator() public {
        address[3] memory callers = [adminA, adminB, alice];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(ICoalitionExchange.ExchangeNotOperator.selector, callers[i])
            );
            vm.prank(callers[i]);
            exchange.registerExchange(BRAND_A, BRAND_B, 1, 1, 1, 1);
        }
        assertEq(exchange.exchangeCount(), 1);
    }

    function test_RevertWhen_RegisterSameBrand() public {
        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeSameBrand.selector, BRAND_A)
        );
        vm.prank(operator);
        exchange.registerExchange(BRAND_A, BRAND_A, 1, 1, 1, 1);
    }

    function test_RevertWhen_RegisterBadTerms() public {
        uint128[4][4] memory cases = [
            [uint128(0), 1, 1, 1],
            [uint128(1), 0, 1, 1],
            [uint128(1), 1, 0, 1],
            [uint128(1), 1, 1, 0]
        ];
        for (uint256 i; i < cases.length; ++i) {
            uint128[4] memory t = cases[i];
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICoalitionExchange.ExchangeBadTerms.selector, t[0], t[1], t[2], t[3]
                )
            );
            vm.prank(operator);
            exchange.registerExchange(BRAND_A, BRAND_B, t[0], t[1], t[2], t[3]);
        }
    }

    function test_RevertWhen_RegisterUnknownBrand() public {
        bytes32 unknown = "brand-x";
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RegistryUnknownProgram.selector, unknown)
        );
        vm.prank(operator);
        exchange.registerExchange(unknown, BRAND_B, 1, 1, 1, 1);

        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RegistryUnknownProgram.selector, unknown)
        );
        vm.prank(operator);
        exchange.registerExchange(BRAND_A, unknown, 1, 1, 1, 1);
    }

    function test_RevertWhen_ExchangeUnknown() public {
        bytes memory unknown =
            abi.encodeWithSelector(ICoalitionExchange.ExchangeUnknown.selector, 1);
        vm.expectRevert(unknown);
        exchange.exchangeOf(1);
        vm.expectRevert(unknown);
        exchange.quote(1, 100);
        vm.expectRevert(unknown);
        exchange.isOpen(1);
        vm.expectRevert(unknown);
        exchange.remainingToday(1, alice);
        vm.expectRevert(unknown);
        vm.prank(adminA);
        exchange.approve(1);
        vm.expectRevert(unknown);
        vm.prank(operator);
        exchange.pause(1);
        vm.expectRevert(unknown);
        vm.prank(operator);
        exchange.unpause(1);
        vm.expectRevert(unknown);
        vm.prank(alice);
        exchange.swap(1, 100);
    }

    /*//////////////////////////////////////////////////////////////
                               APPROVALS
    //////////////////////////////////////////////////////////////*/

    function test_ApproveBothSidesOpens() public {
        vm.expectEmit(true, true, false, true, address(exchange));
        emit ICoalitionExchange.ExchangeApproved(id, BRAND_A, adminA);
        vm.recordLogs();
        vm.prank(adminA);
        exchange.approve(id);
        // One side only: approved, still closed, and no ExchangeOpened.
        assertEq(vm.getRecordedLogs().length, 1);
        assertTrue(exchange.exchangeOf(id).approvedFrom);
        assertFalse(exchange.isOpen(id));

        vm.expectEmit(true, true, false, true, address(exchange));
        emit ICoalitionExchange.ExchangeApproved(id, BRAND_B, adminB);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit ICoalitionExchange.ExchangeOpened(id);
        vm.prank(adminB);
        exchange.approve(id);
        assertTrue(exchange.exchangeOf(id).approvedTo);
        assertTrue(exchange.isOpen(id));
    }

    function test_ApproveToSideFirst() public {
        vm.prank(adminB);
        exchange.approve(id);
        assertTrue(exchange.exchangeOf(id).approvedTo);
        assertFalse(exchange.exchangeOf(id).approvedFrom);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit ICoalitionExchange.ExchangeOpened(id);
        vm.prank(adminA);
        exchange.approve(id);
        assertTrue(exchange.isOpen(id));
    }

    function test_RevertWhen_ApproveCallerNotBrandAdmin() public {
        // The operator registers but cannot approve for a brand; members and strangers neither.
        address[3] memory callers = [operator, alice, stranger];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICoalitionExchange.ExchangeNotAuthorized.selector, id, callers[i]
                )
            );
            vm.prank(callers[i]);
            exchange.approve(id);
        }
        // An issuer of brand A is not its admin.
        address issuer = makeAddr("issuerA");
        vm.startPrank(adminA);
        pointsA.grantRole(pointsA.ISSUER_ROLE(), issuer);
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeNotAuthorized.selector, id, issuer)
        );
        vm.prank(issuer);
        exchange.approve(id);
    }

    function test_RevertWhen_ApproveTwice() public {
        vm.prank(adminA);
        exchange.approve(id);
        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeAlreadyApproved.selector, id, BRAND_A)
        );
        vm.prank(adminA);
        exchange.approve(id);

        vm.prank(adminB);
        exchange.approve(id);
        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeAlreadyApproved.selector, id, BRAND_B)
        );
        vm.prank(adminB);
        exchange.approve(id);
    }

    function test_ApproveAdminOfBothBrands() public {
        vm.startPrank(adminB);
        pointsB.grantRole(pointsB.DEFAULT_ADMIN_ROLE(), adminA);
        vm.stopPrank();

        vm.expectEmit(true, true, false, true, address(exchange));
        emit ICoalitionExchange.ExchangeApproved(id, BRAND_A, adminA);
        vm.expectEmit(true, true, false, true, address(exchange));
        emit ICoalitionExchange.ExchangeApproved(id, BRAND_B, adminA);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit ICoalitionExchange.ExchangeOpened(id);
        vm.prank(adminA);
        exchange.approve(id);
        assertTrue(exchange.isOpen(id));

        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeAlreadyApproved.selector, id, BRAND_A)
        );
        vm.prank(adminA);
        exchange.approve(id);
    }

    function test_ApproveByRotatedAdmin() public {
        // Admin rights are read from the points contract at call time.
        address newAdminB = makeAddr("newAdminB");
        vm.startPrank(adminB);
        pointsB.grantRole(pointsB.DEFAULT_ADMIN_ROLE(), newAdminB);
        pointsB.renounceRole(pointsB.DEFAULT_ADMIN_ROLE(), adminB);
        vm.stopPrank();

        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeNotAuthorized.selector, id, adminB)
        );
        vm.prank(adminB);
        exchange.approve(id);

        vm.expectEmit(true, true, false, true, address(exchange));
        emit ICoalitionExchange.ExchangeApproved(id, BRAND_B, newAdminB);
        vm.prank(newAdminB);
        exchange.approve(id);
    }

    function test_RevertWhen_SwapBeforeFullApproval() public {
        bytes memory notApproved =
            abi.encodeWithSelector(ICoalitionExchange.ExchangeNotApproved.selector, id);
        vm.expectRevert(notApproved);
        swapAs(alice, 100);

        vm.prank(adminA);
        exchange.approve(id);
        vm.expectRevert(notApproved);
        swapAs(alice, 100);

        vm.prank(adminB);
        exchange.approve(id);
        swapAs(alice, 100);
        assertEq(pointsB.balanceOf(alice), 80);
    }

    /*//////////////////////////////////////////////////////////////
                                 PAUSE
    //////////////////////////////////////////////////////////////*/

    function test_PauseByEachParty() public {
        approveBoth();
        address[3] memory pausers = [adminA, adminB, operator];
        bytes32[3] memory sides = [BRAND_A, BRAND_B, bytes32(0)];
        for (uint256 i; i < pausers.length; ++i) {
            vm.expectEmit(true, true, false, true, address(exchange));
            emit ICoalitionExchange.ExchangePauseSet(id, sides[i], pausers[i], true);
            vm.prank(pausers[i]);
            exchange.pause(id);
            assertFalse(exchange.isOpen(id));

            vm.expectRevert(abi.encodeWithSelector(ICoalitionExchange.ExchangePaused.selector, id));
            swapAs(alice, 100);

            vm.expectEmit(true, true, false, true, address(exchange));
            emit ICoalitionExchange.ExchangePauseSet(id, sides[i], pausers[i], false);
            vm.prank(pausers[i]);
            exchange.unpause(id);
            assertTrue(exchange.isOpen(id));
        }
        swapAs(alice, 100);
        assertEq(pointsB.balanceOf(alice), 80);
    }

    function test_PauseFlags() public {
        vm.prank(adminA);
        exchange.pause(id);
        vm.prank(adminB);
        exchange.pause(id);
        vm.prank(operator);
        exchange.pause(id);
        ICoalitionExchange.Exchange memory terms = exchange.exchangeOf(id);
        assertTrue(terms.pausedFrom && terms.pausedTo && terms.pausedOperator);
    }

    function test_UnpauseLiftsOnlyOwnFlag() public {
        approveBoth();
        vm.prank(adminA);
        exchange.pause(id);
        vm.prank(operator);
        exchange.pause(id);

        vm.prank(adminA);
        exchange.unpause(id);
        // The operator's pause still holds.
        assertFalse(exchange.isOpen(id));
        assertTrue(exchange.exchangeOf(id).pausedOperator);
        vm.expectRevert(abi.encodeWithSelector(ICoalitionExchange.ExchangePaused.selector, id));
        swapAs(alice, 100);

        vm.prank(operator);
        exchange.unpause(id);
        assertTrue(exchange.isOpen(id));
    }

    function test_RevertWhen_UnpauseOtherPartysPause() public {
        approveBoth();
        vm.prank(adminA);
        exchange.pause(id);

        address[2] memory others = [adminB, operator];
        for (uint256 i; i < others.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICoalitionExchange.ExchangeNotPausedBy.selector, id, others[i]
                )
            );
            vm.prank(others[i]);
            exchange.unpause(id);
        }
        assertTrue(exchange.exchangeOf(id).pausedFrom);
        assertFalse(exchange.isOpen(id));
    }

    function test_RevertWhen_PauseCallerNotAuthorized() public {
        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeNotAuthorized.selector, id, alice)
        );
        vm.prank(alice);
        exchange.pause(id);

        vm.prank(adminA);
        exchange.pause(id);
        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeNotAuthorized.selector, id, alice)
        );
        vm.prank(alice);
        exchange.unpause(id);
    }

    function test_PauseTwiceIsNoop() public {
        vm.prank(operator);
        exchange.pause(id);
        vm.recordLogs();
        vm.prank(operator);
        exchange.pause(id);
        assertEq(vm.getRecordedLogs().length, 0);
        assertTrue(exchange.exchangeOf(id).pausedOperator);
    }

    function test_PauseBeforeApprovalKeepsItClosed() public {
        vm.prank(adminB);
        exchange.pause(id);
        approveBoth();
        assertFalse(exchange.isOpen(id));
        vm.expectRevert(abi.encodeWithSelector(ICoalitionExchange.ExchangePaused.selector, id));
        swapAs(alice, 100);
    }

    /*//////////////////////////////////////////////////////////////
                                  SWAP
    //////////////////////////////////////////////////////////////*/

    function test_Swap() public {
        approveBoth();
        bytes32 ref = bytes32(id);
        // 126 A buy floor(126 * 80 / 100) = 100 B, which cost only 125 A.
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, address(0), 125);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsRedeemed(alice, 125, ref, address(exchange));
        vm.expectEmit(true, true, false, true, address(pointsB));
        emit IERC20.Transfer(address(0), alice, 100);
        vm.expectEmit(true, true, false, true, address(pointsB));
        emit ILoyaltyPoints.PointsIssued(alice, 100, EXCHANGE_REASON, ref);
        vm.expectEmit(true, true, false, true, address(exchange));
        emit ICoalitionExchange.Swapped(id, alice, BRAND_A, 125, BRAND_B, 100, 100, 80);
        (uint256 burned, uint256 issued) = swapAs(alice, 126);

        assertEq(burned, 125);
        assertEq(issued, 100);
        assertEq(pointsA.balanceOf(alice), 4875);
        assertEq(pointsA.totalSupply(), 9875);
        assertEq(pointsB.balanceOf(alice), 100);
        assertEq(pointsB.totalSupply(), 100);
        assertEq(exchange.exchangeOf(id).issued, 100);
        assertEq(exchange.remainingToday(id, alice), DAILY_CAP - 125);
        assertEq(exchange.remainingToday(id, bob), DAILY_CAP);
    }

    function test_QuoteMatchesSwap() public {
        approveBoth();
        (uint256 quotedBurned, uint256 quotedIssued) = exchange.quote(id, 999);
        (uint256 burned, uint256 issued) = swapAs(alice, 999);
        assertEq(burned, quotedBurned);
        assertEq(issued, quotedIssued);
        assertEq(issued, 799);
        assertEq(burned, 999); // ceil(799 * 100 / 80) = ceil(998.75)
    }

    function test_QuoteWorksBeforeApproval() public view {
        (uint256 burned, uint256 issued) = exchange.quote(id, 126);
        assertEq(burned, 125);
        assertEq(issued, 100);
    }

    function test_RevertWhen_SwapTooSmall() public {
        approveBoth();
        // 100 → 80: one B point needs ceil(100 / 80) = 2 A points.
        vm.expectRevert(abi.encodeWithSelector(ICoalitionExchange.ExchangeTooSmall.selector, 1, 2));
        swapAs(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(ICoalitionExchange.ExchangeTooSmall.selector, 0, 2));
        swapAs(alice, 0);
        (uint256 burned, uint256 issued) = swapAs(alice, 2);
        assertEq(burned, 2);
        assertEq(issued, 1);
    }

    function test_RevertWhen_SwapMoreThanBalance() public {
        approveBoth();
        issueA(carol, 10);
        vm.expectRevert();
        swapAs(carol, 20);
        assertEq(pointsA.balanceOf(carol), 10);
        assertEq(pointsB.balanceOf(carol), 0);
        assertEq(exchange.exchangeOf(id).issued, 0);
        assertEq(exchange.remainingToday(id, carol), DAILY_CAP);
    }

    /// @dev Rounding never creates points, for any rates: issued is the floor, burned the least
    /// amount that buys it, and never more than offered.
    function testFuzz_QuoteNeverCreatesPoints(uint256 rateFrom, uint256 rateTo, uint256 amountIn)
        public
    {
        rateFrom = bound(rateFrom, 1, 1e6);
        rateTo = bound(rateTo, 1, 1e6);
        amountIn = bound(amountIn, 0, 1e30);
        uint256 xid = register(rateFrom, rateTo, 1, 1);
        (uint256 burned, uint256 issued) = exchange.quote(xid, amountIn);

        assertEq(issued, amountIn * rateTo / rateFrom, "issued is not the floor");
        assertLe(issued * rateFrom, burned * rateTo);
        assertLe(burned, amountIn);
        if (issued == 0) {
            assertEq(burned, 0);
        } else {
            // One point less would buy fewer points: burned is minimal.
            assertTrue((burned - 1) * rateTo < issued * rateFrom);
        }
    }

    function testFuzz_Swap(uint256 rateFrom, uint256 rateTo, uint256 amountIn) public {
        rateFrom = bound(rateFrom, 1, 1e6);
        rateTo = bound(rateTo, 1, 1e6);
        amountIn = bound(amountIn, 0, 5000);
        uint256 xid = open(rateFrom, rateTo, type(uint128).max, type(uint128).max);
        uint256 expectedIssued = amountIn * rateTo / rateFrom;
        vm.prank(alice);
        if (expectedIssued == 0) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICoalitionExchange.ExchangeTooSmall.selector,
                    amountIn,
                    (rateFrom + rateTo - 1) / rateTo
                )
            );
            exchange.swap(xid, amountIn);
            return;
        }
        (uint256 burned, uint256 issued) = exchange.swap(xid, amountIn);
        assertEq(issued, expectedIssued);
        assertLe(burned, amountIn);
        assertLe(issued * rateFrom, burned * rateTo);
        assertEq(pointsA.balanceOf(alice), 5000 - burned);
        assertEq(pointsB.balanceOf(alice), issued);
        assertEq(pointsB.totalSupply(), issued);
    }

    /*//////////////////////////////////////////////////////////////
                             CAP AND BUDGET
    //////////////////////////////////////////////////////////////*/

    function test_DailyCapPerMember() public {
        approveBoth();
        swapAs(alice, 600);
        assertEq(exchange.remainingToday(id, alice), 400);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICoalitionExchange.ExchangeDailyCapExceeded.selector, id, alice, 500, 400
            )
        );
        swapAs(alice, 500);
        swapAs(alice, 400);
        assertEq(exchange.remainingToday(id, alice), 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICoalitionExchange.ExchangeDailyCapExceeded.selector, id, alice, 2, 0
            )
        );
        swapAs(alice, 2);

        // Bob's cap is his own.
        assertEq(exchange.remainingToday(id, bob), DAILY_CAP);
        swapAs(bob, 1000);
        assertEq(pointsB.balanceOf(bob), 800);
    }

    function test_DailyCapCountsBurnedNotOffered() public {
        approveBoth();
        // 1001 A buy 800 B for exactly 1000 A: the whole cap, not more.
        (uint256 burned, uint256 issued) = swapAs(alice, 1001);
        assertEq(burned, 1000);
        assertEq(issued, 800);
        assertEq(exchange.remainingToday(id, alice), 0);
    }

    function test_DailyCapResetsNextUtcDay() public {
        approveBoth();
        swapAs(alice, 1000);
        uint256 nextDay = (block.timestamp / 1 days + 1) * 1 days;

        vm.warp(nextDay - 1);
        assertEq(exchange.remainingToday(id, alice), 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICoalitionExchange.ExchangeDailyCapExceeded.selector, id, alice, 100, 0
            )
        );
        swapAs(alice, 100);

        vm.warp(nextDay);
        assertEq(exchange.remainingToday(id, alice), DAILY_CAP);
        swapAs(alice, 1000);
        assertEq(exchange.remainingToday(id, alice), 0);
        assertEq(pointsB.balanceOf(alice), 1600);
    }

    function test_BudgetExhaustedExactly() public {
        // 1 → 1, budget 1000 B, cap far above it.
        uint256 xid = open(1, 1, 10_000, 1000);
        issueA(carol, 5000);
        vm.prank(alice);
        exchange.swap(xid, 600);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICoalitionExchange.ExchangeBudgetExceeded.selector, xid, 500, 400
            )
        );
        vm.prank(bob);
        exchange.swap(xid, 500);

        // The last swap that fits passes ...
        vm.prank(bob);
        exchange.swap(xid, 400);
        assertEq(exchange.exchangeOf(xid).issued, 1000);
        assertEq(pointsB.totalSupply(), 1000);

        // ... and the next one is refused with nothing remaining.
        vm.expectRevert(
            abi.encodeWithSelector(ICoalitionExchange.ExchangeBudgetExceeded.selector, xid, 1, 0)
        );
        vm.prank(carol);
        exchange.swap(xid, 1);
        assertEq(pointsA.balanceOf(carol), 5000);
    }

    /// @dev Whatever members try, the points issued never pass the budget.
    function testFuzz_IssuedNeverExceedsBudget(uint256 budget, uint256[8] memory amounts) public {
        budget = bound(budget, 1, 3000);
        uint256 xid = open(3, 2, type(uint128).max, budget);
        issueA(carol, 5000);
        address[3] memory members = [alice, bob, carol];
        uint256 sumIssued;
        for (uint256 i; i < amounts.length; ++i) {
            uint256 amountIn = bound(amounts[i], 0, 2000);
            vm.prank(members[i % 3]);
            try exchange.swap(xid, amountIn) returns (uint256, uint256 issued) {
                sumIssued += issued;
            } catch {}
        }
        assertLe(sumIssued, budget);
        assertEq(exchange.exchangeOf(xid).issued, sumIssued);
        assertEq(pointsB.totalSupply(), sumIssued);
    }

    /*//////////////////////////////////////////////////////////////
                     MEMBERS AND PROGRAMS (POINTS RULES)
    //////////////////////////////////////////////////////////////*/

    /// @dev Nothing moved and nothing was counted.
    function assertUntouched(address member, uint256 balanceA) internal view {
        assertEq(pointsA.balanceOf(member), balanceA);
        assertEq(pointsB.balanceOf(member), 0);
        assertEq(pointsA.totalSupply(), 10_000);
        assertEq(pointsB.totalSupply(), 0);
        assertEq(exchange.exchangeOf(id).issued, 0);
        assertEq(exchange.remainingToday(id, member), DAILY_CAP);
    }

    function test_RevertWhen_SwapUnregisteredMember() public {
        approveBoth();
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        swapAs(stranger, 100);
        assertUntouched(stranger, 0);
    }

    function test_RevertWhen_SwapDeregisteredMember() public {
        approveBoth();
        vm.prank(operator);
        registry.deregister(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, alice));
        swapAs(alice, 100);
        assertUntouched(alice, 5000);
    }

    function test_RevertWhen_SwapFrozenMember() public {
        approveBoth();
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        swapAs(alice, 100);
        assertUntouched(alice, 5000);
    }

    function test_RevertWhen_SwapFromBrandPaused() public {
        approveBoth();
        vm.prank(adminA);
        pointsA.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        swapAs(alice, 100);
        assertUntouched(alice, 5000);
    }

    function test_RevertWhen_SwapToBrandPaused() public {
        approveBoth();
        vm.prank(adminB);
        pointsB.pause();
        // The burn on brand A happened first and is rolled back with the whole transaction.
        vm.expectRevert(Pausable.EnforcedPause.selector);
        swapAs(alice, 100);
        assertUntouched(alice, 5000);
    }

    function test_RevertWhen_ExchangeLacksRole() public {
        approveBoth();
        vm.startPrank(adminB);
        pointsB.revokeRole(pointsB.EXCHANGE_ROLE(), address(exchange));
        vm.stopPrank();
        vm.expectRevert();
        swapAs(alice, 100);
        assertUntouched(alice, 5000);
    }

    /*//////////////////////////////////////////////////////////////
                                GASLESS
    //////////////////////////////////////////////////////////////*/

    function test_GaslessSwap() public {
        approveBoth();
        uint48 deadline = uint48(block.timestamp + 1 hours);
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey, address(exchange), abi.encodeCall(exchange.swap, (id, 126)), deadline
        );
        vm.expectEmit(true, true, false, true, address(exchange));
        emit ICoalitionExchange.Swapped(id, alice, BRAND_A, 125, BRAND_B, 100, 100, 80);
        vm.prank(relayer);
        forwarder.execute(request);

        assertEq(pointsA.balanceOf(alice), 4875);
        assertEq(pointsB.balanceOf(alice), 100);
        assertEq(pointsA.balanceOf(relayer), 0);
        assertEq(pointsB.balanceOf(relayer), 0);
        assertEq(exchange.remainingToday(id, alice), DAILY_CAP - 125);
        assertEq(exchange.remainingToday(id, relayer), DAILY_CAP);
        assertEq(relayer.balance, 0);
    }

    function test_RevertWhen_GaslessSwapForgedSender() public {
        approveBoth();
        uint48 deadline = uint48(block.timestamp + 1 hours);
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            bobKey, address(exchange), abi.encodeCall(exchange.swap, (id, 126)), deadline
        );
        request.from = alice;
        vm.expectRevert();
        vm.prank(relayer);
        forwarder.execute(request);
        assertEq(pointsA.balanceOf(alice), 5000);
    }

    /*//////////////////////////////////////////////////////////////
                                 EXPIRY
    //////////////////////////////////////////////////////////////*/

    function test_SwappedInPointsFollowToBrandExpiry() public {
        approveBoth();
        vm.prank(adminB);
        pointsB.setValidityDuration(12);
        swapAs(alice, 126);

        (uint256[] memory expiries, uint256[] memory amounts) = pointsB.lotsOf(alice);
        assertEq(expiries.length, 1);
        assertEq(expiries[0], pointsB.currentEpoch() + 12);
        assertEq(amounts[0], 100);
        assertEq(pointsB.permanentBalanceOf(alice), 0);
        assertEq(pointsB.balanceOf(alice), 100);
    }
}

/// @notice Random swaps, days and pauses on one exchange, against ghost totals.
contract CoalitionExchangeInvariantsTest is ExchangeFixture {
    uint128 internal constant RATE_FROM = 3;
    uint128 internal constant RATE_TO = 2;
    uint128 internal constant DAILY_CAP = 500;
    uint128 internal constant BUDGET = 1000;
    uint256 internal constant ISSUED_EACH = 100_000;

    ExchangeHandler internal handler;
    uint256 internal id;

    function setUp() public {
        deployExchange();
        id = open(RATE_FROM, RATE_TO, DAILY_CAP, BUDGET);
        address[] memory actors = new address[](3);
        actors[0] = alice;
        actors[1] = bob;
        actors[2] = carol;
        for (uint256 i; i < actors.length; ++i) {
            issueA(actors[i], ISSUED_EACH);
        }
        handler = new ExchangeHandler(exchange, pointsA, id, operator, actors);
        targetContract(address(handler));
    }

    function invariant_IssuedNeverExceedsBudget() public view {
        uint256 issued = exchange.exchangeOf(id).issued;
        assertLe(issued, BUDGET);
        assertEq(issued, handler.ghostIssued(), "exchange issued != sum of swaps");
        assertEq(pointsB.totalSupply(), handler.ghostIssued(), "B supply != sum of swaps");
    }

    function invariant_BurnedLeavesFromBrand() public view {
        assertEq(
            pointsA.totalSupply(),
            3 * ISSUED_EACH - handler.ghostBurned(),
            "A supply != issued - burned"
        );
    }

    function invariant_RoundingNeverCreatesPoints() public view {
        assertFalse(handler.ghostBadRounding());
        assertLe(handler.ghostIssued() * RATE_FROM, handler.ghostBurned() * RATE_TO);
    }

    function invariant_DailyCapHolds() public view {
        assertFalse(handler.ghostCapBroken());
    }

    function invariant_NoSwapWhilePaused() public view {
        assertFalse(handler.ghostSwappedWhilePaused());
    }
}
