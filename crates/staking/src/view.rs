//! Read-only calls into `StakeManager` over any state the node holds.

use crate::SetsError;
use alloy_primitives::{Address, TxKind};
use alloy_sol_types::SolCall;
use bttc_contracts::{STAKE_MANAGER, decode_revert};
use bttc_evm::StateProviderDatabase;
use bttc_storage::StateProvider;
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{TxEnv, result::ExecutionResult},
    database::CacheDB,
    primitives::hardfork::SpecId,
};

/// Gas for one view: far above what the largest set's `epochSet` costs.
const VIEW_GAS: u64 = 1_000_000_000;

/// Runs the view `call` on `StakeManager` over `state` (the state after block `block`, which
/// only labels errors) and decodes its return.
pub fn stake_manager_view<C: SolCall, S: StateProvider + std::fmt::Debug>(
    chain_id: u64,
    state: S,
    block: u64,
    call: &C,
) -> Result<C::Return, SetsError> {
    let mut evm = Context::mainnet()
        .with_db(CacheDB::new(StateProviderDatabase::new(state)))
        .modify_cfg_chained(|cfg| {
            cfg.chain_id = chain_id;
            cfg.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
            cfg.disable_base_fee = true;
            cfg.disable_nonce_check = true;
            cfg.disable_block_gas_limit = true;
            cfg.tx_gas_limit_cap = Some(u64::MAX);
        })
        .modify_block_chained(|b| {
            b.number = alloy_primitives::U256::from(block);
            b.gas_limit = VIEW_GAS;
        })
        .build_mainnet();
    let tx = TxEnv {
        caller: Address::ZERO,
        kind: TxKind::Call(STAKE_MANAGER),
        data: call.abi_encode().into(),
        gas_limit: VIEW_GAS,
        gas_price: 0,
        chain_id: Some(chain_id),
        ..Default::default()
    };
    let out = evm.transact(tx).map_err(|e| SetsError::View {
        call: C::SIGNATURE,
        block,
        source: Box::new(e),
    })?;
    match out.result {
        ExecutionResult::Success { output, .. } => C::abi_decode_returns(output.data())
            .map_err(|source| SetsError::Decode { call: C::SIGNATURE, block, source }),
        ExecutionResult::Revert { output, .. } => {
            Err(SetsError::Failed { call: C::SIGNATURE, block, reason: decode_revert(&output) })
        }
        ExecutionResult::Halt { reason, .. } => {
            Err(SetsError::Failed { call: C::SIGNATURE, block, reason: format!("{reason:?}") })
        }
    }
}
