//! Why a transaction was refused. Messages are geth's, so clients recognise them.

use alloy_primitives::{Address, U256};

/// Which part of the pool a limit belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubPool {
    /// Executable transactions.
    Pending,
    /// Transactions waiting for a nonce gap to fill (or for funds).
    Queued,
}

impl std::fmt::Display for SubPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
        })
    }
}

/// A transaction was not accepted into the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Signed for another chain.
    #[error("invalid chain id for signer: have {got}, want {expected}")]
    ChainId {
        /// Chain id in the transaction.
        got: u64,
        /// This chain's id.
        expected: u64,
    },
    /// Legacy transaction without EIP-155 replay protection.
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    Unprotected,
    /// The signature does not recover to an address.
    #[error("invalid sender: {0}")]
    InvalidSender(String),
    /// Encoded size above the limit.
    #[error("oversized data: transaction size {size}, limit {max}")]
    Oversized {
        /// Encoded size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// Transaction type not accepted (not yet active, or blob transactions on bttc chains).
    #[error("transaction type not supported")]
    TypeNotSupported,
    /// Gas limit above the block gas limit.
    #[error("exceeds block gas limit")]
    ExceedsBlockGasLimit,
    /// Gas limit below the intrinsic gas.
    #[error("intrinsic gas too low: gas {gas}, minimum needed {needed}")]
    IntrinsicGasTooLow {
        /// Gas limit of the transaction.
        gas: u64,
        /// Intrinsic gas.
        needed: u64,
    },
    /// Tip above fee cap.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// Tip below the pool's minimum.
    #[error("transaction underpriced: tip needed {min}, tip permitted {got}")]
    Underpriced {
        /// Minimum tip.
        min: u128,
        /// Tip of the transaction.
        got: u128,
    },
    /// Fee cap below the base fee of the next block: it could not be included.
    #[error(
        "max fee per gas less than block base fee: address {sender}, maxFeePerGas: {fee_cap}, baseFee: {base_fee}"
    )]
    FeeCapBelowBaseFee {
        /// Sender.
        sender: Address,
        /// Max fee per gas (gas price for legacy transactions).
        fee_cap: u128,
        /// Base fee of the next block.
        base_fee: u64,
    },
    /// Nonce already used.
    #[error("nonce too low: address {sender}, tx: {got} state: {next}")]
    NonceTooLow {
        /// Sender.
        sender: Address,
        /// Nonce of the transaction.
        got: u64,
        /// Next nonce of the account.
        next: u64,
    },
    /// Nonce too far beyond the sender's next executable nonce.
    #[error("nonce too high: address {sender}, tx: {got} next: {next}, allowed gap {max_gap}")]
    NonceTooHigh {
        /// Sender.
        sender: Address,
        /// Nonce of the transaction.
        got: u64,
        /// The nonce after the sender's executable transactions in the pool.
        next: u64,
        /// Largest gap allowed ([`crate::PoolConfig::account_queue`]).
        max_gap: u64,
    },
    /// Nonce at the maximum.
    #[error("nonce has max value")]
    NonceMax,
    /// Balance below gas * price + value.
    #[error(
        "insufficient funds for gas * price + value: address {sender} have {balance} want {cost}"
    )]
    InsufficientFunds {
        /// Sender.
        sender: Address,
        /// Its balance.
        balance: U256,
        /// Maximum cost of the transaction.
        cost: U256,
    },
    /// The balance covers the transaction alone, but not on top of the sender's executable
    /// transactions already in the pool.
    #[error(
        "insufficient funds for gas * price + value: balance {balance}, queued cost {pending_cost}, tx cost {cost}, overshot {}",
        pending_cost.saturating_add(*cost).saturating_sub(*balance)
    )]
    InsufficientFundsCumulative {
        /// The sender's balance.
        balance: U256,
        /// Maximum cost of its executable pool transactions (less the one replaced, if any).
        pending_cost: U256,
        /// Maximum cost of this transaction.
        cost: U256,
    },
    /// Already in the pool.
    #[error("already known")]
    AlreadyKnown,
    /// Same sender and nonce in the pool, and the fee bump is too small.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// The sender already has as many non-executable transactions as allowed.
    #[error(
        "account limit exceeded: address {sender} has {count} queued transactions (limit {max})"
    )]
    AccountLimitExceeded {
        /// Sender.
        sender: Address,
        /// Its queued transactions.
        count: usize,
        /// Limit ([`crate::PoolConfig::account_queue`]).
        max: usize,
    },
    /// The pool is full and the transaction tips no more than the cheapest one it could
    /// evict.
    #[error(
        "transaction underpriced: the pool is full and tip {got} does not beat the cheapest evictable tip {cheapest}"
    )]
    UnderpricedWhenFull {
        /// Effective tip of the transaction at the current base fee.
        got: u128,
        /// Effective tip of the cheapest transaction that could make room.
        cheapest: u128,
    },
    /// The pool is full and nothing in it may make room.
    #[error("txpool is full: {pool} slots {used} of {max} in use and none can be evicted")]
    PoolFull {
        /// The part of the pool that is full.
        pool: SubPool,
        /// Slots in use.
        used: usize,
        /// Limit.
        max: usize,
    },
    /// State could not be read.
    #[error("state read failed: {0}")]
    State(String),
}
