//! Binding the port and serving connections: one accept loop for HTTP and WebSocket; the
//! HTTP middleware (Host, Origin and CORS checks, busy polling); jsonrpsee's WebSocket
//! pings; and, per WebSocket connection, a watchdog that closes it when idle.

use crate::{
    BusyPoll, RpcContext, RpcError,
    access::{AccessLayer, AccessRules, is_websocket_upgrade},
    rpc_module,
    ws::{self, ActivityLayer, WsConn},
};
use jsonrpsee::{
    RpcModule,
    server::{
        BatchRequestConfig, Methods, PingConfig, Server, ServerConfig, ServerHandle, StopHandle,
        middleware::rpc::RpcServiceBuilder, serve_with_graceful_shutdown, stop_channel,
    },
};
use std::{
    net::SocketAddr,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tokio::net::TcpListener;
use tracing::{debug, info};

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
    let mut server_cfg = ServerConfig::builder()
        .max_request_body_size(cfg.max_request_body)
        .max_response_body_size(cfg.max_response_body)
        .max_connections(cfg.max_connections)
        .max_subscriptions_per_connection(cfg.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(cfg.max_batch))
        .set_id_provider(crate::pubsub::HexIdProvider::default());
    if let Some(every) = cfg.ws_ping_interval {
        // A peer that answers no ping (and sends nothing) for two intervals is dropped.
        server_cfg = server_cfg
            .enable_ws_ping(PingConfig::new().ping_interval(every).inactive_limit(every * 2));
    }
    let busy = cfg.busy_poll.filter(|w| !w.is_zero()).map(BusyPoll::spawn);
    let access = AccessRules {
        cors: cfg.cors_domains.clone(),
        vhosts: cfg.vhosts.clone(),
        ws_origins: cfg.ws_origins.clone(),
    };
    let http =
        tower::ServiceBuilder::new().layer(AccessLayer(Arc::new(access))).map_request(move |req| {
            if let Some(b) = &busy {
                b.touch();
            }
            req
        });
    let services = Server::builder()
        .set_config(server_cfg.build())
        .set_http_middleware(http)
        .set_rpc_middleware(RpcServiceBuilder::new().layer(ActivityLayer))
        .to_service_builder();
    let listener = TcpListener::bind(cfg.addr)
        .await
        .map_err(|source| RpcError::Listen { addr: cfg.addr, source })?;
    let addr = listener.local_addr().map_err(RpcError::internal)?;
    let module: RpcModule<_> = rpc_module(ctx).map_err(RpcError::internal)?;
    let (stop, handle) = stop_channel();
    let idle = cfg.ws_idle_timeout;
    tokio::spawn(async move {
        let methods: Methods = module.into();
        loop {
            let sock = tokio::select! {
                r = listener.accept() => match r {
                    Ok((sock, _)) => sock,
                    Err(e) => {
                        // Out of file descriptors and the like: do not spin.
                        debug!(target: "bttc::rpc", error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = stop.clone().shutdown() => return,
            };
            let _ = sock.set_nodelay(true);
            // Each connection has its own stop handle, so that its watchdog can close it.
            let (conn_stop, conn_handle) = stop_channel();
            let svc = PerConnection {
                inner: services.clone().build(methods.clone(), conn_stop),
                conn: Arc::new(ConnHandles { conn_handle, server_stop: stop.clone(), idle }),
            };
            let stopped = stop.clone().shutdown();
            tokio::spawn(async move {
                if let Err(e) = serve_with_graceful_shutdown(sock, svc, stopped).await {
                    debug!(target: "bttc::rpc", error = %e, "connection ended with an error");
                }
            });
        }
    });
    info!(target: "bttc::rpc", %addr, "JSON-RPC listening (HTTP and WebSocket)");
    Ok(RpcServer { addr, handle })
}

/// The jsonrpsee service of one TCP connection; a WebSocket handshake gets a [`WsConn`]
/// (in the request's extensions, so every call on the socket sees it) and a watchdog.
#[derive(Debug, Clone)]
struct PerConnection<S> {
    inner: S,
    /// Behind one `Arc`: hyper clones the service for every request.
    conn: Arc<ConnHandles>,
}

/// What a WebSocket connection's watchdog needs from its TCP connection.
#[derive(Debug)]
struct ConnHandles {
    conn_handle: ServerHandle,
    server_stop: StopHandle,
    idle: Option<Duration>,
}

impl<S, B> tower::Service<http::Request<B>> for PerConnection<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        if is_websocket_upgrade(req.headers()) {
            let (conn, closed) = WsConn::new();
            tokio::spawn(ws::watch(
                Arc::downgrade(&conn),
                closed,
                self.conn.idle,
                self.conn.conn_handle.clone(),
                self.conn.server_stop.clone(),
            ));
            req.extensions_mut().insert(conn);
        }
        self.inner.call(req)
    }
}
