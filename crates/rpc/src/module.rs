//! The method table: every JSON-RPC method name and the [`RpcContext`] call behind it.

use crate::{RpcContext, RpcError, RpcResult, pubsub};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U64, U256, keccak256};
use alloy_rpc_types_eth::{
    BlockOverrides, Filter, Index, TransactionRequest,
    state::{EvmOverrides, StateOverride},
};
use alloy_rpc_types_trace::geth::{GethDebugTracingCallOptions, GethDebugTracingOptions};
use jsonrpsee::{RpcModule, core::RegisterMethodError, types::ErrorObjectOwned, types::Params};
use serde::Serialize;
use serde_json::json;
use std::{collections::BTreeMap, sync::Arc};

type Res<T> = Result<T, ErrorObjectOwned>;

/// Registers a method that runs on the server's worker thread (cheap reads).
macro_rules! inline {
    ($m:ident, $name:literal, |$ctx:ident, $p:ident| $body:expr) => {
        $m.register_method($name, |params: Params<'_>, ctx: &Arc<RpcContext>, _| -> Res<_> {
            let run = || -> Res<_> {
                #[allow(unused_mut, unused_variables)]
                let mut $p = params.sequence();
                #[allow(unused_variables)]
                let $ctx = ctx;
                Ok($body)
            };
            run().map_err(geth_params_error)
        })?;
    };
}

/// Registers a method that runs on the execution lane under the call timeout (executions,
/// log scans, traces, proofs).
macro_rules! heavy {
    ($m:ident, $name:literal, |$ctx:ident, $p:ident| $body:expr) => {
        on_lane!($m, exec, $name, |$ctx, $p| $body)
    };
}

/// Registers a method that runs on the transaction admission lane.
macro_rules! admission {
    ($m:ident, $name:literal, |$ctx:ident, $p:ident| $body:expr) => {
        on_lane!($m, admission, $name, |$ctx, $p| $body)
    };
}

/// Registers a method that runs on one of the [`crate::lanes::Lanes`]: a fixed pool of one
/// thread per core with a bounded queue (more threads than cores only add latency and
/// memory), under the call timeout.
macro_rules! on_lane {
    ($m:ident, $lane:ident, $name:literal, |$ctx:ident, $p:ident| $body:expr) => {
        $m.register_async_method(
            $name,
            |params: Params<'static>, ctx: Arc<Arc<RpcContext>>, _| async move {
                let worker = Arc::clone(&ctx);
                ctx.lanes
                    .$lane
                    .run(ctx.config.call_timeout, move || -> Res<_> {
                        let run = || -> Res<_> {
                            #[allow(unused_mut, unused_variables)]
                            let mut $p = params.sequence();
                            let $ctx: &Arc<RpcContext> = &worker;
                            Ok($body)
                        };
                        run().map_err(geth_params_error)
                    })
                    .await
            },
        )?;
    };
}

/// jsonrpsee reports a parameter that does not parse as "Invalid params" with the reason in
/// `data`; geth puts the reason in the message and sends no data.
fn geth_params_error(e: ErrorObjectOwned) -> ErrorObjectOwned {
    if e.code() != crate::INVALID_PARAMS || e.message() != "Invalid params" {
        return e;
    }
    let Some(data) = e.data() else { return e };
    let reason: String =
        serde_json::from_str(data.get()).unwrap_or_else(|_| data.get().to_string());
    ErrorObjectOwned::owned(
        crate::INVALID_PARAMS,
        format!("invalid argument: {reason}"),
        None::<()>,
    )
}

fn block_or_latest(p: &mut jsonrpsee::types::params::ParamsSequence<'_>) -> Res<BlockId> {
    Ok(p.optional_next::<BlockId>()?.unwrap_or_default())
}

fn overrides(p: &mut jsonrpsee::types::params::ParamsSequence<'_>) -> Res<EvmOverrides> {
    let state: Option<StateOverride> = p.optional_next()?;
    let block: Option<BlockOverrides> = p.optional_next()?;
    Ok(EvmOverrides::new(state, block.map(Box::new)))
}

/// A 32-byte hash parameter read as geth reads it: `0x` and 64 hex digits (alloy's `B256`
/// also takes the digits without the prefix).
struct Hash(B256);

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if !s.starts_with("0x") && !s.starts_with("0X") {
            return Err(serde::de::Error::custom(format!("hex string without 0x prefix: {s:?}")));
        }
        s.parse().map(Self).map_err(serde::de::Error::custom)
    }
}

fn hex_u64(n: u64) -> U64 {
    U64::from(n)
}

fn ok<T>(r: RpcResult<T>) -> Res<T> {
    r.map_err(Into::into)
}

/// `start, end` block numbers as Bor's API takes them (JSON numbers or hex strings).
fn block_range(p: &mut jsonrpsee::types::params::ParamsSequence<'_>) -> Res<(u64, u64)> {
    let (start, end): (serde_json::Value, serde_json::Value) = (p.next()?, p.next()?);
    Ok((ok(crate::bor::block_number_param(&start))?, ok(crate::bor::block_number_param(&end))?))
}

#[derive(Serialize, Clone)]
struct PoolContent<T> {
    /// By checksummed sender address (as geth keys it), then by nonce.
    pending: BTreeMap<String, BTreeMap<String, T>>,
    queued: BTreeMap<String, BTreeMap<String, T>>,
}

/// The full method table over `ctx`. `debug_` methods are included only if
/// `ctx.config.debug` is set.
pub fn rpc_module(ctx: Arc<RpcContext>) -> Result<RpcModule<Arc<RpcContext>>, RegisterMethodError> {
    let debug = ctx.config.debug;
    let mut m = RpcModule::new(ctx);

    // web3_, net_
    inline!(m, "web3_clientVersion", |ctx, p| ctx.client_version.clone());
    inline!(m, "web3_sha3", |ctx, p| keccak256(p.next::<Bytes>()?));
    inline!(m, "net_version", |ctx, p| ctx.chain.spec().chain_id().to_string());
    inline!(m, "net_listening", |ctx, p| true);
    inline!(m, "bttc_getCommit", |ctx, p| {
        let number: U64 = p.next()?;
        match &ctx.commits {
            Some(src) => ok(src.commit(number.to::<u64>()).map_err(RpcError::Internal))?,
            None => None,
        }
    });
    // bor_: BTTC's consensus reads
    inline!(m, "bor_getAuthor", |ctx, p| {
        let b = block_or_latest(&mut p)?;
        ok(ctx.bor_author(b))?
    });
    inline!(m, "bor_getSigners", |ctx, p| {
        let b = block_or_latest(&mut p)?;
        ok(ctx.bor_signers(b))?
    });
    inline!(m, "bor_getCurrentValidators", |ctx, p| ok(ctx.bor_current_validators())?);
    inline!(m, "bor_getCurrentProposer", |ctx, p| ok(ctx.bor_current_proposer())?);
    inline!(m, "net_peerCount", |ctx, p| hex_u64(
        ctx.peers.as_ref().map_or(0, |peers| peers.peer_count() as u64)
    ));
    inline!(m, "bttc_bannedPeers", |ctx, p| ctx
        .peers
        .as_ref()
        .map(|peers| peers.banned())
        .unwrap_or_default());

    // eth_: chain
    inline!(m, "eth_chainId", |ctx, p| hex_u64(ctx.chain.spec().chain_id()));
    inline!(m, "eth_config", |ctx, p| ok(ctx.fork_config())?);
    inline!(m, "eth_capabilities", |ctx, p| ok(ctx.capabilities())?);
    inline!(m, "eth_blockNumber", |ctx, p| hex_u64(ok(ctx.block_number())?));
    inline!(m, "eth_syncing", |ctx, p| match ok(ctx.syncing())? {
        Some(progress) => json!(progress),
        None => json!(false),
    });
    inline!(m, "eth_mining", |ctx, p| ctx.mining);
    inline!(m, "eth_hashrate", |ctx, p| hex_u64(0));
    inline!(m, "eth_accounts", |ctx, p| ctx
        .signers
        .iter()
        .map(|s| s.address())
        .collect::<Vec<Address>>());
    inline!(m, "eth_protocolVersion", |ctx, p| "0x44");
    inline!(m, "eth_gasPrice", |ctx, p| U256::from(ok(ctx.gas_price())?));
    inline!(m, "eth_maxPriorityFeePerGas", |ctx, p| U256::from(ok(ctx.suggested_tip())?));
    inline!(m, "eth_baseFee", |ctx, p| ok(ctx.base_fee())?.map(U256::from));
    inline!(m, "eth_blobBaseFee", |ctx, p| ok(ctx.blob_base_fee())?.map(U256::from));
    heavy!(m, "eth_feeHistory", |ctx, p| {
        let count: U64 = p.next()?;
        let newest: BlockNumberOrTag = p.next()?;
        let percentiles: Option<Vec<f64>> = p.optional_next()?;
        ok(ctx.fee_history(count.to(), newest, percentiles))?
    });

    // eth_: state
    inline!(m, "eth_getBalance", |ctx, p| {
        let a: Address = p.next()?;
        let b = block_or_latest(&mut p)?;
        ok(ctx.account_at(a, b))?.map(|a| a.balance).unwrap_or_default()
    });
    inline!(m, "eth_getTransactionCount", |ctx, p| {
        let a: Address = p.next()?;
        let b = block_or_latest(&mut p)?;
        hex_u64(ok(ctx.transaction_count(a, b))?)
    });
    inline!(m, "eth_getCode", |ctx, p| {
        let a: Address = p.next()?;
        let b = block_or_latest(&mut p)?;
        ok(ctx.code(a, b))?
    });
    inline!(m, "eth_getStorageAt", |ctx, p| {
        let a: Address = p.next()?;
        let slot: String = p.next()?;
        let b = block_or_latest(&mut p)?;
        ok(ctx.storage_at(a, &slot, b))?
    });
    inline!(m, "eth_getStorageValues", |ctx, p| {
        let requests: BTreeMap<Address, Vec<B256>> = p.next()?;
        let b = block_or_latest(&mut p)?;
        ok(ctx.storage_values(requests, b))?
    });
    heavy!(m, "eth_getProof", |ctx, p| {
        let a: Address = p.next()?;
        let keys: Vec<String> = p.next()?;
        let b = block_or_latest(&mut p)?;
        ok(ctx.proof(a, keys, b))?
    });

    // eth_: blocks and transactions
    inline!(m, "eth_getBlockByNumber", |ctx, p| {
        let tag: BlockNumberOrTag = p.next()?;
        let full: bool = p.optional_next()?.unwrap_or(false);
        ok(ctx.block_json_by_id(tag.into(), full))?
    });
    inline!(m, "eth_getBlockByHash", |ctx, p| {
        let Hash(h) = p.next()?;
        let full: bool = p.optional_next()?.unwrap_or(false);
        ok(ctx.block_json_by_id(h.into(), full))?
    });
    inline!(m, "eth_getBlockTransactionCountByNumber", |ctx, p| {
        let tag: BlockNumberOrTag = p.next()?;
        ok(ctx.block_tx_count(tag.into()))?.map(hex_u64)
    });
    inline!(m, "eth_getBlockTransactionCountByHash", |ctx, p| {
        let Hash(h) = p.next()?;
        ok(ctx.block_tx_count(h.into()))?.map(hex_u64)
    });
    inline!(m, "eth_getUncleCountByBlockNumber", |ctx, p| {
        let tag: BlockNumberOrTag = p.next()?;
        ok(ctx.block_by_id(tag.into(), false))?.map(|b| hex_u64(b.uncles.len() as u64))
    });
    inline!(m, "eth_getUncleCountByBlockHash", |ctx, p| {
        let Hash(h) = p.next()?;
        ok(ctx.block_by_id(h.into(), false))?.map(|b| hex_u64(b.uncles.len() as u64))
    });
    inline!(m, "eth_getUncleByBlockNumberAndIndex", |ctx, p| {
        let _: BlockNumberOrTag = p.next()?;
        let _: Index = p.next()?;
        // No uncles after the merge, and bttc never has any.
        Option::<()>::None
    });
    inline!(m, "eth_getUncleByBlockHashAndIndex", |ctx, p| {
        let _: Hash = p.next()?;
        let _: Index = p.next()?;
        Option::<()>::None
    });
    heavy!(m, "eth_getBlockReceipts", |ctx, p| {
        let b: BlockId = p.next()?;
        ok(ctx.block_receipts(b))?
    });
    inline!(m, "eth_getTransactionByHash", |ctx, p| {
        let Hash(h) = p.next()?;
        ok(ctx.transaction_by_hash(h))?
    });
    inline!(m, "eth_getTransactionByBlockNumberAndIndex", |ctx, p| {
        let tag: BlockNumberOrTag = p.next()?;
        let i: Index = p.next()?;
        ok(ctx.transaction_by_block_and_index(tag.into(), i.0 as u64))?
    });
    inline!(m, "eth_getTransactionByBlockHashAndIndex", |ctx, p| {
        let Hash(h) = p.next()?;
        let i: Index = p.next()?;
        ok(ctx.transaction_by_block_and_index(h.into(), i.0 as u64))?
    });
    inline!(m, "eth_getTransactionReceipt", |ctx, p| {
        let Hash(h) = p.next()?;
        ok(ctx.transaction_receipt(h))?
    });

    // eth_: sending
    admission!(m, "eth_sendRawTransaction", |ctx, p| ok(ctx.send_raw_transaction(p.next()?))?);
    // Admission unless a gas estimate is needed: that is an execution, on its lane.
    m.register_async_method(
        "eth_sendTransaction",
        |params: Params<'static>, ctx: Arc<Arc<RpcContext>>, _| async move {
            let req: TransactionRequest = params.sequence().next().map_err(geth_params_error)?;
            let lane = if req.gas.is_none() { &ctx.lanes.exec } else { &ctx.lanes.admission };
            let worker = Arc::clone(&ctx);
            lane.run(ctx.config.call_timeout, move || ok(worker.send_transaction(req))).await
        },
    )?;

    // eth_: execution
    heavy!(m, "eth_call", |ctx, p| {
        let req: TransactionRequest = p.next()?;
        let b = block_or_latest(&mut p)?;
        let o = overrides(&mut p)?;
        ok(ctx.call(req, b, o))?
    });
    // bttc_: staking (StakeManager's views, executions like eth_call)
    heavy!(m, "bttc_getValidators", |ctx, p| {
        let b = block_or_latest(&mut p)?;
        ok(ctx.validators(b))?
    });
    // The checkpoint root hash (Bor serves it under both names).
    heavy!(m, "bor_getRootHash", |ctx, p| {
        let (start, end) = block_range(&mut p)?;
        ok(ctx.root_hash(start, end))?
    });
    heavy!(m, "eth_getRootHash", |ctx, p| {
        let (start, end) = block_range(&mut p)?;
        ok(ctx.root_hash(start, end))?
    });
    heavy!(m, "bttc_getExitPayload", |ctx, p| {
        let Hash(hash) = p.next()?;
        let log_index: U64 = p.next()?;
        let root: Option<String> = p.optional_next()?;
        ok(ctx.exit_payload(hash, log_index.to::<u64>(), root))?
    });
    heavy!(m, "bttc_getWithdrawalStatus", |ctx, p| {
        let Hash(hash) = p.next()?;
        let root: Option<String> = p.optional_next()?;
        ok(ctx.withdrawal_status(hash, root))?
    });
    inline!(m, "bttc_getStateSyncStatus", |ctx, p| ok(ctx.state_sync_status())?);
    inline!(m, "bttc_getCheckpoint", |ctx, p| {
        let v: serde_json::Value = p.next()?;
        ok(ctx.checkpoint(crate::checkpoint::CheckpointQuery::from_param(&v)?))?
    });
    heavy!(m, "bttc_getProposals", |ctx, p| {
        let b = block_or_latest(&mut p)?;
        ok(ctx.proposals(b))?
    });
    heavy!(m, "bttc_getStake", |ctx, p| {
        let address: Address = p.next()?;
        let b = block_or_latest(&mut p)?;
        ok(ctx.stake(address, b))?
    });
    heavy!(m, "eth_estimateGas", |ctx, p| {
        let req: TransactionRequest = p.next()?;
        let b = block_or_latest(&mut p)?;
        let state: Option<StateOverride> = p.optional_next()?;
        hex_u64(ok(ctx.estimate_gas(req, b, EvmOverrides::state(state)))?)
    });
    heavy!(m, "eth_createAccessList", |ctx, p| {
        let req: TransactionRequest = p.next()?;
        let b = block_or_latest(&mut p)?;
        ok(ctx.create_access_list(req, b))?
    });
    heavy!(m, "eth_simulateV1", |ctx, p| {
        let payload = p.next()?;
        let b = block_or_latest(&mut p)?;
        ok(ctx.simulate(payload, b))?
    });

    // eth_: logs and filters
    heavy!(m, "eth_getLogs", |ctx, p| {
        let f: Filter = p.next()?;
        ok(ctx.get_logs(&f))?
    });
    inline!(m, "eth_newFilter", |ctx, p| ok(ctx.new_log_filter(p.next()?))?);
    inline!(m, "eth_newBlockFilter", |ctx, p| ok(ctx.new_block_filter())?);
    inline!(m, "eth_newPendingTransactionFilter", |ctx, p| ok(ctx.new_pending_filter())?);
    heavy!(m, "eth_getFilterChanges", |ctx, p| ok(ctx.filter_changes(p.next()?))?);
    heavy!(m, "eth_getFilterLogs", |ctx, p| ok(ctx.filter_logs(p.next()?))?);
    inline!(m, "eth_uninstallFilter", |ctx, p| ctx.uninstall_filter(p.next()?));

    // txpool_
    inline!(m, "txpool_status", |ctx, p| {
        let s = ctx.pool.status();
        json!({ "pending": hex_u64(s.pending as u64), "queued": hex_u64(s.queued as u64) })
    });
    inline!(m, "txpool_content", |ctx, p| pool_content(ctx, None, |t| {
        crate::convert::rpc_pending_tx(t.tx.clone(), t.sender)
    }));
    inline!(m, "txpool_contentFrom", |ctx, p| {
        let a: Address = p.next()?;
        let mut c =
            pool_content(ctx, Some(a), |t| crate::convert::rpc_pending_tx(t.tx.clone(), t.sender));
        // A sender without transactions has empty maps, as in geth.
        let key = a.to_string();
        json!({
            "pending": c.pending.remove(&key).unwrap_or_default(),
            "queued": c.queued.remove(&key).unwrap_or_default(),
        })
    });
    inline!(m, "txpool_inspect", |ctx, p| pool_content(ctx, None, |t| {
        use alloy_consensus::Transaction;
        let to = t.tx.to().map_or_else(|| "contract creation".to_string(), |a| a.to_string());
        format!("{}: {} wei + {} gas × {} wei", to, t.tx.value(), t.tx.gas_limit(), t.fee_cap)
    }));

    // eth_subscribe over WebSocket
    m.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending, ctx, ext| async move {
            pubsub::subscribe(params, pending, Arc::clone(&ctx), ext).await;
        },
    )?;

    if debug {
        heavy!(m, "debug_traceTransaction", |ctx, p| {
            let Hash(h) = p.next()?;
            let o: Option<GethDebugTracingOptions> = p.optional_next()?;
            ok(ctx.trace_transaction(h, o.unwrap_or_default()))?
        });
        heavy!(m, "debug_traceBlockByNumber", |ctx, p| {
            let tag: BlockNumberOrTag = p.next()?;
            let o: Option<GethDebugTracingOptions> = p.optional_next()?;
            ok(ctx.trace_block(tag.into(), o.unwrap_or_default()))?
        });
        heavy!(m, "debug_traceBlockByHash", |ctx, p| {
            let Hash(h) = p.next()?;
            let o: Option<GethDebugTracingOptions> = p.optional_next()?;
            ok(ctx.trace_block(h.into(), o.unwrap_or_default()))?
        });
        heavy!(m, "debug_traceCall", |ctx, p| {
            let req: TransactionRequest = p.next()?;
            let b = block_or_latest(&mut p)?;
            let o: Option<GethDebugTracingCallOptions> = p.optional_next()?;
            ok(ctx.trace_call(req, b, o.unwrap_or_default()))?
        });
        inline!(m, "debug_getRawHeader", |ctx, p| ok(ctx.raw_header(p.next()?))?);
        inline!(m, "debug_getRawBlock", |ctx, p| ok(ctx.raw_block(p.next()?))?);
        inline!(m, "debug_getRawReceipts", |ctx, p| ok(ctx.raw_receipts(p.next()?))?);
        inline!(m, "debug_getRawTransaction", |ctx, p| {
            let Hash(h) = p.next()?;
            ok(ctx.raw_transaction(h))?
        });
    }
    Ok(m)
}

fn pool_content<T>(
    ctx: &RpcContext,
    only: Option<Address>,
    f: impl Fn(&bttc_txpool::PooledTx) -> T,
) -> PoolContent<T> {
    let (pending, queued) = ctx.pool.content();
    let conv = |m: BTreeMap<Address, Vec<Arc<bttc_txpool::PooledTx>>>| {
        m.into_iter()
            .filter(|(a, _)| only.is_none_or(|o| o == *a))
            .map(|(a, txs)| {
                (a.to_string(), txs.iter().map(|t| (t.nonce.to_string(), f(t))).collect())
            })
            .collect()
    };
    PoolContent { pending: conv(pending), queued: conv(queued) }
}
