//! bttc's system contracts, as the node and its tests see them.
//!
//! The Solidity sources live in `contracts/system/` at the repository root and are compiled by
//! `contracts/build.js` (solc-js, pinned) into `contracts/artifacts/`, which is committed: the
//! node builds without Node.js. This crate owns:
//! - [`addresses`]: where the system contracts live and who calls them;
//! - [`stake_manager`]: the ABI bindings of `StakeManager` (generated from its artifact, so they
//!   cannot drift from the bytecode) and its creation and runtime code;
//! - [`btt`]: the bindings of the BTT native-token wrapper (`balanceOf` is the native balance);
//! - [`governance`]: the bindings of `Governance` (stake-weighted votes on the parameters);
//! - [`root_chain`]: the bindings of `RootChain` (`contracts/root/`), which bttc deploys on
//!   each root chain to hold its checkpoints;
//! - [`bridge`]: the bindings of the bridge's contracts: on the root `RootChainManager` and
//!   `ERC20Predicate`, on bttc `ChildChainManager` (predeployed) and the `ChildERC20` template;
//! - [`state_sync`]: the bindings of `StateReceiver` (predeployed; root-chain records are
//!   delivered to it as system calls) and of the root chains' `StateSender`;
//! - [`genesis`]: the genesis accounts: `StakeManager` made by running its constructor in revm
//!   with the chain spec's parameters and genesis validators (so the storage layout is the
//!   compiler's, never written by hand), the BTT wrapper, Governance and `StateReceiver`.
//!
//! Data flow: the chain spec's `config.bttc` parameters and genesis validators go through
//! [`genesis::staking_alloc`] into the genesis `alloc`; from then on the node talks to
//! the contract only through ABI calls ([`stake_manager::StakeManager`]): a system call at the
//! end of every block, and views to read the validator set of each epoch.

pub mod addresses;
pub mod bridge;
pub mod btt;
pub mod genesis;
pub mod governance;
pub mod root_chain;
pub mod stake_manager;
pub mod state_sync;

pub use addresses::{
    BTT_TOKEN, CHILD_CHAIN_MANAGER, GOVERNANCE, STAKE_MANAGER, STATE_RECEIVER, SYSTEM_CALLER,
};
pub use genesis::{
    GenesisError, GenesisStaker, btt_token_account, child_chain_manager_account, decode_revert,
    deployed_account, governance_account, params_from, stake_manager_account, staking_alloc,
    state_receiver_account,
};
