//! The pool itself: per-sender nonce-ordered lists split into an executable prefix (pending)
//! and the rest (queued), the limits of each part, eviction, selection for blocks and the
//! maintenance after each block.

use crate::{PoolError, SubPool, ValidationContext, validate::validate_transaction};
use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, U256};
use bttc_primitives::TxEnvelope;
use bttc_storage::StateProvider;
use parking_lot::RwLock;
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::debug;

/// A transaction takes one pool slot per started 32 KiB of its encoding (geth's slots), so
/// limits bound memory as well as counts: a 128 KiB transaction takes four.
pub const TX_SLOT_SIZE: usize = 32 * 1024;

/// Pool limits and pricing rules (geth's legacypool, with larger global limits).
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Slots for executable transactions in all (geth's GlobalSlots).
    pub pending_slots: usize,
    /// Slots for non-executable (nonce-gapped or unaffordable) transactions in all (geth's
    /// GlobalQueue). Kept apart from the pending slots: gapped transactions can never crowd
    /// out executable ones.
    pub queued_slots: usize,
    /// Executable slots each sender keeps when the pending part is full (geth's
    /// AccountSlots): a guaranteed minimum, not a ceiling. While there is room a sender may
    /// have any number; when full, only senders above this many lose transactions to
    /// better-paying newcomers.
    pub account_slots: usize,
    /// Most non-executable transactions per sender, and the widest nonce gap a new one may
    /// leave after the sender's executable ones (geth's AccountQueue).
    pub account_queue: usize,
    /// How long a sender's queued transactions stay without any of its transactions
    /// becoming executable (geth's Lifetime).
    pub queued_lifetime: Duration,
    /// A replacement must raise both fee cap and tip by at least this many percent.
    pub price_bump_percent: u128,
    /// Blocks in a row a transaction may stay under the base fee before it is dropped.
    pub base_fee_grace_blocks: u32,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            pending_slots: 8192,
            queued_slots: 2048,
            account_slots: 16,
            account_queue: 64,
            queued_lifetime: Duration::from_secs(3 * 3600),
            price_bump_percent: 10,
            base_fee_grace_blocks: 8,
        }
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
    /// Pool slots it takes ([`TX_SLOT_SIZE`]).
    pub slots: usize,
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
    /// Executable now (no nonce gap, affordable with the sender's earlier ones).
    pub pending: bool,
    /// It replaced a transaction with the same sender and nonce.
    pub replaced: Option<B256>,
}

/// Counts of pending and queued transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Executable now.
    pub pending: usize,
    /// Waiting for a nonce gap to fill (or for funds).
    pub queued: usize,
}

#[derive(Debug)]
struct Entry {
    tx: Arc<PooledTx>,
    /// Block updates in a row at which its fee cap was below the next base fee.
    under_base_fee: u32,
}

/// One sender's transactions. The executable (pending) ones are the nonces from
/// `state_nonce` on without a gap whose summed maximum cost the balance covers; the rest
/// are queued.
#[derive(Debug)]
struct SenderTxs {
    txs: BTreeMap<u64, Entry>,
    /// The account's nonce in the latest state.
    state_nonce: u64,
    /// The account's balance in the latest state.
    balance: U256,
    /// Length of the executable prefix.
    pending: usize,
    pending_slots: usize,
    pending_cost: U256,
    /// Slots of all its transactions.
    slots: usize,
    /// When one of its transactions last became executable, or when it first queued one
    /// (geth's heartbeat): queued transactions of a sender silent for
    /// [`PoolConfig::queued_lifetime`] expire.
    beat: Instant,
}

impl SenderTxs {
    fn new(state_nonce: u64, balance: U256, now: Instant) -> Self {
        Self {
            txs: BTreeMap::new(),
            state_nonce,
            balance,
            pending: 0,
            pending_slots: 0,
            pending_cost: U256::ZERO,
            slots: 0,
            beat: now,
        }
    }

    /// The nonce after the executable prefix.
    fn next_nonce(&self) -> u64 {
        self.state_nonce + self.pending as u64
    }

    fn queued(&self) -> usize {
        self.txs.len() - self.pending
    }

    fn queued_slots(&self) -> usize {
        self.slots - self.pending_slots
    }

    fn is_pending(&self, nonce: u64) -> bool {
        (self.state_nonce..self.next_nonce()).contains(&nonce)
    }

    fn pending_txs(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        self.txs.range(self.state_nonce..self.next_nonce()).map(|(_, e)| &e.tx)
    }

    fn insert(&mut self, tx: Arc<PooledTx>) {
        self.slots += tx.slots;
        self.txs.insert(tx.nonce, Entry { tx, under_base_fee: 0 });
    }

    /// Removes a transaction; the caller recomputes the executable prefix.
    fn take(&mut self, nonce: u64) -> Option<Arc<PooledTx>> {
        let e = self.txs.remove(&nonce)?;
        self.slots -= e.tx.slots;
        Some(e.tx)
    }

    /// Extends the executable prefix over the following nonces while the balance covers
    /// them; a sender whose prefix grows gets a fresh heartbeat.
    fn promote(&mut self, now: Instant) {
        let before = self.pending;
        while let Some(e) = self.txs.get(&self.next_nonce()) {
            let cost = self.pending_cost.saturating_add(e.tx.cost);
            if cost > self.balance {
                break;
            }
            self.pending_cost = cost;
            self.pending_slots += e.tx.slots;
            self.pending += 1;
        }
        if self.pending > before {
            self.beat = now;
        }
    }

    /// Recomputes the executable prefix from scratch (after removals; `take` leaves the
    /// old prefix's length in place until then).
    fn recompute(&mut self, now: Instant) {
        let end = self.next_nonce();
        self.recompute_since(end, now);
    }

    /// [`Self::recompute`] where the prefix ended at `old_end` before (its state may have
    /// moved since): only transactions beyond it count as promoted and renew the heartbeat.
    fn recompute_since(&mut self, old_end: u64, now: Instant) {
        let beat = self.beat;
        self.pending = 0;
        self.pending_slots = 0;
        self.pending_cost = U256::ZERO;
        self.promote(now);
        self.beat = if self.pending > 0 && self.next_nonce() > old_end { now } else { beat };
    }

    /// Highest-nonce queued transactions first.
    fn queued_nonces_desc(&self) -> impl Iterator<Item = u64> + '_ {
        let end = self.next_nonce();
        self.txs.keys().rev().copied().filter(move |n| *n >= end)
    }
}

#[derive(Debug, Default)]
struct Inner {
    by_hash: HashMap<B256, Arc<PooledTx>>,
    senders: HashMap<Address, SenderTxs>,
    /// Sums over the senders.
    pending_slots: usize,
    queued_slots: usize,
    pending_txs: usize,
    /// Base fee of the next block, as last seen (admission or block update).
    base_fee: u64,
    seq: u64,
}

impl Inner {
    /// Runs `f` on `sender`'s list and keeps the pool's sums, the hash index and the sender
    /// map in step with it: `f` returns the transactions it took out.
    fn update_sender(
        &mut self,
        sender: &Address,
        f: impl FnOnce(&mut SenderTxs) -> Vec<Arc<PooledTx>>,
    ) -> Vec<Arc<PooledTx>> {
        let Some(list) = self.senders.get_mut(sender) else { return Vec::new() };
        let (ps, qs, pn) = (list.pending_slots, list.queued_slots(), list.pending);
        let removed = f(list);
        self.pending_slots = self.pending_slots - ps + list.pending_slots;
        self.queued_slots = self.queued_slots - qs + list.queued_slots();
        self.pending_txs = self.pending_txs - pn + list.pending;
        if list.txs.is_empty() {
            self.senders.remove(sender);
        }
        for tx in &removed {
            self.by_hash.remove(&tx.hash);
        }
        removed
    }

    /// Removes `nonces` of `sender` and recomputes its executable prefix.
    fn remove_nonces(
        &mut self,
        sender: &Address,
        nonces: &[u64],
        now: Instant,
    ) -> Vec<Arc<PooledTx>> {
        self.update_sender(sender, |list| {
            let removed: Vec<_> = nonces.iter().filter_map(|n| list.take(*n)).collect();
            list.recompute(now);
            removed
        })
    }

    /// Pending transactions that may make room, cheapest first: the highest-nonce
    /// executable transaction of each sender other than `except` that is over its
    /// guaranteed slots or cannot pay the base fee (and then its next-highest, while that
    /// holds). With `any`, every sender's tail qualifies. Stops once `need` slots are
    /// found; returns the victims with their effective tips.
    fn pending_victims(
        &self,
        need: usize,
        except: Option<&Address>,
        account_slots: usize,
        any: bool,
    ) -> Vec<(Arc<PooledTx>, Option<u128>)> {
        let base_fee = self.base_fee;
        let candidate = |list: &SenderTxs, taken: usize| -> Option<Arc<PooledTx>> {
            let left = list.pending.checked_sub(taken).filter(|l| *l > 0)?;
            let tx = &list.txs.get(&(list.state_nonce + left as u64 - 1))?.tx;
            (any || left > account_slots || tx.effective_tip(base_fee).is_none())
                .then(|| tx.clone())
        };
        let mut heap = BinaryHeap::new();
        for (addr, list) in &self.senders {
            if Some(addr) == except {
                continue;
            }
            if let Some(tx) = candidate(list, 0) {
                heap.push(Reverse((tx.effective_tip(base_fee), Reverse(tx.seq), *addr, 0usize)));
            }
        }
        let mut out = Vec::new();
        let mut freed = 0;
        while freed < need {
            let Some(Reverse((tip, _, addr, taken))) = heap.pop() else { break };
            let list = &self.senders[&addr];
            let Some(tx) = candidate(list, taken) else { continue };
            freed += tx.slots;
            out.push((tx, tip));
            if let Some(next) = candidate(list, taken + 1) {
                heap.push(Reverse((
                    next.effective_tip(base_fee),
                    Reverse(next.seq),
                    addr,
                    taken + 1,
                )));
            }
        }
        out
    }

    /// Evicts `victims` (pending tails, in the order found).
    fn evict(&mut self, victims: &[Arc<PooledTx>], now: Instant) -> Vec<Arc<PooledTx>> {
        let mut out = Vec::new();
        for v in victims {
            debug!(target: "bttc::txpool", hash = %v.hash, sender = %v.sender, nonce = v.nonce, "evicted to make room");
            out.extend(self.remove_nonces(&v.sender, &[v.nonce], now));
        }
        out
    }

    /// Queued transactions that may make room, oldest heartbeat first, each sender's
    /// highest nonces first; none of `except`. Stops once `need` slots are found.
    fn queued_victims(&self, need: usize, except: Option<&Address>) -> Vec<(Address, u64)> {
        let mut senders: Vec<(&Address, &SenderTxs)> =
            self.senders.iter().filter(|(a, l)| Some(*a) != except && l.queued() > 0).collect();
        senders.sort_by_key(|(a, l)| (l.beat, **a));
        let mut out = Vec::new();
        let mut freed = 0;
        for (addr, list) in senders {
            for nonce in list.queued_nonces_desc() {
                if freed >= need {
                    return out;
                }
                freed += list.txs[&nonce].tx.slots;
                out.push((*addr, nonce));
            }
        }
        out
    }

    fn remove_pairs(&mut self, pairs: &[(Address, u64)], now: Instant) -> Vec<Arc<PooledTx>> {
        let mut out = Vec::new();
        for (addr, nonce) in pairs {
            out.extend(self.remove_nonces(addr, &[*nonce], now));
        }
        out
    }

    /// Brings both parts back under their limits (after promotions or demotions): pending
    /// first from senders over their guaranteed slots, then from anyone, cheapest first;
    /// queued from the senders with the oldest heartbeat.
    fn truncate(&mut self, config: &PoolConfig, now: Instant) -> Vec<Arc<PooledTx>> {
        let mut removed = Vec::new();
        for any in [false, true] {
            if self.pending_slots <= config.pending_slots {
                break;
            }
            let need = self.pending_slots - config.pending_slots;
            let victims: Vec<_> = self
                .pending_victims(need, None, config.account_slots, any)
                .into_iter()
                .map(|(tx, _)| tx)
                .collect();
            removed.extend(self.evict(&victims, now));
        }
        if self.queued_slots > config.queued_slots {
            let pairs = self.queued_victims(self.queued_slots - config.queued_slots, None);
            removed.extend(self.remove_pairs(&pairs, now));
        }
        removed
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
        let now = Instant::now();
        let mut inner = self.inner.write();
        if inner.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        inner.base_fee = ctx.base_fee;
        inner.seq += 1;
        let pooled = Arc::new(PooledTx {
            tx,
            hash,
            sender: v.sender,
            nonce,
            cost: v.cost,
            fee_cap,
            tip,
            slots: v.size.div_ceil(TX_SLOT_SIZE).max(1),
            seq: inner.seq,
        });
        self.sync_sender(&mut inner, &v.sender, v.account_nonce, v.balance, now);
        let replaced = match self.admit(&mut inner, &pooled, now) {
            Ok(r) => r,
            Err(e) => {
                // A sender seen first with this refused transaction leaves no trace.
                if inner.senders.get(&v.sender).is_some_and(|l| l.txs.is_empty()) {
                    inner.senders.remove(&v.sender);
                }
                return Err(e);
            }
        };
        let p = pooled.clone();
        inner.update_sender(&v.sender, move |list| {
            let old = replaced.and_then(|_| list.take(nonce));
            list.insert(p);
            if old.is_some() {
                list.recompute(now);
                if list.is_pending(nonce) {
                    // geth: a replaced executable transaction bumps the heartbeat.
                    list.beat = now;
                }
            } else {
                list.promote(now);
            }
            old.into_iter().collect()
        });
        inner.by_hash.insert(hash, pooled);
        for tx in inner.truncate(&self.config, now) {
            debug!(target: "bttc::txpool", hash = %tx.hash, "dropped over the pool's limits");
        }
        let pending = inner.senders.get(&v.sender).is_some_and(|l| l.is_pending(nonce));
        if !inner.by_hash.contains_key(&hash) {
            // Only a larger replacement in a full pool can push out the newcomer itself.
            return Err(PoolError::PoolFull {
                pool: SubPool::Pending,
                used: inner.pending_slots,
                max: self.config.pending_slots,
            });
        }
        Ok(AddOutcome { hash, pending, replaced })
    }

    /// The checks that need the pool (nonce against the pool's view, replacement, funds
    /// with the sender's other transactions, limits) and the evictions that make room.
    /// Returns the hash of the transaction `tx` replaces, if any.
    fn admit(
        &self,
        inner: &mut Inner,
        tx: &PooledTx,
        now: Instant,
    ) -> Result<Option<B256>, PoolError> {
        let list = &inner.senders[&tx.sender];
        if tx.nonce < list.state_nonce {
            return Err(PoolError::NonceTooLow {
                sender: tx.sender,
                got: tx.nonce,
                next: list.state_nonce,
            });
        }
        if let Some(old) = list.txs.get(&tx.nonce) {
            return self.check_replacement(list, &old.tx, tx).map(Some);
        }
        self.make_room(inner, tx, now)?;
        Ok(None)
    }

    /// Creates `sender`'s list, or moves it to a newer state than it knew.
    fn sync_sender(
        &self,
        inner: &mut Inner,
        sender: &Address,
        nonce: u64,
        balance: U256,
        now: Instant,
    ) {
        let Some(list) = inner.senders.get(sender) else {
            inner.senders.insert(*sender, SenderTxs::new(nonce, balance, now));
            return;
        };
        // Account nonces only grow (no reorgs): never step back to an older state's view.
        if nonce < list.state_nonce || (nonce == list.state_nonce && balance == list.balance) {
            return;
        }
        let removed = inner.update_sender(sender, |list| {
            let old_end = list.next_nonce();
            list.state_nonce = nonce;
            list.balance = balance;
            let stale: Vec<u64> = list.txs.range(..nonce).map(|(n, _)| *n).collect();
            let removed = stale.into_iter().filter_map(|n| list.take(n)).collect();
            list.recompute_since(old_end, now);
            removed
        });
        debug!(target: "bttc::txpool", %sender, removed = removed.len(), "sender state moved on");
    }

    /// A replacement must bump both prices and stay affordable with the sender's other
    /// executable transactions. Returns the hash replaced.
    fn check_replacement(
        &self,
        list: &SenderTxs,
        old: &PooledTx,
        new: &PooledTx,
    ) -> Result<B256, PoolError> {
        let bump = U256::from(100 + self.config.price_bump_percent);
        let hundred = U256::from(100u64);
        if U256::from(new.fee_cap) * hundred < U256::from(old.fee_cap) * bump
            || U256::from(new.tip) * hundred < U256::from(old.tip) * bump
        {
            return Err(PoolError::ReplacementUnderpriced);
        }
        let others = if list.is_pending(old.nonce) {
            list.pending_cost.saturating_sub(old.cost)
        } else {
            list.pending_cost
        };
        check_funds(list, new, others)?;
        Ok(old.hash)
    }

    /// Checks the limits for a new nonce of `tx.sender` and evicts what must go to make room
    /// for it; refuses it if it may not have the room.
    fn make_room(&self, inner: &mut Inner, tx: &PooledTx, now: Instant) -> Result<(), PoolError> {
        let c = &self.config;
        let list = &inner.senders[&tx.sender];
        check_funds(list, tx, list.pending_cost)?;
        let next = list.next_nonce();
        if tx.nonce == next {
            if inner.pending_slots + tx.slots <= c.pending_slots {
                return Ok(());
            }
            let need = inner.pending_slots + tx.slots - c.pending_slots;
            let tip = tx.effective_tip(inner.base_fee);
            let victims = inner.pending_victims(need, Some(&tx.sender), c.account_slots, false);
            if let Some((_, Some(cheapest))) = victims.iter().find(|(_, t)| *t >= tip) {
                return Err(PoolError::UnderpricedWhenFull {
                    got: tip.unwrap_or_default(),
                    cheapest: *cheapest,
                });
            }
            if victims.iter().map(|(v, _)| v.slots).sum::<usize>() < need {
                return Err(PoolError::PoolFull {
                    pool: SubPool::Pending,
                    used: inner.pending_slots,
                    max: c.pending_slots,
                });
            }
            let victims: Vec<_> = victims.into_iter().map(|(v, _)| v).collect();
            inner.evict(&victims, now);
            return Ok(());
        }
        let gap = tx.nonce - next;
        if gap > c.account_queue as u64 {
            return Err(PoolError::NonceTooHigh {
                sender: tx.sender,
                got: tx.nonce,
                next,
                max_gap: c.account_queue as u64,
            });
        }
        if list.queued() >= c.account_queue {
            return Err(PoolError::AccountLimitExceeded {
                sender: tx.sender,
                count: list.queued(),
                max: c.account_queue,
            });
        }
        if inner.queued_slots + tx.slots <= c.queued_slots {
            return Ok(());
        }
        // Make room by expiry first, then from the senders silent longest.
        for tx in self.expire(inner, now) {
            debug!(target: "bttc::txpool", hash = %tx.hash, "queued transaction expired");
        }
        if inner.queued_slots + tx.slots <= c.queued_slots {
            return Ok(());
        }
        let need = inner.queued_slots + tx.slots - c.queued_slots;
        let victims = inner.queued_victims(need, Some(&tx.sender));
        let freed: usize =
            victims.iter().map(|(a, n)| inner.senders[a].txs[n].tx.slots).sum::<usize>();
        if freed < need {
            return Err(PoolError::PoolFull {
                pool: SubPool::Queued,
                used: inner.queued_slots,
                max: c.queued_slots,
            });
        }
        for v in inner.remove_pairs(&victims, now) {
            debug!(target: "bttc::txpool", hash = %v.hash, sender = %v.sender, "queued transaction evicted to make room");
        }
        Ok(())
    }

    /// Drops the queued transactions of senders silent for longer than the lifetime.
    fn expire(&self, inner: &mut Inner, now: Instant) -> Vec<Arc<PooledTx>> {
        let lifetime = self.config.queued_lifetime;
        let stale: Vec<(Address, Vec<u64>)> = inner
            .senders
            .iter()
            .filter(|(_, l)| l.queued() > 0 && now.saturating_duration_since(l.beat) > lifetime)
            .map(|(a, l)| (*a, l.queued_nonces_desc().collect()))
            .collect();
        let mut out = Vec::new();
        for (addr, nonces) in stale {
            out.extend(inner.remove_nonces(&addr, &nonces, now));
        }
        out
    }

    /// A transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        self.inner.read().by_hash.get(hash).cloned()
    }

    /// The nonce after `sender`'s last executable pool transaction; `None` if it has none.
    pub fn pending_nonce(&self, sender: &Address) -> Option<u64> {
        let inner = self.inner.read();
        let list = inner.senders.get(sender)?;
        (list.pending > 0).then(|| list.next_nonce())
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
        PoolStatus { pending: inner.pending_txs, queued: inner.by_hash.len() - inner.pending_txs }
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
            let (p, q): (Vec<_>, Vec<_>) =
                list.txs.values().map(|e| e.tx.clone()).partition(|t| list.is_pending(t.nonce));
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
            let pending: Vec<_> = list.pending_txs().cloned().collect();
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

    /// After a block, with the base fee of the next one: see [`Self::on_new_block_at`].
    pub fn on_new_block<S: StateProvider>(&self, state: &S, base_fee: u64) -> Vec<B256> {
        self.on_new_block_at(state, base_fee, Instant::now())
    }

    /// After a block: drops what was mined (nonce used), what the sender can no longer
    /// afford on its own, what has stayed under the base fee for
    /// [`PoolConfig::base_fee_grace_blocks`] blocks and the queued transactions of senders
    /// silent for [`PoolConfig::queued_lifetime`] at `now`; moves each sender to its new
    /// nonce and balance (promoting or demoting), then trims both parts to their limits.
    /// Returns the hashes removed.
    pub fn on_new_block_at<S: StateProvider>(
        &self,
        state: &S,
        base_fee: u64,
        now: Instant,
    ) -> Vec<B256> {
        let mut inner = self.inner.write();
        inner.base_fee = base_fee;
        let grace = self.config.base_fee_grace_blocks.max(1);
        let account_queue = self.config.account_queue;
        let senders: Vec<Address> = inner.senders.keys().copied().collect();
        let mut removed = Vec::new();
        for sender in senders {
            let account = match state.account(&sender) {
                Ok(a) => a.unwrap_or_default(),
                Err(e) => {
                    debug!(target: "bttc::txpool", %sender, error = %e, "cannot read sender; kept as is");
                    continue;
                }
            };
            removed.extend(inner.update_sender(&sender, |list| {
                let old_end = list.next_nonce();
                list.state_nonce = list.state_nonce.max(account.nonce);
                list.balance = account.balance;
                let mut drop = Vec::new();
                for (n, e) in &mut list.txs {
                    if e.tx.fee_cap < u128::from(base_fee) {
                        e.under_base_fee += 1;
                    } else {
                        e.under_base_fee = 0;
                    }
                    if *n < account.nonce
                        || e.tx.cost > account.balance
                        || e.under_base_fee >= grace
                    {
                        drop.push(*n);
                    }
                }
                let mut out: Vec<_> = drop.into_iter().filter_map(|n| list.take(n)).collect();
                list.recompute_since(old_end, now);
                let excess: Vec<u64> = list
                    .queued_nonces_desc()
                    .take(list.queued().saturating_sub(account_queue))
                    .collect();
                out.extend(excess.into_iter().filter_map(|n| list.take(n)));
                out
            }));
        }
        removed.extend(self.expire(&mut inner, now));
        removed.extend(inner.truncate(&self.config, now));
        removed.into_iter().map(|t| t.hash).collect()
    }

    /// Removes a transaction (e.g. one that failed to execute when building a block); the
    /// sender's later ones wait for the nonce to be filled again.
    pub fn remove(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        let mut inner = self.inner.write();
        let tx = inner.by_hash.get(hash)?.clone();
        inner.remove_nonces(&tx.sender, &[tx.nonce], Instant::now()).pop()
    }
}

/// The sender's balance must cover `tx` on top of `others` (the maximum cost of its other
/// executable transactions), like geth's cumulative check.
fn check_funds(list: &SenderTxs, tx: &PooledTx, others: U256) -> Result<(), PoolError> {
    let need = others.saturating_add(tx.cost);
    if need > list.balance {
        return Err(PoolError::InsufficientFundsCumulative {
            balance: list.balance,
            pending_cost: others,
            cost: tx.cost,
        });
    }
    Ok(())
}
