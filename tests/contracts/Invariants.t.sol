// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LoyaltyPoints} from "../../contracts/LoyaltyPoints.sol";
import {MemberRegistry} from "../../contracts/MemberRegistry.sol";
import {MembershipPass} from "../../contracts/MembershipPass.sol";
import {Deployers} from "./utils/Deployers.sol";
import {Test} from "./utils/Test.sol";

/// @notice Drives one brand's points and (soulbound) passes with random members, amounts,
/// freezes and pauses, and keeps ghost totals and flags the invariants read. Actions that the
/// contracts refuse are caught, so the handler never reverts and the gas snapshot line of each
/// invariant (runs, calls, reverts: 0) is the same on every run.
contract Handler is Test {
    bytes32 internal constant REASON = "purchase";

    MemberRegistry internal immutable registry;
    LoyaltyPoints internal immutable points;
    MembershipPass internal immutable pass;
    address internal immutable operator;
    address internal immutable admin;

    /// @dev Everyone who may ever hold: three members, then one never registered (last).
    address[] public actors;

    uint256 public ghostIssued;
    uint256 public ghostBurned;
    /// @dev Set when an account that could not hold gained points.
    bool public ghostNonHolderGained;
    /// @dev Set when anything moved while the program was paused.
    bool public ghostMovedWhilePaused;
    /// @dev Set when a soulbound pass changed owner other than by recovery.
    bool public ghostPassMoved;
    /// @dev Pass ids issued, and the owner each was issued to.
    uint256[] public tokenIds;
    mapping(uint256 tokenId => address owner) public ghostPassOwner;

    uint256 public calls;
    /// @dev Set by the recovery action for the duration of one call.
    bool internal pauseExempt;
    /// @dev Successful recoveries, to show the campaign exercised them.
    uint256 public recoveries;

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
        try points.issue(to, amount, REASON, bytes32(calls)) {
            ghostIssued += amount;
        } catch {}
    }

    function issueBatch(uint256 seedA, uint256 seedB, uint256 amount) external checked {
        amount = bound(amount, 1, 1e18);
        address[] memory members = new address[](2);
        members[0] = _actor(seedA);
        members[1] = _actor(seedB);
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = amount;
        amounts[1] = amount / 2 + 1;
        bytes32[] memory refs = new bytes32[](2);
        vm.prank(admin);
        try points.issueBatch(members, amounts, REASON, refs) {
            ghostIssued += amounts[0] + amounts[1];
        } catch {}
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from) + 1);
        address to = _actor(toSeed);
        vm.prank(from);
        try points.transfer(to, amount) {} catch {}
    }

    function gift(uint256 fromSeed, uint256 toSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from) + 1);
        address to = _actor(toSeed);
        vm.prank(from);
        try points.gift(to, amount, "gift") {} catch {}
    }

    function redeem(uint256 fromSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from) + 1);
        vm.prank(from);
        try points.redeem(amount, "ref") {
            ghostBurned += amount;
        } catch {}
    }

    function forfeit(uint256 fromSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, points.balanceOf(from) + 1);
        vm.prank(admin);
        try points.forfeit(from, amount, "fraud") {
            ghostBurned += amount;
        } catch {}
    }

    function toggleFreeze(uint256 seed) external checked {
        address member = _actor(seed);
        bool frozen = registry.isFrozen(member);
        vm.prank(operator);
        if (frozen) {
            try registry.unfreeze(member) {} catch {}
        } else {
            try registry.freeze(member) {} catch {}
        }
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
        uint8 boundedTier = uint8(bound(tier, 0, 2));
        vm.prank(admin);
        try pass.issue(to, boundedTier, 0) returns (uint256 tokenId) {
            tokenIds.push(tokenId);
            ghostPassOwner[tokenId] = to;
        } catch {}
    }

    function transferPass(uint256 fromSeed, uint256 toSeed) external checked {
        address from = _actor(fromSeed);
        uint256 tokenId = pass.passOf(from);
        address to = _actor(toSeed);
        vm.prank(from);
        try pass.transferFrom(from, to, tokenId) {} catch {}
    }

    /// @dev The operator recovers one member's wallet to another; the pass moves with it.
    function recover(uint256 lostSeed, uint256 newSeed) external checked {
        address lost = _actor(lostSeed);
        address to = _actor(newSeed);
        uint256 tokenId = pass.passOf(lost);
        // Recovery is the one move that ignores pause (it exists for frozen and lost wallets).
        pauseExempt = true;
        vm.prank(operator);
        try registry.recover(lost, to) {
            if (tokenId != 0) ghostPassOwner[tokenId] = to;
            recoveries++;
        } catch {}
    }

    /// @dev Registers a member again after a recovery deregistered it (never the stranger).
    function reRegister(uint256 seed) external checked {
        address member = actors[seed % (actors.length - 1)];
        vm.prank(operator);
        try registry.register(member) {} catch {}
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
            if (afterBalance != before[i] && wasPaused && !pauseExempt) {
                ghostMovedWhilePaused = true;
            }
        }
        for (uint256 i; i < tokenIds.length; ++i) {
            if (pass.ownerOf(tokenIds[i]) != ghostPassOwner[tokenIds[i]]) ghostPassMoved = true;
        }
        pauseExempt = false;
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

    /// @dev Passes stay soulbound here: only the registry's recovery moves them.
    function invariant_SoulboundPassNeverMoves() public view {
        assertFalse(handler.ghostPassMoved());
        assertFalse(passA.transferable());
    }

    function invariant_PausedMeansNothingMoves() public view {
        assertFalse(handler.ghostMovedWhilePaused());
    }
}
