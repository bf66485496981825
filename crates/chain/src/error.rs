//! Errors of the chain layer.

use alloy_primitives::{B256, Bloom};

/// A block was rejected. The message names the check and carries got/expected values.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The parent is not known at all.
    #[error("unknown parent {parent} for block {number}")]
    UnknownParent {
        /// Block number.
        number: u64,
        /// Parent hash the block names.
        parent: B256,
    },
    /// The parent is known but is not the head (side chains are not supported).
    #[error(
        "block {number} builds on {parent} which is not the head {head} (side chains are not imported)"
    )]
    NotOnHead {
        /// Block number.
        number: u64,
        /// Parent hash.
        parent: B256,
        /// Current head hash.
        head: B256,
    },
    /// A header field is wrong.
    #[error("invalid header field {field}: got {got}, expected {expected}")]
    Header {
        /// Field name.
        field: &'static str,
        /// Value in the block.
        got: String,
        /// What the rules require.
        expected: String,
    },
    /// The body does not match the header or breaks a body rule.
    #[error("invalid body: {0}")]
    Body(String),
    /// An ommer (uncle) header is invalid.
    #[error("invalid ommer {index} ({hash}): {reason}")]
    Ommer {
        /// Index in the block's ommer list.
        index: usize,
        /// The ommer's hash.
        hash: B256,
        /// Why.
        reason: String,
    },
    /// The block's RLP encoding is larger than the fork allows (EIP-7934).
    #[error("block RLP is {size} bytes, more than the {max}-byte limit (EIP-7934)")]
    BlockSize {
        /// Encoded size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// A transaction breaks a rule that needs no execution (blob counts, sidecars, types
    /// the chain refuses).
    #[error("transaction {index} ({hash}): {reason}")]
    Transaction {
        /// Index in the block.
        index: usize,
        /// Transaction hash.
        hash: B256,
        /// Why.
        reason: String,
    },
    /// A transaction signature does not recover.
    #[error("transaction {index} ({hash}): invalid signature: {reason}")]
    Signature {
        /// Index in the block.
        index: usize,
        /// Transaction hash.
        hash: B256,
        /// Why.
        reason: String,
    },
    /// Execution failed (invalid transaction, system call failure, ...).
    #[error("execution failed: {0}")]
    Execution(#[from] bttc_evm::ExecutionError),
    /// Gas used differs from the header.
    #[error("gas used mismatch: got {got}, header says {expected}")]
    GasUsed {
        /// Computed.
        got: u64,
        /// Header.
        expected: u64,
    },
    /// Blob gas used differs from the header.
    #[error("blob gas used mismatch: got {got}, header says {expected}")]
    BlobGasUsed {
        /// Computed.
        got: u64,
        /// Header.
        expected: u64,
    },
    /// Receipts root differs from the header.
    #[error("receipts root mismatch: got {got}, header says {expected}")]
    ReceiptsRoot {
        /// Computed.
        got: B256,
        /// Header.
        expected: B256,
    },
    /// Logs bloom differs from the header.
    #[error("logs bloom mismatch: got {got}, header says {expected}")]
    LogsBloom {
        /// Computed.
        got: Box<Bloom>,
        /// Header.
        expected: Box<Bloom>,
    },
    /// Requests hash differs from the header.
    #[error("requests hash mismatch: got {got}, header says {expected:?}")]
    RequestsHash {
        /// Computed.
        got: B256,
        /// Header.
        expected: Option<B256>,
    },
    /// State root differs from the header.
    #[error("state root mismatch: got {got}, header says {expected}")]
    StateRoot {
        /// Computed.
        got: B256,
        /// Header.
        expected: B256,
    },
    /// Storage failed while reading for the block (nothing of it was written).
    #[error("storage: {0}")]
    Storage(#[from] bttc_storage::StorageError),
    /// The block passed every check but writing it failed: the transaction may hold part of
    /// it and must be aborted, not committed.
    #[error("writing block {number} failed: {source}")]
    Write {
        /// Block number.
        number: u64,
        /// The storage error.
        #[source]
        source: bttc_storage::StorageError,
    },
    /// The trie failed while computing the state root.
    #[error("trie: {0}")]
    Trie(#[from] bttc_trie::TrieError),
}

/// What kind of rule a rejected block broke (or that it was not the block's fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The block's header (or its structure: ommers, withdrawals, size, parent) is invalid
    /// on its own or against its parent; found before execution.
    Header,
    /// A transaction cannot be included: bad signature, nonce, funds, gas, fees, type rules.
    Transaction,
    /// Executing the block failed outside a transaction: a system call or the requests it
    /// produced.
    Execution,
    /// Execution went through but its results differ from what the header commits to: gas
    /// used, receipts root, logs bloom, requests hash, state root.
    Result,
    /// The node failed (storage, trie): says nothing about the block's validity.
    Internal,
}

impl BlockError {
    /// The kind of rule this error reports.
    pub fn class(&self) -> ErrorClass {
        use alloy_evm::block::{BlockExecutionError, BlockValidationError as V};
        match self {
            Self::UnknownParent { .. }
            | Self::NotOnHead { .. }
            | Self::Header { .. }
            | Self::Body(_)
            | Self::Ommer { .. }
            | Self::BlockSize { .. } => ErrorClass::Header,
            Self::Signature { .. } | Self::Transaction { .. } => ErrorClass::Transaction,
            Self::Execution(e) => match e {
                bttc_evm::ExecutionError::Block(BlockExecutionError::Validation(
                    V::InvalidTx { .. }
                    | V::EVM { .. }
                    | V::TransactionGasLimitMoreThanAvailableBlockGas { .. },
                )) => ErrorClass::Transaction,
                bttc_evm::ExecutionError::Block(BlockExecutionError::Internal(_))
                | bttc_evm::ExecutionError::SenderCount { .. }
                | bttc_evm::ExecutionError::State(_)
                | bttc_evm::ExecutionError::PostStateRoot { .. }
                | bttc_evm::ExecutionError::PostStateRootsUnavailable { .. }
                | bttc_evm::ExecutionError::Hook { .. } => ErrorClass::Internal,
                _ => ErrorClass::Execution,
            },
            Self::GasUsed { .. }
            | Self::BlobGasUsed { .. }
            | Self::ReceiptsRoot { .. }
            | Self::LogsBloom { .. }
            | Self::RequestsHash { .. }
            | Self::StateRoot { .. } => ErrorClass::Result,
            Self::Storage(_) | Self::Write { .. } | Self::Trie(_) => ErrorClass::Internal,
        }
    }

    /// Whether the block's transaction is untouched: every error but [`Self::Write`] is
    /// raised before the first write, so the blocks before this one may still be committed.
    pub fn wrote_nothing(&self) -> bool {
        !matches!(self, Self::Write { .. })
    }

    pub(crate) fn header(field: &'static str, got: impl ToString, expected: impl ToString) -> Self {
        Self::Header { field, got: got.to_string(), expected: expected.to_string() }
    }
}

/// The chain could not be opened or initialised.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] bttc_storage::StorageError),
    /// Trie failed.
    #[error("trie: {0}")]
    Trie(#[from] bttc_trie::TrieError),
    /// The genesis is invalid.
    #[error("genesis: {0}")]
    Spec(#[from] bttc_chainspec::ChainSpecError),
    /// The datadir holds no chain.
    #[error(
        "the database at {0} has no chain; run `bttc init --genesis <file> --datadir <dir>` first"
    )]
    NotInitialized(String),
    /// The datadir holds the same genesis block under a different chain config.
    #[error(
        "the database holds genesis {hash} with a different chain config (chain id, fork \
         schedule or bttc parameters); Refusing to overwrite: use another --datadir"
    )]
    ConfigMismatch {
        /// Genesis hash.
        hash: B256,
    },
    /// The datadir holds a different chain.
    #[error(
        "the database already holds a chain with genesis {stored}; the given genesis hashes to \
         {given}. Refusing to overwrite: use another --datadir or remove this one"
    )]
    GenesisMismatch {
        /// Genesis hash in the database.
        stored: B256,
        /// Hash of the given genesis.
        given: B256,
    },
}
