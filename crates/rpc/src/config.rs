//! Server limits and switches.

use std::{net::SocketAddr, time::Duration};

/// How the JSON-RPC server listens and what it allows. Every limit is on by default.
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
    /// Wall-clock limit of one `eth_call` / `eth_estimateGas` / trace.
    pub call_timeout: Duration,
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
            max_filters: 10_000,
            filter_ttl: Duration::from_secs(300),
            debug: false,
            default_priority_fee: 1_000_000_000,
            busy_poll: None,
        }
    }
}
