//! `bttc_getValidators` and `bttc_getStake`: the staking contract's views (`StakeManager` at
//! `0x…1000`), read at a block through the same EVM and state as `eth_call`.
//!
//! Both answer `null` on a chain without the staking contract (a dev chain).

use crate::{
    RpcContext,
    call::{result_output, transact},
    context::ResolvedBlock,
    error::{RpcError, RpcResult},
};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_rpc_types_eth::{BlockId, TransactionRequest};
use alloy_sol_types::SolCall;
use bttc_contracts::{STAKE_MANAGER, stake_manager::StakeManager as SM};
use bttc_storage::{Provider, Ro, StateProvider};
use revm::context::TxEnv;
use serde::Serialize;

/// A member of the validator set that signs a block (`bttc_getValidators`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcValidator {
    /// Its id in the staking contract.
    pub id: u64,
    /// The consensus key's address (signs votes).
    pub signer: Address,
    /// The account that operates it (holds the self-stake, claims commission).
    pub operator: Address,
    /// The consensus public key, 64 bytes (x ‖ y).
    pub public_key: Bytes,
    /// Voting power in this set (stake in whole BTT when elected).
    pub power: u64,
    /// Stake now, in wei.
    pub stake: U256,
    /// Commission in basis points.
    pub commission_bps: u16,
    /// Jailed (for downtime or double signing).
    pub jailed: bool,
    /// Double-signed: never elected again.
    pub tombstoned: bool,
    /// Blocks missed in the liveness window.
    pub missed_blocks: u64,
    /// The liveness window, in blocks.
    pub signed_blocks_window: u64,
}

/// The validator set of a block (`bttc_getValidators`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcValidatorSet {
    /// The block the set signs.
    pub block_number: u64,
    /// Its epoch.
    pub epoch: u64,
    /// The members, in set order (power descending, then signer address).
    pub validators: Vec<RpcValidator>,
}

/// One delegation (`bttc_getStake`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcDelegation {
    /// The validator's id.
    pub validator_id: u64,
    /// Shares of the validator's pool.
    pub shares: U256,
    /// What the shares are worth now, in wei.
    pub value: U256,
    /// Claimable rewards, in wei (commission not included).
    pub rewards: U256,
}

/// One unbonding entry (`bttc_getStake`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcUnbonding {
    /// The validator it left.
    pub validator_id: u64,
    /// Wei to be paid (after any slash).
    pub amount: U256,
    /// The block it started at.
    pub created_at: u64,
    /// The first block `withdraw` pays it.
    pub release_at: u64,
}

/// An account's stake (`bttc_getStake`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcStake {
    /// The account.
    pub address: Address,
    /// The validator it operates, if any.
    pub operated_validator: Option<u64>,
    /// Its delegations with shares left.
    pub delegations: Vec<RpcDelegation>,
    /// Its unbonding entries not withdrawn yet.
    pub unbonding: Vec<RpcUnbonding>,
}

/// Calls on one block's state.
struct Views<'a> {
    ctx: &'a RpcContext,
    ro: &'a Provider<Ro>,
    block: ResolvedBlock,
}

impl Views<'_> {
    fn call<C: SolCall>(&self, call: C) -> RpcResult<C::Return> {
        let req = TransactionRequest::default();
        let mut db = self.ctx.call_db(self.ro, self.block.number)?;
        let env = self.ctx.call_env(&self.block.header, &req);
        let tx = TxEnv {
            caller: Address::ZERO,
            kind: TxKind::Call(STAKE_MANAGER),
            data: call.abi_encode().into(),
            gas_limit: self.ctx.default_call_gas(&env),
            gas_price: 0,
            chain_id: Some(env.cfg_env.chain_id),
            ..Default::default()
        };
        let out = result_output(transact(&mut db, env, tx)?.result)?;
        C::abi_decode_returns(&out).map_err(|e| {
            RpcError::Internal(format!("StakeManager {} returned bad data: {e}", C::SIGNATURE))
        })
    }
}

impl RpcContext {
    /// The views of block `id`, or `None` if StakeManager has no code there.
    fn staking_views<'a>(
        &'a self,
        ro: &'a Provider<Ro>,
        id: BlockId,
    ) -> RpcResult<Option<Views<'a>>> {
        let block = Self::resolve_required(ro, id)?;
        let state = crate::context::StateAt::new(ro, block.number)?;
        let deployed = state
            .account(&STAKE_MANAGER)?
            .is_some_and(|a| a.code_hash != bttc_primitives::KECCAK_EMPTY);
        Ok(deployed.then_some(Views { ctx: self, ro, block }))
    }

    /// `bttc_getValidators(block)`: the set that signs `block`, with each member's state at it.
    pub(crate) fn validators(&self, id: BlockId) -> RpcResult<Option<RpcValidatorSet>> {
        let ro = self.ro()?;
        let Some(v) = self.staking_views(&ro, id)? else { return Ok(None) };
        let epoch = v.call(SM::epochOfCall { height: v.block.number })?;
        let members = v.call(SM::epochSetCall { epoch })?;
        let mut validators = Vec::with_capacity(members.len());
        for m in members {
            let record = v.call(SM::getValidatorCall { id: m.id })?;
            let live = v.call(SM::livenessCall { id: m.id })?;
            validators.push(RpcValidator {
                id: m.id,
                signer: m.signer,
                operator: m.operator,
                public_key: m.pubkey,
                power: m.power,
                stake: record.stake,
                commission_bps: record.commissionBps,
                jailed: record.jailed,
                tombstoned: record.tombstoned,
                missed_blocks: live.missed,
                signed_blocks_window: live.window,
            });
        }
        Ok(Some(RpcValidatorSet { block_number: v.block.number, epoch, validators }))
    }

    /// `bttc_getStake(address, block)`: `address`'s delegations and unbonding entries.
    pub(crate) fn stake(&self, address: Address, id: BlockId) -> RpcResult<Option<RpcStake>> {
        let ro = self.ro()?;
        let Some(v) = self.staking_views(&ro, id)? else { return Ok(None) };
        let count = v.call(SM::validatorCountCall {})?;
        let mut delegations = Vec::new();
        for validator_id in 1..=count {
            let d = v.call(SM::delegationCall { id: validator_id, delegator: address })?;
            if !d.shares.is_zero() {
                delegations.push(RpcDelegation {
                    validator_id,
                    shares: d.shares,
                    value: d.value,
                    rewards: d.rewards,
                });
            }
        }
        let unbonding = v
            .call(SM::unbondingOfCall { delegator: address })?
            .into_iter()
            .map(|u| RpcUnbonding {
                validator_id: u.validator,
                amount: u.amount,
                created_at: u.createdAt,
                release_at: u.releaseAt,
            })
            .collect();
        let operated = v.call(SM::validatorOfOperatorCall::new((address,)))?;
        Ok(Some(RpcStake {
            address,
            operated_validator: (operated != 0).then_some(operated),
            delegations,
            unbonding,
        }))
    }
}
