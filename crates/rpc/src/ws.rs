//! WebSocket connections: what each one is doing, when an idle one is closed, and how much
//! its log subscriptions may hold.
//!
//! Every WebSocket handshake gets a [`WsConn`], carried in the request's extensions to every
//! call on that connection. [`ActivityLayer`] (RPC middleware) stamps it on each call;
//! `eth_subscribe` holds a [`Subscription`] on it while the subscription lives. A watchdog
//! task per connection closes it once it has had no call and no subscription for the idle
//! timeout (a client that only answers pings is still idle), and forwards a server stop.
//! Dead peers are found by jsonrpsee's pings (`RpcConfig::ws_ping_interval`).

use crate::{RpcError, RpcResult};
use jsonrpsee::server::{
    ServerHandle, StopHandle,
    middleware::rpc::{Batch, Notification, Request, RpcServiceT},
};
use std::{
    sync::{
        Arc, Weak,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::oneshot;
use tracing::debug;

/// Most address and topic entries the log subscriptions of one connection hold together.
pub const MAX_CONN_FILTER_TERMS: usize = 10_000;

/// What one WebSocket connection is doing; shared by its calls and its watchdog.
#[derive(Debug)]
pub(crate) struct WsConn {
    opened: Instant,
    /// Milliseconds after `opened` of the last call.
    last_call_ms: AtomicU64,
    subscriptions: AtomicUsize,
    filter_terms: AtomicUsize,
    /// Dropped with the connection, which ends its watchdog.
    _closed: oneshot::Sender<()>,
}

impl WsConn {
    /// A connection's state and the receiver that resolves when the connection is gone.
    pub(crate) fn new() -> (Arc<Self>, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let conn = Self {
            opened: Instant::now(),
            last_call_ms: AtomicU64::new(0),
            subscriptions: AtomicUsize::new(0),
            filter_terms: AtomicUsize::new(0),
            _closed: tx,
        };
        (Arc::new(conn), rx)
    }

    fn touch(&self) {
        let ms = self.opened.elapsed().as_millis().try_into().unwrap_or(u64::MAX);
        self.last_call_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// When the connection becomes idle if nothing happens, or `None` while it holds a
    /// subscription.
    fn idle_at(&self, idle: Duration) -> Option<Instant> {
        (self.subscriptions.load(Ordering::Acquire) == 0).then(|| {
            self.opened + Duration::from_millis(self.last_call_ms.load(Ordering::Relaxed)) + idle
        })
    }

    /// Registers a subscription holding `terms` address/topic entries, within the
    /// connection's budget; released when the returned guard drops.
    pub(crate) fn subscribe(self: &Arc<Self>, terms: usize) -> RpcResult<Subscription> {
        let r = self.filter_terms.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            used.checked_add(terms).filter(|&t| t <= MAX_CONN_FILTER_TERMS)
        });
        if let Err(used) = r {
            return Err(RpcError::Limit(format!(
                "too many filter entries on this connection: {used} held + {terms} asked > \
                 {MAX_CONN_FILTER_TERMS}"
            )));
        }
        self.subscriptions.fetch_add(1, Ordering::AcqRel);
        Ok(Subscription { conn: Arc::clone(self), terms })
    }
}

/// A live subscription on a [`WsConn`] (see [`WsConn::subscribe`]).
#[derive(Debug)]
pub(crate) struct Subscription {
    conn: Arc<WsConn>,
    terms: usize,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.conn.filter_terms.fetch_sub(self.terms, Ordering::AcqRel);
        self.conn.subscriptions.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Watches one WebSocket connection: stops it (through `conn_stop`) when it has been idle
/// for `idle`, or when the server stops; returns when the connection is gone.
pub(crate) async fn watch(
    conn: Weak<WsConn>,
    mut closed: oneshot::Receiver<()>,
    idle: Option<Duration>,
    conn_stop: ServerHandle,
    server_stop: StopHandle,
) {
    let server_stopped = server_stop.shutdown();
    tokio::pin!(server_stopped);
    loop {
        let Some(c) = conn.upgrade() else { return };
        // With a subscription alive, look again after a full idle period.
        let wake = idle.map(|d| c.idle_at(d).unwrap_or_else(|| Instant::now() + d));
        drop(c);
        let sleep = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut closed => return,
            _ = &mut server_stopped => {
                let _ = conn_stop.stop();
                return;
            }
            _ = sleep => {
                let (Some(c), Some(d)) = (conn.upgrade(), idle) else { return };
                if c.idle_at(d).is_some_and(|at| Instant::now() >= at) {
                    debug!(target: "bttc::rpc", idle = ?d, "closing an idle WebSocket connection");
                    let _ = conn_stop.stop();
                    return;
                }
            }
        }
    }
}

/// RPC middleware that stamps the connection's [`WsConn`] on every call.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ActivityLayer;

impl<S> tower::Layer<S> for ActivityLayer {
    type Service = Activity<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Activity(inner)
    }
}

/// See [`ActivityLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Activity<S>(S);

impl<S: RpcServiceT + Send + Sync> RpcServiceT for Activity<S> {
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        if let Some(c) = req.extensions().get::<Arc<WsConn>>() {
            c.touch();
        }
        self.0.call(req)
    }

    fn batch<'a>(
        &self,
        mut batch: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        if let Some(c) = batch.extensions().get::<Arc<WsConn>>() {
            c.touch();
        }
        self.0.batch(batch)
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        if let Some(c) = n.extensions().get::<Arc<WsConn>>() {
            c.touch();
        }
        self.0.notification(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_are_counted_and_bounded_by_their_entries() {
        let (conn, _closed) = WsConn::new();
        let idle = Duration::from_secs(60);
        assert!(conn.idle_at(idle).is_some());
        let a = conn.subscribe(MAX_CONN_FILTER_TERMS - 10).unwrap();
        assert!(conn.idle_at(idle).is_none(), "a live subscription keeps it busy");
        let e = conn.subscribe(11).unwrap_err();
        assert!(e.to_string().contains("too many filter entries"), "{e}");
        let b = conn.subscribe(10).unwrap();
        drop(a);
        drop(b);
        assert_eq!(conn.filter_terms.load(Ordering::Acquire), 0);
        assert!(conn.idle_at(idle).is_some());
        let before = conn.idle_at(idle).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        conn.touch();
        assert!(conn.idle_at(idle).unwrap() > before, "a call moves the idle time");
    }
}
