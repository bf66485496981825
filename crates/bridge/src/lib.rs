//! The bttc bridge, node side.
//!
//! Withdrawals leave bttc by a burn (a `WithdrawTo` log) in some block; once a checkpoint on a
//! root chain covers that block, the root's `RootChainManager.exit(bytes)` releases the tokens
//! against an **exit payload** that proves the log: this crate builds and checks those
//! payloads in pos-portal's format (so matic.js-style tooling and BTTC's contracts read them):
//!
//! `rlp([headerBlockId, blockProof, blockNumber, blockTime, txRoot, receiptRoot, receipt,
//! receiptProof, branchMask, logIndex])`
//!
//! - `receipt` is the EIP-2718 encoding of the transaction's receipt, `receiptProof` the RLP
//!   list of the receipts-trie nodes from the root to its leaf, and `branchMask` `0x00 ‖
//!   rlp(txIndex)`, the leaf's key ([`receipt_proof`]);
//! - `blockProof` is the concatenated sibling path of the block's leaf
//!   `keccak256(number ‖ time ‖ txRoot ‖ receiptRoot)` in the checkpoint's tree
//!   (`bttc_checkpoint::proof`), at index `blockNumber - start`;
//! - `logIndex` is the log's index within its receipt.
//!
//! Data flow: the RPC (`bttc_getExitPayload`) reads the block, its receipts and the stored
//! checkpoint covering it, asks [`ExitPayload::build`], and returns [`ExitPayload::encode`];
//! [`ExitPayload::verify`] runs the checks the root contract runs, so a payload is known good
//! before anyone pays for the exit. [`exit_id`] names an exit for the root's replay guard.

mod exit;
mod receipt_proof;

pub use exit::{ExitError, ExitPayload, exit_id};
pub use receipt_proof::{ReceiptProof, receipt_proof, verify_receipt_proof};
