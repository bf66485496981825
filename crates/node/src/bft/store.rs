//! What consensus keeps in the chain database: proposed blocks of undecided heights (so that
//! a restarted validator re-proposes the same block and can answer for the values it saw)
//! and the commit certificate of every decided block.

use alloy_primitives::B256;
use borsh::{BorshDeserialize, BorshSerialize};
use bttc_consensus::{
    BlockHeight, BlockValue, BttcContext, CommitCertificate, ValidatorAddress,
    core_types::{Round, Validity},
    engine_channel::app::types::ProposedValue,
};
use bttc_storage::{Provider, PtrUnsync, StorageError, TransactionKind};

/// A proposed block and what the proposal said about it.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub(crate) struct StoredProposal {
    /// The (latest) round it was proposed in.
    pub(crate) round: Round,
    /// Its proof-of-lock round.
    pub(crate) pol_round: Round,
    /// Who proposed it.
    pub(crate) proposer: ValidatorAddress,
    /// Whether it passed validation here.
    pub(crate) valid: bool,
    /// The block, RLP.
    pub(crate) block_rlp: Vec<u8>,
}

impl StoredProposal {
    /// The proposed value the engine expects for this block at `height`.
    pub(crate) fn proposed_value(&self, height: u64, hash: B256) -> ProposedValue<BttcContext> {
        ProposedValue {
            height: BlockHeight(height),
            round: self.round,
            valid_round: self.pol_round,
            proposer: self.proposer,
            value: BlockValue(hash),
            validity: Validity::from_bool(self.valid),
        }
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Inconsistent(format!("{what} cannot be decoded: {e}"))
}

/// Reads a stored proposal.
pub(crate) fn load_proposal<K: TransactionKind<Access = PtrUnsync>>(
    p: &Provider<K>,
    height: u64,
    hash: &B256,
) -> Result<Option<StoredProposal>, StorageError> {
    p.proposed_block(height, hash)?
        .map(|b| borsh::from_slice(&b).map_err(|e| corrupt("stored proposal", e)))
        .transpose()
}

/// Every stored proposal at `height`.
pub(crate) fn proposals_at<K: TransactionKind<Access = PtrUnsync>>(
    p: &Provider<K>,
    height: u64,
) -> Result<Vec<(B256, StoredProposal)>, StorageError> {
    p.proposed_blocks_at(height)?
        .into_iter()
        .map(|(h, b)| {
            borsh::from_slice(&b).map(|s| (h, s)).map_err(|e| corrupt("stored proposal", e))
        })
        .collect()
}

/// Encodes a proposal for [`bttc_storage::Provider::put_proposed_block`].
pub(crate) fn encode_proposal(p: &StoredProposal) -> Vec<u8> {
    borsh::to_vec(p).expect("in-memory borsh encoding cannot fail")
}

/// Encodes a certificate for storage.
pub fn encode_certificate(c: &CommitCertificate) -> Vec<u8> {
    borsh::to_vec(c).expect("in-memory borsh encoding cannot fail")
}

/// Decodes a stored certificate.
pub fn decode_certificate(bytes: &[u8]) -> Result<CommitCertificate, StorageError> {
    borsh::from_slice(bytes).map_err(|e| corrupt("stored certificate", e))
}

/// The certificate of block `number`, if it was decided by consensus.
pub fn certificate<K: TransactionKind<Access = PtrUnsync>>(
    p: &Provider<K>,
    number: u64,
) -> Result<Option<CommitCertificate>, StorageError> {
    p.certificate(number)?.map(|b| decode_certificate(&b)).transpose()
}

/// Serves `bttc_getCommit` from the certificates table.
#[derive(Debug, Clone)]
pub(crate) struct StoredCommits {
    pub(crate) db: bttc_storage::DatabaseEnv,
    pub(crate) chain_id: u64,
}

impl bttc_rpc::CommitSource for StoredCommits {
    fn commit(&self, number: u64) -> Result<Option<serde_json::Value>, String> {
        let ro = self.db.ro().map_err(|e| e.to_string())?;
        let Some(cert) = certificate(&ro, number).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        Ok(Some(certificate_json(&cert, self.chain_id)))
    }
}

/// A certificate as `bttc_getCommit` returns it: each precommit signature with the hash it
/// signs, so a contract or script can `ecrecover` it.
pub fn certificate_json(cert: &CommitCertificate, chain_id: u64) -> serde_json::Value {
    use bttc_consensus::{
        core_types::{NilOrVal, VoteType},
        vote_signing_hash,
    };
    let signatures: Vec<_> = cert
        .commit_signatures
        .iter()
        .map(|s| {
            let hash = vote_signing_hash(
                chain_id,
                VoteType::Precommit,
                cert.height,
                cert.round,
                &NilOrVal::Val(cert.value_id),
                &s.address,
            );
            serde_json::json!({
                "validator": s.address.0,
                "signature": alloy_primitives::Bytes::copy_from_slice(&s.signature.0),
                "signingHash": hash,
            })
        })
        .collect();
    serde_json::json!({
        "height": format!("{:#x}", cert.height.0),
        "round": cert.round.as_i64(),
        "blockHash": cert.value_id.0,
        "signatures": signatures,
    })
}
