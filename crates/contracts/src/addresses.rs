//! Addresses of the system contracts (fixed in every bttc genesis).

use alloy_primitives::{Address, address};

/// `StakeManager`: validators, delegations, rewards, slashing, validator-set election.
pub const STAKE_MANAGER: Address = address!("0x0000000000000000000000000000000000001000");

/// `StateReceiver`: delivers root-chain state-sync records (deposits) to bttc contracts.
pub const STATE_RECEIVER: Address = address!("0x0000000000000000000000000000000000001001");

/// `ChildChainManager`: the bridge's bttc end (token mapping, deposits).
pub const CHILD_CHAIN_MANAGER: Address = address!("0x0000000000000000000000000000000000001003");

/// `Governance`: parameter proposals voted by stake; the only account that may change the
/// staking parameters.
pub const GOVERNANCE: Address = address!("0x0000000000000000000000000000000000001002");

/// The BTT native-token wrapper (BTTC's `MRC20` address).
pub const BTT_TOKEN: Address = address!("0x0000000000000000000000000000000000001010");

/// The caller of system calls (EIP-4788's system address): no key, no nonce, no gas paid.
pub const SYSTEM_CALLER: Address = address!("0xfffffffffffffffffffffffffffffffffffffffe");
