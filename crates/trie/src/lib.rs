//! Ethereum state root, computed incrementally over trie nodes stored by path.
//!
//! The state trie and every account's storage trie are secure Merkle-Patricia tries: keys are
//! keccak256 hashes (64 nibbles), so branches never carry values. This crate keeps **every
//! node at its nibble path** (like geth's path-based scheme) in a [`TrieStore`] — the node's
//! MDBX tables in production, [`MemTrieStore`] in tests — so a block's root is found by
//! loading only the nodes on the paths of the keys it touched, applying the changes to that
//! small in-memory partial trie and re-hashing upward. The cost grows with touched keys ×
//! depth, not with the size of the state. The crate owns the node format, the update
//! algorithm, the root and proof computations; it does not own any database.
//!
//! ## How an update flows
//! 1. [`state_root`] gets a [`HashedPostState`] (hashed accounts and slots a block changed)
//!    and walks the changed addresses in key order.
//! 2. A destroyed account (`None`) has its leaf deleted and its storage trie listed in
//!    [`TrieUpdates::wiped_storages`].
//! 3. Otherwise the old leaf is read (loading the nodes on its path). If the account has
//!    storage changes, its storage trie is opened at the stored root (or empty when
//!    `wiped`), the slots are written or deleted (zero value), and it is committed for the
//!    new storage root; else the old storage root is kept. The new leaf is written with
//!    `nonce`, `balance`, `code_hash` from the change (or from the old leaf for storage-only
//!    changes).
//! 4. Committing a trie walks its in-memory part: every loaded or new node is encoded,
//!    stored at its current path and hashed; every loaded path that no longer holds a node
//!    becomes a delete. Subtrees that were never loaded are referenced by the child
//!    references their parents store, and keep their paths. The caller applies the
//!    [`TrieUpdates`] (wipes first) in the same transaction as the state.
//!
//! Deleting a key can leave a branch with one child. That child is then loaded: a branch
//! child stays where it is behind a new one-nibble extension; a leaf or extension child
//! absorbs the nibble and moves up one level (written at the new path, deleted at the old).
//!
//! ## Stored node format
//! The first byte is a tag that also versions the format (this is version 1: tags
//! `0x00..=0x02`; a later format must use new tags). Nibbles are one per byte.
//! - leaf `0x00 | key_len: u8 | key nibbles | value` — `value` is the RLP the leaf commits
//!   to (account RLP, or the RLP of a storage value)
//! - extension `0x01 | key_len: u8 | key nibbles | child_ref`
//! - branch `0x02 | mask: u16 BE (bit i = child i present) | (ref_len: u8 | child_ref)` for
//!   each set bit, in nibble order
//!
//! A `child_ref` is what the parent's RLP holds for the child: its keccak256 (32 bytes) or,
//! when its RLP is shorter than 32 bytes, the RLP itself. Such a child is inlined into its
//! parent's RLP but is still stored at its own path, so any node can be loaded by path, and
//! a branch or extension can be re-hashed without loading its children. Decoding checks the
//! node against its depth (a leaf ends at nibble 64, an extension ends above it, a branch has
//! at least two children) and reports [`TrieError::Corrupt`] otherwise.
//!
//! Storage tries of different accounts are independent: [`state_root_parallel`] updates them
//! on several threads (for a `Sync` store), then the account trie on the calling thread.
//!
//! ## Example
//! ```
//! use alloy_primitives::{Address, KECCAK256_EMPTY, U256, keccak256};
//! use bttc_trie::{HashedAccount, HashedPostState, MemTrieStore, state_root, stored_root};
//!
//! let mut store = MemTrieStore::default();
//! let mut state = HashedPostState::default();
//! let account = HashedAccount { nonce: 1, balance: U256::from(10), code_hash: KECCAK256_EMPTY };
//! state.accounts.insert(keccak256(Address::ZERO), Some(account));
//! let (root, updates) = state_root(&store, &state).unwrap();
//! store.apply(&updates); // in a node: written in the same DB transaction as the state
//! assert_eq!(stored_root(&store).unwrap(), root);
//! ```
//!
//! ## Modules
//! `node` (stored encoding and RLP), `sparse` (the partial trie and the insert/delete
//! algorithm), `root` (state and storage roots), `proof` (EIP-1186 proofs), `store` (the
//! [`TrieStore`] trait and [`MemTrieStore`]), `nibbles`, `error`.

mod error;
mod nibbles;
mod node;
mod proof;
mod root;
mod sparse;
mod store;

pub use error::TrieError;
pub use proof::{account_proof, storage_proof};
pub use root::{state_root, state_root_parallel, storage_root, stored_account, stored_root};
pub use store::{MemTrieStore, TrieStore};

use alloy_primitives::{B256, U256};
use std::collections::{BTreeMap, BTreeSet};

pub use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};

/// Changes of one block (or batch), keys already hashed.
#[derive(Debug, Default, Clone)]
pub struct HashedPostState {
    /// Hashed address → new account (`None` = account deleted/destroyed).
    pub accounts: BTreeMap<B256, Option<HashedAccount>>,
    /// Hashed address → storage changes.
    pub storages: BTreeMap<B256, HashedStorage>,
}

/// An account's trie fields other than its storage root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashedAccount {
    /// Nonce.
    pub nonce: u64,
    /// Balance.
    pub balance: U256,
    /// Code hash.
    pub code_hash: B256,
}

/// Storage changes of one account.
#[derive(Debug, Default, Clone)]
pub struct HashedStorage {
    /// The whole storage was cleared before `slots` apply (self-destruct / re-creation).
    pub wiped: bool,
    /// Hashed slot → new value; zero deletes the slot.
    pub slots: BTreeMap<B256, U256>,
}

/// Node writes produced by a root computation, applied by the caller in the same
/// database transaction.
#[derive(Debug, Default, Clone)]
pub struct TrieUpdates {
    /// Storage tries to delete entirely (every key of the owner) before `storage_nodes`.
    pub wiped_storages: BTreeSet<B256>,
    /// Account-trie path → `Some(node)` to put, `None` to delete.
    pub account_nodes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// (owner, path) → `Some(node)` / `None`.
    pub storage_nodes: BTreeMap<(B256, Vec<u8>), Option<Vec<u8>>>,
}

impl TrieUpdates {
    /// Number of node writes and deletes.
    pub fn len(&self) -> usize {
        self.account_nodes.len() + self.storage_nodes.len() + self.wiped_storages.len()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
