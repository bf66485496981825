//! Hook points for system calls around a block's transactions.

use alloy_evm::{Evm, block::StateDB};

/// System calls a chain runs before and after a block's transactions.
///
/// Both run on the block's EVM, after Ethereum's own pre-block system calls and before its
/// post-block requests and rewards. State they commit through `evm.db_mut()` becomes part of
/// the block's state changes and state root.
pub trait BlockHooks {
    /// Runs before the first transaction.
    fn before_transactions<E: Evm<DB: StateDB>>(&self, _evm: &mut E) -> Result<(), String> {
        Ok(())
    }

    /// Runs after the last transaction.
    fn after_transactions<E: Evm<DB: StateDB>>(&self, _evm: &mut E) -> Result<(), String> {
        Ok(())
    }
}

/// No extra system calls: plain Ethereum rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl BlockHooks for NoHooks {}
