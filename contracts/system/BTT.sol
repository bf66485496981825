// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IStakeManagerSupply {
    function totalMinted() external view returns (uint256);
}

/// @title BTT: the native-token wrapper (predeployed at 0x...1010)
/// @notice An ERC-20 face on native BTT, compatible with BTTC's MRC20 at the same address:
/// `balanceOf` is the native balance and `transfer` moves native BTT sent with the call
/// (`msg.value` must equal `value`). There is no allowance: `approve` and `transferFrom` are
/// not offered, as on BTTC.
///
/// The bridge: BTT locked on a root chain is paid out here from this contract's reserve
/// (`deposit`, called by `ChildChainManager` for a root deposit), and BTT withdrawn to a root
/// chain is locked back into the reserve by `withdrawTo`, whose `WithdrawTo(to, 0x0, amount)`
/// log the root's predicate releases the root tokens against.
contract BTT {
    /// @notice The token's name.
    string public constant name = "BitTorrent Token";
    /// @notice The token's symbol.
    string public constant symbol = "BTT";
    /// @notice Decimals of the native balance (wei).
    uint8 public constant decimals = 18;
    /// @notice BTT in the genesis: 990 trillion.
    uint256 public constant GENESIS_SUPPLY = 990_000_000_000_000 ether;
    /// @notice The staking contract, whose issuance adds to the supply.
    address public constant STAKE_MANAGER = 0x0000000000000000000000000000000000001000;

    /// @notice bttc's bridge entry for deposits.
    address public constant CHILD_CHAIN_MANAGER = 0x0000000000000000000000000000000000001003;

    /// @notice Emitted by `transfer`, and by `withdrawTo` with `to` zero.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice BTT left for a root chain (BTTC's burn event; `from` is always zero).
    event WithdrawTo(address indexed to, address indexed from, uint256 amount);
    /// @notice BTT arrived from a root chain.
    event Deposit(address indexed user, uint256 amount);

    /// @notice `value` was not the BTT sent with the call.
    error ValueMismatch(uint256 sent, uint256 value);
    /// @notice The recipient refused the BTT.
    error TransferFailed(address to, uint256 value);
    /// @notice Only `ChildChainManager` deposits.
    error NotChildChainManager(address caller);
    /// @notice The reserve holds less than a deposit.
    error ReserveExhausted(uint256 reserve, uint256 amount);

    /// @notice The native balance of `account`.
    /// @param account any account
    /// @return its balance in wei
    function balanceOf(address account) external view returns (uint256) {
        return account.balance;
    }

    /// @notice All BTT: the genesis supply plus what staking has issued since.
    /// @return the supply in wei
    function totalSupply() external view returns (uint256) {
        return GENESIS_SUPPLY + IStakeManagerSupply(STAKE_MANAGER).totalMinted();
    }

    /// @notice Sends the BTT attached to this call to `to`.
    /// @param to the recipient
    /// @param value wei to send; must equal `msg.value`
    /// @return always true (failures revert)
    function transfer(address to, uint256 value) external payable returns (bool) {
        if (msg.value != value) revert ValueMismatch(msg.value, value);
        (bool ok,) = to.call{value: value}("");
        if (!ok) revert TransferFailed(to, value);
        emit Transfer(msg.sender, to, value);
        return true;
    }

    /// @notice Pays `abi.decode(depositData, (uint256))` wei from the reserve to `user`
    /// (`ChildChainManager` only, for a root-chain deposit).
    /// @param user the recipient
    /// @param depositData the amount, ABI-encoded
    function deposit(address user, bytes calldata depositData) external {
        if (msg.sender != CHILD_CHAIN_MANAGER) revert NotChildChainManager(msg.sender);
        uint256 amount = abi.decode(depositData, (uint256));
        if (address(this).balance < amount) revert ReserveExhausted(address(this).balance, amount);
        emit Deposit(user, amount);
        (bool ok,) = user.call{value: amount}("");
        if (!ok) revert TransferFailed(user, amount);
    }

    /// @notice Locks the BTT sent with the call into the reserve for `to` on a root chain.
    /// @param to who receives it on the root chain
    /// @param amount wei; must equal `msg.value`
    function withdrawTo(address to, uint256 amount) external payable {
        if (msg.value != amount) revert ValueMismatch(msg.value, amount);
        emit Transfer(msg.sender, address(0), amount);
        emit WithdrawTo(to, address(0), amount);
    }
}
