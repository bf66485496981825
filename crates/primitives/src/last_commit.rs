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
//! that every node runs as a system call (`bttc-staking`).
//!
//! Version 3 adds root-chain state-sync records after the evidence (whose count may then be
//! 0): `count (1, 1..=16) ‖ count × (rootId (8) ‖ id (8) ‖ time (8) ‖ receiver (20) ‖ length
//! (2) ‖ data)`, at most [`MAX_STATE_SYNC_DATA`] bytes of data each and
//! [`MAX_STATE_SYNC_BYTES`] in all. Every node delivers them to `StateReceiver` as system
//! calls at the start of the block, in order. A block is written in the lowest version that
//! holds what it carries.

use alloy_primitives::{Address, Bytes, U256};

/// The format version written first when the block carries no evidence.
pub const LAST_COMMIT_VERSION: u8 = 1;

/// The format version of a LastCommit followed by evidence.
pub const LAST_COMMIT_WITH_EVIDENCE: u8 = 2;

/// The format version of a LastCommit followed by evidence (possibly none) and state-sync
/// records.
pub const LAST_COMMIT_WITH_STATE_SYNCS: u8 = 3;

/// At most this many evidence calls in one block.
pub const MAX_EVIDENCE_PER_BLOCK: usize = 4;

/// The largest evidence call, in bytes.
pub const MAX_EVIDENCE_SIZE: usize = 1024;

/// At most this many state-sync records in one block.
pub const MAX_STATE_SYNCS_PER_BLOCK: usize = 16;

/// The most data one state-sync record carries (`StateSender`'s cap).
pub const MAX_STATE_SYNC_DATA: usize = 16 * 1024;

/// The most state-sync data one block carries, all records together.
pub const MAX_STATE_SYNC_BYTES: usize = 64 * 1024;

/// Bytes of one record besides its data.
const RECORD_HEAD: usize = 8 + 8 + 8 + 20 + 2;

/// The largest encoded LastCommit: every member of a 256-validator set signing, the most
/// evidence and the most state-sync records. bttc chains accept `extraData` up to this size
/// (Ethereum's cap is 32 bytes).
pub const MAX_LAST_COMMIT_SIZE: usize = 1
    + 8
    + 32
    + 256 * 65
    + 1
    + MAX_EVIDENCE_PER_BLOCK * (2 + MAX_EVIDENCE_SIZE)
    + 1
    + MAX_STATE_SYNCS_PER_BLOCK * RECORD_HEAD
    + MAX_STATE_SYNC_BYTES;

/// One root-chain `StateSynced` record, as a block carries it to `StateReceiver`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateSyncRecord {
    /// The root chain's id (its EIP-155 chain id): each root has its own sequence.
    pub root_id: u64,
    /// The record's id on that root (`StateSynced.id`, from 1, strictly sequential).
    pub id: u64,
    /// The time of the root block that holds it.
    pub time: u64,
    /// The bttc contract it is for (`StateSynced.contractAddress`).
    pub receiver: Address,
    /// Its data (`StateSynced.data`).
    pub data: Bytes,
}

/// A decoded LastCommit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastCommit {
    /// The round at which the parent was decided.
    pub round: i64,
    /// Bit i set: member i of the parent's set signed.
    pub signers: U256,
    /// The signers' signatures, in ascending member order.
    pub signatures: Vec<[u8; 65]>,
    /// Double-sign evidence calls (version 2), at most [`MAX_EVIDENCE_PER_BLOCK`].
    pub evidence: Vec<Bytes>,
    /// Root-chain records delivered at the start of this block (version 3).
    pub state_syncs: Vec<StateSyncRecord>,
}

/// `extraData` that is not a LastCommit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LastCommitError {
    /// Unknown version byte.
    #[error(
        "LastCommit version {got}, expected {LAST_COMMIT_VERSION}, {LAST_COMMIT_WITH_EVIDENCE} or {LAST_COMMIT_WITH_STATE_SYNCS}"
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
    /// The state-sync section is malformed.
    #[error("LastCommit state syncs: {what} (got {got}, allowed {max})")]
    StateSyncs {
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
    /// bytes, are left out, and so are records past the per-block limits (a proposer never
    /// builds such a block: see [`Self::fits_state_sync`]).
    pub fn encode(&self) -> Bytes {
        let evidence: Vec<&Bytes> = self
            .evidence
            .iter()
            .filter(|e| !e.is_empty() && e.len() <= MAX_EVIDENCE_SIZE)
            .take(MAX_EVIDENCE_PER_BLOCK)
            .collect();
        let mut records = Vec::new();
        let mut data = 0;
        for r in &self.state_syncs {
            if !Self::fits_state_sync(records.len(), data, r) {
                break;
            }
            data += r.data.len();
            records.push(r);
        }
        let version = if !records.is_empty() {
            LAST_COMMIT_WITH_STATE_SYNCS
        } else if !evidence.is_empty() {
            LAST_COMMIT_WITH_EVIDENCE
        } else {
            LAST_COMMIT_VERSION
        };
        let mut out = Vec::with_capacity(41 + 65 * self.signatures.len());
        out.push(version);
        out.extend_from_slice(&self.round.to_be_bytes());
        out.extend_from_slice(&self.signers.to_be_bytes::<32>());
        for s in &self.signatures {
            out.extend_from_slice(s);
        }
        if version >= LAST_COMMIT_WITH_EVIDENCE {
            out.push(evidence.len() as u8);
            for e in evidence {
                out.extend_from_slice(&(e.len() as u16).to_be_bytes());
                out.extend_from_slice(e);
            }
        }
        if version == LAST_COMMIT_WITH_STATE_SYNCS {
            out.push(records.len() as u8);
            for r in records {
                out.extend_from_slice(&r.root_id.to_be_bytes());
                out.extend_from_slice(&r.id.to_be_bytes());
                out.extend_from_slice(&r.time.to_be_bytes());
                out.extend_from_slice(r.receiver.as_slice());
                out.extend_from_slice(&(r.data.len() as u16).to_be_bytes());
                out.extend_from_slice(&r.data);
            }
        }
        out.into()
    }

    /// Whether `record` may follow `count` records holding `data` bytes in one block.
    pub fn fits_state_sync(count: usize, data: usize, record: &StateSyncRecord) -> bool {
        count < MAX_STATE_SYNCS_PER_BLOCK
            && record.data.len() <= MAX_STATE_SYNC_DATA
            && data + record.data.len() <= MAX_STATE_SYNC_BYTES
    }

    /// Decodes `extra`; empty `extraData` (the first block after genesis) is `None`.
    pub fn decode(extra: &[u8]) -> Result<Option<Self>, LastCommitError> {
        let Some((&version, rest)) = extra.split_first() else { return Ok(None) };
        if !(LAST_COMMIT_VERSION..=LAST_COMMIT_WITH_STATE_SYNCS).contains(&version) {
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
            LAST_COMMIT_WITH_EVIDENCE | LAST_COMMIT_WITH_STATE_SYNCS if body.len() > sig_len => {
                body.split_at(sig_len)
            }
            _ => return Err(length(n)),
        };
        let signatures =
            sigs.chunks_exact(65).map(|c| c.try_into().expect("65-byte chunks")).collect();
        let (evidence, tail) = match version {
            LAST_COMMIT_VERSION => (Vec::new(), tail),
            LAST_COMMIT_WITH_EVIDENCE => (decode_evidence(tail, 1)?, &[][..]),
            _ => decode_evidence_prefix(tail, 0)?,
        };
        let state_syncs = if version == LAST_COMMIT_WITH_STATE_SYNCS {
            decode_state_syncs(tail)?
        } else {
            Vec::new()
        };
        Ok(Some(Self { round, signers, signatures, evidence, state_syncs }))
    }

    /// The members (by index) that signed, ascending.
    pub fn signer_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..256).filter(|i| self.signers.bit(*i))
    }
}

/// `count ‖ count × (length ‖ calldata)`, exactly.
fn decode_evidence(b: &[u8], min: usize) -> Result<Vec<Bytes>, LastCommitError> {
    let (out, rest) = decode_evidence_prefix(b, min)?;
    if !rest.is_empty() {
        return Err(LastCommitError::Evidence { what: "trailing bytes", got: rest.len(), max: 0 });
    }
    Ok(out)
}

/// `count ‖ count × (length ‖ calldata)` at the start of `b`, and what follows it.
fn decode_evidence_prefix(
    mut b: &[u8],
    min: usize,
) -> Result<(Vec<Bytes>, &[u8]), LastCommitError> {
    let bad = |what, got, max| LastCommitError::Evidence { what, got, max };
    let Some((&count, rest)) = b.split_first() else {
        return Err(bad("calls", 0, MAX_EVIDENCE_PER_BLOCK));
    };
    let count = count as usize;
    if count < min || count > MAX_EVIDENCE_PER_BLOCK {
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
    Ok((out, b))
}

/// `count ‖ count × record`, exactly, within the per-block limits.
fn decode_state_syncs(b: &[u8]) -> Result<Vec<StateSyncRecord>, LastCommitError> {
    let bad = |what, got, max| LastCommitError::StateSyncs { what, got, max };
    let Some((&count, mut b)) = b.split_first() else {
        return Err(bad("records", 0, MAX_STATE_SYNCS_PER_BLOCK));
    };
    let count = count as usize;
    if count == 0 || count > MAX_STATE_SYNCS_PER_BLOCK {
        return Err(bad("records", count, MAX_STATE_SYNCS_PER_BLOCK));
    }
    let mut out: Vec<StateSyncRecord> = Vec::with_capacity(count);
    let mut total = 0;
    for _ in 0..count {
        if b.len() < RECORD_HEAD {
            return Err(bad("truncated record", b.len(), RECORD_HEAD));
        }
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let len = u16::from_be_bytes([b[44], b[45]]) as usize;
        if len > MAX_STATE_SYNC_DATA {
            return Err(bad("record data", len, MAX_STATE_SYNC_DATA));
        }
        if b.len() < RECORD_HEAD + len {
            return Err(bad("truncated data", b.len() - RECORD_HEAD, len));
        }
        total += len;
        if total > MAX_STATE_SYNC_BYTES {
            return Err(bad("data in the block", total, MAX_STATE_SYNC_BYTES));
        }
        out.push(StateSyncRecord {
            root_id: u64_at(0),
            id: u64_at(8),
            time: u64_at(16),
            receiver: Address::from_slice(&b[24..44]),
            data: Bytes::copy_from_slice(&b[RECORD_HEAD..RECORD_HEAD + len]),
        });
        b = &b[RECORD_HEAD + len..];
    }
    if !b.is_empty() {
        return Err(bad("trailing bytes", b.len(), 0));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(root_id: u64, id: u64, len: usize) -> StateSyncRecord {
        StateSyncRecord {
            root_id,
            id,
            time: 1_700_000_000 + id,
            receiver: Address::repeat_byte(0x33),
            data: Bytes::from(vec![id as u8; len]),
        }
    }

    #[test]
    fn state_syncs_ride_after_the_evidence_within_limits() {
        let c = LastCommit {
            round: 1,
            signers: U256::from(0b11),
            signatures: vec![[4; 65], [5; 65]],
            evidence: Vec::new(),
            state_syncs: vec![record(31337, 1, 0), record(31337, 2, 300), record(5, 9, 16)],
        };
        let bytes = c.encode();
        assert_eq!(bytes[0], LAST_COMMIT_WITH_STATE_SYNCS);
        assert_eq!(LastCommit::decode(&bytes).unwrap(), Some(c.clone()));
        // With evidence too.
        let both = LastCommit { evidence: vec![Bytes::from_static(&[7, 7])], ..c.clone() };
        assert_eq!(LastCommit::decode(&both.encode()).unwrap(), Some(both.clone()));
        // The encoder stops at the limits: records, one record's data, the block's data.
        let many =
            LastCommit { state_syncs: (1..=40).map(|i| record(1, i, 10)).collect(), ..c.clone() };
        let got = LastCommit::decode(&many.encode()).unwrap().unwrap().state_syncs;
        assert_eq!(got.len(), MAX_STATE_SYNCS_PER_BLOCK);
        assert_eq!(got.last().unwrap().id, MAX_STATE_SYNCS_PER_BLOCK as u64);
        let big = LastCommit {
            state_syncs: (1..=8).map(|i| record(1, i, MAX_STATE_SYNC_DATA)).collect(),
            ..c.clone()
        };
        let got = LastCommit::decode(&big.encode()).unwrap().unwrap().state_syncs;
        assert_eq!(got.len(), MAX_STATE_SYNC_BYTES / MAX_STATE_SYNC_DATA);
        let huge =
            LastCommit { state_syncs: vec![record(1, 1, MAX_STATE_SYNC_DATA + 1)], ..c.clone() };
        assert_eq!(huge.encode()[0], LAST_COMMIT_VERSION, "a record over the cap is left out");
        // The decoder refuses what the encoder never writes.
        let base = LastCommit { state_syncs: Vec::new(), ..c.clone() }.encode().to_vec();
        let with = |tail: &[u8]| {
            let mut b = base.clone();
            b[0] = LAST_COMMIT_WITH_STATE_SYNCS;
            b.push(0); // no evidence
            b.extend_from_slice(tail);
            LastCommit::decode(&b)
        };
        let err = |tail: &[u8]| match with(tail) {
            Err(LastCommitError::StateSyncs { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(err(&[]), "records");
        assert_eq!(err(&[0]), "records");
        assert_eq!(err(&[17]), "records");
        assert_eq!(err(&[1, 0, 0]), "truncated record");
        let one = &bytes[bytes.len() - 3 * 46 - 300 - 16..];
        let mut head = vec![1u8];
        head.extend_from_slice(&one[..46]);
        assert_eq!(with(&head).unwrap().unwrap().state_syncs, vec![record(31337, 1, 0)]);
        let mut long = head.clone();
        long[45] = 0xff;
        long[46] = 0xff;
        assert_eq!(err(&long), "record data");
        let mut short = head.clone();
        short[46] = 5;
        assert_eq!(err(&short), "truncated data");
        let mut trailing = head.clone();
        trailing.push(1);
        assert_eq!(err(&trailing), "trailing bytes");
        let mut flood = vec![5u8];
        for i in 0..5u64 {
            let r = record(1, i + 1, MAX_STATE_SYNC_DATA);
            flood.extend_from_slice(&r.root_id.to_be_bytes());
            flood.extend_from_slice(&r.id.to_be_bytes());
            flood.extend_from_slice(&r.time.to_be_bytes());
            flood.extend_from_slice(r.receiver.as_slice());
            flood.extend_from_slice(&(MAX_STATE_SYNC_DATA as u16).to_be_bytes());
            flood.extend_from_slice(&r.data);
        }
        assert_eq!(err(&flood), "data in the block");
    }

    #[test]
    fn round_trips_and_refuses_what_is_not_one() {
        let c = LastCommit {
            round: 2,
            signers: U256::from(0b1011),
            signatures: vec![[1; 65], [2; 65], [3; 65]],
            evidence: Vec::new(),
            state_syncs: Vec::new(),
        };
        let bytes = c.encode();
        assert_eq!(bytes.len(), 41 + 3 * 65);
        assert_eq!(bytes[0], LAST_COMMIT_VERSION);
        assert_eq!(LastCommit::decode(&bytes).unwrap(), Some(c.clone()));
        assert_eq!(c.signer_indices().collect::<Vec<_>>(), vec![0, 1, 3]);
        assert_eq!(LastCommit::decode(&[]).unwrap(), None);
        assert_eq!(LastCommit::decode(&[4]).unwrap_err(), LastCommitError::Version { got: 4 });
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
            state_syncs: (0..MAX_STATE_SYNCS_PER_BLOCK as u64)
                .map(|i| record(1, i + 1, MAX_STATE_SYNC_BYTES / MAX_STATE_SYNCS_PER_BLOCK))
                .collect(),
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
            state_syncs: Vec::new(),
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
