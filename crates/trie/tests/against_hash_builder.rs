//! The incremental trie against alloy-trie's from-scratch `HashBuilder`, over random
//! batches of inserts, updates and deletes, with checks that no stale node is left behind.

use alloy_primitives::{B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount, proof::verify_proof};
use bttc_trie::{
    HashedAccount, HashedPostState, HashedStorage, MemTrieStore, TrieStore, account_proof,
    state_root, storage_proof, storage_root, stored_root,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default, Clone)]
struct Model {
    accounts: BTreeMap<B256, (HashedAccount, BTreeMap<B256, U256>)>,
}

fn root_of(leaves: impl IntoIterator<Item = (B256, Vec<u8>)>) -> B256 {
    let mut hb = HashBuilder::default();
    let mut any = false;
    for (k, v) in leaves {
        hb.add_leaf(Nibbles::unpack(k), &v);
        any = true;
    }
    if any { hb.root() } else { EMPTY_ROOT_HASH }
}

fn storage_root_of(slots: &BTreeMap<B256, U256>) -> B256 {
    root_of(slots.iter().map(|(k, v)| (*k, alloy_rlp::encode(v))))
}

impl Model {
    fn root(&self) -> B256 {
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

    fn apply(&mut self, state: &HashedPostState) {
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

/// Walks the stored tries from their roots and returns every reachable path.
type StoragePaths = BTreeSet<(B256, Vec<u8>)>;

fn reachable(store: &MemTrieStore) -> (BTreeSet<Vec<u8>>, StoragePaths) {
    let mut acc = BTreeSet::new();
    let mut st = BTreeSet::new();
    let owners: BTreeSet<B256> = store.storages.keys().map(|(o, _)| *o).collect();
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

fn walk(get: &dyn Fn(&[u8]) -> Option<Vec<u8>>, path: &mut Vec<u8>, seen: &mut dyn FnMut(&[u8])) {
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

fn assert_no_garbage(store: &MemTrieStore) {
    let (acc, st) = reachable(store);
    let stored_acc: BTreeSet<Vec<u8>> = store.accounts.keys().cloned().collect();
    assert_eq!(acc, stored_acc, "account trie holds unreachable nodes");
    let stored_st: BTreeSet<(B256, Vec<u8>)> = store.storages.keys().cloned().collect();
    assert_eq!(st, stored_st, "storage tries hold unreachable nodes");
}

fn key(rng: &mut StdRng, pool: &[B256]) -> B256 {
    if !pool.is_empty() && rng.random_bool(0.5) {
        pool[rng.random_range(0..pool.len())]
    } else {
        B256::from(rng.random::<[u8; 32]>())
    }
}

fn random_batch(rng: &mut StdRng, model: &Model, size: usize) -> HashedPostState {
    let existing: Vec<B256> = model.accounts.keys().copied().collect();
    let mut state = HashedPostState::default();
    for _ in 0..size {
        let k = key(rng, &existing);
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
        state.accounts.insert(k, Some(acc));
        if roll < 6 {
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
                st.slots.insert(key(rng, &slot_pool), v);
            }
            state.storages.insert(k, st);
        }
    }
    state
}

#[test]
fn random_batches_match_hash_builder_and_leave_no_garbage() {
    for seed in 0..12u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut store = MemTrieStore::default();
        let mut model = Model::default();
        for round in 0..25 {
            let size = 1 + rng.random_range(0..30);
            let state = random_batch(&mut rng, &model, size);
            let (root, updates) = state_root(&store, &state).unwrap();
            store.apply(&updates);
            model.apply(&state);
            assert_eq!(root, model.root(), "seed {seed} round {round}");
            assert_eq!(stored_root(&store).unwrap(), root);
            assert_no_garbage(&store);
        }
        // Delete everything: back to the empty trie and an empty store.
        let mut state = HashedPostState::default();
        for k in model.accounts.keys() {
            state.accounts.insert(*k, None);
        }
        let (root, updates) = state_root(&store, &state).unwrap();
        store.apply(&updates);
        assert_eq!(root, EMPTY_ROOT_HASH);
        assert!(
            store.is_empty(),
            "store not empty after deleting everything: {} nodes",
            store.len()
        );
    }
}

fn acct(n: u64) -> HashedAccount {
    HashedAccount { nonce: n, balance: U256::from(n), code_hash: keccak256([]) }
}

#[test]
fn edge_cases_shared_prefixes_inline_nodes_and_collapse() {
    let mut store = MemTrieStore::default();
    let mut model = Model::default();
    // Keys sharing 62 nibbles, and storage with tiny values (inline nodes).
    let base = B256::repeat_byte(0xab);
    let near = |last: u8| {
        let mut b = base;
        b.0[31] = last;
        b
    };
    let mut state = HashedPostState::default();
    for i in 0..5u8 {
        state.accounts.insert(near(i), Some(acct(u64::from(i) + 1)));
    }
    let mut st = HashedStorage::default();
    for i in 0..6u8 {
        st.slots.insert(near(i), U256::from(1));
    }
    state.storages.insert(near(0), st);
    let (root, u) = state_root(&store, &state).unwrap();
    store.apply(&u);
    model.apply(&state);
    assert_eq!(root, model.root());
    assert_eq!(
        storage_root(&store, near(0)).unwrap(),
        storage_root_of(&model.accounts[&near(0)].1)
    );

    // Delete down to one key: branches collapse into a leaf at the root.
    let mut state = HashedPostState::default();
    for i in 1..5u8 {
        state.accounts.insert(near(i), None);
    }
    let mut st = HashedStorage::default();
    for i in 1..6u8 {
        st.slots.insert(near(i), U256::ZERO);
    }
    state.storages.insert(near(0), st);
    let (root, u) = state_root(&store, &state).unwrap();
    store.apply(&u);
    model.apply(&state);
    assert_eq!(root, model.root());
    assert_eq!(store.accounts.len(), 1, "a single account is a single leaf at the root");
    assert_no_garbage(&store);

    // Storage-only change of an existing account keeps its other fields.
    let mut state = HashedPostState::default();
    state
        .storages
        .insert(near(0), HashedStorage { wiped: false, slots: [(near(9), U256::from(7))].into() });
    let (root, u) = state_root(&store, &state).unwrap();
    store.apply(&u);
    model.accounts.get_mut(&near(0)).unwrap().1.insert(near(9), U256::from(7));
    assert_eq!(root, model.root());
}

#[test]
fn proofs_verify_for_present_and_absent_keys() {
    let mut rng = StdRng::seed_from_u64(99);
    let mut store = MemTrieStore::default();
    let mut model = Model::default();
    for _ in 0..5 {
        let state = random_batch(&mut rng, &model, 40);
        let (_, u) = state_root(&store, &state).unwrap();
        store.apply(&u);
        model.apply(&state);
    }
    let root = model.root();
    for (k, (a, slots)) in model.accounts.iter().take(20) {
        let proof = account_proof(&store, *k).unwrap();
        let sroot = storage_root_of(slots);
        let leaf = alloy_rlp::encode(TrieAccount {
            nonce: a.nonce,
            balance: a.balance,
            storage_root: sroot,
            code_hash: a.code_hash,
        });
        verify_proof(root, Nibbles::unpack(k), Some(leaf), &proof).unwrap();
        for (s, v) in slots.iter().take(3) {
            let p = storage_proof(&store, *k, *s).unwrap();
            verify_proof(sroot, Nibbles::unpack(s), Some(alloy_rlp::encode(v)), &p).unwrap();
        }
        let absent = B256::repeat_byte(0x5a);
        if !slots.contains_key(&absent) {
            let p = storage_proof(&store, *k, absent).unwrap();
            verify_proof(sroot, Nibbles::unpack(absent), None, &p).unwrap();
        }
    }
    let absent = B256::repeat_byte(0x77);
    let proof = account_proof(&store, absent).unwrap();
    verify_proof(root, Nibbles::unpack(absent), None, &proof).unwrap();
    assert!(account_proof(&MemTrieStore::default(), absent).unwrap().is_empty());
}

#[test]
fn corrupt_and_missing_nodes_are_reported_not_panicked() {
    let mut store = MemTrieStore::default();
    let mut state = HashedPostState::default();
    for i in 0..40u8 {
        state.accounts.insert(keccak256([i]), Some(acct(1)));
    }
    let (_, u) = state_root(&store, &state).unwrap();
    store.apply(&u);
    let mut broken = store.clone();
    broken.accounts.insert(Vec::new(), vec![0x09, 0x01]);
    let err = state_root(&broken, &state).unwrap_err();
    assert!(err.to_string().contains("corrupt trie node at path <root>"), "{err}");
    let mut missing = store.clone();
    let child = missing.accounts.keys().find(|k| k.len() == 1).unwrap().clone();
    missing.accounts.remove(&child);
    let mut one = HashedPostState::default();
    for i in 0..40u8 {
        one.accounts.insert(keccak256([i]), Some(acct(2)));
    }
    let err = state_root(&missing, &one).unwrap_err();
    assert!(err.to_string().contains("missing trie node"), "{err}");
}
