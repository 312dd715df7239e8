// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {LoyaltyPoints} from "../../contracts/LoyaltyPoints.sol";
import {IERC7818} from "../../contracts/interfaces/IERC7818.sol";
import {ILoyaltyPoints} from "../../contracts/interfaces/ILoyaltyPoints.sol";
import {Deployers} from "./utils/Deployers.sol";
import {LotModel} from "./utils/LotModel.sol";
import {Vm} from "./utils/Test.sol";

/// @notice ERC-7818 expiry of `LoyaltyPoints` (docs/expiry.md): the epoch clock, the policy,
/// lots and their boundaries, soonest-first spending, `transferAtEpoch`, the views, the
/// coalition exchange hooks, and a random sequence of operations against a reference model.
contract ExpiryTest is Deployers {
    uint256 internal constant PERMANENT = type(uint256).max;
    uint256 internal constant MAX_LOT = type(uint64).max;
    bytes32 internal constant SWAP_REF = bytes32(uint256(7));

    address internal exchange;

    function setUp() public {
        deployNetwork();
        exchange = makeAddr("exchange");
        bytes32 role = pointsA.EXCHANGE_ROLE();
        vm.prank(adminA);
        pointsA.grantRole(role, exchange);
    }

    /*//////////////////////////////////////////////////////////////
                                 CLOCK
    //////////////////////////////////////////////////////////////*/

    function test_EpochClock() public {
        uint256 zero = 1_700_000_000 - 1_700_000_000 % 1 days;
        assertEq(pointsA.epochZero(), zero);
        assertEq(pointsA.epochLength(), EPOCH_LENGTH);
        assertEq(uint256(pointsA.epochType()), uint256(IERC7818.EPOCH_TYPE.TIME_BASED));
        assertEq(pointsA.validityDuration(), 0);
        assertEq(pointsA.currentEpoch(), 0);
        assertEq(pointsA.epochStart(0), zero);
        assertEq(pointsA.epochStart(7), zero + 7 * EPOCH_LENGTH);
        vm.warp(zero + 3 * EPOCH_LENGTH - 1);
        assertEq(pointsA.currentEpoch(), 2);
        vm.warp(zero + 3 * EPOCH_LENGTH);
        assertEq(pointsA.currentEpoch(), 3);
        assertEq(pointsA.EXCHANGE_ROLE(), keccak256("EXCHANGE_ROLE"));
        assertEq(pointsA.PERMANENT(), PERMANENT);
        assertEq(pointsA.MAX_VALIDITY_EPOCHS(), 1000);
        assertEq(pointsA.MAX_LOT(), MAX_LOT);
    }

    function test_EpochZeroIsDeployDayMidnight() public {
        vm.warp(1_700_092_799); // the last second of a UTC day
        LoyaltyPoints points = _deploy(1 hours);
        assertEq(points.epochZero(), 1_700_006_400);
        assertEq(points.currentEpoch(), 23);
        vm.warp(1_700_092_800); // midnight: the next day
        points = _deploy(1 hours);
        assertEq(points.epochZero(), 1_700_092_800);
        assertEq(points.currentEpoch(), 0);
    }

    function test_RevertWhen_EpochLengthZero() public {
        vm.expectRevert(ILoyaltyPoints.PointsBadEpochLength.selector);
        _deploy(0);
    }

    /*//////////////////////////////////////////////////////////////
                                 POLICY
    //////////////////////////////////////////////////////////////*/

    function test_SetValidityEmitsPolicy() public {
        _warpToEpoch(5);
        vm.expectEmit(true, false, false, true, address(pointsA));
        emit ILoyaltyPoints.ExpiryPolicySet(12, 5, pointsA.epochZero(), EPOCH_LENGTH, adminA);
        _setValidity(12);
        assertEq(pointsA.validityDuration(), 12);
    }

    function test_SetValidityMax() public {
        _setValidity(1000);
        assertEq(pointsA.validityDuration(), 1000);
        issueA(alice, 3);
        assertEq(pointsA.balanceOfAtEpoch(1000, alice), 3);
    }

    function test_RevertWhen_ValidityTooLong() public {
        vm.expectRevert(
            abi.encodeWithSelector(ILoyaltyPoints.PointsValidityTooLong.selector, 1001, 1000)
        );
        _setValidity(1001);
    }

    function test_RevertWhen_SetValidityCallerNotAdmin() public {
        address issuer = makeAddr("issuer");
        bytes32 issuerRole = pointsA.ISSUER_ROLE();
        vm.prank(adminA);
        pointsA.grantRole(issuerRole, issuer);
        address[3] memory callers = [alice, adminB, issuer];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IAccessControl.AccessControlUnauthorizedAccount.selector, callers[i], bytes32(0)
                )
            );
            vm.prank(callers[i]);
            pointsA.setValidityDuration(3);
        }
    }

    function test_NoPolicyMeansPermanent() public {
        issueA(alice, 50);
        assertEq(pointsA.permanentBalanceOf(alice), 50);
        assertEq(pointsA.balanceOfAtEpoch(PERMANENT, alice), 50);
        _assertLots(alice, new uint256[](0), new uint256[](0));
        vm.warp(block.timestamp + 100 * 365 days);
        assertEq(pointsA.balanceOf(alice), 50);
    }

    function test_ValidityZeroIsPermanent() public {
        _setValidity(4);
        issueA(alice, 10);
        _setValidity(0);
        issueA(alice, 20);
        assertEq(pointsA.permanentBalanceOf(alice), 20);
        assertEq(pointsA.balanceOfAtEpoch(4, alice), 10);
        _warpToEpoch(4);
        assertEq(pointsA.balanceOf(alice), 20);
    }

    function test_PolicyChangeNotRetroactive() public {
        _warpToEpoch(2);
        _setValidity(12);
        issueA(alice, 10); // lot 14
        _setValidity(1);
        issueA(alice, 20); // lot 3
        _warpToEpoch(3);
        assertEq(pointsA.balanceOf(alice), 10, "the short lot expired, the long one did not");
        _setValidity(0);
        issueA(alice, 5); // permanent
        _warpToEpoch(13);
        assertEq(pointsA.balanceOf(alice), 15);
        assertEq(pointsA.balanceOfAtEpoch(14, alice), 10);
        _warpToEpoch(14);
        assertEq(pointsA.balanceOf(alice), 5);
        assertEq(pointsA.totalSupply(), 35, "expired points stay in the supply");
    }

    /*//////////////////////////////////////////////////////////////
                               BOUNDARIES
    //////////////////////////////////////////////////////////////*/

    function test_LotUsableUntilItsEpochStarts() public {
        uint256 x = _issueLot(alice, 100, 3);
        assertEq(x, 3);
        vm.warp(pointsA.epochStart(x) - 1);
        assertEq(pointsA.balanceOf(alice), 100);
        assertFalse(pointsA.isEpochExpired(x));
        assertEq(pointsA.balanceOfAtEpoch(x, alice), 100);
        vm.warp(pointsA.epochStart(x));
        assertEq(pointsA.balanceOf(alice), 0);
        assertTrue(pointsA.isEpochExpired(x));
        assertEq(pointsA.balanceOfAtEpoch(x, alice), 0);
        _assertLots(alice, new uint256[](0), new uint256[](0));
        assertEq(pointsA.totalSupply(), 100);
    }

    function test_TransferAtLastSecond() public {
        uint256 x = _issueLot(alice, 100, 2);
        vm.warp(pointsA.epochStart(x) - 1);
        vm.prank(alice);
        pointsA.transfer(bob, 60);
        assertEq(pointsA.balanceOf(bob), 60);
        assertEq(pointsA.balanceOfAtEpoch(x, bob), 60);
        vm.warp(pointsA.epochStart(x));
        assertEq(pointsA.balanceOf(bob), 0);
        assertEq(pointsA.balanceOf(alice), 0);
    }

    function test_RevertWhen_TransferExpired() public {
        uint256 x = _issueLot(alice, 100, 2);
        vm.warp(pointsA.epochStart(x));
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 1)
        );
        vm.prank(alice);
        pointsA.transfer(bob, 1);
    }

    function test_RedeemAtLastSecond() public {
        uint256 x = _issueLot(alice, 100, 2);
        vm.warp(pointsA.epochStart(x) - 1);
        vm.prank(alice);
        pointsA.redeem(100, ORDER_1);
        assertEq(pointsA.balanceOf(alice), 0);
        assertEq(pointsA.totalSupply(), 0);
    }

    function test_RevertWhen_RedeemExpired() public {
        uint256 x = _issueLot(alice, 100, 2);
        issueA(alice, 1); // one more point in the same lot
        vm.warp(pointsA.epochStart(x));
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 1)
        );
        vm.prank(alice);
        pointsA.redeem(1, ORDER_1);
    }

    function test_RevertWhen_DebitExceedsLive() public {
        // One expired lot (5), two live lots (7, 11) and 13 permanent points: 31 live.
        _setValidity(1);
        issueA(alice, 5);
        _setValidity(0);
        issueA(alice, 13);
        _warpToEpoch(1);
        _setValidity(3);
        issueA(alice, 7);
        _warpToEpoch(2);
        issueA(alice, 11);
        assertEq(pointsA.balanceOf(alice), 31);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 31, 32)
        );
        vm.prank(alice);
        pointsA.transfer(bob, 32);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 31, 32)
        );
        vm.prank(adminA);
        pointsA.forfeit(alice, 32, FRAUD);
        vm.prank(alice);
        pointsA.transfer(bob, 31);
        assertEq(pointsA.balanceOf(alice), 0);
        assertEq(pointsA.balanceOf(bob), 31);
    }

    /*//////////////////////////////////////////////////////////////
                                SPENDING
    //////////////////////////////////////////////////////////////*/

    function test_SpendSoonestFirstThenPermanent() public {
        issueA(alice, 100); // permanent
        _warpToEpoch(6);
        _setValidity(3);
        issueA(alice, 10); // lot 9
        _warpToEpoch(7);
        issueA(alice, 20); // lot 10
        _warpToEpoch(8);
        issueA(alice, 30); // lot 11
        _assertLots(alice, _three(9, 10, 11), _three(10, 20, 30));

        vm.prank(alice);
        pointsA.transfer(bob, 25);
        _assertLots(alice, _two(10, 11), _two(5, 30));
        _assertLots(bob, _two(9, 10), _two(10, 15));

        vm.prank(alice);
        pointsA.redeem(40, ORDER_1);
        _assertLots(alice, new uint256[](0), new uint256[](0));
        assertEq(pointsA.permanentBalanceOf(alice), 95);
        assertEq(pointsA.balanceOf(alice), 95);
        assertEq(pointsA.totalSupply(), 120);

        vm.prank(adminA);
        pointsA.forfeit(bob, 12, FRAUD);
        uint256[] memory x = new uint256[](1);
        x[0] = 10;
        uint256[] memory a = new uint256[](1);
        a[0] = 13;
        _assertLots(bob, x, a);
    }

    function test_SpendAcrossSlots() public {
        // Lots in epochs 3..9 (two lots per packed slot boundary crossing), then spend all but 1.
        _setValidity(1);
        uint256 total;
        for (uint256 e = 2; e <= 8; ++e) {
            _warpToEpoch(e);
            issueA(alice, e);
            total += e;
        }
        assertEq(pointsA.balanceOf(alice), 8, "only lot 9 is live");
        _setValidity(10);
        issueA(alice, 100); // lot 18
        vm.prank(alice);
        pointsA.transfer(bob, 105);
        _assertLots(bob, _two(9, 18), _two(8, 97));
        assertEq(pointsA.balanceOf(alice), 3);
        assertEq(pointsA.balanceOfAtEpoch(18, alice), 3);
    }

    function test_GiftKeepsExpiries() public {
        _warpToEpoch(1);
        _setValidity(2);
        issueA(alice, 10); // lot 3
        _warpToEpoch(2);
        issueA(alice, 10); // lot 4
        issueA(bob, 1); // lot 4
        vm.prank(alice);
        pointsA.gift(bob, 15, "thanks");
        _assertLots(bob, _two(3, 4), _two(10, 6));
        _assertLots(alice, _one(4), _one(5));
        _warpToEpoch(3);
        assertEq(pointsA.balanceOf(bob), 6, "the gifted lot expired on its own date");
        _warpToEpoch(4);
        assertEq(pointsA.balanceOf(bob), 0);
    }

    function test_TransferFromSoonestFirst() public {
        _setValidity(2);
        issueA(alice, 10); // lot 2
        _warpToEpoch(1);
        issueA(alice, 10); // lot 3
        vm.prank(alice);
        pointsA.approve(carol, 12);
        vm.prank(carol);
        pointsA.transferFrom(alice, bob, 12);
        _assertLots(bob, _two(2, 3), _two(10, 2));
        assertEq(pointsA.allowance(alice, carol), 0);
    }

    function test_RecoverMovesLiveLots() public {
        _setValidity(1);
        issueA(alice, 4); // lot 1: will expire
        _setValidity(3);
        issueA(alice, 6); // lot 3
        _setValidity(0);
        issueA(alice, 9);
        _warpToEpoch(1);
        _setValidity(5);
        issueA(alice, 2); // lot 6
        registerMember(makeAddr("newAlice"));
        address newAlice = makeAddr("newAlice");
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, newAlice, 17);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsRecovered(alice, newAlice, 17);
        vm.prank(operator);
        registry.recover(alice, newAlice);
        assertEq(pointsA.balanceOf(newAlice), 17);
        assertEq(pointsA.permanentBalanceOf(newAlice), 9);
        _assertLots(newAlice, _two(3, 6), _two(6, 2));
        assertEq(pointsA.balanceOf(alice), 0);
        assertEq(pointsA.totalSupply(), 21, "the expired lot stays counted");
    }

    function test_RecoverOnlyExpiredIsNoop() public {
        _setValidity(1);
        issueA(alice, 4);
        _warpToEpoch(1);
        vm.recordLogs();
        vm.prank(address(registry));
        pointsA.recover(alice, bob);
        assertEq(vm.getRecordedLogs().length, 0);
    }

    function test_IssueBatchWithPolicy() public {
        _warpToEpoch(4);
        _setValidity(6);
        address[] memory members = new address[](3);
        members[0] = alice;
        members[1] = bob;
        members[2] = alice;
        uint256[] memory amounts = _three(5, 7, 9);
        bytes32[] memory refs = new bytes32[](3);
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
        _assertLots(alice, _one(10), _one(14));
        _assertLots(bob, _one(10), _one(7));
        assertEq(pointsA.totalSupply(), 21);
        assertEq(pointsA.permanentBalanceOf(alice), 0);
        _warpToEpoch(10);
        assertEq(pointsA.balanceOf(alice) + pointsA.balanceOf(bob), 0);
    }

    function test_RevertWhen_IssueBatchOverflowsLot() public {
        _setValidity(6);
        address[] memory members = new address[](2);
        members[0] = alice;
        members[1] = alice;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = MAX_LOT;
        amounts[1] = 1;
        bytes32[] memory refs = new bytes32[](2);
        vm.expectRevert(
            abi.encodeWithSelector(
                ILoyaltyPoints.PointsAmountTooLarge.selector, MAX_LOT + 1, MAX_LOT
            )
        );
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
    }

    /*//////////////////////////////////////////////////////////////
                              LOT OVERFLOW
    //////////////////////////////////////////////////////////////*/

    function test_LotHoldsMaxLot() public {
        _setValidity(2);
        issueA(alice, MAX_LOT);
        assertEq(pointsA.balanceOfAtEpoch(2, alice), MAX_LOT);
        // The neighbouring lanes of the slot are untouched.
        assertEq(pointsA.balanceOfAtEpoch(1, alice), 0);
        assertEq(pointsA.balanceOfAtEpoch(3, alice), 0);
        _warpToEpoch(1);
        issueA(alice, MAX_LOT);
        assertEq(pointsA.balanceOf(alice), 2 * MAX_LOT);
    }

    function test_RevertWhen_IssueOverflowsLot() public {
        _setValidity(2);
        issueA(alice, MAX_LOT - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ILoyaltyPoints.PointsAmountTooLarge.selector, MAX_LOT + 1, MAX_LOT
            )
        );
        issueA(alice, 2);
        issueA(bob, MAX_LOT);
        vm.expectRevert(
            abi.encodeWithSelector(
                ILoyaltyPoints.PointsAmountTooLarge.selector, MAX_LOT + MAX_LOT, MAX_LOT
            )
        );
        issueA(bob, MAX_LOT);
    }

    function test_RevertWhen_TransferOverflowsRecipientLot() public {
        _setValidity(2);
        issueA(alice, MAX_LOT);
        issueA(bob, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ILoyaltyPoints.PointsAmountTooLarge.selector, MAX_LOT + 1, MAX_LOT
            )
        );
        vm.prank(bob);
        pointsA.transfer(alice, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ILoyaltyPoints.PointsAmountTooLarge.selector, MAX_LOT + 1, MAX_LOT
            )
        );
        vm.prank(bob);
        pointsA.transferAtEpoch(2, alice, 1);
        // Into another lane of the same slot: fine.
        _warpToEpoch(1);
        issueA(bob, 1); // lot 3
        vm.prank(bob);
        pointsA.transferAtEpoch(3, alice, 1);
        assertEq(pointsA.balanceOfAtEpoch(3, alice), 1);
    }

    function test_RevertWhen_TransferOverflowsTopLane() public {
        // Lot 3 is the top lane (bits 192..255): a carry out of it would leave the word.
        _warpToEpoch(1);
        _setValidity(2);
        issueA(alice, MAX_LOT);
        issueA(bob, 5);
        vm.expectRevert(
            abi.encodeWithSelector(
                ILoyaltyPoints.PointsAmountTooLarge.selector, MAX_LOT + 5, MAX_LOT
            )
        );
        vm.prank(bob);
        pointsA.gift(alice, 5, "");
    }

    function test_SelfTransferKeepsLots() public {
        _setValidity(2);
        issueA(alice, MAX_LOT);
        vm.prank(alice);
        pointsA.transfer(alice, MAX_LOT);
        assertEq(pointsA.balanceOfAtEpoch(2, alice), MAX_LOT);
    }

    /*//////////////////////////////////////////////////////////////
                            TRANSFER AT EPOCH
    //////////////////////////////////////////////////////////////*/

    function test_TransferAtEpoch() public {
        issueA(alice, 50); // permanent
        _setValidity(2);
        issueA(alice, 10); // lot 2
        _warpToEpoch(1);
        issueA(alice, 20); // lot 3
        vm.recordLogs();
        vm.prank(alice);
        assertTrue(pointsA.transferAtEpoch(3, bob, 15));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 2);
        assertEq(logs[0].topics[0], ILoyaltyPoints.TransferAtEpoch.selector);
        assertEq(logs[0].topics[1], bytes32(uint256(uint160(alice))));
        assertEq(logs[0].topics[2], bytes32(uint256(uint160(bob))));
        assertEq(keccak256(logs[0].data), keccak256(abi.encode(uint256(3), uint256(15))));
        assertEq(logs[1].topics[0], IERC20.Transfer.selector);
        assertEq(keccak256(logs[1].data), keccak256(abi.encode(uint256(15))));
        _assertLots(alice, _two(2, 3), _two(10, 5));
        _assertLots(bob, _one(3), _one(15));
        assertEq(pointsA.permanentBalanceOf(alice), 50);

        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.TransferAtEpoch(alice, bob, PERMANENT, 7);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, bob, 7);
        vm.prank(alice);
        pointsA.transferAtEpoch(PERMANENT, bob, 7);
        assertEq(pointsA.permanentBalanceOf(alice), 43);
        assertEq(pointsA.permanentBalanceOf(bob), 7);
        assertEq(pointsA.balanceOfAtEpoch(2, alice), 10);
    }

    /// @dev ERC-7818 extends EIP-20, whose transfers of 0 are normal transfers: a transfer of 0
    /// points of a live lot (or the permanent one) succeeds, emits TransferAtEpoch and Transfer
    /// with 0, and changes no lot, held or not.
    function test_TransferAtEpochZero() public {
        _setValidity(2);
        issueA(alice, 10); // lot 2
        vm.recordLogs();
        vm.prank(alice);
        assertTrue(pointsA.transferAtEpoch(2, bob, 0));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 2);
        assertEq(logs[0].topics[0], ILoyaltyPoints.TransferAtEpoch.selector);
        assertEq(keccak256(logs[0].data), keccak256(abi.encode(uint256(2), uint256(0))));
        assertEq(logs[1].topics[0], IERC20.Transfer.selector);
        assertEq(logs[1].topics[1], bytes32(uint256(uint160(alice))));
        assertEq(logs[1].topics[2], bytes32(uint256(uint160(bob))));
        assertEq(keccak256(logs[1].data), keccak256(abi.encode(uint256(0))));
        _assertLots(alice, _one(2), _one(10));
        _assertLots(bob, new uint256[](0), new uint256[](0));

        // A lot nobody holds, and the permanent lot: still 0 moved, nothing changed.
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.TransferAtEpoch(alice, bob, 5, 0);
        vm.prank(alice);
        assertTrue(pointsA.transferAtEpoch(5, bob, 0));
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.TransferAtEpoch(alice, bob, PERMANENT, 0);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, bob, 0);
        vm.prank(alice);
        assertTrue(pointsA.transferAtEpoch(PERMANENT, bob, 0));
        _assertLots(alice, _one(2), _one(10));
        assertEq(pointsA.balanceOf(alice), 10);
        assertEq(pointsA.balanceOf(bob), 0);
        assertEq(pointsA.totalSupply(), 10);
    }

    function test_TransferFromAtEpochZero() public {
        _setValidity(2);
        issueA(alice, 10); // lot 2
        vm.prank(alice);
        pointsA.approve(carol, 4);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.TransferAtEpoch(alice, bob, 2, 0);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, bob, 0);
        vm.prank(carol);
        assertTrue(pointsA.transferFromAtEpoch(2, alice, bob, 0));
        assertEq(pointsA.allowance(alice, carol), 4);
        _assertLots(alice, _one(2), _one(10));
    }

    /// @dev A lot that has expired cannot be named even to move 0 of it (ERC-7818: "If the
    /// epoch has expired, the transaction MUST revert or return false").
    function test_RevertWhen_TransferAtEpochZeroExpired() public {
        _setValidity(2);
        issueA(alice, 10); // lot 2
        _warpToEpoch(2);
        vm.expectRevert(
            abi.encodeWithSelector(ILoyaltyPoints.ERC7818TransferredExpiredToken.selector, alice, 2)
        );
        vm.prank(alice);
        pointsA.transferAtEpoch(2, bob, 0);
        vm.expectRevert(
            abi.encodeWithSelector(ILoyaltyPoints.ERC7818TransferredExpiredToken.selector, alice, 2)
        );
        vm.prank(carol);
        pointsA.transferFromAtEpoch(2, alice, bob, 0);
    }

    function test_RevertWhen_TransferAtEpochExpired() public {
        _setValidity(2);
        issueA(alice, 10); // lot 2
        _warpToEpoch(2);
        vm.expectRevert(
            abi.encodeWithSelector(ILoyaltyPoints.ERC7818TransferredExpiredToken.selector, alice, 2)
        );
        vm.prank(alice);
        pointsA.transferAtEpoch(2, bob, 1);
        vm.expectRevert(
            abi.encodeWithSelector(ILoyaltyPoints.ERC7818TransferredExpiredToken.selector, alice, 0)
        );
        vm.prank(alice);
        pointsA.transferAtEpoch(0, bob, 1);
    }

    function test_RevertWhen_TransferAtEpochInsufficient() public {
        _setValidity(2);
        issueA(alice, 10); // lot 2
        issueA(alice, 5); // lot 2
        issueA(bob, 100); // lot 2
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 15, 16)
        );
        vm.prank(alice);
        pointsA.transferAtEpoch(2, bob, 16);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 1)
        );
        vm.prank(alice);
        pointsA.transferAtEpoch(3, bob, 1);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 1)
        );
        vm.prank(alice);
        pointsA.transferAtEpoch(PERMANENT, bob, 1);
    }

    function test_RevertWhen_TransferAtEpochBreaksRules() public {
        _setValidity(2);
        issueA(alice, 10);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        vm.prank(alice);
        pointsA.transferAtEpoch(2, stranger, 1);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0))
        );
        vm.prank(alice);
        pointsA.transferAtEpoch(2, address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        vm.prank(alice);
        pointsA.transferAtEpoch(2, stranger, 0);
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        vm.prank(alice);
        pointsA.transferAtEpoch(2, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        vm.prank(alice);
        pointsA.transferAtEpoch(2, bob, 1);
        vm.prank(operator);
        registry.unfreeze(alice);
        vm.prank(adminA);
        pointsA.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(alice);
        pointsA.transferAtEpoch(2, bob, 1);
    }

    function test_TransferFromAtEpoch() public {
        _setValidity(2);
        issueA(alice, 10); // lot 2
        _warpToEpoch(1);
        issueA(alice, 10); // lot 3
        vm.prank(alice);
        pointsA.approve(carol, 4);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.TransferAtEpoch(alice, bob, 3, 4);
        vm.prank(carol);
        assertTrue(pointsA.transferFromAtEpoch(3, alice, bob, 4));
        _assertLots(bob, _one(3), _one(4));
        assertEq(pointsA.allowance(alice, carol), 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, carol, uint256(0), uint256(1)
            )
        );
        vm.prank(carol);
        pointsA.transferFromAtEpoch(3, alice, bob, 1);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    function test_Views() public {
        _setValidity(3);
        issueA(alice, 11); // lot 3
        _warpToEpoch(1);
        issueA(alice, 22); // lot 4
        _setValidity(0);
        issueA(alice, 33);
        assertEq(pointsA.balanceOf(alice), 66);
        assertEq(pointsA.permanentBalanceOf(alice), 33);
        assertEq(pointsA.balanceOfAtEpoch(PERMANENT, alice), 33);
        assertEq(pointsA.balanceOfAtEpoch(3, alice), 11);
        assertEq(pointsA.balanceOfAtEpoch(4, alice), 22);
        assertEq(pointsA.balanceOfAtEpoch(5, alice), 0);
        assertEq(pointsA.balanceOfAtEpoch(1, alice), 0);
        assertTrue(pointsA.isEpochExpired(0));
        assertTrue(pointsA.isEpochExpired(1));
        assertFalse(pointsA.isEpochExpired(2));
        assertFalse(pointsA.isEpochExpired(PERMANENT));
        _assertLots(alice, _two(3, 4), _two(11, 22));
        _warpToEpoch(3);
        _assertLots(alice, _one(4), _one(22));
        assertEq(pointsA.balanceOfAtEpoch(3, alice), 0);
        assertEq(pointsA.balanceOf(alice), 55);
        _warpToEpoch(4);
        _assertLots(alice, new uint256[](0), new uint256[](0));
        assertEq(pointsA.balanceOf(alice), 33);
    }

    /*//////////////////////////////////////////////////////////////
                                EXCHANGE
    //////////////////////////////////////////////////////////////*/

    function test_ExchangeOut() public {
        _setValidity(2);
        issueA(alice, 10); // lot 2
        _setValidity(0);
        issueA(alice, 10);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, address(0), 12);
        vm.expectEmit(true, true, true, true, address(pointsA));
        emit ILoyaltyPoints.PointsRedeemed(alice, 12, SWAP_REF, exchange);
        vm.prank(exchange);
        pointsA.exchangeOut(alice, 12, SWAP_REF);
        assertEq(pointsA.balanceOfAtEpoch(2, alice), 0, "the expiring lot went first");
        assertEq(pointsA.permanentBalanceOf(alice), 8);
        assertEq(pointsA.totalSupply(), 8);
    }

    function test_ExchangeIn() public {
        _warpToEpoch(3);
        _setValidity(5);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(address(0), alice, 9);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsIssued(alice, 9, bytes32("exchange"), SWAP_REF);
        vm.prank(exchange);
        pointsA.exchangeIn(alice, 9, SWAP_REF);
        _assertLots(alice, _one(8), _one(9));
        assertEq(pointsA.totalSupply(), 9);
    }

    function test_RevertWhen_ExchangeCallerLacksRole() public {
        issueA(alice, 10);
        bytes32 role = pointsA.EXCHANGE_ROLE();
        bytes memory err = abi.encodeWithSelector(
            IAccessControl.AccessControlUnauthorizedAccount.selector, adminA, role
        );
        vm.expectRevert(err);
        vm.prank(adminA);
        pointsA.exchangeOut(alice, 1, SWAP_REF);
        vm.expectRevert(err);
        vm.prank(adminA);
        pointsA.exchangeIn(alice, 1, SWAP_REF);
    }

    function test_RevertWhen_ExchangeMemberFrozen() public {
        issueA(alice, 10);
        freezeMember(alice);
        bytes memory err =
            abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice);
        vm.expectRevert(err);
        vm.prank(exchange);
        pointsA.exchangeOut(alice, 1, SWAP_REF);
        vm.expectRevert(err);
        vm.prank(exchange);
        pointsA.exchangeIn(alice, 1, SWAP_REF);
    }

    function test_RevertWhen_ExchangeMemberUnregistered() public {
        issueA(alice, 10);
        vm.prank(operator);
        registry.deregister(alice);
        bytes memory err = abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, alice);
        vm.expectRevert(err);
        vm.prank(exchange);
        pointsA.exchangeOut(alice, 1, SWAP_REF);
        vm.expectRevert(err);
        vm.prank(exchange);
        pointsA.exchangeIn(alice, 1, SWAP_REF);
        err = abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger);
        vm.expectRevert(err);
        vm.prank(exchange);
        pointsA.exchangeOut(stranger, 1, SWAP_REF);
    }

    function test_RevertWhen_ExchangePaused() public {
        issueA(alice, 10);
        vm.prank(adminA);
        pointsA.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(exchange);
        pointsA.exchangeOut(alice, 1, SWAP_REF);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(exchange);
        pointsA.exchangeIn(alice, 1, SWAP_REF);
    }

    function test_RevertWhen_ExchangeOutInsufficientOrZero() public {
        _setValidity(1);
        issueA(alice, 10);
        _warpToEpoch(1);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 1)
        );
        vm.prank(exchange);
        pointsA.exchangeOut(alice, 1, SWAP_REF);
        vm.expectRevert(ILoyaltyPoints.PointsZeroAmount.selector);
        vm.prank(exchange);
        pointsA.exchangeIn(alice, 0, SWAP_REF);
    }

    /*//////////////////////////////////////////////////////////////
                          RANDOM SEQUENCE VS MODEL
    //////////////////////////////////////////////////////////////*/

    /// @dev 48 random operations (issue, batch issue, transfer, gift, redeem, forfeit,
    /// transferAtEpoch, policy change, time warp, often to one second either side of an epoch
    /// start); after each, every balance, lot list and the supply must match the model.
    function testFuzz_RandomOperationsMatchModel(uint256 seed) public {
        LotModel model = new LotModel();
        address[3] memory who = [alice, bob, carol];
        uint256 supply;
        _setValidity(seed % 9);
        for (uint256 step; step < 48; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            uint256 op = r % 10;
            address from = who[(r >> 8) % 3];
            address to = who[(r >> 16) % 3];
            uint256 epoch = pointsA.currentEpoch();
            uint256 amount = _fuzzAmount(r >> 24, pointsA.balanceOf(from));
            bool ok;
            bool expected;
            if (op <= 1) {
                uint256 validity = pointsA.validityDuration();
                uint256 lot = validity == 0 ? PERMANENT : epoch + validity;
                expected = model.credit(to, lot, amount);
                vm.prank(adminA);
                try pointsA.issue(to, amount, PURCHASE, ORDER_1) {
                    ok = true;
                } catch {}
                if (ok) supply += amount;
            } else if (op == 2) {
                vm.prank(from);
                try pointsA.transfer(to, amount) {
                    ok = true;
                } catch {}
                expected = model.debit(from, to, amount, epoch);
            } else if (op == 3) {
                vm.prank(from);
                try pointsA.gift(to, amount, "") {
                    ok = true;
                } catch {}
                expected = model.debit(from, to, amount, epoch);
            } else if (op == 4) {
                vm.prank(from);
                try pointsA.redeem(amount, ORDER_1) {
                    ok = true;
                } catch {}
                expected = model.debit(from, address(0), amount, epoch);
                if (ok) supply -= amount;
            } else if (op == 5) {
                vm.prank(adminA);
                try pointsA.forfeit(from, amount, FRAUD) {
                    ok = true;
                } catch {}
                expected = model.debit(from, address(0), amount, epoch);
                if (ok) supply -= amount;
            } else if (op == 6) {
                // A lot the sender holds (or the permanent one, or a random near epoch).
                (uint256[] memory xs, uint256[] memory held) = pointsA.lotsOf(from);
                uint256 x;
                if (xs.length > 0 && (r >> 88) % 4 != 0) {
                    uint256 i = (r >> 96) % xs.length;
                    x = xs[i];
                    // Mostly within the lot, sometimes one more than it holds.
                    amount = bound(r >> 104, 1, held[i] + 1);
                } else {
                    x = (r >> 88) % 4 == 0 ? PERMANENT : epoch + (r >> 96) % 4;
                }
                vm.prank(from);
                try pointsA.transferAtEpoch(x, to, amount) {
                    ok = true;
                } catch {}
                expected = model.debitAt(from, to, x, amount, epoch);
            } else if (op == 7) {
                _setValidity((r >> 24) % 9);
                ok = expected = true;
            } else {
                // Warp: a random time up to two epochs on, or to just before/at an epoch start.
                uint256 mode = (r >> 24) % 3;
                if (mode == 0) {
                    vm.warp(block.timestamp + (r >> 32) % (2 * EPOCH_LENGTH));
                } else {
                    vm.warp(pointsA.epochStart(epoch + 1) - (mode == 1 ? 1 : 0));
                }
                ok = expected = true;
            }
            assertEq(ok, expected);
            _assertMatchesModel(model, who, supply);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _deploy(uint256 epochLength) internal returns (LoyaltyPoints) {
        return new LoyaltyPoints(
            "X", "X", "brand-x", address(registry), address(forwarder), adminA, epochLength
        );
    }

    function _setValidity(uint256 epochs) internal {
        vm.prank(adminA);
        pointsA.setValidityDuration(epochs);
    }

    function _warpToEpoch(uint256 epoch) internal {
        vm.warp(pointsA.epochStart(epoch));
    }

    /// @dev Issues `amount` to `member` under validity `v`; returns the lot's expiry.
    function _issueLot(address member, uint256 amount, uint256 v) internal returns (uint256) {
        _setValidity(v);
        issueA(member, amount);
        return pointsA.currentEpoch() + v;
    }

    function _fuzzAmount(uint256 r, uint256 balance) internal pure returns (uint256) {
        uint256 mode = r % 8;
        if (mode == 0) return bound(r >> 8, 1, MAX_LOT); // large: lot overflows
        if (mode == 1) return balance + 1; // one more than it holds
        if (mode == 2) return balance == 0 ? 1 : balance; // all of it
        if (mode <= 5) return bound(r >> 8, 1, balance == 0 ? 1 : balance); // part of it
        return bound(r >> 8, 1, 1000);
    }

    function _assertMatchesModel(LotModel model, address[3] memory who, uint256 supply)
        internal
        view
    {
        uint256 epoch = pointsA.currentEpoch();
        uint256 sum;
        for (uint256 i; i < 3; ++i) {
            uint256 live = model.live(who[i], epoch);
            assertEq(pointsA.balanceOf(who[i]), live, "balanceOf != model");
            assertEq(
                pointsA.permanentBalanceOf(who[i]),
                model.amountOf(who[i], PERMANENT),
                "permanent != model"
            );
            (uint256[] memory xs, uint256[] memory amounts) = pointsA.lotsOf(who[i]);
            (uint256[] memory mx, uint256[] memory ma) = model.liveLots(who[i], epoch);
            assertEq(xs.length, mx.length, "lot count != model");
            for (uint256 j; j < xs.length; ++j) {
                assertEq(xs[j], mx[j], "lot expiry != model");
                assertEq(amounts[j], ma[j], "lot amount != model");
                assertEq(pointsA.balanceOfAtEpoch(xs[j], who[i]), ma[j]);
            }
            sum += live + model.expired(who[i], epoch);
        }
        assertEq(pointsA.totalSupply(), supply, "supply != ghost");
        assertEq(sum, supply, "live + expired != supply");
    }

    function _assertLots(address account, uint256[] memory expiries, uint256[] memory amounts)
        internal
        view
    {
        (uint256[] memory xs, uint256[] memory as_) = pointsA.lotsOf(account);
        assertEq(xs.length, expiries.length, "lot count");
        for (uint256 i; i < xs.length; ++i) {
            assertEq(xs[i], expiries[i], "lot expiry");
            assertEq(as_[i], amounts[i], "lot amount");
        }
    }

    function _one(uint256 a) internal pure returns (uint256[] memory v) {
        v = new uint256[](1);
        v[0] = a;
    }

    function _two(uint256 a, uint256 b) internal pure returns (uint256[] memory v) {
        v = new uint256[](2);
        v[0] = a;
        v[1] = b;
    }

    function _three(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory v) {
        v = new uint256[](3);
        v[0] = a;
        v[1] = b;
        v[2] = c;
    }
}
