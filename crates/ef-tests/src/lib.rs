//! Ethereum BlockchainTests conformance runner.
//!
//! A BlockchainTests fixture file maps test names to a genesis (`genesisBlockHeader` +
//! `pre`), a fork (`network`, `config`), a list of RLP blocks (some marked
//! `expectException`) and the expected outcome (`lastblockhash` plus `postState` or
//! `postStateHash`). For each test, [`run_test`]:
//!
//! 1. turns the genesis into a geth-format genesis JSON ([`fixture::genesis_json`]) and
//!    writes it with `bttc_chain::init_genesis` into a fresh MDBX database, checking that
//!    the genesis hash matches the fixture's;
//! 2. feeds every block's RLP to `bttc_chain::import_rlp`, the same path as `bttc import`;
//!    a block marked `expectException` must be rejected for a reason of the expected class
//!    ([`exceptions`]: decode, header, transaction, execution, result) and leave the head
//!    unchanged; every other block must be accepted;
//! 3. checks the head hash and the post state (every account's nonce, balance, code and
//!    storage, and that no other account exists).
//!
//! [`runner`] walks a fixtures directory, runs tests on all cores and reports per folder.

pub mod exceptions;
pub mod fixture;
pub mod runner;

pub use fixture::{TestOutcome, run_test};
