//! The transaction pool.
//!
//! Transactions arrive from JSON-RPC (and later gossip) as signed envelopes.
//! [`TxPool::add`] validates each one against the chain rules ([`ValidationContext`]) and the
//! sender's account in the latest state (nonce, balance), then files it per sender by nonce:
//! **pending** when every nonce from the account's next one up to it is present (it can be
//! executed now), **queued** when there is a gap. A transaction with the same sender and
//! nonce as one in the pool replaces it only when both its fee cap and tip are at least
//! [`PoolConfig::price_bump_percent`] higher.
//!
//! The block producer asks [`TxPool::best_transactions`] for executable transactions,
//! highest effective tip first while keeping each sender's nonce order. After a block is
//! committed, [`TxPool::on_new_block`] drops what was mined or became invalid (nonce too low,
//! no longer affordable) and promotes queued transactions whose gap was filled.
//!
//! Limits: at most [`PoolConfig::max_account_slots`] transactions per sender and
//! [`PoolConfig::max_transactions`] in all; when full, the cheapest transaction is evicted if
//! the newcomer pays more, otherwise the newcomer is refused. Error messages follow geth's
//! wording so that wallets and libraries recognise them.

mod error;
mod pool;
mod validate;

pub use error::PoolError;
pub use pool::{AddOutcome, PoolConfig, PoolStatus, PooledTx, TxPool};
pub use validate::{Validated, ValidationContext, validate_transaction};
