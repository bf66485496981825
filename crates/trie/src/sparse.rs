//! The partial in-memory trie: the update algorithm.
//!
//! A [`PartialTrie`] starts as the stored root node with its children as stubs (references
//! only). Reads and updates resolve stubs on their way down, loading each node at most once;
//! [`PartialTrie::commit`] re-encodes what was loaded or created, and emits deletions for
//! loaded paths that no longer hold a node (a collapsed branch's sibling that moved up, a
//! removed leaf, ...). Subtrees that were never loaded keep their paths, so they stay valid.

use crate::{
    EMPTY_ROOT_HASH, TrieError, TrieStore,
    nibbles::{common_prefix, path_hex, unpack},
    node::{
        Node, NodeRef, decode_stored, empty_children, rlp_branch, rlp_ext, rlp_leaf, store_branch,
        store_ext, store_leaf,
    },
};
use alloy_primitives::B256;
use std::collections::{BTreeMap, btree_map::Entry};

/// Node writes of one trie: path → `Some(stored node)` or `None` (delete).
pub(crate) type NodeWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// One trie (the account trie or one storage trie) partially loaded from a store.
pub(crate) struct PartialTrie<'s, S: TrieStore> {
    store: &'s S,
    owner: Option<B256>,
    root: Node,
    /// Paths and stored bytes of the nodes loaded from the store (each at most once: a
    /// loaded node replaces its stub).
    loaded: Vec<(Vec<u8>, Vec<u8>)>,
}

impl<'s, S: TrieStore> PartialTrie<'s, S> {
    /// Opens the trie at its stored root, or empty.
    pub(crate) fn open(store: &'s S, owner: Option<B256>, empty: bool) -> Result<Self, TrieError> {
        let mut t = Self { store, owner, root: Node::Empty, loaded: Vec::new() };
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
        let node = decode_stored(&bytes, path.len()).map_err(|reason| TrieError::Corrupt {
            path: path_hex(path),
            owner: self.owner_str(),
            reason,
        })?;
        self.loaded.push((path.to_vec(), bytes));
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

    /// Number of nodes loaded from the store so far.
    pub(crate) fn loads(&self) -> usize {
        self.loaded.len()
    }

    /// Encodes, stores and hashes every loaded or new node; returns the root hash and
    /// `path → Some(node) | None` writes (unchanged loaded nodes are not rewritten).
    pub(crate) fn commit(mut self) -> (B256, NodeWrites) {
        let mut writes = BTreeMap::new();
        let root = std::mem::replace(&mut self.root, Node::Empty);
        let hash = match Self::commit_node(root, &mut Vec::with_capacity(64), &mut writes) {
            None => EMPTY_ROOT_HASH,
            Some(r) => r.hash(),
        };
        for (path, old) in std::mem::take(&mut self.loaded) {
            match writes.entry(path) {
                // Gone from this path: delete it.
                Entry::Vacant(e) => {
                    e.insert(None);
                }
                // Re-encoded to the same bytes: nothing to write.
                Entry::Occupied(e) if e.get().as_deref() == Some(old.as_slice()) => {
                    e.remove();
                }
                Entry::Occupied(_) => {}
            }
        }
        (hash, writes)
    }

    /// Returns the reference to the committed node.
    fn commit_node(node: Node, path: &mut Vec<u8>, writes: &mut NodeWrites) -> Option<NodeRef> {
        let (stored, rlp) = match node {
            Node::Empty => return None,
            Node::Stub(r) => return Some(r),
            Node::Leaf(k, v) => (store_leaf(&k, &v), rlp_leaf(&k, &v)),
            Node::Ext(k, child) => {
                let n = k.len();
                path.extend_from_slice(&k);
                let cref = Self::commit_node(*child, path, writes)?;
                path.truncate(path.len() - n);
                (store_ext(&k, &cref), rlp_ext(&k, &cref))
            }
            Node::Branch(children) => {
                let mut refs = [None; 16];
                for (i, child) in children.into_iter().enumerate() {
                    path.push(i as u8);
                    refs[i] = Self::commit_node(child, path, writes);
                    path.pop();
                }
                (store_branch(&refs), rlp_branch(&refs))
            }
        };
        writes.insert(path.clone(), Some(stored));
        Some(NodeRef::of_rlp(&rlp))
    }
}
