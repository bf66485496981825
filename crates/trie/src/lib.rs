//! Ethereum state root, computed incrementally over trie nodes stored by path.
//!
//! The state trie and every account's storage trie are Merkle-Patricia tries over
//! keccak-hashed keys (64 nibbles). This crate keeps **every node at its nibble path** in a
//! [`TrieStore`] (the node's MDBX tables in production, [`MemTrieStore`] in tests), so a
//! block's root is found by loading only the nodes on the paths of the keys it touched,
//! applying the changes to that small in-memory partial trie, and re-hashing upward. The
//! cost grows with touched keys × depth, not with the size of the state.
//!
//! ## How an update flows
//! 1. [`state_root`] gets a [`HashedPostState`] (hashed accounts and slots a block changed).
//! 2. For each account with storage changes, its storage trie is opened at the stored root
//!    (or empty when wiped), slots are inserted/deleted, and the new storage root computed.
//! 3. The account trie is opened, each changed account's leaf is rewritten (`nonce`,
//!    `balance`, `storage_root`, `code_hash`; unchanged fields come from the old leaf) or
//!    deleted.
//! 4. Committing walks the in-memory trie: every loaded or new node is encoded, stored at its
//!    current path and hashed; paths that held a loaded node and no longer do are deleted.
//!    Unloaded subtrees are referenced by the child references stored in their parents.
//!    The result is the root and a [`TrieUpdates`] the caller writes in the same transaction.
//!
//! ## Stored node format (version tag in the first byte)
//! - leaf `0x00 | key_len | key nibbles | value` (value = the RLP the leaf commits to)
//! - extension `0x01 | key_len | key nibbles | child_ref`
//! - branch `0x02 | mask (u16 BE) | (ref_len | child_ref) for each set bit`
//!
//! A child reference is the child's keccak256 (32 bytes) or, when its RLP is shorter than 32
//! bytes, the RLP itself (the node is inlined into its parent's RLP, but still stored at its
//! own path so any node can be loaded by path).

mod error;
mod nibbles;
mod node;
mod proof;
mod sparse;
mod store;

pub use error::TrieError;
pub use proof::{account_proof, storage_proof};
pub use sparse::{state_root, storage_root, stored_root};
pub use store::{MemTrieStore, TrieStore};

use alloy_primitives::{B256, U256};
use std::collections::{BTreeMap, BTreeSet};

pub use alloy_trie::EMPTY_ROOT_HASH;

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
