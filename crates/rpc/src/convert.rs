//! Stored blocks, transactions and receipts as JSON-RPC objects.

use crate::{RpcContext, RpcError, RpcResult};
use alloy_consensus::{Sealed, Transaction as _, transaction::Recovered};
use alloy_eips::eip4844::calc_blob_gasprice;
use alloy_primitives::{Address, B256, U256};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{
    Block as RpcBlock, BlockTransactions, Header as RpcHeader, Log, Transaction as RpcTransaction,
    TransactionInfo, TransactionReceipt,
};
use bttc_primitives::{Block, Header, Receipt, ReceiptEnvelope, TxEnvelope};
use bttc_storage::{Provider, Ro};

/// A transaction as JSON-RPC returns it.
pub type RpcTx = RpcTransaction<TxEnvelope>;
/// A receipt as JSON-RPC returns it.
pub type RpcReceipt = TransactionReceipt<ReceiptEnvelope<Log>>;

/// The JSON-RPC header of a stored header. No `totalDifficulty`: the specification dropped
/// it after the merge (geth no longer sends it).
pub(crate) fn rpc_header(header: Header, hash: B256, size: Option<usize>) -> RpcHeader {
    RpcHeader::from_consensus(Sealed::new_unchecked(header, hash), None, size.map(U256::from))
}

/// A transaction with where it sits.
pub(crate) fn rpc_tx(
    tx: TxEnvelope,
    sender: Address,
    header: &Header,
    block_hash: B256,
    index: u64,
) -> RpcTx {
    let info = TransactionInfo {
        hash: Some(*tx.tx_hash()),
        index: Some(index),
        block_hash: Some(block_hash),
        block_number: Some(header.number),
        base_fee: header.base_fee_per_gas,
        block_timestamp: Some(header.timestamp),
    };
    RpcTransaction::from_transaction(Recovered::new_unchecked(tx, sender), info)
}

/// A pool transaction (not yet in a block).
pub(crate) fn rpc_pending_tx(tx: TxEnvelope, sender: Address) -> RpcTx {
    RpcTransaction::from_transaction(
        Recovered::new_unchecked(tx, sender),
        TransactionInfo::default(),
    )
}

/// Senders of the transactions of block `number` (stored at import).
pub(crate) fn senders_of(ro: &Provider<Ro>, number: u64) -> RpcResult<Vec<Address>> {
    let Some(idx) = ro.block_indices(number)? else { return Ok(Vec::new()) };
    (idx.first_tx..idx.first_tx + idx.tx_count)
        .map(|n| {
            ro.sender(n)?
                .ok_or_else(|| RpcError::Internal(format!("no sender stored for tx number {n}")))
        })
        .collect()
}

/// Block `number` as JSON-RPC returns it, with full transactions or their hashes.
pub(crate) fn rpc_block(
    ro: &Provider<Ro>,
    number: u64,
    full: bool,
) -> RpcResult<Option<RpcBlock<RpcTx>>> {
    let (Some(block), Some(hash)) = (ro.block(number)?, ro.canonical_hash(number)?) else {
        return Ok(None);
    };
    Ok(Some(block_to_rpc(ro, block, hash, full)?))
}

fn block_to_rpc(
    ro: &Provider<Ro>,
    block: Block,
    hash: B256,
    full: bool,
) -> RpcResult<RpcBlock<RpcTx>> {
    let size = block.length();
    let Block { header, body } = block;
    let transactions = if full {
        let senders = senders_of(ro, header.number)?;
        BlockTransactions::Full(
            body.transactions
                .into_iter()
                .zip(senders)
                .enumerate()
                .map(|(i, (tx, from))| rpc_tx(tx, from, &header, hash, i as u64))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(body.transactions.iter().map(|t| *t.tx_hash()).collect())
    };
    let uncles = body.ommers.iter().map(|h| h.hash_slow()).collect();
    Ok(RpcBlock {
        header: rpc_header(header, hash, Some(size)),
        uncles,
        transactions,
        withdrawals: body.withdrawals,
    })
}

/// Receipts of block `number` as JSON-RPC returns them; `None` if there is no such block.
pub(crate) fn block_receipts(ro: &Provider<Ro>, number: u64) -> RpcResult<Option<Vec<RpcReceipt>>> {
    let (Some(block), Some(hash), Some(receipts)) =
        (ro.block(number)?, ro.canonical_hash(number)?, ro.receipts(number)?)
    else {
        return Ok(None);
    };
    let senders = senders_of(ro, number)?;
    let mut out = Vec::with_capacity(receipts.len());
    let mut prev_cumulative = 0u64;
    let mut log_index = 0u64;
    for (i, ((tx, receipt), from)) in
        block.body.transactions.iter().zip(receipts).zip(senders).enumerate()
    {
        let r = rpc_receipt(
            &block.header,
            hash,
            i as u64,
            tx,
            from,
            receipt,
            prev_cumulative,
            log_index,
        );
        prev_cumulative = r.inner.cumulative_gas_used();
        log_index += r.inner.logs().len() as u64;
        out.push(r);
    }
    Ok(Some(out))
}

/// A log with where it sits.
fn rpc_log(
    inner: alloy_primitives::Log,
    header: &Header,
    block_hash: B256,
    tx_hash: B256,
    tx_index: u64,
    log_index: u64,
) -> Log {
    Log {
        inner,
        block_hash: Some(block_hash),
        block_number: Some(header.number),
        block_timestamp: Some(header.timestamp),
        transaction_hash: Some(tx_hash),
        transaction_index: Some(tx_index),
        log_index: Some(log_index),
        removed: false,
    }
}

/// One receipt with its block context; `log_index` is the block-wide index of its first log.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rpc_receipt(
    header: &Header,
    block_hash: B256,
    index: u64,
    tx: &TxEnvelope,
    from: Address,
    receipt: Receipt,
    prev_cumulative: u64,
    first_log_index: u64,
) -> RpcReceipt {
    let tx_hash = *tx.tx_hash();
    let gas_used = receipt.cumulative_gas_used() - prev_cumulative;
    let base_fee = header.base_fee_per_gas;
    let effective_gas_price = tx.effective_gas_price(base_fee);
    let blob_gas_used = tx.blob_gas_used();
    let blob_gas_price = blob_gas_used.and(header.excess_blob_gas).map(calc_blob_gasprice);
    let contract_address = tx.to().is_none().then(|| from.create(tx.nonce()));
    let mut next_log = first_log_index;
    let inner = receipt.map_logs(|log| {
        next_log += 1;
        rpc_log(log, header, block_hash, tx_hash, index, next_log - 1)
    });
    TransactionReceipt {
        inner,
        transaction_hash: tx_hash,
        transaction_index: Some(index),
        block_hash: Some(block_hash),
        block_number: Some(header.number),
        gas_used,
        effective_gas_price,
        blob_gas_used,
        blob_gas_price,
        from,
        to: tx.to(),
        contract_address,
    }
}

/// Receipt of the transaction with hash `hash`; `None` if it is not in a block.
pub(crate) fn receipt_by_hash(ro: &Provider<Ro>, hash: &B256) -> RpcResult<Option<RpcReceipt>> {
    let Some(tx_num) = ro.transaction_number(hash)? else { return Ok(None) };
    let Some(number) = ro.transaction_block(tx_num)? else { return Ok(None) };
    let Some(idx) = ro.block_indices(number)? else { return Ok(None) };
    let i = tx_num - idx.first_tx;
    let (Some(header), Some(block_hash), Some(tx), Some(from), Some(receipt)) = (
        ro.header(number)?,
        ro.canonical_hash(number)?,
        ro.transaction(tx_num)?,
        ro.sender(tx_num)?,
        ro.receipt(tx_num)?,
    ) else {
        return Ok(None);
    };
    let (prev_cumulative, first_log) = if i == 0 {
        (0, 0)
    } else {
        let mut logs = 0u64;
        let mut prev = 0u64;
        for n in idx.first_tx..tx_num {
            let r = ro.receipt(n)?.ok_or_else(|| {
                RpcError::Internal(format!("no receipt stored for tx number {n}"))
            })?;
            logs += r.logs().len() as u64;
            prev = r.cumulative_gas_used();
        }
        (prev, logs)
    };
    Ok(Some(rpc_receipt(&header, block_hash, i, &tx, from, receipt, prev_cumulative, first_log)))
}

/// The transaction with hash `hash` in a block; `None` if not mined.
pub(crate) fn tx_by_hash(ro: &Provider<Ro>, hash: &B256) -> RpcResult<Option<RpcTx>> {
    let Some(tx_num) = ro.transaction_number(hash)? else { return Ok(None) };
    tx_by_number(ro, tx_num)
}

/// The transaction with number `tx_num`.
pub(crate) fn tx_by_number(ro: &Provider<Ro>, tx_num: u64) -> RpcResult<Option<RpcTx>> {
    let Some(number) = ro.transaction_block(tx_num)? else { return Ok(None) };
    let (Some(idx), Some(header), Some(block_hash), Some(tx), Some(from)) = (
        ro.block_indices(number)?,
        ro.header(number)?,
        ro.canonical_hash(number)?,
        ro.transaction(tx_num)?,
        ro.sender(tx_num)?,
    ) else {
        return Ok(None);
    };
    Ok(Some(rpc_tx(tx, from, &header, block_hash, tx_num - idx.first_tx)))
}

/// The `index`-th transaction of block `number`.
pub(crate) fn tx_in_block(ro: &Provider<Ro>, number: u64, index: u64) -> RpcResult<Option<RpcTx>> {
    let Some(idx) = ro.block_indices(number)? else { return Ok(None) };
    if index >= idx.tx_count {
        return Ok(None);
    }
    tx_by_number(ro, idx.first_tx + index)
}

/// The transaction hash the logs of block `number`'s system calls (state-sync deliveries)
/// carry: Bor's derived hash, `keccak256("matic-bor-receipt-" ‖ number (8 bytes, big-endian)
/// ‖ blockHash)`, so tools that know Bor's state-sync logs read ours alike.
pub fn state_sync_tx_hash(number: u64, block_hash: B256) -> B256 {
    let mut key = b"matic-bor-receipt-".to_vec();
    key.extend_from_slice(&number.to_be_bytes());
    key.extend_from_slice(block_hash.as_slice());
    alloy_primitives::keccak256(key)
}

impl RpcContext {
    /// Whether block `number` (with `header`) may hold logs `filter` matches: its bloom
    /// matches, or it has system logs (which the bloom does not cover).
    pub(crate) fn may_match(
        ro: &Provider<Ro>,
        filter: &alloy_rpc_types_eth::Filter,
        header: &Header,
    ) -> RpcResult<bool> {
        Ok(filter.matches_bloom(header.logs_bloom) || !ro.system_logs(header.number)?.is_empty())
    }

    /// Logs of block `number` with their block context: its transactions' logs, then the
    /// logs of its system calls (state-sync deliveries, under [`state_sync_tx_hash`] and the
    /// transaction index after the last transaction). Reads the block and its receipts
    /// only: senders and full receipt objects are not needed for logs.
    pub(crate) fn block_logs(ro: &Provider<Ro>, number: u64) -> RpcResult<Vec<Log>> {
        let (Some(block), Some(hash), Some(receipts)) =
            (ro.block(number)?, ro.canonical_hash(number)?, ro.receipts(number)?)
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (i, (tx, receipt)) in block.body.transactions.iter().zip(receipts).enumerate() {
            for log in receipt.into_logs() {
                let log_index = out.len() as u64;
                out.push(rpc_log(log, &block.header, hash, *tx.tx_hash(), i as u64, log_index));
            }
        }
        let system = ro.system_logs(number)?;
        if !system.is_empty() {
            let (tx_hash, tx_index) =
                (state_sync_tx_hash(number, hash), block.body.transactions.len() as u64);
            for log in system {
                let log_index = out.len() as u64;
                out.push(rpc_log(log, &block.header, hash, tx_hash, tx_index, log_index));
            }
        }
        Ok(out)
    }
}
