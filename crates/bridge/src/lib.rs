//! The bttc bridge, node side.
//!
//! Deposits enter bttc by **state sync** ([`state_sync`]): each validator's [`Watcher`]s
//! read the `StateSynced` records of its roots' `StateSender` up to the roots' final blocks
//! into [`RootRecords`]; a proposer puts the next records of each root in its block's
//! LastCommit (`bttc_primitives::StateSyncRecord`), every validator checks them against its
//! own reading before it votes, and every node delivers them to `StateReceiver` at the start
//! of the block (`bttc-staking`'s hooks).
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
pub mod state_sync;

pub use exit::{ExitError, ExitPayload, exit_id};
pub use receipt_proof::{ReceiptProof, receipt_proof, verify_receipt_proof};
pub use state_sync::{RootRecords, StateSyncError, WatchConfig, Watcher};
