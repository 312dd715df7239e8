// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PlainPass} from "../../../contracts/bench/PlainPass.sol";
import {PlainPoints} from "../../../contracts/bench/PlainPoints.sol";
import {Deployers} from "../utils/Deployers.sol";
import {console} from "../utils/Console.sol";

/// @notice Measures what each operation would cost as its own transaction, beside plain
/// OpenZeppelin baselines, and prints it (`forge test --match-path 'tests/contracts/gas/*' -vv`).
/// Nothing here asserts speed: tests assert behaviour; these figures are for review.
/// @dev Each test starts from setUp's state with cold storage, like a fresh transaction, and
/// makes the measured call first. Transaction gas = 21,000 + calldata (4/16 per zero/non-zero
/// byte) + execution, where execution is the measured call minus the 2,600 cold-account charge
/// that a transaction's own `to` does not pay.
abstract contract GasBase is Deployers {
    PlainPoints internal plainPoints;
    PlainPass internal plainPass;

    function deployBaselines() internal {
        plainPoints = new PlainPoints(adminA);
        plainPass = new PlainPass(adminA);
    }

    /// @dev Calls `target` as `from` with `data` and returns the transaction-equivalent gas.
    function txGas(address from, address target, bytes memory data) internal returns (uint256) {
        vm.prank(from);
        uint256 start = gasleft();
        (bool ok, bytes memory ret) = target.call(data);
        uint256 used = start - gasleft();
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return 21_000 + calldataGas(data) + used - 2600;
    }

    function calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Prints ours, the baseline, and ours as a percentage of the baseline.
    function report(string memory what, uint256 ours, uint256 plain) internal view {
        console.log(string.concat(what, ": ours"), ours);
        console.log(string.concat(what, ": plain OZ"), plain);
        console.log(string.concat(what, ": ours as % of plain"), ours * 100 / plain);
    }
}

contract GasBenchTest is GasBase {
    function setUp() public {
        deployNetwork();
        deployBaselines();
        // alice and bob hold points in both; carol holds none.
        issueA(alice, 1000);
        issueA(bob, 1000);
        vm.startPrank(adminA);
        plainPoints.mint(alice, 1000);
        plainPoints.mint(bob, 1000);
        passA.issue(bob, 0, 0);
        vm.stopPrank();
    }

    function test_GasIssueNew() public {
        uint256 ours = txGas(
            adminA, address(pointsA), abi.encodeCall(pointsA.issue, (carol, 250, PURCHASE, ORDER_1))
        );
        uint256 plain =
            txGas(adminA, address(plainPoints), abi.encodeCall(plainPoints.mint, (carol, 250)));
        report("issue to new holder", ours, plain);
    }

    function test_GasIssueExisting() public {
        uint256 ours = txGas(
            adminA, address(pointsA), abi.encodeCall(pointsA.issue, (alice, 250, PURCHASE, ORDER_1))
        );
        uint256 plain =
            txGas(adminA, address(plainPoints), abi.encodeCall(plainPoints.mint, (alice, 250)));
        report("issue to existing holder", ours, plain);
    }

    function test_GasTransferExisting() public {
        uint256 ours = txGas(alice, address(pointsA), abi.encodeCall(pointsA.transfer, (bob, 25)));
        uint256 plain =
            txGas(alice, address(plainPoints), abi.encodeCall(plainPoints.transfer, (bob, 25)));
        report("transfer to existing holder", ours, plain);
    }

    function test_GasTransferNew() public {
        uint256 ours = txGas(alice, address(pointsA), abi.encodeCall(pointsA.transfer, (carol, 25)));
        uint256 plain =
            txGas(alice, address(plainPoints), abi.encodeCall(plainPoints.transfer, (carol, 25)));
        report("transfer to new holder", ours, plain);
    }

    function test_GasGift() public {
        uint256 ours = txGas(
            alice, address(pointsA), abi.encodeCall(pointsA.gift, (bob, 25, "happy birthday"))
        );
        uint256 plain =
            txGas(alice, address(plainPoints), abi.encodeCall(plainPoints.transfer, (bob, 25)));
        report("gift (vs plain transfer) to existing holder", ours, plain);
    }

    function test_GasRedeem() public {
        uint256 ours = txGas(alice, address(pointsA), abi.encodeCall(pointsA.redeem, (25, ORDER_1)));
        console.log("redeem: ours", ours);
    }

    function test_GasPassIssue() public {
        uint256 ours = txGas(adminA, address(passA), abi.encodeCall(passA.issue, (alice, 1, 0)));
        uint256 plain =
            txGas(adminA, address(plainPass), abi.encodeCall(plainPass.mint, (alice, 1)));
        report("pass issue", ours, plain);
    }

    function test_GasPassSetTier() public {
        uint256 ours = txGas(adminA, address(passA), abi.encodeCall(passA.setTier, (bob, 2)));
        console.log("pass tier change: ours", ours);
    }
}

contract GasBatchBenchTest is GasBase {
    address[] internal fresh;

    function setUp() public {
        deployNetwork();
        deployBaselines();
        fresh = new address[](1000);
        for (uint256 i; i < 1000; ++i) {
            // Addresses as random as real wallets: calldata cost depends on their zero bytes.
            fresh[i] = address(uint160(uint256(keccak256(abi.encode("member", i)))));
        }
        vm.prank(operator);
        registry.registerBatch(fresh);
    }

    function test_GasIssueBatch100() public {
        _batch(100);
    }

    function test_GasIssueBatch1000() public {
        _batch(1000);
    }

    function _batch(uint256 n) internal {
        address[] memory members = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        bytes32[] memory refs = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            members[i] = fresh[i];
            amounts[i] = 100;
            refs[i] = bytes32(bytes.concat("o", bytes(_str(i))));
        }
        uint256 ours = txGas(
            adminA,
            address(pointsA),
            abi.encodeCall(pointsA.issueBatch, (members, amounts, PURCHASE, refs))
        );
        uint256 plain = txGas(
            adminA, address(plainPoints), abi.encodeCall(plainPoints.mintBatch, (members, amounts))
        );
        report(string.concat("issueBatch total, n = ", _str(n)), ours, plain);
        console.log("issueBatch per new recipient (total / n): ours", ours / n);
        console.log("issueBatch per new recipient (total / n): plain OZ", plain / n);
    }

    /// @dev Decimal digits of `n`.
    function _str(uint256 n) private pure returns (string memory s) {
        if (n == 0) return "0";
        while (n != 0) {
            s = string.concat(string(abi.encodePacked(bytes1(uint8(48 + n % 10)))), s);
            n /= 10;
        }
    }
}
