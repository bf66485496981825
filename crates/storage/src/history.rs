//! State as it was after a past block, from history indices and changesets.

use crate::{
    Provider, StateProvider, StorageError, StorageResult, Table,
    tables::{decode_num, decode_u256, num_key, storage_key},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use bttc_primitives::Account;
use signet_libmdbx::{TransactionKind, tx::PtrUnsync};
use std::collections::BTreeSet;

/// The accounts and storage slots that blocks after some block changed: what differs between
/// the state after that block and the current plain state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChangedKeys {
    /// Changed accounts.
    pub accounts: BTreeSet<Address>,
    /// Changed storage slots.
    pub slots: BTreeSet<(Address, B256)>,
}

impl<K: TransactionKind<Access = PtrUnsync>> Provider<K> {
    /// The keys that blocks after `block` changed, read from the changesets; `None` if more
    /// than `max` changeset entries would have to be read.
    pub fn changed_after(&self, block: u64, max: usize) -> StorageResult<Option<ChangedKeys>> {
        let Some(from) = block.checked_add(1) else { return Ok(Some(ChangedKeys::default())) };
        let from = num_key(from);
        let mut out = ChangedKeys::default();
        let (keys, more) = self.keys_from(Table::AccountChangeSets, &from, max)?;
        if more {
            return Ok(None);
        }
        for k in keys {
            let addr = k.get(8..28).ok_or_else(|| {
                StorageError::decode(Table::AccountChangeSets, &k, "short changeset key")
            })?;
            out.accounts.insert(Address::from_slice(addr));
        }
        let (keys, more) = self.keys_from(Table::StorageChangeSets, &from, max)?;
        if more {
            return Ok(None);
        }
        for k in keys {
            let (Some(addr), Some(slot)) = (k.get(8..28), k.get(28..60)) else {
                return Err(StorageError::decode(
                    Table::StorageChangeSets,
                    &k,
                    "short changeset key",
                ));
            };
            out.slots.insert((Address::from_slice(addr), B256::from_slice(slot)));
        }
        Ok(Some(out))
    }
}

/// The state after block `block`, read through a provider.
///
/// For a key, the first change recorded after `block` holds the value the key had after
/// `block` (a changeset stores the value *before* its block); with no later change, the
/// plain state is current.
#[derive(Debug)]
pub struct HistoricalState<'a, K: TransactionKind> {
    provider: &'a Provider<K>,
    block: u64,
}

impl<'a, K: TransactionKind<Access = PtrUnsync>> HistoricalState<'a, K> {
    /// State after block `block`.
    pub const fn new(provider: &'a Provider<K>, block: u64) -> Self {
        Self { provider, block }
    }

    /// First block after `self.block` in which the key with `prefix` changed.
    fn next_change(&self, table: Table, prefix: &[u8]) -> StorageResult<Option<u64>> {
        let Some(after) = self.block.checked_add(1) else { return Ok(None) };
        let mut key = prefix.to_vec();
        key.extend_from_slice(&num_key(after));
        match self.provider.seek(table, &key)? {
            Some((k, _)) if k.len() == prefix.len() + 8 && k.starts_with(prefix) => {
                Ok(Some(decode_num(table, &k[prefix.len()..])?))
            }
            _ => Ok(None),
        }
    }
}

impl<K: TransactionKind<Access = PtrUnsync>> StateProvider for HistoricalState<'_, K> {
    fn account(&self, address: &Address) -> StorageResult<Option<Account>> {
        let Some(b) = self.next_change(Table::AccountsHistory, address.as_slice())? else {
            return self.provider.account(address);
        };
        let mut key = num_key(b).to_vec();
        key.extend_from_slice(address.as_slice());
        let v = self.provider.get_raw(Table::AccountChangeSets, &key)?.ok_or_else(|| {
            StorageError::Inconsistent(format!(
                "history says {address} changed in block {b} but no changeset"
            ))
        })?;
        match v.first() {
            Some(0) => Ok(None),
            Some(1) => Account::decode(&v[1..])
                .map(Some)
                .map_err(|e| StorageError::decode(Table::AccountChangeSets, &key, e)),
            _ => Err(StorageError::decode(Table::AccountChangeSets, &key, "bad presence byte")),
        }
    }

    fn storage(&self, address: &Address, slot: &B256) -> StorageResult<U256> {
        let skey = storage_key(address, slot);
        let Some(b) = self.next_change(Table::StoragesHistory, &skey)? else {
            return self.provider.storage(address, slot);
        };
        let mut key = num_key(b).to_vec();
        key.extend_from_slice(&skey);
        let v = self.provider.get_raw(Table::StorageChangeSets, &key)?.ok_or_else(|| {
            StorageError::Inconsistent(format!(
                "history says {address} slot {slot} changed in block {b} but no changeset"
            ))
        })?;
        decode_u256(Table::StorageChangeSets, &key, &v)
    }

    fn bytecode(&self, code_hash: &B256) -> StorageResult<Option<Bytes>> {
        self.provider.bytecode(code_hash)
    }

    fn block_hash(&self, number: u64) -> StorageResult<Option<B256>> {
        if number > self.block {
            return Ok(None);
        }
        self.provider.block_hash(number)
    }
}
