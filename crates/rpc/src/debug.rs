//! `debug_` methods: geth-style tracing through revm-inspectors' `DebugInspector` (struct
//! logger, callTracer, prestateTracer with diff mode, 4byte, mux, flatCallTracer) and the raw
//! RLP getters.
//!
//! A block's transaction is traced by replaying its block on the state after the parent:
//! the block's system calls first, then the earlier transactions untraced, then the traced one.

use crate::{
    RpcContext, RpcError, RpcResult,
    call::{PreparedCall, map_evm_error},
    convert::senders_of,
    deadline::{self, Deadline},
};
use alloy_eips::{BlockId, Encodable2718};
use alloy_evm::{
    Evm, EvmFactory, FromRecoveredTx,
    block::{BlockExecutor, BlockExecutorFactory},
    eth::EthEvmFactory,
};
use alloy_primitives::{B256, Bytes};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{TransactionRequest, state::EvmOverrides};
use alloy_rpc_types_trace::geth::{
    GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace, TraceResult,
};
use revm::{DatabaseCommit, context::TxEnv};
use revm_inspectors::tracing::{DebugInspector, TransactionContext};

/// The tracer `opts` ask for, stopped at the request's deadline.
fn inspector(opts: GethDebugTracingOptions) -> RpcResult<(DebugInspector, Deadline)> {
    let tracer =
        DebugInspector::new(opts).map_err(|e| RpcError::InvalidParams(format!("tracer: {e}")))?;
    Ok((tracer, Deadline::current()))
}

impl RpcContext {
    /// Traces transactions of block `number`: all of them, or only the one at `only`.
    fn trace_block_txs(
        &self,
        number: u64,
        only: Option<usize>,
        opts: GethDebugTracingOptions,
    ) -> RpcResult<Vec<TraceResult>> {
        if number == 0 {
            return Err(RpcError::InvalidParams("genesis is not traceable".into()));
        }
        let ro = self.ro()?;
        let (Some(block), Some(block_hash)) = (ro.block(number)?, ro.canonical_hash(number)?)
        else {
            return Err(RpcError::HeaderNotFound);
        };
        let senders = senders_of(&ro, number)?;
        let spec = self.chain.spec().clone();
        let mut db = self.call_db(&ro, number - 1)?;
        let bttc_evm::BlockSetup { env, factory, ctx } = bttc_evm::block_setup(&spec, &block);
        let evm = factory.evm_factory().create_evm_with_inspector(&mut db, env, inspector(opts)?);
        let mut executor = factory.create_executor(evm, ctx);
        executor.apply_pre_execution_changes().map_err(RpcError::internal)?;
        let evm = executor.evm_mut();
        let block_env = evm.block().clone();
        let mut out = Vec::new();
        for (i, (tx, sender)) in block.body.transactions.iter().zip(&senders).enumerate() {
            // Untraced transactions run without inspectors, so without the EVM's deadline.
            deadline::check()?;
            let traced = only.is_none_or(|o| o == i);
            let tx_env = TxEnv::from_recovered_tx(tx, *sender);
            if traced {
                evm.enable_inspector();
                evm.inspector_mut().0.fuse().map_err(RpcError::internal)?;
            } else {
                evm.disable_inspector();
            }
            let res = evm.transact(tx_env.clone()).map_err(map_evm_error)?;
            if traced {
                let tx_ctx = TransactionContext {
                    block_hash: Some(block_hash),
                    tx_index: Some(i),
                    tx_hash: Some(*tx.tx_hash()),
                };
                let (db, insp, _) = evm.components_mut();
                let trace = insp
                    .0
                    .get_result(Some(tx_ctx), &tx_env, &block_env, &res, db)
                    .map_err(RpcError::internal)?;
                out.push(TraceResult::Success { result: trace, tx_hash: Some(*tx.tx_hash()) });
                if only.is_some() {
                    break;
                }
            }
            evm.db_mut().commit(res.state);
        }
        Ok(out)
    }

    /// `debug_traceTransaction`.
    pub(crate) fn trace_transaction(
        &self,
        hash: B256,
        opts: GethDebugTracingOptions,
    ) -> RpcResult<GethTrace> {
        let (number, index) = {
            let ro = self.ro()?;
            let tx_num = ro
                .transaction_number(&hash)?
                .ok_or_else(|| RpcError::InvalidParams(format!("transaction {hash} not found")))?;
            let number = ro.transaction_block(tx_num)?.ok_or(RpcError::HeaderNotFound)?;
            let first = ro.block_indices(number)?.ok_or(RpcError::HeaderNotFound)?.first_tx;
            (number, (tx_num - first) as usize)
        };
        match self.trace_block_txs(number, Some(index), opts)?.pop() {
            Some(TraceResult::Success { result, .. }) => Ok(result),
            Some(TraceResult::Error { error, .. }) => Err(RpcError::Internal(error)),
            None => Err(RpcError::Internal(format!("transaction {hash} not replayed"))),
        }
    }

    /// `debug_traceBlockByNumber` / `debug_traceBlockByHash`.
    pub(crate) fn trace_block(
        &self,
        id: BlockId,
        opts: GethDebugTracingOptions,
    ) -> RpcResult<Vec<TraceResult>> {
        let number = Self::number_required(&self.ro()?, id)?;
        self.trace_block_txs(number, None, opts)
    }

    /// `debug_traceCall`.
    pub(crate) fn trace_call(
        &self,
        req: TransactionRequest,
        block: BlockId,
        opts: GethDebugTracingCallOptions,
    ) -> RpcResult<GethTrace> {
        let ro = self.ro()?;
        let overrides = EvmOverrides::new(opts.state_overrides, opts.block_overrides.map(Box::new));
        let PreparedCall { mut db, env, tx, .. } = self.prepare_call(&ro, req, block, overrides)?;
        let block_env = env.block_env.clone();
        let mut evm = EthEvmFactory::default().create_evm_with_inspector(
            &mut db,
            env,
            inspector(opts.tracing_options)?,
        );
        let res = evm.transact(tx.clone()).map_err(map_evm_error)?;
        let (db, insp, _) = evm.components_mut();
        insp.0.get_result(None, &tx, &block_env, &res, db).map_err(RpcError::internal)
    }

    /// `debug_getRawHeader`.
    pub(crate) fn raw_header(&self, id: BlockId) -> RpcResult<Bytes> {
        let ro = self.ro()?;
        let b = Self::resolve_required(&ro, id)?;
        Ok(alloy_rlp::encode(&b.header).into())
    }

    /// `debug_getRawBlock`.
    pub(crate) fn raw_block(&self, id: BlockId) -> RpcResult<Bytes> {
        let ro = self.ro()?;
        let number = Self::number_required(&ro, id)?;
        let block = ro.block(number)?.ok_or(RpcError::HeaderNotFound)?;
        let mut out = Vec::with_capacity(block.length());
        block.encode(&mut out);
        Ok(out.into())
    }

    /// `debug_getRawReceipts`: each receipt in its EIP-2718 encoding.
    pub(crate) fn raw_receipts(&self, id: BlockId) -> RpcResult<Vec<Bytes>> {
        let ro = self.ro()?;
        let number = Self::number_required(&ro, id)?;
        let receipts = ro.receipts(number)?.unwrap_or_default();
        Ok(receipts.iter().map(|r| r.encoded_2718().into()).collect())
    }

    /// `debug_getRawTransaction`.
    pub(crate) fn raw_transaction(&self, hash: B256) -> RpcResult<Option<Bytes>> {
        let ro = self.ro()?;
        if let Some(n) = ro.transaction_number(&hash)? {
            return Ok(ro.transaction(n)?.map(|t| t.encoded_2718().into()));
        }
        Ok(self.pool.get(&hash).map(|p| p.tx.encoded_2718().into()))
    }
}
