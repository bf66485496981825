// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title StateSender
/// @notice The root-chain end of bttc's state sync, with the ABI and events of Polygon's and
/// BTTC's `StateSender` (so bridge tooling that reads `StateSynced` keeps working). A contract
/// registered for a receiver on bttc (the bridge's `RootChainManager` for the
/// `ChildChainManager`) calls `syncState`; the event carries a counter that validators deliver
/// on bttc in order, exactly once, to `StateReceiver` at 0x…1001.
contract StateSender {
    /// @notice The largest `data` one record may carry (records ride in bttc blocks).
    uint256 public constant MAX_DATA = 16_384;

    /// @notice Who may register senders.
    address public owner;
    /// @notice Records sent so far (the id of the last one).
    uint256 public counter;
    /// @notice The sender allowed to sync state to each receiver.
    mapping(address => address) public registrations;

    /// @notice A record for `contractAddress` on bttc.
    event StateSynced(uint256 indexed id, address indexed contractAddress, bytes data);
    /// @notice `sender` may now sync state to `receiver`.
    event NewRegistration(address indexed user, address indexed sender, address indexed receiver);
    /// @notice `receiver`'s sender was replaced by `sender`.
    event RegistrationUpdated(address indexed user, address indexed sender, address indexed receiver);
    /// @notice Ownership moved.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address caller);
    error NotRegistered(address sender, address receiver);
    error DataTooLarge(uint256 got, uint256 max);
    error ZeroAddress();

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Lets `sender` sync state to `receiver` (replacing its previous sender).
    /// @param sender the root-chain contract that will call `syncState`
    /// @param receiver the bttc contract its records are for
    function register(address sender, address receiver) external onlyOwner {
        if (sender == address(0) || receiver == address(0)) revert ZeroAddress();
        address previous = registrations[receiver];
        registrations[receiver] = sender;
        if (previous == address(0)) emit NewRegistration(msg.sender, sender, receiver);
        else emit RegistrationUpdated(msg.sender, sender, receiver);
    }

    /// @notice Sends `data` to `receiver` on bttc (its registered sender only).
    /// @param receiver the bttc contract
    /// @param data what it receives in `onStateReceive(id, data)`
    function syncState(address receiver, bytes calldata data) external {
        if (registrations[receiver] != msg.sender) revert NotRegistered(msg.sender, receiver);
        if (data.length > MAX_DATA) revert DataTooLarge(data.length, MAX_DATA);
        counter = counter + 1;
        emit StateSynced(counter, receiver, data);
    }

    /// @notice Hands ownership to `newOwner`.
    /// @param newOwner the next owner
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
