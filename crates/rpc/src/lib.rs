//! bttc's Ethereum JSON-RPC server.
//!
//! This crate owns the JSON-RPC surface of a node: `eth_`, `net_`, `web3_`, `txpool_` and
//! (when enabled) `debug_`, over HTTP and WebSocket on one port (jsonrpsee).
//!
//! Data flow:
//!
//! - A request is parsed by jsonrpsee, which enforces the body size, batch length,
//!   connection and subscription limits of [`RpcConfig`].
//! - [`module::rpc_module`] maps the method name to a method of [`RpcContext`]. Cheap reads run
//!   on the server's worker threads; executions, log scans and traces run on the blocking pool
//!   under `call_timeout`.
//! - Methods open one MDBX read transaction each and read through `bttc-storage`: blocks,
//!   receipts and transactions from their tables, state from the plain state (head) or from
//!   changesets and history indices ([`bttc_storage::HistoricalState`]) for past blocks.
//! - Calls, gas estimates and traces execute with revm on a `CacheDB` over that state, so
//!   nothing they do is written ([`call`], [`debug`], [`simulate`]).
//! - Transactions enter the [`bttc_txpool::TxPool`]; [`ChainEvents`] carries each accepted
//!   transaction hash to pending filters and subscriptions (and to the dev block producer),
//!   and each new head from the producer to block filters and `newHeads` / `logs`
//!   subscriptions.
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

mod busy_poll;
pub mod call;
mod config;
mod context;
mod convert;
pub mod debug;
mod error;
mod eth;
mod filters;
mod fork_config;
pub mod module;
mod pubsub;
pub mod simulate;

pub use busy_poll::BusyPoll;
pub use config::RpcConfig;
pub use context::{
    BannedPeer, ChainEvents, CommitSource, PeerSource, RpcContext, SyncProgress, SyncSource,
};
pub use convert::{RpcReceipt, RpcTx};
pub use error::{
    CLIENT_LIMIT, INTERNAL, INVALID_PARAMS, LIMIT, REVERTED, RpcError, RpcResult, SERVER,
    UNSUPPORTED, decode_revert_reason,
};
pub use module::rpc_module;

use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use std::{net::SocketAddr, sync::Arc};
use tracing::info;

/// A running server: its address and the handle that stops it.
#[derive(Debug)]
pub struct RpcServer {
    /// The bound address (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// Stops the server when told to (or dropped after `stop`).
    pub handle: ServerHandle,
}

/// Binds `ctx.config.addr` and serves every method over HTTP and WebSocket.
pub async fn start_server(ctx: Arc<RpcContext>) -> Result<RpcServer, RpcError> {
    let cfg = ctx.config.clone();
    let server_cfg = ServerConfig::builder()
        .max_request_body_size(cfg.max_request_body)
        .max_response_body_size(cfg.max_response_body)
        .max_connections(cfg.max_connections)
        .max_subscriptions_per_connection(cfg.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(cfg.max_batch))
        .set_id_provider(pubsub::HexIdProvider::default())
        .build();
    let busy = cfg.busy_poll.filter(|w| !w.is_zero()).map(BusyPoll::spawn);
    let http = tower::ServiceBuilder::new().map_request(move |req| {
        if let Some(b) = &busy {
            b.touch();
        }
        req
    });
    let server = Server::builder()
        .set_config(server_cfg)
        .set_http_middleware(http)
        .build(cfg.addr)
        .await
        .map_err(|source| RpcError::Listen { addr: cfg.addr, source })?;
    let addr = server.local_addr().map_err(RpcError::internal)?;
    let module = rpc_module(ctx).map_err(RpcError::internal)?;
    let handle = server.start(module);
    info!(target: "bttc::rpc", %addr, "JSON-RPC listening (HTTP and WebSocket)");
    Ok(RpcServer { addr, handle })
}
