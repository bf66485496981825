//! What validators sign for a checkpoint, and a checkpoint with its signatures.
//!
//! The digest is the one `RootChain.checkpointDigest` computes:
//! `keccak256(0x01 ‖ abi.encode(chainId, start, end, rootHash, currentSetHash, nextSetHash))`,
//! where a set hash is `keccak256(abi.encode(address[] signers, uint256[] powers))` over the
//! members in ascending signer order ([`set_hash`]). The next set hash differs from the
//! current one only on the checkpoint that ends an epoch whose successor has another set.
//!
//! Signatures are 65 bytes, `r ‖ s ‖ v` with `v` 27 or 28 and a low `s`, as the root's
//! `ecrecover` check wants them.

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;

/// A checkpoint as its signers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The bttc chain id.
    pub chain_id: u64,
    /// First block covered.
    pub start: u64,
    /// Last block covered.
    pub end: u64,
    /// [`crate::root`] of `[start, end]`.
    pub root_hash: B256,
    /// [`set_hash`] of the set that finalized `[start, end]`.
    pub current_set_hash: B256,
    /// [`set_hash`] of the set that finalizes `end + 1`.
    pub next_set_hash: B256,
}

impl Checkpoint {
    /// The hash each validator signs.
    pub fn digest(&self) -> B256 {
        let mut b = Vec::with_capacity(1 + 6 * 32);
        b.push(0x01);
        b.extend_from_slice(
            &(
                U256::from(self.chain_id),
                U256::from(self.start),
                U256::from(self.end),
                self.root_hash,
                self.current_set_hash,
                self.next_set_hash,
            )
                .abi_encode_params(),
        );
        keccak256(b)
    }
}

/// A member of a validator set as the root keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    /// Its signing address.
    pub signer: Address,
    /// Its voting power.
    pub power: u64,
}

/// `members` in ascending signer order (the order the root wants).
pub fn sorted(members: impl IntoIterator<Item = Member>) -> Vec<Member> {
    let mut v: Vec<Member> = members.into_iter().collect();
    v.sort_by_key(|m| m.signer);
    v
}

/// The root's hash of a set: `keccak256(abi.encode(signers, powers))`, ascending by signer.
pub fn set_hash(members: &[Member]) -> B256 {
    let members = sorted(members.iter().copied());
    let signers: Vec<Address> = members.iter().map(|m| m.signer).collect();
    let powers: Vec<U256> = members.iter().map(|m| U256::from(m.power)).collect();
    keccak256((signers, powers).abi_encode_params())
}

/// The signer of `signature` over `hash`, if it is 65 bytes with `v` 27/28 and a low `s`
/// (the forms the root accepts).
pub fn recover(signature: &[u8], hash: &B256) -> Option<Address> {
    let sig: &[u8; 65] = signature.try_into().ok()?;
    let v = sig[64].checked_sub(27).filter(|v| *v <= 1)?;
    let s = U256::from_be_slice(&sig[32..64]);
    if s > SECP256K1N_HALF {
        return None;
    }
    alloy_primitives::Signature::from_bytes_and_parity(&sig[..64], v == 1)
        .recover_address_from_prehash(hash)
        .ok()
}

/// Half the secp256k1 group order: the largest `s` a low-s signature has.
const SECP256K1N_HALF: U256 = U256::from_be_bytes([
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/// One validator's signature on a checkpoint, with the consensus signature of the vote
/// extension that carried it (so the certificate can be served to syncing nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointSignature {
    /// Who signed.
    pub signer: Address,
    /// Its signature over [`Checkpoint::digest`].
    pub signature: [u8; 65],
    /// Its consensus signature over the vote extension (scope-bound).
    pub extension_signature: [u8; 65],
}

/// A checkpoint, the set that signed it and the signatures this node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What was signed.
    pub checkpoint: Checkpoint,
    /// The signing set, ascending by signer ([`set_hash`] of it is the current set hash).
    pub members: Vec<Member>,
    /// Valid signatures, ascending by signer, at most one per member.
    pub signatures: Vec<CheckpointSignature>,
}

/// A stored checkpoint record does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checkpoint record ({len} bytes) does not decode: {reason}")]
pub struct RecordError {
    /// Its length.
    pub len: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl SignedCheckpoint {
    const VERSION: u8 = 1;

    /// A checkpoint without signatures yet.
    pub fn new(checkpoint: Checkpoint, members: Vec<Member>) -> Self {
        Self { checkpoint, members: sorted(members), signatures: Vec::new() }
    }

    /// The set's total power.
    pub fn total_power(&self) -> u128 {
        self.members.iter().map(|m| m.power as u128).sum()
    }

    /// The power behind the signatures held.
    pub fn signed_power(&self) -> u128 {
        self.signatures
            .iter()
            .filter_map(|s| self.members.iter().find(|m| m.signer == s.signer))
            .map(|m| m.power as u128)
            .sum()
    }

    /// Whether the signatures held carry more than 2/3 of the set's power (what the root
    /// needs).
    pub fn has_quorum(&self) -> bool {
        self.signed_power() * 3 > self.total_power() * 2
    }

    /// Adds a signature if it is a member's valid signature over the digest and the member
    /// has none yet; returns whether it was added.
    pub fn add(&mut self, s: CheckpointSignature) -> bool {
        if !self.members.iter().any(|m| m.signer == s.signer)
            || recover(&s.signature, &self.checkpoint.digest()) != Some(s.signer)
        {
            return false;
        }
        match self.signatures.binary_search_by_key(&s.signer, |x| x.signer) {
            Ok(_) => false,
            Err(i) => {
                self.signatures.insert(i, s);
                true
            }
        }
    }

    /// The stored form: `version ‖ chainId 8 ‖ start 8 ‖ end 8 ‖ root 32 ‖ current 32 ‖ next 32
    /// ‖ n 4 ‖ n × (signer 20 ‖ power 8) ‖ k 4 ‖ k × (signer 20 ‖ sig 65 ‖ extension sig 65)`.
    pub fn encode(&self) -> Vec<u8> {
        let c = &self.checkpoint;
        let mut out =
            Vec::with_capacity(129 + 28 * self.members.len() + 150 * self.signatures.len());
        out.push(Self::VERSION);
        for n in [c.chain_id, c.start, c.end] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        for h in [c.root_hash, c.current_set_hash, c.next_set_hash] {
            out.extend_from_slice(h.as_slice());
        }
        out.extend_from_slice(&(self.members.len() as u32).to_be_bytes());
        for m in &self.members {
            out.extend_from_slice(m.signer.as_slice());
            out.extend_from_slice(&m.power.to_be_bytes());
        }
        out.extend_from_slice(&(self.signatures.len() as u32).to_be_bytes());
        for s in &self.signatures {
            out.extend_from_slice(s.signer.as_slice());
            out.extend_from_slice(&s.signature);
            out.extend_from_slice(&s.extension_signature);
        }
        out
    }

    /// Decodes [`Self::encode`]'s bytes.
    pub fn decode(b: &[u8]) -> Result<Self, RecordError> {
        let err = |reason| RecordError { len: b.len(), reason };
        let mut r = Reader { b, at: 0 };
        if r.take(1).ok_or(err("empty"))?[0] != Self::VERSION {
            return Err(err("unknown version"));
        }
        let short = || err("truncated");
        let mut n = [0u64; 3];
        for x in &mut n {
            *x = r.u64().ok_or_else(short)?;
        }
        let mut h = [B256::ZERO; 3];
        for x in &mut h {
            *x = B256::from_slice(r.take(32).ok_or_else(short)?);
        }
        let members_len = r.u32().ok_or_else(short)? as usize;
        if members_len > b.len() / 28 {
            return Err(err("member count beyond the bytes"));
        }
        let mut members = Vec::with_capacity(members_len);
        for _ in 0..members_len {
            let signer = Address::from_slice(r.take(20).ok_or_else(short)?);
            members.push(Member { signer, power: r.u64().ok_or_else(short)? });
        }
        let sigs_len = r.u32().ok_or_else(short)? as usize;
        if sigs_len > b.len() / 150 {
            return Err(err("signature count beyond the bytes"));
        }
        let mut signatures = Vec::with_capacity(sigs_len);
        for _ in 0..sigs_len {
            let signer = Address::from_slice(r.take(20).ok_or_else(short)?);
            let signature = r.take(65).ok_or_else(short)?.try_into().expect("65 bytes");
            let extension_signature = r.take(65).ok_or_else(short)?.try_into().expect("65 bytes");
            signatures.push(CheckpointSignature { signer, signature, extension_signature });
        }
        if r.at != b.len() {
            return Err(err("trailing bytes"));
        }
        let checkpoint = Checkpoint {
            chain_id: n[0],
            start: n[1],
            end: n[2],
            root_hash: h[0],
            current_set_hash: h[1],
            next_set_hash: h[2],
        };
        Ok(Self { checkpoint, members, signatures })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::ecdsa::SigningKey;

    fn key(i: u8) -> SigningKey {
        SigningKey::from_slice(&[i; 32]).unwrap()
    }

    fn address(k: &SigningKey) -> Address {
        let p = k.verifying_key().to_encoded_point(false);
        Address::from_slice(&keccak256(&p.as_bytes()[1..])[12..])
    }

    fn sign(k: &SigningKey, hash: &B256) -> [u8; 65] {
        let (sig, recid) = k.sign_prehash_recoverable(hash.as_slice()).unwrap();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + recid.to_byte();
        out
    }

    fn fixture() -> (Vec<SigningKey>, SignedCheckpoint) {
        let keys: Vec<_> = (1..=4).map(key).collect();
        let members: Vec<_> =
            keys.iter().map(|k| Member { signer: address(k), power: 100 }).collect();
        let h = set_hash(&members);
        let c = Checkpoint {
            chain_id: 7,
            start: 1,
            end: 32,
            root_hash: B256::repeat_byte(9),
            current_set_hash: h,
            next_set_hash: h,
        };
        (keys, SignedCheckpoint::new(c, members))
    }

    #[test]
    fn quorum_needs_more_than_two_thirds_of_the_power() {
        let (keys, mut cp) = fixture();
        let d = cp.checkpoint.digest();
        for (i, k) in keys.iter().enumerate() {
            let s = CheckpointSignature {
                signer: address(k),
                signature: sign(k, &d),
                extension_signature: [0; 65],
            };
            assert_eq!(cp.has_quorum(), i >= 3, "{i} of 4 signed");
            assert!(cp.add(s));
            assert!(!cp.add(s), "a second copy is not added");
        }
        assert!(cp.has_quorum());
        assert!(cp.signatures.windows(2).all(|w| w[0].signer < w[1].signer));
    }

    #[test]
    fn refuses_strangers_wrong_digests_and_high_s() {
        let (keys, mut cp) = fixture();
        let d = cp.checkpoint.digest();
        let stranger = key(9);
        let s = CheckpointSignature {
            signer: address(&stranger),
            signature: sign(&stranger, &d),
            extension_signature: [0; 65],
        };
        assert!(!cp.add(s), "not a member");
        let k = &keys[0];
        let other = B256::repeat_byte(1);
        let s = CheckpointSignature {
            signer: address(k),
            signature: sign(k, &other),
            extension_signature: [0; 65],
        };
        assert!(!cp.add(s), "signed something else");
        // The high-s twin of a valid signature: s' = n - s, v flipped.
        let mut sig = sign(k, &d);
        let n = U256::from_be_bytes(SECP256K1N_HALF.to_be_bytes::<32>()) * U256::from(2)
            + U256::from(1);
        let s_hi = n - U256::from_be_slice(&sig[32..64]);
        sig[32..64].copy_from_slice(&s_hi.to_be_bytes::<32>());
        sig[64] = if sig[64] == 27 { 28 } else { 27 };
        assert_eq!(recover(&sig, &d), None);
        assert_eq!(recover(&sign(k, &d)[..64], &d), None, "64 bytes");
        assert!(cp.signatures.is_empty());
    }

    #[test]
    fn record_round_trips_and_refuses_damage() {
        let (keys, mut cp) = fixture();
        let d = cp.checkpoint.digest();
        for k in &keys[..3] {
            cp.add(CheckpointSignature {
                signer: address(k),
                signature: sign(k, &d),
                extension_signature: [7; 65],
            });
        }
        let b = cp.encode();
        assert_eq!(SignedCheckpoint::decode(&b).unwrap(), cp);
        for cut in [0, 1, 50, b.len() - 1] {
            assert!(SignedCheckpoint::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(SignedCheckpoint::decode(&long).unwrap_err().reason, "trailing bytes");
        let mut huge = b.clone();
        let at = 1 + 24 + 96;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(SignedCheckpoint::decode(&huge).is_err());
    }

    #[test]
    fn set_hash_ignores_input_order() {
        let (_, cp) = fixture();
        let mut rev = cp.members.clone();
        rev.reverse();
        assert_eq!(set_hash(&rev), set_hash(&cp.members));
        assert_eq!(set_hash(&cp.members), cp.checkpoint.current_set_hash);
    }
}
