//! `eth_simulateV1`: a sequence of simulated blocks on top of a chosen block, each with block
//! and state overrides and a list of calls, executed as geth executes them
//! (`internal/ethapi/simulate.go`), so that answers match the execution-apis tests.
//!
//! Flow of one request:
//! 1. Limits: at most [`MAX_SIM_BLOCKS`] blocks past the base, [`MAX_CALLS_PER_BLOCK`] calls
//!    per block and [`MAX_CALLS`] in all; the server's gas cap is one budget shared by every
//!    call ([`GasBudget`]).
//! 2. [`plan_blocks`]: block numbers and timestamps, defaulted (number + 1, time + 12),
//!    checked (strictly increasing, no overflow) and gaps in the numbers filled with empty
//!    blocks.
//! 3. Each block runs on one revm [`State`] over the base block's state: its state overrides
//!    (and precompile moves), the pre-block system calls (EIP-4788 beacon root, EIP-2935
//!    block hash), the calls as unsigned transactions, then the post-block changes
//!    (withdrawals, EIP-7685 requests), through the same block executor as real blocks.
//! 4. The header is completed like a real one: gas used, receipts root, bloom, transactions
//!    root, withdrawals root, requests hash, and the state root of the base state plus every
//!    change so far (for a base below the head, the changes since it are reverted on the way,
//!    see [`revert_to`]). Its hash goes into the logs and the next block's parent hash and
//!    `BLOCKHASH`.
//!
//! A call that reverts or halts is a failed call in the answer (code 3 with the revert data,
//! or -32015); a call that cannot run at all (nonce, fees, funds, intrinsic gas, block gas)
//! fails the whole request with execution-apis' code for it ([`SimulateError`]).
//!
//! With `validation`, nonces and the base fee are checked (a missing base fee override is
//! the next base fee instead of 0); with `traceTransfers`, every value transfer appears among
//! the call's logs as an ERC-20 `Transfer` from `0xEeee…EeeE` ([`SimTracer`]).

use crate::{
    RpcContext, RpcError, RpcResult,
    call::halt_message,
    context::{ResolvedBlock, StateAt},
    convert::{RpcTx, rpc_header, rpc_tx},
    deadline::Deadline,
    error::decode_revert_reason,
};
use alloy_consensus::{
    BlockBody, EMPTY_OMMER_ROOT_HASH, Header, SignableTransaction, Signed, TxEip1559, TxEip4844,
    TxEip4844Variant, TxEip7702, TxLegacy, TxReceipt,
    proofs::{calculate_receipt_root, calculate_withdrawals_root, ordered_trie_root_with_encoder},
    transaction::{Recovered, RlpEcdsaEncodableTx},
};
use alloy_eips::{BlockId, Encodable2718, eip4895::Withdrawal};
use alloy_evm::{
    Evm, EvmFactory, FromRecoveredTx,
    block::{
        BlockExecutionError, BlockExecutor, BlockExecutorFactory, BlockValidationError, TxResult,
    },
    overrides::{OverrideBlockHashes, apply_state_overrides},
};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{
    Address, B256, Bloom, Bytes, Log as PrimitiveLog, LogData, TxKind, U256, keccak256,
};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{
    Block as RpcBlock, BlockOverrides, BlockTransactions, Log, TransactionRequest,
    simulate::{SimCallResult, SimulateError as SimCallError},
    state::StateOverride,
};
use bttc_evm::StateProviderDatabase;
use bttc_primitives::{Block, TxEnvelope};
use bttc_storage::{HistoricalState, Provider, Ro, StateProvider};
use bttc_trie::{HashedAccount, HashedPostState, HashedStorage};
use revm::{
    Database, Inspector,
    context::{
        JournalTr, TxEnv,
        result::{ExecutionResult, InvalidTransaction},
    },
    context_interface::ContextTr,
    database::{State, states::bundle_state::BundleRetention},
    interpreter::{CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome},
    precompile::{PrecompileSpecId, Precompiles},
};
use serde::Deserialize;
use std::{collections::BTreeMap, sync::Arc};

/// Most blocks one request may simulate past its base block (execution-apis' suggestion,
/// the reach of `BLOCKHASH`).
pub const MAX_SIM_BLOCKS: u64 = 256;
/// Most calls in one simulated block.
pub const MAX_CALLS_PER_BLOCK: usize = 5_000;
/// Most calls in one request.
pub const MAX_CALLS: usize = 10_000;
/// Seconds between simulated blocks when their time is not given.
const TIMESTAMP_INCREMENT: u64 = 12;
/// Most changeset entries read to revert the state from the head to an older base block
/// (each account and slot changed since); a simulation on an older base is refused.
const MAX_REVERT_ENTRIES: usize = 100_000;
/// Emitter of the transfer logs of `traceTransfers` (ERC-7528).
const TRANSFER_EMITTER: Address =
    alloy_primitives::address!("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
/// `Transfer(address,address,uint256)`.
const TRANSFER_TOPIC: B256 =
    alloy_primitives::b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

/// Why a simulation was refused, with execution-apis' code for each.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// No blocks to simulate.
    #[error("empty input")]
    EmptyInput,
    /// More than [`MAX_SIM_BLOCKS`] blocks asked for.
    #[error("too many blocks: {got} > {MAX_SIM_BLOCKS}")]
    TooManyBlocks {
        /// Blocks asked for.
        got: usize,
    },
    /// A block more than [`MAX_SIM_BLOCKS`] past the base block.
    #[error(
        "too many blocks: block {number} is more than {MAX_SIM_BLOCKS} past the base block {base}"
    )]
    TooFarAhead {
        /// The block asked for.
        number: U256,
        /// The base block.
        base: u64,
    },
    /// Calls past [`MAX_CALLS_PER_BLOCK`] or [`MAX_CALLS`].
    #[error("too many calls: {got} > {max}")]
    TooManyCalls {
        /// Calls asked for.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A block number not above the one before.
    #[error("block numbers must be in order: {got} <= {prev}")]
    BlockNumberOrder {
        /// The number asked for.
        got: U256,
        /// The previous block's number.
        prev: u64,
    },
    /// A timestamp not above the one before.
    #[error("block timestamps must be in order: {got} <= {prev}")]
    TimestampOrder {
        /// The time asked for.
        got: u64,
        /// The previous block's time.
        prev: u64,
    },
    /// A number, time or fee that does not fit.
    #[error("{0}")]
    Overflow(String),
    /// A call asks for more gas than the block has left.
    #[error("block gas limit reached: remaining: {remaining}, required: {required}")]
    BlockGasLimit {
        /// Gas left in the block.
        remaining: u64,
        /// Gas the call asks for.
        required: u64,
    },
    /// The calls used up the server's gas cap.
    #[error("RPC gas cap exhausted: need {need}, remaining {remaining}")]
    GasBudget {
        /// Gas the call used.
        need: u64,
        /// Gas left of the cap.
        remaining: u64,
    },
    /// A call cannot run: nonce, fees, funds, intrinsic gas, ...
    #[error("{message}")]
    InvalidCall {
        /// execution-apis' code.
        code: i32,
        /// What is wrong, with the values.
        message: String,
    },
    /// A state override that cannot be applied (precompile moves).
    #[error("{0}")]
    Override(String),
}

impl SimulateError {
    /// The JSON-RPC code.
    pub const fn code(&self) -> i32 {
        match self {
            Self::EmptyInput | Self::Overflow(_) => crate::INVALID_PARAMS,
            Self::TooManyBlocks { .. } | Self::TooFarAhead { .. } | Self::TooManyCalls { .. } => {
                crate::CLIENT_LIMIT
            }
            Self::BlockNumberOrder { .. } => -38020,
            Self::TimestampOrder { .. } => -38021,
            Self::BlockGasLimit { .. } => -38015,
            Self::InvalidCall { code, .. } => *code,
            Self::GasBudget { .. } | Self::Override(_) => crate::SERVER,
        }
    }

    /// The code geth gives a call that cannot run (`txValidationError`).
    fn invalid_call(e: &InvalidTransaction, from: Address) -> Self {
        let (code, message) = match e {
            InvalidTransaction::NonceTooLow { tx, state } => {
                (-38010, format!("nonce too low: address {from}, tx: {tx} state: {state}"))
            }
            InvalidTransaction::NonceTooHigh { tx, state } => {
                (-38011, format!("nonce too high: address {from}, tx: {tx} state: {state}"))
            }
            InvalidTransaction::GasPriceLessThanBasefee => {
                (-38012, format!("max fee per gas less than block base fee: address {from}"))
            }
            InvalidTransaction::CallGasCostMoreThanGasLimit { initial_gas, gas_limit } => {
                (-38013, format!("intrinsic gas too low: have {gas_limit}, want {initial_gas}"))
            }
            InvalidTransaction::LackOfFundForMaxFee { fee, balance } => (
                -38014,
                format!(
                    "insufficient funds for gas * price + value: address {from} have {balance} want {fee}"
                ),
            ),
            InvalidTransaction::RejectCallerWithCode => {
                (-38024, format!("sender not an eoa: address {from}"))
            }
            InvalidTransaction::CreateInitCodeSizeLimit => {
                (-38025, "max initcode size exceeded".to_string())
            }
            InvalidTransaction::PriorityFeeGreaterThanMaxFee => (
                crate::INVALID_PARAMS,
                format!("max priority fee per gas higher than max fee per gas: address {from}"),
            ),
            other => (crate::INTERNAL, other.to_string()),
        };
        Self::InvalidCall { code, message }
    }
}

/// The request, as geth reads it (alloy's payload without `withdrawals` in the overrides).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulatePayload {
    /// The blocks.
    #[serde(default)]
    pub block_state_calls: Vec<SimBlock>,
    /// Report value transfers as logs.
    #[serde(default)]
    pub trace_transfers: bool,
    /// Check nonces and fees as a block would.
    #[serde(default)]
    pub validation: bool,
    /// Full transactions instead of their hashes.
    #[serde(default)]
    pub return_full_transactions: bool,
}

/// One block of the request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimBlock {
    /// Header fields to set.
    #[serde(default)]
    pub block_overrides: Option<SimBlockOverrides>,
    /// State to set before the block's calls.
    #[serde(default)]
    pub state_overrides: Option<StateOverride>,
    /// The calls.
    #[serde(default)]
    pub calls: Vec<TransactionRequest>,
}

/// Block overrides with the block's withdrawals.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SimBlockOverrides {
    /// Number, time, gas limit, fee recipient, prevrandao, base fee, blob base fee, beacon root.
    #[serde(flatten)]
    pub fields: BlockOverrides,
    /// Withdrawals the block pays out.
    #[serde(default)]
    pub withdrawals: Option<Vec<Withdrawal>>,
}

/// One block to simulate: its number and time settled, the rest as asked.
#[derive(Debug, Default)]
struct PlannedBlock {
    number: u64,
    time: u64,
    overrides: BlockOverrides,
    withdrawals: Vec<Withdrawal>,
    state: Option<StateOverride>,
    calls: Vec<TransactionRequest>,
}

/// Settles block numbers and times as geth does: a missing number is the previous one + 1, a
/// missing time the previous one + 12; both must increase; a gap in the numbers is filled
/// with empty blocks 12 seconds apart; no block more than [`MAX_SIM_BLOCKS`] past the base.
fn plan_blocks(base: &Header, blocks: Vec<SimBlock>) -> Result<Vec<PlannedBlock>, SimulateError> {
    let overflow = |what: &str| SimulateError::Overflow(format!("{what} overflows"));
    let next_time =
        |t: u64| t.checked_add(TIMESTAMP_INCREMENT).ok_or_else(|| overflow("block timestamp"));
    let mut out = Vec::with_capacity(blocks.len());
    let (mut prev_number, mut prev_time) = (base.number, base.timestamp);
    for block in blocks {
        let (mut overrides, withdrawals) = match block.block_overrides {
            Some(o) => (o.fields, o.withdrawals.unwrap_or_default()),
            None => Default::default(),
        };
        let number = match overrides.number {
            Some(n) => n,
            None => U256::from(prev_number.checked_add(1).ok_or_else(|| overflow("block number"))?),
        };
        if number <= U256::from(prev_number) {
            return Err(SimulateError::BlockNumberOrder { got: number, prev: prev_number });
        }
        if number - U256::from(base.number) > U256::from(MAX_SIM_BLOCKS) {
            return Err(SimulateError::TooFarAhead { number, base: base.number });
        }
        // At most MAX_SIM_BLOCKS past the base, which is a u64.
        let number: u64 = number.try_into().map_err(|_| overflow("block number"))?;
        for filler in prev_number + 1..number {
            prev_time = next_time(prev_time)?;
            out.push(PlannedBlock { number: filler, time: prev_time, ..Default::default() });
        }
        let time = match overrides.time {
            Some(t) if t <= prev_time => {
                return Err(SimulateError::TimestampOrder { got: t, prev: prev_time });
            }
            Some(t) => t,
            None => next_time(prev_time)?,
        };
        (overrides.number, overrides.time) = (None, None);
        out.push(PlannedBlock {
            number,
            time,
            overrides,
            withdrawals,
            state: block.state_overrides,
            calls: block.calls,
        });
        (prev_number, prev_time) = (number, time);
    }
    Ok(out)
}

/// The server's gas cap as one budget for all the calls of a request (0: no cap).
#[derive(Debug, Clone, Copy)]
struct GasBudget {
    remaining: u64,
}

impl GasBudget {
    fn new(cap: u64) -> Self {
        Self { remaining: if cap == 0 { u64::MAX } else { cap } }
    }

    /// `gas`, or what is left of the budget if that is less.
    fn cap(&self, gas: u64) -> u64 {
        gas.min(self.remaining)
    }

    fn consume(&mut self, used: u64) -> Result<(), SimulateError> {
        self.remaining = self
            .remaining
            .checked_sub(used)
            .ok_or(SimulateError::GasBudget { need: used, remaining: self.remaining })?;
        Ok(())
    }
}

/// The state simulations run on.
type SimDb<'a> = State<revm::database::WrapDatabaseRef<StateProviderDatabase<StateAt<'a>>>>;

impl RpcContext {
    /// `eth_simulateV1`.
    pub(crate) fn simulate(
        &self,
        payload: SimulatePayload,
        block: BlockId,
    ) -> RpcResult<Vec<serde_json::Value>> {
        let blocks = payload.block_state_calls.len();
        if blocks == 0 {
            return Err(SimulateError::EmptyInput.into());
        }
        if blocks as u64 > MAX_SIM_BLOCKS {
            return Err(SimulateError::TooManyBlocks { got: blocks }.into());
        }
        let mut total = 0usize;
        for b in &payload.block_state_calls {
            if b.calls.len() > MAX_CALLS_PER_BLOCK {
                return Err(SimulateError::TooManyCalls {
                    got: b.calls.len(),
                    max: MAX_CALLS_PER_BLOCK,
                }
                .into());
            }
            total += b.calls.len();
            if total > MAX_CALLS {
                return Err(SimulateError::TooManyCalls { got: total, max: MAX_CALLS }.into());
            }
        }
        let ro = self.ro()?;
        let base = Self::resolve_required(&ro, block)?;
        let plan = plan_blocks(&base.header, payload.block_state_calls)?;
        let mut sim = Simulator {
            ctx: self,
            ro: &ro,
            revert: revert_to(&ro, base.number)?,
            db: State::builder()
                .with_database_ref(StateProviderDatabase::with_code_cache(
                    StateAt::new(&ro, base.number)?,
                    Arc::clone(&self.code_cache),
                ))
                .with_bundle_update()
                .build(),
            budget: GasBudget::new(self.config.gas_cap),
            validation: payload.validation,
            trace_transfers: payload.trace_transfers,
            full_transactions: payload.return_full_transactions,
        };
        let mut parent = base;
        let mut made: Option<Header> = None;
        let mut out = Vec::with_capacity(plan.len());
        for planned in plan {
            let template = made.as_ref().unwrap_or(&parent.header);
            let header = sim.make_header(&planned, template);
            made = Some(header.clone());
            let (json, sealed) = sim.process_block(planned, header, &parent)?;
            out.push(json);
            parent = sealed;
        }
        Ok(out)
    }
}

/// What a simulation carries from block to block.
struct Simulator<'a> {
    ctx: &'a RpcContext,
    ro: &'a Provider<Ro>,
    /// The state changes that turn the head's state back into the base block's.
    revert: HashedPostState,
    db: SimDb<'a>,
    budget: GasBudget,
    validation: bool,
    trace_transfers: bool,
    full_transactions: bool,
}

impl Simulator<'_> {
    /// The header before execution (geth's `makeHeaders`): fee recipient, gas limit and
    /// difficulty follow the previous simulated header unless overridden; difficulty is 0
    /// after the merge; prevrandao and the beacon root are zero unless overridden.
    fn make_header(&self, block: &PlannedBlock, template: &Header) -> Header {
        let spec = self.ctx.chain.spec();
        let o = &block.overrides;
        let shanghai = spec.is_shanghai_active_at_timestamp(block.time);
        let cancun = spec.is_cancun_active_at_timestamp(block.time);
        let difficulty = if spec.is_paris_active_at_block(block.number) {
            U256::ZERO
        } else {
            template.difficulty
        };
        Header {
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: o.coinbase.unwrap_or(template.beneficiary),
            transactions_root: alloy_trie::EMPTY_ROOT_HASH,
            receipts_root: alloy_trie::EMPTY_ROOT_HASH,
            difficulty: o.difficulty.unwrap_or(difficulty),
            number: block.number,
            gas_limit: o.gas_limit.unwrap_or(template.gas_limit),
            timestamp: block.time,
            mix_hash: o.random.unwrap_or_default(),
            withdrawals_root: shanghai.then_some(alloy_trie::EMPTY_ROOT_HASH),
            parent_beacon_block_root: cancun.then(|| o.beacon_root.unwrap_or_default()),
            ..Default::default()
        }
    }

    /// Runs one block on top of `parent`; returns its JSON and the block itself.
    fn process_block(
        &mut self,
        block: PlannedBlock,
        mut header: Header,
        parent: &ResolvedBlock,
    ) -> RpcResult<(serde_json::Value, ResolvedBlock)> {
        let spec = Arc::clone(self.ctx.chain.spec());
        header.parent_hash = parent.hash;
        if spec.is_london_active_at_block(header.number) {
            header.base_fee_per_gas = Some(match block.overrides.base_fee {
                Some(fee) => fee.try_into().map_err(|_| {
                    SimulateError::Overflow(format!("base fee {fee} does not fit 64 bits"))
                })?,
                None if self.validation => {
                    bttc_chain::validate::expected_base_fee(&spec, &parent.header, header.number)
                        .unwrap_or_default()
                }
                None => 0,
            });
        }
        let cancun = spec.is_cancun_active_at_timestamp(header.timestamp);
        if cancun {
            header.excess_blob_gas = Some(
                bttc_chain::validate::expected_excess_blob_gas(
                    &spec,
                    &parent.header,
                    header.timestamp,
                )
                .unwrap_or_default(),
            );
        }
        let shanghai = spec.is_shanghai_active_at_timestamp(header.timestamp);
        let prague = spec.is_prague_active_at_timestamp(header.timestamp);
        let body_block = Block {
            header: header.clone(),
            body: BlockBody {
                transactions: Vec::new(),
                ommers: Vec::new(),
                withdrawals: shanghai.then(|| block.withdrawals.clone().into()),
            },
        };
        let bttc_evm::BlockSetup { mut env, factory, ctx } =
            bttc_evm::block_setup(&spec, &body_block);
        env.cfg_env.disable_eip3607 = true;
        env.cfg_env.disable_block_gas_limit = true;
        env.cfg_env.tx_gas_limit_cap = Some(u64::MAX);
        env.cfg_env.disable_nonce_check = !self.validation;
        env.cfg_env.disable_base_fee = !self.validation;
        if let Some(fee) = block.overrides.blob_base_fee
            && let Some(blob) = env.block_env.blob_excess_gas_and_price.as_mut()
        {
            blob.blob_gasprice = fee.try_into().map_err(|_| {
                SimulateError::Overflow(format!("blob base fee {fee} does not fit 128 bits"))
            })?;
        }
        if let Some(hashes) = block.overrides.block_hash.clone() {
            self.db.override_block_hashes(hashes);
        }

        // State overrides, with geth's rules for precompiles.
        let spec_id = env.cfg_env.spec;
        let mut precompiles: Vec<Address> =
            Precompiles::new(PrecompileSpecId::from_spec_id(spec_id))
                .addresses()
                .copied()
                .collect();
        let mut moves = Vec::new();
        let mut removed = Vec::new();
        if let Some(overrides) = block.state {
            moves = precompile_moves(&overrides, &mut precompiles, &mut removed)?;
            apply_state_overrides(overrides, &mut self.db)
                .map_err(|e| RpcError::InvalidParams(e.to_string()))?;
        }

        let number = header.number;
        let timestamp = header.timestamp;
        let base_fee = header.base_fee_per_gas;
        // geth keeps the fork's precompile addresses warm (EIP-2929) whatever the overrides
        // did to them, and a precompile moved elsewhere is cold at its new address.
        let tracer = SimTracer::new(self.trace_transfers, removed.clone());
        let evm = factory.evm_factory().create_evm_with_inspector(
            &mut self.db,
            env,
            (tracer, Deadline::current()),
        );
        let mut executor = factory.create_executor(evm, ctx);
        {
            let standard = Precompiles::new(PrecompileSpecId::from_spec_id(spec_id));
            let map = executor.evm_mut().precompiles_mut();
            // A precompile moved onto another precompile's address replaces it there (and
            // that address stays warm); moved anywhere else it is found by lookup (cold).
            let mut elsewhere = Vec::new();
            for (from, to) in moves {
                let Some(p) = standard.get(&from).cloned() else { continue };
                if map.get(&to).is_some() {
                    map.apply_precompile(&to, |_| Some(dyn_precompile(p)));
                } else {
                    elsewhere.push((to, p));
                }
            }
            for address in &removed {
                map.apply_precompile(address, |_| None);
            }
            if !elsewhere.is_empty() {
                map.set_precompile_lookup(move |address: &Address| {
                    elsewhere
                        .iter()
                        .find(|(a, _)| a == address)
                        .map(|(_, p)| dyn_precompile(p.clone()))
                });
            }
        }
        executor.evm_mut().disable_inspector();
        executor.apply_pre_execution_changes().map_err(RpcError::internal)?;
        executor.evm_mut().enable_inspector();

        let mut txs: Vec<(TxEnvelope, Address)> = Vec::with_capacity(block.calls.len());
        let mut calls: Vec<SimCallResult> = Vec::with_capacity(block.calls.len());
        let mut gas_used = 0u64;
        for (index, req) in block.calls.into_iter().enumerate() {
            let from = req.from.unwrap_or_default();
            let nonce = match req.nonce {
                Some(n) => n,
                None => executor
                    .evm_mut()
                    .db_mut()
                    .basic(from)
                    .map_err(RpcError::internal)?
                    .map(|a| a.nonce)
                    .unwrap_or_default(),
            };
            let remaining = header.gas_limit.saturating_sub(gas_used);
            let asked = req.gas.unwrap_or(remaining);
            if remaining < asked {
                return Err(SimulateError::BlockGasLimit { remaining, required: asked }.into());
            }
            let gas = self.budget.cap(asked);
            let capped = gas < asked;
            let tx = call_transaction(req, nonce, gas, base_fee, spec.chain_id())?;
            if self.validation {
                // geth checks the nonce before the fees; revm the other way round.
                let state = executor
                    .evm_mut()
                    .db_mut()
                    .basic(from)
                    .map_err(RpcError::internal)?
                    .map(|a| a.nonce)
                    .unwrap_or_default();
                check_nonce(nonce, state, from)?;
            } else {
                check_fees(&tx, base_fee, from)?;
            }
            let hash = *tx.tx_hash();
            executor.evm_mut().inspector_mut().0.start_tx(hash, index as u64);
            let tx_env = TxEnv::from_recovered_tx(&tx, from);
            let output = executor
                .execute_transaction_without_commit((tx_env, Recovered::new_unchecked(&tx, from)))
                .map_err(|e| call_error(e, from))?;
            let result = output.result().result.clone();
            let used = result.tx_gas_used();
            let gas_info = *result.gas();
            executor.commit_transaction(output);
            gas_used = gas_used.saturating_add(used);
            self.budget.consume(used)?;
            let logs = executor.evm_mut().inspector_mut().0.take_logs(number, timestamp);
            let max_used_gas = Some(gas_info.total_gas_spent().max(gas_info.floor_gas()));
            calls.push(match result {
                ExecutionResult::Success { output, .. } => SimCallResult {
                    return_data: output.into_data(),
                    logs,
                    gas_used: used,
                    max_used_gas,
                    status: true,
                    error: None,
                },
                // The revert data is the error's, not the return data (geth).
                ExecutionResult::Revert { output, .. } => SimCallResult {
                    error: Some(SimCallError {
                        code: crate::REVERTED,
                        message: decode_revert_reason(&output).map_or_else(
                            || "execution reverted".to_string(),
                            |r| format!("execution reverted: {r}"),
                        ),
                        data: Some(output),
                    }),
                    return_data: Bytes::new(),
                    logs: Vec::new(),
                    gas_used: used,
                    max_used_gas,
                    status: false,
                },
                ExecutionResult::Halt { reason, .. } => {
                    let mut message = halt_message(&reason);
                    if capped {
                        message
                            .push_str(" (gas limit was capped by the RPC server's global gas cap)");
                    }
                    SimCallResult {
                        return_data: Bytes::new(),
                        logs: Vec::new(),
                        gas_used: used,
                        max_used_gas,
                        status: false,
                        error: Some(SimCallError { code: -32015, message, data: None }),
                    }
                }
            });
            txs.push((tx, from));
        }
        executor.evm_mut().disable_inspector();
        let (_, result) = executor.finish().map_err(RpcError::internal)?;
        self.db.merge_transitions(BundleRetention::PlainState);

        header.gas_used = result.gas_used;
        if cancun {
            header.blob_gas_used = Some(result.blob_gas_used);
        }
        if prague {
            header.requests_hash = Some(result.requests.requests_hash());
        }
        header.receipts_root = calculate_receipt_root(&result.receipts);
        header.logs_bloom = result.receipts.iter().fold(Bloom::ZERO, |b, r| b | r.bloom());
        header.transactions_root =
            ordered_trie_root_with_encoder(&txs, |(tx, _), buf| encode_call_transaction(tx, buf));
        if shanghai {
            header.withdrawals_root = Some(calculate_withdrawals_root(&block.withdrawals));
        }
        header.state_root = self.state_root()?;
        let hash = header.hash_slow();
        let full = Block {
            header: header.clone(),
            body: BlockBody {
                transactions: txs.iter().map(|(tx, _)| tx.clone()).collect(),
                ommers: Vec::new(),
                withdrawals: shanghai.then(|| block.withdrawals.into()),
            },
        };
        let size = full.length();
        self.db.override_block_hashes(BTreeMap::from([(number, hash)]));
        for call in &mut calls {
            for log in &mut call.logs {
                log.block_hash = Some(hash);
            }
        }
        let transactions = if self.full_transactions {
            BlockTransactions::Full(
                txs.iter()
                    .enumerate()
                    .map(|(i, (tx, from))| rpc_tx(tx.clone(), *from, &header, hash, i as u64))
                    .collect::<Vec<RpcTx>>(),
            )
        } else {
            BlockTransactions::Hashes(txs.iter().map(|(tx, _)| *tx.tx_hash()).collect())
        };
        let rpc_block = RpcBlock {
            header: rpc_header(header.clone(), hash, Some(size)),
            uncles: Vec::new(),
            transactions,
            withdrawals: full.body.withdrawals,
        };
        let mut json = serde_json::to_value(&rpc_block).map_err(RpcError::internal)?;
        if self.full_transactions {
            unsigned_legacy_v(&mut json, &txs);
        }
        json["calls"] = serde_json::to_value(&calls).map_err(RpcError::internal)?;
        Ok((json, ResolvedBlock { number, hash, header }))
    }

    /// The state root of the base block's state with every change simulated so far.
    fn state_root(&self) -> RpcResult<B256> {
        // Every change the simulation made to the base state, as the executor reports a block's.
        let changes = bttc_evm::changes_from_bundle(&self.db.bundle_state);
        let mut hashed = self.revert.clone();
        let sim = bttc_chain::hashed_post_state(&changes);
        hashed.accounts.extend(sim.accounts);
        for (owner, storage) in sim.storages {
            match hashed.storages.get_mut(&owner) {
                Some(reverted) if !storage.wiped => reverted.slots.extend(storage.slots),
                _ => {
                    hashed.storages.insert(owner, storage);
                }
            }
        }
        let (root, _) = bttc_trie::state_root(self.ro, &hashed).map_err(RpcError::internal)?;
        Ok(root)
    }
}

/// The changes that take the trie from the head's state back to the state after `base`:
/// every account and slot changed since, at its value after `base`. Empty for the head.
fn revert_to(ro: &Provider<Ro>, base: u64) -> RpcResult<HashedPostState> {
    let mut out = HashedPostState::default();
    if base >= RpcContext::head_number(ro)? {
        return Ok(out);
    }
    let keys = ro.changed_after(base, MAX_REVERT_ENTRIES)?.ok_or_else(|| {
        RpcError::ClientLimit(format!(
            "simulating on block {base} needs more than {MAX_REVERT_ENTRIES} state changes \
             since it reverted; simulate on a more recent block"
        ))
    })?;
    let past = HistoricalState::new(ro, base);
    for address in keys.accounts {
        let account = past.account(&address)?.map(|a| HashedAccount {
            nonce: a.nonce,
            balance: a.balance,
            code_hash: a.code_hash,
        });
        out.accounts.insert(keccak256(address), account);
    }
    for (address, slot) in keys.slots {
        let value = past.storage(&address, &slot)?;
        out.storages
            .entry(keccak256(address))
            .or_insert_with(|| HashedStorage { wiped: false, slots: Default::default() })
            .slots
            .insert(keccak256(slot), value);
    }
    Ok(out)
}

/// A standard precompile for a [`alloy_evm::precompiles::PrecompilesMap`].
fn dyn_precompile(p: revm::precompile::Precompile) -> alloy_evm::precompiles::DynPrecompile {
    use alloy_evm::precompiles::Precompile as _;
    let id = p.id().clone();
    alloy_evm::precompiles::DynPrecompile::new(id, move |input| p.call(input))
}

/// geth's checks of a state override's precompile moves; returns the moves and, in
/// `removed`, the precompiles whose address is overridden or moved away (the account's code,
/// if any, runs there instead).
fn precompile_moves(
    overrides: &StateOverride,
    precompiles: &mut Vec<Address>,
    removed: &mut Vec<Address>,
) -> Result<Vec<(Address, Address)>, SimulateError> {
    let mut moves = Vec::new();
    let mut moved_to = Vec::new();
    let mut addresses: Vec<&Address> = overrides.keys().collect();
    addresses.sort();
    for address in addresses {
        if moved_to.contains(address) {
            return Err(SimulateError::Override(format!(
                "account {address} has already been overridden by a precompile"
            )));
        }
        let is_precompile = precompiles.contains(address);
        if let Some(to) = overrides[address].move_precompile_to {
            if !is_precompile {
                return Err(SimulateError::Override(format!(
                    "account {address} is not a precompile"
                )));
            }
            if overrides.contains_key(&to) {
                return Err(SimulateError::Override(format!("account {to} is already overridden")));
            }
            moves.push((*address, to));
            moved_to.push(to);
            precompiles.push(to);
        } else if is_precompile {
            removed.push(*address);
        }
        if is_precompile && overrides[address].move_precompile_to.is_some() {
            removed.push(*address);
        }
        if is_precompile {
            precompiles.retain(|p| p != address);
        }
    }
    Ok(moves)
}

/// A call as the unsigned transaction geth makes of it (`ToTransaction` with the dynamic-fee
/// type as default, after `CallDefaults`): legacy when `gasPrice` is given (or before
/// London), set-code with an authorization list, blob with blob hashes, dynamic-fee
/// otherwise; missing fees are 0.
fn call_transaction(
    req: TransactionRequest,
    nonce: u64,
    gas: u64,
    base_fee: Option<u64>,
    chain_id: u64,
) -> RpcResult<TxEnvelope> {
    if req.gas_price.is_some()
        && (req.max_fee_per_gas.is_some() || req.max_priority_fee_per_gas.is_some())
    {
        return Err(RpcError::InvalidTransaction(
            "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified".into(),
        ));
    }
    if let Some(id) = req.chain_id
        && id != chain_id
    {
        return Err(RpcError::InvalidTransaction(format!(
            "chainId does not match node's (have={id}, want={chain_id})"
        )));
    }
    let legacy = req.gas_price.is_some() || base_fee.is_none();
    let input = req.input.into_input().unwrap_or_default();
    let value = req.value.unwrap_or_default();
    let access_list = req.access_list.unwrap_or_default();
    let max_fee = req.max_fee_per_gas.unwrap_or_default();
    let tip = req.max_priority_fee_per_gas.unwrap_or_default();
    let unsigned = alloy_primitives::Signature::new(U256::ZERO, U256::ZERO, false);
    let to_address = |what: &str| match req.to {
        Some(TxKind::Call(to)) => Ok(to),
        _ => Err(RpcError::InvalidParams(format!("a {what} call needs a `to` address"))),
    };
    Ok(if legacy {
        let tx = TxLegacy {
            chain_id: None,
            nonce,
            gas_price: req.gas_price.unwrap_or_default(),
            gas_limit: gas,
            to: req.to.unwrap_or(TxKind::Create),
            value,
            input,
        };
        let mut rlp = Vec::new();
        encode_unsigned_legacy(&tx, &mut rlp);
        TxEnvelope::Legacy(Signed::new_unchecked(tx, unsigned, keccak256(&rlp)))
    } else if let Some(authorization_list) = req.authorization_list {
        TxEnvelope::Eip7702(
            TxEip7702 {
                chain_id,
                nonce,
                gas_limit: gas,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                to: to_address("set-code")?,
                value,
                access_list,
                authorization_list,
                input,
            }
            .into_signed(unsigned),
        )
    } else if let Some(blob_versioned_hashes) = req.blob_versioned_hashes {
        TxEnvelope::Eip4844(
            TxEip4844Variant::TxEip4844(TxEip4844 {
                chain_id,
                nonce,
                gas_limit: gas,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                to: to_address("blob")?,
                value,
                access_list,
                blob_versioned_hashes,
                max_fee_per_blob_gas: req.max_fee_per_blob_gas.unwrap_or_default(),
                input,
            })
            .into_signed(unsigned),
        )
    } else {
        TxEnvelope::Eip1559(
            TxEip1559 {
                chain_id,
                nonce,
                gas_limit: gas,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                to: req.to.unwrap_or(TxKind::Create),
                value,
                access_list,
                input,
            }
            .into_signed(unsigned),
        )
    })
}

/// The RLP of an unsigned legacy transaction as geth encodes it: `v`, `r` and `s` all 0 (a
/// signed encoding would carry `v` = 27).
fn encode_unsigned_legacy(tx: &TxLegacy, out: &mut Vec<u8>) {
    alloy_rlp::Header { list: true, payload_length: tx.rlp_encoded_fields_length() + 3 }
        .encode(out);
    tx.rlp_encode_fields(out);
    out.extend_from_slice(&[alloy_rlp::EMPTY_STRING_CODE; 3]);
}

/// A simulated transaction's encoding in the transactions trie.
fn encode_call_transaction(tx: &TxEnvelope, out: &mut Vec<u8>) {
    match tx {
        TxEnvelope::Legacy(signed) => encode_unsigned_legacy(signed.tx(), out),
        other => other.encode_2718(out),
    }
}

/// Full legacy transactions in a block's JSON carry `v` = 0, as geth shows them unsigned.
fn unsigned_legacy_v(block: &mut serde_json::Value, txs: &[(TxEnvelope, Address)]) {
    let Some(list) = block.get_mut("transactions").and_then(|t| t.as_array_mut()) else { return };
    for (json, (tx, _)) in list.iter_mut().zip(txs) {
        if matches!(tx, TxEnvelope::Legacy(_)) {
            json["v"] = serde_json::json!("0x0");
        }
    }
}

/// geth's fee checks for a call that offers a fee when the base fee is not checked
/// (`validation` off): a fee cap below the tip is invalid, below the base fee too low.
fn check_fees(tx: &TxEnvelope, base_fee: Option<u64>, from: Address) -> RpcResult<()> {
    use alloy_consensus::Transaction;
    let Some(base_fee) = base_fee else { return Ok(()) };
    let fee_cap = tx.max_fee_per_gas();
    let tip = tx.max_priority_fee_per_gas().unwrap_or(fee_cap);
    if fee_cap == 0 && tip == 0 {
        return Ok(());
    }
    if fee_cap < tip {
        return Err(SimulateError::invalid_call(
            &InvalidTransaction::PriorityFeeGreaterThanMaxFee,
            from,
        )
        .into());
    }
    if fee_cap < u128::from(base_fee) {
        return Err(SimulateError::InvalidCall {
            code: -38012,
            message: format!(
                "max fee per gas less than block base fee: address {from}, maxFeePerGas: {fee_cap}, baseFee: {base_fee}"
            ),
        }
        .into());
    }
    Ok(())
}

/// geth's nonce checks, made first as geth does.
fn check_nonce(tx: u64, state: u64, from: Address) -> Result<(), SimulateError> {
    if tx > state {
        return Err(SimulateError::invalid_call(
            &InvalidTransaction::NonceTooHigh { tx, state },
            from,
        ));
    }
    if tx < state {
        return Err(SimulateError::invalid_call(
            &InvalidTransaction::NonceTooLow { tx, state },
            from,
        ));
    }
    if state == u64::MAX {
        return Err(SimulateError::InvalidCall {
            code: crate::INTERNAL,
            message: format!("nonce has max value: address {from}, nonce: {state}"),
        });
    }
    Ok(())
}

/// A call that could not run, as the request's error.
fn call_error(e: BlockExecutionError, from: Address) -> RpcError {
    // The request's deadline stops the EVM with an error of its own.
    if let Err(timeout) = crate::deadline::check() {
        return timeout;
    }
    match e {
        BlockExecutionError::Validation(BlockValidationError::InvalidTx { error, .. }) => {
            match error.as_invalid_tx_err() {
                Some(invalid) => SimulateError::invalid_call(invalid, from).into(),
                None => RpcError::Internal(error.to_string()),
            }
        }
        other => RpcError::internal(other),
    }
}

/// geth's simulation log tracer: every log of a call in execution order, each numbered in
/// the block's sequence when emitted; logs of a frame that reverts are dropped (their
/// numbers are not reused). With `traceTransfers`, each value transfer (not by
/// `DELEGATECALL` or `CALLCODE`) is a log too: an ERC-20 `Transfer(from, to, value)` from
/// [`TRANSFER_EMITTER`].
#[derive(Debug)]
pub(crate) struct SimTracer {
    trace_transfers: bool,
    /// Addresses kept warm in every transaction (overridden precompiles).
    warm: Vec<Address>,
    /// Logs of the open call frames, innermost last.
    frames: Vec<Vec<(u64, PrimitiveLog)>>,
    /// Logs of the transaction once its outermost frame ended.
    done: Vec<(u64, PrimitiveLog)>,
    /// The next log number in the block.
    next_index: u64,
    tx_hash: B256,
    tx_index: u64,
}

impl SimTracer {
    fn new(trace_transfers: bool, warm: Vec<Address>) -> Self {
        Self {
            trace_transfers,
            warm,
            frames: Vec::new(),
            done: Vec::new(),
            next_index: 0,
            tx_hash: B256::ZERO,
            tx_index: 0,
        }
    }

    fn start_tx(&mut self, tx_hash: B256, tx_index: u64) {
        self.frames.clear();
        self.done.clear();
        (self.tx_hash, self.tx_index) = (tx_hash, tx_index);
    }

    /// The transaction's logs (their block hash is filled in once the block is sealed).
    fn take_logs(&mut self, number: u64, timestamp: u64) -> Vec<Log> {
        std::mem::take(&mut self.done)
            .into_iter()
            .map(|(index, inner)| Log {
                inner,
                block_hash: None,
                block_number: Some(number),
                block_timestamp: Some(timestamp),
                transaction_hash: Some(self.tx_hash),
                transaction_index: Some(self.tx_index),
                log_index: Some(index),
                removed: false,
            })
            .collect()
    }

    fn push(&mut self, log: PrimitiveLog) {
        let index = self.next_index;
        self.next_index += 1;
        if let Some(frame) = self.frames.last_mut() {
            frame.push((index, log));
        }
    }

    fn transfer(&mut self, from: Address, to: Address, value: U256) {
        if !self.trace_transfers || value.is_zero() {
            return;
        }
        let topics = vec![TRANSFER_TOPIC, from.into_word(), to.into_word()];
        let data = LogData::new_unchecked(topics, Bytes::from(value.to_be_bytes::<32>().to_vec()));
        self.push(PrimitiveLog { address: TRANSFER_EMITTER, data });
    }

    /// On entering a frame: at the top, warms [`Self::warm`].
    fn enter<CTX: ContextTr>(&mut self, context: &mut CTX) {
        if self.frames.is_empty() {
            for address in &self.warm {
                let _ = context.journal_mut().load_account(*address);
            }
        }
        self.frames.push(Vec::new());
    }

    fn exit(&mut self, reverted: bool) {
        let Some(frame) = self.frames.pop() else { return };
        match self.frames.last_mut() {
            Some(parent) if !reverted => parent.extend(frame),
            Some(_) => {}
            None => self.done = if reverted { Vec::new() } else { frame },
        }
    }
}

impl<CTX: ContextTr> Inspector<CTX> for SimTracer {
    fn log(&mut self, _context: &mut CTX, log: PrimitiveLog) {
        self.push(log);
    }

    fn call(&mut self, context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        self.enter(context);
        if inputs.scheme == CallScheme::Call
            && let Some(value) = inputs.transfer_value()
        {
            self.transfer(inputs.transfer_from(), inputs.transfer_to(), value);
        }
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.exit(!outcome.result.result.is_ok());
    }

    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.enter(context);
        if self.trace_transfers && !inputs.value().is_zero() {
            let nonce = context
                .journal_mut()
                .load_account(inputs.caller())
                .map(|a| a.data.info.nonce)
                .unwrap_or_default();
            self.transfer(inputs.caller(), inputs.created_address(nonce), inputs.value());
        }
        None
    }

    fn create_end(
        &mut self,
        _context: &mut CTX,
        _inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        self.exit(!outcome.result.result.is_ok());
    }

    fn selfdestruct(&mut self, contract: Address, target: Address, value: U256) {
        self.transfer(contract, target, value);
    }
}

impl From<SimulateError> for RpcError {
    fn from(e: SimulateError) -> Self {
        Self::Simulate(e)
    }
}
