// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {MembershipPass} from "../../contracts/MembershipPass.sol";
import {IMembershipPass} from "../../contracts/interfaces/IMembershipPass.sol";
import {Deployers} from "./utils/Deployers.sol";
import {Vm} from "./utils/Test.sol";

contract MembershipPassTest is Deployers {
    function setUp() public {
        deployNetwork();
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_Constructor() public view {
        assertEq(passA.name(), "Brand A Pass");
        assertEq(passA.brandId(), BRAND_A);
        assertEq(passA.registry(), address(registry));
        assertEq(passA.tierCount(), 3);
        assertEq(passA.tierName(0), "Silver");
        assertEq(passA.tierName(2), "Platinum");
        assertFalse(passA.transferable());
        assertTrue(passA.hasRole(passA.ISSUER_ROLE(), adminA));
        assertTrue(passA.hasRole(passA.DEFAULT_ADMIN_ROLE(), adminA));
    }

    function test_SupportsInterface() public view {
        assertTrue(passA.supportsInterface(0xb45a3c0e)); // ERC-5192
        assertTrue(passA.supportsInterface(0x80ac58cd)); // ERC-721
        assertTrue(passA.supportsInterface(0x5b5e139f)); // ERC-721 metadata
        assertTrue(passA.supportsInterface(0x7965db0b)); // AccessControl
        assertTrue(passA.supportsInterface(0x01ffc9a7)); // ERC-165
        assertFalse(passA.supportsInterface(0xffffffff));
    }

    function test_RevertWhen_ConstructorNoTiers() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassBadTierCount.selector, 0));
        new MembershipPass(
            "X", "X", BRAND_A, address(registry), address(forwarder), adminA, new string[](0)
        );
    }

    function test_RevertWhen_ConstructorTooManyTiers() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassBadTierCount.selector, 256));
        new MembershipPass(
            "X", "X", BRAND_A, address(registry), address(forwarder), adminA, new string[](256)
        );
    }

    /*//////////////////////////////////////////////////////////////
                                 ISSUE
    //////////////////////////////////////////////////////////////*/

    function test_Issue() public {
        uint64 expiry = uint64(block.timestamp + 365 days);
        vm.expectEmit(true, true, true, true, address(passA));
        emit IERC721.Transfer(address(0), alice, 1);
        vm.expectEmit(true, true, true, true, address(passA));
        emit IMembershipPass.Locked(1);
        vm.expectEmit(true, true, true, true, address(passA));
        emit IMembershipPass.PassIssued(alice, 1, 1, expiry);
        vm.prank(adminA);
        uint256 tokenId = passA.issue(alice, 1, expiry);
        assertEq(tokenId, 1);
        assertEq(passA.passOf(alice), 1);
        assertEq(passA.ownerOf(1), alice);
        assertEq(passA.tierOf(alice), 1);
        assertTrue(passA.isActive(alice));
        assertTrue(passA.locked(1));
        (address owner, uint8 tier, uint64 expiresAt) = passA.passInfo(1);
        assertEq(owner, alice);
        assertEq(tier, 1);
        assertEq(expiresAt, expiry);

        vm.prank(adminA);
        assertEq(passA.issue(bob, 0, 0), 2);
    }

    /// @dev ERC-5192 `Unlocked`: "If a token is minted and the status is unlocked, this event
    /// should be emitted."
    function test_IssueTransferableEmitsUnlocked() public {
        vm.prank(adminA);
        passA.setTransferable(true);
        vm.expectEmit(true, true, true, true, address(passA));
        emit IERC721.Transfer(address(0), alice, 1);
        vm.expectEmit(true, true, true, true, address(passA));
        emit IMembershipPass.Unlocked(1);
        vm.expectEmit(true, true, true, true, address(passA));
        emit IMembershipPass.PassIssued(alice, 1, 0, 0);
        vm.recordLogs();
        vm.prank(adminA);
        passA.issue(alice, 0, 0);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        // Transfer, Unlocked, PassIssued: no Locked.
        assertEq(logs.length, 3);
        assertEq(logs[1].topics[0], IMembershipPass.Unlocked.selector);
        assertFalse(passA.locked(1));
    }

    function test_IssueSoulboundEmitsLockedOnly() public {
        vm.recordLogs();
        vm.prank(adminA);
        passA.issue(alice, 0, 0);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 3);
        assertEq(logs[1].topics[0], IMembershipPass.Locked.selector);
        assertTrue(passA.locked(1));
    }

    function test_RevertWhen_IssueCallerNotIssuer() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, alice, passA.ISSUER_ROLE()
            )
        );
        vm.prank(alice);
        passA.issue(alice, 0, 0);
    }

    function test_RevertWhen_IssuerOfOtherBrand() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                adminA,
                passB.ISSUER_ROLE()
            )
        );
        vm.prank(adminA);
        passB.issue(alice, 0, 0);
    }

    function test_RevertWhen_IssueToNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotAMember.selector, stranger));
        vm.prank(adminA);
        passA.issue(stranger, 0, 0);
    }

    function test_RevertWhen_IssueToFrozen() public {
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassAccountFrozen.selector, alice));
        vm.prank(adminA);
        passA.issue(alice, 0, 0);
    }

    function test_RevertWhen_IssueTwice() public {
        vm.startPrank(adminA);
        passA.issue(alice, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassAlreadyHeld.selector, alice, 1));
        passA.issue(alice, 1, 0);
        vm.stopPrank();
    }

    function test_RevertWhen_IssueUnknownTier() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassUnknownTier.selector, 3, 3));
        vm.prank(adminA);
        passA.issue(alice, 3, 0);
    }

    function test_RevertWhen_IssueExpiryInPast() public {
        uint64 past = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassExpiryInPast.selector, past));
        vm.prank(adminA);
        passA.issue(alice, 0, past);
    }

    function testFuzz_Issue(uint8 tier, uint64 expiresAt) public {
        tier = uint8(bound(tier, 0, 2));
        expiresAt = uint64(bound(expiresAt, block.timestamp + 1, type(uint64).max));
        vm.prank(adminA);
        uint256 tokenId = passA.issue(carol, tier, expiresAt);
        (address owner, uint8 gotTier, uint64 gotExpiry) = passA.passInfo(tokenId);
        assertEq(owner, carol);
        assertEq(gotTier, tier);
        assertEq(gotExpiry, expiresAt);
    }

    /*//////////////////////////////////////////////////////////////
                          TIERS, RENEWAL, REVOKE
    //////////////////////////////////////////////////////////////*/

    function test_SetTier() public {
        _issue(alice, 0);
        vm.expectEmit(true, true, false, true, address(passA));
        emit IMembershipPass.PassTierChanged(alice, 1, 0, 2);
        vm.prank(adminA);
        passA.setTier(alice, 2);
        assertEq(passA.tierOf(alice), 2);
        vm.prank(adminA);
        passA.setTier(alice, 1); // downgrade
        assertEq(passA.tierOf(alice), 1);
    }

    function test_RevertWhen_SetTierSame() public {
        _issue(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassSameTier.selector, 1));
        vm.prank(adminA);
        passA.setTier(alice, 1);
    }

    function test_RevertWhen_SetTierUnknown() public {
        _issue(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassUnknownTier.selector, 9, 3));
        vm.prank(adminA);
        passA.setTier(alice, 9);
    }

    function test_RevertWhen_SetTierNoPass() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotHeld.selector, alice));
        vm.prank(adminA);
        passA.setTier(alice, 1);
    }

    function test_RevertWhen_SetTierCallerNotIssuer() public {
        _issue(alice, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                adminB,
                passA.ISSUER_ROLE()
            )
        );
        vm.prank(adminB);
        passA.setTier(alice, 1);
    }

    function test_Renew() public {
        _issue(alice, 0);
        uint64 expiry = uint64(block.timestamp + 10 days);
        vm.expectEmit(true, true, false, true, address(passA));
        emit IMembershipPass.PassRenewed(alice, 1, expiry);
        vm.prank(adminA);
        passA.renew(alice, expiry);
        (,, uint64 expiresAt) = passA.passInfo(1);
        assertEq(expiresAt, expiry);
        assertTrue(passA.isActive(alice));
        vm.warp(expiry);
        assertFalse(passA.isActive(alice));
        vm.prank(adminA);
        passA.renew(alice, 0);
        assertTrue(passA.isActive(alice));
    }

    function test_RevertWhen_RenewInPast() public {
        _issue(alice, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IMembershipPass.PassExpiryInPast.selector, uint64(1))
        );
        vm.prank(adminA);
        passA.renew(alice, 1);
    }

    function test_RevertWhen_RenewNoPass() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotHeld.selector, alice));
        vm.prank(adminA);
        passA.renew(alice, 0);
    }

    function test_RevertWhen_RenewCallerNotIssuer() public {
        _issue(alice, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, alice, passA.ISSUER_ROLE()
            )
        );
        vm.prank(alice);
        passA.renew(alice, 0);
    }

    function test_Revoke() public {
        _issue(alice, 2);
        vm.expectEmit(true, true, false, true, address(passA));
        emit IMembershipPass.PassRevoked(alice, 1);
        vm.prank(adminA);
        passA.revoke(alice);
        assertEq(passA.passOf(alice), 0);
        assertFalse(passA.isActive(alice));
        assertEq(passA.balanceOf(alice), 0);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 1));
        passA.passInfo(1);
        // A new pass may follow, with a new id.
        vm.prank(adminA);
        assertEq(passA.issue(alice, 0, 0), 2);
    }

    function test_RevokeFrozen() public {
        _issue(alice, 0);
        freezeMember(alice);
        vm.prank(adminA);
        passA.revoke(alice);
        assertEq(passA.passOf(alice), 0);
    }

    function test_RevertWhen_RevokeNoPass() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotHeld.selector, alice));
        vm.prank(adminA);
        passA.revoke(alice);
    }

    function test_RevertWhen_RevokeCallerNotIssuer() public {
        _issue(alice, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, alice, passA.ISSUER_ROLE()
            )
        );
        vm.prank(alice);
        passA.revoke(alice);
    }

    function test_AddTier() public {
        vm.expectEmit(true, false, false, true, address(passA));
        emit IMembershipPass.TierAdded(3, "Diamond");
        vm.prank(adminA);
        assertEq(passA.addTier("Diamond"), 3);
        assertEq(passA.tierCount(), 4);
        assertEq(passA.tierName(3), "Diamond");
    }

    function test_RevertWhen_AddTierBeyondLimit() public {
        MembershipPass pass = new MembershipPass(
            "X", "X", BRAND_A, address(registry), address(forwarder), adminA, new string[](255)
        );
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassBadTierCount.selector, 256));
        vm.prank(adminA);
        pass.addTier("one too many");
    }

    function test_RevertWhen_AddTierCallerNotAdmin() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                adminB,
                passA.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(adminB);
        passA.addTier("Diamond");
    }

    function test_RevertWhen_TierNameUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassUnknownTier.selector, 3, 3));
        passA.tierName(3);
    }

    function test_RevertWhen_TierOfNoPass() public {
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotHeld.selector, alice));
        passA.tierOf(alice);
    }

    function test_RevertWhen_LockedNonexistent() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        passA.locked(7);
    }

    /*//////////////////////////////////////////////////////////////
                       SOULBINDING AND TRANSFERS
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_SoulboundTransfer() public {
        _issue(alice, 0);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotTransferable.selector, 1));
        vm.prank(alice);
        passA.transferFrom(alice, bob, 1);
    }

    function test_RevertWhen_SoulboundSafeTransfer() public {
        _issue(alice, 0);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotTransferable.selector, 1));
        vm.prank(alice);
        passA.safeTransferFrom(alice, bob, 1);
    }

    function test_SetTransferable() public {
        vm.expectEmit(false, false, false, true, address(passA));
        emit IMembershipPass.TransferabilityChanged(true);
        vm.prank(adminA);
        passA.setTransferable(true);
        assertTrue(passA.transferable());
    }

    /// @dev The programme-wide switch is one TransferabilityChanged, not a Locked/Unlocked per
    /// pass (documented in IMembershipPass); `locked(id)` answers per token at once.
    function test_SetTransferableEmitsOneEventForEveryPass() public {
        _issue(alice, 0);
        _issue(bob, 0);
        vm.recordLogs();
        vm.prank(adminA);
        passA.setTransferable(true);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[0], IMembershipPass.TransferabilityChanged.selector);
        assertFalse(passA.locked(1));
        assertFalse(passA.locked(2));
    }

    function test_LockedFollowsTransferability() public {
        _issue(alice, 0);
        assertTrue(passA.locked(1));
        vm.prank(adminA);
        passA.setTransferable(true);
        assertFalse(passA.locked(1));
        vm.prank(adminA);
        passA.setTransferable(false);
        assertTrue(passA.locked(1));
    }

    function testFuzz_RevertWhen_SoulboundTransfer(uint256 toSeed) public {
        _issue(alice, 0);
        address[3] memory to = [bob, carol, stranger];
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotTransferable.selector, 1));
        vm.prank(alice);
        passA.transferFrom(alice, to[toSeed % 3], 1);
    }

    function test_RevertWhen_SetTransferableCallerNotAdmin() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                alice,
                passA.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(alice);
        passA.setTransferable(true);
    }

    function test_TransferWhenTransferable() public {
        _issue(alice, 2);
        vm.prank(adminA);
        passA.setTransferable(true);
        vm.prank(alice);
        passA.transferFrom(alice, bob, 1);
        assertEq(passA.ownerOf(1), bob);
        assertEq(passA.passOf(bob), 1);
        assertEq(passA.passOf(alice), 0);
        assertEq(passA.tierOf(bob), 2);
    }

    function test_RevertWhen_TransferToNonMember() public {
        _issue(alice, 0);
        vm.prank(adminA);
        passA.setTransferable(true);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotAMember.selector, stranger));
        vm.prank(alice);
        passA.transferFrom(alice, stranger, 1);
    }

    function test_RevertWhen_TransferToFrozen() public {
        _issue(alice, 0);
        vm.prank(adminA);
        passA.setTransferable(true);
        freezeMember(bob);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassAccountFrozen.selector, bob));
        vm.prank(alice);
        passA.transferFrom(alice, bob, 1);
    }

    function test_RevertWhen_TransferFromFrozen() public {
        _issue(alice, 0);
        vm.prank(adminA);
        passA.setTransferable(true);
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassAccountFrozen.selector, alice));
        vm.prank(alice);
        passA.transferFrom(alice, bob, 1);
    }

    function test_RevertWhen_TransferToHolder() public {
        _issue(alice, 0);
        _issue(bob, 0);
        vm.prank(adminA);
        passA.setTransferable(true);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassAlreadyHeld.selector, bob, 2));
        vm.prank(alice);
        passA.transferFrom(alice, bob, 1);
    }

    /// @dev A holder's transfer of its pass to itself succeeds and changes nothing but the
    /// approval, as OpenZeppelin's ERC721 (and crytic's ERC721-BASE-009/010) expect.
    function test_SelfTransferWhenTransferable() public {
        _issue(alice, 2);
        vm.prank(adminA);
        passA.renew(alice, uint64(block.timestamp + 30 days));
        vm.prank(adminA);
        passA.setTransferable(true);
        vm.prank(alice);
        passA.approve(carol, 1);
        vm.expectEmit(true, true, true, true, address(passA));
        emit IERC721.Transfer(alice, alice, 1);
        vm.prank(alice);
        passA.transferFrom(alice, alice, 1);
        assertEq(passA.ownerOf(1), alice);
        assertEq(passA.balanceOf(alice), 1);
        assertEq(passA.passOf(alice), 1);
        assertEq(passA.tierOf(alice), 2);
        assertTrue(passA.isActive(alice));
        (, uint8 tier, uint64 expiresAt) = passA.passInfo(1);
        assertEq(tier, 2);
        assertEq(expiresAt, uint64(block.timestamp + 30 days));
        assertEq(passA.getApproved(1), address(0));
    }

    function test_SelfTransferByApprovedAndSafe() public {
        _issue(alice, 0);
        vm.prank(adminA);
        passA.setTransferable(true);
        vm.prank(alice);
        passA.approve(carol, 1);
        vm.prank(carol);
        passA.transferFrom(alice, alice, 1);
        assertEq(passA.ownerOf(1), alice);
        assertEq(passA.getApproved(1), address(0));
        vm.expectEmit(true, true, true, true, address(passA));
        emit IERC721.Transfer(alice, alice, 1);
        vm.prank(alice);
        passA.safeTransferFrom(alice, alice, 1);
        assertEq(passA.passOf(alice), 1);
    }

    function test_RevertWhen_SelfTransferSoulbound() public {
        _issue(alice, 0);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassNotTransferable.selector, 1));
        vm.prank(alice);
        passA.transferFrom(alice, alice, 1);
    }

    function test_RevertWhen_SelfTransferFrozen() public {
        _issue(alice, 0);
        vm.prank(adminA);
        passA.setTransferable(true);
        freezeMember(alice);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassAccountFrozen.selector, alice));
        vm.prank(alice);
        passA.transferFrom(alice, alice, 1);
    }

    function test_RevertWhen_TransferNotApproved() public {
        _issue(alice, 0);
        vm.prank(adminA);
        passA.setTransferable(true);
        vm.expectRevert(
            abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, carol, 1)
        );
        vm.prank(carol);
        passA.transferFrom(alice, bob, 1);
    }

    /*//////////////////////////////////////////////////////////////
                                RECOVERY
    //////////////////////////////////////////////////////////////*/

    function test_RecoverSoulbound() public {
        _issue(alice, 1);
        vm.expectEmit(true, true, true, true, address(passA));
        emit IMembershipPass.PassRecovered(alice, bob, 1);
        vm.prank(address(registry));
        passA.recover(alice, bob);
        assertEq(passA.ownerOf(1), bob);
        assertEq(passA.passOf(bob), 1);
        assertEq(passA.passOf(alice), 0);
        assertEq(passA.tierOf(bob), 1);
    }

    function test_RecoverNoPassIsNoop() public {
        vm.recordLogs();
        vm.prank(address(registry));
        passA.recover(alice, bob);
        assertEq(vm.getRecordedLogs().length, 0);
    }

    function test_RevertWhen_RecoverToHolder() public {
        _issue(alice, 1);
        _issue(bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassAlreadyHeld.selector, bob, 2));
        vm.prank(address(registry));
        passA.recover(alice, bob);
    }

    function test_RevertWhen_RegistryRecoverToPassHolder() public {
        _issue(alice, 1);
        _issue(bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassAlreadyHeld.selector, bob, 2));
        vm.prank(operator);
        registry.recover(alice, bob);
    }

    function test_RevertWhen_RecoverCallerNotRegistry() public {
        _issue(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IMembershipPass.PassOnlyRegistry.selector, adminA));
        vm.prank(adminA);
        passA.recover(alice, bob);
    }

    function _issue(address member, uint8 tier) internal returns (uint256) {
        vm.prank(adminA);
        return passA.issue(member, tier, 0);
    }
}
