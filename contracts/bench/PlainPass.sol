// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title PlainPass
/// @notice Gas baseline: a plain OpenZeppelin ERC-721 with owner-only minting.
contract PlainPass is ERC721, Ownable {
    /// @param owner_ The account allowed to mint.
    constructor(address owner_) ERC721("Plain Pass", "PLAINPASS") Ownable(owner_) {}

    /// @notice Mints token `tokenId` to `to` (owner).
    function mint(address to, uint256 tokenId) external onlyOwner {
        _mint(to, tokenId);
    }
}
