// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// A value store for the JSON-RPC tests: a state write, an event, a revert with a reason.
contract Store {
    uint256 public value;

    event ValueSet(address indexed who, uint256 value);

    function set(uint256 v) external {
        require(v != 13, "unlucky number");
        value = v;
        emit ValueSet(msg.sender, v);
    }

    function get() external view returns (uint256) {
        return value;
    }

    function fail() external pure {
        revert("always fails");
    }
}
