//! Hook points for system calls around a block's transactions.

use crate::BoxError;
use alloy_evm::{Evm, block::StateDB};
use alloy_primitives::Log;
use bttc_primitives::Block;

/// What a hook is told about the block it runs in.
#[derive(Debug, Clone, Copy)]
pub struct BlockInfo<'a> {
    /// The chain the block belongs to.
    pub spec: &'a bttc_chainspec::ChainSpec,
    /// The block (its header and transactions; a block being built carries every candidate).
    pub block: &'a Block,
    /// Gas used by the transactions executed so far (all of them, after the last one).
    pub gas_used: u64,
}

/// System calls a chain runs before and after a block's transactions.
///
/// Both run on the block's EVM, after Ethereum's own pre-block system calls and before its
/// post-block requests and rewards. State they commit through `evm.db_mut()` becomes part of
/// the block's state changes and state root. An error makes the block invalid, so a hook
/// returns one only when the block cannot be executed at all (a storage fault); a system call
/// that merely reverts is the hook's to log and survive.
///
/// Each returns the logs of its system calls that users should see (the block's *system
/// logs*: a deposit's `Transfer`, say); the chain stores them with the block and `eth_getLogs`
/// serves them after the transactions' logs. They are not in any receipt or in the header's
/// bloom.
pub trait BlockHooks {
    /// Runs before the first transaction.
    fn before_transactions<E: Evm<DB: StateDB>>(
        &self,
        _evm: &mut E,
        _info: &BlockInfo<'_>,
    ) -> Result<Vec<Log>, BoxError> {
        Ok(Vec::new())
    }

    /// Runs after the last transaction.
    fn after_transactions<E: Evm<DB: StateDB>>(
        &self,
        _evm: &mut E,
        _info: &BlockInfo<'_>,
    ) -> Result<Vec<Log>, BoxError> {
        Ok(Vec::new())
    }
}

/// No extra system calls: plain Ethereum rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl BlockHooks for NoHooks {}
