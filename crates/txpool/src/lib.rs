//! The transaction pool.
//!
//! Transactions arrive from JSON-RPC and gossip as signed envelopes. [`TxPool::add`]
//! validates each one against the chain rules ([`ValidationContext`]: chain id, type, size,
//! gas, a tip of at least the minimum and a fee cap of at least the next block's base fee)
//! and the sender's account in the latest state (nonce, balance), then files it per sender
//! by nonce. A sender's **pending** transactions are the nonces from its account nonce on
//! without a gap whose summed maximum cost its balance covers (they can be executed now);
//! the rest are **queued**. A new transaction must be affordable together with the
//! sender's pending ones (geth's cumulative check). A transaction with the same sender and
//! nonce as one in the pool replaces it only when both its fee cap and tip are at least
//! [`PoolConfig::price_bump_percent`] higher.
//!
//! Limits follow geth's legacypool, counted in 32 KiB slots ([`TX_SLOT_SIZE`]):
//! - pending and queued have separate limits ([`PoolConfig::pending_slots`],
//!   [`PoolConfig::queued_slots`]), so gapped transactions never take room from executable
//!   ones, and a queued newcomer never evicts a pending transaction;
//! - per sender, [`PoolConfig::account_slots`] pending slots are guaranteed, not a cap:
//!   when the pending part is full, a newcomer evicts the cheapest (by effective tip at the
//!   base fee) highest-nonce transaction of a sender above its guaranteed slots (or one
//!   that cannot pay the base fee) if it tips more, else it is refused;
//! - a sender may queue at most [`PoolConfig::account_queue`] transactions, none more than
//!   that many nonces beyond its pending ones; when the queued part is full, the queued
//!   transactions of the sender silent longest go first;
//! - a sender's queued transactions expire after [`PoolConfig::queued_lifetime`] without
//!   any of its transactions becoming executable (geth's heartbeat).
//!
//! The block producer asks [`TxPool::best_transactions`] for executable transactions,
//! highest effective tip first while keeping each sender's nonce order. After a block is
//! committed, [`TxPool::on_new_block`] (given the next block's base fee) drops what was
//! mined, what the sender can no longer afford, what stayed under the base fee for
//! [`PoolConfig::base_fee_grace_blocks`] blocks and expired queued transactions, promotes
//! and demotes by the new nonces and balances, and trims both parts to their limits. Error
//! messages follow geth's wording so that wallets and libraries recognise them.

mod error;
mod pool;
mod validate;

pub use error::{PoolError, SubPool};
pub use pool::{AddOutcome, PoolConfig, PoolStatus, PooledTx, TX_SLOT_SIZE, TxPool};
pub use validate::{Validated, ValidationContext, next_base_fee, validate_transaction};
