//! Core types shared by every bttc crate.
//!
//! bttc speaks Ethereum's formats on the wire and on disk: a block is an
//! [`alloy_consensus::Block`] of [`TxEnvelope`] (transaction types 0-4), receipts are
//! [`ReceiptEnvelope`]s. This crate pins those choices in one place ([`Block`],
//! [`Transaction`], [`Receipt`]) and adds what alloy does not have:
//!
//! - [`Account`]: the plain state record (nonce, balance, code hash) with a compact,
//!   versioned encoding used by storage and changesets;
//! - [`system`]: the addresses of the bttc system contracts (`0x…1000` validator set,
//!   `0x…1001` state receiver, `0x…1010` BTT wrapper), kept compatible with BTTC;
//! - [`decode_blocks`]: a streaming reader for files of concatenated RLP blocks (the format
//!   `geth export` writes) that names the failing block on error;
//! - [`MAX_RLP_BLOCK_SIZE`]: the chain-wide cap on a block's encoded size (EIP-7934);
//! - [`LastCommit`]: the previous block's commit a bttc block carries in its `extraData`,
//!   with double-sign evidence and root-chain [`StateSyncRecord`]s.
//!
//! Data flows from here upward: chainspec, storage, evm and chain all build on these types.

mod account;
mod last_commit;
mod rlp_file;
pub mod system;

pub use account::{Account, AccountDecodeError};
pub use last_commit::{
    LAST_COMMIT_VERSION, LAST_COMMIT_WITH_EVIDENCE, LAST_COMMIT_WITH_STATE_SYNCS, LastCommit,
    LastCommitError, MAX_EVIDENCE_PER_BLOCK, MAX_EVIDENCE_SIZE, MAX_LAST_COMMIT_SIZE,
    MAX_STATE_SYNC_BYTES, MAX_STATE_SYNC_DATA, MAX_STATE_SYNCS_PER_BLOCK, StateSyncRecord,
};
pub use rlp_file::{BlockFileError, BlockSpan, decode_block, scan_blocks};

pub use alloy_consensus::{
    Header, ReceiptEnvelope, Sealable, Sealed, TxEnvelope, constants::KECCAK_EMPTY,
};
pub use alloy_primitives::{Address, B256, BlockHash, BlockNumber, Bytes, U256, keccak256};

/// Largest RLP encoding of a whole block, header and body: EIP-7934's `MAX_RLP_BLOCK_SIZE`
/// (its 10 MiB `MAX_BLOCK_SIZE` less a 2 MiB safety margin), enforced from Osaka on
/// Ethereum chains and from genesis on bttc chains (one value, so an Osaka chain imports
/// exactly as Ethereum's clients do). Block validation refuses anything larger and the block
/// builder never makes it; the consensus network sizes its proposal streams, gossip and
/// value-sync responses from it, so that every block that can be decided can also be synced.
pub const MAX_RLP_BLOCK_SIZE: usize = 10 * 1024 * 1024 - 2 * 1024 * 1024;

/// A transaction as it appears in a block.
pub type Transaction = TxEnvelope;
/// A block of bttc (and of any Ethereum-rules chain it can import).
pub type Block = alloy_consensus::Block<Transaction>;
/// The body of a [`Block`].
pub type BlockBody = alloy_consensus::BlockBody<Transaction>;
/// A receipt with its transaction type.
pub type Receipt = ReceiptEnvelope;
/// A header with its hash computed once.
pub type SealedHeader = Sealed<Header>;
