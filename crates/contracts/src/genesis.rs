//! The genesis account of `StakeManager`: its constructor, run once in revm.
//!
//! The constructor takes the parameters and the genesis validators and lays out storage; the
//! resulting runtime code and storage become the `alloc` entry at [`crate::STAKE_MANAGER`], with the
//! validators' stakes as its balance. Nothing here writes a storage slot by hand, so a change
//! to the contract cannot leave the genesis behind.

use crate::stake_manager::{Params, StakeManager};
use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_sol_types::{SolConstructor, SolInterface};
use bttc_chainspec::{BttcParams, GenesisValidator};
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{
        TxEnv,
        result::{EVMError, ExecutionResult, HaltReason},
    },
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
};
use std::{collections::BTreeMap, convert::Infallible};

/// A genesis validator as `StakeManager` registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisStaker {
    /// The account that holds the self-stake and operates the validator.
    pub operator: Address,
    /// The consensus public key, 64 bytes (x ‖ y, uncompressed without the `0x04` prefix).
    pub pubkey: Bytes,
    /// Self-stake in wei.
    pub stake: U256,
    /// Commission in basis points.
    pub commission_bps: u16,
}

/// The genesis account could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The constructor reverted: the parameters or validators break one of its rules.
    #[error("StakeManager constructor reverted: {reason}")]
    Reverted {
        /// The decoded revert (custom error name and values, or the raw data).
        reason: String,
    },
    /// The constructor halted (out of gas, invalid opcode).
    #[error("StakeManager constructor halted: {0:?}")]
    Halted(HaltReason),
    /// revm refused the deployment transaction.
    #[error("StakeManager constructor could not run")]
    Evm(#[from] EVMError<Infallible>),
    /// The deployment succeeded but left no contract behind (revm broke its contract).
    #[error("StakeManager constructor returned no account")]
    NoAccount,
    /// The stakes add up past 2^256.
    #[error("genesis stakes overflow a 256-bit sum")]
    StakeOverflow,
    /// A `config.bttc` value does not fit the contract's field.
    #[error("config.bttc.{field} = {got} does not fit (at most {max})")]
    ParamRange {
        /// The field.
        field: &'static str,
        /// Its value.
        got: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A genesis validator's public key is not a secp256k1 key.
    #[error("genesis validator {address}: public key is not a valid secp256k1 key")]
    PublicKey {
        /// The validator's address.
        address: Address,
    },
}

/// Wei in one BTT.
const WEI_PER_BTT: u64 = 1_000_000_000_000_000_000;

fn btt(n: u64) -> U256 {
    U256::from(n) * U256::from(WEI_PER_BTT)
}

/// The contract's parameters from the chain spec's `config.bttc` section.
pub fn params_from(b: &BttcParams) -> Result<Params, GenesisError> {
    let u32_of = |field, v: u32, max: u32| {
        if v > max {
            Err(GenesisError::ParamRange { field, got: v.into(), max: max.into() })
        } else {
            Ok(v)
        }
    };
    Ok(Params {
        minSelfStake: btt(b.min_self_stake),
        minDelegation: btt(b.min_delegation),
        maxValidators: u32_of("maxValidators", b.max_validators, 256)?,
        minValidators: b.min_validators,
        epochLength: b.epoch_length,
        unbondingEpochs: b.unbonding_epochs(),
        maxCommissionBps: b.max_commission_bps,
        maxCommissionChangeBps: b.max_commission_change_bps,
        stakingApyBps: b.staking_apy_bps,
        blocksPerYear: b.blocks_per_year(),
        signedBlocksWindow: b.signed_blocks_window,
        downtimeJailBlocks: b.downtime_jail_blocks,
        downtimeSlashBps: b.downtime_slash_bps,
        doubleSignSlashBps: b.double_sign_slash_bps,
        evidenceMaxAge: b.evidence_max_age,
        reporterRewardBps: b.reporter_reward_bps,
    })
}

/// The 64-byte public key (x ‖ y) of a SEC1-encoded key (33 or 65 bytes).
fn raw_pubkey(v: &GenesisValidator) -> Result<Bytes, GenesisError> {
    let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(&v.public_key)
        .map_err(|_| GenesisError::PublicKey { address: v.address })?;
    let point = key.to_encoded_point(false);
    Ok(Bytes::copy_from_slice(&point.as_bytes()[1..]))
}

/// The genesis accounts of the staking system for `bttc`: `StakeManager` at
/// [`crate::STAKE_MANAGER`] holding each genesis validator's stake (operated by
/// `operator`, or by the validator's own address), the BTT wrapper at
/// [`crate::BTT_TOKEN`], `Governance` at [`crate::GOVERNANCE`], `StateReceiver` at
/// [`crate::STATE_RECEIVER`] and `ChildChainManager` at [`crate::CHILD_CHAIN_MANAGER`].
pub fn staking_alloc(
    chain_id: u64,
    bttc: &BttcParams,
) -> Result<BTreeMap<Address, GenesisAccount>, GenesisError> {
    let stakers = bttc
        .validators
        .iter()
        .map(|v| {
            Ok(GenesisStaker {
                operator: v.operator.unwrap_or(v.address),
                pubkey: raw_pubkey(v)?,
                stake: btt(v.stake),
                commission_bps: 0,
            })
        })
        .collect::<Result<Vec<_>, GenesisError>>()?;
    let mut alloc = BTreeMap::new();
    alloc.insert(
        crate::STAKE_MANAGER,
        stake_manager_account(chain_id, &params_from(bttc)?, &stakers)?,
    );
    alloc.insert(crate::BTT_TOKEN, btt_token_account(U256::ZERO));
    alloc.insert(crate::GOVERNANCE, governance_account(bttc.governance_voting_period));
    alloc.insert(crate::STATE_RECEIVER, state_receiver_account());
    alloc.insert(crate::CHILD_CHAIN_MANAGER, child_chain_manager_account());
    Ok(alloc)
}

/// `ChildChainManager`'s genesis account: its runtime code (no constructor state).
pub fn child_chain_manager_account() -> GenesisAccount {
    GenesisAccount {
        code: Some(crate::bridge::ChildChainManager::DEPLOYED_BYTECODE.clone()),
        ..Default::default()
    }
}

/// `StateReceiver`'s genesis account: its runtime code (no constructor state).
pub fn state_receiver_account() -> GenesisAccount {
    GenesisAccount {
        code: Some(crate::state_sync::StateReceiver::DEPLOYED_BYTECODE.clone()),
        ..Default::default()
    }
}

/// The slot where `Governance` reads its voting period
/// (`keccak256("bttc.governance.votingPeriod")`).
pub fn governance_voting_period_slot() -> B256 {
    alloy_primitives::keccak256("bttc.governance.votingPeriod")
}

/// `Governance`'s genesis account: its runtime code (it keeps its rules in constants) and
/// the voting period, in blocks, in its own slot (zero means the contract's default, 256).
pub fn governance_account(voting_period: u64) -> GenesisAccount {
    let storage = (voting_period != 0).then(|| {
        BTreeMap::from([(governance_voting_period_slot(), B256::from(U256::from(voting_period)))])
    });
    GenesisAccount {
        balance: U256::ZERO,
        nonce: Some(1),
        code: Some(crate::governance::Governance::DEPLOYED_BYTECODE.clone()),
        storage,
        private_key: None,
    }
}

/// The BTT wrapper's genesis account, holding `reserve` wei (the bridge's reserve; zero until
/// the bridge exists).
pub fn btt_token_account(reserve: U256) -> GenesisAccount {
    GenesisAccount {
        balance: reserve,
        nonce: Some(1),
        code: Some(crate::btt::BTT::DEPLOYED_BYTECODE.clone()),
        storage: None,
        private_key: None,
    }
}

/// Gas for the constructor: generous, since it runs once and off chain (about 250k per
/// validator).
const CONSTRUCTOR_GAS: u64 = 4_000_000_000;

/// Runs `StakeManager`'s constructor with `params` and `stakers` and returns the account to put
/// at [`crate::STAKE_MANAGER`] in the genesis (runtime code, storage, and the stakes as balance).
pub fn stake_manager_account(
    chain_id: u64,
    params: &Params,
    stakers: &[GenesisStaker],
) -> Result<GenesisAccount, GenesisError> {
    let args = StakeManager::constructorCall {
        p: params.clone(),
        operators: stakers.iter().map(|s| s.operator).collect(),
        pubkeys: stakers.iter().map(|s| s.pubkey.clone()).collect(),
        stakes: stakers.iter().map(|s| s.stake).collect(),
        commissions: stakers.iter().map(|s| s.commission_bps).collect(),
    };
    let balance = stakers
        .iter()
        .try_fold(U256::ZERO, |acc, s| acc.checked_add(s.stake))
        .ok_or(GenesisError::StakeOverflow)?;
    let mut init = StakeManager::BYTECODE.to_vec();
    init.extend_from_slice(&args.abi_encode());
    let mut account = deployed_account(chain_id, init)?;
    account.balance = balance;
    Ok(account)
}

/// The account a contract's creation code `init` (constructor arguments appended) leaves
/// behind: its runtime code and storage, nonce 1, no balance. The constructor runs in revm
/// (Prague rules, no code size limit), so storage is laid out by the compiler.
pub fn deployed_account(chain_id: u64, init: Vec<u8>) -> Result<GenesisAccount, GenesisError> {
    let mut evm = Context::mainnet()
        .with_db(CacheDB::<EmptyDB>::default())
        .modify_cfg_chained(|cfg| {
            cfg.chain_id = chain_id;
            cfg.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
            cfg.disable_base_fee = true;
            cfg.limit_contract_code_size = Some(usize::MAX);
        })
        .modify_block_chained(|b| b.gas_limit = CONSTRUCTOR_GAS)
        .build_mainnet();
    let tx = TxEnv {
        caller: Address::ZERO,
        kind: TxKind::Create,
        data: init.into(),
        gas_limit: CONSTRUCTOR_GAS,
        gas_price: 0,
        chain_id: Some(chain_id),
        ..Default::default()
    };
    let out = evm.transact(tx)?;
    let created = match out.result {
        ExecutionResult::Success { output, .. } => output.address().copied(),
        ExecutionResult::Revert { output, .. } => {
            return Err(GenesisError::Reverted { reason: decode_revert(&output) });
        }
        ExecutionResult::Halt { reason, .. } => {
            return Err(GenesisError::Halted(reason));
        }
    };
    let account = created.and_then(|a| out.state.get(&a)).ok_or(GenesisError::NoAccount)?;
    let storage: BTreeMap<B256, B256> = account
        .storage
        .iter()
        .filter(|(_, slot)| !slot.present_value.is_zero())
        .map(|(k, slot)| (B256::from(*k), B256::from(slot.present_value)))
        .collect();
    let code = account.info.code.as_ref().map(|c| c.original_bytes()).unwrap_or_default();
    Ok(GenesisAccount {
        balance: U256::ZERO,
        nonce: Some(1),
        code: Some(code),
        storage: Some(storage),
        private_key: None,
    })
}

/// A revert's data as a system contract's custom error (`Name { field: value, .. }`), a
/// `require` message, or hex.
pub fn decode_revert(output: &[u8]) -> String {
    if let Ok(e) = StakeManager::StakeManagerErrors::abi_decode(output) {
        return format!("{e:?}");
    }
    if let Ok(e) = crate::btt::BTT::BTTErrors::abi_decode(output) {
        return format!("{e:?}");
    }
    if let Ok(e) = crate::governance::Governance::GovernanceErrors::abi_decode(output) {
        return format!("{e:?}");
    }
    if let Ok(e) = crate::root_chain::RootChain::RootChainErrors::abi_decode(output) {
        return format!("{e:?}");
    }
    if let Ok(e) = crate::bridge::RootChainManager::RootChainManagerErrors::abi_decode(output) {
        return format!("{e:?}");
    }
    if let Ok(e) = crate::bridge::ERC20Predicate::ERC20PredicateErrors::abi_decode(output) {
        return format!("{e:?}");
    }
    if let Ok(e) = crate::bridge::ChildERC20::ChildERC20Errors::abi_decode(output) {
        return format!("{e:?}");
    }
    if let Some(msg) = alloy_sol_types::decode_revert_reason(output) {
        return msg;
    }
    format!("0x{}", alloy_primitives::hex::encode(output))
}
