// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice A state-sync receiver for tests: records what it got; can be told to revert or to
/// burn all its gas.
contract TestStateReceiver {
    uint256 public lastId;
    bytes public lastData;
    uint256 public received;
    uint8 public mode; // 0 take, 1 revert, 2 burn gas

    function setMode(uint8 m) external {
        mode = m;
    }

    function onStateReceive(uint256 stateId, bytes calldata data) external {
        if (mode == 1) revert("receiver refuses");
        if (mode == 2) {
            while (true) {}
        }
        lastId = stateId;
        lastData = data;
        received += 1;
    }
}
