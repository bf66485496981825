//! Writing the genesis state and block (`bttc init`).

use crate::{ChainError, hashed_post_state};
use alloy_primitives::U256;
use alloy_primitives::{B256, keccak256};
use bttc_chainspec::ChainSpec;
use bttc_primitives::{Account, Block, KECCAK_EMPTY};
use bttc_storage::{AccountChange, DatabaseEnv, StateChanges, StorageChange};
use bttc_trie::MemTrieStore;
use tracing::info;

/// What `init` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    /// The genesis was written.
    Written {
        /// Genesis hash.
        hash: B256,
        /// Genesis state root.
        state_root: B256,
    },
    /// The database already held this same genesis; nothing was written.
    AlreadyInitialized {
        /// Genesis hash.
        hash: B256,
    },
}

/// The genesis allocation as state changes of block 0.
pub fn genesis_state(spec: &ChainSpec) -> StateChanges {
    let mut changes = StateChanges::default();
    for (address, acc) in &spec.genesis().alloc {
        let code_hash = match &acc.code {
            Some(code) if !code.is_empty() => {
                let h = keccak256(code);
                changes.codes.push((h, code.clone()));
                h
            }
            _ => KECCAK_EMPTY,
        };
        let storage = acc
            .storage
            .iter()
            .flatten()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| StorageChange {
                slot: *k,
                original: Some(U256::ZERO),
                value: (*v).into(),
            })
            .collect();
        changes.accounts.push(AccountChange {
            address: *address,
            original: Some(None),
            new: Some(Account { nonce: acc.nonce.unwrap_or(0), balance: acc.balance, code_hash }),
            wiped: false,
            storage,
        });
    }
    changes.codes.sort_unstable_by_key(|c| c.0);
    changes.codes.dedup_by_key(|c| c.0);
    changes
}

/// The genesis block of `spec` and the trie updates that produce its state root.
pub fn genesis_block(
    spec: &ChainSpec,
) -> Result<(Block, StateChanges, bttc_trie::TrieUpdates), ChainError> {
    let changes = genesis_state(spec);
    let (root, updates) =
        bttc_trie::state_root(&MemTrieStore::default(), &hashed_post_state(&changes))?;
    let header = spec.genesis_header(root);
    let withdrawals = header.withdrawals_root.map(|_| Default::default());
    let block =
        Block { header, body: bttc_primitives::BlockBody { withdrawals, ..Default::default() } };
    Ok((block, changes, updates))
}

/// Writes the genesis of `genesis_json` into `db`, or checks that `db` already holds it.
pub fn init_genesis(db: &DatabaseEnv, genesis_json: &str) -> Result<InitOutcome, ChainError> {
    let spec = ChainSpec::from_json(genesis_json)?;
    let (block, changes, updates) = genesis_block(&spec)?;
    let hash = block.header.hash_slow();
    let ro = db.ro()?;
    if let Some(stored) = ro.canonical_hash(0)? {
        if stored != hash {
            return Err(ChainError::GenesisMismatch { stored, given: hash });
        }
        // The genesis block does not commit to the chain config (chain id, forks, bttc
        // parameters): compare those too.
        let stored_json = ro.genesis_json()?.unwrap_or_default();
        let stored_spec = ChainSpec::from_json(&stored_json)?;
        if stored_spec.genesis().config != spec.genesis().config {
            return Err(ChainError::ConfigMismatch { hash });
        }
        return Ok(InitOutcome::AlreadyInitialized { hash });
    }
    drop(ro);
    let rw = db.rw()?;
    rw.put_genesis_json(genesis_json)?;
    rw.write_block(&block, hash, &[], &[])?;
    rw.write_state(0, &changes)?;
    rw.write_trie(&updates)?;
    rw.set_head(block.header.number, hash)?;
    rw.commit()?;
    info!(target: "bttc::chain", %hash, state_root = %block.header.state_root, accounts = changes.accounts.len(), "genesis written");
    Ok(InitOutcome::Written { hash, state_root: block.header.state_root })
}
