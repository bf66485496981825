//! One contract-code lookup through `StateProviderDatabase` on a real MDBX database: read
//! and analysed every time (no cache) against served from a shared `CodeCache`, for a
//! token-sized (1.7 KiB) and a maximum-sized (24 KiB) contract.
//!
//! `cargo bench -p bttc-evm --bench code_lookup`

#![allow(missing_docs)]

use alloy_primitives::{Bytes, keccak256};
use bttc_evm::{CodeCache, StateProviderDatabase};
use bttc_storage::{DatabaseEnv, DbOptions, HistoricalState, StateChanges};
use criterion::{Criterion, criterion_group, criterion_main};
use revm::database_interface::DatabaseRef;
use std::{hint::black_box, sync::Arc};

/// Legacy code of `len` bytes with a mix of PUSHes, JUMPDESTs and plain opcodes.
fn code(len: usize) -> Bytes {
    let ops = [0x60u8, 0x5b, 0x01, 0x61, 0x80, 0x50, 0x7f, 0x5b];
    (0..len).map(|i| ops[(i * 7 + i / 5) % ops.len()]).collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    let sizes = [("1.7KiB", 1_747), ("24KiB", 24_576)];
    let codes: Vec<Bytes> = sizes.iter().map(|(_, n)| code(*n)).collect();
    let rw = db.rw().unwrap();
    let stored = codes.iter().map(|c| (keccak256(c), c.clone())).collect();
    rw.write_state(1, &StateChanges { accounts: vec![], codes: stored }).unwrap();
    rw.commit().unwrap();

    let ro = db.ro().unwrap();
    let cache = Arc::new(CodeCache::default());
    let uncached = StateProviderDatabase::new(HistoricalState::new(&ro, 1));
    let cached = StateProviderDatabase::with_code_cache(HistoricalState::new(&ro, 1), cache);
    let mut g = c.benchmark_group("code_lookup");
    for ((name, _), code) in sizes.iter().zip(&codes) {
        let hash = keccak256(code);
        g.bench_function(format!("{name}/read_and_analyse"), |b| {
            b.iter(|| black_box(uncached.code_by_hash_ref(black_box(hash)).unwrap()))
        });
        g.bench_function(format!("{name}/code_cache"), |b| {
            b.iter(|| black_box(cached.code_by_hash_ref(black_box(hash)).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
