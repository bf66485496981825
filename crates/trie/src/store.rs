//! Where nodes live: the [`TrieStore`] trait and an in-memory implementation.

use crate::{TrieError, TrieUpdates};
use alloy_primitives::B256;
use std::collections::BTreeMap;

/// Read access to stored trie nodes. `path` is the node's nibble path, one nibble per
/// byte (0..=15), empty for the root.
pub trait TrieStore {
    /// A node of the account trie.
    fn account_node(&self, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError>;
    /// A node of the storage trie of `owner` (a hashed address).
    fn storage_node(&self, owner: &B256, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError>;
}

impl<T: TrieStore + ?Sized> TrieStore for &T {
    fn account_node(&self, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        (**self).account_node(path)
    }
    fn storage_node(&self, owner: &B256, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        (**self).storage_node(owner, path)
    }
}

/// An in-memory [`TrieStore`] that can apply [`TrieUpdates`].
#[derive(Debug, Default, Clone)]
pub struct MemTrieStore {
    /// Account-trie nodes by path.
    pub accounts: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Storage-trie nodes by (owner, path).
    pub storages: BTreeMap<(B256, Vec<u8>), Vec<u8>>,
}

impl MemTrieStore {
    /// Applies updates the way a database writer must: wipes first, then puts and deletes.
    pub fn apply(&mut self, updates: &TrieUpdates) {
        for owner in &updates.wiped_storages {
            self.storages.retain(|(o, _), _| o != owner);
        }
        for (path, node) in &updates.account_nodes {
            match node {
                Some(n) => self.accounts.insert(path.clone(), n.clone()),
                None => self.accounts.remove(path),
            };
        }
        for (key, node) in &updates.storage_nodes {
            match node {
                Some(n) => self.storages.insert(key.clone(), n.clone()),
                None => self.storages.remove(key),
            };
        }
    }

    /// Number of stored nodes.
    pub fn len(&self) -> usize {
        self.accounts.len() + self.storages.len()
    }

    /// Whether no node is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TrieStore for MemTrieStore {
    fn account_node(&self, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        Ok(self.accounts.get(path).cloned())
    }
    fn storage_node(&self, owner: &B256, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        Ok(self.storages.get(&(*owner, path.to_vec())).cloned())
    }
}
