//! [`Provider`]: typed reads and writes over one MDBX transaction.
//!
//! One type, one transaction; its methods are grouped by what they own, each group with its
//! reads and then its writes:
//! - this module: the transaction, table handles and raw key/value access, metadata, commit;
//! - `blocks`: the head, headers, bodies, transactions, senders, receipts, ommers;
//! - `state`: plain state (the [`StateProvider`] seam the executor reads through) with its
//!   changesets and history indices;
//! - `trie`: the path-keyed trie nodes (`bttc_trie::TrieStore`).

mod blocks;
mod state;
mod trie;

pub use blocks::{BlockIndices, StoredHead};
pub use state::{AccountChange, StateChanges, StateProvider, StorageChange};

use crate::{StorageError, StorageResult, Table, tables::decode_num};
use signet_libmdbx::{
    Database, Rw, TransactionKind, WriteFlags,
    tx::{PtrUnsync, Tx, WriteMarker},
};
use std::sync::Arc;

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
}

impl Provider<Rw> {
    /// Commits the transaction: everything written becomes durable at once.
    pub fn commit(self) -> StorageResult<()> {
        self.tx.commit()?;
        Ok(())
    }
}
