//! `bttc_getCheckpoint(number | "latest")`: a checkpoint as this node stored it (the range,
//! root hash, set hashes, digest, the signing set and the signatures, ascending by signer)
//! and, on a node that submits, what became of it on each root chain.
//!
//! `number` is a bttc block number: the answer is the checkpoint that covers it; `"latest"`
//! is the last checkpoint stored. `null` when no stored checkpoint covers the block (yet).

use crate::{
    RpcContext,
    error::{RpcError, RpcResult},
};
use alloy_primitives::{Address, B256, Bytes, U64};
use bttc_checkpoint::{RootState, SignedCheckpoint, Submission};
use serde::Serialize;

/// Which checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckpointQuery {
    /// The one covering this block.
    Covering(u64),
    /// The last stored.
    Latest,
}

impl CheckpointQuery {
    pub(crate) fn from_param(v: &serde_json::Value) -> RpcResult<Self> {
        if v.as_str() == Some("latest") {
            return Ok(Self::Latest);
        }
        crate::bor::block_number_param(v).map(Self::Covering).map_err(|_| {
            RpcError::InvalidParams(format!("{v} is neither a block number nor \"latest\""))
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberJson {
    signer: Address,
    power: U64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct SignatureJson {
    signer: Address,
    signature: Bytes,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    name: String,
    root_chain: Address,
    #[serde(flatten)]
    submission: Submission,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
}

/// The answer of `bttc_getCheckpoint`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckpointJson {
    chain_id: U64,
    start: U64,
    end: U64,
    root_hash: B256,
    current_set_hash: B256,
    next_set_hash: B256,
    /// What each validator signed.
    digest: B256,
    validators: Vec<MemberJson>,
    signatures: Vec<SignatureJson>,
    signed_power: String,
    total_power: String,
    /// Whether the signatures carry more than 2/3 of the power (what the root needs).
    quorum: bool,
    roots: Vec<RootJson>,
}

fn to_json(c: &SignedCheckpoint, roots: Vec<(RootState, Submission)>) -> CheckpointJson {
    let k = &c.checkpoint;
    CheckpointJson {
        chain_id: U64::from(k.chain_id),
        start: U64::from(k.start),
        end: U64::from(k.end),
        root_hash: k.root_hash,
        current_set_hash: k.current_set_hash,
        next_set_hash: k.next_set_hash,
        digest: k.digest(),
        validators: c
            .members
            .iter()
            .map(|m| MemberJson { signer: m.signer, power: U64::from(m.power) })
            .collect(),
        signatures: c
            .signatures
            .iter()
            .map(|s| SignatureJson {
                signer: s.signer,
                signature: Bytes::copy_from_slice(&s.signature),
            })
            .collect(),
        signed_power: c.signed_power().to_string(),
        total_power: c.total_power().to_string(),
        quorum: c.has_quorum(),
        roots: roots
            .into_iter()
            .map(|(r, submission)| RootJson {
                name: r.name,
                root_chain: r.root_chain,
                submission,
                last_error: r.last_error,
            })
            .collect(),
    }
}

impl RpcContext {
    /// `bttc_getCheckpoint`.
    pub(crate) fn checkpoint(&self, q: CheckpointQuery) -> RpcResult<Option<CheckpointJson>> {
        let ro = self.ro()?;
        let stored = match q {
            CheckpointQuery::Latest => ro.last_checkpoint()?,
            CheckpointQuery::Covering(n) => ro.checkpoint_from(n)?,
        };
        let Some((end, bytes)) = stored else { return Ok(None) };
        let c = SignedCheckpoint::decode(&bytes)
            .map_err(|e| RpcError::Internal(format!("stored checkpoint ending at {end}: {e}")))?;
        if let CheckpointQuery::Covering(n) = q
            && n < c.checkpoint.start
        {
            return Ok(None); // a gap: this node has no checkpoint for the block
        }
        let roots = self.checkpoint_status.as_ref().map(|s| s.of(end)).unwrap_or_default();
        Ok(Some(to_json(&c, roots)))
    }
}
