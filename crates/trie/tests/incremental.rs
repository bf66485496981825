//! Edge cases of the incremental update (empty trie, single key, deep shared prefixes,
//! collapses, wipes, deletes and re-creations), a known vector, and a check that an update
//! only reads the nodes on the touched paths.

mod common;

use alloy_primitives::{B256, U256, address, b256, bytes, keccak256};
use alloy_trie::EMPTY_ROOT_HASH;
use bttc_trie::{
    HashedAccount, HashedPostState, MemTrieStore, TrieError, TrieStore, account_proof, state_root,
    storage_proof, storage_root, stored_account, stored_root,
};
use common::{Model, acct, assert_no_garbage, slots, step, storage_root_of};
use std::{cell::RefCell, collections::BTreeSet};

fn with_last_nibbles(prefix_byte: u8, tail: &[u8]) -> B256 {
    let mut k = B256::repeat_byte(prefix_byte);
    let n = tail.len();
    for (i, nib) in tail.iter().enumerate() {
        let pos = 64 - n + i;
        let byte = &mut k.0[pos / 2];
        if pos.is_multiple_of(2) {
            *byte = (*byte & 0x0f) | (nib << 4);
        } else {
            *byte = (*byte & 0xf0) | nib;
        }
    }
    k
}

fn key_from_nibbles(nibbles: &[u8]) -> B256 {
    let mut k = B256::ZERO;
    for (i, n) in nibbles.iter().enumerate() {
        k.0[i / 2] |= if i.is_multiple_of(2) { n << 4 } else { *n };
    }
    k
}

#[test]
fn empty_store_and_empty_batch() {
    let store = MemTrieStore::default();
    let (root, updates) = state_root(&store, &HashedPostState::default()).unwrap();
    assert_eq!(root, EMPTY_ROOT_HASH);
    assert_eq!(
        root,
        b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"),
        "the empty root is keccak256(rlp(\"\"))"
    );
    assert!(updates.is_empty());
    assert_eq!(stored_root(&store).unwrap(), EMPTY_ROOT_HASH);
    assert_eq!(storage_root(&store, B256::ZERO).unwrap(), EMPTY_ROOT_HASH);
    assert_eq!(stored_account(&store, B256::ZERO).unwrap(), None);
    assert!(storage_proof(&store, B256::ZERO, B256::ZERO).unwrap().is_empty());
}

#[test]
fn single_key_is_one_leaf_at_the_root_and_deletes_to_empty() {
    let mut store = MemTrieStore::default();
    let mut model = Model::default();
    let k = keccak256([1]);
    let mut state = HashedPostState::default();
    state.accounts.insert(k, Some(acct(7)));
    state.storages.insert(k, slots(false, &[(keccak256([2]), 3)]));
    step(&mut store, &mut model, &state, "insert one");
    assert_eq!(store.accounts.keys().collect::<Vec<_>>(), vec![&Vec::<u8>::new()]);
    assert_eq!(store.storage_len(&k), 1);
    assert_eq!(stored_account(&store, k).unwrap().unwrap().nonce, 7);

    // Deleting the only slot empties the storage trie but keeps the account.
    let mut state = HashedPostState::default();
    state.storages.insert(k, slots(false, &[(keccak256([2]), 0)]));
    step(&mut store, &mut model, &state, "delete only slot");
    assert!(store.storages.is_empty());
    assert_eq!(storage_root(&store, k).unwrap(), EMPTY_ROOT_HASH);

    let mut state = HashedPostState::default();
    state.accounts.insert(k, None);
    let updates = step(&mut store, &mut model, &state, "delete only account");
    assert!(store.is_empty());
    assert_eq!(updates.account_nodes.get(&Vec::new()), Some(&None));
    assert_eq!(stored_root(&store).unwrap(), EMPTY_ROOT_HASH);
}

/// Genesis of an execution-spec test (`futureUncleTimestamp3_Cancun`): the beacon-roots
/// contract with one storage slot, and one EOA. Its state root is in the test's genesis
/// header.
#[test]
fn known_genesis_state_root() {
    let beacon = address!("000f3df6d732807ef1319fb7b8bb8522d0beac02");
    let code = bytes!(
        "3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500"
    );
    let eoa = address!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b");
    let mut state = HashedPostState::default();
    state.accounts.insert(
        keccak256(beacon),
        Some(HashedAccount { nonce: 1, balance: U256::ZERO, code_hash: keccak256(&code) }),
    );
    state
        .storages
        .insert(keccak256(beacon), slots(false, &[(keccak256(B256::with_last_byte(1)), 1)]));
    state.accounts.insert(
        keccak256(eoa),
        Some(HashedAccount {
            nonce: 0,
            balance: U256::from(0x09184e72a000u64),
            code_hash: keccak256([]),
        }),
    );
    let (root, updates) = state_root(&MemTrieStore::default(), &state).unwrap();
    assert_eq!(root, b256!("09152ff7033505ff40368a70a03924b36ee83e26a3712d1cf11650eb06b91456"));
    let mut store = MemTrieStore::default();
    store.apply(&updates);
    assert_eq!(stored_root(&store).unwrap(), root);
}

#[test]
fn deep_shared_prefixes_and_inline_leaves() {
    let mut store = MemTrieStore::default();
    let mut model = Model::default();
    let owner = keccak256([9]);
    // Slots differing only in the last 1..=3 nibbles: leaves with 0..2 key nibbles left are
    // far below 32 bytes, so they are inlined into their parent's RLP (but stored by path).
    let tails: Vec<Vec<u8>> =
        vec![vec![0], vec![1], vec![2, 0], vec![2, 1], vec![3, 4, 5], vec![3, 4, 6], vec![3, 7, 0]];
    let keys: Vec<B256> = tails.iter().map(|t| with_last_nibbles(0xee, t)).collect();
    let mut state = HashedPostState::default();
    state.accounts.insert(owner, Some(acct(1)));
    state.storages.insert(owner, slots(false, &keys.iter().map(|k| (*k, 1)).collect::<Vec<_>>()));
    // Accounts sharing 63 nibbles, too.
    for i in 0..4u8 {
        state.accounts.insert(with_last_nibbles(0x11, &[i]), Some(acct(u64::from(i) + 2)));
    }
    step(&mut store, &mut model, &state, "deep insert");
    let deepest = store.storage_keys().map(|(_, p)| p.len()).max().unwrap();
    assert_eq!(deepest, 64, "a leaf with an empty key sits at depth 64");
    // Remove the keys one by one: every collapse must match the model and leave no garbage.
    for (i, k) in keys.iter().enumerate() {
        let mut state = HashedPostState::default();
        state.storages.insert(owner, slots(false, &[(*k, 0)]));
        step(&mut store, &mut model, &state, &format!("deep delete {i}"));
    }
    assert_eq!(storage_root(&store, owner).unwrap(), EMPTY_ROOT_HASH);
    for i in 0..4u8 {
        let mut state = HashedPostState::default();
        state.accounts.insert(with_last_nibbles(0x11, &[i]), None);
        step(&mut store, &mut model, &state, &format!("account delete {i}"));
    }
    assert_eq!(store.accounts.len(), 1, "only the owner's leaf is left, at the root");
}

#[test]
fn branch_collapses_into_extension_or_moves_sibling_up() {
    let k = |first: &[u8]| {
        let mut z = [0u8; 64];
        z[..first.len()].copy_from_slice(first);
        key_from_nibbles(&z)
    };
    let (a, b, c) = (k(&[1]), k(&[2, 0]), k(&[2, 1]));
    let (d, e) = (k(&[3, 0xa, 5]), k(&[3, 0xa, 6]));

    // Root branch {1: leaf a, 2: branch {b, c}}: deleting a leaves the sibling branch at [2]
    // where it is, behind a new extension at the root.
    let mut store = MemTrieStore::default();
    let mut model = Model::default();
    let mut state = HashedPostState::default();
    for x in [a, b, c] {
        state.accounts.insert(x, Some(acct(1)));
    }
    step(&mut store, &mut model, &state, "build 1");
    let branch_at_2 = store.accounts[&vec![2]].clone();
    let mut state = HashedPostState::default();
    state.accounts.insert(a, None);
    let updates = step(&mut store, &mut model, &state, "collapse into extension");
    assert_eq!(store.accounts[&Vec::new()][0], 0x01, "root is now an extension");
    assert_eq!(store.accounts[&vec![2]], branch_at_2, "sibling branch stays at its path");
    assert!(!updates.account_nodes.contains_key(&vec![2]), "and is not rewritten");
    assert_eq!(updates.account_nodes.get(&vec![1]), Some(&None));

    // Root branch {1: leaf a, 3: extension [a] -> branch {d, e}}: deleting a merges the
    // extension up to the root ([3, a]) and deletes it at [3]; the branch stays at [3, a].
    let mut store = MemTrieStore::default();
    let mut model = Model::default();
    let mut state = HashedPostState::default();
    for x in [a, d, e] {
        state.accounts.insert(x, Some(acct(2)));
    }
    step(&mut store, &mut model, &state, "build 2");
    assert_eq!(store.accounts[&vec![3]][0], 0x01, "extension at [3]");
    let mut state = HashedPostState::default();
    state.accounts.insert(a, None);
    let updates = step(&mut store, &mut model, &state, "merge extension up");
    assert_eq!(updates.account_nodes.get(&vec![3]), Some(&None), "old extension path deleted");
    assert!(store.accounts.contains_key(&vec![3, 0xa]));
    assert!(!updates.account_nodes.contains_key(&vec![3, 0xa]), "branch below not rewritten");

    // Root branch {2: branch {b, c}, 3: ...}: deleting c makes [2] a single-child branch
    // that turns into the leaf b moved up from [2, 0] to [2].
    let mut state = HashedPostState::default();
    for x in [b, c] {
        state.accounts.insert(x, Some(acct(3)));
    }
    step(&mut store, &mut model, &state, "build 3");
    let mut state = HashedPostState::default();
    state.accounts.insert(c, None);
    let updates = step(&mut store, &mut model, &state, "leaf moves up");
    assert_eq!(updates.account_nodes.get(&vec![2, 0]), Some(&None));
    assert_eq!(store.accounts[&vec![2]][0], 0x00, "leaf b now at [2]");
}

#[test]
fn wipes_deletes_and_recreations() {
    let mut store = MemTrieStore::default();
    let mut model = Model::default();
    let (x, y) = (keccak256([1]), keccak256([2]));
    let many: Vec<(B256, u64)> =
        (0..50u8).map(|i| (keccak256([100, i]), u64::from(i) + 1)).collect();
    let mut state = HashedPostState::default();
    state.accounts.insert(x, Some(acct(1)));
    state.accounts.insert(y, Some(acct(2)));
    state.storages.insert(x, slots(false, &many));
    state.storages.insert(y, slots(false, &many[..5]));
    step(&mut store, &mut model, &state, "build");

    // Wipe x's storage and write two new slots in the same batch.
    let mut state = HashedPostState::default();
    state.accounts.insert(x, Some(acct(5)));
    state.storages.insert(x, slots(true, &[(keccak256([7]), 7), (many[0].0, 9)]));
    let updates = step(&mut store, &mut model, &state, "wipe and rewrite");
    assert!(updates.wiped_storages.contains(&x));
    assert!(
        updates.storage_nodes.keys().all(|(o, _)| *o == x) && !updates.storage_nodes.is_empty()
    );
    assert_eq!(store.storage_len(&x), 3, "branch + 2 leaves");

    // Destroy y (storage given too: ignored, the whole storage goes).
    let mut state = HashedPostState::default();
    state.accounts.insert(y, None);
    state.storages.insert(y, slots(false, &[(keccak256([8]), 8)]));
    let updates = step(&mut store, &mut model, &state, "destroy");
    assert!(updates.wiped_storages.contains(&y));
    assert_eq!(store.storage_len(&y), 0);
    assert_eq!(storage_root(&store, y).unwrap(), EMPTY_ROOT_HASH);

    // Re-create y with fresh storage.
    let mut state = HashedPostState::default();
    state.accounts.insert(y, Some(acct(9)));
    state.storages.insert(y, slots(true, &[(keccak256([3]), 3)]));
    step(&mut store, &mut model, &state, "recreate");
    assert_eq!(storage_root(&store, y).unwrap(), storage_root_of(&model.accounts[&y].1));

    // Storage changes for an account that neither exists nor is created change nothing.
    let before = stored_root(&store).unwrap();
    let mut state = HashedPostState::default();
    state.storages.insert(keccak256([77]), slots(false, &[(keccak256([1]), 1)]));
    let (root, updates) = state_root(&store, &state).unwrap();
    assert_eq!(root, before);
    assert!(updates.storage_nodes.is_empty());
    store.apply(&updates);
    assert_no_garbage(&store);

    // Writing what is already stored changes nothing and writes nothing.
    let mut state = HashedPostState::default();
    state.accounts.insert(x, Some(acct(5)));
    state.storages.insert(x, slots(false, &[(keccak256([7]), 7)]));
    let updates = step(&mut store, &mut model, &state, "no-op");
    assert!(updates.is_empty(), "no-op batch wrote {updates:?}");

    // Account update without storage keeps its stored storage root.
    let mut state = HashedPostState::default();
    state.accounts.insert(x, Some(acct(6)));
    let updates = step(&mut store, &mut model, &state, "account-only update");
    assert!(updates.storage_nodes.is_empty() && updates.wiped_storages.is_empty());
    assert_eq!(storage_root(&store, x).unwrap(), storage_root_of(&model.accounts[&x].1));
}

/// A store that records every read.
#[derive(Default)]
struct Counting {
    inner: MemTrieStore,
    reads: RefCell<Vec<(Option<B256>, Vec<u8>)>>,
}

impl TrieStore for Counting {
    fn account_node(&self, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        self.reads.borrow_mut().push((None, path.to_vec()));
        self.inner.account_node(path)
    }
    fn storage_node(&self, owner: &B256, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        self.reads.borrow_mut().push((Some(*owner), path.to_vec()));
        self.inner.storage_node(owner, path)
    }
}

#[test]
fn update_reads_only_touched_paths_once() {
    let mut store = Counting::default();
    let mut state = HashedPostState::default();
    for i in 0..20_000u32 {
        let k = keccak256(i.to_be_bytes());
        state.accounts.insert(k, Some(acct(1)));
        if i % 100 == 0 {
            let s: Vec<(B256, u64)> = (0..20u8).map(|j| (keccak256([j]), 5)).collect();
            state.storages.insert(k, slots(false, &s));
        }
    }
    let (_, updates) = state_root(&store, &state).unwrap();
    store.inner.apply(&updates);
    store.reads.borrow_mut().clear();

    // Touch 10 accounts (one with storage) and delete one.
    let mut state = HashedPostState::default();
    for i in 0..10u32 {
        state.accounts.insert(keccak256((i * 1000).to_be_bytes()), Some(acct(2)));
    }
    state.storages.insert(keccak256(0u32.to_be_bytes()), slots(false, &[(keccak256([3]), 0)]));
    state.accounts.insert(keccak256(77u32.to_be_bytes()), None);
    let (root, updates) = state_root(&store, &state).unwrap();
    let reads = store.reads.borrow().clone();
    let distinct: BTreeSet<_> = reads.iter().cloned().collect();
    assert_eq!(distinct.len(), reads.len(), "a node was read twice");
    // 20k accounts: about 4-5 levels; 11 keys, shared upper levels, + a sibling per delete.
    assert!(reads.len() <= 11 * 6 + 8, "{} reads for 11 touched accounts", reads.len());
    assert!(updates.account_nodes.len() <= reads.len() + 4);
    store.inner.apply(&updates);
    assert_eq!(stored_root(&store.inner).unwrap(), root);
    assert_no_garbage(&store.inner);
    assert!(!account_proof(&store.inner, keccak256(0u32.to_be_bytes())).unwrap().is_empty());
}
