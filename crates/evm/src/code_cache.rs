//! Analysed contract code shared between executions.
//!
//! revm runs legacy bytecode only after a jump-destination analysis, a pass over every byte
//! of the code that also copies it into a padded buffer. [`StateProviderDatabase`] reads code
//! from storage as raw bytes, so without a cache every execution that touches a contract
//! reads and analyses it again: a 24 KiB contract costs tens of microseconds per `eth_call`
//! before its first instruction runs. Code is stored under its hash and never changes, so
//! one analysed copy serves every later execution at any block; a cloned [`Bytecode`] shares
//! its bytes and jump table.
//!
//! [`StateProviderDatabase`]: crate::StateProviderDatabase

use alloy_primitives::B256;
use parking_lot::Mutex;
use revm::bytecode::Bytecode;
use std::collections::{HashMap, VecDeque};

/// A bounded map from code hash to analysed [`Bytecode`], evicting the oldest entries first
/// once the code it holds passes its byte budget. Safe to share between threads.
#[derive(Debug)]
pub struct CodeCache {
    inner: Mutex<Entries>,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Entries {
    by_hash: HashMap<B256, Bytecode>,
    /// Insertion order, for eviction.
    order: VecDeque<B256>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

/// Hit and miss counts of a [`CodeCache`], and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeCacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to read storage.
    pub misses: u64,
    /// Contracts held.
    pub entries: usize,
    /// Bytes of code held.
    pub bytes: usize,
}

impl CodeCache {
    /// Default budget: 32 MiB of code, over a thousand contracts of the 24 KiB maximum.
    pub const DEFAULT_MAX_BYTES: usize = 32 << 20;

    /// An empty cache that holds at most `max_bytes` of code (a contract larger than that is
    /// never kept).
    pub fn new(max_bytes: usize) -> Self {
        Self { inner: Mutex::new(Entries::default()), max_bytes }
    }

    /// The analysed code under `hash`, if cached (counted as a hit or a miss).
    pub fn get(&self, hash: &B256) -> Option<Bytecode> {
        let mut e = self.inner.lock();
        let found = e.by_hash.get(hash).cloned();
        if found.is_some() {
            e.hits += 1;
        } else {
            e.misses += 1;
        }
        found
    }

    /// Keeps `code` under `hash`, evicting the oldest entries past the budget.
    pub fn insert(&self, hash: B256, code: Bytecode) {
        let len = code.len();
        if len > self.max_bytes {
            return;
        }
        let mut e = self.inner.lock();
        if e.by_hash.contains_key(&hash) {
            return;
        }
        e.bytes += len;
        e.by_hash.insert(hash, code);
        e.order.push_back(hash);
        while e.bytes > self.max_bytes {
            let Some(old) = e.order.pop_front() else { break };
            if let Some(gone) = e.by_hash.remove(&old) {
                e.bytes -= gone.len();
            }
        }
    }

    /// Counts so far and the current contents.
    pub fn stats(&self) -> CodeCacheStats {
        let e = self.inner.lock();
        CodeCacheStats { hits: e.hits, misses: e.misses, entries: e.by_hash.len(), bytes: e.bytes }
    }
}

impl Default for CodeCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_BYTES)
    }
}
