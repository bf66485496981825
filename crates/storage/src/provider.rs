//! [`Provider`]: typed reads and writes over one MDBX transaction.

use crate::{
    StorageError, StorageResult, Table,
    tables::{
        decode_num, decode_u256, encode_u256, num_key, storage_key, storage_trie_key, trie_path_key,
    },
};
use alloy_consensus::Header;
use alloy_eips::{
    eip2718::{Decodable2718, Encodable2718},
    eip4895::Withdrawals,
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rlp::{Decodable, Encodable};
use bttc_primitives::{Account, Block, BlockBody, Receipt, Transaction};
use bttc_trie::{TrieError, TrieStore, TrieUpdates};
use signet_libmdbx::{
    Database, Rw, TransactionKind, WriteFlags,
    tx::{PtrUnsync, Tx, WriteMarker},
};
use std::{collections::BTreeMap, sync::Arc};

pub(crate) const META_SCHEMA: &str = "schema_version";
pub(crate) const META_HEAD: &str = "head";
pub(crate) const META_GENESIS: &str = "genesis_json";

/// Table handles, opened once per environment.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    handles: Arc<[Database]>,
    #[cfg(feature = "fault-injection")]
    pub(crate) faults: Arc<crate::faults::FaultPlan>,
}

impl Tables {
    pub(crate) fn new(handles: Vec<Database>) -> Self {
        Self {
            handles: handles.into(),
            #[cfg(feature = "fault-injection")]
            faults: Default::default(),
        }
    }
    fn get(&self, t: Table) -> Database {
        self.handles[t as usize]
    }

    /// Fails if a test armed a write fault on `t` that trips now.
    #[inline]
    fn check_write(&self, _t: Table) -> StorageResult<()> {
        #[cfg(feature = "fault-injection")]
        if self.faults.trips(_t) {
            return Err(StorageError::InjectedFault { table: _t });
        }
        Ok(())
    }
}

/// The head of the stored chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHead {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// Where a block's transactions sit in the transaction-numbered tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockIndices {
    /// Number of the block's first transaction.
    pub first_tx: u64,
    /// Number of transactions.
    pub tx_count: u64,
}

impl BlockIndices {
    /// One past the block's last transaction number.
    pub const fn next_tx(&self) -> u64 {
        self.first_tx + self.tx_count
    }
}

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

/// Typed access to the database through one transaction (read-only or read-write).
#[derive(Debug)]
pub struct Provider<K: TransactionKind> {
    tx: Tx<K>,
    tables: Tables,
}

impl<K: TransactionKind<Access = PtrUnsync>> Provider<K> {
    pub(crate) fn new(tx: Tx<K>, tables: Tables) -> Self {
        Self { tx, tables }
    }

    pub(crate) fn get(&self, t: Table, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        Ok(self.tx.get::<Vec<u8>>(self.tables.get(t).dbi(), key)?)
    }

    /// Raw value of `key` in table `t`.
    pub fn get_raw(&self, t: Table, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        self.get(t, key)
    }

    /// All entries whose key starts with `prefix`, in key order.
    pub(crate) fn prefix_entries(
        &self,
        t: Table,
        prefix: &[u8],
    ) -> StorageResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut cursor = self.tx.cursor(self.tables.get(t))?;
        let mut out = Vec::new();
        let mut item = cursor.set_range::<Vec<u8>, Vec<u8>>(prefix)?;
        while let Some((k, v)) = item {
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k, v));
            item = cursor.next::<Vec<u8>, Vec<u8>>()?;
        }
        Ok(out)
    }

    /// The keys of up to `max` entries from `from` on, in key order, and whether there are
    /// more.
    pub(crate) fn keys_from(
        &self,
        t: Table,
        from: &[u8],
        max: usize,
    ) -> StorageResult<(Vec<Vec<u8>>, bool)> {
        let mut cursor = self.tx.cursor(self.tables.get(t))?;
        let mut out = Vec::new();
        let mut item = cursor.set_range::<Vec<u8>, Vec<u8>>(from)?;
        while let Some((k, _)) = item {
            if out.len() == max {
                return Ok((out, true));
            }
            out.push(k);
            item = cursor.next::<Vec<u8>, Vec<u8>>()?;
        }
        Ok((out, false))
    }

    /// First entry at or after `key`.
    pub(crate) fn seek(&self, t: Table, key: &[u8]) -> StorageResult<Option<(Vec<u8>, Vec<u8>)>> {
        let mut cursor = self.tx.cursor(self.tables.get(t))?;
        Ok(cursor.set_range::<Vec<u8>, Vec<u8>>(key)?)
    }

    /// The entry with the greatest key.
    pub(crate) fn last_entry(&self, t: Table) -> StorageResult<Option<(Vec<u8>, Vec<u8>)>> {
        let mut cursor = self.tx.cursor(self.tables.get(t))?;
        Ok(cursor.last::<Vec<u8>, Vec<u8>>()?)
    }

    /// Entry count and size of a table.
    pub fn table_stats(&self, t: Table) -> StorageResult<crate::TableStats> {
        let s = self.tx.db_stat(&self.tables.get(t))?;
        let pages = (s.branch_pages() + s.leaf_pages() + s.overflow_pages()) as u64;
        Ok(crate::TableStats {
            table: t,
            entries: s.entries(),
            size_bytes: pages * s.page_size() as u64,
            depth: s.depth(),
        })
    }

    /// A named metadata value.
    pub fn meta(&self, name: &str) -> StorageResult<Option<Vec<u8>>> {
        self.get(Table::Meta, name.as_bytes())
    }

    pub(crate) fn meta_u64(&self, name: &str) -> StorageResult<Option<u64>> {
        self.meta(name)?.map(|v| decode_num(Table::Meta, &v)).transpose()
    }

    /// The genesis JSON stored by `init`.
    pub fn genesis_json(&self) -> StorageResult<Option<String>> {
        self.meta(META_GENESIS)?
            .map(|v| {
                String::from_utf8(v)
                    .map_err(|e| StorageError::decode(Table::Meta, META_GENESIS.as_bytes(), e))
            })
            .transpose()
    }

    /// The last committed block, `None` for an empty database.
    pub fn head(&self) -> StorageResult<Option<StoredHead>> {
        let Some(v) = self.meta(META_HEAD)? else { return Ok(None) };
        if v.len() != 40 {
            return Err(StorageError::decode(
                Table::Meta,
                META_HEAD.as_bytes(),
                "expected 40 bytes",
            ));
        }
        Ok(Some(StoredHead {
            number: u64::from_be_bytes(v[..8].try_into().expect("8 bytes")),
            hash: B256::from_slice(&v[8..]),
        }))
    }

    /// The head and its header; an error if the database holds no chain or the head's
    /// header is missing.
    pub fn head_header(&self) -> StorageResult<(StoredHead, Header)> {
        let head = self
            .head()?
            .ok_or_else(|| StorageError::Inconsistent("the database holds no chain".into()))?;
        let header = self.header(head.number)?.ok_or_else(|| {
            StorageError::Inconsistent(format!("head header {} missing", head.number))
        })?;
        Ok((head, header))
    }

    /// Canonical hash of block `number`.
    pub fn canonical_hash(&self, number: u64) -> StorageResult<Option<B256>> {
        Ok(self.get(Table::CanonicalHashes, &num_key(number))?.map(|v| B256::from_slice(&v)))
    }

    /// Number of the block with this hash.
    pub fn block_number(&self, hash: &B256) -> StorageResult<Option<u64>> {
        self.get(Table::HeaderNumbers, hash.as_slice())?
            .map(|v| decode_num(Table::HeaderNumbers, &v))
            .transpose()
    }

    /// Header of block `number`.
    pub fn header(&self, number: u64) -> StorageResult<Option<Header>> {
        let key = num_key(number);
        self.get(Table::Headers, &key)?
            .map(|v| {
                Header::decode(&mut v.as_slice())
                    .map_err(|e| StorageError::decode(Table::Headers, &key, e))
            })
            .transpose()
    }

    /// Header by hash.
    pub fn header_by_hash(&self, hash: &B256) -> StorageResult<Option<Header>> {
        match self.block_number(hash)? {
            Some(n) => self.header(n),
            None => Ok(None),
        }
    }

    /// Transaction-number range of block `number`.
    pub fn block_indices(&self, number: u64) -> StorageResult<Option<BlockIndices>> {
        let key = num_key(number);
        self.get(Table::BlockBodyIndices, &key)?
            .map(|v| {
                if v.len() != 16 {
                    return Err(StorageError::decode(
                        Table::BlockBodyIndices,
                        &key,
                        "expected 16 bytes",
                    ));
                }
                Ok(BlockIndices {
                    first_tx: u64::from_be_bytes(v[..8].try_into().expect("8")),
                    tx_count: u64::from_be_bytes(v[8..].try_into().expect("8")),
                })
            })
            .transpose()
    }

    /// Transaction by its number.
    pub fn transaction(&self, tx_num: u64) -> StorageResult<Option<Transaction>> {
        let key = num_key(tx_num);
        self.get(Table::Transactions, &key)?
            .map(|v| {
                Transaction::decode_2718(&mut v.as_slice())
                    .map_err(|e| StorageError::decode(Table::Transactions, &key, e))
            })
            .transpose()
    }

    /// Number of the transaction with this hash.
    pub fn transaction_number(&self, hash: &B256) -> StorageResult<Option<u64>> {
        self.get(Table::TransactionHashNumbers, hash.as_slice())?
            .map(|v| decode_num(Table::TransactionHashNumbers, &v))
            .transpose()
    }

    /// Block that contains transaction number `tx_num`.
    pub fn transaction_block(&self, tx_num: u64) -> StorageResult<Option<u64>> {
        match self.seek(Table::TransactionBlocks, &num_key(tx_num))? {
            Some((_, v)) => Ok(Some(decode_num(Table::TransactionBlocks, &v)?)),
            None => Ok(None),
        }
    }

    /// Recovered sender of a transaction.
    pub fn sender(&self, tx_num: u64) -> StorageResult<Option<Address>> {
        Ok(self.get(Table::TransactionSenders, &num_key(tx_num))?.map(|v| Address::from_slice(&v)))
    }

    /// Receipt of a transaction.
    pub fn receipt(&self, tx_num: u64) -> StorageResult<Option<Receipt>> {
        let key = num_key(tx_num);
        self.get(Table::Receipts, &key)?
            .map(|v| {
                crate::receipt_codec::decode_receipt(&v)
                    .map_err(|e| StorageError::decode(Table::Receipts, &key, e))
            })
            .transpose()
    }

    /// All receipts of block `number`.
    pub fn receipts(&self, number: u64) -> StorageResult<Option<Vec<Receipt>>> {
        let Some(idx) = self.block_indices(number)? else { return Ok(None) };
        let mut out = Vec::with_capacity(idx.tx_count as usize);
        for n in idx.first_tx..idx.next_tx() {
            out.push(self.receipt(n)?.ok_or_else(|| {
                StorageError::Inconsistent(format!("block {number}: receipt of tx {n} missing"))
            })?);
        }
        Ok(Some(out))
    }

    /// The ommer (uncle) headers block `number` included (empty after the merge).
    pub fn ommers(&self, number: u64) -> StorageResult<Vec<Header>> {
        let key = num_key(number);
        match self.get(Table::BlockOmmers, &key)? {
            Some(v) => Vec::<Header>::decode(&mut v.as_slice())
                .map_err(|e| StorageError::decode(Table::BlockOmmers, &key, e)),
            None => Ok(Vec::new()),
        }
    }

    /// Full block `number`.
    pub fn block(&self, number: u64) -> StorageResult<Option<Block>> {
        let Some(header) = self.header(number)? else { return Ok(None) };
        let idx = self.block_indices(number)?.ok_or_else(|| {
            StorageError::Inconsistent(format!("block {number}: header without body indices"))
        })?;
        let mut transactions = Vec::with_capacity(idx.tx_count as usize);
        for n in idx.first_tx..idx.next_tx() {
            transactions.push(self.transaction(n)?.ok_or_else(|| {
                StorageError::Inconsistent(format!("block {number}: transaction {n} missing"))
            })?);
        }
        let key = num_key(number);
        let ommers = self.ommers(number)?;
        let withdrawals = self
            .get(Table::BlockWithdrawals, &key)?
            .map(|v| {
                Withdrawals::decode(&mut v.as_slice())
                    .map_err(|e| StorageError::decode(Table::BlockWithdrawals, &key, e))
            })
            .transpose()?;
        Ok(Some(Block { header, body: BlockBody { transactions, ommers, withdrawals } }))
    }

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

impl<K: TransactionKind<Access = PtrUnsync>> TrieStore for Provider<K> {
    fn account_node(&self, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        Ok(self.get(Table::AccountsTrie, &trie_path_key(path))?)
    }

    fn storage_node(&self, owner: &B256, path: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
        Ok(self.get(Table::StoragesTrie, &storage_trie_key(owner, path))?)
    }
}

impl<K: TransactionKind<Access = PtrUnsync> + WriteMarker> Provider<K> {
    pub(crate) fn put(&self, t: Table, key: &[u8], value: &[u8]) -> StorageResult<()> {
        self.tables.check_write(t)?;
        Ok(self.tx.put(self.tables.get(t), key, value, WriteFlags::empty())?)
    }

    /// Puts a key greater than every key in the table (block- and transaction-numbered
    /// tables): MDBX skips the search. Fails if the key is not the greatest.
    fn append(&self, t: Table, key: &[u8], value: &[u8]) -> StorageResult<()> {
        self.tables.check_write(t)?;
        Ok(self.tx.append(self.tables.get(t), key, value)?)
    }

    pub(crate) fn del(&self, t: Table, key: &[u8]) -> StorageResult<()> {
        self.tx.del(self.tables.get(t), key, None)?;
        Ok(())
    }

    fn del_prefix(&self, t: Table, prefix: &[u8]) -> StorageResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let entries = self.prefix_entries(t, prefix)?;
        for (k, _) in &entries {
            self.del(t, k)?;
        }
        Ok(entries)
    }

    pub(crate) fn put_meta(&self, name: &str, value: &[u8]) -> StorageResult<()> {
        self.put(Table::Meta, name.as_bytes(), value)
    }

    /// Stores the genesis JSON (done once, by `init`).
    pub fn put_genesis_json(&self, json: &str) -> StorageResult<()> {
        self.put_meta(META_GENESIS, json.as_bytes())
    }

    /// Writes a block, its senders and receipts. The block's parent must be the current head
    /// (or the database empty for genesis). The head does not move until [`Self::set_head`],
    /// which the caller runs after the block's state and trie are written too.
    pub fn write_block(
        &self,
        block: &Block,
        hash: B256,
        senders: &[Address],
        receipts: &[Receipt],
    ) -> StorageResult<()> {
        let number = block.header.number;
        let txs = &block.body.transactions;
        if senders.len() != txs.len() || receipts.len() != txs.len() {
            return Err(StorageError::Inconsistent(format!(
                "block {number}: {} transactions but {} senders and {} receipts",
                txs.len(),
                senders.len(),
                receipts.len()
            )));
        }
        let first_tx = match self.head()? {
            Some(head) => {
                if head.number + 1 != number {
                    return Err(StorageError::Inconsistent(format!(
                        "block {number} does not extend head {}",
                        head.number
                    )));
                }
                self.block_indices(head.number)?.map(|i| i.next_tx()).unwrap_or(0)
            }
            None => 0,
        };
        let key = num_key(number);
        let mut buf = Vec::with_capacity(600);
        block.header.encode(&mut buf);
        self.append(Table::Headers, &key, &buf)?;
        self.append(Table::CanonicalHashes, &key, hash.as_slice())?;
        self.put(Table::HeaderNumbers, hash.as_slice(), &key)?;
        let mut idx = [0u8; 16];
        idx[..8].copy_from_slice(&first_tx.to_be_bytes());
        idx[8..].copy_from_slice(&(txs.len() as u64).to_be_bytes());
        self.append(Table::BlockBodyIndices, &key, &idx)?;
        if !block.body.ommers.is_empty() {
            buf.clear();
            block.body.ommers.encode(&mut buf);
            self.put(Table::BlockOmmers, &key, &buf)?;
        }
        if let Some(w) = &block.body.withdrawals {
            buf.clear();
            w.encode(&mut buf);
            self.put(Table::BlockWithdrawals, &key, &buf)?;
        }
        for (i, ((tx, sender), receipt)) in txs.iter().zip(senders).zip(receipts).enumerate() {
            let n = num_key(first_tx + i as u64);
            buf.clear();
            tx.encode_2718(&mut buf);
            self.append(Table::Transactions, &n, &buf)?;
            self.put(Table::TransactionHashNumbers, tx.tx_hash().as_slice(), &n)?;
            self.append(Table::TransactionSenders, &n, sender.as_slice())?;
            buf.clear();
            crate::receipt_codec::encode_receipt(receipt, &mut buf);
            self.append(Table::Receipts, &n, &buf)?;
        }
        if !txs.is_empty() {
            self.append(Table::TransactionBlocks, &num_key(first_tx + txs.len() as u64 - 1), &key)?;
        }
        Ok(())
    }

    /// Makes block `number` (already written, with its state and trie) the head.
    pub fn set_head(&self, number: u64, hash: B256) -> StorageResult<()> {
        let mut head = [0u8; 40];
        head[..8].copy_from_slice(&num_key(number));
        head[8..].copy_from_slice(hash.as_slice());
        self.put_meta(META_HEAD, &head)
    }

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

    /// Applies trie node updates produced by `bttc_trie::state_root`.
    pub fn write_trie(&self, updates: &TrieUpdates) -> StorageResult<()> {
        for owner in &updates.wiped_storages {
            self.del_prefix(Table::StoragesTrie, owner.as_slice())?;
        }
        for (path, node) in &updates.account_nodes {
            let key = trie_path_key(path);
            match node {
                Some(n) => self.put(Table::AccountsTrie, &key, n)?,
                None => self.del(Table::AccountsTrie, &key)?,
            }
        }
        for ((owner, path), node) in &updates.storage_nodes {
            let key = storage_trie_key(owner, path);
            match node {
                Some(n) => self.put(Table::StoragesTrie, &key, n)?,
                None => self.del(Table::StoragesTrie, &key)?,
            }
        }
        Ok(())
    }
}

impl Provider<Rw> {
    /// Commits the transaction: everything written becomes durable at once.
    pub fn commit(self) -> StorageResult<()> {
        self.tx.commit()?;
        Ok(())
    }
}
