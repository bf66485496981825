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

/// Reading the validator set of an epoch from the staking contract failed.
#[derive(Debug, thiserror::Error)]
pub enum SetsError {
    /// The database failed.
    #[error("reading the chain for validator sets")]
    Storage(#[from] bttc_storage::StorageError),
    /// A view call could not run (a database fault inside the EVM).
    #[error("StakeManager.{call} could not run after block {block}")]
    View {
        /// The view.
        call: &'static str,
        /// The state it read.
        block: u64,
        /// The EVM's error.
        #[source]
        source: bttc_evm::BoxError,
    },
    /// A view call reverted or halted.
    #[error("StakeManager.{call} failed after block {block}: {reason}")]
    Failed {
        /// The view.
        call: &'static str,
        /// The state it read.
        block: u64,
        /// The revert reason.
        reason: String,
    },
    /// A view returned data that does not decode.
    #[error("StakeManager.{call} returned undecodable data after block {block}")]
    Decode {
        /// The view.
        call: &'static str,
        /// The state it read.
        block: u64,
        /// The decoder's error.
        #[source]
        source: alloy_sol_types::Error,
    },
    /// A member's consensus key is not a secp256k1 point.
    #[error("epoch {epoch}: member {signer} has an invalid public key ({len} bytes)")]
    PublicKey {
        /// The epoch.
        epoch: u64,
        /// The member's signer address.
        signer: alloy_primitives::Address,
        /// The key's length.
        len: usize,
    },
    /// The members do not make a validator set.
    #[error("epoch {epoch}: the elected members are not a valid set")]
    Set {
        /// The epoch.
        epoch: u64,
        /// Why.
        #[source]
        source: bttc_consensus::ValidatorSetError,
    },
    /// A stored epoch set does not decode.
    #[error("stored set of epoch {epoch} is corrupt: {reason}")]
    Corrupt {
        /// The epoch.
        epoch: u64,
        /// What is wrong.
        reason: String,
    },
}
