//! The node side of bttc staking.
//!
//! Stake, rewards, slashing and elections live in the `StakeManager` system contract
//! (`bttc-contracts`, docs/staking.md). This crate owns what the node does with it:
//! - [`StakingHooks`]: the end-of-block system call. After a block's last transaction it
//!   calls `StakeManager.blockEnd(signedBitmap, fees)` as the system address, then credits the
//!   contract with the block's base fees (which plain Ethereum burns) and the issuance the
//!   call returns. The bitmap of who signed the previous block comes from a
//!   [`SignersSource`].
//!
//! Data flow: `bttc-chain` executes every block (import, proposal, validation, sync) through
//! `bttc-evm` with a [`bttc_evm::BlockHooks`] implementation; with [`StakingHooks`] the
//! contract's state changes become part of the block's state root like any transaction's.
//!
//! Status (issue #13): the hooks are tested on a real chain (tests/hooks.rs); the node does
//! not install them yet, and the signer bitmap will come from the previous block's commit
//! carried in each block (not built yet).

mod error;
mod hooks;

pub use error::StakingError;
pub use hooks::{AllSigned, LastCommitSigners, SignersSource, StakingHooks};
