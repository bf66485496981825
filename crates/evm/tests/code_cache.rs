//! Contract code read through a shared `CodeCache`, over a real MDBX database in a temp dir.

use alloy_primitives::{B256, Bytes, keccak256};
use bttc_evm::{CodeCache, StateProviderDatabase};
use bttc_storage::{DatabaseEnv, DbOptions, HistoricalState, StateChanges};
use revm::{bytecode::Bytecode, database_interface::DatabaseRef};
use std::sync::Arc;

/// A database holding `codes` (each stored under its hash at block 1).
fn db_with(codes: &[Bytes]) -> (tempfile::TempDir, DatabaseEnv) {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    let rw = db.rw().unwrap();
    let codes = codes.iter().map(|c| (keccak256(c), c.clone())).collect();
    rw.write_state(1, &StateChanges { accounts: vec![], codes }).unwrap();
    rw.commit().unwrap();
    (dir, db)
}

/// Runtime code of `len` bytes: PUSH1 pairs and JUMPDESTs, so the analysis has work to do.
fn code(len: usize, seed: u8) -> Bytes {
    (0..len).map(|i| if i % 3 == 2 { 0x5b } else { 0x60u8.wrapping_add(seed % 2) }).collect()
}

#[test]
fn code_is_read_once_and_then_served_analysed_from_the_cache() {
    let c = code(24_000, 0);
    let (_dir, db) = db_with(std::slice::from_ref(&c));
    let hash = keccak256(&c);
    let cache = Arc::new(CodeCache::default());
    let ro = db.ro().unwrap();

    // Two databases at different blocks share the cache: code is immutable under its hash.
    let at1 = StateProviderDatabase::with_code_cache(HistoricalState::new(&ro, 1), cache.clone());
    let first = at1.code_by_hash_ref(hash).unwrap();
    let at5 = StateProviderDatabase::with_code_cache(HistoricalState::new(&ro, 5), cache.clone());
    let second = at5.code_by_hash_ref(hash).unwrap();

    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries, stats.bytes), (1, 1, 1, c.len()));
    // The same analysed code as an uncached read gives.
    let uncached = StateProviderDatabase::new(HistoricalState::new(&ro, 1));
    let fresh = uncached.code_by_hash_ref(hash).unwrap();
    assert_eq!(first, fresh);
    assert_eq!(second, fresh);
    assert_eq!(second.original_bytes(), c);
    assert!(second.legacy_jump_table().is_some(), "cached code is analysed legacy code");
}

#[test]
fn unknown_code_is_empty_and_not_cached() {
    let (_dir, db) = db_with(&[]);
    let cache = Arc::new(CodeCache::default());
    let ro = db.ro().unwrap();
    let state = StateProviderDatabase::with_code_cache(HistoricalState::new(&ro, 1), cache.clone());
    assert_eq!(state.code_by_hash_ref(B256::repeat_byte(7)).unwrap(), Bytecode::default());
    assert_eq!(state.code_by_hash_ref(B256::repeat_byte(7)).unwrap(), Bytecode::default());
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (0, 2, 0));
}

#[test]
fn the_byte_budget_evicts_the_oldest_code_and_never_holds_oversized_code() {
    let codes: Vec<Bytes> = (0..4).map(|i| code(1000, i)).collect::<Vec<_>>();
    // Distinct contents (and hashes): the seed changes the opcode; append the index too.
    let codes: Vec<Bytes> = codes
        .into_iter()
        .enumerate()
        .map(|(i, c)| [c.as_ref(), &[i as u8]].concat().into())
        .collect();
    let big = code(5000, 0);
    let mut all = codes.clone();
    all.push(big.clone());
    let (_dir, db) = db_with(&all);
    let cache = Arc::new(CodeCache::new(3 * 1001));
    let ro = db.ro().unwrap();
    let state = StateProviderDatabase::with_code_cache(HistoricalState::new(&ro, 1), cache.clone());

    for c in &codes {
        assert_eq!(state.code_by_hash_ref(keccak256(c)).unwrap().original_bytes(), *c);
    }
    let stats = cache.stats();
    assert_eq!((stats.entries, stats.bytes), (3, 3 * 1001), "three of four fit the budget");
    // The oldest was evicted: reading it again misses; the newest hits.
    let misses = stats.misses;
    state.code_by_hash_ref(keccak256(&codes[3])).unwrap();
    assert_eq!(cache.stats().misses, misses);
    state.code_by_hash_ref(keccak256(&codes[0])).unwrap();
    assert_eq!(cache.stats().misses, misses + 1);

    // Larger than the whole budget: served, never kept, and nothing is evicted for it.
    let before = cache.stats();
    assert_eq!(state.code_by_hash_ref(keccak256(&big)).unwrap().original_bytes(), big);
    let after = cache.stats();
    assert_eq!((after.entries, after.bytes), (before.entries, before.bytes));
}
