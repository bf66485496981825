//! Deposits by consensus, node side: the watchers of the configured roots, the records a
//! proposer puts in its block and the check every validator runs on a proposed block's
//! records (`bttc_bridge::state_sync` holds the rules; this module ties them to the chain's
//! state: what `StateReceiver` already has).

use bttc_bridge::{RootRecords, WatchConfig, Watcher};
use bttc_consensus::core_types::Round;
use bttc_contracts::{STATE_RECEIVER, state_sync::last_state_id_slot};
use bttc_primitives::StateSyncRecord;
use bttc_storage::{DatabaseEnv, StateProvider, StorageError};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::task::JoinHandle;
use tracing::warn;

/// How long a record must have been read before this node proposes it, so that the other
/// validators (polling their roots every second) have read it too.
pub(crate) const SETTLE: Duration = Duration::from_secs(2);

/// `StateReceiver.lastStateId(root_id)` in `state` (slot 0 of the contract is the mapping).
pub(crate) fn delivered(state: &impl StateProvider, root_id: u64) -> Result<u64, StorageError> {
    Ok(state.storage(&STATE_RECEIVER, &last_state_id_slot(root_id))?.saturating_to())
}

/// The records this node puts in its block at `round` on top of `state`: none after round 0
/// (a round that failed may have failed on a record some validators had not read; the next
/// block tries again), none when `state` cannot be read.
pub(crate) fn for_proposal(
    records: &RootRecords,
    state: &impl StateProvider,
    round: Round,
) -> Vec<StateSyncRecord> {
    if round != Round::new(0) || records.is_empty() {
        return Vec::new();
    }
    let failed = std::cell::Cell::new(false);
    let out = records.for_block(
        |root| {
            delivered(state, root).unwrap_or_else(|e| {
                warn!(target: "bttc::bridge", root, error = %e, "cannot read StateReceiver; proposing no state syncs");
                failed.set(true);
                u64::MAX - 1
            })
        },
        SETTLE,
    );
    if failed.get() { Vec::new() } else { out }
}

/// Checks a proposed block's `records` against this node's reading of its roots, on top of
/// `state` (the block's parent).
pub(crate) fn check(
    records: &RootRecords,
    state: &impl StateProvider,
    block: &[StateSyncRecord],
) -> Result<(), String> {
    if block.is_empty() {
        return Ok(());
    }
    let mut last = HashMap::new();
    for r in block {
        if let std::collections::hash_map::Entry::Vacant(e) = last.entry(r.root_id) {
            e.insert(delivered(state, r.root_id).map_err(|e| e.to_string())?);
        }
    }
    records.check(block, |root| last[&root]).map_err(|e| e.to_string())
}

/// Starts one watcher per configured root; each forgets what the chain in `db` has delivered.
pub(crate) fn spawn_watchers(
    configs: &[WatchConfig],
    records: &Arc<RootRecords>,
    db: &DatabaseEnv,
) -> Vec<JoinHandle<()>> {
    configs
        .iter()
        .map(|c| {
            let db = db.clone();
            let delivered: bttc_bridge::state_sync::Delivered = Arc::new(move |root| {
                db.ro().and_then(|ro| delivered(&ro, root)).unwrap_or_default()
            });
            tokio::spawn(Watcher::new(c.clone(), records.clone(), delivered).run())
        })
        .collect()
}
