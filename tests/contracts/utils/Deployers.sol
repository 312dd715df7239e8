// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {LoyaltyPoints} from "../../../contracts/LoyaltyPoints.sol";
import {MemberRegistry} from "../../../contracts/MemberRegistry.sol";
import {MembershipPass} from "../../../contracts/MembershipPass.sol";
import {Test} from "./Test.sol";

/// @notice Shared fixture: the network (registry, forwarder), two brands' programs, and members.
abstract contract Deployers is Test {
    bytes32 internal constant BRAND_A = "brand-a";
    bytes32 internal constant BRAND_B = "brand-b";
    bytes32 internal constant PURCHASE = "purchase";
    bytes32 internal constant FRAUD = "fraud";
    bytes32 internal constant ORDER_1 = "order-1";
    string internal constant FORWARDER_NAME = "LoyaltyForwarder";
    /// @dev The fixture programs' expiry epoch (what `loyalty` deploys by default).
    uint256 internal constant EPOCH_LENGTH = 30 days;

    bytes32 internal constant FORWARD_REQUEST_TYPEHASH = keccak256(
        "ForwardRequest(address from,address to,uint256 value,uint256 gas,uint256 nonce,uint48 deadline,bytes data)"
    );
    bytes32 internal constant PERMIT_TYPEHASH = keccak256(
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
    );

    address internal operator;
    address internal adminA;
    address internal adminB;
    address internal relayer;
    address internal alice;
    uint256 internal aliceKey;
    address internal bob;
    uint256 internal bobKey;
    address internal carol;
    uint256 internal carolKey;
    /// @dev Never registered.
    address internal stranger;

    MemberRegistry internal registry;
    ERC2771Forwarder internal forwarder;
    LoyaltyPoints internal pointsA;
    MembershipPass internal passA;
    LoyaltyPoints internal pointsB;
    MembershipPass internal passB;

    /// @dev Deploys everything and registers alice, bob and carol.
    function deployNetwork() internal {
        vm.warp(1_700_000_000);
        operator = makeAddr("operator");
        adminA = makeAddr("adminA");
        adminB = makeAddr("adminB");
        relayer = makeAddr("relayer");
        stranger = makeAddr("stranger");
        (alice, aliceKey) = makeAddrAndKey("alice");
        (bob, bobKey) = makeAddrAndKey("bob");
        (carol, carolKey) = makeAddrAndKey("carol");

        registry = new MemberRegistry(operator);
        forwarder = new ERC2771Forwarder(FORWARDER_NAME);
        (pointsA, passA) = deployProgram(BRAND_A, "Brand A", adminA);
        (pointsB, passB) = deployProgram(BRAND_B, "Brand B", adminB);

        registerMember(alice);
        registerMember(bob);
        registerMember(carol);
    }

    /// @dev Deploys and registers one brand's points and pass (tiers Silver, Gold, Platinum).
    function deployProgram(bytes32 brandId, string memory name, address admin)
        internal
        returns (LoyaltyPoints points, MembershipPass pass)
    {
        string[] memory tiers = new string[](3);
        tiers[0] = "Silver";
        tiers[1] = "Gold";
        tiers[2] = "Platinum";
        points = new LoyaltyPoints(
            string.concat(name, " Points"),
            "PTS",
            brandId,
            address(registry),
            address(forwarder),
            admin,
            EPOCH_LENGTH
        );
        pass = new MembershipPass(
            string.concat(name, " Pass"),
            "PASS",
            brandId,
            address(registry),
            address(forwarder),
            admin,
            tiers
        );
        vm.prank(operator);
        registry.registerProgram(brandId, address(points), address(pass), admin, name);
    }

    function registerMember(address member) internal {
        vm.prank(operator);
        registry.register(member);
    }

    function freezeMember(address member) internal {
        vm.prank(operator);
        registry.freeze(member);
    }

    function issueA(address member, uint256 amount) internal {
        vm.prank(adminA);
        pointsA.issue(member, amount, PURCHASE, ORDER_1);
    }

    function issueB(address member, uint256 amount) internal {
        vm.prank(adminB);
        pointsB.issue(member, amount, PURCHASE, ORDER_1);
    }

    /// @dev A ForwardRequest from `key`'s address to `to` with `data`, signed for the forwarder.
    function signForward(uint256 key, address to, bytes memory data, uint48 deadline)
        internal
        view
        returns (ERC2771Forwarder.ForwardRequestData memory request)
    {
        address from = vm.addr(key);
        request = ERC2771Forwarder.ForwardRequestData({
            from: from,
            to: to,
            value: 0,
            gas: 300_000,
            deadline: deadline,
            data: data,
            signature: ""
        });
        bytes32 structHash = keccak256(
            abi.encode(
                FORWARD_REQUEST_TYPEHASH,
                from,
                to,
                uint256(0),
                uint256(300_000),
                forwarder.nonces(from),
                deadline,
                keccak256(data)
            )
        );
        bytes32 domain = domainSeparator(FORWARDER_NAME, address(forwarder));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, MessageHashUtils.toTypedDataHash(domain, structHash));
        request.signature = abi.encodePacked(r, s, v);
    }

    /// @dev `key`'s ERC-2612 permit for `spender` on `points`.
    function signPermit(
        uint256 key,
        LoyaltyPoints points,
        address spender,
        uint256 value,
        uint256 deadline
    ) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        address owner = vm.addr(key);
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, owner, spender, value, points.nonces(owner), deadline)
        );
        (v, r, s) =
            vm.sign(key, MessageHashUtils.toTypedDataHash(points.DOMAIN_SEPARATOR(), structHash));
    }

    /// @dev An EIP-712 domain separator with version "1".
    function domainSeparator(string memory name, address verifyingContract)
        internal
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256(bytes(name)),
                keccak256("1"),
                block.chainid,
                verifyingContract
            )
        );
    }
}
