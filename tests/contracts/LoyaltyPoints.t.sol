// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {ILoyaltyPoints} from "../../contracts/interfaces/ILoyaltyPoints.sol";
import {Deployers} from "./utils/Deployers.sol";
import {Vm} from "./utils/Test.sol";

contract LoyaltyPointsTest is Deployers {
    function setUp() public {
        deployNetwork();
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_Constructor() public view {
        assertEq(pointsA.name(), "Brand A Points");
        assertEq(pointsA.symbol(), "PTS");
        assertEq(pointsA.decimals(), 0);
        assertEq(pointsA.brandId(), BRAND_A);
        assertEq(pointsA.registry(), address(registry));
        assertEq(pointsA.MAX_MEMO_BYTES(), 64);
        assertTrue(pointsA.isTrustedForwarder(address(forwarder)));
        assertTrue(pointsA.hasRole(pointsA.DEFAULT_ADMIN_ROLE(), adminA));
        assertTrue(pointsA.hasRole(pointsA.ISSUER_ROLE(), adminA));
        assertTrue(pointsA.hasRole(pointsA.REDEEMER_ROLE(), adminA));
        assertTrue(pointsA.hasRole(pointsA.PAUSER_ROLE(), adminA));
        assertEq(pointsA.ISSUER_ROLE(), keccak256("ISSUER_ROLE"));
        assertEq(pointsA.REDEEMER_ROLE(), keccak256("REDEEMER_ROLE"));
        assertEq(pointsA.PAUSER_ROLE(), keccak256("PAUSER_ROLE"));
        assertEq(pointsA.epochLength(), EPOCH_LENGTH);
        assertEq(pointsA.epochZero(), block.timestamp - block.timestamp % 1 days);
        assertEq(pointsA.validityDuration(), 0);
    }

    /*//////////////////////////////////////////////////////////////
                                 ISSUE
    //////////////////////////////////////////////////////////////*/

    function test_Issue() public {
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(address(0), alice, 100);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsIssued(alice, 100, PURCHASE, ORDER_1);
        issueA(alice, 100);
        assertEq(pointsA.balanceOf(alice), 100);
        assertEq(pointsA.totalSupply(), 100);
    }

    function test_RevertWhen_IssueCallerNotIssuer() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                alice,
                pointsA.ISSUER_ROLE()
            )
        );
        vm.prank(alice);
        pointsA.issue(alice, 1, PURCHASE, ORDER_1);
    }

    function test_RevertWhen_IssuerOfOtherBrand() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                adminA,
                pointsB.ISSUER_ROLE()
            )
        );
        vm.prank(adminA);
        pointsB.issue(alice, 1, PURCHASE, ORDER_1);
    }

    function test_RevertWhen_AdminOfOtherBrandForfeits() public {
        issueB(alice, 10);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                adminA,
                pointsB.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(adminA);
        pointsB.forfeit(alice, 10, FRAUD);
    }

    function test_RevertWhen_IssueToNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        issueA(stranger, 1);
    }

    function test_RevertWhen_IssueToFrozen() public {
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        issueA(alice, 1);
    }

    function test_RevertWhen_IssueZeroAmount() public {
        vm.expectRevert(ILoyaltyPoints.PointsZeroAmount.selector);
        issueA(alice, 0);
    }

    function test_RevertWhen_IssuePaused() public {
        _pauseA();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        issueA(alice, 1);
    }

    function test_RevertWhen_IssueOverflowsSupply() public {
        issueA(alice, type(uint256).max);
        vm.expectRevert();
        issueA(bob, 1);
    }

    function testFuzz_Issue(uint256 amount, uint256 second) public {
        amount = bound(amount, 1, type(uint128).max);
        second = bound(second, 1, type(uint128).max);
        issueA(alice, amount);
        issueA(bob, second);
        assertEq(pointsA.balanceOf(alice), amount);
        assertEq(pointsA.totalSupply(), amount + second);
    }

    /*//////////////////////////////////////////////////////////////
                              BATCH ISSUE
    //////////////////////////////////////////////////////////////*/

    function test_IssueBatch() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(3);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(address(0), alice, 1);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsIssued(alice, 1, PURCHASE, bytes32(uint256(1)));
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(address(0), bob, 2);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsIssued(bob, 2, PURCHASE, bytes32(uint256(2)));
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
        assertEq(pointsA.balanceOf(alice), 1);
        assertEq(pointsA.balanceOf(bob), 2);
        assertEq(pointsA.balanceOf(carol), 3);
        assertEq(pointsA.totalSupply(), 6);
    }

    function test_IssueBatchLogs() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(2);
        vm.recordLogs();
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 4);
        // Transfer, then PointsIssued (emitted in assembly), per recipient.
        assertEq(logs[1].topics[0], ILoyaltyPoints.PointsIssued.selector);
        assertEq(logs[1].topics[1], bytes32(uint256(uint160(alice))));
        assertEq(logs[1].topics[2], PURCHASE);
        assertEq(keccak256(logs[1].data), keccak256(abi.encode(uint256(1), bytes32(uint256(1)))));
        assertEq(logs[3].topics[0], ILoyaltyPoints.PointsIssued.selector);
        assertEq(logs[3].topics[1], bytes32(uint256(uint160(bob))));
        assertEq(keccak256(logs[3].data), keccak256(abi.encode(uint256(2), bytes32(uint256(2)))));
    }

    function test_IssueBatchSameMemberTwice() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(2);
        members[1] = alice;
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
        assertEq(pointsA.balanceOf(alice), 3);
        assertEq(pointsA.totalSupply(), 3);
    }

    function testFuzz_IssueBatch(uint256 n, uint256 seed) public {
        n = bound(n, 1, 12);
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(n);
        uint256 total;
        uint256[3] memory expected;
        for (uint256 i; i < n; ++i) {
            amounts[i] = bound(uint256(keccak256(abi.encode(seed, i))), 1, type(uint128).max);
            total += amounts[i];
            expected[i % 3] += amounts[i];
        }
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
        assertEq(pointsA.totalSupply(), total);
        assertEq(pointsA.balanceOf(alice), expected[0]);
        assertEq(pointsA.balanceOf(bob), expected[1]);
        assertEq(pointsA.balanceOf(carol), expected[2]);
    }

    function test_IssueBatchIsPerBrand() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(3);
        vm.prank(adminB);
        pointsB.issueBatch(members, amounts, PURCHASE, refs);
        assertEq(pointsB.totalSupply(), 6);
        assertEq(pointsA.totalSupply(), 0);
    }

    function test_RevertWhen_IssueBatchLengthMismatch() public {
        (address[] memory members, uint256[] memory amounts,) = _batch(3);
        bytes32[] memory refs = new bytes32[](2);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsBadBatch.selector, 3, 3, 2));
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
    }

    function test_RevertWhen_IssueBatchEmpty() public {
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsBadBatch.selector, 0, 0, 0));
        vm.prank(adminA);
        pointsA.issueBatch(new address[](0), new uint256[](0), PURCHASE, new bytes32[](0));
    }

    function test_RevertWhen_IssueBatchHasNonMember() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(3);
        members[2] = stranger;
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
    }

    function test_RevertWhen_IssueBatchHasFrozen() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(3);
        freezeMember(bob);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, bob));
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
    }

    function test_RevertWhen_IssueBatchZeroAmount() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(3);
        amounts[1] = 0;
        vm.expectRevert(ILoyaltyPoints.PointsZeroAmount.selector);
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
    }

    function test_RevertWhen_IssueBatchOverflows() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(2);
        members[1] = alice;
        amounts[0] = type(uint256).max;
        vm.expectRevert();
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
    }

    function test_RevertWhen_IssueBatchCallerNotIssuer() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                adminB,
                pointsA.ISSUER_ROLE()
            )
        );
        vm.prank(adminB);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
    }

    function test_RevertWhen_IssueBatchPaused() public {
        (address[] memory members, uint256[] memory amounts, bytes32[] memory refs) = _batch(1);
        _pauseA();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(adminA);
        pointsA.issueBatch(members, amounts, PURCHASE, refs);
    }

    /*//////////////////////////////////////////////////////////////
                               TRANSFER
    //////////////////////////////////////////////////////////////*/

    function test_Transfer() public {
        issueA(alice, 10);
        vm.prank(alice);
        assertTrue(pointsA.transfer(bob, 4));
        assertEq(pointsA.balanceOf(alice), 6);
        assertEq(pointsA.balanceOf(bob), 4);
    }

    function test_TransferFrom() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.approve(carol, 5);
        vm.prank(carol);
        pointsA.transferFrom(alice, bob, 5);
        assertEq(pointsA.balanceOf(bob), 5);
        assertEq(pointsA.allowance(alice, carol), 0);
    }

    function test_RevertWhen_TransferToNonMember() public {
        issueA(alice, 10);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        vm.prank(alice);
        pointsA.transfer(stranger, 1);
    }

    function test_TransferAllPoints() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.transfer(bob, 10);
        assertEq(pointsA.balanceOf(alice), 0);
        assertEq(pointsA.balanceOf(bob), 10);
    }

    function test_RevertWhen_TransferFromCallerWithoutAllowance() public {
        issueA(alice, 10);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, carol, 0, 5)
        );
        vm.prank(carol);
        pointsA.transferFrom(alice, bob, 5);
    }

    function test_RevertWhen_TransferFromToFrozen() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.approve(carol, 5);
        freezeMember(bob);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, bob));
        vm.prank(carol);
        pointsA.transferFrom(alice, bob, 5);
    }

    function test_RevertWhen_TransferToFrozen() public {
        issueA(alice, 10);
        freezeMember(bob);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, bob));
        vm.prank(alice);
        pointsA.transfer(bob, 1);
    }

    function test_RevertWhen_TransferFromFrozen() public {
        issueA(alice, 10);
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        vm.prank(alice);
        pointsA.transfer(bob, 1);
    }

    function test_RevertWhen_TransferFromDeregistered() public {
        issueA(alice, 10);
        vm.prank(operator);
        registry.deregister(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, alice));
        vm.prank(alice);
        pointsA.transfer(bob, 1);
    }

    function test_RevertWhen_TransferInsufficientPoints() public {
        issueA(alice, 10);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 10, 11)
        );
        vm.prank(alice);
        pointsA.transfer(bob, 11);
    }

    /// @dev EIP-20: "Transfers of 0 values MUST be treated as normal transfers and fire the
    /// Transfer event."
    function test_TransferZero() public {
        issueA(alice, 10);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, bob, 0);
        vm.recordLogs();
        vm.prank(alice);
        assertTrue(pointsA.transfer(bob, 0));
        assertEq(vm.getRecordedLogs().length, 1);
        assertEq(pointsA.balanceOf(alice), 10);
        assertEq(pointsA.balanceOf(bob), 0);
        assertEq(pointsA.totalSupply(), 10);
    }

    function test_TransferZeroWithoutPoints() public {
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(carol, bob, 0);
        vm.prank(carol);
        assertTrue(pointsA.transfer(bob, 0));
        assertEq(pointsA.balanceOf(carol), 0);
        assertEq(pointsA.balanceOf(bob), 0);
    }

    function test_TransferFromZero() public {
        issueA(alice, 10);
        // No allowance is needed to move 0 (OpenZeppelin: 0 <= allowance), and none is spent.
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, bob, 0);
        vm.prank(carol);
        assertTrue(pointsA.transferFrom(alice, bob, 0));
        assertEq(pointsA.allowance(alice, carol), 0);
        assertEq(pointsA.balanceOf(alice), 10);
        assertEq(pointsA.balanceOf(bob), 0);
    }

    function test_TransferFromZeroKeepsAllowance() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.approve(carol, 5);
        vm.prank(carol);
        assertTrue(pointsA.transferFrom(alice, bob, 0));
        assertEq(pointsA.allowance(alice, carol), 5);
    }

    function test_TransferZeroToSelf() public {
        issueA(alice, 10);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, alice, 0);
        vm.prank(alice);
        assertTrue(pointsA.transfer(alice, 0));
        assertEq(pointsA.balanceOf(alice), 10);
    }

    function test_RevertWhen_TransferZeroToNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        vm.prank(alice);
        pointsA.transfer(stranger, 0);
    }

    function test_RevertWhen_TransferZeroFromNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        vm.prank(stranger);
        pointsA.transfer(alice, 0);
    }

    function test_RevertWhen_TransferZeroToFrozen() public {
        freezeMember(bob);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, bob));
        vm.prank(alice);
        pointsA.transfer(bob, 0);
    }

    function test_RevertWhen_TransferZeroFromFrozen() public {
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        vm.prank(alice);
        pointsA.transfer(bob, 0);
    }

    function test_RevertWhen_TransferFromZeroToFrozen() public {
        freezeMember(bob);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, bob));
        vm.prank(carol);
        pointsA.transferFrom(alice, bob, 0);
    }

    function test_RevertWhen_TransferFromZeroToNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        vm.prank(carol);
        pointsA.transferFrom(alice, stranger, 0);
    }

    function test_RevertWhen_TransferZeroPaused() public {
        _pauseA();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(alice);
        pointsA.transfer(bob, 0);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(carol);
        pointsA.transferFrom(alice, bob, 0);
    }

    function test_RevertWhen_TransferZeroToZeroAddress() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0))
        );
        vm.prank(alice);
        pointsA.transfer(address(0), 0);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0))
        );
        vm.prank(carol);
        pointsA.transferFrom(alice, address(0), 0);
    }

    function test_RevertWhen_TransferPaused() public {
        issueA(alice, 10);
        _pauseA();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(alice);
        pointsA.transfer(bob, 1);
    }

    function test_RevertWhen_TransferToZeroAddress() public {
        issueA(alice, 10);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0))
        );
        vm.prank(alice);
        pointsA.transfer(address(0), 1);
    }

    function testFuzz_Transfer(uint256 issued, uint256 amount) public {
        issued = bound(issued, 1, type(uint128).max);
        amount = bound(amount, 1, issued);
        issueA(alice, issued);
        vm.prank(alice);
        pointsA.transfer(bob, amount);
        assertEq(pointsA.balanceOf(alice), issued - amount);
        assertEq(pointsA.balanceOf(bob), amount);
        assertEq(pointsA.totalSupply(), issued);
    }

    function testFuzz_RevertWhen_TransferToUnregistered(address to, uint256 amount) public {
        vm.assume(to != address(0) && to != alice && to != bob && to != carol);
        amount = bound(amount, 1, 1000);
        issueA(alice, 1000);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, to));
        vm.prank(alice);
        pointsA.transfer(to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                  GIFT
    //////////////////////////////////////////////////////////////*/

    function test_Gift() public {
        issueA(alice, 10);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, bob, 3);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsGifted(alice, bob, 3, "happy birthday");
        vm.prank(alice);
        pointsA.gift(bob, 3, "happy birthday");
        assertEq(pointsA.balanceOf(bob), 3);
    }

    function test_GiftMaxMemo() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.gift(bob, 3, string(new bytes(64)));
        assertEq(pointsA.balanceOf(bob), 3);
    }

    function test_RevertWhen_GiftMemoTooLong() public {
        issueA(alice, 10);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsMemoTooLong.selector, 65, 64));
        vm.prank(alice);
        pointsA.gift(bob, 3, string(new bytes(65)));
    }

    function test_RevertWhen_GiftToNonMember() public {
        issueA(alice, 10);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, stranger));
        vm.prank(alice);
        pointsA.gift(stranger, 3, "");
    }

    function test_RevertWhen_GiftToZeroAddress() public {
        issueA(alice, 10);
        vm.expectRevert(
            abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, address(0))
        );
        vm.prank(alice);
        pointsA.gift(address(0), 3, "");
    }

    function test_RevertWhen_GiftFromFrozen() public {
        issueA(alice, 10);
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        vm.prank(alice);
        pointsA.gift(bob, 3, "");
    }

    function test_RevertWhen_GiftInsufficientPoints() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 3)
        );
        vm.prank(alice);
        pointsA.gift(bob, 3, "");
    }

    /// @dev A gift is not an EIP-20 transfer: 0 stays refused, though `transfer(bob, 0)` works.
    function test_RevertWhen_GiftZeroAmount() public {
        issueA(alice, 10);
        vm.expectRevert(ILoyaltyPoints.PointsZeroAmount.selector);
        vm.prank(alice);
        pointsA.gift(bob, 0, "");
    }

    function test_RevertWhen_GiftPaused() public {
        issueA(alice, 10);
        _pauseA();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(alice);
        pointsA.gift(bob, 3, "");
    }

    function testFuzz_Gift(uint256 amount, uint256 memoLength) public {
        amount = bound(amount, 1, 1e12);
        memoLength = bound(memoLength, 0, 64);
        issueA(alice, 1e12);
        vm.prank(alice);
        pointsA.gift(carol, amount, string(new bytes(memoLength)));
        assertEq(pointsA.balanceOf(carol), amount);
        assertEq(pointsA.balanceOf(alice), 1e12 - amount);
    }

    /*//////////////////////////////////////////////////////////////
                                 REDEEM
    //////////////////////////////////////////////////////////////*/

    function test_Redeem() public {
        issueA(alice, 10);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, address(0), 4);
        vm.expectEmit(true, true, true, true, address(pointsA));
        emit ILoyaltyPoints.PointsRedeemed(alice, 4, ORDER_1, alice);
        vm.prank(alice);
        pointsA.redeem(4, ORDER_1);
        assertEq(pointsA.balanceOf(alice), 6);
        assertEq(pointsA.totalSupply(), 6);
    }

    function test_RedeemAfterDeregistration() public {
        issueA(alice, 10);
        vm.prank(operator);
        registry.deregister(alice);
        vm.prank(alice);
        pointsA.redeem(10, ORDER_1);
        assertEq(pointsA.balanceOf(alice), 0);
    }

    function test_RevertWhen_RedeemFrozen() public {
        issueA(alice, 10);
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        vm.prank(alice);
        pointsA.redeem(1, ORDER_1);
    }

    function test_RevertWhen_RedeemInsufficientPoints() public {
        issueA(alice, 10);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 10, 11)
        );
        vm.prank(alice);
        pointsA.redeem(11, ORDER_1);
    }

    function test_RevertWhen_RedeemZeroAmount() public {
        issueA(alice, 10);
        vm.expectRevert(ILoyaltyPoints.PointsZeroAmount.selector);
        vm.prank(alice);
        pointsA.redeem(0, ORDER_1);
    }

    function test_RevertWhen_RedeemPaused() public {
        issueA(alice, 10);
        _pauseA();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(alice);
        pointsA.redeem(1, ORDER_1);
    }

    function test_RedeemFrom() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.approve(adminA, 6);
        vm.expectEmit(true, true, true, true, address(pointsA));
        emit ILoyaltyPoints.PointsRedeemed(alice, 6, ORDER_1, adminA);
        vm.prank(adminA);
        pointsA.redeemFrom(alice, 6, ORDER_1);
        assertEq(pointsA.balanceOf(alice), 4);
        assertEq(pointsA.allowance(alice, adminA), 0);
    }

    function test_RevertWhen_RedeemFromWithoutAllowance() public {
        issueA(alice, 10);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, adminA, 0, 6)
        );
        vm.prank(adminA);
        pointsA.redeemFrom(alice, 6, ORDER_1);
    }

    function test_RevertWhen_RedeemFromZeroAmount() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.approve(adminA, 5);
        vm.expectRevert(ILoyaltyPoints.PointsZeroAmount.selector);
        vm.prank(adminA);
        pointsA.redeemFrom(alice, 0, ORDER_1);
    }

    function test_RevertWhen_RedeemFromCallerNotRedeemer() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.approve(bob, 6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                bob,
                pointsA.REDEEMER_ROLE()
            )
        );
        vm.prank(bob);
        pointsA.redeemFrom(alice, 6, ORDER_1);
    }

    function test_RevertWhen_RedeemFromOtherBrandsRedeemer() public {
        issueB(alice, 10);
        vm.prank(alice);
        pointsB.approve(adminA, 6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                adminA,
                pointsB.REDEEMER_ROLE()
            )
        );
        vm.prank(adminA);
        pointsB.redeemFrom(alice, 6, ORDER_1);
    }

    function test_RevertWhen_RedeemFromFrozen() public {
        issueA(alice, 10);
        vm.prank(alice);
        pointsA.approve(adminA, 6);
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsAccountFrozen.selector, alice));
        vm.prank(adminA);
        pointsA.redeemFrom(alice, 6, ORDER_1);
    }

    function testFuzz_Redeem(uint256 issued, uint256 amount) public {
        issued = bound(issued, 1, type(uint128).max);
        amount = bound(amount, 1, issued);
        issueA(alice, issued);
        vm.prank(alice);
        pointsA.redeem(amount, ORDER_1);
        assertEq(pointsA.balanceOf(alice), issued - amount);
        assertEq(pointsA.totalSupply(), issued - amount);
    }

    /*//////////////////////////////////////////////////////////////
                                FORFEIT
    //////////////////////////////////////////////////////////////*/

    function test_Forfeit() public {
        issueA(alice, 10);
        vm.expectEmit(true, true, true, true, address(pointsA));
        emit ILoyaltyPoints.PointsForfeited(alice, 10, FRAUD, adminA);
        vm.prank(adminA);
        pointsA.forfeit(alice, 10, FRAUD);
        assertEq(pointsA.balanceOf(alice), 0);
        assertEq(pointsA.totalSupply(), 0);
    }

    function test_ForfeitFrozen() public {
        issueA(alice, 10);
        freezeMember(alice);
        vm.prank(adminA);
        pointsA.forfeit(alice, 7, FRAUD);
        assertEq(pointsA.balanceOf(alice), 3);
    }

    function test_RevertWhen_ForfeitCallerNotAdmin() public {
        issueA(alice, 10);
        bytes32 issuerRole = pointsA.ISSUER_ROLE();
        vm.prank(adminA);
        pointsA.grantRole(issuerRole, bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                bob,
                pointsA.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(bob);
        pointsA.forfeit(alice, 1, FRAUD);
    }

    function test_RevertWhen_ForfeitInsufficientPoints() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 1)
        );
        vm.prank(adminA);
        pointsA.forfeit(alice, 1, FRAUD);
    }

    function test_RevertWhen_ForfeitZeroAmount() public {
        vm.expectRevert(ILoyaltyPoints.PointsZeroAmount.selector);
        vm.prank(adminA);
        pointsA.forfeit(alice, 0, FRAUD);
    }

    function test_RevertWhen_ForfeitPaused() public {
        issueA(alice, 10);
        _pauseA();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(adminA);
        pointsA.forfeit(alice, 1, FRAUD);
    }

    /*//////////////////////////////////////////////////////////////
                            PAUSE AND RECOVER
    //////////////////////////////////////////////////////////////*/

    function test_PauseUnpause() public {
        _pauseA();
        assertTrue(pointsA.paused());
        vm.prank(adminA);
        pointsA.unpause();
        assertFalse(pointsA.paused());
        issueA(alice, 1);
    }

    function test_PauseIsPerBrand() public {
        _pauseA();
        issueB(alice, 1);
        assertEq(pointsB.balanceOf(alice), 1);
    }

    function test_RevertWhen_PauseCallerNotPauser() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                adminB,
                pointsA.PAUSER_ROLE()
            )
        );
        vm.prank(adminB);
        pointsA.pause();
    }

    function test_RevertWhen_UnpauseCallerNotPauser() public {
        _pauseA();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                alice,
                pointsA.PAUSER_ROLE()
            )
        );
        vm.prank(alice);
        pointsA.unpause();
    }

    function test_RevertWhen_UnpauseNotPaused() public {
        vm.expectRevert(Pausable.ExpectedPause.selector);
        vm.prank(adminA);
        pointsA.unpause();
    }

    function test_RecoverByRegistry() public {
        issueA(alice, 10);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(alice, bob, 10);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsRecovered(alice, bob, 10);
        vm.prank(address(registry));
        pointsA.recover(alice, bob);
        assertEq(pointsA.balanceOf(bob), 10);
        assertEq(pointsA.balanceOf(alice), 0);
    }

    function test_RecoverNothingIsNoop() public {
        vm.recordLogs();
        vm.prank(address(registry));
        pointsA.recover(alice, bob);
        assertEq(vm.getRecordedLogs().length, 0);
    }

    function test_RevertWhen_RecoverCallerNotRegistry() public {
        issueA(alice, 10);
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsOnlyRegistry.selector, adminA));
        vm.prank(adminA);
        pointsA.recover(alice, bob);
    }

    function _pauseA() internal {
        vm.prank(adminA);
        pointsA.pause();
    }

    function _batch(uint256 n)
        internal
        view
        returns (address[] memory members, uint256[] memory amounts, bytes32[] memory refs)
    {
        address[3] memory who = [alice, bob, carol];
        members = new address[](n);
        amounts = new uint256[](n);
        refs = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            members[i] = who[i % 3];
            amounts[i] = i + 1;
            refs[i] = bytes32(i + 1);
        }
    }
}
