//! bttc's consensus types for the Malachite BFT engine.
//!
//! This crate owns what Malachite is generic over, and nothing that touches the chain:
//! - [`BttcContext`]: heights are block numbers, the value decided at a height is a block
//!   identified by its hash ([`BlockValue`]); the block's RLP travels as streamed
//!   [`ProposalPart`]s (`Init`, `Data` chunks, `Fin` with the proposer's signature).
//! - Signing ([`signing`]): secp256k1 keys, Ethereum addresses, 65-byte recoverable
//!   signatures over keccak256 prehashes bound to the chain id, so contracts can `ecrecover`
//!   votes and certificates. [`ConsensusSigner`] and [`ConsensusVerifier`] plug into the
//!   engine.
//! - Validator sets and the proposer ([`validators`]): voting power is stake in whole BTT;
//!   stake-weighted round robin with Tendermint's proposer priority.
//! - The codec ([`codec`]) of network, sync and WAL messages.
//!
//! Data flow: the node's consensus driver (in `bttc-node`) starts the engine with a
//! [`BttcContext`], a [`ConsensusSigner`] and [`BttcCodec`], answers the engine's requests
//! with blocks built from the pool, validates received blocks through `bttc-chain`, and
//! commits decided blocks with their [`CommitCertificate`]s.

mod codec;
mod context;
pub mod signing;
mod types;
pub mod validators;

pub use codec::{BttcCodec, CodecError};
pub use context::BttcContext;
pub use signing::{
    ConsensusSigner, ConsensusVerifier, EthSignature, Secp256k1Scheme, SigningDecodeError,
    address_of, extension_signing_hash, proposal_signing_hash, vote_signing_hash,
};
pub use types::{BlockHeight, BlockValue, Proposal, ProposalPart, ValidatorAddress, Vote};
pub use validators::{
    CHECKPOINT_EVERY, ProposerSchedule, ScheduleOrigin, StaticValidators, Validator, ValidatorSet,
    ValidatorSetError, ValidatorSetProvider, carry_priorities,
};

/// A commit certificate of bttc consensus: 2/3+ of the voting power's precommit signatures
/// for one block.
pub type CommitCertificate = malachitebft_core_types::CommitCertificate<BttcContext>;

pub use malachitebft_app_channel as engine_channel;
pub use malachitebft_core_types as core_types;
