// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The two `console.log` overloads the gas benchmark prints with (forge decodes calls to
/// this address and shows them with `-vv`).
library console {
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function log(string memory label, uint256 value) internal view {
        _send(abi.encodeWithSignature("log(string,uint256)", label, value));
    }

    function log(string memory label) internal view {
        _send(abi.encodeWithSignature("log(string)", label));
    }

    function _send(bytes memory payload) private view {
        // A static call to a codeless address cannot fail; the result is irrelevant.
        (bool ok,) = CONSOLE.staticcall(payload);
        ok;
    }
}
