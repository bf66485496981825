//! Deposits by consensus: what each validator has seen final on its roots' `StateSender`,
//! which records a proposer puts in a block, and the check every validator runs on them.
//!
//! - [`Watcher`] (one task per root with a `StateSender`) reads `StateSynced` logs up to the
//!   root's `finalized` block (or `head - confirmations + 1` where configured), block range by
//!   block range, into the shared [`RootRecords`]. It keeps only records the chain has not
//!   delivered yet (ids above `StateReceiver.lastStateId` at bttc's head), notices a root
//!   that reorganised under what it read (the last block it read changed hash) and reads
//!   again from the start, and backs off 1-30 s while the root is down.
//! - A proposer ([`RootRecords::for_block`]) takes, per root, the records that follow the
//!   last delivered id without a gap, seen at least `settle` ago (so the other validators,
//!   polling their own RPC, have seen them too), within the per-block limits.
//! - A validator ([`RootRecords::check`]) accepts a block's records only when each is the
//!   next id of its root and equal, byte for byte, to the record its own watcher read. A
//!   record it has not seen yet makes it refuse the block; proposers include records only in
//!   round 0, so a lagging root RPC costs at most one round, never the chain.
//!
//! With the root's `RootChainManager` configured, the watcher also reads its `ExitProcessed`
//! events, so the node can tell a withdrawal that has exited ([`RootRecords::exited`]).
//!
//! Exactly once and in order: `StateReceiver` refuses any id but `last + 1` per root, and a
//! block's records are checked against the state the block executes on.

use alloy_primitives::{Address, B256};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::{BlockNumberOrTag, Filter};
use alloy_sol_types::SolEvent;
use bttc_contracts::{
    bridge::RootChainManager::ExitProcessed, state_sync::StateSender::StateSynced,
};
use bttc_primitives::{LastCommit, StateSyncRecord};
use parking_lot::RwLock;
use serde::Serialize;
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::{debug, info, warn};

/// Root blocks read per `eth_getLogs`.
const LOG_WINDOW: u64 = 2_000;
/// Records kept per root beyond the delivered id (memory bound while the chain is behind).
const MAX_PENDING: usize = 100_000;

/// A block's records that a validator refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateSyncError {
    /// No watcher of this node reads that root.
    #[error("state sync from root {root_id}, which this node does not watch")]
    UnknownRoot {
        /// The record's root.
        root_id: u64,
    },
    /// The id is not the next one of its root.
    #[error("state sync {got} of root {root_id} out of order: expected {expected}")]
    OutOfOrder {
        /// The record's root.
        root_id: u64,
        /// Its id.
        got: u64,
        /// The next id of that root.
        expected: u64,
    },
    /// This node's watcher has not read that record (yet).
    #[error(
        "state sync {id} of root {root_id} not seen final by this node (it has read up to root block {read_to})"
    )]
    NotSeen {
        /// The record's root.
        root_id: u64,
        /// Its id.
        id: u64,
        /// The last root block this node's watcher read.
        read_to: u64,
    },
    /// The record differs from the one this node read.
    #[error("state sync {id} of root {root_id} differs from the record this node read ({field})")]
    Mismatch {
        /// The record's root.
        root_id: u64,
        /// Its id.
        id: u64,
        /// The first field that differs.
        field: &'static str,
    },
}

/// Talking to a root failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The RPC URL is not a URL.
    #[error("root {root}: bad RPC URL {url}")]
    Url {
        /// The root's name.
        root: String,
        /// The URL given.
        url: String,
    },
    /// A JSON-RPC call failed.
    #[error("root {root}: {call}")]
    Rpc {
        /// The root's name.
        root: String,
        /// The call.
        call: &'static str,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The root answered something that is not a `StateSynced` record.
    #[error("root {root}: undecodable StateSynced log in block {block}")]
    BadLog {
        /// The root's name.
        root: String,
        /// The root block.
        block: u64,
    },
}

/// One record as read, with when and where.
#[derive(Debug, Clone)]
struct Seen {
    record: StateSyncRecord,
    at: Instant,
}

/// What this node has read from one root.
#[derive(Debug, Clone, Default)]
struct RootView {
    name: String,
    /// Root blocks read, through this one.
    read_to: u64,
    /// The highest id read.
    last_id: u64,
    /// Undelivered records by id.
    records: BTreeMap<u64, Seen>,
    last_error: Option<String>,
    /// Whether the watcher reads the root's `RootChainManager` exits too.
    reads_exits: bool,
    /// Exit ids the root's `RootChainManager` processed (in final root blocks).
    exits: HashSet<B256>,
}

/// One root's state sync as `bttc_getStateSyncStatus` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RootSyncStatus {
    /// The root's name.
    pub name: String,
    /// Its chain id (the records' root id).
    pub root_id: u64,
    /// Root blocks read (final ones only), through this one.
    pub read_to: u64,
    /// The highest record id read.
    pub last_id: u64,
    /// Records read and not delivered yet.
    pub pending: usize,
    /// The last error talking to the root, if the last round failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The records every watcher of this node has read, by root id.
#[derive(Debug, Default)]
pub struct RootRecords {
    roots: RwLock<BTreeMap<u64, RootView>>,
}

impl RootRecords {
    /// Whether any root is watched.
    pub fn is_empty(&self) -> bool {
        self.roots.read().is_empty()
    }

    /// The state of every watched root.
    pub fn status(&self) -> Vec<RootSyncStatus> {
        self.roots
            .read()
            .iter()
            .map(|(id, v)| RootSyncStatus {
                name: v.name.clone(),
                root_id: *id,
                read_to: v.read_to,
                last_id: v.last_id,
                pending: v.records.len(),
                last_error: v.last_error.clone(),
            })
            .collect()
    }

    /// The records a block should carry: per root, those following `delivered(root)`
    /// without a gap that were read at least `settle` ago, within the block's limits.
    pub fn for_block(
        &self,
        delivered: impl Fn(u64) -> u64,
        settle: Duration,
    ) -> Vec<StateSyncRecord> {
        let now = Instant::now();
        let mut out: Vec<StateSyncRecord> = Vec::new();
        let mut data = 0;
        'roots: for (root_id, v) in self.roots.read().iter() {
            let mut next = delivered(*root_id) + 1;
            while let Some(s) = v.records.get(&next) {
                if now.duration_since(s.at) < settle
                    || !LastCommit::fits_state_sync(out.len(), data, &s.record)
                {
                    continue 'roots;
                }
                data += s.record.data.len();
                out.push(s.record.clone());
                next += 1;
            }
        }
        out
    }

    /// Checks a block's `records` against what this node read: per root, ids follow
    /// `delivered(root)` one by one, and each record is the one read.
    pub fn check(
        &self,
        records: &[StateSyncRecord],
        delivered: impl Fn(u64) -> u64,
    ) -> Result<(), StateSyncError> {
        let roots = self.roots.read();
        let mut next: HashMap<u64, u64> = HashMap::new();
        for r in records {
            let v =
                roots.get(&r.root_id).ok_or(StateSyncError::UnknownRoot { root_id: r.root_id })?;
            let expected = next.entry(r.root_id).or_insert_with(|| delivered(r.root_id) + 1);
            if r.id != *expected {
                return Err(StateSyncError::OutOfOrder {
                    root_id: r.root_id,
                    got: r.id,
                    expected: *expected,
                });
            }
            *expected += 1;
            let seen = v.records.get(&r.id).ok_or(StateSyncError::NotSeen {
                root_id: r.root_id,
                id: r.id,
                read_to: v.read_to,
            })?;
            let field = if seen.record.receiver != r.receiver {
                Some("receiver")
            } else if seen.record.data != r.data {
                Some("data")
            } else if seen.record.time != r.time {
                Some("time")
            } else {
                None
            };
            if let Some(field) = field {
                return Err(StateSyncError::Mismatch { root_id: r.root_id, id: r.id, field });
            }
        }
        Ok(())
    }

    /// Whether root `name`'s `RootChainManager` has processed exit `exit_id` (in a final root
    /// block); `None` when this node does not read that root's exits.
    pub fn exited(&self, name: &str, exit_id: B256) -> Option<bool> {
        self.roots
            .read()
            .values()
            .find(|v| v.name == name && v.reads_exits)
            .map(|v| v.exits.contains(&exit_id))
    }

    /// Forgets the records of root `root_id` through id `delivered` (the chain has them).
    pub fn prune(&self, root_id: u64, delivered: u64) {
        if let Some(v) = self.roots.write().get_mut(&root_id) {
            v.records = v.records.split_off(&(delivered + 1));
        }
    }

    /// Adds records read from `root_id` (tests and the watcher).
    pub fn insert(&self, root_id: u64, name: &str, read_to: u64, records: Vec<StateSyncRecord>) {
        self.insert_read(root_id, name, read_to, records, Vec::new());
    }

    /// Adds records and exits read from `root_id`.
    fn insert_read(
        &self,
        root_id: u64,
        name: &str,
        read_to: u64,
        records: Vec<StateSyncRecord>,
        exits: Vec<B256>,
    ) {
        let mut roots = self.roots.write();
        let v = roots.entry(root_id).or_default();
        v.exits.extend(exits);
        v.name = name.to_string();
        v.read_to = v.read_to.max(read_to);
        let now = Instant::now();
        for r in records {
            v.last_id = v.last_id.max(r.id);
            if v.records.len() < MAX_PENDING {
                v.records.entry(r.id).or_insert(Seen { record: r, at: now });
            }
        }
    }

    /// Drops everything read from `root_id` (the root reorganised under it).
    fn reset(&self, root_id: u64) {
        if let Some(v) = self.roots.write().get_mut(&root_id) {
            v.records.clear();
            v.exits.clear();
            v.read_to = 0;
            v.last_id = 0;
        }
    }

    /// Registers the watcher of root `name` (chain id `root_id`); refused, with the name of
    /// the root already registered, when another root has that chain id (their record ids
    /// would mix).
    fn start(&self, root_id: u64, name: &str, reads_exits: bool) -> Result<(), String> {
        let mut roots = self.roots.write();
        let v = roots.entry(root_id).or_default();
        if !v.name.is_empty() && v.name != name {
            return Err(v.name.clone());
        }
        v.name = name.to_string();
        v.reads_exits = reads_exits;
        Ok(())
    }

    fn set_error(&self, root_id: u64, name: &str, error: Option<String>) {
        let mut roots = self.roots.write();
        let v = roots.entry(root_id).or_default();
        v.name = name.to_string();
        v.last_error = error;
    }
}

/// One root whose `StateSender` a node reads.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The root's name (logs, status).
    pub name: String,
    /// Its JSON-RPC endpoint.
    pub rpc_url: String,
    /// Its `StateSender`.
    pub state_sender: Address,
    /// Its `RootChainManager`, whose exits the node reads too (for
    /// `bttc_getWithdrawalStatus`), if configured.
    pub manager: Option<Address>,
    /// `None`: read up to the root's `finalized` block; `Some(n)`: up to `head - n + 1`.
    pub confirmations: Option<u64>,
    /// The first root block to read (where `StateSender` was deployed, or 0).
    pub from_block: u64,
    /// How often the root is read.
    pub poll: Duration,
}

/// The records already on bttc, per root id (`StateReceiver.lastStateId` at the head).
pub type Delivered = Arc<dyn Fn(u64) -> u64 + Send + Sync>;

/// Reads one root's `StateSynced` records into [`RootRecords`].
pub struct Watcher {
    config: WatchConfig,
    records: Arc<RootRecords>,
    delivered: Delivered,
    /// The last block read and its hash (to notice a reorg under it).
    cursor: Option<(u64, B256)>,
    times: HashMap<u64, u64>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("config", &self.config)
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl Watcher {
    /// A watcher of `config`'s root feeding `records`; `delivered` tells what bttc has.
    pub fn new(config: WatchConfig, records: Arc<RootRecords>, delivered: Delivered) -> Self {
        Self { config, records, delivered, cursor: None, times: HashMap::new() }
    }

    /// Runs until the task is dropped.
    pub async fn run(mut self) {
        let name = self.config.name.clone();
        let url = match self.config.rpc_url.parse() {
            Ok(u) => u,
            Err(_) => {
                let e = WatchError::Url { root: name.clone(), url: self.config.rpc_url.clone() };
                warn!(target: "bttc::bridge", error = %e, "state-sync watcher not started");
                return;
            }
        };
        let root = ProviderBuilder::new().connect_http(url);
        let mut backoff = self.config.poll;
        let root_id = loop {
            match root.get_chain_id().await {
                Ok(id) => break id,
                Err(e) => {
                    warn!(target: "bttc::bridge", root = %name, error = %e, "root chain not answering; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        };
        if let Err(other) = self.records.start(root_id, &name, self.config.manager.is_some()) {
            tracing::error!(target: "bttc::bridge", root = %name, other = %other, root_id, "two roots with one chain id: deposits from this one are not read (their record ids would mix); give each bridge root its own chain");
            return;
        }
        info!(target: "bttc::bridge", root = %name, root_id, state_sender = %self.config.state_sender, manager = ?self.config.manager, "watching the root's StateSender");
        loop {
            match self.round(&root, root_id).await {
                Ok(more) => {
                    self.records.set_error(root_id, &name, None);
                    backoff = self.config.poll;
                    if more {
                        continue;
                    }
                }
                Err(e) => {
                    warn!(target: "bttc::bridge", root = %name, error = %e, retry_in = ?backoff, "reading state syncs failed");
                    self.records.set_error(root_id, &name, Some(e.to_string()));
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
            tokio::time::sleep(backoff).await;
        }
    }

    fn rpc<E: std::error::Error + Send + Sync + 'static>(
        &self,
        call: &'static str,
    ) -> impl Fn(E) -> WatchError + '_ {
        move |e| WatchError::Rpc { root: self.config.name.clone(), call, source: Box::new(e) }
    }

    /// Reads the next range of final root blocks; `true` when more are waiting.
    async fn round(&mut self, root: &impl Provider, root_id: u64) -> Result<bool, WatchError> {
        let delivered = (self.delivered)(root_id);
        self.records.prune(root_id, delivered);
        // A reorg under the last block read: read everything again.
        if let Some((n, hash)) = self.cursor {
            let now = root
                .get_block_by_number(n.into())
                .await
                .map_err(self.rpc("eth_getBlockByNumber"))?
                .map(|b| b.header.hash);
            if now != Some(hash) {
                warn!(target: "bttc::bridge", root = %self.config.name, block = n, "the root reorganised under the records read; reading them again");
                self.records.reset(root_id);
                self.cursor = None;
                self.times.clear();
            }
        }
        let target = match self.config.confirmations {
            Some(c) => root
                .get_block_number()
                .await
                .map_err(self.rpc("eth_blockNumber"))?
                .saturating_sub(c.saturating_sub(1)),
            None => root
                .get_block_by_number(BlockNumberOrTag::Finalized)
                .await
                .map_err(self.rpc("eth_getBlockByNumber(finalized)"))?
                .map(|b| b.header.number)
                .unwrap_or_default(),
        };
        let from = self.cursor.map_or(self.config.from_block, |(n, _)| n + 1);
        if target < from {
            return Ok(false);
        }
        let to = target.min(from + LOG_WINDOW - 1);
        let mut addresses = vec![self.config.state_sender];
        addresses.extend(self.config.manager);
        let filter = Filter::new()
            .address(addresses)
            .event_signature(vec![StateSynced::SIGNATURE_HASH, ExitProcessed::SIGNATURE_HASH])
            .from_block(from)
            .to_block(to);
        let logs = root.get_logs(&filter).await.map_err(self.rpc("eth_getLogs"))?;
        let (mut read, mut exits) = (Vec::new(), Vec::new());
        for log in logs {
            let block = log.block_number.unwrap_or(to);
            let bad = || WatchError::BadLog { root: self.config.name.clone(), block };
            if log.topic0() == Some(&ExitProcessed::SIGNATURE_HASH) {
                if Some(log.address()) == self.config.manager {
                    let ev = ExitProcessed::decode_log_data(&log.inner.data).map_err(|_| bad())?;
                    exits.push(ev.exitId);
                }
                continue;
            }
            if log.address() != self.config.state_sender {
                continue;
            }
            let ev = StateSynced::decode_log_data(&log.inner.data).map_err(|_| bad())?;
            let id: u64 = ev.id.try_into().map_err(|_| bad())?;
            if id <= delivered {
                continue;
            }
            let time = match (log.block_timestamp, self.times.get(&block)) {
                (Some(t), _) | (None, Some(&t)) => t,
                (None, None) => {
                    let t = root
                        .get_block_by_number(block.into())
                        .await
                        .map_err(self.rpc("eth_getBlockByNumber"))?
                        .map(|b| b.header.timestamp)
                        .ok_or_else(bad)?;
                    self.times.insert(block, t);
                    t
                }
            };
            read.push(StateSyncRecord {
                root_id,
                id,
                time,
                receiver: ev.contractAddress,
                data: ev.data,
            });
        }
        let hash = root
            .get_block_by_number(to.into())
            .await
            .map_err(self.rpc("eth_getBlockByNumber"))?
            .map(|b| b.header.hash)
            .unwrap_or_default();
        if !read.is_empty() {
            info!(target: "bttc::bridge", root = %self.config.name, from, to, records = read.len(), first = read[0].id, "state syncs read");
        } else {
            debug!(target: "bttc::bridge", root = %self.config.name, from, to, "no state syncs");
        }
        if !exits.is_empty() {
            debug!(target: "bttc::bridge", root = %self.config.name, from, to, exits = exits.len(), "exits read");
        }
        self.records.insert_read(root_id, &self.config.name, to, read, exits);
        self.cursor = Some((to, hash));
        self.times.retain(|b, _| *b > to);
        Ok(to < target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Bytes;

    fn record(root_id: u64, id: u64) -> StateSyncRecord {
        StateSyncRecord {
            root_id,
            id,
            time: 100 + id,
            receiver: Address::repeat_byte(1),
            data: Bytes::from(vec![id as u8; 3]),
        }
    }

    #[test]
    fn proposers_take_the_next_records_without_gaps_and_validators_check_them() {
        let r = RootRecords::default();
        r.insert(7, "a", 50, vec![record(7, 3), record(7, 4), record(7, 6)]);
        r.insert(9, "b", 10, vec![record(9, 1)]);
        let delivered = |root: u64| if root == 7 { 2 } else { 0 };
        // Not settled yet: nothing.
        assert!(r.for_block(delivered, Duration::from_secs(60)).is_empty());
        let got = r.for_block(delivered, Duration::ZERO);
        assert_eq!(got, vec![record(7, 3), record(7, 4), record(9, 1)], "stops at the gap");
        assert_eq!(r.check(&got, delivered), Ok(()));
        // Refusals.
        assert_eq!(
            r.check(&[record(7, 4)], delivered),
            Err(StateSyncError::OutOfOrder { root_id: 7, got: 4, expected: 3 })
        );
        assert_eq!(
            r.check(&[record(7, 3), record(7, 3)], delivered),
            Err(StateSyncError::OutOfOrder { root_id: 7, got: 3, expected: 4 })
        );
        assert_eq!(
            r.check(&[record(7, 3), record(7, 4), record(7, 5)], delivered),
            Err(StateSyncError::NotSeen { root_id: 7, id: 5, read_to: 50 })
        );
        assert_eq!(
            r.check(&[record(8, 1)], delivered),
            Err(StateSyncError::UnknownRoot { root_id: 8 })
        );
        let mut forged = record(7, 3);
        forged.data = Bytes::from_static(b"mint me a million");
        assert_eq!(
            r.check(&[forged], delivered),
            Err(StateSyncError::Mismatch { root_id: 7, id: 3, field: "data" })
        );
        let mut moved = record(9, 1);
        moved.receiver = Address::repeat_byte(2);
        assert_eq!(
            r.check(&[moved], delivered),
            Err(StateSyncError::Mismatch { root_id: 9, id: 1, field: "receiver" })
        );
        // Delivered records are forgotten; the status shows what is left.
        r.prune(7, 4);
        let s = r.status();
        assert_eq!((s[0].root_id, s[0].pending, s[0].last_id, s[0].read_to), (7, 1, 6, 50));
        assert_eq!((s[1].root_id, s[1].pending), (9, 1));
        // Exits are known for roots whose manager is read.
        r.start(7, "a", true).unwrap();
        assert_eq!(r.start(7, "other", false), Err("a".to_string()), "one chain id, two roots");
        r.insert_read(7, "a", 60, Vec::new(), vec![B256::repeat_byte(1)]);
        assert_eq!(r.exited("a", B256::repeat_byte(1)), Some(true));
        assert_eq!(r.exited("a", B256::repeat_byte(2)), Some(false));
        assert_eq!(r.exited("b", B256::repeat_byte(1)), None, "b's exits are not read");
        r.reset(7);
        assert_eq!(r.exited("a", B256::repeat_byte(1)), Some(false), "a reorg forgets them");
    }

    #[test]
    fn a_block_takes_records_within_its_limits() {
        let r = RootRecords::default();
        let big = |id: u64| StateSyncRecord {
            data: Bytes::from(vec![0; bttc_primitives::MAX_STATE_SYNC_DATA]),
            ..record(1, id)
        };
        r.insert(1, "a", 1, (1..=10).map(big).collect());
        let got = r.for_block(|_| 0, Duration::ZERO);
        assert_eq!(
            got.len(),
            bttc_primitives::MAX_STATE_SYNC_BYTES / bttc_primitives::MAX_STATE_SYNC_DATA
        );
        let r2 = RootRecords::default();
        r2.insert(2, "b", 1, (1..=40).map(|i| record(2, i)).collect());
        let got = r2.for_block(|_| 0, Duration::ZERO);
        assert_eq!(got.len(), bttc_primitives::MAX_STATE_SYNCS_PER_BLOCK);
        assert_eq!(r2.check(&got, |_| 0), Ok(()));
    }
}
