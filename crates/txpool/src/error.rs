//! Why a transaction was refused. Messages are geth's, so clients recognise them.

use alloy_primitives::{Address, U256};

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
    /// Already in the pool.
    #[error("already known")]
    AlreadyKnown,
    /// Same sender and nonce in the pool, and the fee bump is too small.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// The sender has too many transactions in the pool.
    #[error("txpool is full: sender {sender} has {count} transactions (limit {max})")]
    SenderFull {
        /// Sender.
        sender: Address,
        /// Its transactions in the pool.
        count: usize,
        /// Limit.
        max: usize,
    },
    /// The pool is full and the transaction does not pay more than the cheapest one.
    #[error("txpool is full")]
    PoolFull,
    /// State could not be read.
    #[error("state read failed: {0}")]
    State(String),
}
