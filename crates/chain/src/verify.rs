//! Full (non-incremental) state root from the plain state: an independent check of the
//! incremental trie, used by tests and by `bttc db verify-root`.

use alloy_primitives::{B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount};
use bttc_storage::{Provider, PtrUnsync, StateChanges, StorageResult, TransactionKind};
use std::collections::BTreeMap;

fn storage_root(slots: &BTreeMap<B256, U256>) -> B256 {
    let hashed: BTreeMap<B256, U256> =
        slots.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (keccak256(k), *v)).collect();
    if hashed.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    let mut hb = HashBuilder::default();
    for (k, v) in hashed {
        hb.add_leaf(Nibbles::unpack(k), &alloy_rlp::encode(v));
    }
    hb.root()
}

/// Root of the plain state in `provider` with `overlay` applied on top, computed from
/// scratch over every account and slot.
pub fn full_state_root<K: TransactionKind<Access = PtrUnsync>>(
    provider: &Provider<K>,
    overlay: Option<&StateChanges>,
) -> StorageResult<B256> {
    let mut accounts = BTreeMap::new();
    for (address, account) in provider.plain_accounts()? {
        accounts.insert(address, (account, provider.plain_storage_of(&address)?));
    }
    if let Some(changes) = overlay {
        for ch in &changes.accounts {
            let entry = accounts.remove(&ch.address);
            let Some(new) = ch.new else { continue };
            let mut storage = match entry {
                Some((_, s)) if !ch.wiped => s,
                _ => BTreeMap::new(),
            };
            for c in &ch.storage {
                if c.value.is_zero() {
                    storage.remove(&c.slot);
                } else {
                    storage.insert(c.slot, c.value);
                }
            }
            accounts.insert(ch.address, (new, storage));
        }
    }
    let leaves: BTreeMap<B256, Vec<u8>> = accounts
        .iter()
        .map(|(address, (a, storage))| {
            let acc = TrieAccount {
                nonce: a.nonce,
                balance: a.balance,
                storage_root: storage_root(storage),
                code_hash: a.code_hash,
            };
            (keccak256(address), alloy_rlp::encode(acc))
        })
        .collect();
    if leaves.is_empty() {
        return Ok(EMPTY_ROOT_HASH);
    }
    let mut hb = HashBuilder::default();
    for (k, v) in leaves {
        hb.add_leaf(Nibbles::unpack(k), &v);
    }
    Ok(hb.root())
}
