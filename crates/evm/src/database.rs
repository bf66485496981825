//! revm database over a storage [`StateProvider`].

use crate::CodeCache;
use alloy_primitives::{Address, B256, U256};
use bttc_storage::{StateProvider, StorageError};
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, DatabaseRef},
    state::AccountInfo,
};
use std::sync::Arc;

/// A storage error seen by revm.
#[derive(Debug, thiserror::Error)]
#[error("state read failed: {0}")]
pub struct DbError(#[from] pub StorageError);

impl DBErrorMarker for DbError {}

/// Adapts a [`StateProvider`] to revm's [`DatabaseRef`], optionally keeping analysed code in
/// a shared [`CodeCache`].
#[derive(Debug)]
pub struct StateProviderDatabase<S> {
    state: S,
    code: Option<Arc<CodeCache>>,
}

impl<S> StateProviderDatabase<S> {
    /// Reads everything from `state`; code is read and analysed on every lookup.
    pub const fn new(state: S) -> Self {
        Self { state, code: None }
    }

    /// Reads from `state`, and code through `cache` (code is immutable under its hash, so one
    /// cache serves any block and any number of databases).
    pub const fn with_code_cache(state: S, cache: Arc<CodeCache>) -> Self {
        Self { state, code: Some(cache) }
    }
}

impl<S: StateProvider> DatabaseRef for StateProviderDatabase<S> {
    type Error = DbError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.state.account(&address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            code: None,
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if let Some(code) = self.code.as_ref().and_then(|c| c.get(&code_hash)) {
            return Ok(code);
        }
        let Some(raw) = self.state.bytecode(&code_hash)? else {
            // Unknown code is empty code; not cached, a later block may store it.
            return Ok(Bytecode::default());
        };
        let code = Bytecode::new_raw(raw);
        if let Some(cache) = &self.code {
            cache.insert(code_hash, code.clone());
        }
        Ok(code)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.state.storage(&address, &B256::from(index))?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.state.block_hash(number)?.unwrap_or_default())
    }
}
