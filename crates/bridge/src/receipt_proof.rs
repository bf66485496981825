//! Proofs of one receipt in a block's receipts trie (key `rlp(index)`, value the receipt's
//! EIP-2718 encoding), as the root contract's Merkle-Patricia check wants them.

use alloy_primitives::{B256, Bytes};
use alloy_trie::{HashBuilder, Nibbles, proof::ProofRetainer, root::adjust_index_for_rlp};

/// A receipt's path in its block's receipts trie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptProof {
    /// The trie's root (the block's `receiptsRoot`).
    pub root: B256,
    /// The leaf's key: `rlp(index)`.
    pub key: Bytes,
    /// The receipt (EIP-2718 encoding).
    pub value: Bytes,
    /// The nodes from the root to the leaf, each RLP-encoded.
    pub nodes: Vec<Bytes>,
}

/// The proof of receipt `index` among a block's `receipts` (each EIP-2718 encoded, in block
/// order); `None` if there is no such receipt.
pub fn receipt_proof(receipts: &[Bytes], index: usize) -> Option<ReceiptProof> {
    let value = receipts.get(index)?.clone();
    let key = Bytes::from(alloy_rlp::encode_fixed_size(&index).to_vec());
    let target = Nibbles::unpack(&key);
    let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![target]));
    for i in 0..receipts.len() {
        let at = adjust_index_for_rlp(i, receipts.len());
        let k = alloy_rlp::encode_fixed_size(&at);
        hb.add_leaf(Nibbles::unpack(&k), &receipts[at]);
    }
    let root = hb.root();
    let nodes =
        hb.take_proof_nodes().matching_nodes_sorted(&target).into_iter().map(|(_, n)| n).collect();
    Some(ReceiptProof { root, key, value, nodes })
}

/// Whether `nodes` prove `value` under `key` in the trie with root `root`.
pub fn verify_receipt_proof(
    root: B256,
    key: &[u8],
    value: &[u8],
    nodes: &[Bytes],
) -> Result<(), alloy_trie::proof::ProofVerificationError> {
    alloy_trie::proof::verify_proof(root, Nibbles::unpack(key), Some(value.to_vec()), nodes)
}
