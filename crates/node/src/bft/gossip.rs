//! Wiring the transaction-gossip swarm to the pool: gossiped transactions enter through the
//! same admission as JSON-RPC's; transactions accepted locally are published.

use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::B256;
use bttc_network::{TxGossip, TxRejection, TxSink};
use bttc_rpc::{RpcContext, RpcError};
use bttc_txpool::PoolError;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// The pool admission of a node, as a gossip sink.
#[derive(Debug)]
pub(crate) struct PoolSink(pub(crate) Arc<RpcContext>);

impl TxSink for PoolSink {
    fn submit(&self, raw: &[u8]) -> Result<B256, TxRejection> {
        if raw.len() > 128 * 1024 {
            return Err(TxRejection::Malformed(format!("{} bytes, limit 131072", raw.len())));
        }
        let mut slice = raw;
        let tx = alloy_consensus::TxEnvelope::decode_2718(&mut slice)
            .map_err(|e| TxRejection::Malformed(e.to_string()))?;
        if !slice.is_empty() {
            return Err(TxRejection::Malformed(format!("{} trailing bytes", slice.len())));
        }
        self.0.submit(tx).map_err(|e| match e {
            // Bytes no honest node would relay: the peer is at fault.
            RpcError::Pool(
                p @ (PoolError::ChainId { .. }
                | PoolError::InvalidSender(_)
                | PoolError::Unprotected
                | PoolError::TypeNotSupported
                | PoolError::Oversized { .. }
                | PoolError::TipAboveFeeCap
                | PoolError::IntrinsicGasTooLow { .. }),
            ) => TxRejection::Malformed(p.to_string()),
            // Stale or unwanted here (nonce, price, balance, already known): not a fault.
            other => TxRejection::Refused(other.to_string()),
        })
    }
}

/// Publishes every transaction the pool accepts (gossip skips those that came from peers).
pub(crate) async fn publish_pending(ctx: Arc<RpcContext>, gossip: TxGossip) {
    let mut rx = ctx.events.new_pending.subscribe();
    loop {
        match rx.recv().await {
            Ok(hash) => {
                if let Some(p) = ctx.pool.get(&hash) {
                    gossip.broadcast(hash, p.tx.encoded_2718());
                }
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        }
    }
}

/// A sink whose RPC context is set once the context exists (the context needs the gossip
/// swarm's peer count, the swarm needs the sink).
#[derive(Debug)]
pub(crate) struct LateSink(pub(crate) Arc<std::sync::OnceLock<Arc<RpcContext>>>);

impl TxSink for LateSink {
    fn submit(&self, raw: &[u8]) -> Result<B256, TxRejection> {
        match self.0.get() {
            Some(ctx) => PoolSink(ctx.clone()).submit(raw),
            None => Err(TxRejection::Refused("node still starting".into())),
        }
    }
}
