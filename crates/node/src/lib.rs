//! Wiring bttc's services together.
//!
//! Today this crate holds the pieces of dev mode that do not need the network or JSON-RPC:
//!
//! - [`dev_accounts`] / [`dev_genesis`]: the prefunded accounts of the standard test mnemonic
//!   and a genesis for a local chain (its own chain id, never BTTC's 199 or 1029; every fork
//!   through Prague; the Ethereum system contracts; a `bttc` section, so blob transactions are
//!   refused as on any bttc chain);
//! - [`DevProducer`]: the single local block producer. It takes the best-paying executable
//!   transactions from the pool, builds a block through `bttc-chain` (leaving out what cannot
//!   execute), inserts and commits it through the same path as every other block, and tells
//!   the pool what was mined.
//!
//! JSON-RPC and `bttc node --dev` build on these (issue #3).

mod dev;
mod producer;

pub use dev::{DEV_CHAIN_ID, DEV_MNEMONIC, DevAccount, dev_accounts, dev_genesis};
pub use producer::{DevProducer, MinedBlock, ProducerError};
