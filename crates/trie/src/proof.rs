//! Merkle proofs (EIP-1186): the RLP of every hashed node from the root toward a key.

use crate::{
    TrieError, TrieStore,
    nibbles::{path_hex, unpack},
    node::{Node, decode_stored, rlp_of_stored},
};
use alloy_primitives::{B256, Bytes};

fn proof<S: TrieStore>(
    store: &S,
    owner: Option<&B256>,
    key: &B256,
) -> Result<Vec<Bytes>, TrieError> {
    let key = unpack(key);
    let mut out = Vec::new();
    let mut path: Vec<u8> = Vec::with_capacity(64);
    loop {
        let bytes = match owner {
            None => store.account_node(&path)?,
            Some(o) => store.storage_node(o, &path)?,
        };
        let Some(bytes) = bytes else {
            if path.is_empty() {
                return Ok(out);
            }
            return Err(TrieError::MissingNode {
                path: path_hex(&path),
                owner: owner.map_or_else(|| "account trie".into(), |o| o.to_string()),
            });
        };
        let node = decode_stored(&bytes, path.len()).map_err(|reason| TrieError::Corrupt {
            path: path_hex(&path),
            owner: owner.map_or_else(|| "account trie".into(), |o| o.to_string()),
            reason,
        })?;
        let rlp = rlp_of_stored(&node).unwrap_or_default();
        // Inline nodes (< 32 bytes) are part of their parent's RLP; the root is always listed.
        if path.is_empty() || rlp.len() >= 32 {
            out.push(Bytes::from(rlp));
        }
        let rest = &key[path.len()..];
        match node {
            Node::Leaf(..) | Node::Empty | Node::Stub(_) => return Ok(out),
            Node::Ext(k, _) => {
                if !rest.starts_with(&k) {
                    return Ok(out);
                }
                path.extend_from_slice(&k);
            }
            Node::Branch(children) => {
                if matches!(children[rest[0] as usize], Node::Empty) {
                    return Ok(out);
                }
                path.push(rest[0]);
            }
        }
    }
}

/// Proof of an account (by hashed address) in the account trie.
pub fn account_proof<S: TrieStore>(
    store: &S,
    hashed_address: B256,
) -> Result<Vec<Bytes>, TrieError> {
    proof(store, None, &hashed_address)
}

/// Proof of a slot (by hashed slot) in the storage trie of `hashed_address`.
pub fn storage_proof<S: TrieStore>(
    store: &S,
    hashed_address: B256,
    hashed_slot: B256,
) -> Result<Vec<Bytes>, TrieError> {
    proof(store, Some(&hashed_address), &hashed_slot)
}
