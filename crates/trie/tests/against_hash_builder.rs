//! The incremental trie against alloy-trie's from-scratch `HashBuilder`, over random
//! batches of inserts, updates and deletes, with checks that no stale node is left behind.

mod common;

use alloy_primitives::{B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, TrieAccount, proof::verify_proof};
use bttc_trie::{
    HashedPostState, HashedStorage, MemTrieStore, account_proof, state_root, state_root_parallel,
    storage_proof, storage_root, stored_root,
};
use common::{Keys, Model, acct, assert_no_garbage, random_batch, storage_root_of};
use rand::{Rng, SeedableRng, rngs::StdRng};
#[test]
fn random_batches_match_hash_builder_and_leave_no_garbage() {
    for seed in 0..16u64 {
        let keys = if seed.is_multiple_of(2) { Keys::Uniform } else { Keys::Clustered };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut store = MemTrieStore::default();
        let mut model = Model::default();
        for round in 0..25 {
            let size = 1 + rng.random_range(0..30);
            let state = random_batch(&mut rng, &model, size, keys);
            let (root, updates) = state_root(&store, &state).unwrap();
            let (proot, pupdates) = state_root_parallel(&store, &state, 3).unwrap();
            assert_eq!(proot, root, "parallel root");
            assert_eq!(pupdates.account_nodes, updates.account_nodes);
            assert_eq!(pupdates.storage_nodes, updates.storage_nodes);
            assert_eq!(pupdates.wiped_storages, updates.wiped_storages);
            store.apply(&updates);
            model.apply(&state);
            assert_eq!(root, model.root(), "seed {seed} round {round} ({keys:?})");
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
    for (seed, keys) in [(99, Keys::Uniform), (98, Keys::Clustered)] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut store = MemTrieStore::default();
        let mut model = Model::default();
        for _ in 0..5 {
            let state = random_batch(&mut rng, &model, 40, keys);
            let (_, u) = state_root(&store, &state).unwrap();
            store.apply(&u);
            model.apply(&state);
        }
        let root = model.root();
        for (k, (a, slots)) in model.accounts.iter().take(30) {
            let proof = account_proof(&store, *k).unwrap();
            let sroot = storage_root_of(slots);
            assert_eq!(storage_root(&store, *k).unwrap(), sroot);
            let leaf = alloy_rlp::encode(TrieAccount {
                nonce: a.nonce,
                balance: a.balance,
                storage_root: sroot,
                code_hash: a.code_hash,
            });
            verify_proof(root, Nibbles::unpack(k), Some(leaf.clone()), &proof).unwrap();
            // A wrong value must not verify.
            let mut wrong = leaf;
            *wrong.last_mut().unwrap() ^= 1;
            assert!(verify_proof(root, Nibbles::unpack(k), Some(wrong), &proof).is_err());
            for (s, v) in slots {
                let p = storage_proof(&store, *k, *s).unwrap();
                verify_proof(sroot, Nibbles::unpack(s), Some(alloy_rlp::encode(v)), &p).unwrap();
            }
            for _ in 0..4 {
                let absent = common::fresh_key(&mut rng, keys);
                if !slots.contains_key(&absent) {
                    let p = storage_proof(&store, *k, absent).unwrap();
                    verify_proof(sroot, Nibbles::unpack(absent), None, &p).unwrap();
                }
            }
        }
        for _ in 0..20 {
            let absent = common::fresh_key(&mut rng, keys);
            if !model.accounts.contains_key(&absent) {
                let proof = account_proof(&store, absent).unwrap();
                verify_proof(root, Nibbles::unpack(absent), None, &proof).unwrap();
            }
        }
    }
    assert!(account_proof(&MemTrieStore::default(), B256::ZERO).unwrap().is_empty());
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
