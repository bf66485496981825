//! Errors of block execution.

/// A block could not be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// A transaction or system call was invalid (alloy-evm's reason, with the transaction hash).
    #[error("{0}")]
    Block(#[from] alloy_evm::block::BlockExecutionError),
    /// The number of senders does not match the transactions.
    #[error("block has {txs} transactions but {senders} senders were given")]
    SenderCount {
        /// Transactions in the block.
        txs: usize,
        /// Senders given.
        senders: usize,
    },
    /// A system contract the fork requires has no code.
    #[error("system contract {address} has no code")]
    SystemContractMissing {
        /// Its address.
        address: alloy_primitives::Address,
    },
    /// State could not be read.
    #[error("state read failed: {0}")]
    State(String),
    /// A block hook failed.
    #[error("block hook {hook}: {reason}")]
    Hook {
        /// Which hook.
        hook: &'static str,
        /// Why.
        reason: String,
    },
}
