//! Signatures: secp256k1 over a keccak256 prehash, 65 bytes `r ‖ s ‖ v` with `v` 27 or 28,
//! so that a contract can `ecrecover` any vote, proposal or certificate signature.
//!
//! Every signed message is hashed with a domain tag and the chain id, so a signature is
//! valid for one kind of message on one chain only.

use crate::{BlockHeight, BlockValue, BttcContext, Proposal, ValidatorAddress, Vote};
use alloy_primitives::{Address, B256, keccak256};
use async_trait::async_trait;
use borsh::{BorshDeserialize, BorshSerialize};
use k256::ecdsa::{RecoveryId, Signature as K256Signature, SigningKey, VerifyingKey};
use malachitebft_core_types::{
    self as mct, NilOrVal, Round, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_signing::{Error as SigningError, Signer, VerificationResult, Verifier};

/// A 65-byte recoverable secp256k1 signature, `r ‖ s ‖ v` (v = 27 or 28).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EthSignature(pub [u8; 65]);

impl std::fmt::Debug for EthSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex_short(&self.0))
    }
}

fn hex_short(b: &[u8]) -> String {
    b.iter().take(8).map(|x| format!("{x:02x}")).collect::<String>() + "…"
}

impl BorshSerialize for EthSignature {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(&self.0)
    }
}

impl BorshDeserialize for EthSignature {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let mut b = [0u8; 65];
        reader.read_exact(&mut b)?;
        Ok(Self(b))
    }
}

/// A signature or key could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningDecodeError {
    /// Wrong length.
    #[error("{what}: got {got} bytes, expected {expected}")]
    Length {
        /// What was decoded.
        what: &'static str,
        /// Bytes given.
        got: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// Not a point on the curve / not a valid key.
    #[error("invalid public key")]
    PublicKey,
}

impl EthSignature {
    /// Signs `hash` with `key`.
    pub fn sign(key: &SigningKey, hash: &B256) -> Self {
        let (sig, recid) = key
            .sign_prehash_recoverable(hash.as_slice())
            .expect("a 32-byte prehash is always signable");
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + recid.to_byte();
        Self(out)
    }

    /// The address whose key made this signature over `hash`, if it is a valid low-s
    /// signature.
    pub fn recover(&self, hash: &B256) -> Option<Address> {
        let sig = K256Signature::from_slice(&self.0[..64]).ok()?;
        if sig.normalize_s().is_some() {
            return None; // high s: malleable, refused
        }
        let v = self.0[64].checked_sub(27)?;
        let recid = RecoveryId::from_byte(v)?;
        let key = VerifyingKey::recover_from_prehash(hash.as_slice(), &sig, recid).ok()?;
        Some(address_of(&key))
    }
}

/// The Ethereum address of a public key.
pub fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

/// The signing scheme of bttc consensus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Secp256k1Scheme;

impl mct::SigningScheme for Secp256k1Scheme {
    type DecodingError = SigningDecodeError;
    type Signature = EthSignature;
    type PublicKey = VerifyingKey;
    type PrivateKey = SigningKey;

    fn decode_signature(bytes: &[u8]) -> Result<EthSignature, SigningDecodeError> {
        let arr: [u8; 65] = bytes.try_into().map_err(|_| SigningDecodeError::Length {
            what: "signature",
            got: bytes.len(),
            expected: 65,
        })?;
        Ok(EthSignature(arr))
    }

    fn encode_signature(signature: &EthSignature) -> Vec<u8> {
        signature.0.to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<VerifyingKey, SigningDecodeError> {
        VerifyingKey::from_sec1_bytes(bytes).map_err(|_| SigningDecodeError::PublicKey)
    }

    fn encode_public_key(public_key: &VerifyingKey) -> Vec<u8> {
        public_key.to_encoded_point(true).as_bytes().to_vec()
    }
}

const VOTE_DOMAIN: &[u8] = b"bttc/vote/v1";
const PROPOSAL_DOMAIN: &[u8] = b"bttc/proposal/v1";
const PROOF_DOMAIN: &[u8] = b"bttc/validator-proof/v1";
const EXTENSION_DOMAIN: &[u8] = b"bttc/vote-extension/v2";

fn round_bytes(r: Round) -> [u8; 8] {
    r.as_i64().to_be_bytes()
}

/// The hash a validator signs for a vote: keccak256 of
/// `"bttc/vote/v1" ‖ chainId(8) ‖ type(1: 1 prevote, 2 precommit) ‖ height(8) ‖ round(8, -1 =
/// nil) ‖ blockHash(32, zero for nil) ‖ isNil(1) ‖ validator(20)`.
pub fn vote_signing_hash(
    chain_id: u64,
    vote_type: VoteType,
    height: BlockHeight,
    round: Round,
    value: &NilOrVal<BlockValue>,
    validator: &ValidatorAddress,
) -> B256 {
    let mut b = Vec::with_capacity(VOTE_DOMAIN.len() + 8 + 1 + 8 + 8 + 32 + 1 + 20);
    b.extend_from_slice(VOTE_DOMAIN);
    b.extend_from_slice(&chain_id.to_be_bytes());
    b.push(match vote_type {
        VoteType::Prevote => 1,
        VoteType::Precommit => 2,
    });
    b.extend_from_slice(&height.0.to_be_bytes());
    b.extend_from_slice(&round_bytes(round));
    match value {
        NilOrVal::Val(v) => {
            b.extend_from_slice(v.0.as_slice());
            b.push(0);
        }
        NilOrVal::Nil => {
            b.extend_from_slice(&[0u8; 32]);
            b.push(1);
        }
    }
    b.extend_from_slice(validator.0.as_slice());
    keccak256(&b)
}

/// The hash a proposer signs for a proposal (and in the `Fin` part of its stream): keccak256 of
/// `"bttc/proposal/v1" ‖ chainId(8) ‖ height(8) ‖ round(8) ‖ blockHash(32) ‖ polRound(8) ‖
/// proposer(20)`.
pub fn proposal_signing_hash(
    chain_id: u64,
    height: BlockHeight,
    round: Round,
    value: &BlockValue,
    pol_round: Round,
    proposer: &ValidatorAddress,
) -> B256 {
    let mut b = Vec::with_capacity(PROPOSAL_DOMAIN.len() + 8 + 8 + 8 + 32 + 8 + 20);
    b.extend_from_slice(PROPOSAL_DOMAIN);
    b.extend_from_slice(&chain_id.to_be_bytes());
    b.extend_from_slice(&height.0.to_be_bytes());
    b.extend_from_slice(&round_bytes(round));
    b.extend_from_slice(value.0.as_slice());
    b.extend_from_slice(&round_bytes(pol_round));
    b.extend_from_slice(proposer.0.as_slice());
    keccak256(&b)
}

/// The hash a validator signs for a vote extension, bound to the precommit it rides on:
/// keccak256 of `"bttc/vote-extension/v2" ‖ chainId(8) ‖ height(8) ‖ round(8) ‖ blockHash(32)
/// ‖ validator(20) ‖ keccak256(extension bytes)(32)`. A signature for one height, round,
/// block or validator does not verify for another.
pub fn extension_signing_hash(
    chain_id: u64,
    scope: &VoteExtensionScope<BttcContext>,
    extension: &[u8],
) -> B256 {
    let mut b = Vec::with_capacity(EXTENSION_DOMAIN.len() + 8 + 8 + 8 + 32 + 20 + 32);
    b.extend_from_slice(EXTENSION_DOMAIN);
    b.extend_from_slice(&chain_id.to_be_bytes());
    b.extend_from_slice(&scope.height.0.to_be_bytes());
    b.extend_from_slice(&round_bytes(scope.round));
    b.extend_from_slice(scope.value_id.0.as_slice());
    b.extend_from_slice(scope.validator_address.0.as_slice());
    b.extend_from_slice(keccak256(extension).as_slice());
    keccak256(&b)
}

fn proof_signing_hash(chain_id: u64, public_key: &[u8], peer_id: &[u8]) -> B256 {
    let mut b = PROOF_DOMAIN.to_vec();
    b.extend_from_slice(&chain_id.to_be_bytes());
    b.extend_from_slice(&ValidatorProof::<BttcContext>::signing_bytes(public_key, peer_id));
    keccak256(&b)
}

impl Vote {
    /// The hash this vote's signature covers.
    pub fn signing_hash(&self, chain_id: u64) -> B256 {
        vote_signing_hash(
            chain_id,
            self.vote_type,
            self.height,
            self.round,
            &self.value,
            &self.validator,
        )
    }
}

impl Proposal {
    /// The hash this proposal's signature covers.
    pub fn signing_hash(&self, chain_id: u64) -> B256 {
        proposal_signing_hash(
            chain_id,
            self.height,
            self.round,
            &self.value,
            self.pol_round,
            &self.proposer,
        )
    }
}

/// Signs consensus messages with a validator's key.
#[derive(Clone)]
pub struct ConsensusSigner {
    key: SigningKey,
    chain_id: u64,
}

impl std::fmt::Debug for ConsensusSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusSigner")
            .field("address", &self.address())
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

impl ConsensusSigner {
    /// A signer for `chain_id` with `key`.
    pub const fn new(key: SigningKey, chain_id: u64) -> Self {
        Self { key, chain_id }
    }

    /// The signer's address.
    pub fn address(&self) -> ValidatorAddress {
        ValidatorAddress(address_of(self.key.verifying_key()))
    }

    /// Signs an arbitrary prehash (proposal `Fin` parts use [`proposal_signing_hash`]).
    pub fn sign_hash(&self, hash: &B256) -> EthSignature {
        EthSignature::sign(&self.key, hash)
    }
}

/// Checks that `signature` over `hash` was made by `public_key`.
fn verify(signature: &EthSignature, hash: &B256, public_key: &VerifyingKey) -> VerificationResult {
    VerificationResult::from_bool(signature.recover(hash) == Some(address_of(public_key)))
}

#[async_trait]
impl Signer<BttcContext> for ConsensusSigner {
    async fn sign_vote(
        &self,
        vote: Vote,
    ) -> Result<SignedMessage<BttcContext, Vote>, SigningError> {
        let sig = self.sign_hash(&vote.signing_hash(self.chain_id));
        Ok(SignedMessage::new(vote, sig))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<BttcContext, Proposal>, SigningError> {
        let sig = self.sign_hash(&proposal.signing_hash(self.chain_id));
        Ok(SignedMessage::new(proposal, sig))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<BttcContext>,
        extension: Vec<u8>,
    ) -> Result<SignedMessage<BttcContext, Vec<u8>>, SigningError> {
        let sig = self.sign_hash(&extension_signing_hash(self.chain_id, &scope, &extension));
        Ok(SignedMessage::new(extension, sig))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<BttcContext>, SigningError> {
        let sig = self.sign_hash(&proof_signing_hash(self.chain_id, &public_key, &peer_id));
        Ok(ValidatorProof::new(public_key, peer_id, sig))
    }
}

/// Verifies consensus signatures for one chain.
#[derive(Debug, Clone, Copy)]
pub struct ConsensusVerifier {
    chain_id: u64,
}

impl ConsensusVerifier {
    /// A verifier for `chain_id`.
    pub const fn new(chain_id: u64) -> Self {
        Self { chain_id }
    }
}

#[async_trait]
impl Verifier<BttcContext> for ConsensusVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &EthSignature,
        public_key: &VerifyingKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verify(signature, &vote.signing_hash(self.chain_id), public_key))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &EthSignature,
        public_key: &VerifyingKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verify(signature, &proposal.signing_hash(self.chain_id), public_key))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<BttcContext>,
        extension: &Vec<u8>,
        signature: &EthSignature,
        public_key: &VerifyingKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verify(signature, &extension_signing_hash(self.chain_id, scope, extension), public_key))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<BttcContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(key) = VerifyingKey::from_sec1_bytes(&proof.public_key) else {
            return Ok(VerificationResult::Invalid);
        };
        let hash = proof_signing_hash(self.chain_id, &proof.public_key, &proof.peer_id);
        Ok(verify(&proof.signature, &hash, &key))
    }
}
