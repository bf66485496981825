//! The partial in-memory trie and the root computation.

use crate::{
    EMPTY_ROOT_HASH, HashedPostState, TrieError, TrieStore, TrieUpdates,
    nibbles::{common_prefix, path_hex, unpack},
    node::{
        Node, decode_stored, empty_children, reference, rlp_branch, rlp_ext, rlp_leaf,
        store_branch, store_ext, store_leaf,
    },
};
use alloy_primitives::{B256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::TrieAccount;
use std::collections::{BTreeMap, BTreeSet};

/// One trie (the account trie or one storage trie) partially loaded from a store.
pub(crate) struct PartialTrie<'s, S: TrieStore> {
    store: &'s S,
    owner: Option<B256>,
    root: Node,
    loaded: BTreeSet<Vec<u8>>,
}

impl<'s, S: TrieStore> PartialTrie<'s, S> {
    /// Opens the trie at its stored root, or empty.
    pub(crate) fn open(store: &'s S, owner: Option<B256>, empty: bool) -> Result<Self, TrieError> {
        let mut t = Self { store, owner, root: Node::Empty, loaded: BTreeSet::new() };
        if !empty && let Some(node) = t.load(&[])? {
            t.root = node;
        }
        Ok(t)
    }

    fn owner_str(&self) -> String {
        self.owner.map_or_else(|| "account trie".to_string(), |o| o.to_string())
    }

    fn load(&mut self, path: &[u8]) -> Result<Option<Node>, TrieError> {
        let bytes = match &self.owner {
            None => self.store.account_node(path)?,
            Some(o) => self.store.storage_node(o, path)?,
        };
        let Some(bytes) = bytes else { return Ok(None) };
        let node = decode_stored(&bytes).map_err(|reason| TrieError::Corrupt {
            path: path_hex(path),
            owner: self.owner_str(),
            reason,
        })?;
        self.loaded.insert(path.to_vec());
        Ok(Some(node))
    }

    fn resolve(&mut self, node: &mut Node, path: &[u8]) -> Result<(), TrieError> {
        if matches!(node, Node::Stub(_)) {
            *node = self.load(path)?.ok_or_else(|| TrieError::MissingNode {
                path: path_hex(path),
                owner: self.owner_str(),
            })?;
        }
        Ok(())
    }

    /// The value stored under `key`.
    pub(crate) fn get(&mut self, key: &B256) -> Result<Option<Vec<u8>>, TrieError> {
        let key = unpack(key);
        let mut root = std::mem::replace(&mut self.root, Node::Empty);
        let r = self.get_at(&mut root, &mut Vec::with_capacity(64), &key);
        self.root = root;
        r
    }

    fn get_at(
        &mut self,
        node: &mut Node,
        path: &mut Vec<u8>,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, TrieError> {
        self.resolve(node, path)?;
        match node {
            Node::Empty | Node::Stub(_) => Ok(None),
            Node::Leaf(k, v) => Ok((k.as_slice() == key).then(|| v.clone())),
            Node::Ext(k, child) => {
                if !key.starts_with(k) {
                    return Ok(None);
                }
                let n = k.len();
                path.extend_from_slice(k);
                let r = self.get_at(child, path, &key[n..]);
                path.truncate(path.len() - n);
                r
            }
            Node::Branch(children) => {
                path.push(key[0]);
                let r = self.get_at(&mut children[key[0] as usize], path, &key[1..]);
                path.pop();
                r
            }
        }
    }

    /// Sets `key` to `value`, or deletes it when `value` is `None`.
    pub(crate) fn update(&mut self, key: &B256, value: Option<Vec<u8>>) -> Result<(), TrieError> {
        let key = unpack(key);
        let mut root = std::mem::replace(&mut self.root, Node::Empty);
        let mut path = Vec::with_capacity(64);
        let r = match value {
            Some(v) => self.insert(&mut root, &mut path, &key, v),
            None => self.delete(&mut root, &mut path, &key),
        };
        self.root = root;
        r
    }

    fn insert(
        &mut self,
        node: &mut Node,
        path: &mut Vec<u8>,
        key: &[u8],
        value: Vec<u8>,
    ) -> Result<(), TrieError> {
        self.resolve(node, path)?;
        match node {
            Node::Empty | Node::Stub(_) => *node = Node::Leaf(key.to_vec(), value),
            Node::Leaf(k, v) => {
                if k.as_slice() == key {
                    *v = value;
                    return Ok(());
                }
                let c = common_prefix(k, key);
                let mut children = empty_children();
                children[k[c] as usize] = Node::Leaf(k[c + 1..].to_vec(), std::mem::take(v));
                children[key[c] as usize] = Node::Leaf(key[c + 1..].to_vec(), value);
                let branch = Node::Branch(children);
                *node = if c > 0 { Node::Ext(key[..c].to_vec(), Box::new(branch)) } else { branch };
            }
            Node::Ext(k, child) => {
                let c = common_prefix(k, key);
                if c == k.len() {
                    path.extend_from_slice(k);
                    let r = self.insert(child, path, &key[c..], value);
                    path.truncate(path.len() - c);
                    return r;
                }
                let mut children = empty_children();
                let old_child = std::mem::replace(child.as_mut(), Node::Empty);
                children[k[c] as usize] = if k.len() - c - 1 > 0 {
                    Node::Ext(k[c + 1..].to_vec(), Box::new(old_child))
                } else {
                    old_child
                };
                children[key[c] as usize] = Node::Leaf(key[c + 1..].to_vec(), value);
                let branch = Node::Branch(children);
                *node = if c > 0 { Node::Ext(key[..c].to_vec(), Box::new(branch)) } else { branch };
            }
            Node::Branch(children) => {
                path.push(key[0]);
                let r = self.insert(&mut children[key[0] as usize], path, &key[1..], value);
                path.pop();
                return r;
            }
        }
        Ok(())
    }

    fn delete(&mut self, node: &mut Node, path: &mut Vec<u8>, key: &[u8]) -> Result<(), TrieError> {
        self.resolve(node, path)?;
        match node {
            Node::Empty | Node::Stub(_) => {}
            Node::Leaf(k, _) => {
                if k.as_slice() == key {
                    *node = Node::Empty;
                }
            }
            Node::Ext(k, child) => {
                if !key.starts_with(k) {
                    return Ok(());
                }
                let n = k.len();
                path.extend_from_slice(k);
                self.delete(child, path, &key[n..])?;
                path.truncate(path.len() - n);
                // Merge with what the child became.
                let merged = match std::mem::replace(child.as_mut(), Node::Empty) {
                    Node::Empty => Node::Empty,
                    Node::Leaf(k2, v) => Node::Leaf([k.as_slice(), &k2].concat(), v),
                    Node::Ext(k2, c2) => Node::Ext([k.as_slice(), &k2].concat(), c2),
                    other => Node::Ext(std::mem::take(k), Box::new(other)),
                };
                *node = merged;
            }
            Node::Branch(children) => {
                let i = key[0] as usize;
                path.push(key[0]);
                self.delete(&mut children[i], path, &key[1..])?;
                path.pop();
                let mut live =
                    children.iter().enumerate().filter(|(_, c)| !matches!(c, Node::Empty));
                let first = live.next().map(|(i, _)| i);
                if live.next().is_some() {
                    return Ok(());
                }
                let Some(only) = first else {
                    *node = Node::Empty;
                    return Ok(());
                };
                // One child left: the branch collapses into it.
                let mut child = std::mem::replace(&mut children[only], Node::Empty);
                path.push(only as u8);
                self.resolve(&mut child, path)?;
                path.pop();
                let nib = only as u8;
                *node = match child {
                    Node::Leaf(k2, v) => Node::Leaf([&[nib][..], &k2].concat(), v),
                    Node::Ext(k2, c2) => Node::Ext([&[nib][..], &k2].concat(), c2),
                    other => Node::Ext(vec![nib], Box::new(other)),
                };
            }
        }
        Ok(())
    }

    /// Encodes, stores and hashes every loaded or new node; returns the root hash and
    /// `path → Some(node) | None` writes.
    pub(crate) fn commit(mut self) -> (B256, BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        let mut writes = BTreeMap::new();
        let root = std::mem::replace(&mut self.root, Node::Empty);
        let hash = match Self::commit_node(root, &mut Vec::with_capacity(64), &mut writes) {
            None => EMPTY_ROOT_HASH,
            Some((_, rlp)) => keccak256(&rlp),
        };
        for path in std::mem::take(&mut self.loaded) {
            writes.entry(path).or_insert(None);
        }
        (hash, writes)
    }

    /// Returns (reference, rlp) of the committed node.
    fn commit_node(
        node: Node,
        path: &mut Vec<u8>,
        writes: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let (stored, rlp) = match node {
            Node::Empty => return None,
            Node::Stub(r) => return Some((r, Vec::new())),
            Node::Leaf(k, v) => (store_leaf(&k, &v), rlp_leaf(&k, &v)),
            Node::Ext(k, child) => {
                let n = k.len();
                path.extend_from_slice(&k);
                let (cref, _) = Self::commit_node(*child, path, writes)?;
                path.truncate(path.len() - n);
                (store_ext(&k, &cref), rlp_ext(&k, &cref))
            }
            Node::Branch(children) => {
                let mut refs: [Option<Vec<u8>>; 16] = Default::default();
                for (i, child) in children.into_iter().enumerate() {
                    path.push(i as u8);
                    refs[i] = Self::commit_node(child, path, writes).map(|(r, _)| r);
                    path.pop();
                }
                (store_branch(&refs), rlp_branch(&refs))
            }
        };
        writes.insert(path.clone(), Some(stored));
        Some((reference(rlp.clone()), rlp))
    }
}

fn decode_account(key: &B256, leaf: &[u8]) -> Result<TrieAccount, TrieError> {
    TrieAccount::decode(&mut &leaf[..])
        .map_err(|e| TrieError::BadAccountLeaf { key: key.to_string(), reason: e.to_string() })
}

/// Computes the state root after applying `state` on top of what `store` holds. Does not
/// write: the returned updates must be applied by the caller.
pub fn state_root<S: TrieStore>(
    store: &S,
    state: &HashedPostState,
) -> Result<(B256, TrieUpdates), TrieError> {
    let mut updates = TrieUpdates::default();
    let mut accounts = PartialTrie::open(store, None, false)?;

    let mut new_storage_roots = BTreeMap::new();
    for (owner, storage) in &state.storages {
        if matches!(state.accounts.get(owner), Some(None)) {
            continue; // destroyed: its storage is wiped below
        }
        if storage.wiped {
            updates.wiped_storages.insert(*owner);
        }
        let mut trie = PartialTrie::open(store, Some(*owner), storage.wiped)?;
        for (slot, value) in &storage.slots {
            let v = (!value.is_zero()).then(|| alloy_rlp::encode(value));
            trie.update(slot, v)?;
        }
        let (root, writes) = trie.commit();
        for (path, node) in writes {
            // After a wipe, deletes of old paths are covered by the wipe itself.
            if storage.wiped && node.is_none() {
                continue;
            }
            updates.storage_nodes.insert((*owner, path), node);
        }
        new_storage_roots.insert(*owner, root);
    }

    let keys: BTreeSet<&B256> = state.accounts.keys().chain(state.storages.keys()).collect();
    for key in keys {
        match state.accounts.get(key) {
            Some(None) => {
                updates.wiped_storages.insert(*key);
                accounts.update(key, None)?;
            }
            info => {
                let old = accounts.get(key)?.map(|leaf| decode_account(key, &leaf)).transpose()?;
                let storage_root = new_storage_roots
                    .get(key)
                    .copied()
                    .or(old.map(|a| a.storage_root))
                    .unwrap_or(EMPTY_ROOT_HASH);
                let new = match (info, old) {
                    (Some(Some(a)), _) => TrieAccount {
                        nonce: a.nonce,
                        balance: a.balance,
                        storage_root,
                        code_hash: a.code_hash,
                    },
                    (_, Some(o)) => TrieAccount { storage_root, ..o },
                    // Storage changes for an account that does not exist and is not created:
                    // nothing to commit to (cannot happen with a consistent executor).
                    (_, None) => continue,
                };
                accounts.update(key, Some(alloy_rlp::encode(new)))?;
            }
        }
    }
    let (root, writes) = accounts.commit();
    updates.account_nodes = writes;
    Ok((root, updates))
}

/// The root currently stored (`EMPTY_ROOT_HASH` for an empty store).
pub fn stored_root<S: TrieStore>(store: &S) -> Result<B256, TrieError> {
    Ok(PartialTrie::open(store, None, false)?.commit().0)
}

/// The stored storage root of an account (`EMPTY_ROOT_HASH` if absent).
pub fn storage_root<S: TrieStore>(store: &S, hashed_address: B256) -> Result<B256, TrieError> {
    let mut accounts = PartialTrie::open(store, None, false)?;
    Ok(match accounts.get(&hashed_address)? {
        Some(leaf) => decode_account(&hashed_address, &leaf)?.storage_root,
        None => EMPTY_ROOT_HASH,
    })
}
