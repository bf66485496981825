//! `eth_simulateV1`: a sequence of simulated blocks, each with optional block and state
//! overrides and a list of calls, executed one after another on a throw-away state.
//!
//! Partial: simulated blocks report their header fields (number, timestamp, gas, base fee,
//! receipts root, bloom) and each call's result, logs and gas; their `transactions` list is
//! empty (calls are not signed) and their state root is not computed (zero).
//! `traceTransfers` is not supported.

use crate::{
    RpcContext, RpcError, RpcResult,
    call::{halt_message, map_evm_error},
    deadline::Deadline,
    error::decode_revert_reason,
};
use alloy_consensus::{
    Eip658Value, Header, Receipt, ReceiptEnvelope, proofs::calculate_receipt_root,
};
use alloy_eips::BlockId;
use alloy_evm::{
    Evm, EvmFactory, eth::EthEvmFactory, overrides::apply_block_overrides,
    overrides::apply_state_overrides,
};
use alloy_primitives::{B256, Bloom};
use alloy_rpc_types_eth::{
    Block as RpcBlock, BlockTransactions, Log,
    simulate::{SimCallResult, SimulateError, SimulatePayload, SimulatedBlock},
};
use revm::{DatabaseCommit, DatabaseRef, context::result::ExecutionResult};

/// Most simulated blocks in one request.
const MAX_SIM_BLOCKS: usize = 256;

impl RpcContext {
    /// `eth_simulateV1`.
    pub(crate) fn simulate(
        &self,
        payload: SimulatePayload,
        block: BlockId,
    ) -> RpcResult<Vec<SimulatedBlock<RpcBlock<crate::convert::RpcTx>>>> {
        if payload.block_state_calls.len() > MAX_SIM_BLOCKS {
            return Err(RpcError::Limit(format!(
                "too many blocks to simulate: {} > {MAX_SIM_BLOCKS}",
                payload.block_state_calls.len()
            )));
        }
        if payload.trace_transfers {
            return Err(RpcError::Unsupported("traceTransfers is not supported".into()));
        }
        let ro = self.ro()?;
        let base = Self::resolve_required(&ro, block)?;
        let mut db = self.call_db(&ro, base.number)?;
        let mut parent: Header = base.header;
        let mut parent_hash = base.hash;
        let mut out = Vec::new();
        for sim in payload.block_state_calls {
            let mut header = Header {
                parent_hash,
                number: parent.number + 1,
                timestamp: parent.timestamp + 12,
                gas_limit: parent.gas_limit,
                beneficiary: parent.beneficiary,
                base_fee_per_gas: if payload.validation {
                    bttc_chain::validate::expected_base_fee(
                        self.chain.spec(),
                        &parent,
                        parent.number + 1,
                    )
                } else {
                    Some(0)
                },
                mix_hash: parent.mix_hash,
                // Fork fields follow the parent's: present if its fork has them.
                excess_blob_gas: parent.excess_blob_gas.map(|_| {
                    bttc_chain::validate::expected_excess_blob_gas(
                        self.chain.spec(),
                        &parent,
                        parent.timestamp + 12,
                    )
                    .unwrap_or_default()
                }),
                blob_gas_used: parent.blob_gas_used.map(|_| 0),
                parent_beacon_block_root: parent.parent_beacon_block_root.map(|_| B256::ZERO),
                withdrawals_root: parent.withdrawals_root.map(|_| alloy_trie::EMPTY_ROOT_HASH),
                requests_hash: parent
                    .requests_hash
                    .map(|_| alloy_eips::eip7685::EMPTY_REQUESTS_HASH),
                ..Default::default()
            };
            let mut env = self.call_env(&header, &Default::default());
            env.cfg_env.disable_base_fee = !payload.validation;
            env.cfg_env.disable_nonce_check = !payload.validation;
            if let Some(o) = sim.block_overrides {
                apply_block_overrides(o, &mut db, &mut env.block_env);
            }
            header.number = env.block_env.number.saturating_to();
            header.timestamp = env.block_env.timestamp.saturating_to();
            header.gas_limit = env.block_env.gas_limit;
            header.beneficiary = env.block_env.beneficiary;
            header.base_fee_per_gas = Some(env.block_env.basefee);
            if let Some(state) = sim.state_overrides {
                apply_state_overrides(state, &mut db)
                    .map_err(|e| RpcError::InvalidParams(e.to_string()))?;
            }
            let mut calls = Vec::with_capacity(sim.calls.len());
            let mut receipts = Vec::with_capacity(sim.calls.len());
            let mut cumulative = 0u64;
            let mut log_index = 0u64;
            for (i, mut req) in sim.calls.into_iter().enumerate() {
                let from = req.from.unwrap_or_default();
                if req.nonce.is_none() {
                    req.nonce = Some(
                        db.basic_ref(from)
                            .map_err(RpcError::internal)?
                            .map(|a| a.nonce)
                            .unwrap_or_default(),
                    );
                }
                if req.gas.is_none() {
                    req.gas = Some(header.gas_limit.saturating_sub(cumulative));
                }
                if !payload.validation && req.gas_price.is_none() && req.max_fee_per_gas.is_none() {
                    req.gas_price = Some(0);
                }
                let tx = self.tx_env(&env, req)?;
                let res = {
                    let mut evm = EthEvmFactory::default().create_evm_with_inspector(
                        &mut db,
                        env.clone(),
                        Deadline::current(),
                    );
                    evm.transact(tx).map_err(map_evm_error)?
                };
                let gas_used = res.result.tx_gas_used();
                cumulative += gas_used;
                let (status, return_data, logs, error) = match res.result {
                    ExecutionResult::Success { output, logs, .. } => {
                        (true, output.into_data(), logs, None)
                    }
                    ExecutionResult::Revert { output, .. } => {
                        let msg = decode_revert_reason(&output).map_or_else(
                            || "execution reverted".to_string(),
                            |r| format!("execution reverted: {r}"),
                        );
                        (
                            false,
                            output.clone(),
                            Vec::new(),
                            Some(SimulateError { code: 3, message: msg, data: Some(output) }),
                        )
                    }
                    ExecutionResult::Halt { reason, .. } => (
                        false,
                        Default::default(),
                        Vec::new(),
                        Some(SimulateError {
                            code: -32015,
                            message: halt_message(&reason),
                            data: None,
                        }),
                    ),
                };
                db.commit(res.state);
                receipts.push(ReceiptEnvelope::Eip1559(
                    Receipt {
                        status: Eip658Value::Eip658(status),
                        cumulative_gas_used: cumulative,
                        logs: logs.clone(),
                    }
                    .with_bloom(),
                ));
                let rpc_logs = logs
                    .into_iter()
                    .map(|inner| {
                        let l = Log {
                            inner,
                            block_hash: None,
                            block_number: Some(header.number),
                            block_timestamp: Some(header.timestamp),
                            transaction_hash: Some(B256::ZERO),
                            transaction_index: Some(i as u64),
                            log_index: Some(log_index),
                            removed: false,
                        };
                        log_index += 1;
                        l
                    })
                    .collect();
                calls.push(SimCallResult {
                    return_data,
                    logs: rpc_logs,
                    gas_used,
                    max_used_gas: None,
                    status,
                    error,
                });
            }
            header.gas_used = cumulative;
            header.receipts_root = calculate_receipt_root(&receipts);
            header.logs_bloom = receipts.iter().fold(Bloom::ZERO, |acc, r| acc | r.logs_bloom());
            header.transactions_root = alloy_trie::EMPTY_ROOT_HASH;
            header.ommers_hash = alloy_consensus::EMPTY_OMMER_ROOT_HASH;
            let hash = header.hash_slow();
            for c in &mut calls {
                for l in &mut c.logs {
                    l.block_hash = Some(hash);
                }
            }
            parent_hash = hash;
            parent = header.clone();
            out.push(SimulatedBlock {
                inner: RpcBlock {
                    header: crate::convert::rpc_header(header, hash, None),
                    uncles: Vec::new(),
                    transactions: BlockTransactions::Hashes(Vec::new()),
                    withdrawals: None,
                },
                calls,
            });
        }
        Ok(out)
    }
}
