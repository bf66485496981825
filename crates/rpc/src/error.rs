//! JSON-RPC errors with geth's codes and wording.

use alloy_primitives::{Bytes, hex};
use jsonrpsee::types::ErrorObjectOwned;

/// Invalid params.
pub const INVALID_PARAMS: i32 = -32602;
/// Internal error.
pub const INTERNAL: i32 = -32603;
/// geth's generic server error (bad transactions, unknown blocks).
pub const SERVER: i32 = -32000;
/// Resource not found / method unavailable.
pub const UNSUPPORTED: i32 = -32004;
/// A limit of this server was exceeded.
pub const LIMIT: i32 = -32005;
/// Execution reverted (geth's code 3, with the revert data).
pub const REVERTED: i32 = 3;
/// A request exceeds a per-request limit of the server (execution-apis' "client adjustable
/// limit exceeded": too many simulated blocks, slots, ...).
pub const CLIENT_LIMIT: i32 = -38026;

/// An error of a JSON-RPC method.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// A parameter is malformed or out of range.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// The block asked for is not in the chain.
    #[error("header not found")]
    HeaderNotFound,
    /// The transaction asked for is not in the chain.
    #[error("transaction not found")]
    TransactionNotFound(alloy_primitives::B256),
    /// A transaction's trace failed (timeout, tracer error).
    #[error("{0}")]
    TraceFailed(String),
    /// The genesis block has no transactions to trace.
    #[error("genesis is not traceable")]
    GenesisNotTraceable,
    /// A transaction was refused by the pool (geth's wording).
    #[error("{0}")]
    Pool(#[from] bttc_txpool::PoolError),
    /// A call reverted; `reason` is the decoded `Error(string)` / `Panic(uint256)` if any.
    #[error("execution reverted{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Reverted {
        /// Revert data.
        data: Bytes,
        /// Decoded reason.
        reason: Option<String>,
    },
    /// A call halted (out of gas, invalid opcode, ...).
    #[error("{0}")]
    Halted(String),
    /// A call could not start (nonce, balance, fees, gas).
    #[error("{0}")]
    InvalidTransaction(String),
    /// A limit of this server.
    #[error("{0}")]
    Limit(String),
    /// A request asks for more than one request may (execution-apis' code -38026).
    #[error("{0}")]
    ClientLimit(String),
    /// The method exists but this server does not serve it in this form.
    #[error("{0}")]
    Unsupported(String),
    /// No such filter (or it expired).
    #[error("filter not found")]
    FilterNotFound,
    /// The sender is not an unlocked account.
    #[error("unknown account {0}")]
    UnknownAccount(alloy_primitives::Address),
    /// The call ran out of wall-clock time.
    #[error("execution aborted (timeout = {0:?})")]
    Timeout(std::time::Duration),
    /// Storage or another internal failure.
    #[error("internal error: {0}")]
    Internal(String),
    /// What was asked for exists but is not ready yet (a withdrawal before its checkpoint).
    #[error("{0}")]
    NotReady(String),
    /// `eth_simulateV1` refused the request.
    #[error(transparent)]
    Simulate(crate::simulate::SimulateError),
    /// The server could not bind its address (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
}

impl RpcError {
    /// An internal error from anything displayable.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    /// The JSON-RPC error code.
    pub const fn code(&self) -> i32 {
        match self {
            Self::InvalidParams(_) => INVALID_PARAMS,
            Self::Reverted { .. } => REVERTED,
            Self::Limit(_) => LIMIT,
            Self::ClientLimit(_) => CLIENT_LIMIT,
            Self::Simulate(e) => e.code(),
            Self::Unsupported(_) => UNSUPPORTED,
            Self::Internal(_) | Self::Listen { .. } => INTERNAL,
            Self::HeaderNotFound
            | Self::TransactionNotFound(_)
            | Self::GenesisNotTraceable
            | Self::TraceFailed(_)
            | Self::Pool(_)
            | Self::Halted(_)
            | Self::InvalidTransaction(_)
            | Self::FilterNotFound
            | Self::UnknownAccount(_)
            | Self::Timeout(_)
            | Self::NotReady(_) => SERVER,
        }
    }
}

impl From<bttc_storage::StorageError> for RpcError {
    fn from(e: bttc_storage::StorageError) -> Self {
        Self::internal(e)
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        let code = e.code();
        let message = e.to_string();
        match e {
            RpcError::Reverted { data, .. } => {
                ErrorObjectOwned::owned(code, message, Some(hex::encode_prefixed(&data)))
            }
            _ => ErrorObjectOwned::owned(code, message, None::<()>),
        }
    }
}

/// Decodes revert data: `Error(string)`, `Panic(uint256)`, or `None`.
pub fn decode_revert_reason(data: &[u8]) -> Option<String> {
    use alloy_sol_types::{GenericContractError, SolInterface};
    match GenericContractError::abi_decode(data).ok()? {
        GenericContractError::Revert(r) => Some(r.reason),
        GenericContractError::Panic(p) => Some(p.to_string()),
        GenericContractError::CustomError(never) => match never {},
    }
}

/// Result of a method.
pub type RpcResult<T> = Result<T, RpcError>;
