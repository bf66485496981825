//! Where nodes live: the [`TrieStore`] trait and an in-memory implementation.

use crate::{TrieError, TrieUpdates};
use alloy_primitives::{
    B256,
    map::{B256Map, HashMap},
};

/// Read access to stored trie nodes. `path` is the node's nibble path, one nibble per
/// byte (0..=15), empty for the root. Values are nodes in the crate's stored format.
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

/// An in-memory [`TrieStore`] that can apply [`TrieUpdates`] (tests, benches, ef-tests).
///
/// Hash maps, so a lookup costs the same whatever the size of the state.
#[derive(Debug, Default, Clone)]
pub struct MemTrieStore {
    /// Account-trie nodes by path.
    pub accounts: HashMap<Vec<u8>, Vec<u8>>,
    /// Storage-trie nodes by owner (hashed address), then path. An owner without nodes has
    /// no entry.
    pub storages: B256Map<HashMap<Vec<u8>, Vec<u8>>>,
}

impl MemTrieStore {
    /// Applies updates the way a database writer must: wipes first, then puts and deletes.
    pub fn apply(&mut self, updates: &TrieUpdates) {
        for owner in &updates.wiped_storages {
            self.storages.remove(owner);
        }
        for (path, node) in &updates.account_nodes {
            match node {
                Some(n) => self.accounts.insert(path.clone(), n.clone()),
                None => self.accounts.remove(path),
            };
        }
        for ((owner, path), node) in &updates.storage_nodes {
            match node {
                Some(n) => {
                    self.storages.entry(*owner).or_default().insert(path.clone(), n.clone());
                }
                None => {
                    if let Some(nodes) = self.storages.get_mut(owner) {
                        nodes.remove(path);
                        if nodes.is_empty() {
                            self.storages.remove(owner);
                        }
                    }
                }
            }
        }
    }

    /// Every stored storage-trie node key, as `(owner, path)`.
    pub fn storage_keys(&self) -> impl Iterator<Item = (B256, &[u8])> + '_ {
        self.storages.iter().flat_map(|(o, nodes)| nodes.keys().map(move |p| (*o, p.as_slice())))
    }

    /// Number of nodes stored for `owner`'s storage trie.
    pub fn storage_len(&self, owner: &B256) -> usize {
        self.storages.get(owner).map_or(0, HashMap::len)
    }

    /// Number of stored nodes.
    pub fn len(&self) -> usize {
        self.accounts.len() + self.storages.values().map(HashMap::len).sum::<usize>()
    }

    /// Whether no node is stored.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.storages.is_empty()
    }
}

impl TrieStore for MemTrieStore {
    fn account_node(&self, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        Ok(self.accounts.get(path).cloned())
    }
    fn storage_node(&self, owner: &B256, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        Ok(self.storages.get(owner).and_then(|nodes| nodes.get(path)).cloned())
    }
}
