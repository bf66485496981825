//! Chain specification: what a genesis file says about the chain, turned into the
//! questions the rest of the node asks.
//!
//! A genesis file is geth's format (parsed by [`alloy_genesis::Genesis`]), optionally with a
//! `bttc` object inside `config` holding our proof-of-stake parameters ([`BttcParams`]).
//! [`ChainSpec::from_genesis`] reads the fork schedule (block-numbered forks up to London,
//! the merge by `mergeNetsplitBlock` or a zero `terminalTotalDifficulty`, then
//! timestamp-based Shanghai, Cancun, Prague, Osaka and the BPO blob-parameter forks) and
//! answers:
//!
//! - which revm [`SpecId`] applies to a block ([`ChainSpec::spec_id`]);
//! - which blob parameters apply at a timestamp ([`ChainSpec::blob_params_at`]);
//! - what the genesis header is for a given state root ([`ChainSpec::genesis_header`]);
//! - whether this is a bttc chain ([`ChainSpec::is_bttc`]), which rejects blob transactions.
//!
//! [`ChainSpec`] implements alloy-evm's `EthExecutorSpec`, so the same executor serves bttc
//! chains and plain Ethereum-rules chains.

mod bttc;
mod predeploys;
mod spec;

pub use bttc::{BttcParams, GenesisValidator};
pub use predeploys::{all_forks_at_genesis, system_predeploys, system_predeploys_alloc_json};
pub use spec::{ChainSpec, ChainSpecError};

pub use alloy_genesis::Genesis;
pub use revm::primitives::hardfork::SpecId;
