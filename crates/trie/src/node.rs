//! In-memory nodes, their stored encoding and their RLP.

use crate::nibbles::hex_prefix;
use alloy_primitives::keccak256;
use alloy_rlp::{BufMut, Encodable, Header};

const TAG_LEAF: u8 = 0x00;
const TAG_EXT: u8 = 0x01;
const TAG_BRANCH: u8 = 0x02;

/// A node of a partially loaded trie.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// No node.
    Empty,
    /// A stored node not loaded yet; only its reference is known.
    Stub(Vec<u8>),
    /// Leaf: remaining key nibbles and the committed value (RLP).
    Leaf(Vec<u8>, Vec<u8>),
    /// Extension: shared nibbles and the child (always a branch).
    Ext(Vec<u8>, Box<Node>),
    /// Branch with 16 children (never a value: all keys have the same length).
    Branch(Box<[Node; 16]>),
}

pub(crate) fn empty_children() -> Box<[Node; 16]> {
    Box::new(std::array::from_fn(|_| Node::Empty))
}

/// Decodes a stored node; children become stubs.
pub(crate) fn decode_stored(bytes: &[u8]) -> Result<Node, String> {
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
            Ok(Node::Leaf(k, rest[used..].to_vec()))
        }
        TAG_EXT => {
            let (k, used) = key(rest)?;
            if k.is_empty() {
                return Err("extension with an empty key".into());
            }
            let child = &rest[used..];
            if child.is_empty() || child.len() > 32 {
                return Err(format!("extension child reference of {} bytes", child.len()));
            }
            Ok(Node::Ext(k, Box::new(Node::Stub(child.to_vec()))))
        }
        TAG_BRANCH => {
            if rest.len() < 2 {
                return Err("branch without mask".into());
            }
            let mask = u16::from_be_bytes([rest[0], rest[1]]);
            let mut pos = 2;
            let mut children = empty_children();
            for (i, child) in children.iter_mut().enumerate() {
                if mask & (1 << i) == 0 {
                    continue;
                }
                let len = *rest.get(pos).ok_or("truncated branch")? as usize;
                pos += 1;
                if len == 0 || len > 32 || rest.len() < pos + len {
                    return Err(format!("bad child reference of {len} bytes at nibble {i}"));
                }
                *child = Node::Stub(rest[pos..pos + len].to_vec());
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
pub(crate) fn store_ext(key: &[u8], child: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + key.len() + child.len());
    out.push(TAG_EXT);
    out.push(key.len() as u8);
    out.extend_from_slice(key);
    out.extend_from_slice(child);
    out
}

/// Stored encoding of a branch.
pub(crate) fn store_branch(children: &[Option<Vec<u8>>; 16]) -> Vec<u8> {
    let mut mask = 0u16;
    let mut out = vec![TAG_BRANCH, 0, 0];
    for (i, c) in children.iter().enumerate() {
        if let Some(r) = c {
            mask |= 1 << i;
            out.push(r.len() as u8);
            out.extend_from_slice(r);
        }
    }
    out[1..3].copy_from_slice(&mask.to_be_bytes());
    out
}

/// Writes a child reference as it appears inside its parent's RLP.
fn put_ref(r: &[u8], out: &mut Vec<u8>) {
    if r.len() == 32 {
        out.push(0xa0);
        out.extend_from_slice(r);
    } else {
        out.extend_from_slice(r);
    }
}

fn ref_len(r: &[u8]) -> usize {
    if r.len() == 32 { 33 } else { r.len() }
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
pub(crate) fn rlp_ext(key: &[u8], child: &[u8]) -> Vec<u8> {
    let hp = hex_prefix(key, false);
    let payload = hp.as_slice().length() + ref_len(child);
    let mut out = Vec::with_capacity(payload + 3);
    Header { list: true, payload_length: payload }.encode(&mut out);
    hp.as_slice().encode(&mut out);
    put_ref(child, &mut out);
    out
}

/// RLP of a branch.
pub(crate) fn rlp_branch(children: &[Option<Vec<u8>>; 16]) -> Vec<u8> {
    let payload: usize =
        children.iter().map(|c| c.as_ref().map_or(1, |r| ref_len(r))).sum::<usize>() + 1;
    let mut out = Vec::with_capacity(payload + 3);
    Header { list: true, payload_length: payload }.encode(&mut out);
    for c in children {
        match c {
            Some(r) => put_ref(r, &mut out),
            None => out.put_u8(alloy_rlp::EMPTY_STRING_CODE),
        }
    }
    out.put_u8(alloy_rlp::EMPTY_STRING_CODE);
    out
}

/// The reference a parent holds for a node with this RLP.
pub(crate) fn reference(rlp: Vec<u8>) -> Vec<u8> {
    if rlp.len() < 32 { rlp } else { keccak256(&rlp).to_vec() }
}

/// RLP of a stored node, without loading its children (they are references).
pub(crate) fn rlp_of_stored(node: &Node) -> Option<Vec<u8>> {
    match node {
        Node::Leaf(k, v) => Some(rlp_leaf(k, v)),
        Node::Ext(k, c) => match c.as_ref() {
            Node::Stub(r) => Some(rlp_ext(k, r)),
            _ => None,
        },
        Node::Branch(ch) => {
            let mut refs: [Option<Vec<u8>>; 16] = Default::default();
            for (i, c) in ch.iter().enumerate() {
                refs[i] = match c {
                    Node::Empty => None,
                    Node::Stub(r) => Some(r.clone()),
                    _ => return None,
                };
            }
            Some(rlp_branch(&refs))
        }
        _ => None,
    }
}
