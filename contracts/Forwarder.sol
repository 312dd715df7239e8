// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Compiles OpenZeppelin's ERC2771Forwarder so that out/ holds its artifact for deployment.
import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
