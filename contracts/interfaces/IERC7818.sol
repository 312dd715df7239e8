// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IERC7818
/// @notice ERC-7818 (Expirable ERC-20): tokens are valid for a number of epochs; `balanceOf`
/// counts only unexpired tokens, with no transaction needed for tokens to expire.
interface IERC7818 is IERC20 {
    /// @notice How an epoch is measured.
    enum EPOCH_TYPE {
        BLOCKS_BASED, // a number of blocks
        TIME_BASED // a number of seconds
    }

    /// @notice The balance `account` holds in `epoch`; 0 once `epoch` has expired.
    function balanceOfAtEpoch(uint256 epoch, address account) external view returns (uint256);

    /// @notice The current epoch.
    function currentEpoch() external view returns (uint256);

    /// @notice The length of one epoch, in the unit of `epochType`.
    function epochLength() external view returns (uint256);

    /// @notice The unit of `epochLength`.
    function epochType() external view returns (EPOCH_TYPE);

    /// @notice How many epochs newly credited tokens stay valid.
    function validityDuration() external view returns (uint256);

    /// @notice Whether tokens of `epoch` have expired.
    function isEpochExpired(uint256 epoch) external view returns (bool);

    /// @notice Transfers `value` of the caller's tokens of `epoch` to `to`.
    function transferAtEpoch(uint256 epoch, address to, uint256 value) external returns (bool);

    /// @notice Transfers `value` of `from`'s tokens of `epoch` to `to`, spending the allowance.
    function transferFromAtEpoch(uint256 epoch, address from, address to, uint256 value)
        external
        returns (bool);
}
