//! Executing one block.

use crate::{BlockHooks, BlockInfo, ExecutionError, StateProviderDatabase};
use alloy_consensus::transaction::Recovered;
use alloy_eips::eip7685::Requests;
use alloy_eips::{
    eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
};
use alloy_evm::{
    Evm, EvmEnv, EvmFactory,
    block::{BlockExecutor, BlockExecutorFactory},
    eth::{
        EthBlockExecutionCtx, EthBlockExecutorFactory, EthEvmFactory,
        receipt_builder::AlloyReceiptBuilder,
    },
};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, B256};
use bttc_chainspec::ChainSpec;
use bttc_primitives::KECCAK_EMPTY;
use bttc_primitives::{Account, Block, Receipt};
use bttc_storage::{AccountChange, StateChanges, StateProvider, StorageChange};
use revm::database::{BundleState, State, states::bundle_state::BundleRetention};
use revm::{Database, state::AccountInfo};
use std::{borrow::Cow, sync::Arc};

/// What executing a block produced.
#[derive(Debug)]
pub struct ExecutionOutcome {
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// Gas used by the block.
    pub gas_used: u64,
    /// Blob gas used by the block.
    pub blob_gas_used: u64,
    /// EIP-7685 requests (empty before Prague).
    pub requests: Requests,
    /// State changes to commit.
    pub changes: StateChanges,
    /// Logs of the block hooks' system calls (see [`crate::BlockHooks`]).
    pub system_logs: Vec<alloy_primitives::Log>,
}

/// Everything a block's execution starts from: its EVM environment, the executor factory
/// and the execution context. The executor and the tracers (`debug_trace*`) share it so that
/// a replay runs exactly like the original execution.
#[derive(Debug)]
pub struct BlockSetup<'a> {
    /// Block and config environment.
    pub env: EvmEnv,
    /// Block executor factory (Ethereum rules, alloy receipts).
    pub factory: EthBlockExecutorFactory<AlloyReceiptBuilder, Arc<ChainSpec>, EthEvmFactory>,
    /// Per-block context: parent hash, beacon root, ommers, withdrawals.
    pub ctx: EthBlockExecutionCtx<'a>,
}

/// The [`BlockSetup`] of `block` on `spec`'s chain.
pub fn block_setup<'a>(spec: &Arc<ChainSpec>, block: &'a Block) -> BlockSetup<'a> {
    let header = &block.header;
    let env = EvmEnv::for_eth_block(
        header,
        spec.as_ref(),
        spec.chain_id(),
        spec.blob_params_at(header.timestamp),
    );
    let factory = EthBlockExecutorFactory::new(
        AlloyReceiptBuilder::default(),
        spec.clone(),
        EthEvmFactory::default(),
    );
    let ctx = EthBlockExecutionCtx {
        parent_hash: header.parent_hash,
        parent_beacon_block_root: header.parent_beacon_block_root,
        ommers: &block.body.ommers,
        withdrawals: block.body.withdrawals.as_ref().map(|w| Cow::Borrowed(w.as_slice())),
        extra_data: header.extra_data.clone(),
        tx_count_hint: Some(block.body.transactions.len()),
        slot_number: None,
    };
    BlockSetup { env, factory, ctx }
}

/// What to do with a transaction that cannot be executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxPolicy {
    /// Validating a block: any invalid transaction makes the block invalid.
    AllMustSucceed,
    /// Building a block: leave invalid transactions (bad nonce, unaffordable, no gas left in
    /// the block) out and go on.
    SkipInvalid,
}

/// The state root after some of a block's transactions.
///
/// Before Byzantium a receipt holds the state root after its transaction (EIP-658 replaced it
/// with a status), so executing such a block needs the root after every transaction. The
/// executor cannot compute roots itself (the trie lives above it); the `chain` crate hands
/// it an implementation over the block's database transaction.
pub trait PostStateRoots {
    /// The state root once `changes` (everything the block changed so far, relative to the
    /// state the block executes on) are applied.
    fn state_root(&self, changes: &StateChanges) -> Result<B256, crate::BoxError>;
}

/// Executes `block` (whose transactions were sent by `senders`) on top of `state`.
/// `roots` computes the post-transaction state roots of pre-Byzantium receipts (it is not
/// called for later blocks, which may pass `None`).
pub fn execute_block<S: StateProvider + core::fmt::Debug, H: BlockHooks>(
    spec: &Arc<ChainSpec>,
    state: S,
    block: &Block,
    senders: &[Address],
    hooks: &H,
    roots: Option<&dyn PostStateRoots>,
) -> Result<ExecutionOutcome, ExecutionError> {
    execute_block_with(spec, state, block, senders, hooks, TxPolicy::AllMustSucceed, roots)
        .map(|(o, _)| o)
}

/// Why a transaction was left out of a block being built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// It cannot execute on this state (nonce too low, unaffordable): drop it.
    Invalid(String),
    /// It may fit a later block: no gas left for it in this one, or an earlier transaction
    /// of its sender was left out (so its nonce is not next).
    Deferred(String),
}

/// [`execute_block`] with a choice of what invalid transactions do. Returns the outcome and,
/// for each transaction left out under [`TxPolicy::SkipInvalid`], its index and why.
pub fn execute_block_with<S: StateProvider + core::fmt::Debug, H: BlockHooks>(
    spec: &Arc<ChainSpec>,
    state: S,
    block: &Block,
    senders: &[Address],
    hooks: &H,
    policy: TxPolicy,
    roots: Option<&dyn PostStateRoots>,
) -> Result<(ExecutionOutcome, Vec<(usize, Skipped)>), ExecutionError> {
    let mut skipped = Vec::new();
    // Building: senders with a transaction left out (their later nonces cannot run) and the
    // gas still free in the block.
    let mut held: std::collections::HashSet<Address> = std::collections::HashSet::new();
    let mut gas_left = block.header.gas_limit;
    let txs = &block.body.transactions;
    if txs.len() != senders.len() {
        return Err(ExecutionError::SenderCount { txs: txs.len(), senders: senders.len() });
    }
    let header = &block.header;
    // Before Byzantium every receipt carries the state root after its transaction.
    let roots = if spec.is_byzantium_active_at_block(header.number) {
        None
    } else {
        Some(roots.ok_or(ExecutionError::PostStateRootsUnavailable { number: header.number })?)
    };
    let mut post_roots = Vec::new();
    let mut db = State::builder()
        .with_database_ref(StateProviderDatabase::new(state))
        .with_bundle_update()
        .build();
    let BlockSetup { env, factory, ctx } = block_setup(spec, block);
    let mut system_logs;
    let result = {
        let evm = factory.evm_factory().create_evm(&mut db, env);
        let mut executor = factory.create_executor(evm, ctx);
        executor.apply_pre_execution_changes()?;
        let mut gas_used = 0u64;
        system_logs = hooks
            .before_transactions(executor.evm_mut(), &BlockInfo { spec, block, gas_used })
            .map_err(|source| ExecutionError::Hook { hook: "before_transactions", source })?;
        for (i, (tx, sender)) in txs.iter().zip(senders).enumerate() {
            if policy == TxPolicy::SkipInvalid {
                if held.contains(sender) {
                    skipped.push((
                        i,
                        Skipped::Deferred(
                            "an earlier transaction of its sender was left out".into(),
                        ),
                    ));
                    continue;
                }
                let gas = alloy_consensus::Transaction::gas_limit(tx);
                if gas > gas_left {
                    held.insert(*sender);
                    skipped.push((
                        i,
                        Skipped::Deferred(format!("needs {gas} gas, {gas_left} left in the block")),
                    ));
                    continue;
                }
            }
            match executor.execute_transaction(Recovered::new_unchecked(tx, *sender)) {
                Ok(used) => {
                    gas_left = gas_left.saturating_sub(used.tx_gas_used());
                    gas_used = gas_used.saturating_add(used.tx_gas_used());
                    if let Some(roots) = roots {
                        let changes = changes_so_far(executor.evm_mut().db_mut());
                        let root = roots
                            .state_root(&changes)
                            .map_err(|source| ExecutionError::PostStateRoot { index: i, source })?;
                        post_roots.push(root);
                    }
                }
                Err(e) if policy == TxPolicy::SkipInvalid && e.as_validation().is_some() => {
                    held.insert(*sender);
                    skipped.push((i, Skipped::Invalid(e.to_string())));
                }
                Err(e) => return Err(e.into()),
            }
        }
        system_logs.extend(
            hooks
                .after_transactions(executor.evm_mut(), &BlockInfo { spec, block, gas_used })
                .map_err(|source| ExecutionError::Hook { hook: "after_transactions", source })?,
        );
        if spec.is_prague_active_at_timestamp(header.timestamp) {
            // EIP-7002 / EIP-7251: a block is invalid if a request contract has no code.
            for address in
                [WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS]
            {
                let code_hash = executor
                    .evm_mut()
                    .db_mut()
                    .basic(address)
                    .map_err(|e| ExecutionError::State(e.to_string()))?
                    .map(|a| a.code_hash)
                    .unwrap_or(KECCAK_EMPTY);
                if code_hash == KECCAK_EMPTY {
                    return Err(ExecutionError::SystemContractMissing { address });
                }
            }
        }
        let (_evm, result) = executor.finish()?;
        if spec.is_prague_active_at_timestamp(header.timestamp) {
            let contract =
                alloy_evm::eth::spec::EthExecutorSpec::deposit_contract_address(spec.as_ref())
                    .unwrap_or(alloy_eips::eip6110::MAINNET_DEPOSIT_CONTRACT_ADDRESS);
            crate::deposits::check_deposit_logs(contract, &result.receipts)
                .map_err(|(index, source)| ExecutionError::DepositLayout { index, source })?;
        }
        result
    };
    db.merge_transitions(BundleRetention::PlainState);
    let changes = changes_from_bundle(&db.take_bundle());
    let mut receipts = result.receipts;
    if roots.is_some() {
        // alloy-evm's receipts carry a status; before EIP-658 they carry the root instead.
        for (receipt, root) in receipts.iter_mut().zip(post_roots) {
            if let Some(r) = receipt.as_receipt_with_bloom_mut() {
                r.receipt.status = alloy_consensus::Eip658Value::PostState(root);
            }
        }
    }

    let outcome = ExecutionOutcome {
        receipts,
        gas_used: result.gas_used,
        blob_gas_used: result.blob_gas_used,
        requests: result.requests,
        changes,
        system_logs,
    };
    Ok((outcome, skipped))
}

/// Everything the block changed so far (the transitions of the transactions executed up to
/// now, not yet merged into the bundle).
fn changes_so_far<DB>(state: &State<DB>) -> StateChanges {
    let mut bundle = state.bundle_state.clone();
    if let Some(transitions) = state.transition_state.clone() {
        bundle.apply_transitions_and_create_reverts(transitions, BundleRetention::PlainState);
    }
    changes_from_bundle(&bundle)
}

/// The storage form of a revm bundle: account changes sorted by address (with their
/// originals, wipes and changed slots), new code by hash.
pub fn changes_from_bundle(bundle: &BundleState) -> StateChanges {
    let mut accounts: Vec<AccountChange> = bundle
        .state
        .iter()
        .map(|(&address, acc)| {
            let wiped = acc.was_destroyed();
            let storage = acc
                .storage
                .iter()
                .filter(|(_, s)| wiped || s.is_changed())
                .map(|(k, s)| StorageChange {
                    slot: B256::from(*k),
                    original: Some(s.previous_or_original_value),
                    value: s.present_value,
                })
                .collect();
            let to_account = |i: &AccountInfo| Account {
                nonce: i.nonce,
                balance: i.balance,
                code_hash: i.code_hash,
            };
            AccountChange {
                address,
                original: Some(acc.original_info.as_ref().map(to_account)),
                new: acc.info.as_ref().map(to_account),
                wiped,
                storage,
            }
        })
        .collect();
    accounts.sort_unstable_by_key(|a| a.address);
    // Empty code needs no entry (unknown code reads as empty); revm reports it for every
    // account the block creates.
    let mut codes: Vec<(B256, alloy_primitives::Bytes)> = bundle
        .contracts
        .iter()
        .filter(|(h, _)| **h != KECCAK_EMPTY)
        .map(|(h, c)| (*h, c.original_bytes()))
        .collect();
    codes.sort_unstable_by_key(|c| c.0);
    StateChanges { accounts, codes }
}
