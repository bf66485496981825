//! Addresses of the bttc system contracts, identical to BTTC's so that its tooling keeps working.

use alloy_primitives::{Address, address};

/// Validator set / staking contract.
pub const VALIDATOR_SET: Address = address!("0000000000000000000000000000000000001000");
/// State receiver contract (root-chain deposits arrive here as state syncs).
pub const STATE_RECEIVER: Address = address!("0000000000000000000000000000000000001001");
/// BTT native-token wrapper (`balanceOf` / `transfer` / `withdrawTo`).
pub const BTT_TOKEN: Address = address!("0000000000000000000000000000000000001010");
/// The sender of system calls made by the block executor.
pub const SYSTEM_CALLER: Address = address!("fffffffffffffffffffffffffffffffffffffffe");
