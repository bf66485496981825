//! The previous block's commit, carried in the `extraData` of every block of a bttc BFT chain
//! (Tendermint's LastCommit), so that every node computes who signed from the same data.
//!
//! Layout: `version (1, = 1) ‖ round (8, i64 big-endian) ‖ signers (32, a 256-bit bitmap over
//! the parent's validator set in set order, bit i = member i) ‖ one 65-byte signature
//! (`r ‖ s ‖ v`) per set bit, in ascending member order`. The signatures are the members'
//! precommits for the parent block at that round; the consensus layer checks them before it
//! votes, the staking hooks read only the bitmap.
//!
//! Version 2 adds double-sign evidence after the signatures: `count (1, 1..=4) ‖ count ×
//! (length (2, big-endian, at most 1024) ‖ calldata)`, each a `StakeManager` evidence call
//! that every node runs as a system call (`bttc-staking`). A block without evidence is
//! written as version 1.

use alloy_primitives::{Bytes, U256};

/// The format version written first when the block carries no evidence.
pub const LAST_COMMIT_VERSION: u8 = 1;

/// The format version of a LastCommit followed by evidence.
pub const LAST_COMMIT_WITH_EVIDENCE: u8 = 2;

/// At most this many evidence calls in one block.
pub const MAX_EVIDENCE_PER_BLOCK: usize = 4;

/// The largest evidence call, in bytes.
pub const MAX_EVIDENCE_SIZE: usize = 1024;

/// The largest encoded LastCommit: every member of a 256-validator set signing, and the most
/// evidence. bttc chains accept `extraData` up to this size (Ethereum's cap is 32 bytes).
pub const MAX_LAST_COMMIT_SIZE: usize =
    1 + 8 + 32 + 256 * 65 + 1 + MAX_EVIDENCE_PER_BLOCK * (2 + MAX_EVIDENCE_SIZE);

/// A decoded LastCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCommit {
    /// The round at which the parent was decided.
    pub round: i64,
    /// Bit i set: member i of the parent's set signed.
    pub signers: U256,
    /// The signers' signatures, in ascending member order.
    pub signatures: Vec<[u8; 65]>,
    /// Double-sign evidence calls (version 2), at most [`MAX_EVIDENCE_PER_BLOCK`].
    pub evidence: Vec<Bytes>,
}

/// `extraData` that is not a LastCommit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LastCommitError {
    /// Unknown version byte.
    #[error(
        "LastCommit version {got}, expected {LAST_COMMIT_VERSION} or {LAST_COMMIT_WITH_EVIDENCE}"
    )]
    Version {
        /// The byte found.
        got: u8,
    },
    /// The evidence section is malformed.
    #[error("LastCommit evidence: {what} (got {got}, allowed {max})")]
    Evidence {
        /// What is wrong.
        what: &'static str,
        /// The value found.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The length does not match the bitmap.
    #[error("LastCommit of {got} bytes, expected {expected} for {signers} signers")]
    Length {
        /// Bytes given.
        got: usize,
        /// Bytes the bitmap calls for.
        expected: usize,
        /// Bits set in the bitmap.
        signers: u32,
    },
}

impl LastCommit {
    /// The `extraData` bytes.
    ///
    /// Evidence beyond [`MAX_EVIDENCE_PER_BLOCK`] calls, or calls over [`MAX_EVIDENCE_SIZE`]
    /// bytes, are left out (a proposer never builds such a block).
    pub fn encode(&self) -> Bytes {
        let evidence: Vec<&Bytes> = self
            .evidence
            .iter()
            .filter(|e| e.len() <= MAX_EVIDENCE_SIZE)
            .take(MAX_EVIDENCE_PER_BLOCK)
            .collect();
        let mut out = Vec::with_capacity(41 + 65 * self.signatures.len());
        out.push(if evidence.is_empty() { LAST_COMMIT_VERSION } else { LAST_COMMIT_WITH_EVIDENCE });
        out.extend_from_slice(&self.round.to_be_bytes());
        out.extend_from_slice(&self.signers.to_be_bytes::<32>());
        for s in &self.signatures {
            out.extend_from_slice(s);
        }
        if !evidence.is_empty() {
            out.push(evidence.len() as u8);
            for e in evidence {
                out.extend_from_slice(&(e.len() as u16).to_be_bytes());
                out.extend_from_slice(e);
            }
        }
        out.into()
    }

    /// Decodes `extra`; empty `extraData` (the first block after genesis) is `None`.
    pub fn decode(extra: &[u8]) -> Result<Option<Self>, LastCommitError> {
        let Some((&version, rest)) = extra.split_first() else { return Ok(None) };
        if version != LAST_COMMIT_VERSION && version != LAST_COMMIT_WITH_EVIDENCE {
            return Err(LastCommitError::Version { got: version });
        }
        let length = |signers: u32| LastCommitError::Length {
            got: extra.len(),
            expected: 41 + 65 * signers as usize,
            signers,
        };
        if rest.len() < 40 {
            return Err(length(0));
        }
        let round = i64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
        let signers = U256::from_be_slice(&rest[8..40]);
        let n = signers.count_ones() as u32;
        let body = &rest[40..];
        let sig_len = 65 * n as usize;
        let (sigs, tail) = match version {
            LAST_COMMIT_VERSION if body.len() == sig_len => (body, &[][..]),
            LAST_COMMIT_WITH_EVIDENCE if body.len() > sig_len => body.split_at(sig_len),
            _ => return Err(length(n)),
        };
        let signatures =
            sigs.chunks_exact(65).map(|c| c.try_into().expect("65-byte chunks")).collect();
        let evidence = if tail.is_empty() { Vec::new() } else { decode_evidence(tail)? };
        Ok(Some(Self { round, signers, signatures, evidence }))
    }

    /// The members (by index) that signed, ascending.
    pub fn signer_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..256).filter(|i| self.signers.bit(*i))
    }
}

/// `count ‖ count × (length ‖ calldata)`, exactly.
fn decode_evidence(mut b: &[u8]) -> Result<Vec<Bytes>, LastCommitError> {
    let bad = |what, got, max| LastCommitError::Evidence { what, got, max };
    let (&count, rest) = b.split_first().expect("not empty");
    let count = count as usize;
    if count == 0 || count > MAX_EVIDENCE_PER_BLOCK {
        return Err(bad("calls", count, MAX_EVIDENCE_PER_BLOCK));
    }
    b = rest;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if b.len() < 2 {
            return Err(bad("truncated length", b.len(), 2));
        }
        let len = u16::from_be_bytes([b[0], b[1]]) as usize;
        if len == 0 || len > MAX_EVIDENCE_SIZE {
            return Err(bad("call size", len, MAX_EVIDENCE_SIZE));
        }
        if b.len() < 2 + len {
            return Err(bad("truncated call", b.len() - 2, len));
        }
        out.push(Bytes::copy_from_slice(&b[2..2 + len]));
        b = &b[2 + len..];
    }
    if !b.is_empty() {
        return Err(bad("trailing bytes", b.len(), 0));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_one() {
        let c = LastCommit {
            round: 2,
            signers: U256::from(0b1011),
            signatures: vec![[1; 65], [2; 65], [3; 65]],
            evidence: Vec::new(),
        };
        let bytes = c.encode();
        assert_eq!(bytes.len(), 41 + 3 * 65);
        assert_eq!(bytes[0], LAST_COMMIT_VERSION);
        assert_eq!(LastCommit::decode(&bytes).unwrap(), Some(c.clone()));
        assert_eq!(c.signer_indices().collect::<Vec<_>>(), vec![0, 1, 3]);
        assert_eq!(LastCommit::decode(&[]).unwrap(), None);
        assert_eq!(LastCommit::decode(&[3]).unwrap_err(), LastCommitError::Version { got: 3 });
        let short = &bytes[..bytes.len() - 1];
        assert!(matches!(
            LastCommit::decode(short).unwrap_err(),
            LastCommitError::Length { expected: 236, signers: 3, .. }
        ));
        assert!(matches!(LastCommit::decode(&bytes[..10]), Err(LastCommitError::Length { .. })));
        // Version 1 with trailing bytes is refused; so is version 2 without evidence.
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert!(matches!(LastCommit::decode(&trailing), Err(LastCommitError::Length { .. })));
        let mut v2 = bytes.to_vec();
        v2[0] = LAST_COMMIT_WITH_EVIDENCE;
        assert!(matches!(LastCommit::decode(&v2), Err(LastCommitError::Length { .. })));
        let full = LastCommit {
            round: 0,
            signers: U256::MAX,
            signatures: vec![[0; 65]; 256],
            evidence: vec![Bytes::from(vec![7; MAX_EVIDENCE_SIZE]); MAX_EVIDENCE_PER_BLOCK],
        };
        assert_eq!(full.encode().len(), MAX_LAST_COMMIT_SIZE);
    }

    #[test]
    fn evidence_rides_after_the_signatures_within_limits() {
        let c = LastCommit {
            round: 0,
            signers: U256::from(1),
            signatures: vec![[9; 65]],
            evidence: vec![Bytes::from_static(&[1, 2, 3]), Bytes::from(vec![5; 700])],
        };
        let bytes = c.encode();
        assert_eq!(bytes[0], LAST_COMMIT_WITH_EVIDENCE);
        assert_eq!(LastCommit::decode(&bytes).unwrap(), Some(c.clone()));
        // Too many, too large, empty: the encoder leaves them out, the decoder refuses them.
        let mut over = c.clone();
        over.evidence = vec![Bytes::from_static(&[1]); 6];
        assert_eq!(LastCommit::decode(&over.encode()).unwrap().unwrap().evidence.len(), 4);
        let base = LastCommit { evidence: Vec::new(), ..c.clone() }.encode().to_vec();
        let with = |tail: &[u8]| {
            let mut b = base.clone();
            b[0] = LAST_COMMIT_WITH_EVIDENCE;
            b.extend_from_slice(tail);
            LastCommit::decode(&b)
        };
        let err = |tail: &[u8]| match with(tail) {
            Err(LastCommitError::Evidence { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(err(&[5]), "calls");
        assert_eq!(err(&[0]), "calls");
        assert_eq!(err(&[1, 0]), "truncated length");
        assert_eq!(err(&[1, 0, 0]), "call size");
        assert_eq!(err(&[1, 0x04, 0x01]), "call size");
        assert_eq!(err(&[1, 0, 3, 1, 2]), "truncated call");
        assert_eq!(err(&[1, 0, 1, 1, 9]), "trailing bytes");
        assert_eq!(
            with(&[1, 0, 1, 42]).unwrap().unwrap().evidence,
            vec![Bytes::from_static(&[42])]
        );
    }
}
