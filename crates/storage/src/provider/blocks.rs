//! Blocks: the head, headers, bodies, transactions, senders, receipts and ommers.

use super::{META_HEAD, Provider};
use crate::{
    StorageError, StorageResult, Table,
    tables::{decode_num, num_key},
};
use alloy_consensus::Header;
use alloy_eips::{
    eip2718::{Decodable2718, Encodable2718},
    eip4895::Withdrawals,
};
use alloy_primitives::{Address, B256};
use alloy_rlp::{Decodable, Encodable};
use bttc_primitives::{Block, BlockBody, Receipt, Transaction};
use signet_libmdbx::{
    TransactionKind,
    tx::{PtrUnsync, WriteMarker},
};

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

impl<K: TransactionKind<Access = PtrUnsync>> Provider<K> {
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

    /// The logs block `number`'s system calls emitted for users (empty for most blocks).
    pub fn system_logs(&self, number: u64) -> StorageResult<Vec<alloy_primitives::Log>> {
        let key = num_key(number);
        match self.get(Table::SystemLogs, &key)? {
            Some(v) => Vec::<alloy_primitives::Log>::decode(&mut v.as_slice())
                .map_err(|e| StorageError::decode(Table::SystemLogs, &key, e)),
            None => Ok(Vec::new()),
        }
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
}

impl<K: TransactionKind<Access = PtrUnsync> + WriteMarker> Provider<K> {
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

    /// Stores the logs block `number`'s system calls emitted (nothing when there are none).
    pub fn write_system_logs(
        &self,
        number: u64,
        logs: &[alloy_primitives::Log],
    ) -> StorageResult<()> {
        if logs.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        alloy_rlp::encode_list::<_, alloy_primitives::Log>(logs, &mut buf);
        self.put(Table::SystemLogs, &num_key(number), &buf)
    }

    /// Makes block `number` (already written, with its state and trie) the head.
    pub fn set_head(&self, number: u64, hash: B256) -> StorageResult<()> {
        let mut head = [0u8; 40];
        head[..8].copy_from_slice(&num_key(number));
        head[8..].copy_from_slice(hash.as_slice());
        self.put_meta(META_HEAD, &head)
    }
}
