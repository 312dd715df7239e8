// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {LoyaltyPoints} from "../../contracts/LoyaltyPoints.sol";
import {MemberRegistry} from "../../contracts/MemberRegistry.sol";
import {MembershipPass} from "../../contracts/MembershipPass.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {Deployers} from "./utils/Deployers.sol";

contract MemberRegistryTest is Deployers {
    address internal registrar;
    address internal dave;

    function setUp() public {
        deployNetwork();
        registrar = makeAddr("registrar");
        dave = makeAddr("dave");
        bytes32 registrarRole = registry.REGISTRAR_ROLE();
        vm.prank(operator);
        registry.grantRole(registrarRole, registrar);
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_Constructor() public view {
        assertEq(registry.OPERATOR_ROLE(), keccak256("OPERATOR_ROLE"));
        assertEq(registry.REGISTRAR_ROLE(), keccak256("REGISTRAR_ROLE"));
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), operator));
        assertTrue(registry.hasRole(registry.OPERATOR_ROLE(), operator));
    }

    function test_RevertWhen_ConstructorZeroOperator() public {
        vm.expectRevert(IMemberRegistry.RegistryZeroAddress.selector);
        new MemberRegistry(address(0));
    }

    /*//////////////////////////////////////////////////////////////
                              REGISTRATION
    //////////////////////////////////////////////////////////////*/

    function test_Register() public {
        vm.expectEmit(true, true, false, true, address(registry));
        emit IMemberRegistry.MemberRegistered(dave, registrar);
        vm.prank(registrar);
        registry.register(dave);
        assertTrue(registry.isMember(dave));
        assertFalse(registry.isFrozen(dave));
        assertTrue(registry.canHold(dave));
    }

    function test_RegisterByOperator() public {
        vm.prank(operator);
        registry.register(dave);
        assertTrue(registry.canHold(dave));
    }

    function test_RevertWhen_RegisterCallerNotRegistrar() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                alice,
                registry.REGISTRAR_ROLE()
            )
        );
        vm.prank(alice);
        registry.register(dave);
    }

    function test_RevertWhen_RegisterZeroAddress() public {
        vm.expectRevert(IMemberRegistry.RegistryZeroAddress.selector);
        vm.prank(registrar);
        registry.register(address(0));
    }

    function test_RevertWhen_RegisterTwice() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RegistryAlreadyMember.selector, alice)
        );
        vm.prank(registrar);
        registry.register(alice);
    }

    function test_RegisterBatch() public {
        address[] memory members = new address[](2);
        members[0] = dave;
        members[1] = makeAddr("erin");
        vm.prank(registrar);
        registry.registerBatch(members);
        assertTrue(registry.isMember(members[0]));
        assertTrue(registry.isMember(members[1]));
    }

    function test_RevertWhen_RegisterBatchHasMember() public {
        address[] memory members = new address[](2);
        members[0] = dave;
        members[1] = alice;
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RegistryAlreadyMember.selector, alice)
        );
        vm.prank(registrar);
        registry.registerBatch(members);
    }

    function test_RevertWhen_RegisterBatchCallerNotRegistrar() public {
        address[] memory members = new address[](1);
        members[0] = dave;
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                alice,
                registry.REGISTRAR_ROLE()
            )
        );
        vm.prank(alice);
        registry.registerBatch(members);
    }

    function test_Deregister() public {
        vm.expectEmit(true, true, false, true, address(registry));
        emit IMemberRegistry.MemberDeregistered(alice, registrar);
        vm.prank(registrar);
        registry.deregister(alice);
        assertFalse(registry.isMember(alice));
        assertFalse(registry.canHold(alice));
    }

    function test_DeregisterKeepsFreeze() public {
        freezeMember(alice);
        vm.prank(registrar);
        registry.deregister(alice);
        registerMember(alice);
        assertTrue(registry.isFrozen(alice));
        assertFalse(registry.canHold(alice));
    }

    function test_RevertWhen_DeregisterNotMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.RegistryNotAMember.selector, dave));
        vm.prank(registrar);
        registry.deregister(dave);
    }

    function test_RevertWhen_DeregisterCallerNotRegistrar() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                bob,
                registry.REGISTRAR_ROLE()
            )
        );
        vm.prank(bob);
        registry.deregister(alice);
    }

    /*//////////////////////////////////////////////////////////////
                                 FREEZE
    //////////////////////////////////////////////////////////////*/

    function test_FreezeAndUnfreeze() public {
        vm.expectEmit(true, true, false, true, address(registry));
        emit IMemberRegistry.MemberFrozen(alice, operator);
        freezeMember(alice);
        assertTrue(registry.isFrozen(alice));
        assertTrue(registry.isMember(alice));
        assertFalse(registry.canHold(alice));

        vm.expectEmit(true, true, false, true, address(registry));
        emit IMemberRegistry.MemberUnfrozen(alice, operator);
        vm.prank(operator);
        registry.unfreeze(alice);
        assertTrue(registry.canHold(alice));
    }

    function test_RevertWhen_FreezeCallerNotOperator() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                registrar,
                registry.OPERATOR_ROLE()
            )
        );
        vm.prank(registrar);
        registry.freeze(alice);
    }

    function test_RevertWhen_FreezeNotMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.RegistryNotAMember.selector, dave));
        vm.prank(operator);
        registry.freeze(dave);
    }

    function test_RevertWhen_FreezeFrozen() public {
        freezeMember(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RegistryAccountFrozen.selector, alice)
        );
        vm.prank(operator);
        registry.freeze(alice);
    }

    function test_RevertWhen_UnfreezeNotFrozen() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.RegistryNotFrozen.selector, alice));
        vm.prank(operator);
        registry.unfreeze(alice);
    }

    function test_RevertWhen_UnfreezeCallerNotOperator() public {
        freezeMember(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                registrar,
                registry.OPERATOR_ROLE()
            )
        );
        vm.prank(registrar);
        registry.unfreeze(alice);
    }

    /*//////////////////////////////////////////////////////////////
                                PROGRAMS
    //////////////////////////////////////////////////////////////*/

    function test_Programs() public view {
        assertEq(registry.programCount(), 2);
        (bytes32 brand, address points, address pass) = registry.programAt(0);
        assertEq(brand, BRAND_A);
        assertEq(points, address(pointsA));
        assertEq(pass, address(passA));
        (brand, points, pass) = registry.programAt(1);
        assertEq(brand, BRAND_B);
        (points, pass) = registry.programOf(BRAND_B);
        assertEq(points, address(pointsB));
        assertEq(pass, address(passB));
    }

    function test_RegisterProgramEmits() public {
        (LoyaltyPoints points, MembershipPass pass) =
            _deployUnregistered("brand-c", address(registry));
        vm.expectEmit(true, true, true, true, address(registry));
        emit IMemberRegistry.ProgramRegistered(
            "brand-c", address(points), address(pass), adminA, "C"
        );
        vm.prank(operator);
        registry.registerProgram("brand-c", address(points), address(pass), adminA, "C");
        assertEq(registry.programCount(), 3);
    }

    function test_RevertWhen_ProgramOfUnknown() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RegistryUnknownProgram.selector, bytes32("nope"))
        );
        registry.programOf("nope");
    }

    function test_RevertWhen_RegisterProgramExists() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RegistryProgramExists.selector, BRAND_A)
        );
        vm.prank(operator);
        registry.registerProgram(BRAND_A, address(pointsA), address(passA), adminA, "A");
    }

    function test_RevertWhen_RegisterProgramZeroAddress() public {
        vm.expectRevert(IMemberRegistry.RegistryZeroAddress.selector);
        vm.prank(operator);
        registry.registerProgram("brand-c", address(0), address(passA), adminA, "C");
    }

    function test_RevertWhen_RegisterProgramWrongBrand() public {
        (LoyaltyPoints points, MembershipPass pass) =
            _deployUnregistered("brand-c", address(registry));
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.RegistryProgramMismatch.selector,
                bytes32("brand-d"),
                address(points),
                address(pass)
            )
        );
        vm.prank(operator);
        registry.registerProgram("brand-d", address(points), address(pass), adminA, "D");
    }

    function test_RevertWhen_RegisterProgramMixedBrands() public {
        (LoyaltyPoints points,) = _deployUnregistered("brand-c", address(registry));
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.RegistryProgramMismatch.selector,
                bytes32("brand-c"),
                address(points),
                address(passA)
            )
        );
        vm.prank(operator);
        registry.registerProgram("brand-c", address(points), address(passA), adminA, "C");
    }

    function test_RevertWhen_RegisterProgramOtherRegistry() public {
        (LoyaltyPoints points, MembershipPass pass) =
            _deployUnregistered("brand-c", address(0xBEEF));
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.RegistryProgramMismatch.selector,
                bytes32("brand-c"),
                address(points),
                address(pass)
            )
        );
        vm.prank(operator);
        registry.registerProgram("brand-c", address(points), address(pass), adminA, "C");
    }

    function test_RevertWhen_RegisterProgramCallerNotOperator() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                registrar,
                registry.OPERATOR_ROLE()
            )
        );
        vm.prank(registrar);
        registry.registerProgram("brand-c", address(pointsA), address(passA), adminA, "C");
    }

    /*//////////////////////////////////////////////////////////////
                                RECOVERY
    //////////////////////////////////////////////////////////////*/

    function test_RecoverAcrossBrands() public {
        issueA(alice, 100);
        issueB(alice, 7);
        vm.prank(adminA);
        uint256 tokenA = passA.issue(alice, 1, 0);
        vm.prank(adminB);
        uint256 tokenB = passB.issue(alice, 2, uint64(block.timestamp + 30 days));
        freezeMember(alice);
        registerMember(dave);

        vm.expectEmit(true, true, true, true, address(registry));
        emit IMemberRegistry.MemberRecovered(alice, dave, operator);
        vm.prank(operator);
        registry.recover(alice, dave);

        assertEq(pointsA.balanceOf(dave), 100);
        assertEq(pointsB.balanceOf(dave), 7);
        assertEq(pointsA.balanceOf(alice), 0);
        assertEq(passA.ownerOf(tokenA), dave);
        assertEq(passB.ownerOf(tokenB), dave);
        assertEq(passA.passOf(dave), tokenA);
        assertEq(passA.passOf(alice), 0);
        assertEq(passB.tierOf(dave), 2);
        assertEq(registry.recoveredTo(alice), dave);
        assertFalse(registry.isMember(alice));
        assertFalse(registry.isFrozen(alice));
        assertEq(pointsA.totalSupply(), 100);
    }

    function test_RecoverWithNothingToMove() public {
        registerMember(dave);
        vm.prank(operator);
        registry.recover(alice, dave);
        assertEq(registry.recoveredTo(alice), dave);
    }

    function test_RecoverWhilePaused() public {
        issueA(alice, 5);
        vm.prank(adminA);
        pointsA.pause();
        registerMember(dave);
        vm.prank(operator);
        registry.recover(alice, dave);
        assertEq(pointsA.balanceOf(dave), 5);
    }

    function test_RevertWhen_RecoverSameAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.RegistrySameAccount.selector, alice));
        vm.prank(operator);
        registry.recover(alice, alice);
    }

    function test_RevertWhen_RecoverToNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.RegistryNotAMember.selector, dave));
        vm.prank(operator);
        registry.recover(alice, dave);
    }

    function test_RevertWhen_RecoverFromNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.RegistryNotAMember.selector, dave));
        vm.prank(operator);
        registry.recover(dave, alice);
    }

    function test_RevertWhen_RecoverToFrozen() public {
        freezeMember(bob);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.RegistryAccountFrozen.selector, bob));
        vm.prank(operator);
        registry.recover(alice, bob);
    }

    function test_RevertWhen_RecoverCallerNotOperator() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                registrar,
                registry.OPERATOR_ROLE()
            )
        );
        vm.prank(registrar);
        registry.recover(alice, bob);
    }

    function test_CanHoldBoth() public {
        assertTrue(registry.canHoldBoth(alice, bob));
        assertFalse(registry.canHoldBoth(alice, dave));
        assertFalse(registry.canHoldBoth(dave, alice));
        freezeMember(bob);
        assertFalse(registry.canHoldBoth(alice, bob));
        assertFalse(registry.canHoldBoth(bob, alice));
    }

    function test_FirstNonHolder() public {
        address[] memory accounts = new address[](4);
        accounts[0] = alice;
        accounts[1] = bob;
        accounts[2] = carol;
        accounts[3] = dave;
        assertEq(registry.firstNonHolder(accounts), 3);
        freezeMember(bob);
        assertEq(registry.firstNonHolder(accounts), 1);
        assertEq(registry.firstNonHolder(new address[](0)), 0);
    }

    function testFuzz_FirstNonHolder(uint256 n, uint256 badIndex, bool frozen) public {
        n = bound(n, 1, 20);
        badIndex = bound(badIndex, 0, n);
        address[] memory accounts = new address[](n);
        for (uint256 i; i < n; ++i) {
            accounts[i] = address(uint160(0xA000 + i));
            if (i != badIndex || frozen) registerMember(accounts[i]);
        }
        if (badIndex < n && frozen) freezeMember(accounts[badIndex]);
        assertEq(registry.firstNonHolder(accounts), badIndex);
    }

    function testFuzz_RegisterFreezeCanHold(address account, bool frozen) public {
        vm.assume(account != address(0) && account != alice && account != bob && account != carol);
        assertFalse(registry.canHold(account));
        registerMember(account);
        if (frozen) freezeMember(account);
        assertEq(registry.canHold(account), !frozen);
        assertEq(registry.isFrozen(account), frozen);
        assertTrue(registry.isMember(account));
    }

    function _deployUnregistered(bytes32 brandId, address registry_)
        private
        returns (LoyaltyPoints points, MembershipPass pass)
    {
        string[] memory tiers = new string[](1);
        tiers[0] = "Base";
        points = new LoyaltyPoints(
            "C", "C", brandId, registry_, address(forwarder), adminA, EPOCH_LENGTH
        );
        pass = new MembershipPass("C", "C", brandId, registry_, address(forwarder), adminA, tiers);
    }
}
