//! In-memory nodes, their stored encoding and their RLP.
//!
//! Stored encoding (first byte is a tag that doubles as the format version):
//! - leaf `0x00 | key_len | key nibbles (one per byte) | value`
//! - extension `0x01 | key_len | key nibbles | child_ref`
//! - branch `0x02 | mask (u16 BE, bit i = child i) | (ref_len | child_ref)` per set bit
//!
//! A `child_ref` is what the parent's RLP holds for the child: its keccak256 (32 bytes) or,
//! when the child's RLP is shorter than 32 bytes, that RLP itself.

use crate::nibbles::hex_prefix;
use alloy_primitives::{B256, keccak256};
use alloy_rlp::{BufMut, Encodable, Header};

const TAG_LEAF: u8 = 0x00;
const TAG_EXT: u8 = 0x01;
const TAG_BRANCH: u8 = 0x02;

/// Number of nibbles in every key of a secure trie.
pub(crate) const KEY_NIBBLES: usize = 64;

/// A parent's reference to a child: a 32-byte hash, or the child's RLP when shorter than
/// 32 bytes. Kept inline (no heap allocation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeRef {
    len: u8,
    buf: [u8; 32],
}

impl std::fmt::Debug for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeRef({})", alloy_primitives::hex::encode(self.as_slice()))
    }
}

impl NodeRef {
    /// A reference from its bytes (1..=32 of them).
    fn from_slice(bytes: &[u8]) -> Self {
        debug_assert!(!bytes.is_empty() && bytes.len() <= 32);
        let mut buf = [0u8; 32];
        buf[..bytes.len()].copy_from_slice(bytes);
        Self { len: bytes.len() as u8, buf }
    }

    /// The reference a parent holds for a node with this RLP.
    pub(crate) fn of_rlp(rlp: &[u8]) -> Self {
        if rlp.len() < 32 { Self::from_slice(rlp) } else { Self { len: 32, buf: keccak256(rlp).0 } }
    }

    /// The reference bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Whether the referenced node is inlined into its parent's RLP.
    pub(crate) const fn is_inline(&self) -> bool {
        self.len < 32
    }

    /// The hash of the referenced node (hashing the inline RLP if the node is inlined), as
    /// used for a trie root.
    pub(crate) fn hash(&self) -> B256 {
        if self.is_inline() { keccak256(self.as_slice()) } else { B256::from(self.buf) }
    }

    /// Length of the reference inside a parent's RLP.
    const fn rlp_len(&self) -> usize {
        if self.is_inline() { self.len as usize } else { 33 }
    }

    /// Writes the reference as it appears inside a parent's RLP.
    fn put_rlp(&self, out: &mut Vec<u8>) {
        if !self.is_inline() {
            out.push(alloy_rlp::EMPTY_STRING_CODE + 32);
        }
        out.extend_from_slice(self.as_slice());
    }
}

/// A node of a partially loaded trie.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// No node.
    Empty,
    /// A stored node not loaded yet; only its reference is known.
    Stub(NodeRef),
    /// Leaf: remaining key nibbles and the committed value (RLP).
    Leaf(Vec<u8>, Vec<u8>),
    /// Extension: shared nibbles and the child (always a branch).
    Ext(Vec<u8>, Box<Node>),
    /// Branch with 16 children (never a value: all keys have the same length).
    Branch(Box<[Node; 16]>),
}

/// Sixteen empty children.
pub(crate) fn empty_children() -> Box<[Node; 16]> {
    Box::new(std::array::from_fn(|_| Node::Empty))
}

/// Decodes a node stored at a path of `depth` nibbles; children become stubs.
pub(crate) fn decode_stored(bytes: &[u8], depth: usize) -> Result<Node, String> {
    let (&tag, rest) = bytes.split_first().ok_or("empty node")?;
    let key = |rest: &[u8]| -> Result<(Vec<u8>, usize), String> {
        let (&len, r) = rest.split_first().ok_or("missing key length")?;
        let len = len as usize;
        if r.len() < len {
            return Err(format!("key of {len} nibbles but {} bytes left", r.len()));
        }
        if r[..len].iter().any(|n| *n > 15) {
            return Err("key byte is not a nibble".into());
        }
        Ok((r[..len].to_vec(), 1 + len))
    };
    match tag {
        TAG_LEAF => {
            let (k, used) = key(rest)?;
            if depth + k.len() != KEY_NIBBLES {
                return Err(format!("leaf key of {} nibbles at depth {depth}", k.len()));
            }
            let value = &rest[used..];
            if value.is_empty() {
                return Err("leaf without a value".into());
            }
            Ok(Node::Leaf(k, value.to_vec()))
        }
        TAG_EXT => {
            let (k, used) = key(rest)?;
            if k.is_empty() || depth + k.len() >= KEY_NIBBLES {
                return Err(format!("extension key of {} nibbles at depth {depth}", k.len()));
            }
            let child = &rest[used..];
            if child.is_empty() || child.len() > 32 {
                return Err(format!("extension child reference of {} bytes", child.len()));
            }
            Ok(Node::Ext(k, Box::new(Node::Stub(NodeRef::from_slice(child)))))
        }
        TAG_BRANCH => {
            if depth >= KEY_NIBBLES {
                return Err(format!("branch at depth {depth}"));
            }
            if rest.len() < 2 {
                return Err("branch without mask".into());
            }
            let mask = u16::from_be_bytes([rest[0], rest[1]]);
            if mask.count_ones() < 2 {
                return Err(format!("branch with {} children", mask.count_ones()));
            }
            let mut pos = 2;
            let mut children = empty_children();
            for (i, child) in children.iter_mut().enumerate() {
                if mask & (1 << i) == 0 {
                    continue;
                }
                let len = *rest.get(pos).ok_or("truncated branch")? as usize;
                pos += 1;
                if len == 0 || len > 32 || rest.len() < pos + len {
                    return Err(format!("bad child reference of {len} bytes at nibble {i:x}"));
                }
                *child = Node::Stub(NodeRef::from_slice(&rest[pos..pos + len]));
                pos += len;
            }
            if pos != rest.len() {
                return Err(format!("{} trailing bytes in branch", rest.len() - pos));
            }
            Ok(Node::Branch(children))
        }
        t => Err(format!("unknown node tag {t:#04x}")),
    }
}

/// Stored encoding of a leaf.
pub(crate) fn store_leaf(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + key.len() + value.len());
    out.push(TAG_LEAF);
    out.push(key.len() as u8);
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    out
}

/// Stored encoding of an extension.
pub(crate) fn store_ext(key: &[u8], child: &NodeRef) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + key.len() + child.len as usize);
    out.push(TAG_EXT);
    out.push(key.len() as u8);
    out.extend_from_slice(key);
    out.extend_from_slice(child.as_slice());
    out
}

/// Stored encoding of a branch.
pub(crate) fn store_branch(children: &[Option<NodeRef>; 16]) -> Vec<u8> {
    let mut mask = 0u16;
    let size: usize = children.iter().flatten().map(|r| 1 + r.len as usize).sum();
    let mut out = Vec::with_capacity(3 + size);
    out.extend_from_slice(&[TAG_BRANCH, 0, 0]);
    for (i, c) in children.iter().enumerate() {
        if let Some(r) = c {
            mask |= 1 << i;
            out.push(r.len);
            out.extend_from_slice(r.as_slice());
        }
    }
    out[1..3].copy_from_slice(&mask.to_be_bytes());
    out
}

/// RLP of a leaf.
pub(crate) fn rlp_leaf(key: &[u8], value: &[u8]) -> Vec<u8> {
    let hp = hex_prefix(key, true);
    let payload = hp.as_slice().length() + value.length();
    let mut out = Vec::with_capacity(payload + 3);
    Header { list: true, payload_length: payload }.encode(&mut out);
    hp.as_slice().encode(&mut out);
    value.encode(&mut out);
    out
}

/// RLP of an extension.
pub(crate) fn rlp_ext(key: &[u8], child: &NodeRef) -> Vec<u8> {
    let hp = hex_prefix(key, false);
    let payload = hp.as_slice().length() + child.rlp_len();
    let mut out = Vec::with_capacity(payload + 3);
    Header { list: true, payload_length: payload }.encode(&mut out);
    hp.as_slice().encode(&mut out);
    child.put_rlp(&mut out);
    out
}

/// RLP of a branch (the 17th item, the value, is always empty).
pub(crate) fn rlp_branch(children: &[Option<NodeRef>; 16]) -> Vec<u8> {
    let payload: usize =
        children.iter().map(|c| c.as_ref().map_or(1, NodeRef::rlp_len)).sum::<usize>() + 1;
    let mut out = Vec::with_capacity(payload + 3);
    Header { list: true, payload_length: payload }.encode(&mut out);
    for c in children {
        match c {
            Some(r) => r.put_rlp(&mut out),
            None => out.put_u8(alloy_rlp::EMPTY_STRING_CODE),
        }
    }
    out.put_u8(alloy_rlp::EMPTY_STRING_CODE);
    out
}

/// RLP of a freshly decoded stored node (its children are references).
pub(crate) fn rlp_of_stored(node: &Node) -> Option<Vec<u8>> {
    match node {
        Node::Leaf(k, v) => Some(rlp_leaf(k, v)),
        Node::Ext(k, c) => match c.as_ref() {
            Node::Stub(r) => Some(rlp_ext(k, r)),
            _ => None,
        },
        Node::Branch(ch) => {
            let mut refs: [Option<NodeRef>; 16] = [None; 16];
            for (r, c) in refs.iter_mut().zip(ch.iter()) {
                *r = match c {
                    Node::Empty => None,
                    Node::Stub(r) => Some(*r),
                    _ => return None,
                };
            }
            Some(rlp_branch(&refs))
        }
        Node::Empty | Node::Stub(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::nodes::{BranchNode, ExtensionNode, LeafNode, RlpNode, TrieNode};
    use alloy_trie::{Nibbles, TrieMask};

    #[test]
    fn rlp_matches_alloy_nodes() {
        let key: Vec<u8> = (0..5).collect();
        let value = vec![0x83, 1, 2, 3];
        let ours = rlp_leaf(&key, &value);
        let theirs = alloy_rlp::encode(TrieNode::Leaf(LeafNode::new(
            Nibbles::from_nibbles(&key),
            value.clone(),
        )));
        assert_eq!(ours, theirs);

        let child = NodeRef::of_rlp(&[0xaa; 40]);
        let ours = rlp_ext(&key[..3], &child);
        let theirs = alloy_rlp::encode(TrieNode::Extension(ExtensionNode::new(
            Nibbles::from_nibbles(&key[..3]),
            RlpNode::word_rlp(&child.hash()),
        )));
        assert_eq!(ours, theirs);

        let inline = NodeRef::of_rlp(&[0xc3, 0x80, 0x80, 0x80]);
        assert!(inline.is_inline());
        let mut refs = [None; 16];
        refs[3] = Some(child);
        refs[9] = Some(inline);
        let ours = rlp_branch(&refs);
        let theirs = alloy_rlp::encode(TrieNode::Branch(BranchNode::new(
            vec![
                RlpNode::word_rlp(&child.hash()),
                RlpNode::from_raw_rlp(inline.as_slice()).unwrap(),
            ],
            TrieMask::new((1 << 3) | (1 << 9)),
        )));
        assert_eq!(ours, theirs);
    }

    #[test]
    fn stored_encoding_round_trips() {
        let key: Vec<u8> = vec![1, 2, 3];
        let leaf = store_leaf(&key, &[0x05]);
        assert!(matches!(decode_stored(&leaf, 61), Ok(Node::Leaf(k, v)) if k == key && v == [5]));
        assert!(decode_stored(&leaf, 60).is_err(), "leaf must end at 64 nibbles");
        let r = NodeRef::of_rlp(&[1; 50]);
        let ext = store_ext(&key, &r);
        assert!(matches!(decode_stored(&ext, 0), Ok(Node::Ext(k, c))
            if k == key && matches!(*c, Node::Stub(x) if x == r)));
        let mut refs = [None; 16];
        refs[0] = Some(r);
        refs[15] = Some(NodeRef::of_rlp(&[0xc2, 0x80, 0x80]));
        let branch = store_branch(&refs);
        let Ok(Node::Branch(ch)) = decode_stored(&branch, 10) else { panic!("branch") };
        assert!(matches!(ch[0], Node::Stub(x) if x == r));
        assert!(matches!(ch[15], Node::Stub(x) if x.as_slice() == [0xc2, 0x80, 0x80]));
        assert!(matches!(ch[7], Node::Empty));
        assert!(decode_stored(&[0x07], 0).is_err());
        assert!(decode_stored(&branch[..branch.len() - 1], 0).is_err());
        assert!(decode_stored(&[], 0).is_err());
    }
}
