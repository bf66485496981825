//! Errors of the staking hooks.

/// The end-of-block system call could not run. A call that runs and reverts is not an error
/// (the block goes on without it); these are faults that leave the block unexecutable.
#[derive(Debug, thiserror::Error)]
pub enum StakingError {
    /// The EVM refused the system call (a database fault).
    #[error("StakeManager.blockEnd could not run at block {number}")]
    Evm {
        /// The block.
        number: u64,
        /// The EVM's error.
        #[source]
        source: bttc_evm::BoxError,
    },
    /// Reading or crediting the contract's balance failed.
    #[error("crediting {amount} wei to StakeManager at block {number} failed")]
    Credit {
        /// The block.
        number: u64,
        /// The amount.
        amount: alloy_primitives::U256,
        /// The database's error.
        #[source]
        source: bttc_evm::BoxError,
    },
    /// The signer bitmap of the previous block could not be derived.
    #[error("signers of block {number}'s parent could not be read")]
    Signers {
        /// The block.
        number: u64,
        /// Why.
        #[source]
        source: bttc_evm::BoxError,
    },
}
