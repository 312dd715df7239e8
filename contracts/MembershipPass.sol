// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";

import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IMembershipPass} from "./interfaces/IMembershipPass.sol";

/// @title MembershipPass
/// @notice One brand's membership passes (ERC-721): one per member, tiers, expiry, and ERC-5192
/// soulbinding unless the brand enables transfer.
/// @dev Every ownership change goes through `_movePass`, which applies the rules and keeps each
/// member's pass record (token id, tier, expiry) in one slot keyed by the holder.
contract MembershipPass is IMembershipPass, ERC721, AccessControl, ERC2771Context {
    /*//////////////////////////////////////////////////////////////
                                 ROLES
    //////////////////////////////////////////////////////////////*/

    /// @notice May issue passes, change tiers, renew and revoke.
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");

    /// @dev ERC-5192 interface id.
    bytes4 private constant _ERC5192_ID = 0xb45a3c0e;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev A holder's pass, in one slot; tokenId 0 means no pass.
    struct PassRecord {
        uint64 tokenId;
        uint8 tier;
        uint64 expiresAt;
    }

    /// @dev The brand this program belongs to.
    bytes32 private immutable _brandId;
    /// @dev The network's member registry.
    IMemberRegistry private immutable _registry;

    /// @dev Each holder's pass.
    mapping(address member => PassRecord) private _records;
    /// @dev Tier names by number.
    mapping(uint8 tier => string name) private _tierNames;
    /// @dev The last token id issued (ids start at 1).
    uint64 private _lastTokenId;
    /// @dev How many tiers exist (packed with the id counter and the flag below).
    uint8 private _tierCount;
    /// @dev Whether passes may move between members.
    bool private _transferable;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param name_ Collection name.
    /// @param symbol_ Collection symbol.
    /// @param brandId_ The brand this program belongs to.
    /// @param registry_ The network's member registry.
    /// @param trustedForwarder The network's ERC2771Forwarder.
    /// @param admin The brand admin (admin and issuer roles).
    /// @param tierNames Names of the tiers, lowest first (1 to 255).
    constructor(
        string memory name_,
        string memory symbol_,
        bytes32 brandId_,
        address registry_,
        address trustedForwarder,
        address admin,
        string[] memory tierNames
    ) ERC721(name_, symbol_) ERC2771Context(trustedForwarder) {
        uint256 n = tierNames.length;
        if (n == 0 || n > type(uint8).max) revert PassBadTierCount(n);
        _brandId = brandId_;
        _registry = IMemberRegistry(registry_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ISSUER_ROLE, admin);
        for (uint256 i; i < n; ++i) {
            _addTier(tierNames[i]);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               OPERATIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMembershipPass
    function issue(address member, uint8 tier, uint64 expiresAt)
        external
        onlyRole(ISSUER_ROLE)
        returns (uint256 tokenId)
    {
        _checkTier(tier);
        _checkExpiry(expiresAt);
        // A uint64 counter cannot realistically reach 2**64 (one increment per issue).
        unchecked {
            tokenId = ++_lastTokenId;
        }
        _mint(member, tokenId);
        PassRecord storage record = _records[member];
        record.tier = tier;
        record.expiresAt = expiresAt;
        // ERC-5192: a pass is minted locked (soulbound) or unlocked (transferable programme).
        if (_transferable) emit Unlocked(tokenId);
        else emit Locked(tokenId);
        emit PassIssued(member, tokenId, tier, expiresAt);
    }

    /// @inheritdoc IMembershipPass
    function setTier(address member, uint8 tier) external onlyRole(ISSUER_ROLE) {
        _checkTier(tier);
        PassRecord storage record = _records[member];
        uint256 tokenId = record.tokenId;
        if (tokenId == 0) revert PassNotHeld(member);
        uint8 fromTier = record.tier;
        if (fromTier == tier) revert PassSameTier(tier);
        record.tier = tier;
        emit PassTierChanged(member, tokenId, fromTier, tier);
    }

    /// @inheritdoc IMembershipPass
    function renew(address member, uint64 expiresAt) external onlyRole(ISSUER_ROLE) {
        _checkExpiry(expiresAt);
        PassRecord storage record = _records[member];
        uint256 tokenId = record.tokenId;
        if (tokenId == 0) revert PassNotHeld(member);
        record.expiresAt = expiresAt;
        emit PassRenewed(member, tokenId, expiresAt);
    }

    /// @inheritdoc IMembershipPass
    function revoke(address member) external onlyRole(ISSUER_ROLE) {
        uint256 tokenId = _records[member].tokenId;
        if (tokenId == 0) revert PassNotHeld(member);
        _burn(tokenId);
        emit PassRevoked(member, tokenId);
    }

    /// @inheritdoc IMembershipPass
    function addTier(string calldata name) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint8) {
        if (_tierCount == type(uint8).max) revert PassBadTierCount(uint256(_tierCount) + 1);
        return _addTier(name);
    }

    /// @inheritdoc IMembershipPass
    function setTransferable(bool transferable_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _transferable = transferable_;
        emit TransferabilityChanged(transferable_);
    }

    /// @inheritdoc IMembershipPass
    function recover(address lostWallet, address newWallet) external {
        if (msg.sender != address(_registry)) revert PassOnlyRegistry(msg.sender);
        uint256 tokenId = _records[lostWallet].tokenId;
        if (tokenId == 0) return;
        _movePass(newWallet, tokenId, address(0), true);
        emit PassRecovered(lostWallet, newWallet, tokenId);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMembershipPass
    function passOf(address member) external view returns (uint256) {
        return _records[member].tokenId;
    }

    /// @inheritdoc IMembershipPass
    function passInfo(uint256 tokenId)
        external
        view
        returns (address owner, uint8 tier, uint64 expiresAt)
    {
        owner = _requireOwned(tokenId);
        PassRecord storage record = _records[owner];
        (tier, expiresAt) = (record.tier, record.expiresAt);
    }

    /// @inheritdoc IMembershipPass
    function isActive(address member) external view returns (bool) {
        PassRecord memory record = _records[member];
        // Expiry is day-scale: a validator's few seconds of timestamp leeway do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        return record.tokenId != 0 && (record.expiresAt == 0 || record.expiresAt > block.timestamp);
    }

    /// @inheritdoc IMembershipPass
    function tierOf(address member) external view returns (uint8) {
        PassRecord memory record = _records[member];
        if (record.tokenId == 0) revert PassNotHeld(member);
        return record.tier;
    }

    /// @inheritdoc IMembershipPass
    function tierCount() external view returns (uint8) {
        return _tierCount;
    }

    /// @inheritdoc IMembershipPass
    function tierName(uint8 tier) external view returns (string memory) {
        _checkTier(tier);
        return _tierNames[tier];
    }

    /// @inheritdoc IMembershipPass
    function transferable() external view returns (bool) {
        return _transferable;
    }

    /// @inheritdoc IMembershipPass
    function locked(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return !_transferable;
    }

    /// @inheritdoc IMembershipPass
    function brandId() external view returns (bytes32) {
        return _brandId;
    }

    /// @inheritdoc IMembershipPass
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @notice ERC-165, answering for ERC-721, AccessControl and ERC-5192 (0xb45a3c0e).
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, AccessControl)
        returns (bool)
    {
        return interfaceId == _ERC5192_ID || super.supportsInterface(interfaceId);
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev OpenZeppelin's hook for every mint, transfer and burn: routed into the choke point.
    function _update(address to, uint256 tokenId, address auth)
        internal
        override
        returns (address)
    {
        return _movePass(to, tokenId, auth, false);
    }

    /// @dev The single choke point for ownership: checks the rules, moves the holder's record,
    /// then lets ERC721 move the token (checking `auth` unless zero). A self-transfer passes the
    /// same rules (transferable, holder not frozen, a member) and leaves the record in place.
    function _movePass(address to, uint256 tokenId, address auth, bool recovery)
        private
        returns (address from)
    {
        from = _ownerOf(tokenId);
        if (to != address(0)) {
            if (!recovery) {
                if (from != address(0)) {
                    if (!_transferable) revert PassNotTransferable(tokenId);
                    if (_registry.isFrozen(from)) revert PassAccountFrozen(from);
                }
                _requireHolder(to);
            }
            uint256 held = _records[to].tokenId;
            if (held != 0) {
                // Only a holder moving its own pass to itself gets here with a pass (one per
                // member): ERC-721 lets it, as OpenZeppelin does. The record stays; ERC721 still
                // clears the approval and emits Transfer.
                if (from != to) revert PassAlreadyHeld(to, held);
            } else if (from == address(0)) {
                // Ids come from the uint64 counter in `issue`, so the cast keeps every bit.
                // forge-lint: disable-next-line(unsafe-typecast)
                _records[to].tokenId = uint64(tokenId);
            } else {
                _records[to] = _records[from];
                delete _records[from];
            }
        } else {
            delete _records[from];
        }
        super._update(to, tokenId, auth);
    }

    /// @dev Reverts unless `account` is registered and not frozen.
    function _requireHolder(address account) private view {
        if (!_registry.canHold(account)) {
            if (!_registry.isMember(account)) revert PassNotAMember(account);
            revert PassAccountFrozen(account);
        }
    }

    /// @dev Reverts unless `tier` exists.
    function _checkTier(uint8 tier) private view {
        uint8 count = _tierCount;
        if (tier >= count) revert PassUnknownTier(tier, count);
    }

    /// @dev Reverts when `expiresAt` is set and not in the future.
    function _checkExpiry(uint64 expiresAt) private view {
        // forge-lint: disable-next-line(block-timestamp)
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert PassExpiryInPast(expiresAt);
    }

    /// @dev Appends tier `name`; the caller keeps the count below 255.
    function _addTier(string memory name) private returns (uint8 tier) {
        tier = _tierCount;
        _tierNames[tier] = name;
        _tierCount = tier + 1;
        emit TierAdded(tier, name);
    }

    /*//////////////////////////////////////////////////////////////
                          CONTEXT (ERC-2771)
    //////////////////////////////////////////////////////////////*/

    /// @dev The member who signed a forwarded request, else the caller.
    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    /// @dev The calldata without the forwarder's appended sender.
    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    /// @dev 20 bytes (the sender) when called through the trusted forwarder.
    function _contextSuffixLength()
        internal
        view
        override(Context, ERC2771Context)
        returns (uint256)
    {
        return ERC2771Context._contextSuffixLength();
    }
}
