//! The wire and WAL encoding of consensus messages: borsh, with explicit tags for the
//! engine's enums. Decoding never trusts a length prefix beyond the bytes present.

use crate::BttcContext;
use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::{
    consensus::{LivenessMsg, ProposedValue, SignedConsensusMsg},
    streaming::StreamMessage,
    types::core::{
        ExtendedCommitCertificate, ExtendedCommitSignature, PolkaCertificate, Round, SignedMessage,
        ValidatorProof, Validity,
    },
};
use malachitebft_codec::{Codec, HasEncodedLen};
use malachitebft_sync as sync;

/// A message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("consensus codec: {what}: {reason}")]
pub struct CodecError {
    /// The message type.
    pub what: &'static str,
    /// What went wrong.
    pub reason: String,
}

/// The codec of every consensus, liveness, streaming, sync and WAL message.
#[derive(Debug, Clone, Copy, Default)]
pub struct BttcCodec;

fn enc<T: BorshSerialize>(what: &'static str, v: &T) -> Result<Bytes, CodecError> {
    borsh::to_vec(v).map(Bytes::from).map_err(|e| CodecError { what, reason: e.to_string() })
}

fn dec<T: BorshDeserialize>(what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    borsh::from_slice(bytes).map_err(|e| CodecError { what, reason: e.to_string() })
}

macro_rules! borsh_codec {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl Codec<$ty> for BttcCodec {
            type Error = CodecError;
            fn decode(&self, bytes: Bytes) -> Result<$ty, CodecError> {
                dec($name, &bytes)
            }
            fn encode(&self, msg: &$ty) -> Result<Bytes, CodecError> {
                enc($name, msg)
            }
        }
    )*};
}

borsh_codec! {
    crate::ProposalPart => "proposal part",
    StreamMessage<crate::ProposalPart> => "stream message",
    PolkaCertificate<BttcContext> => "polka certificate",
    sync::Status<BttcContext> => "sync status",
    sync::Request<BttcContext> => "sync request",
}

/// A commit signature with its precommit's vote extension (the extension and the
/// extension's own signature), if it had one.
type WireCommitSignature =
    (crate::ValidatorAddress, crate::EthSignature, Option<(Vec<u8>, crate::EthSignature)>);

/// A decided value in a sync response: the block and its certificate, with the vote
/// extensions (checkpoint signatures) of checkpoint heights.
#[derive(BorshSerialize, BorshDeserialize)]
struct WireDecided {
    value_bytes: Vec<u8>,
    height: crate::BlockHeight,
    round: Round,
    value_id: crate::BlockValue,
    signatures: Vec<WireCommitSignature>,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireResponse {
    start_height: crate::BlockHeight,
    values: Vec<WireDecided>,
}

fn wire_response(msg: &sync::Response<BttcContext>) -> WireResponse {
    let sync::Response::ValueResponse(r) = msg;
    WireResponse {
        start_height: r.start_height,
        values: r
            .values
            .iter()
            .map(|v| WireDecided {
                value_bytes: v.value_bytes.to_vec(),
                height: v.certificate.height,
                round: v.certificate.round,
                value_id: v.certificate.value_id,
                signatures: v
                    .certificate
                    .commit_signatures
                    .iter()
                    .map(|s| {
                        let ext = s.extension.as_ref().map(|e| (e.message.clone(), e.signature));
                        (s.address, s.signature, ext)
                    })
                    .collect(),
            })
            .collect(),
    }
}

impl Codec<sync::Response<BttcContext>> for BttcCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<sync::Response<BttcContext>, CodecError> {
        let w: WireResponse = dec("sync response", &bytes)?;
        let values = w
            .values
            .into_iter()
            .map(|d| {
                sync::RawDecidedValue::new(
                    Bytes::from(d.value_bytes),
                    ExtendedCommitCertificate {
                        height: d.height,
                        round: d.round,
                        value_id: d.value_id,
                        commit_signatures: d
                            .signatures
                            .into_iter()
                            .map(|(a, s, ext)| {
                                let ext = ext.map(|(m, sig)| SignedMessage::new(m, sig));
                                ExtendedCommitSignature::new(a, s, ext)
                            })
                            .collect(),
                    },
                )
            })
            .collect();
        Ok(sync::Response::ValueResponse(sync::ValueResponse::new(w.start_height, values)))
    }
    fn encode(&self, msg: &sync::Response<BttcContext>) -> Result<Bytes, CodecError> {
        enc("sync response", &wire_response(msg))
    }
}

impl HasEncodedLen<sync::Response<BttcContext>> for BttcCodec {
    fn encoded_len(&self, msg: &sync::Response<BttcContext>) -> Result<usize, CodecError> {
        borsh::object_length(&wire_response(msg))
            .map_err(|e| CodecError { what: "sync response", reason: e.to_string() })
    }
}

/// Tagged forms of the engine's enums (which have no borsh derive of their own).
#[derive(BorshSerialize, BorshDeserialize)]
enum WireConsensus {
    Vote(SignedMessage<BttcContext, crate::Vote>),
    Proposal(SignedMessage<BttcContext, crate::Proposal>),
}

impl Codec<SignedConsensusMsg<BttcContext>> for BttcCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<SignedConsensusMsg<BttcContext>, CodecError> {
        Ok(match dec::<WireConsensus>("consensus message", &bytes)? {
            WireConsensus::Vote(v) => SignedConsensusMsg::Vote(v),
            WireConsensus::Proposal(p) => SignedConsensusMsg::Proposal(p),
        })
    }
    fn encode(&self, msg: &SignedConsensusMsg<BttcContext>) -> Result<Bytes, CodecError> {
        let wire = match msg.clone() {
            SignedConsensusMsg::Vote(v) => WireConsensus::Vote(v),
            SignedConsensusMsg::Proposal(p) => WireConsensus::Proposal(p),
        };
        enc("consensus message", &wire)
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
enum WireLiveness {
    Vote(SignedMessage<BttcContext, crate::Vote>),
    Polka(PolkaCertificate<BttcContext>),
    SkipRound(malachitebft_app_channel::app::types::core::RoundCertificate<BttcContext>),
}

impl Codec<LivenessMsg<BttcContext>> for BttcCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<LivenessMsg<BttcContext>, CodecError> {
        Ok(match dec::<WireLiveness>("liveness message", &bytes)? {
            WireLiveness::Vote(v) => LivenessMsg::Vote(v),
            WireLiveness::Polka(c) => LivenessMsg::PolkaCertificate(c),
            WireLiveness::SkipRound(c) => LivenessMsg::SkipRoundCertificate(c),
        })
    }
    fn encode(&self, msg: &LivenessMsg<BttcContext>) -> Result<Bytes, CodecError> {
        let wire = match msg.clone() {
            LivenessMsg::Vote(v) => WireLiveness::Vote(v),
            LivenessMsg::PolkaCertificate(c) => WireLiveness::Polka(c),
            LivenessMsg::SkipRoundCertificate(c) => WireLiveness::SkipRound(c),
        };
        enc("liveness message", &wire)
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: crate::EthSignature,
}

impl Codec<ValidatorProof<BttcContext>> for BttcCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<BttcContext>, CodecError> {
        let w: WireProof = dec("validator proof", &bytes)?;
        Ok(ValidatorProof::new(w.public_key, w.peer_id, w.signature))
    }
    fn encode(&self, msg: &ValidatorProof<BttcContext>) -> Result<Bytes, CodecError> {
        enc(
            "validator proof",
            &WireProof {
                public_key: msg.public_key.clone(),
                peer_id: msg.peer_id.clone(),
                signature: msg.signature,
            },
        )
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireProposedValue {
    height: crate::BlockHeight,
    round: Round,
    valid_round: Round,
    proposer: crate::ValidatorAddress,
    value: crate::BlockValue,
    valid: bool,
}

impl Codec<ProposedValue<BttcContext>> for BttcCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ProposedValue<BttcContext>, CodecError> {
        let w: WireProposedValue = dec("proposed value", &bytes)?;
        Ok(ProposedValue {
            height: w.height,
            round: w.round,
            valid_round: w.valid_round,
            proposer: w.proposer,
            value: w.value,
            validity: Validity::from_bool(w.valid),
        })
    }
    fn encode(&self, msg: &ProposedValue<BttcContext>) -> Result<Bytes, CodecError> {
        enc(
            "proposed value",
            &WireProposedValue {
                height: msg.height,
                round: msg.round,
                valid_round: msg.valid_round,
                proposer: msg.proposer,
                value: msg.value,
                valid: msg.validity.is_valid(),
            },
        )
    }
}
