//! The checkpoint Merkle tree over block headers.

use alloy_primitives::{B256, U256, keccak256};
use bttc_primitives::Header;

/// The most blocks one root hash may cover (Bor's `MaxCheckpointLength`, 2^15).
pub const MAX_CHECKPOINT_LENGTH: u64 = 1 << 15;

/// A block range that cannot have a root hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// `start` after `end`.
    #[error("start {start} is after end {end}")]
    Reversed {
        /// First block.
        start: u64,
        /// Last block.
        end: u64,
    },
    /// More than [`MAX_CHECKPOINT_LENGTH`] blocks.
    #[error("{len} blocks from {start} to {end}: at most {max} per root hash")]
    TooLong {
        /// First block.
        start: u64,
        /// Last block.
        end: u64,
        /// Blocks asked for.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// `end` is not in the chain yet.
    #[error("end {end} is beyond the head {head}")]
    BeyondHead {
        /// Last block asked for.
        end: u64,
        /// The chain's head.
        head: u64,
    },
}

/// Checks `[start, end]` against Bor's limits on a chain whose head is `head`.
pub fn check_range(start: u64, end: u64, head: u64) -> Result<(), RangeError> {
    if start > end {
        return Err(RangeError::Reversed { start, end });
    }
    let len = end - start + 1;
    if len > MAX_CHECKPOINT_LENGTH {
        return Err(RangeError::TooLong { start, end, len, max: MAX_CHECKPOINT_LENGTH });
    }
    if end > head {
        return Err(RangeError::BeyondHead { end, head });
    }
    Ok(())
}

/// A block's leaf: `keccak256(pad32(number) ‖ pad32(timestamp) ‖ transactionsRoot ‖
/// receiptsRoot)` (`abi.encodePacked(uint256, uint256, bytes32, bytes32)`).
pub fn leaf(header: &Header) -> B256 {
    let mut b = [0u8; 128];
    b[..32].copy_from_slice(&U256::from(header.number).to_be_bytes::<32>());
    b[32..64].copy_from_slice(&U256::from(header.timestamp).to_be_bytes::<32>());
    b[64..96].copy_from_slice(header.transactions_root.as_slice());
    b[96..].copy_from_slice(header.receipts_root.as_slice());
    keccak256(b)
}

fn parent(left: &B256, right: &B256) -> B256 {
    let mut b = [0u8; 64];
    b[..32].copy_from_slice(left.as_slice());
    b[32..].copy_from_slice(right.as_slice());
    keccak256(b)
}

/// The levels of the tree over `leaves` padded to a power of two, leaves first.
fn levels(leaves: &[B256]) -> Vec<Vec<B256>> {
    let width = leaves.len().max(1).next_power_of_two();
    let mut level: Vec<B256> = leaves.to_vec();
    level.resize(width, B256::ZERO);
    let mut out = vec![level];
    while out.last().expect("one level").len() > 1 {
        let next =
            out.last().expect("one level").chunks_exact(2).map(|p| parent(&p[0], &p[1])).collect();
        out.push(next);
    }
    out
}

/// The root over `leaves` (zero-padded to a power of two; one leaf is its own root; no
/// leaves is the zero hash).
pub fn root_of_leaves(leaves: &[B256]) -> B256 {
    if leaves.is_empty() {
        return B256::ZERO;
    }
    levels(leaves).last().expect("a root")[0]
}

/// The checkpoint root hash of consecutive `headers`.
pub fn root<'a>(headers: impl IntoIterator<Item = &'a Header>) -> B256 {
    let leaves: Vec<B256> = headers.into_iter().map(leaf).collect();
    root_of_leaves(&leaves)
}

/// The sibling path of leaf `index` (bottom up), or `None` if there is no such leaf.
pub fn proof(leaves: &[B256], index: usize) -> Option<Vec<B256>> {
    if index >= leaves.len() {
        return None;
    }
    let levels = levels(leaves);
    let mut i = index;
    let mut path = Vec::with_capacity(levels.len() - 1);
    for level in &levels[..levels.len() - 1] {
        path.push(level[i ^ 1]);
        i /= 2;
    }
    Some(path)
}

/// Whether `leaf` is at `index` under `root` with sibling path `proof`, as pos-portal's
/// `Merkle.checkMembership` decides it (and it refuses an index beyond the path's width).
pub fn verify(leaf: B256, index: u64, root: B256, proof: &[B256]) -> bool {
    if proof.len() < 64 && index >= 1u64 << proof.len() {
        return false;
    }
    let mut node = leaf;
    let mut i = index;
    for sibling in proof {
        node = if i.is_multiple_of(2) { parent(&node, sibling) } else { parent(sibling, &node) };
        i /= 2;
    }
    node == root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(n: u64) -> Header {
        Header {
            number: n,
            timestamp: 1_000 + n,
            transactions_root: B256::repeat_byte(n as u8),
            receipts_root: B256::repeat_byte(0xa0 ^ n as u8),
            ..Default::default()
        }
    }

    #[test]
    fn leaves_are_packed_number_time_and_roots() {
        let h = header(7);
        let mut want = Vec::new();
        want.extend_from_slice(&[0u8; 31]);
        want.push(7);
        want.extend_from_slice(&[0u8; 30]);
        want.extend_from_slice(&1007u16.to_be_bytes());
        want.extend_from_slice(h.transactions_root.as_slice());
        want.extend_from_slice(h.receipts_root.as_slice());
        assert_eq!(leaf(&h), keccak256(&want));
    }

    #[test]
    fn roots_pad_to_a_power_of_two_and_proofs_verify() {
        let hs: Vec<Header> = (1..=5).map(header).collect();
        let l: Vec<B256> = hs.iter().map(leaf).collect();
        assert_eq!(root(&hs[..1]), l[0], "one leaf is its own root");
        assert_eq!(root(&hs[..2]), parent(&l[0], &l[1]));
        let (z, p) = (B256::ZERO, parent);
        assert_eq!(root(&hs[..3]), p(&p(&l[0], &l[1]), &p(&l[2], &z)));
        let r5 = p(&p(&p(&l[0], &l[1]), &p(&l[2], &l[3])), &p(&p(&l[4], &z), &p(&z, &z)));
        assert_eq!(root(&hs), r5);
        assert_eq!(root_of_leaves(&[]), B256::ZERO);
        for (i, leaf) in l.iter().enumerate() {
            let path = proof(&l, i).unwrap();
            assert_eq!(path.len(), 3);
            assert!(verify(*leaf, i as u64, r5, &path), "leaf {i}");
            assert!(!verify(*leaf, (i as u64 + 1) % 5, r5, &path), "leaf {i} at another index");
        }
        assert!(!verify(l[0], 8, r5, &proof(&l, 0).unwrap()), "index beyond the tree");
        assert!(proof(&l, 5).is_none());
    }

    #[test]
    fn ranges_follow_bors_limits() {
        assert_eq!(check_range(5, 4, 10), Err(RangeError::Reversed { start: 5, end: 4 }));
        assert!(check_range(1, MAX_CHECKPOINT_LENGTH, u64::MAX).is_ok());
        assert!(matches!(
            check_range(1, MAX_CHECKPOINT_LENGTH + 1, u64::MAX),
            Err(RangeError::TooLong { len: 32769, .. })
        ));
        assert_eq!(check_range(1, 11, 10), Err(RangeError::BeyondHead { end: 11, head: 10 }));
        assert!(check_range(0, 0, 0).is_ok());
    }
}
