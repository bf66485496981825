//! Checkpoints of bttc to root chains.
//!
//! A checkpoint covers a range of blocks `[start, end]` with one 32-byte root hash, the same
//! one BTTC's Bor computes for `bor_getRootHash` and pos-portal's `RootChainManager.exit`
//! checks a block against ([`root`]):
//!
//! - leaf *i* = `keccak256(pad32(number) ‖ pad32(timestamp) ‖ transactionsRoot ‖
//!   receiptsRoot)` of block `start + i` ([`leaf`]);
//! - the leaves are padded with zero hashes to the next power of two;
//! - a node is `keccak256(left ‖ right)`; one leaf is its own root.
//!
//! [`proof`] gives the sibling path of one block, [`verify`] checks it the way pos-portal's
//! `Merkle.checkMembership` does (the index's bits pick the side at each level).
//!
//! Which blocks end a checkpoint is [`CheckpointSchedule`]'s rule (every `checkpointInterval`
//! blocks of an epoch, and its last block). What validators sign is [`Checkpoint::digest`],
//! the digest `RootChain` checks; [`SignedCheckpoint`] holds a checkpoint with the signatures
//! gathered for it and is what the node stores per checkpoint.
//!
//! Data flow: at a checkpoint height consensus asks every validator for a signature in its
//! precommit's vote extension (the node computes [`root`] and the set hashes from its own
//! chain); the decided block's extensions are checked and stored as a [`SignedCheckpoint`];
//! the submitter posts it to each root chain; the RPC (`bor_getRootHash`, `eth_getRootHash`,
//! `bttc_getCheckpoint`) reads the same data; the bridge builds exit proofs with [`proof`].

mod merkle;
mod schedule;
mod signed;
pub mod submitter;

pub use merkle::{
    MAX_CHECKPOINT_LENGTH, RangeError, check_range, leaf, proof, root, root_of_leaves, verify,
};
pub use schedule::{CheckpointSchedule, EpochBounds, IntervalError, MAX_CHECKPOINT_INTERVAL};
pub use signed::{
    Checkpoint, CheckpointSignature, Member, RecordError, SignedCheckpoint, recover, set_hash,
    sorted,
};
pub use submitter::{
    CheckpointStore, RootConfig, RootState, StoreError, Submission, SubmitError, Submitter,
    SubmitterStatus, submit_call,
};
