//! Block execution for bttc.
//!
//! [`execute_block`] runs one block over a [`bttc_storage::StateProvider`] (the latest state,
//! or a read-write transaction that already holds earlier blocks of a batch) and returns an
//! [`ExecutionOutcome`]: receipts, gas used, EIP-7685 requests and the [`StateChanges`] to
//! commit. It never writes; the `chain` crate decides whether the outcome is committed.
//!
//! Execution is alloy-evm's Ethereum block executor over revm: transaction types 0-4, the
//! system calls of EIP-4788 (beacon root), EIP-2935 (block hashes), EIP-7002 (withdrawal
//! requests), EIP-7251 (consolidations) and EIP-6110 deposits, each where its fork is active,
//! plus pre-merge block and ommer rewards and the DAO irregular state change. The chain
//! spec ([`bttc_chainspec::ChainSpec`]) decides which fork applies to a block.
//!
//! Two rules alloy-evm leaves to the node are enforced here: receipts before Byzantium carry
//! the state root after their transaction, asked of the caller through [`PostStateRoots`]
//! (the trie lives above this crate); and from Prague on, deposit events must have
//! EIP-6110's exact layout ([`deposits`]).
//!
//! ## Hooks
//! [`BlockHooks`] is the seam for bttc's own system calls: `before_transactions` runs after
//! the Ethereum pre-block system calls and `after_transactions` after the last transaction,
//! both on the same EVM and state, so their state changes land in the block's outcome.
//! Staking (validator set, rewards) and state sync plug in here.
//!
//! ## Reading state
//! [`StateProviderDatabase`] adapts any `StateProvider` to revm's `DatabaseRef`. Given a
//! [`CodeCache`], it keeps analysed contract code across executions (the RPC server shares
//! one between all calls), since code is immutable under its hash.

mod code_cache;
mod database;
pub mod deposits;
mod error;
mod executor;
mod hooks;

pub use code_cache::{CodeCache, CodeCacheStats};
pub use database::{DbError, StateProviderDatabase};
pub use error::ExecutionError;
pub use executor::{
    BlockSetup, ExecutionOutcome, PostStateRoots, Skipped, TxPolicy, block_setup,
    changes_from_bundle, execute_block, execute_block_with,
};

/// A boxed error from a layer above this one (the trie, through [`PostStateRoots`]).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub use hooks::{BlockHooks, BlockInfo, NoHooks};

pub use bttc_storage::StateChanges;
