//! Stateless and state-dependent checks of one transaction.

use crate::PoolError;
use alloy_consensus::{Transaction, transaction::SignerRecoverable};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, U256};
use bttc_primitives::TxEnvelope;
use bttc_storage::StateProvider;
use revm::{context_interface::cfg::gas::calculate_initial_tx_gas, primitives::hardfork::SpecId};

/// What a transaction is validated against: the chain and the next block.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext {
    /// This chain's id.
    pub chain_id: u64,
    /// Fork rules of the next block.
    pub spec: SpecId,
    /// Gas limit of the next block.
    pub block_gas_limit: u64,
    /// Whether blob (type-3) transactions are accepted (never on bttc chains).
    pub blobs_allowed: bool,
    /// Minimum priority fee (tip) in wei.
    pub min_priority_fee: u128,
    /// Maximum encoded size in bytes.
    pub max_tx_size: usize,
    /// Base fee of the next block (0 before London): a lower fee cap is refused.
    pub base_fee: u64,
}

impl ValidationContext {
    /// The rules for the block after `parent` on `spec`'s chain, with the pool's defaults:
    /// a tip of at least 1 wei and at most 128 KiB per transaction.
    pub fn next_block(spec: &bttc_chainspec::ChainSpec, parent: &alloy_consensus::Header) -> Self {
        Self {
            chain_id: spec.chain_id(),
            spec: spec.spec_id(parent.number + 1, parent.timestamp + 1),
            block_gas_limit: parent.gas_limit,
            blobs_allowed: !spec.is_bttc(),
            min_priority_fee: 1,
            max_tx_size: 128 * 1024,
            base_fee: next_base_fee(spec, parent),
        }
    }
}

/// The base fee of the block after `parent` (0 before London).
pub fn next_base_fee(spec: &bttc_chainspec::ChainSpec, parent: &alloy_consensus::Header) -> u64 {
    bttc_chain::validate::expected_base_fee(spec, parent, parent.number + 1).unwrap_or(0)
}

/// A transaction that passed [`validate_transaction`].
#[derive(Debug, Clone, Copy)]
pub struct Validated {
    /// Recovered sender.
    pub sender: Address,
    /// Most the transaction can cost.
    pub cost: U256,
    /// The sender's next nonce in the state validated against.
    pub account_nonce: u64,
    /// The sender's balance in that state.
    pub balance: U256,
    /// Encoded size in bytes.
    pub size: usize,
}

/// The checks that need no pool: chain id, type, size, gas, fees (tip and fee cap against
/// the next block's base fee), signature, nonce, funds for this transaction alone.
pub fn validate_transaction<S: StateProvider>(
    tx: &TxEnvelope,
    state: &S,
    ctx: &ValidationContext,
) -> Result<Validated, PoolError> {
    let size = tx.encode_2718_len();
    if size > ctx.max_tx_size {
        return Err(PoolError::Oversized { size, max: ctx.max_tx_size });
    }
    let type_ok = match tx {
        TxEnvelope::Legacy(_) => true,
        TxEnvelope::Eip2930(_) => ctx.spec.is_enabled_in(SpecId::BERLIN),
        TxEnvelope::Eip1559(_) => ctx.spec.is_enabled_in(SpecId::LONDON),
        TxEnvelope::Eip4844(_) => ctx.blobs_allowed && ctx.spec.is_enabled_in(SpecId::CANCUN),
        TxEnvelope::Eip7702(_) => ctx.spec.is_enabled_in(SpecId::PRAGUE),
    };
    if !type_ok {
        return Err(PoolError::TypeNotSupported);
    }
    match tx.chain_id() {
        Some(id) if id != ctx.chain_id => {
            return Err(PoolError::ChainId { got: id, expected: ctx.chain_id });
        }
        None => return Err(PoolError::Unprotected),
        _ => {}
    }
    if tx.gas_limit() > ctx.block_gas_limit {
        return Err(PoolError::ExceedsBlockGasLimit);
    }
    let access_list = tx.access_list().cloned().unwrap_or_default();
    let storages = access_list.iter().map(|i| i.storage_keys.len() as u64).sum();
    let gas = calculate_initial_tx_gas(
        ctx.spec,
        tx.input(),
        tx.is_create(),
        access_list.len() as u64,
        storages,
        tx.authorization_list().map_or(0, |l| l.len() as u64),
        None,
    );
    let needed = (gas.initial_regular_gas + gas.initial_state_gas).max(gas.floor_gas);
    if tx.gas_limit() < needed {
        return Err(PoolError::IntrinsicGasTooLow { gas: tx.gas_limit(), needed });
    }
    let fee_cap = tx.max_fee_per_gas();
    let tip = tx.max_priority_fee_per_gas().unwrap_or(fee_cap);
    if tip > fee_cap {
        return Err(PoolError::TipAboveFeeCap);
    }
    if tip < ctx.min_priority_fee {
        return Err(PoolError::Underpriced { min: ctx.min_priority_fee, got: tip });
    }
    let sender = tx.recover_signer().map_err(|e| PoolError::InvalidSender(e.to_string()))?;
    if fee_cap < u128::from(ctx.base_fee) {
        return Err(PoolError::FeeCapBelowBaseFee { sender, fee_cap, base_fee: ctx.base_fee });
    }
    let account =
        state.account(&sender).map_err(|e| PoolError::State(e.to_string()))?.unwrap_or_default();
    if tx.nonce() < account.nonce {
        return Err(PoolError::NonceTooLow { sender, got: tx.nonce(), next: account.nonce });
    }
    if tx.nonce() == u64::MAX {
        return Err(PoolError::NonceMax);
    }
    let cost = max_cost(tx);
    if account.balance < cost {
        return Err(PoolError::InsufficientFunds { sender, balance: account.balance, cost });
    }
    Ok(Validated { sender, cost, account_nonce: account.nonce, balance: account.balance, size })
}

/// `gas_limit * max_fee + value (+ blob gas * max blob fee)`: the most the transaction can cost
/// (saturating: a value near 2^256 cannot wrap into an affordable cost).
pub(crate) fn max_cost(tx: &TxEnvelope) -> U256 {
    let mut cost =
        (U256::from(tx.gas_limit()) * U256::from(tx.max_fee_per_gas())).saturating_add(tx.value());
    if let Some(blob_fee) = tx.max_fee_per_blob_gas() {
        cost =
            cost.saturating_add(U256::from(tx.blob_gas_used().unwrap_or(0)) * U256::from(blob_fee));
    }
    cost
}
