//! `bttc_getValidators`, `bttc_getStake` and `bttc_getProposals`: the staking contracts' views
//! (`StakeManager` at `0x…1000`, `Governance` at `0x…1002`), read at a block through the same
//! EVM and state as `eth_call`.
//!
//! They answer `null` on a chain without the staking contracts (a dev chain).

use crate::{
    RpcContext,
    call::{CallDb, result_output, transact},
    context::ResolvedBlock,
    error::{RpcError, RpcResult},
};
use alloy_evm::EvmEnv;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_rpc_types_eth::{BlockId, TransactionRequest};
use alloy_sol_types::SolCall;
use bttc_contracts::{
    GOVERNANCE, STAKE_MANAGER, governance::Governance as G, stake_manager::StakeManager as SM,
};
use bttc_storage::{Provider, Ro};
use revm::DatabaseRef;
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

/// A governance proposal (`bttc_getProposals`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcProposal {
    /// Its id.
    pub id: u64,
    /// Who proposed it.
    pub proposer: Address,
    /// Its deposit, in wei.
    pub deposit: U256,
    /// The last block votes are accepted.
    pub voting_ends: u64,
    /// `voting`, `passed`, `rejected`, `rejectedBurned` or `failed`.
    pub status: &'static str,
    /// What it proposes.
    pub description: String,
    /// The parameters it would set (as in `config.bttc`, amounts in wei).
    pub params: serde_json::Value,
    /// Stake that voted Yes / No / NoWithVeto / Abstain and all bonded stake, once finalized.
    pub tally: Option<serde_json::Value>,
}

/// Calls on one block's state, sharing one database: what one call reads, the next finds
/// cached.
struct Views<'a> {
    ctx: &'a RpcContext,
    block: ResolvedBlock,
    db: CallDb<'a>,
    env: EvmEnv,
}

impl Views<'_> {
    fn call<C: SolCall>(&mut self, call: C) -> RpcResult<C::Return> {
        self.call_to(STAKE_MANAGER, call)
    }

    fn call_to<C: SolCall>(&mut self, to: Address, call: C) -> RpcResult<C::Return> {
        let tx = TxEnv {
            caller: Address::ZERO,
            kind: TxKind::Call(to),
            data: call.abi_encode().into(),
            gas_limit: self.ctx.default_call_gas(&self.env),
            gas_price: 0,
            chain_id: Some(self.env.cfg_env.chain_id),
            ..Default::default()
        };
        let out = result_output(transact(&mut self.db, self.env.clone(), tx)?.result)?;
        C::abi_decode_returns(&out).map_err(|e| {
            RpcError::Internal(format!("{to} {} returned bad data: {e}", C::SIGNATURE))
        })
    }

    /// Whether `address` holds code at this block.
    fn has_code(&self, address: Address) -> RpcResult<bool> {
        Ok(self
            .db
            .basic_ref(address)
            .map_err(RpcError::internal)?
            .is_some_and(|a| a.code_hash != bttc_primitives::KECCAK_EMPTY))
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
        let db = self.call_db(ro, block.number)?;
        let env = self.call_env(&block.header, &TransactionRequest::default());
        let views = Views { ctx: self, block, db, env };
        Ok(views.has_code(STAKE_MANAGER)?.then_some(views))
    }

    /// `bttc_getValidators(block)`: the set that signs `block`, with each member's state at it.
    pub(crate) fn validators(&self, id: BlockId) -> RpcResult<Option<RpcValidatorSet>> {
        let ro = self.ro()?;
        let Some(mut v) = self.staking_views(&ro, id)? else { return Ok(None) };
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
        let Some(mut v) = self.staking_views(&ro, id)? else { return Ok(None) };
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

impl RpcContext {
    /// `bttc_getProposals(block)`: every governance proposal, newest last.
    pub(crate) fn proposals(&self, id: BlockId) -> RpcResult<Option<Vec<RpcProposal>>> {
        let ro = self.ro()?;
        let Some(mut v) = self.staking_views(&ro, id)? else { return Ok(None) };
        if !v.has_code(GOVERNANCE)? {
            return Ok(None);
        }
        let count: u64 = v.call_to(GOVERNANCE, G::proposalCountCall {})?.saturating_to();
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let p = v.call_to(GOVERNANCE, G::getProposalCall { id: U256::from(i) })?;
            let status = match p.status {
                1 => "voting",
                2 => "passed",
                3 => "rejected",
                4 => "rejectedBurned",
                5 => "failed",
                _ => "unknown",
            };
            let tally = if p.status > 1 {
                let t = v.call_to(GOVERNANCE, G::getTallyCall { id: U256::from(i) })?;
                Some(serde_json::json!({
                    "yes": t.yes, "no": t.no, "noWithVeto": t.veto, "abstain": t.abstain, "bonded": t.bonded,
                }))
            } else {
                None
            };
            let q = &p.params;
            out.push(RpcProposal {
                id: i,
                proposer: p.proposer,
                deposit: p.deposit,
                voting_ends: p.votingEnds,
                status,
                description: p.description,
                params: serde_json::json!({
                    "minSelfStake": q.minSelfStake, "minDelegation": q.minDelegation,
                    "maxValidators": q.maxValidators, "minValidators": q.minValidators,
                    "epochLength": q.epochLength, "unbondingEpochs": q.unbondingEpochs,
                    "maxCommissionBps": q.maxCommissionBps,
                    "maxCommissionChangeBps": q.maxCommissionChangeBps,
                    "stakingApyBps": q.stakingApyBps, "blocksPerYear": q.blocksPerYear,
                    "signedBlocksWindow": q.signedBlocksWindow,
                    "downtimeJailBlocks": q.downtimeJailBlocks,
                    "downtimeSlashBps": q.downtimeSlashBps,
                    "doubleSignSlashBps": q.doubleSignSlashBps,
                    "evidenceMaxAge": q.evidenceMaxAge, "reporterRewardBps": q.reporterRewardBps,
                }),
                tally,
            });
        }
        Ok(Some(out))
    }
}
