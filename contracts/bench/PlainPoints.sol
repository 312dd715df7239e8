// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title PlainPoints
/// @notice Gas baseline: a plain OpenZeppelin ERC-20 (decimals 0) with owner-only minting.
contract PlainPoints is ERC20, Ownable {
    /// @notice `mintBatch` arrays differ in length.
    error PlainBadBatch(uint256 accounts, uint256 amounts);

    /// @param owner_ The account allowed to mint.
    constructor(address owner_) ERC20("Plain Points", "PLAIN") Ownable(owner_) {}

    /// @notice Mints `amount` to `to` (owner).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Mints `amounts[i]` to `accounts[i]` (owner).
    function mintBatch(address[] calldata accounts, uint256[] calldata amounts) external onlyOwner {
        uint256 n = accounts.length;
        if (n != amounts.length) revert PlainBadBatch(n, amounts.length);
        for (uint256 i; i < n;) {
            _mint(accounts[i], amounts[i]);
            // i < n = calldata array length: cannot overflow.
            unchecked {
                ++i;
            }
        }
    }

    /// @notice Whole units.
    function decimals() public pure override returns (uint8) {
        return 0;
    }
}
