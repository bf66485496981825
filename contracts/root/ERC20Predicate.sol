// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {RLPReader} from "./RLPReader.sol";

interface IERC20Like {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
}

/// @title ERC20Predicate
/// @notice Holds the root-chain ERC-20 tokens (and the root's native coin, as
/// `ETHER_ADDRESS`) deposited to bttc: locks them on deposit and releases them on an exit
/// proving BTTC's burn log `WithdrawTo(to, 0x0, amount)`. Only the `RootChainManager` may
/// call it.
contract ERC20Predicate {
    using RLPReader for RLPReader.Item;

    /// @notice `WithdrawTo(address,address,uint256)`, BTTC's burn event.
    bytes32 public constant WITHDRAW_TO_SIG = keccak256("WithdrawTo(address,address,uint256)");
    address public immutable manager;
    /// @notice Stands for the root chain's native coin (pos-portal's `ETHER_ADDRESS`).
    address public constant ETHER_ADDRESS = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    event LockedERC20(
        address indexed depositor, address indexed depositReceiver, address indexed rootToken, uint256 amount
    );
    event ExitedERC20(address indexed exitor, address indexed rootToken, uint256 amount);

    error NotManager(address caller);
    error NotAWithdrawal(string reason);
    error TransferFailed(address token);
    error ValueMismatch(uint256 value, uint256 amount);

    constructor(address manager_) {
        manager = manager_;
    }

    modifier onlyManager() {
        if (msg.sender != manager) revert NotManager(msg.sender);
        _;
    }

    /// @notice Takes `abi.decode(depositData, (uint256))` of `rootToken` from `depositor`.
    /// For `ETHER_ADDRESS` the coin comes with the call and must equal the amount.
    function lockTokens(address depositor, address depositReceiver, address rootToken, bytes calldata depositData)
        external
        payable
        onlyManager
    {
        uint256 amount = abi.decode(depositData, (uint256));
        uint256 expected = rootToken == ETHER_ADDRESS ? amount : 0;
        if (msg.value != expected) revert ValueMismatch(msg.value, expected);
        emit LockedERC20(depositor, depositReceiver, rootToken, amount);
        if (rootToken != ETHER_ADDRESS) {
            _call(rootToken, abi.encodeCall(IERC20Like.transferFrom, (depositor, address(this), amount)));
        }
    }

    /// @notice Pays out the withdrawal `log` (RLP [address, topics, data]) proves.
    function exitTokens(address rootToken, bytes calldata log) external onlyManager {
        RLPReader.Item[] memory l = RLPReader.toItem(log).toList();
        RLPReader.Item[] memory topics = l[1].toList();
        if (topics.length != 3 || topics[0].toBytes32() != WITHDRAW_TO_SIG) revert NotAWithdrawal("not WithdrawTo");
        if (topics[2].toBytes32() != bytes32(0)) revert NotAWithdrawal("from is not 0x0");
        address to = address(uint160(uint256(topics[1].toBytes32())));
        bytes memory data = l[2].toBytes();
        if (data.length != 32) revert NotAWithdrawal("amount is not one word");
        uint256 amount = abi.decode(data, (uint256));
        emit ExitedERC20(to, rootToken, amount);
        if (rootToken == ETHER_ADDRESS) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert TransferFailed(to);
        } else {
            _call(rootToken, abi.encodeCall(IERC20Like.transfer, (to, amount)));
        }
    }

    /// @dev Calls a token, accepting tokens that return nothing.
    function _call(address token, bytes memory data) private {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed(token);
    }
}
