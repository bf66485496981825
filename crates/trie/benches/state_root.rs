//! State-root time for one block's worth of changes (200 accounts, 4 slots each) on top of
//! a state of 10k accounts and of 1M accounts. Incremental means the two are close.
//!
//! `cargo bench -p bttc-trie --bench state_root`

#![allow(missing_docs)]

use alloy_primitives::{B256, U256, keccak256};
use bttc_trie::{
    HashedAccount, HashedPostState, HashedStorage, MemTrieStore, state_root, state_root_parallel,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn account(i: u64) -> HashedAccount {
    HashedAccount { nonce: i % 7, balance: U256::from(i * 1_000_003), code_hash: keccak256([]) }
}

fn key(i: u64) -> B256 {
    keccak256(i.to_be_bytes())
}

/// A store holding `n` accounts, each 10th with 4 storage slots.
fn populated(n: u64) -> MemTrieStore {
    let mut store = MemTrieStore::default();
    let chunk = 50_000;
    let mut start = 0;
    while start < n {
        let end = (start + chunk).min(n);
        let mut state = HashedPostState::default();
        for i in start..end {
            state.accounts.insert(key(i), Some(account(i)));
            if i % 10 == 0 {
                let slots = (0..4u64).map(|s| (key(i * 31 + s), U256::from(s + 1))).collect();
                state.storages.insert(key(i), HashedStorage { wiped: false, slots });
            }
        }
        let (_, updates) = state_root(&store, &state).expect("root");
        store.apply(&updates);
        start = end;
    }
    store
}

/// One block: 200 existing accounts change balance, 4 slots each change.
fn block(n: u64, round: u64) -> HashedPostState {
    let mut state = HashedPostState::default();
    for j in 0..200u64 {
        let i = (j * 7919 + round * 104_729) % n;
        state.accounts.insert(key(i), Some(account(i + round + 1)));
        let slots = (0..4u64).map(|s| (key(i * 31 + s), U256::from(round + s + 2))).collect();
        state.storages.insert(key(i), HashedStorage { wiped: false, slots });
    }
    state
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_root_200_accounts");
    group.sample_size(20);
    for n in [10_000u64, 1_000_000] {
        let started = std::time::Instant::now();
        let store = populated(n);
        eprintln!("{n} accounts: {} nodes stored in {:?}", store.len(), started.elapsed());
        let mut round = 0;
        group.bench_function(format!("{n}_accounts"), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    block(n, round)
                },
                |state| state_root(&store, &state).expect("root"),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("{n}_accounts_2_threads"), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    block(n, round)
                },
                |state| state_root_parallel(&store, &state, 2).expect("root"),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
