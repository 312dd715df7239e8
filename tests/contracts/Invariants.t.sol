// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LoyaltyPoints} from "../../contracts/LoyaltyPoints.sol";
import {MemberRegistry} from "../../contracts/MemberRegistry.sol";
import {MembershipPass} from "../../contracts/MembershipPass.sol";
import {Deployers} from "./utils/Deployers.sol";
import {Test} from "./utils/Test.sol";

/// @notice Drives one brand's points and (soulbound) passes with random members, amounts,
/// freezes and pauses, and keeps ghost totals and flags the invariants read.
contract Handler is Test {
    bytes32 internal constant REASON = "purchase";

    MemberRegistry internal immutable registry;
    LoyaltyPoints internal immutable points;
    MembershipPass internal immutable pass;
    address internal immutable operator;
    address internal immutable admin;

    /// @dev Everyone who may ever hold: three members, one never registered.
    address[] public actors;

    uint256 public ghostIssued;
    uint256 public ghostBurned;
    /// @dev Set when an account that could not hold gained points.
    bool public ghostNonHolderGained;
    /// @dev Set when anything moved while the program was paused.
    bool public ghostMovedWhilePaused;
    /// @dev Set when a soulbound pass changed owner.
    bool public ghostPassMoved;
    /// @dev Pass ids issued, and the owner each was issued to.
    uint256[] public tokenIds;
    mapping(uint256 tokenId => address owner) public ghostPassOwner;

    uint256 public calls;

    constructor(
        MemberRegistry registry_,
        LoyaltyPoints points_,
        MembershipPass pass_,
        address operator_,
        address admin_,
        address[] memory actors_
    ) {
        registry = registry_;
        points = points_;
        pass = pass_;
        operator = operator_;
        admin = admin_;
        actors = actors_;
    }

    /*//////////////////////////////////////////////////////////////
                                ACTIONS
    //////////////////////////////////////////////////////////////*/

    function issue(uint256 toSeed, uint256 amount) external checked {
        address to = _actor(toSeed);
        amount = bound(amount, 0, 1e18);
        vm.prank(admin);
        points.issue(to, amount, REASON, bytes32(calls));
        ghostIssued += amount;
    }

    function issueBatch(uint256 seedA, uint256 seedB, uint256 amount) external checked {
        amount = bound(amount, 1, 1e18);
        address[] memory members = new address[](2);
        members[0] = _actor(seedA);
        members[1] = _actor(seedB);
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = amount;
        amounts[1] = amount / 2 + 1;
        vm.prank(admin);
        points.issueBatch(members, amounts, REASON, new bytes32[](2));
        ghostIssued += amounts[0] + amounts[1];
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from) + 1);
        vm.prank(from);
        points.transfer(_actor(toSeed), amount);
    }

    function gift(uint256 fromSeed, uint256 toSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from) + 1);
        vm.prank(from);
        points.gift(_actor(toSeed), amount, "gift");
    }

    function redeem(uint256 fromSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from) + 1);
        vm.prank(from);
        points.redeem(amount, "ref");
        ghostBurned += amount;
    }

    function forfeit(uint256 fromSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from) + 1);
        vm.prank(admin);
        points.forfeit(from, amount, "fraud");
        ghostBurned += amount;
    }

    function toggleFreeze(uint256 seed) external checked {
        address member = _actor(seed);
        bool frozen = registry.isFrozen(member);
        vm.prank(operator);
        if (frozen) registry.unfreeze(member);
        else registry.freeze(member);
    }

    /// @dev Unpauses, or pauses one time in four, so most actions run unpaused.
    function togglePause(uint256 seed) external checked {
        bool paused = points.paused();
        if (!paused && seed % 4 != 0) return;
        vm.prank(admin);
        if (paused) points.unpause();
        else points.pause();
    }

    function issuePass(uint256 toSeed, uint8 tier) external checked {
        address to = _actor(toSeed);
        vm.prank(admin);
        uint256 tokenId = pass.issue(to, uint8(bound(tier, 0, 2)), 0);
        tokenIds.push(tokenId);
        ghostPassOwner[tokenId] = to;
    }

    function transferPass(uint256 fromSeed, uint256 toSeed) external checked {
        address from = _actor(fromSeed);
        uint256 tokenId = pass.passOf(from);
        vm.prank(from);
        pass.transferFrom(from, _actor(toSeed), tokenId);
    }

    /*//////////////////////////////////////////////////////////////
                                 CHECKS
    //////////////////////////////////////////////////////////////*/

    /// @dev Compares every actor's balance and every pass's owner before and after the action.
    modifier checked() {
        calls++;
        uint256 n = actors.length;
        uint256[] memory before = new uint256[](n);
        bool[] memory couldHold = new bool[](n);
        for (uint256 i; i < n; ++i) {
            before[i] = points.balanceOf(actors[i]);
            couldHold[i] = registry.canHold(actors[i]);
        }
        bool wasPaused = points.paused();
        _;
        for (uint256 i; i < n; ++i) {
            uint256 afterBalance = points.balanceOf(actors[i]);
            if (afterBalance > before[i] && !couldHold[i]) ghostNonHolderGained = true;
            if (afterBalance != before[i] && wasPaused) ghostMovedWhilePaused = true;
        }
        for (uint256 i; i < tokenIds.length; ++i) {
            if (pass.ownerOf(tokenIds[i]) != ghostPassOwner[tokenIds[i]]) ghostPassMoved = true;
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }
}

contract InvariantsTest is Deployers {
    Handler internal handler;

    function setUp() public {
        deployNetwork();
        address[] memory actors = new address[](4);
        actors[0] = alice;
        actors[1] = bob;
        actors[2] = carol;
        actors[3] = stranger;
        handler = new Handler(registry, pointsA, passA, operator, adminA, actors);
        targetContract(address(handler));
    }

    function invariant_TotalSupplyEqualsSumOfBalances() public view {
        uint256 sum;
        uint256 n = handler.actorCount();
        for (uint256 i; i < n; ++i) {
            sum += pointsA.balanceOf(handler.actors(i));
        }
        assertEq(sum, pointsA.totalSupply(), "sum of balances != totalSupply");
        assertEq(
            handler.ghostIssued() - handler.ghostBurned(),
            pointsA.totalSupply(),
            "issued - burned != totalSupply"
        );
    }

    function invariant_NoUnregisteredOrFrozenAccountGains() public view {
        assertFalse(handler.ghostNonHolderGained());
        assertEq(pointsA.balanceOf(stranger), 0);
        assertEq(passA.balanceOf(stranger), 0);
    }

    function invariant_SoulboundPassNeverMoves() public view {
        assertFalse(handler.ghostPassMoved());
        assertFalse(passA.transferable());
    }

    function invariant_PausedMeansNothingMoves() public view {
        assertFalse(handler.ghostMovedWhilePaused());
    }
}
