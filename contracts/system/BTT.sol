// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IStakeManagerSupply {
    function totalMinted() external view returns (uint256);
}

/// @title BTT: the native-token wrapper (predeployed at 0x...1010)
/// @notice An ERC-20 face on native BTT, compatible with BTTC's MRC20 at the same address:
/// `balanceOf` is the native balance and `transfer` moves native BTT sent with the call
/// (`msg.value` must equal `value`). There is no allowance: `approve` and `transferFrom` are
/// not offered, as on BTTC. The bridge functions (`deposit`, `withdrawTo`) come with the bridge.
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

    /// @notice Emitted by `transfer`.
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice `value` was not the BTT sent with the call.
    error ValueMismatch(uint256 sent, uint256 value);
    /// @notice The recipient refused the BTT.
    error TransferFailed(address to, uint256 value);

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
}
