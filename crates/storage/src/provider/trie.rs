//! Trie nodes: the path-keyed Merkle-Patricia trie of `bttc-trie`, read through
//! [`TrieStore`] and written from its [`TrieUpdates`].

use super::Provider;
use crate::{
    StorageResult, Table,
    tables::{storage_trie_key, trie_path_key},
};
use alloy_primitives::B256;
use bttc_trie::{TrieError, TrieStore, TrieUpdates};
use signet_libmdbx::{
    TransactionKind,
    tx::{PtrUnsync, WriteMarker},
};

impl<K: TransactionKind<Access = PtrUnsync>> TrieStore for Provider<K> {
    fn account_node(&self, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        Ok(self.get(Table::AccountsTrie, &trie_path_key(path))?)
    }

    fn storage_node(&self, owner: &B256, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        Ok(self.get(Table::StoragesTrie, &storage_trie_key(owner, path))?)
    }
}

impl<K: TransactionKind<Access = PtrUnsync> + WriteMarker> Provider<K> {
    /// Applies trie node updates produced by `bttc_trie::state_root`.
    pub fn write_trie(&self, updates: &TrieUpdates) -> StorageResult<()> {
        for owner in &updates.wiped_storages {
            self.del_prefix(Table::StoragesTrie, owner.as_slice())?;
        }
        for (path, node) in &updates.account_nodes {
            let key = trie_path_key(path);
            match node {
                Some(n) => self.put(Table::AccountsTrie, &key, n)?,
                None => self.del(Table::AccountsTrie, &key)?,
            }
        }
        for ((owner, path), node) in &updates.storage_nodes {
            let key = storage_trie_key(owner, path);
            match node {
                Some(n) => self.put(Table::StoragesTrie, &key, n)?,
                None => self.del(Table::StoragesTrie, &key)?,
            }
        }
        Ok(())
    }
}
