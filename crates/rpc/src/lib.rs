//! bttc's Ethereum JSON-RPC server.
//!
//! This crate owns the JSON-RPC surface of a node: `eth_`, `net_`, `web3_`, `txpool_` and
//! (when enabled) `debug_`, over HTTP and WebSocket on one port (jsonrpsee).
//!
//! Data flow:
//!
//! - [`start_server`] accepts connections (`server`). Before anything is parsed, the Host
//!   and Origin of plain HTTP requests and the Origin of WebSocket handshakes are checked and
//!   CORS is answered (`access`: geth's `--http.vhosts`, `--http.corsdomain`,
//!   `--ws.origins`). WebSocket connections are pinged, and closed when idle (`ws`).
//! - A request is parsed by jsonrpsee, which enforces the body size, batch length,
//!   connection and subscription limits of [`RpcConfig`].
//! - [`module::rpc_module`] maps the method name to a method of [`RpcContext`]. Cheap reads run
//!   on the server's worker threads; executions, log scans, traces and proofs on the
//!   execution lane, transaction admission on its own lane (`lanes`): bounded queues
//!   (-32005 when full), and the request's deadline (`call_timeout`) stops the EVM itself
//!   (`deadline`), so a timed-out call frees its thread.
//! - Methods open one MDBX read transaction each and read through `bttc-storage`: blocks,
//!   receipts and transactions from their tables, state from the plain state (head) or from
//!   changesets and history indices ([`bttc_storage::HistoricalState`]) for past blocks.
//! - Calls, gas estimates and traces execute with revm on a `CacheDB` over that state, so
//!   nothing they do is written ([`call`], [`debug`], [`simulate`]).
//! - Transactions enter the [`bttc_txpool::TxPool`]; [`ChainEvents`] carries each accepted
//!   transaction hash to pending filters and subscriptions (and to the dev block producer),
//!   and each new head from the producer to block filters and `newHeads` / `logs`
//!   subscriptions. Filters are scanned outside the filter table's lock; log filters and
//!   subscriptions are bounded by the size of their address and topic sets.
//!
//! - `eth_simulateV1` runs whole simulated blocks through the block executor on a revm
//!   `State` over the base block's state and seals them like real ones ([`simulate`]).
//! - Subscriptions get hex-string ids, random and unique per node, as geth's.
//! - What the node knows beyond its database comes through seams the node fills in:
//!   [`CommitSource`] (certificates), [`PeerSource`] (peers, bans), [`SyncSource`]
//!   (`eth_syncing`).
//!
//! - With [`RpcConfig::busy_poll`] set, every HTTP request restarts a short window in which
//!   the I/O worker keeps polling for the next one instead of sleeping ([`BusyPoll`]).
//!
//! Answers follow geth, checked by `tests/rpc_compat.rs` against the execution-apis
//! conformance suite: a revert is code 3 with the revert data and decoded reason; invalid
//! params -32602; transaction pool refusals -32000 with geth's wording; `eth_simulateV1`'s
//! refusals the -380xx codes of execution-apis ([`RpcError`], [`simulate::SimulateError`]).

mod access;
mod bor;
mod bridge;
mod busy_poll;
pub mod call;
mod checkpoint;
mod config;
mod context;
mod convert;
mod deadline;
pub mod debug;
mod error;
mod eth;
mod filters;
mod fork_config;
mod lanes;
pub mod module;
mod pubsub;
mod server;
pub mod simulate;
mod staking;
mod ws;

pub use access::{AccessError, OriginRules, VirtualHosts};
pub use busy_poll::BusyPoll;
pub use config::RpcConfig;
pub use context::{
    BannedPeer, BorValidator, ChainEvents, CommitSource, PeerSource, RpcContext, SyncProgress,
    SyncSource, ValidatorSource,
};
pub use convert::{RpcReceipt, RpcTx, state_sync_tx_hash};
pub use deadline::{Deadline, TIMEOUT_TAG};
pub use error::{
    CLIENT_LIMIT, INTERNAL, INVALID_PARAMS, LIMIT, REVERTED, RpcError, RpcResult, SERVER,
    UNSUPPORTED, decode_revert_reason,
};
pub use filters::MAX_FILTER_TERMS;
pub use module::rpc_module;
pub use staking::{
    RpcDelegation, RpcProposal, RpcStake, RpcUnbonding, RpcValidator, RpcValidatorSet,
};

pub use server::{RpcServer, start_server};
pub use ws::MAX_CONN_FILTER_TERMS;
