//! revm database over a storage [`StateProvider`].

use alloy_primitives::{Address, B256, U256};
use bttc_storage::{StateProvider, StorageError};
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, DatabaseRef},
    state::AccountInfo,
};

/// A storage error seen by revm.
#[derive(Debug, thiserror::Error)]
#[error("state read failed: {0}")]
pub struct DbError(#[from] pub StorageError);

impl DBErrorMarker for DbError {}

/// Adapts a [`StateProvider`] to revm's [`DatabaseRef`].
#[derive(Debug)]
pub struct StateProviderDatabase<S>(pub S);

impl<S: StateProvider> DatabaseRef for StateProviderDatabase<S> {
    type Error = DbError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.0.account(&address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            code: None,
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(self.0.bytecode(&code_hash)?.map(Bytecode::new_raw).unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.0.storage(&address, &B256::from(index))?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.0.block_hash(number)?.unwrap_or_default())
    }
}
