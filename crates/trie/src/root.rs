//! Root computations over a [`TrieStore`]: the state root after a batch of changes, and the
//! roots currently stored.

use crate::{
    EMPTY_ROOT_HASH, HashedAccount, HashedPostState, HashedStorage, TrieError, TrieStore,
    TrieUpdates,
    sparse::{NodeWrites, PartialTrie},
};
use alloy_primitives::{B256, U256};
use alloy_rlp::Decodable;
use alloy_trie::TrieAccount;
use std::{cmp::Ordering, collections::btree_map, iter::Peekable};

fn decode_account(key: &B256, leaf: &[u8]) -> Result<TrieAccount, TrieError> {
    TrieAccount::decode(&mut &leaf[..])
        .map_err(|e| TrieError::BadAccountLeaf { key: key.to_string(), reason: e.to_string() })
}

/// What a batch does to one hashed address: its account change and its storage change.
type Change<'a> = (&'a B256, Option<&'a Option<HashedAccount>>, Option<&'a HashedStorage>);

/// Walks `accounts` and `storages` together in key order.
struct Changes<'a> {
    accounts: Peekable<btree_map::Iter<'a, B256, Option<HashedAccount>>>,
    storages: Peekable<btree_map::Iter<'a, B256, HashedStorage>>,
}

impl<'a> Iterator for Changes<'a> {
    type Item = Change<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.accounts.peek(), self.storages.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((a, _)), Some((s, _))) => a.cmp(s),
        };
        Some(match order {
            Ordering::Less => {
                let (k, a) = self.accounts.next()?;
                (k, Some(a), None)
            }
            Ordering::Greater => {
                let (k, s) = self.storages.next()?;
                (k, None, Some(s))
            }
            Ordering::Equal => {
                let (k, a) = self.accounts.next()?;
                let (_, s) = self.storages.next()?;
                (k, Some(a), Some(s))
            }
        })
    }
}

/// One account's storage trie after its changes.
struct StorageResult {
    owner: B256,
    root: B256,
    writes: NodeWrites,
    loads: usize,
}

/// Applies one account's storage changes to its stored storage trie (or to an empty trie
/// when `wiped`).
fn update_storage<S: TrieStore>(
    store: &S,
    owner: &B256,
    storage: &HashedStorage,
) -> Result<StorageResult, TrieError> {
    let mut trie = PartialTrie::open(store, Some(*owner), storage.wiped)?;
    for (slot, value) in &storage.slots {
        let v = (*value != U256::ZERO).then(|| alloy_rlp::encode(value));
        trie.update(slot, v)?;
    }
    let loads = trie.loads();
    let (root, writes) = trie.commit();
    Ok(StorageResult { owner: *owner, root, writes, loads })
}

/// The storage tries a batch changes (destroyed accounts excluded: their storage is wiped).
fn storage_jobs(state: &HashedPostState) -> Vec<(&B256, &HashedStorage)> {
    state.storages.iter().filter(|(k, _)| !matches!(state.accounts.get(*k), Some(None))).collect()
}

/// Computes the state root after applying `state` on top of what `store` holds. Does not
/// write: the returned [`TrieUpdates`] must be applied by the caller (wipes first).
///
/// Only the nodes on the paths of the touched keys are loaded (plus, where a deletion leaves
/// a branch with one child, that child), each at most once.
pub fn state_root<S: TrieStore>(
    store: &S,
    state: &HashedPostState,
) -> Result<(B256, TrieUpdates), TrieError> {
    let storages = storage_jobs(state)
        .into_iter()
        .map(|(owner, storage)| update_storage(store, owner, storage))
        .collect::<Result<Vec<_>, _>>()?;
    finish(store, state, storages)
}

/// [`state_root`], with the storage tries of different accounts updated on up to `threads`
/// threads (the account trie is updated afterwards, on the calling thread). Same result.
pub fn state_root_parallel<S: TrieStore + Sync>(
    store: &S,
    state: &HashedPostState,
    threads: usize,
) -> Result<(B256, TrieUpdates), TrieError> {
    let jobs = storage_jobs(state);
    let threads = threads.clamp(1, jobs.len().max(1));
    if threads == 1 {
        return state_root(store, state);
    }
    let mut storages = Vec::with_capacity(jobs.len());
    std::thread::scope(|scope| {
        let jobs = &jobs;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    jobs.iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|(owner, storage)| update_storage(store, owner, storage))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(r) => storages.extend(r?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok::<_, TrieError>(())
    })?;
    storages.sort_unstable_by_key(|s| s.owner);
    finish(store, state, storages)
}

/// Updates the account trie given the new storage roots (`storages`, sorted by owner), and
/// gathers all node writes.
fn finish<S: TrieStore>(
    store: &S,
    state: &HashedPostState,
    storages: Vec<StorageResult>,
) -> Result<(B256, TrieUpdates), TrieError> {
    let mut updates = TrieUpdates::default();
    let mut accounts = PartialTrie::open(store, None, false)?;
    let storage_loads: usize = storages.iter().map(|s| s.loads).sum();
    let mut storages = storages.into_iter().peekable();
    let changes = Changes {
        accounts: state.accounts.iter().peekable(),
        storages: state.storages.iter().peekable(),
    };
    for (key, info, storage) in changes {
        if let Some(None) = info {
            // Destroyed: leaf removed, storage trie dropped (whatever `storage` says).
            updates.wiped_storages.insert(*key);
            accounts.update(key, None)?;
            continue;
        }
        // Changes come in key order, like the computed storage tries.
        let computed = match storage {
            Some(_) => Some(storages.next_if(|s| s.owner == *key).ok_or_else(|| {
                TrieError::Store(format!("storage trie of {key} was not computed"))
            })?),
            None => None,
        };
        let old = accounts.get(key)?.map(|leaf| decode_account(key, &leaf)).transpose()?;
        let base = match (info, old) {
            (Some(Some(a)), _) => TrieAccount {
                nonce: a.nonce,
                balance: a.balance,
                storage_root: EMPTY_ROOT_HASH,
                code_hash: a.code_hash,
            },
            (_, Some(o)) => o,
            (_, None) => {
                // Storage changes of an account that neither exists nor is created: there
                // is no leaf to commit them to (an inconsistent executor). Drop them, and
                // make sure nothing is left stored under that owner.
                tracing::warn!(target: "trie", %key, "storage changes for a missing account ignored");
                updates.wiped_storages.insert(*key);
                continue;
            }
        };
        let storage_root = match (computed, storage) {
            (Some(c), Some(s)) => {
                if s.wiped {
                    updates.wiped_storages.insert(*key);
                }
                // After a wipe nothing old was loaded, so there are only puts; they land
                // after the wipe.
                for (path, node) in c.writes {
                    updates.storage_nodes.insert((*key, path), node);
                }
                c.root
            }
            _ => old.map_or(EMPTY_ROOT_HASH, |o| o.storage_root),
        };
        accounts.update(key, Some(alloy_rlp::encode(TrieAccount { storage_root, ..base })))?;
    }
    let account_loads = accounts.loads();
    let (root, writes) = accounts.commit();
    updates.account_nodes = writes;
    tracing::debug!(
        target: "trie",
        accounts = state.accounts.len(),
        storages = state.storages.len(),
        account_loads,
        storage_loads,
        writes = updates.len(),
        %root,
        "state root computed"
    );
    Ok((root, updates))
}

/// The root currently stored (`EMPTY_ROOT_HASH` for an empty store).
pub fn stored_root<S: TrieStore>(store: &S) -> Result<B256, TrieError> {
    Ok(PartialTrie::open(store, None, false)?.commit().0)
}

/// The stored storage root of an account (`EMPTY_ROOT_HASH` if the account or its storage
/// is absent).
pub fn storage_root<S: TrieStore>(store: &S, hashed_address: B256) -> Result<B256, TrieError> {
    let mut accounts = PartialTrie::open(store, None, false)?;
    Ok(match accounts.get(&hashed_address)? {
        Some(leaf) => decode_account(&hashed_address, &leaf)?.storage_root,
        None => EMPTY_ROOT_HASH,
    })
}

/// The stored account (with its storage root) under a hashed address, if any.
pub fn stored_account<S: TrieStore>(
    store: &S,
    hashed_address: B256,
) -> Result<Option<TrieAccount>, TrieError> {
    let mut accounts = PartialTrie::open(store, None, false)?;
    accounts.get(&hashed_address)?.map(|leaf| decode_account(&hashed_address, &leaf)).transpose()
}
