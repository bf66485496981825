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
//! Data flow: the RPC (`bor_getRootHash`, `eth_getRootHash`) reads the range's headers and
//! asks [`root`]; the checkpoint submitter (to come, issue #14) signs and posts it; the
//! bridge builds exit proofs with [`proof`].

mod merkle;

pub use merkle::{
    MAX_CHECKPOINT_LENGTH, RangeError, check_range, leaf, proof, root, root_of_leaves, verify,
};
