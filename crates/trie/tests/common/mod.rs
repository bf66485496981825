//! Test helpers shared by the integration tests: a from-scratch model of the state (roots by
//! alloy-trie's `HashBuilder`), random batches, and a walk of the stored tries.

#![allow(dead_code, unreachable_pub)]

use alloy_primitives::{B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount};
use bttc_trie::{
    HashedAccount, HashedPostState, HashedStorage, MemTrieStore, TrieStore, state_root, stored_root,
};
use rand::{Rng, rngs::StdRng};
use std::collections::{BTreeMap, BTreeSet};

/// The expected state: every account with its full storage.
#[derive(Default, Clone)]
pub struct Model {
    /// Hashed address → (account, hashed slot → value).
    pub accounts: BTreeMap<B256, (HashedAccount, BTreeMap<B256, U256>)>,
}

/// Root of a trie by `HashBuilder` over sorted (key, value) pairs.
pub fn root_of(leaves: impl IntoIterator<Item = (B256, Vec<u8>)>) -> B256 {
    let mut hb = HashBuilder::default();
    let mut any = false;
    for (k, v) in leaves {
        hb.add_leaf(Nibbles::unpack(k), &v);
        any = true;
    }
    if any { hb.root() } else { EMPTY_ROOT_HASH }
}

/// Storage root of a slot map.
pub fn storage_root_of(slots: &BTreeMap<B256, U256>) -> B256 {
    root_of(slots.iter().map(|(k, v)| (*k, alloy_rlp::encode(v))))
}

impl Model {
    /// The state root, from scratch.
    pub fn root(&self) -> B256 {
        root_of(self.accounts.iter().map(|(k, (a, s))| {
            let acc = TrieAccount {
                nonce: a.nonce,
                balance: a.balance,
                storage_root: storage_root_of(s),
                code_hash: a.code_hash,
            };
            (*k, alloy_rlp::encode(acc))
        }))
    }

    /// Applies a batch with the crate's documented semantics.
    pub fn apply(&mut self, state: &HashedPostState) {
        for (k, s) in &state.storages {
            if let Some((_, slots)) = self.accounts.get_mut(k) {
                if s.wiped {
                    slots.clear();
                }
                for (slot, v) in &s.slots {
                    if v.is_zero() {
                        slots.remove(slot);
                    } else {
                        slots.insert(*slot, *v);
                    }
                }
            } else if let Some(Some(a)) = state.accounts.get(k) {
                let slots =
                    s.slots.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (*k, *v)).collect();
                self.accounts.insert(*k, (*a, slots));
            }
        }
        for (k, a) in &state.accounts {
            match a {
                None => {
                    self.accounts.remove(k);
                }
                Some(a) => {
                    self.accounts.entry(*k).or_insert_with(|| (*a, BTreeMap::new())).0 = *a;
                }
            }
        }
    }
}

/// Reachable storage-trie paths.
pub type StoragePaths = BTreeSet<(B256, Vec<u8>)>;

/// Walks the stored tries from their roots and returns every reachable path.
pub fn reachable(store: &MemTrieStore) -> (BTreeSet<Vec<u8>>, StoragePaths) {
    let mut acc = BTreeSet::new();
    let mut st = BTreeSet::new();
    let owners: BTreeSet<B256> = store.storages.keys().copied().collect();
    walk(&|p| store.account_node(p).unwrap(), &mut Vec::new(), &mut |p| {
        acc.insert(p.to_vec());
    });
    for o in owners {
        walk(&|p| store.storage_node(&o, p).unwrap(), &mut Vec::new(), &mut |p| {
            st.insert((o, p.to_vec()));
        });
    }
    (acc, st)
}

/// Depth-first walk of one stored trie, reading the documented node format.
pub fn walk(
    get: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
    path: &mut Vec<u8>,
    seen: &mut dyn FnMut(&[u8]),
) {
    let Some(node) = get(path) else { return };
    seen(path);
    match node[0] {
        0 => {}
        1 => {
            let len = node[1] as usize;
            let key = node[2..2 + len].to_vec();
            path.extend_from_slice(&key);
            walk(get, path, seen);
            path.truncate(path.len() - len);
        }
        2 => {
            let mask = u16::from_be_bytes([node[1], node[2]]);
            for i in 0..16u8 {
                if mask & (1 << i) != 0 {
                    path.push(i);
                    walk(get, path, seen);
                    path.pop();
                }
            }
        }
        t => panic!("unknown tag {t}"),
    }
}

/// The store holds exactly the nodes reachable from its roots.
pub fn assert_no_garbage(store: &MemTrieStore) {
    let (acc, st) = reachable(store);
    let stored_acc: BTreeSet<Vec<u8>> = store.accounts.keys().cloned().collect();
    assert_eq!(acc, stored_acc, "account trie holds unreachable nodes");
    let stored_st: BTreeSet<(B256, Vec<u8>)> =
        store.storage_keys().map(|(o, p)| (o, p.to_vec())).collect();
    assert_eq!(st, stored_st, "storage tries hold unreachable nodes");
}

/// How random keys are drawn.
#[derive(Clone, Copy, Debug)]
pub enum Keys {
    /// Uniform 32-byte keys.
    Uniform,
    /// Keys that share their first 30 bytes (60 nibbles) and vary in a few low nibbles, so
    /// the trie is deep and its leaves are tiny (inline nodes), with many collapses.
    Clustered,
}

/// A fresh random key.
pub fn fresh_key(rng: &mut StdRng, keys: Keys) -> B256 {
    match keys {
        Keys::Uniform => B256::from(rng.random::<[u8; 32]>()),
        Keys::Clustered => {
            let mut k = B256::repeat_byte(0x3c);
            k.0[30] = rng.random_range(0..3u8) * 0x11;
            k.0[31] = rng.random_range(0..64u8) | (rng.random_range(0..2u8) << 7);
            k
        }
    }
}

/// An existing key half of the time, else a fresh one.
pub fn key(rng: &mut StdRng, pool: &[B256], keys: Keys) -> B256 {
    if !pool.is_empty() && rng.random_bool(0.5) {
        pool[rng.random_range(0..pool.len())]
    } else {
        fresh_key(rng, keys)
    }
}

/// A random batch of account and storage changes over `model`.
pub fn random_batch(rng: &mut StdRng, model: &Model, size: usize, keys: Keys) -> HashedPostState {
    let existing: Vec<B256> = model.accounts.keys().copied().collect();
    let mut state = HashedPostState::default();
    for _ in 0..size {
        let k = key(rng, &existing, keys);
        let roll = rng.random_range(0..10);
        if roll == 0 && model.accounts.contains_key(&k) {
            state.accounts.insert(k, None);
            state.storages.remove(&k);
            continue;
        }
        let acc = HashedAccount {
            nonce: rng.random_range(0..4),
            balance: U256::from(rng.random_range(0..1000u64)),
            code_hash: keccak256([rng.random_range(0..3u8)]),
        };
        // Storage-only change of an existing account (its other fields stay as stored).
        let storage_only = roll == 9 && model.accounts.contains_key(&k);
        if !storage_only {
            state.accounts.insert(k, Some(acc));
        }
        if roll < 6 || storage_only {
            let slot_pool: Vec<B256> = model
                .accounts
                .get(&k)
                .map(|(_, s)| s.keys().copied().collect())
                .unwrap_or_default();
            let mut st =
                HashedStorage { wiped: roll == 1 && rng.random_bool(0.5), ..Default::default() };
            for _ in 0..rng.random_range(1..8) {
                let v = if rng.random_bool(0.3) {
                    U256::ZERO
                } else {
                    U256::from(rng.random_range(1..5u64))
                };
                st.slots.insert(key(rng, &slot_pool, keys), v);
            }
            state.storages.insert(k, st);
        }
    }
    state
}

/// Runs one batch through `state_root` + `apply` and checks the root against the model, the
/// stored root, and that no garbage is left. Returns the updates.
pub fn step(
    store: &mut MemTrieStore,
    model: &mut Model,
    state: &HashedPostState,
    what: &str,
) -> bttc_trie::TrieUpdates {
    let (root, updates) = state_root(&*store, state).unwrap();
    store.apply(&updates);
    model.apply(state);
    assert_eq!(root, model.root(), "{what}: root differs from HashBuilder");
    assert_eq!(stored_root(&*store).unwrap(), root, "{what}: stored root");
    assert_no_garbage(store);
    updates
}

/// A simple account.
pub fn acct(n: u64) -> HashedAccount {
    HashedAccount { nonce: n, balance: U256::from(n), code_hash: keccak256([]) }
}

/// Storage changes from (slot, value) pairs.
pub fn slots(wiped: bool, pairs: &[(B256, u64)]) -> HashedStorage {
    HashedStorage { wiped, slots: pairs.iter().map(|(k, v)| (*k, U256::from(*v))).collect() }
}
