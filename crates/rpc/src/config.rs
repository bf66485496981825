//! Server limits and switches.

use crate::{OriginRules, VirtualHosts};
use std::{net::SocketAddr, time::Duration};

/// How the JSON-RPC server listens and what it allows. Every limit is on by default, and no
/// browser origin is allowed ([`Self::dev`] allows pages on this machine).
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// Where HTTP and WebSocket listen (one port for both). Default `127.0.0.1:8545`.
    pub addr: SocketAddr,
    /// Largest request body in bytes.
    pub max_request_body: u32,
    /// Largest response body in bytes.
    pub max_response_body: u32,
    /// Most calls in one batch.
    pub max_batch: u32,
    /// Most open connections (HTTP keep-alive and WebSocket together).
    pub max_connections: u32,
    /// Most subscriptions on one WebSocket connection.
    pub max_subscriptions_per_connection: u32,
    /// Widest `eth_getLogs` block range.
    pub max_logs_block_range: u64,
    /// Most logs one `eth_getLogs` returns.
    pub max_logs_results: usize,
    /// Gas given to `eth_call` / `eth_estimateGas` at most.
    pub gas_cap: u64,
    /// Wall-clock limit of one `eth_call` / `eth_estimateGas` / trace; the EVM stops there.
    pub call_timeout: Duration,
    /// Threads of the execution lane and of the transaction admission lane, each
    /// (0: one per core).
    pub exec_threads: usize,
    /// Calls a lane takes beyond its threads; more are refused with -32005.
    pub max_queued: usize,
    /// Most addresses, and most topics at one position, in a log query, filter or
    /// subscription (geth's `--rpc.logquerylimit`).
    pub log_query_limit: usize,
    /// Browser origins allowed to call over HTTP (CORS). Requests without an `Origin`
    /// header always pass.
    pub cors_domains: OriginRules,
    /// Host names plain HTTP requests may be addressed to (IP addresses always pass).
    pub vhosts: VirtualHosts,
    /// Browser origins allowed to open a WebSocket.
    pub ws_origins: OriginRules,
    /// WebSocket ping interval (`None`: no pings); a peer silent for two intervals is dropped.
    pub ws_ping_interval: Option<Duration>,
    /// A WebSocket connection with no call and no subscription for this long is closed
    /// (`None`: never).
    pub ws_idle_timeout: Option<Duration>,
    /// Most installed filters; a filter not polled for `filter_ttl` is removed.
    pub max_filters: usize,
    /// Lifetime of an unpolled filter.
    pub filter_ttl: Duration,
    /// Serve the `debug_` namespace.
    pub debug: bool,
    /// Suggested priority fee (wei) when recent blocks carry no tips.
    pub default_priority_fee: u128,
    /// Keep the I/O worker polling for this long after each HTTP request instead of sleeping
    /// (see [`crate::BusyPoll`]); `None` sleeps at once. Only useful with one I/O worker.
    pub busy_poll: Option<Duration>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8545)),
            max_request_body: 5 * 1024 * 1024,
            max_response_body: 100 * 1024 * 1024,
            max_batch: 1000,
            max_connections: 500,
            max_subscriptions_per_connection: 1024,
            max_logs_block_range: 10_000,
            max_logs_results: 20_000,
            gas_cap: 50_000_000,
            call_timeout: Duration::from_secs(5),
            exec_threads: 0,
            max_queued: 256,
            log_query_limit: 1000,
            cors_domains: OriginRules::none(),
            vhosts: VirtualHosts::default(),
            ws_origins: OriginRules::none(),
            ws_ping_interval: Some(Duration::from_secs(30)),
            ws_idle_timeout: Some(Duration::from_secs(300)),
            max_filters: 10_000,
            filter_ttl: Duration::from_secs(300),
            debug: false,
            default_priority_fee: 1_000_000_000,
            busy_poll: None,
        }
    }
}

impl RpcConfig {
    /// The dev node's defaults: `debug_` on, and browser pages on `localhost` /
    /// `127.0.0.1` (any port) may call over HTTP and WebSocket, so local dApp front ends work.
    pub fn dev() -> Self {
        Self {
            debug: true,
            cors_domains: OriginRules::local(),
            ws_origins: OriginRules::local(),
            ..Self::default()
        }
    }
}
