// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IChildToken {
    function deposit(address user, bytes calldata depositData) external;
}

/// @title ChildChainManager
/// @notice bttc's end of the bridge, predeployed at 0x…1003: takes the records a root chain's
/// `RootChainManager` sends through `StateSender`, delivered by `StateReceiver` (0x…1001):
/// `MAP_TOKEN` maps a root token to its bttc token, `DEPOSIT` credits a user on the mapped
/// token (`deposit(user, depositData)`: a `ChildERC20` mints, the BTT wrapper pays native BTT).
/// A deposit for an unmapped token reverts, so `StateReceiver` keeps it for a replay once the
/// token is mapped.
contract ChildChainManager {
    /// @notice Who delivers records.
    address public constant STATE_RECEIVER = 0x0000000000000000000000000000000000001001;
    bytes32 public constant DEPOSIT = keccak256("DEPOSIT");
    bytes32 public constant MAP_TOKEN = keccak256("MAP_TOKEN");

    mapping(address => address) public rootToChildToken;
    mapping(address => address) public childToRootToken;

    event TokenMapped(address indexed rootToken, address indexed childToken, bytes32 tokenType);
    event Deposited(address indexed user, address indexed rootToken, address indexed childToken, bytes depositData);

    error NotStateReceiver(address caller);
    error UnknownSyncType(bytes32 syncType);
    error NotMapped(address rootToken);
    error AlreadyMapped(address rootToken, address childToken);

    /// @notice One record from a root chain (`StateReceiver` only).
    /// @param data abi.encode(syncType, syncData)
    function onStateReceive(uint256, bytes calldata data) external {
        if (msg.sender != STATE_RECEIVER) revert NotStateReceiver(msg.sender);
        (bytes32 syncType, bytes memory syncData) = abi.decode(data, (bytes32, bytes));
        if (syncType == DEPOSIT) {
            (address user, address rootToken, bytes memory depositData) =
                abi.decode(syncData, (address, address, bytes));
            address childToken = rootToChildToken[rootToken];
            if (childToken == address(0)) revert NotMapped(rootToken);
            emit Deposited(user, rootToken, childToken, depositData);
            IChildToken(childToken).deposit(user, depositData);
        } else if (syncType == MAP_TOKEN) {
            (address rootToken, address childToken, bytes32 tokenType) =
                abi.decode(syncData, (address, address, bytes32));
            if (rootToChildToken[rootToken] != address(0) || childToRootToken[childToken] != address(0)) {
                revert AlreadyMapped(rootToken, childToken);
            }
            rootToChildToken[rootToken] = childToken;
            childToRootToken[childToken] = rootToken;
            emit TokenMapped(rootToken, childToken, tokenType);
        } else {
            revert UnknownSyncType(syncType);
        }
    }
}
