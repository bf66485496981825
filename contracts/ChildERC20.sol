// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ChildERC20
/// @notice The bttc side of a bridged ERC-20 (the template: deploy one per root token, then map
/// it on the root): `ChildChainManager` mints on a deposit; `withdraw`/`withdrawTo` burn and
/// log BTTC's `WithdrawTo(to, 0x0, amount)`, which the root's predicate releases against.
contract ChildERC20 {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    address public immutable childChainManager;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event WithdrawTo(address indexed to, address indexed from, uint256 amount);

    error NotChildChainManager(address caller);
    error InsufficientBalance(uint256 balance, uint256 needed);
    error InsufficientAllowance(uint256 allowance, uint256 needed);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, address childChainManager_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        childChainManager = childChainManager_;
    }

    /// @notice Mints `abi.decode(depositData, (uint256))` to `user` (`ChildChainManager` only).
    function deposit(address user, bytes calldata depositData) external {
        if (msg.sender != childChainManager) revert NotChildChainManager(msg.sender);
        uint256 amount = abi.decode(depositData, (uint256));
        totalSupply += amount;
        balanceOf[user] += amount;
        emit Transfer(address(0), user, amount);
    }

    /// @notice Burns `amount` of the caller's for the caller on the root chain.
    function withdraw(uint256 amount) external {
        _withdraw(msg.sender, amount);
    }

    /// @notice Burns `amount` of the caller's for `to` on the root chain.
    function withdrawTo(address to, uint256 amount) external {
        _withdraw(to, amount);
    }

    function _withdraw(address to, uint256 amount) private {
        uint256 b = balanceOf[msg.sender];
        if (b < amount) revert InsufficientBalance(b, amount);
        balanceOf[msg.sender] = b - amount;
        totalSupply -= amount;
        emit Transfer(msg.sender, address(0), amount);
        emit WithdrawTo(to, address(0), amount);
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

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 a = allowance[from][msg.sender];
        if (a < amount) revert InsufficientAllowance(a, amount);
        if (a != type(uint256).max) allowance[from][msg.sender] = a - amount;
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        uint256 b = balanceOf[from];
        if (b < amount) revert InsufficientBalance(b, amount);
        balanceOf[from] = b - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
