// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice What a bttc contract implements to receive state-sync records (pos-portal's
/// `IStateReceiver`).
interface IStateReceiver {
    function onStateReceive(uint256 stateId, bytes calldata data) external;
}

/// @title StateReceiver
/// @notice The bttc end of state sync, predeployed at 0x…1001 (BTTC's address). The node calls
/// `commitState` as a system call (from 0xff…fe) for each record of a root chain's
/// `StateSender` that the validators agreed on, at the start of a block.
///
/// - Ids are strictly sequential per root chain: record `id` of root `rootId` is refused unless
///   `id` is one more than the last one committed for that root.
/// - The receiver is called with at most `RECEIVER_GAS` gas, so a receiver cannot make the
///   system call run out of gas. A receiver that reverts, runs out of gas, or is not a
///   contract does not hold up later records: the record is kept (as its hash) and anyone
///   can replay it later with `replayFailedStateSync`.
///
/// A record is `abi.encode(uint256 rootId, uint256 stateId, address receiver, bytes data)`
/// (`commitState(uint256,bytes)` keeps Bor's signature; Bor's record is RLP without a root id).
contract StateReceiver {
    /// @notice The caller of system calls.
    address public constant SYSTEM_CALLER = 0xffffFFFfFFffffffffffffffFfFFFfffFFFfFFfE;
    /// @notice Gas a receiver gets for one record.
    uint256 public constant RECEIVER_GAS = 5_000_000;

    /// @notice The last record id committed, per root chain.
    mapping(uint256 => uint256) public lastStateId;
    /// @notice Records whose delivery failed, per root chain and id: keccak256(receiver, data).
    mapping(uint256 => mapping(uint256 => bytes32)) public failedStateSyncs;

    /// @notice Record `stateId` was committed; `success` is whether its receiver took it (Bor's event).
    event StateCommitted(uint256 indexed stateId, bool success);
    /// @notice Record `stateId` of root `rootId` failed at its receiver and can be replayed.
    event StateSyncFailed(uint256 indexed rootId, uint256 indexed stateId, address receiver);
    /// @notice A failed record was delivered by a replay.
    event StateSyncReplayed(uint256 indexed rootId, uint256 indexed stateId);

    error NotSystem(address caller);
    error OutOfOrder(uint256 rootId, uint256 got, uint256 expected);
    error NoFailedRecord(uint256 rootId, uint256 stateId);
    error RecordMismatch(uint256 rootId, uint256 stateId);
    error ReplayFailed(uint256 rootId, uint256 stateId, bytes reason);

    /// @notice Delivers one record (system call only).
    /// @param syncTime the root block time of the record (kept for Bor's signature; unused)
    /// @param recordBytes `abi.encode(rootId, stateId, receiver, data)`
    /// @return success whether the receiver took it
    function commitState(uint256 syncTime, bytes calldata recordBytes) external returns (bool success) {
        syncTime;
        if (msg.sender != SYSTEM_CALLER) revert NotSystem(msg.sender);
        (uint256 rootId, uint256 stateId, address receiver, bytes memory data) =
            abi.decode(recordBytes, (uint256, uint256, address, bytes));
        uint256 expected = lastStateId[rootId] + 1;
        if (stateId != expected) revert OutOfOrder(rootId, stateId, expected);
        lastStateId[rootId] = stateId;
        if (receiver.code.length > 0) {
            (success,) = receiver.call{gas: RECEIVER_GAS}(
                abi.encodeCall(IStateReceiver.onStateReceive, (stateId, data))
            );
        }
        if (!success) {
            failedStateSyncs[rootId][stateId] = keccak256(abi.encode(receiver, data));
            emit StateSyncFailed(rootId, stateId, receiver);
        }
        emit StateCommitted(stateId, success);
    }

    /// @notice Delivers a record that failed before (anyone may call; all remaining gas goes to
    /// the receiver). It is forgotten once delivered; a failing replay changes nothing.
    /// @param rootId the record's root chain
    /// @param stateId its id
    /// @param receiver its receiver, as committed
    /// @param data its data, as committed
    function replayFailedStateSync(uint256 rootId, uint256 stateId, address receiver, bytes calldata data)
        external
    {
        bytes32 h = failedStateSyncs[rootId][stateId];
        if (h == bytes32(0)) revert NoFailedRecord(rootId, stateId);
        if (h != keccak256(abi.encode(receiver, data))) revert RecordMismatch(rootId, stateId);
        delete failedStateSyncs[rootId][stateId];
        if (receiver.code.length == 0) revert ReplayFailed(rootId, stateId, "receiver is not a contract");
        (bool ok, bytes memory reason) =
            receiver.call(abi.encodeCall(IStateReceiver.onStateReceive, (stateId, data)));
        if (!ok) revert ReplayFailed(rootId, stateId, reason);
        emit StateSyncReplayed(rootId, stateId);
    }
}
