//! Executing calls that are not committed: `eth_call`, `eth_estimateGas`,
//! `eth_createAccessList`, `eth_simulateV1`.
//!
//! Every call runs on a [`CacheDB`] over the state after the chosen block, so state
//! overrides and the effects of earlier calls in one simulation never reach the database.

use crate::{
    RpcContext, RpcError, RpcResult,
    context::StateAt,
    deadline::{self, Deadline},
    error::decode_revert_reason,
};
use alloy_consensus::Header;
use alloy_eips::BlockId;
use alloy_evm::{
    Evm, EvmEnv, EvmFactory,
    eth::EthEvmFactory,
    overrides::{apply_block_overrides, apply_state_overrides},
    rpc::TryIntoTxEnv,
};
use alloy_primitives::{Bytes, TxKind, U256};
use alloy_rpc_types_eth::{
    AccessListResult, BlockOverrides, TransactionRequest, state::EvmOverrides,
};
use bttc_evm::StateProviderDatabase;
use bttc_storage::{Provider, Ro};
use revm::{
    DatabaseRef,
    context::{
        TxEnv,
        result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction, ResultAndState},
    },
    database::CacheDB,
};
use revm_inspectors::access_list::AccessListInspector;
use std::sync::Arc;

/// The database calls run on.
pub(crate) type CallDb<'a> = CacheDB<StateProviderDatabase<StateAt<'a>>>;

/// Gas of a plain value transfer.
const TRANSFER_GAS: u64 = 21_000;

impl RpcContext {
    /// The EVM environment of block `header`, relaxed for calls: no EIP-3607 check, no block
    /// gas limit check, no nonce check when the request sets none. A call that offers no fee
    /// (no fee fields, or zeros) runs with no base fee check and a base fee of 0, as in geth
    /// (`BASEFEE` reads 0; a price below the block's base fee is not an error then).
    pub(crate) fn call_env(&self, header: &Header, req: &TransactionRequest) -> EvmEnv {
        let spec = self.chain.spec();
        let mut env = EvmEnv::for_eth_block(
            header,
            spec.as_ref(),
            spec.chain_id(),
            spec.blob_params_at(header.timestamp),
        );
        env.cfg_env.disable_eip3607 = true;
        env.cfg_env.disable_block_gas_limit = true;
        // As geth's calls skip transaction checks, gas asked above EIP-7825's cap runs; the
        // default stays within it (`default_call_gas`).
        env.cfg_env.tx_gas_limit_cap = Some(u64::MAX);
        env.cfg_env.disable_nonce_check = req.nonce.is_none();
        let zero = |fee: Option<u128>| fee.unwrap_or_default() == 0;
        if zero(req.gas_price) && zero(req.max_fee_per_gas) && zero(req.max_priority_fee_per_gas) {
            env.cfg_env.disable_base_fee = true;
            env.block_env.basefee = 0;
        }
        if req.max_fee_per_blob_gas == Some(0)
            && let Some(blob) = env.block_env.blob_excess_gas_and_price.as_mut()
        {
            blob.blob_gasprice = 0;
        }
        env
    }

    /// The gas a call gets when it names none: the server's cap, but no more than the
    /// block's gas limit nor, from Osaka on, the per-transaction cap of EIP-7825 (2^24), so
    /// that the call can run as a transaction of that block could.
    pub(crate) fn default_call_gas(&self, env: &EvmEnv) -> u64 {
        self.config.gas_cap.min(env.block_env.gas_limit).min(tx_gas_cap(env))
    }

    /// Turns `req` into a transaction environment: gas as asked but at most the server's cap,
    /// or [`Self::default_call_gas`].
    pub(crate) fn tx_env(&self, env: &EvmEnv, mut req: TransactionRequest) -> RpcResult<TxEnv> {
        let cap = self.config.gas_cap;
        req.gas = Some(match req.gas {
            Some(gas) => gas.min(cap),
            None => self.default_call_gas(env),
        });
        TryIntoTxEnv::<TxEnv>::try_into_tx_env(req, env)
            .map_err(|e| RpcError::InvalidParams(e.to_string()))
    }

    /// A database over the state after block `number` in `ro`, with contract code read
    /// through the server's shared [`bttc_evm::CodeCache`]; writes stay in its `CacheDB`.
    pub(crate) fn call_db<'a>(&self, ro: &'a Provider<Ro>, number: u64) -> RpcResult<CallDb<'a>> {
        Ok(CacheDB::new(StateProviderDatabase::with_code_cache(
            StateAt::new(ro, number)?,
            Arc::clone(&self.code_cache),
        )))
    }

    /// Everything a call runs with: the database over the state after `block` with
    /// `overrides` applied, that block's environment relaxed for calls, and the transaction.
    pub(crate) fn prepare_call<'a>(
        &self,
        ro: &'a Provider<Ro>,
        req: TransactionRequest,
        block: BlockId,
        overrides: EvmOverrides,
    ) -> RpcResult<PreparedCall<'a>> {
        let b = Self::resolve_required(ro, block)?;
        let mut db = self.call_db(ro, b.number)?;
        let mut env = self.call_env(&b.header, &req);
        apply_overrides(&mut db, &mut env, overrides)?;
        let tx = self.tx_env(&env, req)?;
        Ok(PreparedCall { db, env, tx })
    }

    /// `eth_call`.
    pub(crate) fn call(
        &self,
        req: TransactionRequest,
        block: BlockId,
        overrides: EvmOverrides,
    ) -> RpcResult<Bytes> {
        let ro = self.ro()?;
        let PreparedCall { mut db, env, tx, .. } = self.prepare_call(&ro, req, block, overrides)?;
        let res = transact(&mut db, env, tx)?;
        result_output(res.result)
    }

    /// `eth_estimateGas`: the least gas limit with which the call succeeds (within 1.5%),
    /// found by binary search as geth does.
    pub(crate) fn estimate_gas(
        &self,
        req: TransactionRequest,
        block: BlockId,
        overrides: EvmOverrides,
    ) -> RpcResult<u64> {
        let ro = self.ro()?;
        let PreparedCall { mut db, env, tx, .. } = self.prepare_call(&ro, req, block, overrides)?;
        // The gas asked for (within the server's cap), or the most a transaction of the block
        // may have; from Osaka never above EIP-7825's cap (geth).
        let mut hi = tx.gas_limit.min(tx_gas_cap(&env));
        // With a fee, the sender can only pay for so much gas.
        if tx.gas_price > 0 {
            let balance = db
                .basic_ref(tx.caller)
                .map_err(RpcError::internal)?
                .map(|a| a.balance)
                .unwrap_or_default();
            let left = balance.checked_sub(tx.value).ok_or_else(|| {
                RpcError::InvalidTransaction("insufficient funds for transfer".into())
            })?;
            let allowance = left / U256::from(tx.gas_price);
            hi = hi.min(allowance.saturating_to());
        }
        let run = |db: &mut CallDb<'_>, gas: u64| {
            let mut t = tx.clone();
            t.gas_limit = gas;
            transact(db, env.clone(), t)
        };
        // A plain transfer to an account without code is tried with exactly 21000 first (as
        // geth: not with an authorization list, whose intrinsic gas is higher; and only if it
        // runs, since other fields may cost more).
        if let TxKind::Call(to) = tx.kind
            && tx.data.is_empty()
            && tx.authorization_list.is_empty()
            && hi >= TRANSFER_GAS
        {
            let code_empty = db
                .basic_ref(to)
                .map_err(RpcError::internal)?
                .is_none_or(|a| a.is_empty_code_hash());
            if code_empty && run(&mut db, TRANSFER_GAS).is_ok_and(|r| r.result.is_success()) {
                return Ok(TRANSFER_GAS);
            }
        }
        let first = run(&mut db, hi)?;
        let (used, refunded) = match &first.result {
            ExecutionResult::Success { gas, .. } => (gas.tx_gas_used(), gas.inner_refunded()),
            ExecutionResult::Revert { .. } => return Err(result_output(first.result).unwrap_err()),
            ExecutionResult::Halt { reason, .. } => {
                return Err(match reason {
                    HaltReason::OutOfGas(_) => RpcError::InvalidTransaction(format!(
                        "gas required exceeds allowance ({hi})"
                    )),
                    other => RpcError::Halted(halt_message(other)),
                });
            }
        };
        let mut lo = used.saturating_sub(1);
        let optimistic = (used + refunded + 2300) * 64 / 63;
        if optimistic < hi {
            if run(&mut db, optimistic)?.result.is_success() {
                hi = optimistic;
            } else {
                lo = optimistic;
            }
        }
        while lo + 1 < hi {
            if (hi - lo) * 1000 / hi < 15 {
                break;
            }
            let mid = lo.saturating_mul(2).min((hi + lo) / 2).max(lo + 1);
            let mid = if mid >= hi { (hi + lo) / 2 } else { mid };
            match run(&mut db, mid) {
                Ok(r) if r.result.is_success() => hi = mid,
                Ok(_) => lo = mid,
                Err(RpcError::InvalidTransaction(_)) => lo = mid,
                Err(e) => return Err(e),
            }
        }
        Ok(hi)
    }

    /// `eth_createAccessList`.
    pub(crate) fn create_access_list(
        &self,
        req: TransactionRequest,
        block: BlockId,
    ) -> RpcResult<AccessListResult> {
        let ro = self.ro()?;
        let PreparedCall { mut db, env, mut tx, .. } =
            self.prepare_call(&ro, req, block, EvmOverrides::default())?;
        let mut inspector = AccessListInspector::new(tx.access_list.clone());
        let res = {
            let mut evm = EthEvmFactory::default().create_evm_with_inspector(
                &mut db,
                env.clone(),
                (&mut inspector, Deadline::current()),
            );
            evm.transact(tx.clone()).map_err(map_evm_error)?
        };
        let access_list = inspector.into_access_list();
        let error = match &res.result {
            ExecutionResult::Success { .. } => None,
            other => Some(result_output(other.clone()).unwrap_err().to_string()),
        };
        tx.access_list = access_list.clone();
        let gas_used = transact(&mut db, env, tx)?.result.tx_gas_used();
        Ok(AccessListResult { access_list, gas_used: U256::from(gas_used), error })
    }
}

/// The most gas a transaction of the block may have: EIP-7825's 2^24 from Osaka (until
/// Amsterdam), no limit before.
fn tx_gas_cap(env: &EvmEnv) -> u64 {
    use revm::primitives::{eip7825::TX_GAS_LIMIT_CAP, hardfork::SpecId};
    let spec = env.cfg_env.spec;
    if spec.is_enabled_in(SpecId::OSAKA) && !spec.is_enabled_in(SpecId::AMSTERDAM) {
        TX_GAS_LIMIT_CAP
    } else {
        u64::MAX
    }
}

/// What [`RpcContext::prepare_call`] returns.
#[derive(Debug)]
pub(crate) struct PreparedCall<'a> {
    /// State after the block, overrides applied; nothing reaches the database.
    pub(crate) db: CallDb<'a>,
    /// The block's environment, relaxed for calls.
    pub(crate) env: EvmEnv,
    /// The call as a transaction.
    pub(crate) tx: TxEnv,
}

/// Applies block and state overrides.
pub(crate) fn apply_overrides(
    db: &mut CallDb<'_>,
    env: &mut EvmEnv,
    overrides: EvmOverrides,
) -> RpcResult<()> {
    if let Some(state) = overrides.state {
        apply_state_overrides(state, db).map_err(|e| RpcError::InvalidParams(e.to_string()))?;
    }
    if let Some(block) = overrides.block {
        apply_block(db, env, *block);
    }
    Ok(())
}

fn apply_block(db: &mut CallDb<'_>, env: &mut EvmEnv, block: BlockOverrides) {
    apply_block_overrides(block, db, &mut env.block_env);
}

/// Runs `tx` on `db` without committing, stopped at the request's deadline.
pub(crate) fn transact(
    db: &mut CallDb<'_>,
    env: EvmEnv,
    tx: TxEnv,
) -> RpcResult<ResultAndState<HaltReason>> {
    let mut evm = EthEvmFactory::default().create_evm_with_inspector(db, env, Deadline::current());
    evm.transact(tx).map_err(map_evm_error)
}

/// A call's return data, or the error geth gives for a revert or halt.
pub(crate) fn result_output(result: ExecutionResult<HaltReason>) -> RpcResult<Bytes> {
    match result {
        ExecutionResult::Success { output, .. } => Ok(output.into_data()),
        ExecutionResult::Revert { output, .. } => {
            Err(RpcError::Reverted { reason: decode_revert_reason(&output), data: output })
        }
        ExecutionResult::Halt { reason, .. } => Err(RpcError::Halted(halt_message(&reason))),
    }
}

/// geth's wording for a halt.
pub(crate) fn halt_message(reason: &HaltReason) -> String {
    match reason {
        HaltReason::OutOfGas(_) => "out of gas".into(),
        HaltReason::OpcodeNotFound | HaltReason::InvalidFEOpcode => "invalid opcode".into(),
        HaltReason::StackOverflow => "stack limit reached 1024 (1023)".into(),
        HaltReason::StackUnderflow => "stack underflow".into(),
        HaltReason::CallTooDeep => "max call depth exceeded".into(),
        HaltReason::OutOfFunds => "insufficient balance for transfer".into(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".into(),
        HaltReason::NonceOverflow => "nonce uint64 overflow".into(),
        other => format!("execution halted: {other:?}"),
    }
}

/// An EVM error as a JSON-RPC error, with geth's wording for the common ones.
pub(crate) fn map_evm_error<E: std::fmt::Display>(e: EVMError<E>) -> RpcError {
    match e {
        EVMError::Transaction(t) => RpcError::InvalidTransaction(match t {
            InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
                format!("insufficient funds for gas * price + value: have {balance} want {fee}")
            }
            InvalidTransaction::NonceTooLow { tx, state } => {
                format!("nonce too low: next nonce {state}, tx nonce {tx}")
            }
            InvalidTransaction::NonceTooHigh { tx, state } => {
                format!("nonce too high: next nonce {state}, tx nonce {tx}")
            }
            InvalidTransaction::GasPriceLessThanBasefee => {
                "max fee per gas less than block base fee".into()
            }
            InvalidTransaction::CallGasCostMoreThanGasLimit { initial_gas, gas_limit } => {
                format!("intrinsic gas too low: have {gas_limit}, want {initial_gas}")
            }
            InvalidTransaction::TxGasLimitGreaterThanCap { gas_limit, cap } => {
                format!("transaction gas limit too high (cap: {cap}, tx: {gas_limit})")
            }
            other => other.to_string(),
        }),
        EVMError::Database(e) => RpcError::Internal(e.to_string()),
        EVMError::Custom(m) if m == deadline::TIMEOUT_TAG => deadline::timeout_error(),
        other => RpcError::Internal(other.to_string()),
    }
}
