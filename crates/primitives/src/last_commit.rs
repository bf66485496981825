//! The previous block's commit, carried in the `extraData` of every block of a bttc BFT chain
//! (Tendermint's LastCommit), so that every node computes who signed from the same data.
//!
//! Layout: `version (1, = 1) ‖ round (8, i64 big-endian) ‖ signers (32, a 256-bit bitmap over
//! the parent's validator set in set order, bit i = member i) ‖ one 65-byte signature
//! (`r ‖ s ‖ v`) per set bit, in ascending member order`. The signatures are the members'
//! precommits for the parent block at that round; the consensus layer checks them before it
//! votes, the staking hooks read only the bitmap.

use alloy_primitives::{Bytes, U256};

/// The format version written first.
pub const LAST_COMMIT_VERSION: u8 = 1;

/// The largest encoded LastCommit: every member of a 256-validator set signing. bttc chains
/// accept `extraData` up to this size (Ethereum's cap is 32 bytes).
pub const MAX_LAST_COMMIT_SIZE: usize = 1 + 8 + 32 + 256 * 65;

/// A decoded LastCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCommit {
    /// The round at which the parent was decided.
    pub round: i64,
    /// Bit i set: member i of the parent's set signed.
    pub signers: U256,
    /// The signers' signatures, in ascending member order.
    pub signatures: Vec<[u8; 65]>,
}

/// `extraData` that is not a LastCommit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LastCommitError {
    /// Unknown version byte.
    #[error("LastCommit version {got}, expected {LAST_COMMIT_VERSION}")]
    Version {
        /// The byte found.
        got: u8,
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
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(41 + 65 * self.signatures.len());
        out.push(LAST_COMMIT_VERSION);
        out.extend_from_slice(&self.round.to_be_bytes());
        out.extend_from_slice(&self.signers.to_be_bytes::<32>());
        for s in &self.signatures {
            out.extend_from_slice(s);
        }
        out.into()
    }

    /// Decodes `extra`; empty `extraData` (the first block after genesis) is `None`.
    pub fn decode(extra: &[u8]) -> Result<Option<Self>, LastCommitError> {
        let Some((&version, rest)) = extra.split_first() else { return Ok(None) };
        if version != LAST_COMMIT_VERSION {
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
        let sigs = &rest[40..];
        if sigs.len() != 65 * n as usize {
            return Err(length(n));
        }
        let signatures =
            sigs.chunks_exact(65).map(|c| c.try_into().expect("65-byte chunks")).collect();
        Ok(Some(Self { round, signers, signatures }))
    }

    /// The members (by index) that signed, ascending.
    pub fn signer_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..256).filter(|i| self.signers.bit(*i))
    }
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
        };
        let bytes = c.encode();
        assert_eq!(bytes.len(), 41 + 3 * 65);
        assert_eq!(LastCommit::decode(&bytes).unwrap(), Some(c.clone()));
        assert_eq!(c.signer_indices().collect::<Vec<_>>(), vec![0, 1, 3]);
        assert_eq!(LastCommit::decode(&[]).unwrap(), None);
        assert_eq!(LastCommit::decode(&[2]).unwrap_err(), LastCommitError::Version { got: 2 });
        let short = &bytes[..bytes.len() - 1];
        assert!(matches!(
            LastCommit::decode(short).unwrap_err(),
            LastCommitError::Length { expected: 236, signers: 3, .. }
        ));
        assert!(matches!(LastCommit::decode(&bytes[..10]), Err(LastCommitError::Length { .. })));
        let full = LastCommit { round: 0, signers: U256::MAX, signatures: vec![[0; 65]; 256] };
        assert_eq!(full.encode().len(), MAX_LAST_COMMIT_SIZE);
    }
}
