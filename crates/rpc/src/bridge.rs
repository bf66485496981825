//! The bridge's methods:
//!
//! - `bttc_getStateSyncStatus()`: per watched root, what this node read from its
//!   `StateSender` (final root blocks read, the last record id, records waiting) and what the
//!   chain delivered (`StateReceiver.lastStateId` at the head);
//! - `bttc_getWithdrawalStatus(txHash[, root])`: where a withdrawal stands: `pendingCheckpoint`,
//!   `checkpointed` (ready to exit) or `exited` (when the node reads the root's
//!   `RootChainManager`, `--root …,root_chain_manager=`; else look the exit id up in its
//!   `processedExits`);
//! - `bttc_getExitPayload(txHash, logIndex[, root])`: the exit payload of a withdrawal log, in
//!   pos-portal's format (`bttc_bridge::ExitPayload`), once a checkpoint on a root chain covers
//!   its block. The answer carries the payload and what it was built from:
//!
//! ```json
//! {"payload":"0x…","root":"eth","rootChain":"0x…","headerBlockId":"0x4e20",
//!  "checkpoint":{"start":"0x21","end":"0x40","rootHash":"0x…"},
//!  "blockNumber":"0x24","txIndex":"0x3","logIndex":"0x1","exitId":"0x…"}
//! ```
//!
//! `null` for an unknown transaction; an invalid-params error for a log index beyond the
//! receipt's logs or an unknown root name; a server error (-32000) while no stored
//! checkpoint covers the block, or while the checkpoint is not known to have landed on the
//! root (this node learns that from the roots it is configured with, `--root`, with or
//! without a submitter key).

use crate::{
    RpcContext,
    error::{RpcError, RpcResult},
};
use alloy_primitives::{Address, B256, Bytes, U64};
use bttc_checkpoint::SignedCheckpoint;
use bttc_storage::StateProvider;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckpointRef {
    start: U64,
    end: U64,
    root_hash: B256,
}

/// The answer of `bttc_getExitPayload`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExitPayloadJson {
    payload: Bytes,
    root: String,
    root_chain: Address,
    header_block_id: U64,
    checkpoint: CheckpointRef,
    block_number: U64,
    tx_index: U64,
    log_index: U64,
    exit_id: B256,
}

/// One root in `bttc_getStateSyncStatus`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StateSyncStatusJson {
    #[serde(flatten)]
    read: bttc_bridge::state_sync::RootSyncStatus,
    /// The last id `StateReceiver` committed for this root at the head.
    delivered: u64,
}

/// The answer of `bttc_getWithdrawalStatus`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WithdrawalStatusJson {
    /// `pendingCheckpoint`, `checkpointed` or `exited`.
    status: &'static str,
    block_number: U64,
    log_index: U64,
    exit_id: B256,
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_chain: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header_block_id: Option<U64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Where transaction `tx_hash` is: `(block, index in the block)`, `None` if unknown.
fn locate(
    ro: &bttc_storage::Provider<bttc_storage::Ro>,
    tx_hash: B256,
) -> RpcResult<Option<(u64, u64)>> {
    let Some(tx_num) = ro.transaction_number(&tx_hash)? else { return Ok(None) };
    let block = ro
        .transaction_block(tx_num)?
        .ok_or_else(|| RpcError::Internal(format!("transaction {tx_hash} has no block")))?;
    let idx = ro
        .block_indices(block)?
        .ok_or_else(|| RpcError::Internal(format!("block {block} has no body indices")))?;
    Ok(Some((block, tx_num - idx.first_tx)))
}

impl RpcContext {
    /// `bttc_getStateSyncStatus`.
    pub(crate) fn state_sync_status(&self) -> RpcResult<Vec<StateSyncStatusJson>> {
        let Some(records) = &self.state_syncs else { return Ok(Vec::new()) };
        let ro = self.ro()?;
        records
            .status()
            .into_iter()
            .map(|read| {
                let slot = bttc_contracts::state_sync::last_state_id_slot(read.root_id);
                let delivered =
                    ro.storage(&bttc_contracts::STATE_RECEIVER, &slot)?.saturating_to::<u64>();
                Ok(StateSyncStatusJson { read, delivered })
            })
            .collect()
    }

    /// `bttc_getWithdrawalStatus`: the first `WithdrawTo` log of `tx_hash`.
    pub(crate) fn withdrawal_status(
        &self,
        tx_hash: B256,
        root: Option<String>,
    ) -> RpcResult<Option<WithdrawalStatusJson>> {
        let withdraw_to = alloy_primitives::keccak256("WithdrawTo(address,address,uint256)");
        let (block, tx_index, log_index) = {
            let ro = self.ro()?;
            let Some((block, tx_index)) = locate(&ro, tx_hash)? else { return Ok(None) };
            let receipts = ro.receipts(block)?.unwrap_or_default();
            let log = receipts
                .get(tx_index as usize)
                .and_then(|r| {
                    r.logs().iter().position(|l| l.topics().first() == Some(&withdraw_to))
                })
                .ok_or_else(|| {
                    RpcError::InvalidParams(format!(
                        "transaction {tx_hash} logs no WithdrawTo: it is not a withdrawal"
                    ))
                })?;
            (block, tx_index, log as u64)
        };
        let mut out = WithdrawalStatusJson {
            status: "pendingCheckpoint",
            block_number: U64::from(block),
            log_index: U64::from(log_index),
            exit_id: bttc_bridge::exit_id(block, tx_index, log_index),
            root: None,
            root_chain: None,
            header_block_id: None,
            reason: None,
        };
        match self.exit_payload(tx_hash, log_index, root) {
            Ok(Some(p)) => {
                let exited = self.state_syncs.as_ref().and_then(|r| r.exited(&p.root, out.exit_id));
                out.status = if exited == Some(true) { "exited" } else { "checkpointed" };
                out.root = Some(p.root);
                out.root_chain = Some(p.root_chain);
                out.header_block_id = Some(p.header_block_id);
            }
            Ok(None) => return Ok(None),
            Err(RpcError::NotReady(reason)) => out.reason = Some(reason),
            Err(e) => return Err(e),
        }
        Ok(Some(out))
    }

    /// How many stored checkpoints end in `(from, to]`, walking them one after another;
    /// `None` unless the walk ends exactly at `to` (the table does not reach it).
    fn checkpoints_between(
        ro: &bttc_storage::Provider<bttc_storage::Ro>,
        from: u64,
        to: u64,
    ) -> RpcResult<Option<u64>> {
        let (mut n, mut at) = (0u64, from + 1);
        while let Some((end, _)) = ro.checkpoint_from(at)? {
            if end > to {
                break;
            }
            n += 1;
            at = end + 1;
        }
        Ok((at == to + 1).then_some(n))
    }

    /// `bttc_getExitPayload`.
    pub(crate) fn exit_payload(
        &self,
        tx_hash: B256,
        log_index: u64,
        root: Option<String>,
    ) -> RpcResult<Option<ExitPayloadJson>> {
        let ro = self.ro()?;
        let Some((block, tx_index)) = locate(&ro, tx_hash)? else { return Ok(None) };
        let tx_index = tx_index as usize;
        let header = ro.header(block)?.ok_or(RpcError::HeaderNotFound)?;
        let receipts = ro.receipts(block)?.unwrap_or_default();
        let logs = receipts.get(tx_index).map(|r| r.logs().len()).unwrap_or_default();
        if log_index >= logs as u64 {
            return Err(RpcError::InvalidParams(format!(
                "transaction {tx_hash} has {logs} logs; no log at index {log_index}"
            )));
        }
        let status = self.checkpoint_status.as_ref();
        if let (Some(name), Some(s)) = (&root, status)
            && !s.has_root(name)
        {
            return Err(RpcError::InvalidParams(format!("no root chain named {name:?} here")));
        }
        let not_yet = |what: String| RpcError::NotReady(what);
        let Some((end, bytes)) = ro.checkpoint_from(block)? else {
            let last = ro.last_checkpoint()?.map(|(e, _)| e);
            return Err(not_yet(format!(
                "block {block} is not in a checkpoint yet (the last ends at {})",
                last.map_or("none".into(), |e| e.to_string())
            )));
        };
        let c = SignedCheckpoint::decode(&bytes)
            .map_err(|e| RpcError::Internal(format!("stored checkpoint ending at {end}: {e}")))?;
        let (start, end) = (c.checkpoint.start, c.checkpoint.end);
        if block < start {
            return Err(not_yet(format!("block {block} is in no stored checkpoint")));
        }
        let known = match status.and_then(|s| s.header_block(root.as_deref(), end)) {
            Some(k) => Some(k),
            // An older checkpoint than the ones this node saw land: count from one it did
            // (the root holds the same sequence of checkpoints as the local table).
            // Only an anchor this node's own table reaches: a node still catching up (a full
            // node that read the root's latest id before it synced that far) would count
            // too few checkpoints and name the wrong one.
            None => {
                let held = ro.last_checkpoint()?.map_or(0, |(e, _)| e);
                match status.and_then(|s| s.anchor(root.as_deref(), held)) {
                    Some((name, rc, anchor_end, anchor_id)) if anchor_end >= end => {
                        Self::checkpoints_between(&ro, end, anchor_end)?.and_then(|behind| {
                            anchor_id
                                .checked_sub(10_000 * behind)
                                .filter(|id| *id > 0)
                                .map(|id| (name, rc, id))
                        })
                    }
                    _ => None,
                }
            }
        };
        let Some((name, root_chain, id)) = known else {
            return Err(not_yet(format!(
                "checkpoint [{start}, {end}] is not known to be on {} yet",
                root.map_or("any root chain this node watches (--root)".into(), |r| format!(
                    "root {r:?}"
                ))
            )));
        };
        let mut range = Vec::with_capacity((end - start + 1) as usize);
        for n in start..=end {
            range.push(ro.header(n)?.ok_or_else(|| {
                RpcError::Internal(format!("block {n} of checkpoint [{start}, {end}] missing"))
            })?);
        }
        let p =
            bttc_bridge::ExitPayload::build(&header, &receipts, tx_index, log_index, &range, id)
                .map_err(|e| RpcError::Internal(e.to_string()))?;
        p.verify(start, c.checkpoint.root_hash)
            .map_err(|e| RpcError::Internal(format!("the payload built does not check: {e}")))?;
        Ok(Some(ExitPayloadJson {
            payload: p.encode(),
            root: name,
            root_chain,
            header_block_id: U64::from(id),
            checkpoint: CheckpointRef {
                start: U64::from(start),
                end: U64::from(end),
                root_hash: c.checkpoint.root_hash,
            },
            block_number: U64::from(block),
            tx_index: U64::from(tx_index),
            log_index: U64::from(log_index),
            exit_id: bttc_bridge::exit_id(block, tx_index as u64, log_index),
        }))
    }
}
