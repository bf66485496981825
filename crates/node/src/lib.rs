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
//! - [`DevNode`]: `bttc node --dev`: the chain (a temporary datadir or `--datadir`), the
//!   pool, the producer in one of three [`MiningMode`]s (automine, fixed block time, off) and
//!   the JSON-RPC server (`bttc-rpc`), with the dev accounts unlocked for
//!   `eth_sendTransaction`. New pool transactions wake the automining loop through
//!   `ChainEvents`; each mined block is announced there to filters and subscriptions.
//! - [`bft::BftNode`]: a validator or full node of a bttc chain. The Malachite engine
//!   (`bttc-consensus` context, libp2p on 127.0.0.1 or any address, WAL in the datadir)
//!   decides each block; the driver in `bft` builds proposals from the pool, re-executes
//!   received proposals without committing, and commits a decided block with its commit
//!   certificate in one MDBX transaction, then announces it like the dev producer does. A
//!   validator that cannot commit what was decided stops ([`bft::BftNode::stopped`]) rather
//!   than vote again; both swarms speak protocols named for the chain; the network's size
//!   limits derive from the largest block ([`bft::limits`]).
//! - [`key_file`]: key files (keystores, `node.key`) are created 0600 in 0700 directories
//!   and refused when group or others can access them (unless the operator insists).

pub mod bft;
mod dev;
mod dev_node;
pub mod key_file;
mod producer;
mod template;

/// The transaction pool's limits, as the node's configurations take them.
pub use bttc_txpool::PoolConfig;
pub use dev::{
    DEV_CHAIN_ID, DEV_GAS_LIMIT, DEV_MNEMONIC, DevAccount, DevGenesisError, dev_accounts,
    dev_genesis, dev_genesis_with_gas_limit, network_genesis, network_genesis_with,
};
pub use dev_node::{BoxError, DevNode, DevNodeConfig, MiningMode, NodeError};
pub use producer::{DevProducer, MinedBlock, ProducerError};
pub use template::{
    TEMPLATE_CHAIN_ID, TEMPLATE_GAS_LIMIT, TEMPLATE_VALIDATOR_STAKE_BTT, TEMPLATE_VALIDATORS,
    TOTAL_SUPPLY_BTT, TREASURY_BTT, mainnet_template, template_treasury,
};
