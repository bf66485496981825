//! `eth_subscribe`: `newHeads`, `logs` (with a filter) and `newPendingTransactions`
//! (hashes, or full transactions with `true`), pushed over WebSocket.
//!
//! A `logs` filter may name at most `log_query_limit` addresses and as many topics per
//! position, and the log subscriptions of one connection hold at most
//! [`crate::MAX_CONN_FILTER_TERMS`] entries together.

use crate::{RpcContext, RpcError, convert, filters::filter_terms, ws::WsConn};
use alloy_rpc_types_eth::{
    Filter,
    pubsub::{Params as SubParams, SubscriptionKind},
};
use jsonrpsee::{
    Extensions, PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink,
    types::ErrorObjectOwned, types::Params,
};
use serde::Serialize;
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};
use tokio::sync::broadcast::{self, error::RecvError};
use tracing::debug;

/// Subscription ids as geth makes them: a hex string, `0x` and 32 digits (web3.py and other
/// clients take the id as a string). 64 random bits make an id unguessable; a counter in the
/// other 64 makes each one unique on this node.
#[derive(Debug, Default)]
pub(crate) struct HexIdProvider {
    issued: AtomicU64,
}

impl jsonrpsee::core::traits::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let secret: u64 = rand::random();
        jsonrpsee::types::SubscriptionId::Str(format!("0x{secret:016x}{n:016x}").into())
    }
}

/// Serves one `eth_subscribe` call until the client unsubscribes or disconnects.
pub(crate) async fn subscribe(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<RpcContext>,
    ext: Extensions,
) {
    let mut seq = params.sequence();
    let kind: SubscriptionKind = match seq.next() {
        Ok(k) => k,
        Err(e) => return pending.reject(e).await,
    };
    let extra: Option<SubParams> = match seq.optional_next() {
        Ok(p) => p,
        Err(e) => return pending.reject(e).await,
    };
    // Every subscription keeps its connection from being closed as idle.
    let live = || ext.get::<Arc<WsConn>>().map(|c| c.subscribe(0)).transpose();
    match (kind, extra) {
        (SubscriptionKind::NewHeads, None) => {
            let _live = match live() {
                Ok(l) => l,
                Err(e) => return pending.reject(ErrorObjectOwned::from(e)).await,
            };
            let rx = ctx.events.new_heads.subscribe();
            let Ok(sink) = pending.accept().await else { return };
            forward(sink, rx, |number| {
                let ro = ctx.ro().ok()?;
                let header = ro.header(number).ok()??;
                let hash = ro.canonical_hash(number).ok()??;
                Some(vec![convert::rpc_header(header, hash, None)])
            })
            .await;
        }
        (SubscriptionKind::Logs, filter) => {
            let filter = match filter {
                None => Filter::default(),
                Some(SubParams::Logs(f)) => *f,
                Some(_) => {
                    let e = RpcError::InvalidParams("logs subscription takes a filter".into());
                    return pending.reject(ErrorObjectOwned::from(e)).await;
                }
            };
            // Held while the subscription lives: counts its entries against the connection.
            let _live = match filter_terms(&filter, ctx.config.log_query_limit)
                .and_then(|terms| ext.get::<Arc<WsConn>>().map(|c| c.subscribe(terms)).transpose())
            {
                Ok(live) => live,
                Err(e) => return pending.reject(ErrorObjectOwned::from(e)).await,
            };
            let rx = ctx.events.new_heads.subscribe();
            let Ok(sink) = pending.accept().await else { return };
            forward(sink, rx, |number| {
                let ro = ctx.ro().ok()?;
                let header = ro.header(number).ok()??;
                if !RpcContext::may_match(&ro, &filter, &header).ok()? {
                    return None;
                }
                let logs = RpcContext::block_logs(&ro, number).ok()?;
                Some(logs.into_iter().filter(|l| filter.rpc_matches(l)).collect())
            })
            .await;
        }
        (SubscriptionKind::NewPendingTransactions, extra) => {
            let full = matches!(extra, Some(SubParams::Bool(true)));
            let _live = match live() {
                Ok(l) => l,
                Err(e) => return pending.reject(ErrorObjectOwned::from(e)).await,
            };
            let rx = ctx.events.new_pending.subscribe();
            let Ok(sink) = pending.accept().await else { return };
            if full {
                forward(sink, rx, |hash| {
                    let p = ctx.pool.get(&hash)?;
                    Some(vec![convert::rpc_pending_tx(p.tx.clone(), p.sender)])
                })
                .await;
            } else {
                forward(sink, rx, |hash| Some(vec![hash])).await;
            }
        }
        (other, _) => {
            let e = RpcError::Unsupported(format!("subscription {other:?} is not supported"));
            pending.reject(ErrorObjectOwned::from(e)).await;
        }
    }
}

/// Sends what `map` makes of each event until the sink closes. A subscriber that lags
/// behind the channel skips the events it missed rather than stalling the node.
async fn forward<T: Clone, U: Serialize>(
    sink: SubscriptionSink,
    mut rx: broadcast::Receiver<T>,
    map: impl Fn(T) -> Option<Vec<U>>,
) {
    loop {
        let event = tokio::select! {
            _ = sink.closed() => return,
            e = rx.recv() => e,
        };
        let item = match event {
            Ok(item) => item,
            Err(RecvError::Lagged(n)) => {
                debug!(target: "bttc::rpc", skipped = n, "subscriber lagged");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        for msg in map(item).unwrap_or_default() {
            let Ok(raw) = serde_json::value::to_raw_value(&msg) else { continue };
            if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                return;
            }
        }
    }
}
