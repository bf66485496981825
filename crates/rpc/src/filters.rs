//! `eth_getLogs` and the polling filters (`eth_newFilter`, `eth_newBlockFilter`,
//! `eth_newPendingTransactionFilter`, `eth_getFilterChanges`, `eth_getFilterLogs`).
//!
//! Block and log filters keep only the next block they have not reported: changes are read
//! from the database when polled, so a filter costs nothing between polls. Pending-transaction
//! filters hold a bounded broadcast receiver. Filters not polled within the TTL are dropped.
//!
//! The filter table's lock is held only to look a filter up and to record what a poll
//! reported, never while blocks are read: a poll claims the block range it reports (so two
//! polls of one filter never report a block twice), scans it unlocked, and gives the claim
//! back if the scan fails. Log queries, filters and subscriptions name at most
//! `log_query_limit` addresses and as many topics per position (geth's
//! `--rpc.logquerylimit`), and the installed log filters hold at most [`MAX_FILTER_TERMS`]
//! entries together.

use crate::{RpcContext, RpcError, RpcResult, deadline};
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::{B256, U256};
use alloy_rpc_types_eth::{Filter, FilterBlockOption, FilterChanges, Log};
use bttc_storage::{Provider, Ro};
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use tokio::sync::broadcast;

#[derive(Debug)]
enum FilterKind {
    Blocks { next: u64 },
    Logs { filter: Box<Filter>, next: u64 },
    Pending { rx: broadcast::Receiver<B256> },
}

#[derive(Debug)]
struct Installed {
    kind: FilterKind,
    last_poll: Instant,
    /// Address and topic entries of a log filter (0 for the others).
    terms: usize,
}

/// Most address and topic entries the installed log filters hold together.
pub const MAX_FILTER_TERMS: usize = 100_000;

/// The address and topic entries of `filter`, each set within `limit` (geth's
/// `--rpc.logquerylimit`); more than four topic positions are refused when parsed.
pub(crate) fn filter_terms(filter: &Filter, limit: usize) -> RpcResult<usize> {
    let too_many = |what: String| {
        RpcError::Limit(format!(
            "exceed max addresses or topics per search position: {what}, at most {limit}"
        ))
    };
    let addresses = filter.address.len();
    if addresses > limit {
        return Err(too_many(format!("{addresses} addresses")));
    }
    let mut total = addresses;
    for (i, topics) in filter.topics.iter().enumerate() {
        if topics.len() > limit {
            return Err(too_many(format!("{} topics at position {i}", topics.len())));
        }
        total += topics.len();
    }
    Ok(total)
}

/// The installed filters.
#[derive(Debug)]
pub(crate) struct Filters {
    inner: Mutex<HashMap<U256, Installed>>,
    max: usize,
    ttl: Duration,
    next_id: Mutex<u64>,
}

impl Filters {
    pub(crate) fn new(max: usize, ttl: Duration) -> Self {
        Self { inner: Mutex::new(HashMap::new()), max, ttl, next_id: Mutex::new(1) }
    }

    fn install(&self, kind: FilterKind, terms: usize) -> RpcResult<U256> {
        let mut map = self.inner.lock();
        let now = Instant::now();
        map.retain(|_, f| now.duration_since(f.last_poll) < self.ttl);
        if map.len() >= self.max {
            return Err(RpcError::Limit(format!("too many filters installed (max {})", self.max)));
        }
        let held: usize = map.values().map(|f| f.terms).sum();
        if held + terms > MAX_FILTER_TERMS {
            return Err(RpcError::Limit(format!(
                "too many filter entries installed: {held} held + {terms} asked > \
                 {MAX_FILTER_TERMS}"
            )));
        }
        let id = {
            let mut n = self.next_id.lock();
            *n += 1;
            // Not guessable across restarts, unique within one.
            U256::from(*n) << 64 | U256::from(rand_u64())
        };
        map.insert(id, Installed { kind, last_poll: now, terms });
        Ok(id)
    }

    pub(crate) fn uninstall(&self, id: U256) -> bool {
        self.inner.lock().remove(&id).is_some()
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

/// Resolves a filter's block range against the head: `(from, to)`. As geth: a range that
/// ends before it starts, or past the head, is invalid params.
fn range_of(ro: &Provider<Ro>, filter: &Filter) -> RpcResult<(u64, u64)> {
    let head = RpcContext::head_number(ro)?;
    let num = |tag: Option<BlockNumberOrTag>| -> u64 {
        match tag.unwrap_or(BlockNumberOrTag::Latest) {
            BlockNumberOrTag::Number(n) => n,
            BlockNumberOrTag::Earliest => 0,
            _ => head,
        }
    };
    match &filter.block_option {
        FilterBlockOption::Range { from_block, to_block } => {
            let (from, to) = (num(*from_block), num(*to_block));
            if from > to {
                return Err(RpcError::InvalidParams(format!(
                    "invalid block range params: fromBlock {from} is after toBlock {to}"
                )));
            }
            if to > head {
                return Err(RpcError::InvalidParams(format!(
                    "block range extends beyond current head block: toBlock {to}, head {head}"
                )));
            }
            Ok((from, to))
        }
        FilterBlockOption::AtBlockHash(hash) => {
            let n = ro.block_number(hash)?.ok_or(RpcError::HeaderNotFound)?;
            Ok((n, n))
        }
    }
}

/// The blocks one poll of a filter reports, taken under the lock and read without it.
#[derive(Debug)]
enum Claim {
    Blocks { from: u64, to: u64 },
    Logs { filter: Box<Filter>, from: u64, to: u64 },
}

impl RpcContext {
    /// Logs matching `filter` in blocks `from..=to`, within the configured limits.
    fn logs_in_range(
        &self,
        ro: &Provider<Ro>,
        filter: &Filter,
        from: u64,
        to: u64,
    ) -> RpcResult<Vec<Log>> {
        if to < from {
            return Ok(Vec::new());
        }
        let span = to - from + 1;
        if span > self.config.max_logs_block_range {
            return Err(RpcError::Limit(format!(
                "query exceeds max block range {}: asked for {span} blocks ({from}..={to})",
                self.config.max_logs_block_range
            )));
        }
        let mut out = Vec::new();
        for number in from..=to {
            deadline::check()?;
            #[cfg(test)]
            tests::on_block_scanned();
            let Some(header) = ro.header(number)? else { break };
            if !Self::may_match(ro, filter, &header)? {
                continue;
            }
            for log in Self::block_logs(ro, number)? {
                if filter.rpc_matches(&log) {
                    out.push(log);
                    if out.len() > self.config.max_logs_results {
                        return Err(RpcError::Limit(format!(
                            "query returned more than {} results; narrow the block range",
                            self.config.max_logs_results
                        )));
                    }
                }
            }
        }
        Ok(out)
    }

    /// `eth_getLogs`.
    pub(crate) fn get_logs(&self, filter: &Filter) -> RpcResult<Vec<Log>> {
        filter_terms(filter, self.config.log_query_limit)?;
        let ro = self.ro()?;
        let (from, to) = range_of(&ro, filter)?;
        self.logs_in_range(&ro, filter, from, to)
    }

    /// `eth_newFilter`.
    pub(crate) fn new_log_filter(&self, filter: Filter) -> RpcResult<U256> {
        let terms = filter_terms(&filter, self.config.log_query_limit)?;
        let ro = self.ro()?;
        let head = Self::head_number(&ro)?;
        let next = match filter.block_option.get_from_block() {
            Some(BlockNumberOrTag::Number(n)) => *n,
            Some(BlockNumberOrTag::Earliest) => 0,
            _ => head + 1,
        };
        self.filters.install(FilterKind::Logs { filter: Box::new(filter), next }, terms)
    }

    /// `eth_newBlockFilter`.
    pub(crate) fn new_block_filter(&self) -> RpcResult<U256> {
        let head = Self::head_number(&self.ro()?)?;
        self.filters.install(FilterKind::Blocks { next: head + 1 }, 0)
    }

    /// `eth_newPendingTransactionFilter`.
    pub(crate) fn new_pending_filter(&self) -> RpcResult<U256> {
        self.filters.install(FilterKind::Pending { rx: self.events.new_pending.subscribe() }, 0)
    }

    /// `eth_uninstallFilter`.
    pub(crate) fn uninstall_filter(&self, id: U256) -> bool {
        self.filters.uninstall(id)
    }

    /// `eth_getFilterChanges`: claims the blocks to report under the lock, reads them
    /// without it (see the module page).
    pub(crate) fn filter_changes(&self, id: U256) -> RpcResult<FilterChanges> {
        let ro = self.ro()?;
        let head = Self::head_number(&ro)?;
        let claim = {
            let mut map = self.filters.inner.lock();
            let f = map.get_mut(&id).ok_or(RpcError::FilterNotFound)?;
            f.last_poll = Instant::now();
            match &mut f.kind {
                FilterKind::Blocks { next } => {
                    let from = *next;
                    *next = (*next).max(head + 1);
                    Claim::Blocks { from, to: head }
                }
                FilterKind::Logs { filter, next } => {
                    let to = match filter.block_option.get_to_block() {
                        Some(BlockNumberOrTag::Number(n)) => (*n).min(head),
                        _ => head,
                    };
                    // Report at most one block range per poll; the rest comes on the next.
                    let to = to.min(next.saturating_add(self.config.max_logs_block_range - 1));
                    let from = *next;
                    *next = (*next).max(to.saturating_add(1));
                    Claim::Logs { filter: filter.clone(), from, to }
                }
                FilterKind::Pending { rx } => {
                    let mut hashes = Vec::new();
                    loop {
                        match rx.try_recv() {
                            Ok(h) => hashes.push(h),
                            Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                            Err(_) => break,
                        }
                    }
                    return Ok(FilterChanges::Hashes(hashes));
                }
            }
        };
        match claim {
            Claim::Blocks { from, to } => {
                let mut hashes = Vec::new();
                for number in from..=to {
                    if let Some(h) = ro.canonical_hash(number)? {
                        hashes.push(h);
                    }
                }
                Ok(FilterChanges::Hashes(hashes))
            }
            Claim::Logs { filter, from, to } => match self.logs_in_range(&ro, &filter, from, to) {
                Ok(logs) => Ok(FilterChanges::Logs(logs)),
                Err(e) => {
                    // Give the range back, unless another poll moved on meanwhile.
                    if let Some(Installed { kind: FilterKind::Logs { next, .. }, .. }) =
                        self.filters.inner.lock().get_mut(&id)
                        && *next == to.saturating_add(1)
                        && from <= to
                    {
                        *next = from;
                    }
                    Err(e)
                }
            },
        }
    }

    /// `eth_getFilterLogs`.
    pub(crate) fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>> {
        let filter = {
            let mut map = self.filters.inner.lock();
            let f = map.get_mut(&id).ok_or(RpcError::FilterNotFound)?;
            f.last_poll = Instant::now();
            match &f.kind {
                FilterKind::Logs { filter, .. } => filter.as_ref().clone(),
                _ => return Err(RpcError::InvalidParams("filter is not a log filter".into())),
            }
        };
        self.get_logs(&filter)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{ChainEvents, RpcConfig};
    use bttc_chain::{BlockAttributes, init_genesis};
    use bttc_storage::{DatabaseEnv, DbOptions};
    use bttc_txpool::{PoolConfig, TxPool};
    use std::{cell::RefCell, sync::Arc};

    thread_local! {
        static ON_BLOCK: RefCell<Option<Box<dyn FnMut()>>> = RefCell::new(None);
    }

    /// Called by the log scan before each block (tests only).
    pub(crate) fn on_block_scanned() {
        ON_BLOCK.with(|h| {
            if let Some(f) = h.borrow_mut().as_mut() {
                f();
            }
        });
    }

    /// A context over a dev-style chain of `blocks` empty blocks on a temp dir.
    pub(crate) fn context_with_blocks(blocks: u64) -> (tempfile::TempDir, Arc<RpcContext>) {
        let dir = tempfile::tempdir().unwrap();
        let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
        let alloc = bttc_chainspec::system_predeploys_alloc_json().join(",");
        let genesis = format!(
            r#"{{"config": {{"chainId": 31337199, "homesteadBlock": 0, "eip150Block": 0,
            "eip155Block": 0, "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0,
            "petersburgBlock": 0, "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0,
            "mergeNetsplitBlock": 0, "terminalTotalDifficulty": 0, "shanghaiTime": 0,
            "cancunTime": 0, "pragueTime": 0,
            "bttc": {{"blockTimeMs": 1000, "checkpointInterval": 32, "unbondingPeriod": 64}}}},
            "gasLimit": "0x1c9c380", "difficulty": "0x0", "timestamp": "0x0",
            "baseFeePerGas": "0x3b9aca00", "alloc": {{ {alloc} }} }}"#
        );
        init_genesis(&db, &genesis).unwrap();
        let chain = bttc_staking::open_chain(db).unwrap();
        for t in 1..=blocks {
            let rw = chain.db().rw().unwrap();
            let attrs = BlockAttributes { timestamp: t, ..Default::default() };
            let built = chain.build_block_from_candidates(&rw, Vec::new(), &attrs).unwrap();
            chain.commit_built_block(&rw, &built).unwrap();
            rw.commit().unwrap();
        }
        let pool = Arc::new(TxPool::new(PoolConfig::default()));
        let ctx = RpcContext::new(chain, pool, RpcConfig::default(), ChainEvents::default());
        (dir, Arc::new(ctx))
    }

    #[test]
    fn a_poll_scans_its_blocks_without_holding_the_filter_table() {
        let (_dir, ctx) = context_with_blocks(3);
        let slow = ctx.new_log_filter(Filter::new().from_block(0)).unwrap();
        // While the poll scans its first block, another thread installs, polls and removes
        // a filter; the scan waits (generously) for it to finish.
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let other = Arc::clone(&ctx);
        let finished_during_scan = Arc::new(parking_lot::Mutex::new(None));
        let seen = Arc::clone(&finished_during_scan);
        let mut started = false;
        ON_BLOCK.with(|h| {
            *h.borrow_mut() = Some(Box::new(move || {
                if std::mem::replace(&mut started, true) {
                    return;
                }
                let other = Arc::clone(&other);
                let done_tx = done_tx.clone();
                std::thread::spawn(move || {
                    let id = other.new_block_filter().unwrap();
                    let changes = other.filter_changes(id).unwrap();
                    assert!(other.uninstall_filter(id));
                    let _ = done_tx.send(changes);
                });
                *seen.lock() = Some(done_rx.recv_timeout(Duration::from_secs(20)).is_ok());
            }));
        });
        let changes = ctx.filter_changes(slow).unwrap();
        ON_BLOCK.with(|h| h.borrow_mut().take());
        assert!(matches!(changes, FilterChanges::Logs(ref l) if l.is_empty()), "{changes:?}");
        assert_eq!(
            *finished_during_scan.lock(),
            Some(true),
            "another filter could be installed and polled while a poll was scanning"
        );
        // The poll claimed the blocks it reported: the next poll has nothing new.
        assert!(
            matches!(ctx.filter_changes(slow).unwrap(), FilterChanges::Logs(l) if l.is_empty())
        );
    }

    #[test]
    fn filters_are_bounded_by_their_address_and_topic_sets() {
        let (_dir, ctx) = context_with_blocks(0);
        let limit = ctx.config.log_query_limit;
        let addrs = |n: usize| -> Vec<alloy_primitives::Address> {
            (0..n).map(|i| alloy_primitives::Address::left_padding_from(&i.to_be_bytes())).collect()
        };
        let topics = |n: usize| -> Vec<B256> {
            (0..n).map(|i| B256::left_padding_from(&i.to_be_bytes())).collect()
        };
        let e = ctx.get_logs(&Filter::new().address(addrs(limit + 1))).unwrap_err();
        assert_eq!(e.code(), crate::LIMIT);
        assert!(
            e.to_string().contains(&format!("{} addresses, at most {limit}", limit + 1)),
            "{e}"
        );
        let e = ctx.new_log_filter(Filter::new().event_signature(topics(limit + 1))).unwrap_err();
        assert!(e.to_string().contains("topics at position 0"), "{e}");
        assert!(ctx.get_logs(&Filter::new().address(addrs(limit))).is_ok());
        // The installed filters share one budget of entries.
        let per = limit * 2;
        let fits = MAX_FILTER_TERMS / per;
        let big = || Filter::new().address(addrs(limit)).topic1(topics(limit));
        let ids: Vec<U256> = (0..fits).map(|_| ctx.new_log_filter(big()).unwrap()).collect();
        let e = ctx.new_log_filter(big()).unwrap_err();
        assert!(e.to_string().contains("too many filter entries installed"), "{e}");
        assert!(ctx.new_block_filter().is_ok(), "filters without entries still fit");
        assert!(ctx.uninstall_filter(ids[0]));
        assert!(ctx.new_log_filter(big()).is_ok(), "room again after an uninstall");
    }
}
