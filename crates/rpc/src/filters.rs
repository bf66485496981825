//! `eth_getLogs` and the polling filters (`eth_newFilter`, `eth_newBlockFilter`,
//! `eth_newPendingTransactionFilter`, `eth_getFilterChanges`, `eth_getFilterLogs`).
//!
//! Block and log filters keep only the next block they have not reported: changes are read
//! from the database when polled, so a filter costs nothing between polls. Pending-transaction
//! filters hold a bounded broadcast receiver. Filters not polled within the TTL are dropped.

use crate::{RpcContext, RpcError, RpcResult};
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

    fn install(&self, kind: FilterKind) -> RpcResult<U256> {
        let mut map = self.inner.lock();
        let now = Instant::now();
        map.retain(|_, f| now.duration_since(f.last_poll) < self.ttl);
        if map.len() >= self.max {
            return Err(RpcError::Limit(format!("too many filters installed (max {})", self.max)));
        }
        let id = {
            let mut n = self.next_id.lock();
            *n += 1;
            // Not guessable across restarts, unique within one.
            U256::from(*n) << 64 | U256::from(rand_u64())
        };
        map.insert(id, Installed { kind, last_poll: now });
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
            let Some(header) = ro.header(number)? else { break };
            if !filter.matches_bloom(header.logs_bloom) {
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
        let ro = self.ro()?;
        let (from, to) = range_of(&ro, filter)?;
        self.logs_in_range(&ro, filter, from, to)
    }

    /// `eth_newFilter`.
    pub(crate) fn new_log_filter(&self, filter: Filter) -> RpcResult<U256> {
        let ro = self.ro()?;
        let head = Self::head_number(&ro)?;
        let next = match filter.block_option.get_from_block() {
            Some(BlockNumberOrTag::Number(n)) => *n,
            Some(BlockNumberOrTag::Earliest) => 0,
            _ => head + 1,
        };
        self.filters.install(FilterKind::Logs { filter: Box::new(filter), next })
    }

    /// `eth_newBlockFilter`.
    pub(crate) fn new_block_filter(&self) -> RpcResult<U256> {
        let head = Self::head_number(&self.ro()?)?;
        self.filters.install(FilterKind::Blocks { next: head + 1 })
    }

    /// `eth_newPendingTransactionFilter`.
    pub(crate) fn new_pending_filter(&self) -> RpcResult<U256> {
        self.filters.install(FilterKind::Pending { rx: self.events.new_pending.subscribe() })
    }

    /// `eth_uninstallFilter`.
    pub(crate) fn uninstall_filter(&self, id: U256) -> bool {
        self.filters.uninstall(id)
    }

    /// `eth_getFilterChanges`.
    pub(crate) fn filter_changes(&self, id: U256) -> RpcResult<FilterChanges> {
        let ro = self.ro()?;
        let head = Self::head_number(&ro)?;
        let mut map = self.filters.inner.lock();
        let f = map.get_mut(&id).ok_or(RpcError::FilterNotFound)?;
        f.last_poll = Instant::now();
        match &mut f.kind {
            FilterKind::Blocks { next } => {
                let mut hashes = Vec::new();
                while *next <= head {
                    if let Some(h) = ro.canonical_hash(*next)? {
                        hashes.push(h);
                    }
                    *next += 1;
                }
                Ok(FilterChanges::Hashes(hashes))
            }
            FilterKind::Logs { filter, next } => {
                let to = match filter.block_option.get_to_block() {
                    Some(BlockNumberOrTag::Number(n)) => (*n).min(head),
                    _ => head,
                };
                // Report at most one block range per poll; the rest comes on the next poll.
                let to = to.min(next.saturating_add(self.config.max_logs_block_range - 1));
                let logs = self.logs_in_range(&ro, filter, *next, to)?;
                *next = (*next).max(to + 1);
                Ok(FilterChanges::Logs(logs))
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
                Ok(FilterChanges::Hashes(hashes))
            }
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
