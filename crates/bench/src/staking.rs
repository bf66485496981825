//! What `StakeManager.blockEnd` costs per block: gas and wall time of the system call on an
//! ordinary block and on an epoch's last block (election), for a given number of validators.
//!
//! The contract runs as the node will run it: its genesis account from
//! `bttc_contracts::stake_manager_account`, `blockEnd` through alloy-evm's
//! `Evm::transact_system_call` on the Ethereum EVM, state committed after each call. State is
//! an in-memory `CacheDB` (no MDBX reads), so the times are the EVM's share of the cost.

use alloy_evm::{Evm, EvmEnv, EvmFactory, eth::EthEvmFactory};
use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use bttc_chainspec::BttcParams;
use bttc_contracts::{
    GenesisStaker, STAKE_MANAGER, SYSTEM_CALLER, params_from, stake_manager::StakeManager,
    stake_manager_account,
};
use revm::{
    DatabaseCommit,
    context::result::ExecutionResult,
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
    state::{AccountInfo, Bytecode},
};
use std::time::{Duration, Instant};

/// Gas and time of one kind of call.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallCost {
    /// Calls measured.
    pub calls: usize,
    /// Mean gas per call.
    pub gas: u64,
    /// Median wall time per call.
    pub median: Duration,
}

/// The costs for one validator count.
#[derive(Debug, Clone, Copy)]
pub struct StakingCost {
    /// Validators in the set.
    pub validators: usize,
    /// `blockEnd` on ordinary blocks (rewards and liveness for every member).
    pub block_end: CallCost,
    /// `blockEnd` on an epoch's last block (the same plus the election).
    pub epoch_end: CallCost,
}

fn wei(btt: u64) -> U256 {
    U256::from(btt) * U256::from(10u64).pow(U256::from(18))
}

/// Runs `epochs` epochs of 64 blocks with `n` validators (devnet parameters), every member signing every block
/// and fees in every block, and times each `blockEnd`.
pub fn measure(n: usize, epochs: u64) -> eyre::Result<StakingCost> {
    let chain_id = 31_337_199;
    let params = params_from(&BttcParams { max_validators: n as u32, ..BttcParams::devnet() })?;
    let stakers: Vec<GenesisStaker> = (0..n)
        .map(|i| {
            let key = k256::ecdsa::SigningKey::from_bytes(&[(i + 1) as u8; 32].into())
                .expect("a valid scalar");
            let point = key.verifying_key().to_encoded_point(false);
            GenesisStaker {
                operator: Address::with_last_byte(i as u8 + 1),
                pubkey: point.as_bytes()[1..].to_vec().into(),
                stake: wei(1_000_000 + 1_000 * i as u64),
                commission_bps: 500,
            }
        })
        .collect();
    let account = stake_manager_account(chain_id, &params, &stakers)?;
    let mut db = CacheDB::new(EmptyDB::default());
    let code = Bytecode::new_raw(account.code.clone().unwrap_or_default());
    db.insert_account_info(
        STAKE_MANAGER,
        AccountInfo {
            balance: account.balance,
            nonce: 1,
            code_hash: code.hash_slow(),
            code: Some(code),
            ..Default::default()
        },
    );
    for (k, v) in account.storage.unwrap_or_default() {
        db.insert_account_storage(STAKE_MANAGER, k.into(), v.into())?;
    }
    let bitmap = if n == 256 { U256::MAX } else { (U256::from(1) << n) - U256::from(1) };
    let fees = U256::from(21_000u64 * 1_000 * 1_000_000_000);
    let (mut ordinary, mut epoch_end) = (Vec::new(), Vec::new());
    for number in 1..=epochs * 64 {
        let mut env: EvmEnv = EvmEnv::default();
        env.cfg_env.chain_id = chain_id;
        env.cfg_env.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
        env.block_env.number = U256::from(number);
        env.block_env.timestamp = U256::from(number);
        env.block_env.gas_limit = 30_000_000;
        let info =
            db.cache.accounts.get(&STAKE_MANAGER).map(|a| a.info.clone()).unwrap_or_default();
        db.insert_account_info(STAKE_MANAGER, AccountInfo { balance: info.balance + fees, ..info });
        let data = StakeManager::blockEndCall { signedBitmap: bitmap, fees }.abi_encode();
        let mut evm = EthEvmFactory::default().create_evm(&mut db, env);
        let t = Instant::now();
        let out = evm.transact_system_call(SYSTEM_CALLER, STAKE_MANAGER, data.into())?;
        let elapsed = t.elapsed();
        let gas = match out.result {
            ref ok @ ExecutionResult::Success { .. } => ok.tx_gas_used(),
            other => eyre::bail!("blockEnd failed at block {number}: {other:?}"),
        };
        evm.db_mut().commit(out.state);
        if number % 64 == 63 {
            epoch_end.push((gas, elapsed))
        } else {
            ordinary.push((gas, elapsed))
        }
    }
    Ok(StakingCost {
        validators: n,
        block_end: summarize(&ordinary),
        epoch_end: summarize(&epoch_end),
    })
}

fn summarize(calls: &[(u64, Duration)]) -> CallCost {
    if calls.is_empty() {
        return CallCost::default();
    }
    let mut times: Vec<Duration> = calls.iter().map(|c| c.1).collect();
    times.sort();
    CallCost {
        calls: calls.len(),
        gas: calls.iter().map(|c| c.0).sum::<u64>() / calls.len() as u64,
        median: times[times.len() / 2],
    }
}
