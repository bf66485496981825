//! The end-of-block system call into `StakeManager`.

use crate::StakingError;
use alloy_evm::{Evm, block::StateDB};
use alloy_primitives::{Address, U256, map::HashMap};
use alloy_sol_types::SolCall;
use bttc_contracts::{STAKE_MANAGER, SYSTEM_CALLER, decode_revert, stake_manager::StakeManager};
use bttc_evm::{BlockHooks, BlockInfo, BoxError};
use bttc_primitives::Block;
use revm::{DatabaseCommit, context::result::ExecutionResult, state::Account};
use tracing::{debug, error};

/// Who signed a block's parent: bit *i* set when member *i* of the parent's validator set
/// signed its commit.
pub trait SignersSource {
    /// The bitmap for `block`'s parent.
    fn signed_bitmap(&self, block: &Block) -> Result<U256, BoxError>;

    /// The double-sign evidence calls `block` carries (none unless the source reads them).
    fn evidence(&self, _block: &Block) -> Vec<alloy_primitives::Bytes> {
        Vec::new()
    }

    /// The root-chain records `block` delivers (none unless the source reads them).
    fn state_syncs(&self, _block: &Block) -> Vec<bttc_primitives::StateSyncRecord> {
        Vec::new()
    }
}

/// Every member of a set of `n` signed (the bitmap with the low `n` bits set).
#[derive(Debug, Clone, Copy)]
pub struct AllSigned(pub usize);

impl SignersSource for AllSigned {
    fn signed_bitmap(&self, _block: &Block) -> Result<U256, BoxError> {
        Ok(if self.0 >= 256 { U256::MAX } else { (U256::from(1) << self.0) - U256::from(1) })
    }
}

/// [`BlockHooks`] that run `StakeManager.blockEnd` after every block's transactions.
///
/// They act only on bttc chains (`config.bttc` in the genesis) whose state has code at
/// [`STAKE_MANAGER`]; on any other chain (Ethereum's tests, a dev chain without the staking
/// contracts) they do nothing, so one node type runs every chain.
#[derive(Debug, Clone, Default)]
pub struct StakingHooks<S> {
    signers: S,
}

impl<S: SignersSource> StakingHooks<S> {
    /// Hooks that take the signer bitmap from `signers`.
    pub const fn new(signers: S) -> Self {
        Self { signers }
    }
}

impl<S: SignersSource> BlockHooks for StakingHooks<S> {
    fn before_transactions<E: Evm<DB: StateDB>>(
        &self,
        evm: &mut E,
        info: &BlockInfo<'_>,
    ) -> Result<Vec<alloy_primitives::Log>, BoxError> {
        if !info.spec.is_bttc() {
            return Ok(Vec::new());
        }
        let records = self.signers.state_syncs(info.block);
        if records.is_empty() || !has_code(evm.db_mut(), bttc_contracts::STATE_RECEIVER)? {
            return Ok(Vec::new());
        }
        crate::state_sync::deliver(evm, info.block.header.number, &records)
    }

    fn after_transactions<E: Evm<DB: StateDB>>(
        &self,
        evm: &mut E,
        info: &BlockInfo<'_>,
    ) -> Result<Vec<alloy_primitives::Log>, BoxError> {
        if !info.spec.is_bttc() || !has_code(evm.db_mut(), STAKE_MANAGER)? {
            return Ok(Vec::new());
        }
        let number = info.block.header.number;
        let base_fee = info.block.header.base_fee_per_gas.unwrap_or_default();
        // What plain Ethereum burns goes to the stakers.
        let fees = U256::from(info.gas_used) * U256::from(base_fee);
        let bitmap = self
            .signers
            .signed_bitmap(info.block)
            .map_err(|source| StakingError::Signers { number, source })?;
        for call in self.signers.evidence(info.block) {
            submit_evidence(evm, number, call)?;
        }
        let data = StakeManager::blockEndCall { signedBitmap: bitmap, fees }.abi_encode();
        let out = evm
            .transact_system_call(SYSTEM_CALLER, STAKE_MANAGER, data.into())
            .map_err(|e| StakingError::Evm { number, source: Box::new(e) })?;
        match out.result {
            ExecutionResult::Success { output, .. } => {
                let minted = match StakeManager::blockEndCall::abi_decode_returns(output.data()) {
                    Ok(m) => m,
                    Err(e) => {
                        error!(target: "bttc::staking", number, error = %e, "blockEnd returned undecodable data; its changes are dropped");
                        return Ok(Vec::new());
                    }
                };
                evm.db_mut().commit(out.state);
                credit(evm.db_mut(), STAKE_MANAGER, fees.saturating_add(minted)).map_err(
                    |source| StakingError::Credit { number, amount: fees + minted, source },
                )?;
                debug!(target: "bttc::staking", number, %fees, %minted, "blockEnd");
            }
            ExecutionResult::Revert { output, .. } => {
                error!(target: "bttc::staking", number, reason = %decode_revert(&output), "blockEnd reverted; the block goes on without it (fees burned, no issuance, previous set kept)");
            }
            ExecutionResult::Halt { reason, .. } => {
                error!(target: "bttc::staking", number, ?reason, "blockEnd halted; the block goes on without it (fees burned, no issuance, previous set kept)");
            }
        }
        // blockEnd's own events (rewards, elections) stay internal: StakeManager's views
        // and bttc_getStake show the state.
        Ok(Vec::new())
    }
}

/// Runs one evidence call the block carries as a system call; a refused one (already
/// punished, too old, bad signatures) changes nothing. Calls that are not evidence never run.
fn submit_evidence<E: Evm<DB: StateDB>>(
    evm: &mut E,
    number: u64,
    call: alloy_primitives::Bytes,
) -> Result<(), BoxError> {
    let Some(height) = crate::evidence::evidence_height(&call) else {
        error!(target: "bttc::staking", number, "a LastCommit evidence entry is not an evidence call; skipped");
        return Ok(());
    };
    let out = evm
        .transact_system_call(SYSTEM_CALLER, STAKE_MANAGER, call)
        .map_err(|e| StakingError::Evm { number, source: Box::new(e) })?;
    match out.result {
        ExecutionResult::Success { .. } => {
            evm.db_mut().commit(out.state);
            tracing::warn!(target: "bttc::staking", number, height, "double-sign evidence applied: validator slashed and tombstoned");
        }
        ExecutionResult::Revert { output, .. } => {
            tracing::info!(target: "bttc::staking", number, height, reason = %decode_revert(&output), "evidence refused by StakeManager");
        }
        ExecutionResult::Halt { reason, .. } => {
            tracing::info!(target: "bttc::staking", number, height, ?reason, "evidence call halted");
        }
    }
    Ok(())
}

/// The hooks every node runs: `blockEnd` with the signers from each block's LastCommit.
pub type NodeHooks = StakingHooks<LastCommitSigners>;

/// Whether `who` has code in the block's state.
fn has_code<D: StateDB>(db: &mut D, who: Address) -> Result<bool, BoxError> {
    let info = db.basic(who).map_err(|e| -> BoxError { Box::new(e) })?;
    Ok(info.is_some_and(|a| !a.is_empty_code_hash()))
}

/// Adds `amount` wei to `who`'s balance through the block's state.
fn credit<D: StateDB>(db: &mut D, who: Address, amount: U256) -> Result<(), BoxError> {
    if amount.is_zero() {
        return Ok(());
    }
    let info = db.basic(who).map_err(|e| -> BoxError { Box::new(e) })?.unwrap_or_default();
    let mut account = Account::from(info);
    account.info.balance = account.info.balance.saturating_add(amount);
    account.mark_touch();
    db.commit(HashMap::from_iter([(who, account)]));
    Ok(())
}

/// The signer bitmap from the block's own LastCommit (its `extraData`, see
/// [`bttc_primitives::LastCommit`]). A block without one (the first after genesis) has no
/// signers. One that does not decode has none either: validators refuse such a block before
/// it is decided, so a decided block never hits that case, and every node reads it the same.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastCommitSigners;

/// The block's LastCommit, if it carries a decodable one.
fn last_commit(block: &Block) -> Option<bttc_primitives::LastCommit> {
    bttc_primitives::LastCommit::decode(&block.header.extra_data).ok().flatten()
}

impl SignersSource for LastCommitSigners {
    fn state_syncs(&self, block: &Block) -> Vec<bttc_primitives::StateSyncRecord> {
        last_commit(block).map(|c| c.state_syncs).unwrap_or_default()
    }

    fn evidence(&self, block: &Block) -> Vec<alloy_primitives::Bytes> {
        last_commit(block).map(|c| c.evidence).unwrap_or_default()
    }

    fn signed_bitmap(&self, block: &Block) -> Result<U256, BoxError> {
        Ok(match bttc_primitives::LastCommit::decode(&block.header.extra_data) {
            Ok(Some(c)) => c.signers,
            Ok(None) => U256::ZERO,
            Err(e) => {
                error!(target: "bttc::staking", number = block.header.number, error = %e, "undecodable LastCommit: no signers counted");
                U256::ZERO
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bttc_primitives::LastCommit;

    fn block(extra: alloy_primitives::Bytes) -> Block {
        let mut b = Block::default();
        b.header.number = 5;
        b.header.extra_data = extra;
        b
    }

    #[test]
    fn the_bitmap_comes_from_the_blocks_last_commit() {
        let commit = LastCommit {
            round: 1,
            signers: U256::from(0b101),
            signatures: vec![[7; 65]; 2],
            evidence: Vec::new(),
            state_syncs: Vec::new(),
        };
        let s = LastCommitSigners;
        assert_eq!(s.signed_bitmap(&block(commit.encode())).unwrap(), U256::from(0b101));
        assert_eq!(s.signed_bitmap(&block(Default::default())).unwrap(), U256::ZERO);
        let garbage = alloy_primitives::Bytes::from_static(&[1, 2, 3]);
        assert_eq!(s.signed_bitmap(&block(garbage)).unwrap(), U256::ZERO, "undecodable: none");
        assert_eq!(AllSigned(3).signed_bitmap(&block(Default::default())).unwrap(), U256::from(7));
        assert_eq!(AllSigned(256).signed_bitmap(&block(Default::default())).unwrap(), U256::MAX);
    }
}
