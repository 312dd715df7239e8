// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Errors} from "@openzeppelin/contracts/utils/Errors.sol";

import {ILoyaltyPoints} from "../../contracts/interfaces/ILoyaltyPoints.sol";
import {IMembershipPass} from "../../contracts/interfaces/IMembershipPass.sol";
import {Deployers} from "./utils/Deployers.sol";

/// @notice Members act without gas: EIP-712 ForwardRequests relayed by the forwarder, and
/// ERC-2612 permits carried by `redeemWithPermit`.
contract GaslessTest is Deployers {
    uint48 internal deadline;

    function setUp() public {
        deployNetwork();
        issueA(alice, 100);
        deadline = uint48(block.timestamp + 1 hours);
    }

    /*//////////////////////////////////////////////////////////////
                               FORWARDER
    //////////////////////////////////////////////////////////////*/

    function test_ForwardedTransfer() public {
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey, address(pointsA), abi.encodeCall(pointsA.transfer, (bob, 30)), deadline
        );
        vm.prank(relayer);
        forwarder.execute(request);
        assertEq(pointsA.balanceOf(alice), 70);
        assertEq(pointsA.balanceOf(bob), 30);
        assertEq(relayer.balance, 0);
    }

    function test_ForwardedGift() public {
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey, address(pointsA), abi.encodeCall(pointsA.gift, (bob, 5, "thanks!")), deadline
        );
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit ILoyaltyPoints.PointsGifted(alice, bob, 5, "thanks!");
        vm.prank(relayer);
        forwarder.execute(request);
        assertEq(pointsA.balanceOf(bob), 5);
    }

    function test_ForwardedRedeem() public {
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey, address(pointsA), abi.encodeCall(pointsA.redeem, (40, ORDER_1)), deadline
        );
        vm.expectEmit(true, true, true, true, address(pointsA));
        emit ILoyaltyPoints.PointsRedeemed(alice, 40, ORDER_1, alice);
        vm.prank(relayer);
        forwarder.execute(request);
        assertEq(pointsA.balanceOf(alice), 60);
        assertEq(pointsA.totalSupply(), 60);
    }

    function test_ForwardedPassTransfer() public {
        vm.startPrank(adminA);
        uint256 tokenId = passA.issue(alice, 0, 0);
        passA.setTransferable(true);
        vm.stopPrank();
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey,
            address(passA),
            abi.encodeCall(passA.transferFrom, (alice, bob, tokenId)),
            deadline
        );
        vm.prank(relayer);
        forwarder.execute(request);
        assertEq(passA.ownerOf(tokenId), bob);
    }

    function test_RevertWhen_ForwardedSoulboundPassTransfer() public {
        vm.prank(adminA);
        uint256 tokenId = passA.issue(alice, 0, 0);
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey,
            address(passA),
            abi.encodeCall(passA.transferFrom, (alice, bob, tokenId)),
            deadline
        );
        // The forwarder reports a failed inner call as FailedCall.
        vm.expectRevert(Errors.FailedCall.selector);
        vm.prank(relayer);
        forwarder.execute(request);
    }

    function test_RevertWhen_ForwardedRequestExpired() public {
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey, address(pointsA), abi.encodeCall(pointsA.transfer, (bob, 30)), deadline
        );
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ERC2771Forwarder.ERC2771ForwarderExpiredRequest.selector, deadline
            )
        );
        vm.prank(relayer);
        forwarder.execute(request);
    }

    function test_RevertWhen_ForwardedRequestReplayed() public {
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey, address(pointsA), abi.encodeCall(pointsA.transfer, (bob, 30)), deadline
        );
        vm.prank(relayer);
        forwarder.execute(request);
        // The nonce moved on, so the same signature now recovers to someone else.
        vm.expectRevert();
        vm.prank(relayer);
        forwarder.execute(request);
        assertEq(pointsA.balanceOf(bob), 30);
        assertTrue(!forwarder.verify(request));
    }

    function test_RevertWhen_ForwardedRequestForgedSender() public {
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            bobKey, address(pointsA), abi.encodeCall(pointsA.transfer, (bob, 30)), deadline
        );
        request.from = alice;
        vm.expectRevert();
        vm.prank(relayer);
        forwarder.execute(request);
        assertEq(pointsA.balanceOf(alice), 100);
    }

    function test_RevertWhen_ForwardedTransferToNonMember() public {
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey, address(pointsA), abi.encodeCall(pointsA.transfer, (stranger, 30)), deadline
        );
        vm.expectRevert(Errors.FailedCall.selector);
        vm.prank(relayer);
        forwarder.execute(request);
    }

    function test_DirectCallFromForwarderAddressIsNotSpoofable() public {
        // A direct call (not through the forwarder) with a trailing address acts as the caller.
        vm.prank(bob);
        (bool ok,) = address(pointsA)
            .call(abi.encodePacked(abi.encodeCall(pointsA.transfer, (carol, 1)), alice));
        assertFalse(ok);
        assertEq(pointsA.balanceOf(alice), 100);
    }

    /*//////////////////////////////////////////////////////////////
                                 PERMIT
    //////////////////////////////////////////////////////////////*/

    function test_RedeemWithPermit() public {
        uint256 permitDeadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(aliceKey, pointsA, adminA, 25, permitDeadline);
        vm.expectEmit(true, true, true, true, address(pointsA));
        emit ILoyaltyPoints.PointsRedeemed(alice, 25, ORDER_1, adminA);
        vm.prank(adminA);
        pointsA.redeemWithPermit(alice, 25, ORDER_1, permitDeadline, v, r, s);
        assertEq(pointsA.balanceOf(alice), 75);
        assertEq(pointsA.allowance(alice, adminA), 0);
        assertEq(pointsA.nonces(alice), 1);
    }

    function test_RevertWhen_RedeemWithPermitExpired() public {
        uint256 permitDeadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(aliceKey, pointsA, adminA, 25, permitDeadline);
        vm.warp(permitDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, permitDeadline)
        );
        vm.prank(adminA);
        pointsA.redeemWithPermit(alice, 25, ORDER_1, permitDeadline, v, r, s);
    }

    function test_RevertWhen_RedeemWithPermitReplayed() public {
        uint256 permitDeadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(aliceKey, pointsA, adminA, 25, permitDeadline);
        vm.prank(adminA);
        pointsA.redeemWithPermit(alice, 25, ORDER_1, permitDeadline, v, r, s);
        vm.expectRevert(); // ERC2612InvalidSigner(recovered, alice): the nonce moved on.
        vm.prank(adminA);
        pointsA.redeemWithPermit(alice, 25, ORDER_1, permitDeadline, v, r, s);
        assertEq(pointsA.balanceOf(alice), 75);
    }

    function test_RevertWhen_RedeemWithPermitWrongAmount() public {
        uint256 permitDeadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(aliceKey, pointsA, adminA, 25, permitDeadline);
        vm.expectRevert();
        vm.prank(adminA);
        pointsA.redeemWithPermit(alice, 26, ORDER_1, permitDeadline, v, r, s);
    }

    function test_RevertWhen_RedeemWithPermitOtherBrand() public {
        issueB(alice, 100);
        uint256 permitDeadline = block.timestamp + 1 hours;
        // Signed for brand A's domain: useless on brand B.
        (uint8 v, bytes32 r, bytes32 s) = signPermit(aliceKey, pointsA, adminB, 25, permitDeadline);
        vm.expectRevert();
        vm.prank(adminB);
        pointsB.redeemWithPermit(alice, 25, ORDER_1, permitDeadline, v, r, s);
    }

    function test_RevertWhen_RedeemWithPermitInsufficientPoints() public {
        uint256 permitDeadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(aliceKey, pointsA, adminA, 101, permitDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 100, 101)
        );
        vm.prank(adminA);
        pointsA.redeemWithPermit(alice, 101, ORDER_1, permitDeadline, v, r, s);
    }

    function testFuzz_ForwardedTransfer(uint256 amount) public {
        amount = bound(amount, 1, 100);
        ERC2771Forwarder.ForwardRequestData memory request = signForward(
            aliceKey, address(pointsA), abi.encodeCall(pointsA.transfer, (carol, amount)), deadline
        );
        vm.prank(relayer);
        forwarder.execute(request);
        assertEq(pointsA.balanceOf(carol), amount);
        assertEq(pointsA.balanceOf(alice), 100 - amount);
    }

    function test_PassTrustsForwarder() public view {
        assertTrue(passA.isTrustedForwarder(address(forwarder)));
        assertEq(IMembershipPass(address(passA)).registry(), address(registry));
    }
}
