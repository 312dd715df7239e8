// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {ILoyaltyPoints} from "../../contracts/interfaces/ILoyaltyPoints.sol";
import {Deployers} from "./utils/Deployers.sol";

/// @notice EIP-20 and EIP-2612 conformance of `LoyaltyPoints`, as third-party property suites
/// state it: crytic/properties' ERC-20 properties (ERC20-BASE-*, -BURNABLE-*, -MINTABLE-*,
/// -PAUSABLE-*; the suite is not published on a registry this project can install from, so its
/// statements are ported here, one test per property ID) and the EIP sentences they check.
/// The permissioning is set up as the suite's harness would set its users up: three registered
/// members hold points; transfers go between members. Where the token deviates on purpose
/// (membership, decimals 0, ERC-7818 `totalSupply`), the test pins the deviation and
/// docs/standards.md says why. Every property runs twice: on a program that never had an expiry
/// policy, and (`StandardsERC20ExpiryTest`) on one whose members hold expiring lots, some of
/// them expired.
abstract contract ERC20Properties is Deployers {
    uint256 internal constant INITIAL = 1000;

    address internal dave;

    function setUp() public virtual {
        deployNetwork();
        dave = makeAddr("dave");
        registerMember(dave);
        _fund();
    }

    /// @dev Gives alice, bob and carol points (the suite's USER1..3 with INITIAL_BALANCE).
    function _fund() internal virtual;

    /// @dev One of the members that hold points.
    function _holder(uint256 seed) internal view returns (address) {
        address[3] memory h = [alice, bob, carol];
        return h[seed % 3];
    }

    /// @dev Any member (dave holds nothing).
    function _member(uint256 seed) internal view returns (address) {
        address[4] memory m = [alice, bob, carol, dave];
        return m[seed % 4];
    }

    /*//////////////////////////////////////////////////////////////
                        SUPPLY AND BALANCES (BASE)
    //////////////////////////////////////////////////////////////*/

    /// @dev ERC20-BASE-002: no balance exceeds the total supply (also later, as lots expire).
    function testFuzz_Base002_BalanceNotAboveSupply(uint256 seed, uint256 later) public {
        vm.warp(block.timestamp + bound(later, 0, 10 * EPOCH_LENGTH));
        assertLe(pointsA.balanceOf(_member(seed)), pointsA.totalSupply());
    }

    /// @dev ERC20-BASE-003: the sum of the balances does not exceed the total supply.
    function testFuzz_Base003_SumOfBalancesNotAboveSupply(uint256 later) public {
        vm.warp(block.timestamp + bound(later, 0, 10 * EPOCH_LENGTH));
        uint256 sum = pointsA.balanceOf(alice) + pointsA.balanceOf(bob) + pointsA.balanceOf(carol)
            + pointsA.balanceOf(dave);
        assertLe(sum, pointsA.totalSupply());
    }

    /// @dev ERC20-BASE-004: the zero address holds nothing.
    function test_Base004_ZeroAddressBalance() public view {
        assertEq(pointsA.balanceOf(address(0)), 0);
    }

    /*//////////////////////////////////////////////////////////////
                              TRANSFERS (BASE)
    //////////////////////////////////////////////////////////////*/

    /// @dev ERC20-BASE-005: no `transfer` to the zero address.
    function testFuzz_Base005_TransferToZeroAddress(uint256 seed) public {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0))
        );
        vm.prank(from);
        pointsA.transfer(address(0), balance);
    }

    /// @dev ERC20-BASE-006: no `transferFrom` to the zero address.
    function testFuzz_Base006_TransferFromToZeroAddress(uint256 seed, uint256 value) public {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        vm.prank(from);
        pointsA.approve(dave, balance);
        value = bound(value, 0, balance);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0))
        );
        vm.prank(dave);
        pointsA.transferFrom(from, address(0), value);
    }

    /// @dev ERC20-BASE-007: a `transfer` to oneself succeeds and keeps the balance.
    function testFuzz_Base007_SelfTransfer(uint256 seed, uint256 value) public {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        value = bound(value, 0, balance);
        vm.prank(from);
        assertTrue(pointsA.transfer(from, value));
        assertEq(pointsA.balanceOf(from), balance);
    }

    /// @dev ERC20-BASE-008: a `transferFrom` to the owner itself keeps the balance.
    function testFuzz_Base008_SelfTransferFrom(uint256 seed, uint256 value) public {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        vm.prank(from);
        pointsA.approve(dave, balance);
        value = bound(value, 0, balance);
        vm.prank(dave);
        assertTrue(pointsA.transferFrom(from, from, value));
        assertEq(pointsA.balanceOf(from), balance);
    }

    /// @dev ERC20-BASE-009; EIP-20 `transfer`: "The function SHOULD throw if the message caller's
    /// account balance does not have enough tokens to spend." Nothing changes.
    function testFuzz_Base009_TransferMoreThanBalance(uint256 seed, uint256 toSeed) public {
        address from = _holder(seed);
        address to = _member(toSeed);
        vm.assume(to != from);
        uint256 balance = pointsA.balanceOf(from);
        uint256 theirs = pointsA.balanceOf(to);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, from, balance, balance + 1
            )
        );
        vm.prank(from);
        pointsA.transfer(to, balance + 1);
        assertEq(pointsA.balanceOf(from), balance);
        assertEq(pointsA.balanceOf(to), theirs);
    }

    /// @dev ERC20-BASE-010: the same for `transferFrom` with an allowance above the balance.
    function testFuzz_Base010_TransferFromMoreThanBalance(uint256 seed, uint256 toSeed) public {
        address from = _holder(seed);
        address to = _member(toSeed);
        vm.assume(to != from);
        uint256 balance = pointsA.balanceOf(from);
        uint256 theirs = pointsA.balanceOf(to);
        vm.prank(from);
        pointsA.approve(dave, balance + 10);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, from, balance, balance + 1
            )
        );
        vm.prank(dave);
        pointsA.transferFrom(from, to, balance + 1);
        assertEq(pointsA.balanceOf(from), balance);
        assertEq(pointsA.balanceOf(to), theirs);
    }

    /// @dev ERC20-BASE-011; EIP-20: "Transfers of 0 values MUST be treated as normal transfers and
    /// fire the Transfer event." Succeeds, fires Transfer, changes no balance, from any member
    /// (one that holds nothing too) to any member.
    function testFuzz_Base011_TransferZeroAmount(uint256 fromSeed, uint256 toSeed) public {
        address from = _member(fromSeed);
        address to = _member(toSeed);
        uint256 mine = pointsA.balanceOf(from);
        uint256 theirs = pointsA.balanceOf(to);
        uint256 supply = pointsA.totalSupply();
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(from, to, 0);
        vm.prank(from);
        assertTrue(pointsA.transfer(to, 0));
        assertEq(pointsA.balanceOf(from), mine);
        assertEq(pointsA.balanceOf(to), theirs);
        assertEq(pointsA.totalSupply(), supply);
    }

    /// @dev ERC20-BASE-012: the same for `transferFrom` (by any member, with or without an
    /// allowance: 0 needs none, and none is spent).
    function testFuzz_Base012_TransferFromZeroAmount(
        uint256 fromSeed,
        uint256 toSeed,
        uint256 allowance
    ) public {
        address from = _member(fromSeed);
        address to = _member(toSeed);
        allowance = bound(allowance, 0, 100);
        vm.prank(from);
        pointsA.approve(dave, allowance);
        uint256 mine = pointsA.balanceOf(from);
        uint256 theirs = pointsA.balanceOf(to);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(from, to, 0);
        vm.prank(dave);
        assertTrue(pointsA.transferFrom(from, to, 0));
        assertEq(pointsA.balanceOf(from), mine);
        assertEq(pointsA.balanceOf(to), theirs);
        assertEq(pointsA.allowance(from, dave), allowance);
    }

    /// @dev ERC20-BASE-013; EIP-20 `transfer`: "Transfers _value amount of tokens to address _to,
    /// and MUST fire the Transfer event." The supply does not move.
    function testFuzz_Base013_Transfer(uint256 seed, uint256 toSeed, uint256 value) public {
        address from = _holder(seed);
        address to = _member(toSeed);
        vm.assume(to != from);
        uint256 balance = pointsA.balanceOf(from);
        uint256 theirs = pointsA.balanceOf(to);
        uint256 supply = pointsA.totalSupply();
        value = bound(value, 1, balance);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(from, to, value);
        vm.prank(from);
        assertTrue(pointsA.transfer(to, value));
        assertEq(pointsA.balanceOf(from), balance - value);
        assertEq(pointsA.balanceOf(to), theirs + value);
        assertEq(pointsA.totalSupply(), supply);
    }

    /// @dev ERC20-BASE-014: `transferFrom` moves the value from the owner to the recipient.
    function testFuzz_Base014_TransferFrom(uint256 seed, uint256 toSeed, uint256 value) public {
        address from = _holder(seed);
        address to = _member(toSeed);
        vm.assume(to != from && to != dave);
        uint256 balance = pointsA.balanceOf(from);
        uint256 theirs = pointsA.balanceOf(to);
        value = bound(value, 1, balance);
        vm.prank(from);
        pointsA.approve(dave, balance + 1);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(from, to, value);
        vm.prank(dave);
        assertTrue(pointsA.transferFrom(from, to, value));
        assertEq(pointsA.balanceOf(from), balance - value);
        assertEq(pointsA.balanceOf(to), theirs + value);
    }

    /*//////////////////////////////////////////////////////////////
                              ALLOWANCES (BASE)
    //////////////////////////////////////////////////////////////*/

    /// @dev ERC20-BASE-015; EIP-20 `approve` and "Approval: MUST trigger on any successful call to
    /// approve". Any spender, member or not (an allowance moves nothing by itself).
    function testFuzz_Base015_SetAllowance(uint256 seed, address spender, uint256 value) public {
        vm.assume(spender != address(0));
        address owner = _member(seed);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Approval(owner, spender, value);
        vm.prank(owner);
        assertTrue(pointsA.approve(spender, value));
        assertEq(pointsA.allowance(owner, spender), value);
    }

    /// @dev ERC20-BASE-016; EIP-20 `approve`: "If this function is called again it overwrites the
    /// current allowance with _value."
    function testFuzz_Base016_SetAllowanceTwice(uint256 seed, address spender, uint256 value)
        public
    {
        vm.assume(spender != address(0));
        address owner = _member(seed);
        vm.startPrank(owner);
        assertTrue(pointsA.approve(spender, value));
        assertTrue(pointsA.approve(spender, value / 2));
        vm.stopPrank();
        assertEq(pointsA.allowance(owner, spender), value / 2);
    }

    /// @dev ERC20-BASE-017: `transferFrom` spends the allowance (an allowance of 2**256 - 1 is
    /// infinite and stays, as the suite allows).
    function testFuzz_Base017_SpendAllowanceAfterTransfer(
        uint256 seed,
        uint256 value,
        bool infinite
    ) public {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        value = bound(value, 1, balance);
        uint256 allowance = infinite ? type(uint256).max : balance + 5;
        vm.prank(from);
        pointsA.approve(dave, allowance);
        vm.prank(dave);
        pointsA.transferFrom(from, dave, value);
        assertEq(pointsA.allowance(from, dave), infinite ? allowance : allowance - value);
    }

    /// @dev ERC20-BASE-018 (the suite's external harness); EIP-20 `transferFrom`: "The function
    /// SHOULD throw unless the _from account has deliberately authorized the sender of the
    /// message via some mechanism." Nothing changes.
    function testFuzz_Base018_TransferFromMoreThanAllowance(uint256 seed, uint256 allowance)
        public
    {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        allowance = bound(allowance, 0, balance - 1);
        vm.prank(from);
        pointsA.approve(dave, allowance);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, dave, allowance, allowance + 1
            )
        );
        vm.prank(dave);
        pointsA.transferFrom(from, dave, allowance + 1);
        assertEq(pointsA.balanceOf(from), balance);
        assertEq(pointsA.balanceOf(dave), 0);
    }

    /*//////////////////////////////////////////////////////////////
                      MINT, BURN, PAUSE (EXTENSIONS)
    //////////////////////////////////////////////////////////////*/

    /// @dev ERC20-MINTABLE-001 (mint = `issue`); EIP-20 Transfer: "A token contract which creates
    /// new tokens SHOULD trigger a Transfer event with the _from address set to 0x0".
    function testFuzz_Mintable001_Issue(uint256 seed, uint256 value) public {
        address to = _member(seed);
        value = bound(value, 1, 1e18); // an expiring lot holds at most 2**64 - 1
        uint256 balance = pointsA.balanceOf(to);
        uint256 supply = pointsA.totalSupply();
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(address(0), to, value);
        issueA(to, value);
        assertEq(pointsA.balanceOf(to), balance + value);
        assertEq(pointsA.totalSupply(), supply + value);
    }

    /// @dev ERC20-BURNABLE-001 (burn = `redeem`): the holder's balance and the supply drop.
    function testFuzz_Burnable001_Redeem(uint256 seed, uint256 value) public {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        uint256 supply = pointsA.totalSupply();
        value = bound(value, 1, balance);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Transfer(from, address(0), value);
        vm.prank(from);
        pointsA.redeem(value, ORDER_1);
        assertEq(pointsA.balanceOf(from), balance - value);
        assertEq(pointsA.totalSupply(), supply - value);
    }

    /// @dev ERC20-BURNABLE-002 and -003 (burnFrom = `redeemFrom`, by a redeemer only): balance,
    /// supply and allowance drop by the value.
    function testFuzz_Burnable002_RedeemFrom(uint256 seed, uint256 value) public {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        uint256 supply = pointsA.totalSupply();
        value = bound(value, 1, balance);
        vm.prank(from);
        pointsA.approve(adminA, balance);
        vm.prank(adminA);
        pointsA.redeemFrom(from, value, ORDER_1);
        assertEq(pointsA.balanceOf(from), balance - value);
        assertEq(pointsA.totalSupply(), supply - value);
        assertEq(pointsA.allowance(from, adminA), balance - value);
    }

    /// @dev ERC20-PAUSABLE-001 and -002: no `transfer` or `transferFrom` (of any value, 0 too)
    /// while paused.
    function testFuzz_Pausable001_NoTransferWhilePaused(uint256 seed, uint256 value) public {
        address from = _holder(seed);
        uint256 balance = pointsA.balanceOf(from);
        value = bound(value, 0, balance);
        vm.prank(from);
        pointsA.approve(dave, balance);
        vm.prank(adminA);
        pointsA.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(from);
        pointsA.transfer(dave, value);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(dave);
        pointsA.transferFrom(from, dave, value);
        assertEq(pointsA.balanceOf(from), balance);
    }

    /*//////////////////////////////////////////////////////////////
                         DOCUMENTED DEVIATIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev Permissioned: a transfer to an address that is not a registered, unfrozen member
    /// reverts, 0 included (EIP-20's "SHOULD throw" cases are not exhaustive; docs/standards.md).
    function testFuzz_Deviation_TransferToNonMember(uint256 seed, address to, uint256 value)
        public
    {
        vm.assume(to != address(0) && to != alice && to != bob && to != carol && to != dave);
        address from = _holder(seed);
        value = bound(value, 0, pointsA.balanceOf(from));
        vm.expectRevert(abi.encodeWithSelector(ILoyaltyPoints.PointsNotAMember.selector, to));
        vm.prank(from);
        pointsA.transfer(to, value);
    }

    /// @dev Points are whole: `decimals` is 0 (EIP-20 makes `decimals` OPTIONAL).
    function test_Deviation_DecimalsZero() public view {
        assertEq(pointsA.decimals(), 0);
    }

    /*//////////////////////////////////////////////////////////////
                                EIP-2612
    //////////////////////////////////////////////////////////////*/

    /// @dev EIP-2612: a valid permit sets the allowance, increments the nonce and emits Approval.
    function testFuzz_Permit(uint256 value, uint256 ahead) public {
        uint256 deadline = block.timestamp + bound(ahead, 0, 365 days);
        (uint8 v, bytes32 r, bytes32 s) = signPermit(aliceKey, pointsA, dave, value, deadline);
        vm.expectEmit(true, true, false, true, address(pointsA));
        emit IERC20.Approval(alice, dave, value);
        pointsA.permit(alice, dave, value, deadline, v, r, s);
        assertEq(pointsA.allowance(alice, dave), value);
        assertEq(pointsA.nonces(alice), 1);
        assertEq(pointsA.DOMAIN_SEPARATOR(), domainSeparator("Brand A Points", address(pointsA)));
    }

    /// @dev EIP-2612: permit reverts past the deadline, for a wrong signer, and on replay.
    function test_RevertWhen_PermitExpiredForgedOrReplayed() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(aliceKey, pointsA, dave, 5, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline)
        );
        pointsA.permit(alice, dave, 5, deadline, v, r, s);
        vm.warp(deadline);
        // Bob signs a permit that names alice as the owner.
        bytes32 forged = keccak256(abi.encode(PERMIT_TYPEHASH, alice, dave, 5, 0, deadline));
        (uint8 fv, bytes32 fr, bytes32 fs) =
            vm.sign(bobKey, MessageHashUtils.toTypedDataHash(pointsA.DOMAIN_SEPARATOR(), forged));
        vm.expectRevert(
            abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, bob, alice)
        );
        pointsA.permit(alice, dave, 5, deadline, fv, fr, fs);
        pointsA.permit(alice, dave, 5, deadline, v, r, s);
        assertEq(pointsA.allowance(alice, dave), 5);
        // Replayed: the nonce moved on, so the signature no longer recovers to alice.
        vm.expectRevert();
        pointsA.permit(alice, dave, 5, deadline, v, r, s);
    }
}

/// @notice The properties on a program whose points never expire.
contract StandardsERC20Test is ERC20Properties {
    function _fund() internal override {
        issueA(alice, INITIAL);
        issueA(bob, INITIAL);
        issueA(carol, INITIAL);
    }
}

/// @notice The properties on a program with expiring lots: members hold permanent points and
/// lots of two epochs, and one of those lots has expired (ERC-7818: `balanceOf` leaves it out,
/// `totalSupply` keeps it, docs/standards.md).
contract StandardsERC20ExpiryTest is ERC20Properties {
    function _fund() internal override {
        issueA(alice, INITIAL); // permanent
        vm.prank(adminA);
        pointsA.setValidityDuration(2);
        issueA(alice, 300); // lot 2
        issueA(bob, 400); // lot 2
        vm.warp(pointsA.epochStart(1));
        issueA(bob, INITIAL); // lot 3
        issueA(carol, INITIAL); // lot 3
        vm.warp(pointsA.epochStart(2)); // lot 2 expired: 700 points out of the balances
    }

    /// @dev ERC-7818: `balanceOf` counts unexpired points only; `totalSupply` still counts the
    /// expired ones (it is issued - redeemed - forfeited), a deviation from ERC-7818's SHOULD.
    function test_Deviation_SupplyCountsExpiredPoints() public view {
        assertEq(pointsA.balanceOf(alice), INITIAL);
        assertEq(pointsA.balanceOf(bob), INITIAL);
        assertEq(pointsA.totalSupply(), 3 * INITIAL + 700);
        uint256 sum = pointsA.balanceOf(alice) + pointsA.balanceOf(bob) + pointsA.balanceOf(carol);
        assertEq(pointsA.totalSupply() - sum, 700);
    }
}
