//! State-root cost on the production store (MDBX) as the state grows.

use alloy_primitives::{B256, U256, keccak256};
use bttc_storage::{DatabaseEnv, DbOptions};
use bttc_trie::{HashedAccount, HashedPostState, HashedStorage, state_root};
use std::{path::Path, time::Duration};

fn key(i: u64) -> B256 {
    keccak256(i.to_be_bytes())
}

fn account(i: u64, round: u64) -> Option<HashedAccount> {
    Some(HashedAccount {
        nonce: i % 7 + round,
        balance: U256::from(i * 1_000_003 + round),
        code_hash: keccak256([]),
    })
}

/// Fills a fresh MDBX database under `dir` with `accounts` accounts (every 10th with 4
/// slots), committing in chunks, then times `blocks` state roots of blocks that each touch
/// `touched` existing accounts with `slots` slot writes each. Every block is written and
/// committed (untimed) so the next one builds on it. Returns the mean time per root.
pub fn root_cost(
    dir: &Path,
    accounts: u64,
    touched: u64,
    slots: u64,
    blocks: u64,
) -> eyre::Result<Duration> {
    let db = DatabaseEnv::open(dir, DbOptions::ephemeral())?;
    let chunk = 50_000;
    let mut start = 0;
    while start < accounts {
        let end = (start + chunk).min(accounts);
        let mut state = HashedPostState::default();
        for i in start..end {
            state.accounts.insert(key(i), account(i, 0));
            if i % 10 == 0 {
                let s = (0..4u64).map(|j| (key(i * 31 + j), U256::from(j + 1))).collect();
                state.storages.insert(key(i), HashedStorage { wiped: false, slots: s });
            }
        }
        let rw = db.rw()?;
        let (_, updates) = state_root(&rw, &state)?;
        rw.write_trie(&updates)?;
        rw.commit()?;
        start = end;
    }
    let mut total = Duration::ZERO;
    for round in 1..=blocks {
        let mut state = HashedPostState::default();
        for j in 0..touched {
            let i = (j * 7919 + round * 104_729) % accounts;
            state.accounts.insert(key(i), account(i, round));
            let s = (0..slots).map(|k| (key(i * 31 + k), U256::from(round + k + 2))).collect();
            state.storages.insert(key(i), HashedStorage { wiped: false, slots: s });
        }
        let rw = db.rw()?;
        let t = std::time::Instant::now();
        let (_, updates) = state_root(&rw, &state)?;
        total += t.elapsed();
        rw.write_trie(&updates)?;
        rw.commit()?;
    }
    Ok(total / blocks as u32)
}
