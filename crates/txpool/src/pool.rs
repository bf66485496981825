//! The pool itself: per-sender nonce-ordered lists, replacement, limits, selection.

use crate::{PoolError, ValidationContext, validate::validate_transaction};
use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, U256};
use bttc_primitives::TxEnvelope;
use bttc_storage::StateProvider;
use parking_lot::RwLock;
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap},
    sync::Arc,
};
use tracing::debug;

/// Pool limits and pricing rules.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Most transactions one sender may have in the pool.
    pub max_account_slots: usize,
    /// Most transactions in the pool.
    pub max_transactions: usize,
    /// A replacement must raise both fee cap and tip by at least this many percent.
    pub price_bump_percent: u128,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self { max_account_slots: 64, max_transactions: 8192, price_bump_percent: 10 }
    }
}

/// A validated transaction in the pool.
#[derive(Debug, Clone)]
pub struct PooledTx {
    /// The transaction.
    pub tx: TxEnvelope,
    /// Its hash.
    pub hash: B256,
    /// Its sender.
    pub sender: Address,
    /// Its nonce.
    pub nonce: u64,
    /// Most it can cost.
    pub cost: U256,
    /// Max fee per gas (gas price for legacy transactions).
    pub fee_cap: u128,
    /// Max priority fee per gas (gas price for legacy transactions).
    pub tip: u128,
    /// Arrival order.
    seq: u64,
}

impl PooledTx {
    /// Tip the proposer actually receives at `base_fee`; `None` if the fee cap is below it.
    pub fn effective_tip(&self, base_fee: u64) -> Option<u128> {
        let base = u128::from(base_fee);
        (self.fee_cap >= base).then(|| self.tip.min(self.fee_cap - base))
    }
}

/// Result of adding a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddOutcome {
    /// Its hash.
    pub hash: B256,
    /// Executable now (no nonce gap).
    pub pending: bool,
    /// It replaced a transaction with the same sender and nonce.
    pub replaced: Option<B256>,
}

/// Counts of pending and queued transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Executable now.
    pub pending: usize,
    /// Waiting for a nonce gap to fill.
    pub queued: usize,
}

#[derive(Debug, Default)]
struct SenderTxs {
    txs: BTreeMap<u64, Arc<PooledTx>>,
    next_nonce: u64,
}

impl SenderTxs {
    /// Nonces from `next_nonce` without a gap.
    fn pending(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        let mut expect = self.next_nonce;
        self.txs.range(self.next_nonce..).map_while(move |(n, tx)| {
            (*n == expect).then(|| {
                expect += 1;
                tx
            })
        })
    }
}

#[derive(Debug, Default)]
struct Inner {
    by_hash: HashMap<B256, Arc<PooledTx>>,
    senders: HashMap<Address, SenderTxs>,
    seq: u64,
}

impl Inner {
    fn remove(&mut self, sender: &Address, nonce: u64) -> Option<Arc<PooledTx>> {
        let list = self.senders.get_mut(sender)?;
        let tx = list.txs.remove(&nonce)?;
        if list.txs.is_empty() {
            self.senders.remove(sender);
        }
        self.by_hash.remove(&tx.hash);
        Some(tx)
    }

    /// The cheapest transaction that can go without opening a nonce gap: the highest-nonce
    /// transaction of some sender, lowest tip first.
    fn cheapest_tail(&self, except: &Address) -> Option<Arc<PooledTx>> {
        self.senders
            .iter()
            .filter(|(a, _)| *a != except)
            .filter_map(|(_, l)| l.txs.values().next_back())
            .min_by_key(|tx| (tx.tip, Reverse(tx.seq)))
            .cloned()
    }
}

/// The transaction pool. Cheap to share: all methods take `&self`.
#[derive(Debug, Default)]
pub struct TxPool {
    config: PoolConfig,
    inner: RwLock<Inner>,
    /// Orders admissions against block updates: see [`TxPool::admission`].
    sync: RwLock<()>,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self { config, inner: Default::default(), sync: Default::default() }
    }

    /// Hold while opening the state a transaction is validated against and adding it.
    ///
    /// A block producer holds [`Self::block_update`] from committing a block until
    /// [`Self::on_new_block`] has run, so a state opened under this guard is never older than
    /// what the pool last synced to. Without it, a transaction validated on a snapshot taken
    /// just before a commit could reset its sender's next nonce to a stale value after the
    /// pool had moved on, and sit queued although it is executable.
    pub fn admission(&self) -> parking_lot::RwLockReadGuard<'_, ()> {
        self.sync.read()
    }

    /// Hold from committing a block until [`Self::on_new_block`] returns (see
    /// [`Self::admission`]).
    pub fn block_update(&self) -> parking_lot::RwLockWriteGuard<'_, ()> {
        self.sync.write()
    }

    /// The configuration.
    pub const fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Validates `tx` against `state` and adds it.
    pub fn add<S: StateProvider>(
        &self,
        tx: TxEnvelope,
        state: &S,
        ctx: &ValidationContext,
    ) -> Result<AddOutcome, PoolError> {
        let hash = *tx.tx_hash();
        if self.inner.read().by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let v = validate_transaction(&tx, state, ctx)?;
        let fee_cap = tx.max_fee_per_gas();
        let tip = tx.max_priority_fee_per_gas().unwrap_or(fee_cap);
        let nonce = tx.nonce();
        let mut inner = self.inner.write();
        if inner.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        inner.seq += 1;
        let pooled = Arc::new(PooledTx {
            tx,
            hash,
            sender: v.sender,
            nonce,
            cost: v.cost,
            fee_cap,
            tip,
            seq: inner.seq,
        });
        let existing = inner.senders.get(&v.sender).and_then(|l| l.txs.get(&nonce)).cloned();
        let mut replaced = None;
        if let Some(old) = existing {
            let bump = 100 + self.config.price_bump_percent;
            if fee_cap * 100 < old.fee_cap * bump || tip * 100 < old.tip * bump {
                return Err(PoolError::ReplacementUnderpriced);
            }
            inner.remove(&v.sender, nonce);
            replaced = Some(old.hash);
        } else {
            let count = inner.senders.get(&v.sender).map_or(0, |l| l.txs.len());
            if count >= self.config.max_account_slots {
                return Err(PoolError::SenderFull {
                    sender: v.sender,
                    count,
                    max: self.config.max_account_slots,
                });
            }
            if inner.by_hash.len() >= self.config.max_transactions {
                match inner.cheapest_tail(&v.sender) {
                    Some(victim) if victim.tip < tip => {
                        debug!(target: "bttc::txpool", evicted = %victim.hash, "pool full, evicting cheapest");
                        inner.remove(&victim.sender, victim.nonce);
                    }
                    _ => return Err(PoolError::PoolFull),
                }
            }
        }
        let list = inner.senders.entry(v.sender).or_default();
        // Account nonces only grow (no reorgs): never step back to an older state's view.
        list.next_nonce = list.next_nonce.max(v.account_nonce);
        list.txs.insert(nonce, pooled.clone());
        let pending = list.pending().any(|t| t.nonce == nonce);
        inner.by_hash.insert(hash, pooled);
        Ok(AddOutcome { hash, pending, replaced })
    }

    /// A transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        self.inner.read().by_hash.get(hash).cloned()
    }

    /// The nonce after `sender`'s last executable pool transaction; `None` if it has none.
    pub fn pending_nonce(&self, sender: &Address) -> Option<u64> {
        self.inner.read().senders.get(sender)?.pending().last().map(|t| t.nonce + 1)
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.inner.read().by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pending and queued counts.
    pub fn status(&self) -> PoolStatus {
        let inner = self.inner.read();
        let pending: usize = inner.senders.values().map(|l| l.pending().count()).sum();
        PoolStatus { pending, queued: inner.by_hash.len() - pending }
    }

    /// Every transaction, split into pending and queued, by sender and nonce.
    #[allow(clippy::type_complexity)]
    pub fn content(
        &self,
    ) -> (BTreeMap<Address, Vec<Arc<PooledTx>>>, BTreeMap<Address, Vec<Arc<PooledTx>>>) {
        let inner = self.inner.read();
        let mut pending = BTreeMap::new();
        let mut queued = BTreeMap::new();
        for (addr, list) in &inner.senders {
            let p: Vec<_> = list.pending().cloned().collect();
            let q: Vec<_> = list
                .txs
                .values()
                .filter(|t| !p.iter().any(|x| x.hash == t.hash))
                .cloned()
                .collect();
            if !p.is_empty() {
                pending.insert(*addr, p);
            }
            if !q.is_empty() {
                queued.insert(*addr, q);
            }
        }
        (pending, queued)
    }

    /// Executable transactions for a block at `base_fee`: highest effective tip first,
    /// each sender's nonces in order; senders whose next transaction cannot pay the base fee
    /// are skipped.
    pub fn best_transactions(&self, base_fee: u64) -> Vec<Arc<PooledTx>> {
        let inner = self.inner.read();
        let mut heads = BinaryHeap::new();
        let mut lists: HashMap<Address, Vec<Arc<PooledTx>>> = HashMap::new();
        for (addr, list) in &inner.senders {
            let pending: Vec<_> = list.pending().cloned().collect();
            if let Some(first) = pending.first()
                && let Some(tip) = first.effective_tip(base_fee)
            {
                heads.push((tip, Reverse(first.seq), *addr, 0usize));
            }
            lists.insert(*addr, pending);
        }
        let mut out = Vec::new();
        while let Some((_, _, addr, idx)) = heads.pop() {
            let list = &lists[&addr];
            out.push(list[idx].clone());
            if let Some(next) = list.get(idx + 1)
                && let Some(tip) = next.effective_tip(base_fee)
            {
                heads.push((tip, Reverse(next.seq), addr, idx + 1));
            }
        }
        out
    }

    /// After a block: drops transactions whose nonce was used or that the sender can no
    /// longer afford, and updates every sender's next nonce (promoting queued ones).
    /// Returns the hashes removed.
    pub fn on_new_block<S: StateProvider>(&self, state: &S) -> Vec<B256> {
        let mut inner = self.inner.write();
        let senders: Vec<Address> = inner.senders.keys().copied().collect();
        let mut removed = Vec::new();
        for sender in senders {
            let account = match state.account(&sender) {
                Ok(a) => a.unwrap_or_default(),
                Err(_) => continue,
            };
            let stale: Vec<u64> = inner.senders[&sender]
                .txs
                .values()
                .filter(|t| t.nonce < account.nonce || t.cost > account.balance)
                .map(|t| t.nonce)
                .collect();
            for nonce in stale {
                if let Some(tx) = inner.remove(&sender, nonce) {
                    removed.push(tx.hash);
                }
            }
            if let Some(list) = inner.senders.get_mut(&sender) {
                list.next_nonce = account.nonce;
            }
        }
        removed
    }

    /// Removes a transaction (e.g. one that failed to execute when building a block).
    pub fn remove(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        let mut inner = self.inner.write();
        let tx = inner.by_hash.get(hash)?.clone();
        inner.remove(&tx.sender, tx.nonce)
    }
}
