// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Stand-ins for the network contracts with the same events as the real ones (contracts/interfaces
// + the OpenZeppelin events), no access control: the indexer tests need events and views only.

contract MockRoles {
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole);
    event Paused(address account);
    event Unpaused(address account);

    mapping(bytes32 => mapping(address => bool)) public hasRole;
    bool public paused;

    function grantRole(bytes32 role, address account) public {
        if (!hasRole[role][account]) {
            hasRole[role][account] = true;
            emit RoleGranted(role, account, msg.sender);
        }
    }

    function revokeRole(bytes32 role, address account) public {
        if (hasRole[role][account]) {
            hasRole[role][account] = false;
            emit RoleRevoked(role, account, msg.sender);
        }
    }

    function setRoleAdmin(bytes32 role, bytes32 adminRole) external {
        emit RoleAdminChanged(role, bytes32(0), adminRole);
    }

    function pause() external {
        paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external {
        paused = false;
        emit Unpaused(msg.sender);
    }
}

contract MockRegistry is MockRoles {
    event MemberRegistered(address indexed member, address indexed by);
    event MemberDeregistered(address indexed member, address indexed by);
    event MemberFrozen(address indexed member, address indexed by);
    event MemberUnfrozen(address indexed member, address indexed by);
    event MemberRecovered(address indexed lostWallet, address indexed newWallet, address indexed by);
    event ProgramRegistered(
        bytes32 indexed brandId, address indexed points, address indexed pass, address admin, string name
    );

    mapping(address => bool) public isMember;
    mapping(address => bool) public isFrozen;
    mapping(address => address) public recoveredTo;
    bytes32[] private _ids;
    mapping(bytes32 => address) private _points;
    mapping(bytes32 => address) private _pass;

    constructor() {
        grantRole(bytes32(0), msg.sender);
    }

    function register(address member) public {
        isMember[member] = true;
        emit MemberRegistered(member, msg.sender);
    }

    function registerBatch(address[] calldata members) external {
        for (uint256 i = 0; i < members.length; i++) register(members[i]);
    }

    function deregister(address member) external {
        isMember[member] = false;
        emit MemberDeregistered(member, msg.sender);
    }

    function freeze(address member) external {
        isFrozen[member] = true;
        emit MemberFrozen(member, msg.sender);
    }

    function unfreeze(address member) external {
        isFrozen[member] = false;
        emit MemberUnfrozen(member, msg.sender);
    }

    function registerProgram(bytes32 brandId, address points, address pass, address admin, string calldata name)
        external
    {
        _ids.push(brandId);
        _points[brandId] = points;
        _pass[brandId] = pass;
        emit ProgramRegistered(brandId, points, pass, admin, name);
    }

    function programCount() external view returns (uint256) {
        return _ids.length;
    }

    function programAt(uint256 i) external view returns (bytes32, address, address) {
        return (_ids[i], _points[_ids[i]], _pass[_ids[i]]);
    }

    function recover(address lostWallet, address newWallet) external {
        for (uint256 i = 0; i < _ids.length; i++) {
            MockPoints(_points[_ids[i]]).recover(lostWallet, newWallet);
            MockPass(_pass[_ids[i]]).recover(lostWallet, newWallet);
        }
        isMember[lostWallet] = false;
        recoveredTo[lostWallet] = newWallet;
        emit MemberRecovered(lostWallet, newWallet, msg.sender);
    }
}

contract MockPoints is MockRoles {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event EIP712DomainChanged();
    event PointsIssued(address indexed member, uint256 amount, bytes32 indexed reason, bytes32 ref);
    event PointsRedeemed(address indexed member, uint256 amount, bytes32 ref, address indexed by);
    event PointsForfeited(address indexed member, uint256 amount, bytes32 indexed reason, address indexed by);
    event PointsGifted(address indexed from, address indexed to, uint256 amount, string memo);
    event PointsRecovered(address indexed lostWallet, address indexed newWallet, uint256 amount);

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint256 public totalSupply;

    constructor(address admin) {
        grantRole(bytes32(0), admin);
        grantRole(keccak256("ISSUER_ROLE"), admin);
        emit EIP712DomainChanged();
    }

    function _move(address from, address to, uint256 amount) internal {
        if (from == address(0)) totalSupply += amount;
        else balanceOf[from] -= amount;
        if (to == address(0)) totalSupply -= amount;
        else balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }

    function issue(address member, uint256 amount, bytes32 reason, bytes32 ref) external {
        _move(address(0), member, amount);
        emit PointsIssued(member, amount, reason, ref);
    }

    function issueBatch(address[] calldata members, uint256[] calldata amounts, bytes32 reason, bytes32[] calldata refs)
        external
    {
        for (uint256 i = 0; i < members.length; i++) {
            _move(address(0), members[i], amounts[i]);
            emit PointsIssued(members[i], amounts[i], reason, refs[i]);
        }
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function gift(address to, uint256 amount, string calldata memo) external {
        _move(msg.sender, to, amount);
        emit PointsGifted(msg.sender, to, amount, memo);
    }

    function redeem(uint256 amount, bytes32 ref) external {
        _move(msg.sender, address(0), amount);
        emit PointsRedeemed(msg.sender, amount, ref, msg.sender);
    }

    function forfeit(address member, uint256 amount, bytes32 reason) external {
        _move(member, address(0), amount);
        emit PointsForfeited(member, amount, reason, msg.sender);
    }

    function recover(address lostWallet, address newWallet) external {
        uint256 amount = balanceOf[lostWallet];
        if (amount == 0) return;
        _move(lostWallet, newWallet, amount);
        emit PointsRecovered(lostWallet, newWallet, amount);
    }
}

contract MockPass is MockRoles {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    event PassIssued(address indexed member, uint256 indexed tokenId, uint8 tier, uint64 expiresAt);
    event PassTierChanged(address indexed member, uint256 indexed tokenId, uint8 fromTier, uint8 toTier);
    event PassRenewed(address indexed member, uint256 indexed tokenId, uint64 expiresAt);
    event PassRevoked(address indexed member, uint256 indexed tokenId);
    event PassRecovered(address indexed lostWallet, address indexed newWallet, uint256 indexed tokenId);
    event TierAdded(uint8 indexed tier, string name);
    event TransferabilityChanged(bool transferable);
    event Locked(uint256 tokenId);
    event Unlocked(uint256 tokenId);

    mapping(uint256 => address) public ownerOf;
    mapping(address => uint256) public passOf;
    mapping(uint256 => uint8) private _tier;
    mapping(uint256 => uint64) private _expires;
    bool public transferable;
    uint8 public tierCount;
    uint256 private _next = 1;

    constructor(address admin) {
        grantRole(bytes32(0), admin);
        addTier("base");
    }

    function addTier(string memory name) public returns (uint8 tier) {
        tier = tierCount++;
        emit TierAdded(tier, name);
    }

    function passInfo(uint256 id) external view returns (address, uint8, uint64) {
        return (ownerOf[id], _tier[id], _expires[id]);
    }

    function locked(uint256) external view returns (bool) {
        return !transferable;
    }

    function issue(address member, uint8 tier, uint64 expiresAt) external returns (uint256 id) {
        id = _next++;
        ownerOf[id] = member;
        passOf[member] = id;
        _tier[id] = tier;
        _expires[id] = expiresAt;
        emit Transfer(address(0), member, id);
        emit PassIssued(member, id, tier, expiresAt);
        if (!transferable) emit Locked(id);
    }

    function setTier(address member, uint8 tier) external {
        uint256 id = passOf[member];
        emit PassTierChanged(member, id, _tier[id], tier);
        _tier[id] = tier;
    }

    function renew(address member, uint64 expiresAt) external {
        uint256 id = passOf[member];
        _expires[id] = expiresAt;
        emit PassRenewed(member, id, expiresAt);
    }

    function revoke(address member) external {
        uint256 id = passOf[member];
        delete ownerOf[id];
        delete passOf[member];
        delete _tier[id];
        delete _expires[id];
        emit Transfer(member, address(0), id);
        emit PassRevoked(member, id);
    }

    function setTransferable(bool t) external {
        transferable = t;
        emit TransferabilityChanged(t);
    }

    function approve(address to, uint256 id) external {
        emit Approval(ownerOf[id], to, id);
    }

    function setApprovalForAll(address op, bool ok) external {
        emit ApprovalForAll(msg.sender, op, ok);
    }

    function transferFrom(address from, address to, uint256 id) external {
        require(transferable && ownerOf[id] == from && passOf[to] == 0);
        ownerOf[id] = to;
        delete passOf[from];
        passOf[to] = id;
        emit Transfer(from, to, id);
    }

    function recover(address lostWallet, address newWallet) external {
        uint256 id = passOf[lostWallet];
        if (id == 0) return;
        ownerOf[id] = newWallet;
        delete passOf[lostWallet];
        passOf[newWallet] = id;
        emit Transfer(lostWallet, newWallet, id);
        emit PassRecovered(lostWallet, newWallet, id);
    }
}

contract MockForwarder {
    event ExecutedForwardRequest(address indexed signer, uint256 nonce, bool success);
    event EIP712DomainChanged();

    function execute(uint256 nonce) external {
        emit ExecutedForwardRequest(msg.sender, nonce, true);
    }
}
