//! MDBX storage for bttc.
//!
//! This crate owns the on-disk layout: one MDBX environment in `<datadir>/db` with the
//! tables listed in [`Table`], their key/value encodings, and typed access through
//! [`Provider`], a wrapper around one MDBX transaction.
//!
//! ## How data flows
//! - The `chain` crate opens a read-write [`Provider`], executes blocks against it (reads go
//!   through the same transaction, so a batch of blocks sees its own writes), writes each
//!   block with [`Provider::write_block`], its state with [`Provider::write_state`] and its
//!   trie nodes with [`Provider::write_trie`], then moves the head ([`Provider::set_head`])
//!   and commits. One commit covers one block or a batch: a crash (`kill -9`) at any moment
//!   leaves the database at the last commit. `Provider`'s methods live in `provider/` by what
//!   they own: blocks, state (with history), trie nodes.
//! - Readers (RPC, the executor) use read-only providers. [`StateProvider`] is the seam the
//!   executor reads state through; it is implemented for the latest state ([`Provider`]) and
//!   for the state after any past block ([`HistoricalState`]), which combines the history
//!   indices with the changesets.
//!
//! ## Tables (key → value)
//! Block data: `Headers` (number → RLP header), `CanonicalHashes` (number → hash),
//! `HeaderNumbers` (hash → number), `BlockBodyIndices` (number → first tx number, count),
//! `BlockOmmers`, `BlockWithdrawals` (number → RLP list), `Transactions` (tx number → EIP-2718
//! bytes), `TransactionSenders` (tx number → address), `TransactionHashNumbers` (hash → tx
//! number), `TransactionBlocks` (last tx number of a block → block number), `Receipts` (tx
//! number → type ‖ RLP of status, cumulative gas, logs; the bloom is recomputed on read).
//! State: `Bytecodes` (code hash → code), `PlainAccountState` (address → [`Account`]),
//! `PlainStorageState` (address ‖ slot → value).
//! History: `AccountChangeSets` (block ‖ address → account before the block),
//! `StorageChangeSets` (block ‖ address ‖ slot → value before the block), `AccountsHistory`
//! (address ‖ block) and `StoragesHistory` (address ‖ slot ‖ block): one key per change, so a
//! range seek finds the first change after any block.
//! Merkle: `AccountsTrie` (path → node) and `StoragesTrie` (hashed address ‖ path → node),
//! the path-keyed trie of `bttc-trie`. Its leaves hold the hashed state (keccak-keyed
//! accounts and slots), so no separate hashed-state tables are kept.
//! Bookkeeping: `Meta` (genesis, head, schema version).
//!
//! Integers in keys are big-endian so that MDBX's byte order is numeric order.

mod consensus;
mod env;
mod error;
#[cfg(feature = "fault-injection")]
mod faults;
mod history;
mod provider;
mod receipt_codec;
mod tables;

pub use env::{DatabaseEnv, DbOptions, TableStats};
pub use error::{StorageError, StorageResult};
pub use history::{ChangedKeys, HistoricalState};
pub use provider::{
    AccountChange, BlockIndices, Provider, StateChanges, StateProvider, StorageChange, StoredHead,
};
pub use tables::Table;

pub use bttc_primitives::Account;
pub use signet_libmdbx::{
    Ro, Rw, TransactionKind,
    tx::{PtrUnsync, WriteMarker},
};
