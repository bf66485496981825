//! Plain state: accounts, storage and code as the executor reads them, with the changesets
//! and history indices each block's changes leave behind.

use super::Provider;
use crate::{
    StorageError, StorageResult, Table,
    tables::{decode_u256, encode_u256, num_key, storage_key},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use bttc_primitives::Account;
use signet_libmdbx::{
    TransactionKind,
    tx::{PtrUnsync, WriteMarker},
};
use std::collections::BTreeMap;

/// State changes of one block, as the executor produced them. Old values are read from the
/// database when the changes are written, so they always match what was stored.
#[derive(Debug, Default, Clone)]
pub struct StateChanges {
    /// Changed accounts (any order; written in address order).
    pub accounts: Vec<AccountChange>,
    /// Code deployed in this block: code hash → bytecode.
    pub codes: Vec<(B256, Bytes)>,
}

/// The change of one account in one block.
#[derive(Debug, Clone)]
pub struct AccountChange {
    /// The account.
    pub address: Address,
    /// The account before the block, when the producer of the change knows it (the executor
    /// does); `None` means unknown, and it is read from the database.
    pub original: Option<Option<Account>>,
    /// The account after the block; `None` if it does not exist afterwards.
    pub new: Option<Account>,
    /// Its storage was cleared (self-destruct or re-creation) before `storage` applies.
    pub wiped: bool,
    /// Changed slots (a zero value deletes).
    pub storage: Vec<StorageChange>,
}

/// The change of one storage slot in one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageChange {
    /// The slot.
    pub slot: B256,
    /// Its value before the block, when known (read from the database otherwise). Ignored
    /// for accounts whose storage is wiped: the database holds the truth then.
    pub original: Option<U256>,
    /// Its value after the block.
    pub value: U256,
}

/// Read access to state, the seam the executor reads through.
pub trait StateProvider {
    /// An account, `None` if it does not exist.
    fn account(&self, address: &Address) -> StorageResult<Option<Account>>;
    /// A storage slot (zero if unset).
    fn storage(&self, address: &Address, slot: &B256) -> StorageResult<U256>;
    /// Bytecode by its hash.
    fn bytecode(&self, code_hash: &B256) -> StorageResult<Option<Bytes>>;
    /// Canonical hash of a block.
    fn block_hash(&self, number: u64) -> StorageResult<Option<B256>>;
}

impl<T: StateProvider + ?Sized> StateProvider for &T {
    fn account(&self, address: &Address) -> StorageResult<Option<Account>> {
        (**self).account(address)
    }
    fn storage(&self, address: &Address, slot: &B256) -> StorageResult<U256> {
        (**self).storage(address, slot)
    }
    fn bytecode(&self, code_hash: &B256) -> StorageResult<Option<Bytes>> {
        (**self).bytecode(code_hash)
    }
    fn block_hash(&self, number: u64) -> StorageResult<Option<B256>> {
        (**self).block_hash(number)
    }
}

impl<K: TransactionKind<Access = PtrUnsync>> Provider<K> {
    /// Every account of the plain state (a full scan: tools and tests only).
    pub fn plain_accounts(&self) -> StorageResult<Vec<(Address, Account)>> {
        self.prefix_entries(Table::PlainAccountState, &[])?
            .into_iter()
            .map(|(k, v)| {
                let acc = Account::decode(&v)
                    .map_err(|e| StorageError::decode(Table::PlainAccountState, &k, e))?;
                Ok((Address::from_slice(&k), acc))
            })
            .collect()
    }

    /// All storage slots of an account in the plain state.
    pub fn plain_storage_of(&self, address: &Address) -> StorageResult<BTreeMap<B256, U256>> {
        let mut out = BTreeMap::new();
        for (k, v) in self.prefix_entries(Table::PlainStorageState, address.as_slice())? {
            let slot = B256::from_slice(&k[20..]);
            out.insert(slot, decode_u256(Table::PlainStorageState, &k, &v)?);
        }
        Ok(out)
    }
}

impl<K: TransactionKind<Access = PtrUnsync>> StateProvider for Provider<K> {
    fn account(&self, address: &Address) -> StorageResult<Option<Account>> {
        self.get(Table::PlainAccountState, address.as_slice())?
            .map(|v| {
                Account::decode(&v).map_err(|e| {
                    StorageError::decode(Table::PlainAccountState, address.as_slice(), e)
                })
            })
            .transpose()
    }

    fn storage(&self, address: &Address, slot: &B256) -> StorageResult<U256> {
        let key = storage_key(address, slot);
        match self.get(Table::PlainStorageState, &key)? {
            Some(v) => decode_u256(Table::PlainStorageState, &key, &v),
            None => Ok(U256::ZERO),
        }
    }

    fn bytecode(&self, code_hash: &B256) -> StorageResult<Option<Bytes>> {
        Ok(self.get(Table::Bytecodes, code_hash.as_slice())?.map(Bytes::from))
    }

    fn block_hash(&self, number: u64) -> StorageResult<Option<B256>> {
        self.canonical_hash(number)
    }
}

impl<K: TransactionKind<Access = PtrUnsync> + WriteMarker> Provider<K> {
    /// Applies a block's state changes to the plain state and records changesets and
    /// history indices for it.
    pub fn write_state(&self, number: u64, changes: &StateChanges) -> StorageResult<()> {
        let block = num_key(number);
        for (hash, code) in &changes.codes {
            self.put(Table::Bytecodes, hash.as_slice(), code)?;
        }
        // Changesets are appended in key order (block, address, slot).
        let mut ordered: Vec<&AccountChange> = changes.accounts.iter().collect();
        ordered.sort_unstable_by_key(|c| c.address);
        for ch in ordered {
            let addr = ch.address.as_slice();
            let old = match ch.original {
                Some(original) => original,
                None => self.account(&ch.address)?,
            };
            let mut wiped_old = BTreeMap::new();
            if ch.wiped {
                for (k, v) in self.del_prefix(Table::PlainStorageState, addr)? {
                    wiped_old.insert(
                        B256::from_slice(&k[20..]),
                        decode_u256(Table::PlainStorageState, &k, &v)?,
                    );
                }
            }
            if old != ch.new {
                let mut cs_key = Vec::with_capacity(28);
                cs_key.extend_from_slice(&block);
                cs_key.extend_from_slice(addr);
                let mut val = Vec::with_capacity(48);
                match old {
                    Some(a) => {
                        val.push(1);
                        a.encode(&mut val);
                    }
                    None => val.push(0),
                }
                self.append(Table::AccountChangeSets, &cs_key, &val)?;
                let mut h = Vec::with_capacity(28);
                h.extend_from_slice(addr);
                h.extend_from_slice(&block);
                self.put(Table::AccountsHistory, &h, &[])?;
                match &ch.new {
                    Some(a) => self.put(Table::PlainAccountState, addr, &a.encoded())?,
                    None => self.del(Table::PlainAccountState, addr)?,
                }
            }
            let mut slot_changes: BTreeMap<B256, (U256, U256)> = BTreeMap::new();
            for (slot, old_v) in &wiped_old {
                slot_changes.insert(*slot, (*old_v, U256::ZERO));
            }
            for change in &ch.storage {
                let old_v = if ch.wiped {
                    wiped_old.get(&change.slot).copied().unwrap_or_default()
                } else {
                    match change.original {
                        Some(v) => v,
                        None => self.storage(&ch.address, &change.slot)?,
                    }
                };
                slot_changes.insert(change.slot, (old_v, change.value));
            }
            for (slot, (old_v, new_v)) in slot_changes {
                if old_v == new_v {
                    continue;
                }
                let skey = storage_key(&ch.address, &slot);
                if new_v.is_zero() {
                    if !ch.wiped {
                        self.del(Table::PlainStorageState, &skey)?;
                    }
                } else {
                    self.put(Table::PlainStorageState, &skey, &encode_u256(&new_v))?;
                }
                let mut cs_key = Vec::with_capacity(60);
                cs_key.extend_from_slice(&block);
                cs_key.extend_from_slice(&skey);
                self.append(Table::StorageChangeSets, &cs_key, &encode_u256(&old_v))?;
                let mut h = Vec::with_capacity(60);
                h.extend_from_slice(&skey);
                h.extend_from_slice(&block);
                self.put(Table::StoragesHistory, &h, &[])?;
            }
        }
        Ok(())
    }
}
