//! The chain: the one path that turns a block into stored state.
//!
//! Import, the Ethereum conformance runner, dev mode, consensus and sync all call
//! [`Chain::insert_block`], so there is exactly one definition of a valid block:
//!
//! 1. **Header against parent** ([`validate`]): parent is the current head, number, timestamp,
//!    gas limit bounds, extra data, EIP-1559 base fee, EIP-4844 excess blob gas, fork-gated
//!    header fields; before the merge the Ethash difficulty ([`difficulty`]), after it zero
//!    difficulty and nonce and no ommers.
//! 2. **Body against header**: block RLP size (EIP-7934), transactions root, ommers hash,
//!    withdrawals root, blob counts, no blob transactions on bttc chains; pre-merge ommers
//!    against the last seven blocks; sender recovery.
//! 3. **Execute** with `bttc-evm` over the read-write transaction (so a batch of blocks sees
//!    its own earlier writes). Before Byzantium the executor asks for the state root after
//!    every transaction (receipts carry it); the trie answers from the same transaction.
//! 4. **Check results**: gas used, receipts root, logs bloom, blob gas used, requests hash.
//! 5. **State root** with `bttc-trie` over the stored trie nodes, touching only what the block
//!    changed, and compare with the header.
//! 6. **Write** header, body, receipts, senders, plain state, changesets, history and trie
//!    nodes into the same transaction, then move the head. Nothing is written before every
//!    check has passed, so a rejected block leaves the transaction (and the head) as it was.
//!    A failure while writing ([`BlockError::Write`]) may leave part of the block in the
//!    transaction: the caller must drop it, never commit it.
//!
//! Every [`BlockError`] has an [`ErrorClass`] (header, transaction, execution, result, or
//! internal: the node failed, not the block).
//!
//! The caller commits: [`import`] commits a batch of blocks at a time; a crash loses at most
//! the uncommitted batch and a re-run continues from the stored head; a write failure rolls
//! the batch back.
//! [`genesis`] writes the genesis state and block (`bttc init`).

mod builder;
pub mod difficulty;
mod error;
pub mod genesis;
pub mod import;
mod insert;
pub mod validate;
pub mod verify;

pub use builder::{BlockAttributes, BuiltBlock};
pub use error::{BlockError, ChainError, ErrorClass};
pub use genesis::{InitOutcome, init_genesis};
pub use import::{ImportError, ImportOptions, ImportProgress, ImportSummary, import_rlp};
pub use insert::{BlockTimings, Chain, InsertedBlock, hashed_post_state, recover_senders};
