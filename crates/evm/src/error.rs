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
    /// A pre-Byzantium block was executed without a way to compute the post-transaction
    /// state roots its receipts carry.
    #[error(
        "block {number} predates Byzantium: its receipts need post-transaction state roots, and none can be computed here"
    )]
    PostStateRootsUnavailable {
        /// Block number.
        number: u64,
    },
    /// The state root after a pre-Byzantium transaction could not be computed.
    #[error("state root after transaction {index}: {source}")]
    PostStateRoot {
        /// Index of the transaction in the block.
        index: usize,
        /// Why.
        #[source]
        source: crate::BoxError,
    },
    /// A deposit event of the deposit contract breaks EIP-6110's layout.
    #[error("transaction {index}: {source}")]
    DepositLayout {
        /// Index of the transaction whose receipt holds the event.
        index: usize,
        /// What is wrong.
        #[source]
        source: crate::deposits::DepositLayoutError,
    },
    /// A block hook failed.
    #[error("block hook {hook} failed")]
    Hook {
        /// Which hook.
        hook: &'static str,
        /// Why.
        #[source]
        source: crate::BoxError,
    },
}
