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
use revm::{DatabaseCommit, Inspector, context::TxEnv, interpreter::Interpreter};
use revm_inspectors::tracing::{DebugInspector, TransactionContext};
use std::time::{Duration, Instant};
use tracing::debug;

/// How long one transaction's trace may run when the options set no `timeout` (geth's).
const DEFAULT_TX_TRACE_TIMEOUT: Duration = Duration::from_secs(5);

/// The tracer the options ask for, with the per-transaction `timeout` and the request's
/// deadline beside it (the first ends one transaction's trace, the second the request).
fn inspector(opts: GethDebugTracingOptions) -> RpcResult<(DebugInspector, (TxTimeout, Deadline))> {
    let timeout = match &opts.timeout {
        Some(t) => parse_duration(t)
            .ok_or_else(|| RpcError::InvalidParams(format!("timeout: not a duration: {t:?}")))?,
        None => DEFAULT_TX_TRACE_TIMEOUT,
    };
    let tracer =
        DebugInspector::new(opts).map_err(|e| RpcError::InvalidParams(format!("tracer: {e}")))?;
    Ok((tracer, (TxTimeout::new(timeout), Deadline::current())))
}

/// Stops a traced transaction that runs past its own limit (geth's per-transaction trace
/// `timeout`): the next instruction halts it, and the trace is reported as failed while the
/// request goes on. The clock is read on the first instruction and every
/// [`TxTimeout::EVERY`] after it.
#[derive(Debug)]
struct TxTimeout {
    timeout: Duration,
    at: Option<Instant>,
    passed: bool,
    steps: u32,
}

impl TxTimeout {
    const EVERY: u32 = 1024;

    fn new(timeout: Duration) -> Self {
        Self { timeout, at: None, passed: false, steps: 0 }
    }

    /// Starts the clock for the next transaction.
    fn arm(&mut self) {
        self.at = Instant::now().checked_add(self.timeout);
        self.passed = false;
        self.steps = 0;
    }
}

impl<CTX> Inspector<CTX> for TxTimeout {
    fn step(&mut self, interp: &mut Interpreter, _context: &mut CTX) {
        let check = self.steps.is_multiple_of(Self::EVERY);
        self.steps = self.steps.wrapping_add(1);
        if check && self.at.is_some_and(|at| Instant::now() >= at) {
            self.passed = true;
            // Halted as out of gas; the result is discarded and the transaction replayed.
            interp.halt_oog();
        }
    }
}

/// A Go duration as geth's tracer options take it (`"500ms"`, `"10s"`, `"1m30s"`): numbers
/// with the units `ns`, `us` (`µs`), `ms`, `s`, `m`, `h`.
fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (number, tail) = rest.split_at(digits);
        let number: f64 = number.parse().ok()?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total = total.checked_add(Duration::try_from_secs_f64(number * seconds).ok()?)?;
        rest = tail;
    }
    (!s.is_empty()).then_some(total)
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
            return Err(RpcError::GenesisNotTraceable);
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
        // The block's own system calls before its transactions (state-sync deliveries), so
        // each transaction is traced on the state it saw.
        executor.evm_mut().disable_inspector();
        let info = bttc_evm::BlockInfo { spec: &spec, block: &block, gas_used: 0 };
        bttc_evm::BlockHooks::before_transactions(self.chain.hooks(), executor.evm_mut(), &info)
            .map_err(RpcError::internal)?;
        let evm = executor.evm_mut();
        let block_env = evm.block().clone();
        let mut out = Vec::new();
        for (i, (tx, sender)) in block.body.transactions.iter().zip(&senders).enumerate() {
            // Untraced transactions run without inspectors, so without the EVM's deadline.
            deadline::check()?;
            let tx_env = TxEnv::from_recovered_tx(tx, *sender);
            if only.is_some_and(|o| o != i) {
                evm.disable_inspector();
                let res = evm.transact(tx_env).map_err(map_evm_error)?;
                evm.db_mut().commit(res.state);
                continue;
            }
            // A transaction whose trace fails gets an error entry (geth); the others are
            // traced all the same.
            let tx_hash = *tx.tx_hash();
            let ctx = TransactionContext {
                block_hash: Some(block_hash),
                tx_index: Some(i),
                tx_hash: Some(tx_hash),
            };
            let traced = (|| {
                evm.enable_inspector();
                let (tracer, (timeout, _)) = evm.inspector_mut();
                tracer.fuse().map_err(|e| e.to_string())?;
                timeout.arm();
                let res = evm.transact(tx_env.clone());
                let (db, (tracer, (timeout, _)), _) = evm.components_mut();
                timeout.at = None;
                if timeout.passed {
                    return Err("execution timeout".to_string());
                }
                let res = res.map_err(|e| format!("tracing failed: {}", map_evm_error(e)))?;
                let trace = tracer
                    .get_result(Some(ctx), &tx_env, &block_env, &res, db)
                    .map_err(|e| e.to_string())?;
                Ok((trace, res.state))
            })();
            match traced {
                Ok((trace, state)) => {
                    out.push(TraceResult::Success { result: trace, tx_hash: Some(tx_hash) });
                    evm.db_mut().commit(state);
                }
                Err(error) => {
                    // The request's own deadline ends the whole trace, not one entry.
                    deadline::check()?;
                    debug!(target: "bttc::rpc", %tx_hash, %error, "transaction trace failed");
                    out.push(TraceResult::Error { error, tx_hash: Some(tx_hash) });
                    // The block goes on from the state this transaction really left.
                    evm.disable_inspector();
                    let res = evm.transact(tx_env).map_err(map_evm_error)?;
                    evm.db_mut().commit(res.state);
                }
            }
            if only.is_some() {
                break;
            }
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
            let tx_num =
                ro.transaction_number(&hash)?.ok_or(RpcError::TransactionNotFound(hash))?;
            let number = ro.transaction_block(tx_num)?.ok_or(RpcError::HeaderNotFound)?;
            let first = ro.block_indices(number)?.ok_or(RpcError::HeaderNotFound)?.first_tx;
            (number, (tx_num - first) as usize)
        };
        match self.trace_block_txs(number, Some(index), opts)?.pop() {
            Some(TraceResult::Success { result, .. }) => Ok(result),
            Some(TraceResult::Error { error, .. }) => Err(RpcError::TraceFailed(error)),
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
        evm.inspector_mut().1.0.arm();
        let res = evm.transact(tx.clone());
        let (db, (tracer, (timeout, _)), _) = evm.components_mut();
        if timeout.passed {
            return Err(RpcError::TraceFailed("execution timeout".into()));
        }
        let res = res.map_err(map_evm_error)?;
        tracer.get_result(None, &tx, &block_env, &res, db).map_err(RpcError::internal)
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

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("10us"), Some(Duration::from_micros(10)));
        for bad in ["", "10", "s", "10x", "soon", "-1s", "1e400s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
