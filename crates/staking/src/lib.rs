//! The node side of bttc staking.
//!
//! Stake, rewards, slashing and elections live in the `StakeManager` system contract
//! (`bttc-contracts`, docs/staking.md). This crate owns what the node does with it:
//! - [`StakingHooks`]: the end-of-block system call. After a block's last transaction it
//!   calls `StakeManager.blockEnd(signedBitmap, fees)` as the system address, then credits the
//!   contract with the block's base fees (which plain Ethereum burns) and the issuance the
//!   call returns. The bitmap of who signed the previous block comes from a
//!   [`SignersSource`].
//! - State sync: before a block's first transaction, the root-chain records its LastCommit
//!   carries (`bttc_primitives::StateSyncRecord`, agreed by the validators) are delivered to
//!   `StateReceiver.commitState` as system calls, in order (docs/bridge.md).
//!
//! Data flow: `bttc-chain` executes every block (import, proposal, validation, sync) through
//! `bttc-evm` with a [`bttc_evm::BlockHooks`] implementation; with [`StakingHooks`] the
//! contract's state changes become part of the block's state root like any transaction's.
//!
//! Every node path that executes a block (consensus, value sync, `bttc import`, dev mode,
//! JSON-RPC) opens the chain with [`open_chain`], so all run [`NodeHooks`]: the signer bitmap
//! comes from the LastCommit each block carries. They act only on bttc chains with the
//! contract deployed. `debug_trace*` replays a block's transactions up to the traced one;
//! `blockEnd` runs after the last, so traces see the state the block saw.

mod error;
pub mod evidence;
mod hooks;
mod sets;
mod state_sync;
mod view;

pub use error::{SetsError, StakingError};
pub use sets::{EpochRecord, StakeValidators, signers};
pub use view::stake_manager_view;

/// The chain as a node runs it: every block with [`NodeHooks`].
pub type NodeChain = bttc_chain::Chain<NodeHooks>;

/// Opens the chain in `db` with the node's hooks.
pub fn open_chain(db: bttc_storage::DatabaseEnv) -> Result<NodeChain, bttc_chain::ChainError> {
    bttc_chain::Chain::open_with_hooks(db, NodeHooks::default())
}
pub use hooks::{AllSigned, LastCommitSigners, NodeHooks, SignersSource, StakingHooks};
