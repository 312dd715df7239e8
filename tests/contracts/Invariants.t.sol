// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LoyaltyPoints} from "../../contracts/LoyaltyPoints.sol";
import {MemberRegistry} from "../../contracts/MemberRegistry.sol";
import {MembershipPass} from "../../contracts/MembershipPass.sol";
import {Deployers} from "./utils/Deployers.sol";
import {LotModel} from "./utils/LotModel.sol";
import {Test} from "./utils/Test.sol";

/// @notice Drives one brand's points and (soulbound) passes with random members, amounts,
/// freezes, pauses, expiry policies and the passing of time, and keeps ghost totals, flags and
/// its own model of every actor's lots (`LotModel`) that the invariants read. Actions that the
/// contracts refuse are caught, so the handler never reverts and the gas snapshot line of each
/// invariant (runs, calls, reverts: 0) is the same on every run.
contract Handler is Test {
    bytes32 internal constant REASON = "purchase";

    MemberRegistry internal immutable registry;
    LoyaltyPoints internal immutable points;
    MembershipPass internal immutable pass;
    address internal immutable operator;
    address internal immutable admin;
    /// @dev Holds EXCHANGE_ROLE on the points (stands in for the coalition exchange).
    address internal immutable exchange;
    /// @dev The handler's own lots of every actor: what each may spend, epoch by epoch.
    LotModel public immutable model;

    /// @dev Everyone who may ever hold: three members, then one never registered (last).
    address[] public actors;

    /// @dev Issued and swapped in.
    uint256 public ghostIssued;
    /// @dev Redeemed and swapped out.
    uint256 public ghostRedeemed;
    uint256 public ghostForfeited;
    /// @dev Set when a debit succeeded for more than the model's live balance of the holder
    /// (it spent expired points), or the model could not mirror a move the contract made.
    bool public ghostSpentExpired;
    /// @dev Set when, after an action, an actor's balanceOf differed from the model's live points.
    bool public ghostModelMismatch;
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
    /// @dev Set by the recovery and warp actions for the duration of one call (recovery ignores
    /// pause; time passing while paused lets points expire).
    bool internal pauseExempt;
    /// @dev Successful recoveries, to show the campaign exercised them.
    uint256 public recoveries;
    /// @dev Warps and policy changes, to show the campaign exercised them.
    uint256 public warps;
    uint256 public policies;

    constructor(
        MemberRegistry registry_,
        LoyaltyPoints points_,
        MembershipPass pass_,
        address operator_,
        address admin_,
        address exchange_,
        LotModel model_,
        address[] memory actors_
    ) {
        registry = registry_;
        points = points_;
        pass = pass_;
        operator = operator_;
        admin = admin_;
        exchange = exchange_;
        actors = actors_;
        model = model_;
    }

    /*//////////////////////////////////////////////////////////////
                                ACTIONS
    //////////////////////////////////////////////////////////////*/

    function issue(uint256 toSeed, uint256 amount) external checked {
        address to = _actor(toSeed);
        amount = bound(amount, 0, 1e18);
        uint256 lot = _issueLot();
        vm.prank(admin);
        try points.issue(to, amount, REASON, bytes32(calls)) {
            ghostIssued += amount;
            if (!model.credit(to, lot, amount)) ghostModelMismatch = true;
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
        uint256 lot = _issueLot();
        vm.prank(admin);
        try points.issueBatch(members, amounts, REASON, refs) {
            ghostIssued += amounts[0] + amounts[1];
            if (!model.credit(members[0], lot, amounts[0])) ghostModelMismatch = true;
            if (!model.credit(members[1], lot, amounts[1])) ghostModelMismatch = true;
        } catch {}
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = _debitAmount(from, amount);
        address to = _actor(toSeed);
        uint256 live = model.live(from, _epoch());
        vm.prank(from);
        try points.transfer(to, amount) {
            _debited(from, to, amount, live);
        } catch {}
    }

    function gift(uint256 fromSeed, uint256 toSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = _debitAmount(from, amount);
        address to = _actor(toSeed);
        uint256 live = model.live(from, _epoch());
        vm.prank(from);
        try points.gift(to, amount, "gift") {
            _debited(from, to, amount, live);
        } catch {}
    }

    function redeem(uint256 fromSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = _debitAmount(from, amount);
        uint256 live = model.live(from, _epoch());
        vm.prank(from);
        try points.redeem(amount, "ref") {
            ghostRedeemed += amount;
            _debited(from, address(0), amount, live);
        } catch {}
    }

    function forfeit(uint256 fromSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        amount = _debitAmount(from, amount);
        uint256 live = model.live(from, _epoch());
        vm.prank(admin);
        try points.forfeit(from, amount, "fraud") {
            ghostForfeited += amount;
            _debited(from, address(0), amount, live);
        } catch {}
    }

    /// @dev Moves points of one lot (one the sender holds, mostly) with `transferAtEpoch`.
    function transferAtEpoch(uint256 fromSeed, uint256 toSeed, uint256 lotSeed, uint256 amount)
        external
        checked
    {
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        uint256 lot;
        (lot, amount) = _pickLot(from, lotSeed, amount);
        uint256 epoch = _epoch();
        uint256 inLot = lot > epoch ? model.amountOf(from, lot) : 0;
        vm.prank(from);
        try points.transferAtEpoch(lot, to, amount) {
            if (amount > inLot) ghostSpentExpired = true;
            if (!model.debitAt(from, to, lot, amount, epoch)) ghostSpentExpired = true;
        } catch {}
    }

    /// @dev Swaps points out and in as the coalition exchange would.
    function exchangeSwap(uint256 fromSeed, uint256 toSeed, uint256 amount) external checked {
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        amount = _debitAmount(from, amount);
        uint256 live = model.live(from, _epoch());
        vm.prank(exchange);
        try points.exchangeOut(from, amount, "swap") {
            ghostRedeemed += amount;
            _debited(from, address(0), amount, live);
        } catch {}
        uint256 lot = _issueLot();
        vm.prank(exchange);
        try points.exchangeIn(to, amount, "swap") {
            ghostIssued += amount;
            if (!model.credit(to, lot, amount)) ghostModelMismatch = true;
        } catch {}
    }

    /// @dev Lets time pass: up to two epochs, or to one second before / at the next epoch start
    /// (where lots expire).
    function warp(uint256 seed) external checked {
        uint256 mode = seed % 3;
        uint256 next = points.epochStart(_epoch() + 1);
        if (mode == 0) vm.warp(block.timestamp + (seed >> 8) % (2 * points.epochLength()));
        else vm.warp(mode == 1 ? next - 1 : next);
        // Points that expire while paused are not "moved".
        pauseExempt = true;
        warps++;
    }

    /// @dev The brand admin sets a validity of 0 (never) to 12 epochs.
    function setPolicy(uint256 epochs) external checked {
        epochs = bound(epochs, 0, 12);
        vm.prank(admin);
        points.setValidityDuration(epochs);
        policies++;
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
        uint256 live = model.live(lost, _epoch());
        // Recovery is the one move that ignores pause (it exists for frozen and lost wallets).
        pauseExempt = true;
        vm.prank(operator);
        try registry.recover(lost, to) {
            if (tokenId != 0) ghostPassOwner[tokenId] = to;
            recoveries++;
            // Every live point moves, with its expiry; expired lots stay behind.
            if (live != 0 && !model.debit(lost, to, live, _epoch())) ghostSpentExpired = true;
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
    /// @dev (The checks are functions, not modifier code, so that every action does not carry its
    /// own copy of them: the handler would pass the contract size limit.)
    modifier checked() {
        (uint256[] memory before, bool[] memory couldHold, bool wasPaused) = _beforeAction();
        _;
        _afterAction(before, couldHold, wasPaused);
    }

    function _beforeAction()
        internal
        returns (uint256[] memory before, bool[] memory couldHold, bool wasPaused)
    {
        calls++;
        uint256 n = actors.length;
        before = new uint256[](n);
        couldHold = new bool[](n);
        for (uint256 i; i < n; ++i) {
            before[i] = points.balanceOf(actors[i]);
            couldHold[i] = registry.canHold(actors[i]);
        }
        wasPaused = points.paused();
    }

    function _afterAction(uint256[] memory before, bool[] memory couldHold, bool wasPaused)
        internal
    {
        uint256 epoch = _epoch();
        for (uint256 i; i < before.length; ++i) {
            uint256 afterBalance = points.balanceOf(actors[i]);
            if (afterBalance != model.live(actors[i], epoch)) ghostModelMismatch = true;
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

    function _epoch() internal view returns (uint256) {
        return points.currentEpoch();
    }

    /// @dev The lot an issue made now goes to.
    function _issueLot() internal view returns (uint256) {
        uint256 validity = points.validityDuration();
        return validity == 0 ? type(uint256).max : _epoch() + validity;
    }

    /// @dev A live lot `from` holds and 0 to one more than it holds, mostly; else the permanent
    /// lot, or one that has just expired or is empty, and a few points.
    function _pickLot(address from, uint256 lotSeed, uint256 amount)
        internal
        view
        returns (uint256 lot, uint256)
    {
        (uint256[] memory lots, uint256[] memory held) = points.lotsOf(from);
        if (lots.length > 0 && lotSeed % 4 != 0) {
            uint256 i = (lotSeed >> 8) % lots.length;
            return (lots[i], bound(amount, 0, held[i] + 1));
        }
        lot = lotSeed % 8 == 0 ? type(uint256).max : _epoch() + (lotSeed >> 8) % 3;
        return (lot, bound(amount, 0, 10));
    }

    /// @dev 0 to one more than the holder's live and expired points: asking for expired points
    /// (or one too many) must fail.
    function _debitAmount(address from, uint256 amount) internal view returns (uint256) {
        return bound(amount, 0, points.balanceOf(from) + model.expired(from, _epoch()) + 1);
    }

    /// @dev Mirrors a debit the contract made in the model; flags it if it took more than the
    /// holder's live points (`live`, read before) or the model cannot make the same move.
    function _debited(address from, address to, uint256 amount, uint256 live) internal {
        if (amount > live) ghostSpentExpired = true;
        if (!model.debit(from, to, amount, _epoch())) ghostSpentExpired = true;
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
        address exchange = makeAddr("exchange");
        // Deployed here, not by the handler, so the handler's code stays small.
        LotModel model = new LotModel();
        handler = new Handler(registry, pointsA, passA, operator, adminA, exchange, model, actors);
        bytes32 role = pointsA.EXCHANGE_ROLE();
        vm.prank(adminA);
        pointsA.grantRole(role, exchange);
        targetContract(address(handler));
    }

    /// @dev The books (docs/expiry.md): live balances plus expired lots make up the supply.
    /// With no policy nothing expires, and this is "the supply is the sum of balances".
    function invariant_TotalSupplyEqualsSumOfBalances() public view {
        uint256 sum;
        uint256 n = handler.actorCount();
        uint256 epoch = pointsA.currentEpoch();
        LotModel model = handler.model();
        for (uint256 i; i < n; ++i) {
            address actor = handler.actors(i);
            sum += pointsA.balanceOf(actor) + model.expired(actor, epoch);
        }
        assertEq(sum, pointsA.totalSupply(), "live + expired != totalSupply");
        assertEq(
            handler.ghostIssued() - handler.ghostRedeemed() - handler.ghostForfeited(),
            pointsA.totalSupply(),
            "issued - burned != totalSupply"
        );
    }

    /// @dev No debit ever took expired points, and every balance is the model's live points.
    function invariant_NoExpiredPointSpent() public view {
        assertFalse(handler.ghostSpentExpired());
        assertFalse(handler.ghostModelMismatch());
        uint256 n = handler.actorCount();
        uint256 epoch = pointsA.currentEpoch();
        LotModel model = handler.model();
        for (uint256 i; i < n; ++i) {
            address actor = handler.actors(i);
            assertEq(pointsA.balanceOf(actor), model.live(actor, epoch), "balanceOf != model");
        }
    }

    function invariant_LiveBalancesWithinSupply() public view {
        uint256 sum;
        uint256 n = handler.actorCount();
        for (uint256 i; i < n; ++i) {
            sum += pointsA.balanceOf(handler.actors(i));
        }
        assertLe(sum, pointsA.totalSupply());
        assertEq(
            pointsA.totalSupply(),
            handler.ghostIssued() - handler.ghostRedeemed() - handler.ghostForfeited(),
            "totalSupply != issued - redeemed - forfeited"
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
