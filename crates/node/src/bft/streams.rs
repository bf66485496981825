//! Reassembly of streamed proposals: parts arrive in any order and through any neighbour;
//! a stream is complete when `Init`, every `Data` chunk and `Fin` are in. Streams are keyed
//! by their publisher (the gossip author, authenticated by libp2p) and stream id, so that parts
//! injected by another peer under someone else's stream id never mix into that stream and a
//! bad stream is always its publisher's fault. Streams are bounded in size and number so that
//! a peer cannot make this node buffer without limit.

use bttc_consensus::engine_channel::app::engine::util::streaming::StreamContent;
use bttc_consensus::{
    BlockHeight, EthSignature, ProposalPart, ValidatorAddress,
    core_types::Round,
    engine_channel::app::types::streaming::{StreamId, StreamMessage},
};
use malachitebft_network::PeerId;
use std::collections::{BTreeMap, HashMap};

/// The largest block a proposal stream may carry.
pub(crate) const MAX_STREAM_BYTES: usize = 32 * 1024 * 1024;
/// At most this many proposal streams are buffered at once.
pub(crate) const MAX_STREAMS: usize = 64;
/// A block is cut into chunks of this size.
pub(crate) const CHUNK_BYTES: usize = 128 * 1024;

/// A fully received proposal.
#[derive(Debug, Clone)]
pub(crate) struct AssembledProposal {
    pub(crate) height: BlockHeight,
    pub(crate) round: Round,
    pub(crate) pol_round: Round,
    pub(crate) proposer: ValidatorAddress,
    pub(crate) block_rlp: Vec<u8>,
    pub(crate) signature: EthSignature,
    /// The peer that published every part of the stream.
    pub(crate) publisher: PeerId,
}

#[derive(Debug, Default)]
struct Stream {
    parts: BTreeMap<u64, ProposalPart>,
    /// Sequence number of the stream's end marker, once seen.
    end: Option<u64>,
    bytes: usize,
    height: Option<BlockHeight>,
}

/// A stream was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum StreamError {
    /// Too large.
    #[error("proposal stream {stream} exceeds {max} bytes")]
    TooLarge { stream: String, max: usize },
    /// Not Init, Data…, Fin.
    #[error("proposal stream {stream} is malformed: {reason}")]
    Malformed { stream: String, reason: &'static str },
}

/// Buffers incomplete streams.
#[derive(Debug, Default)]
pub(crate) struct PartStreams {
    streams: HashMap<(PeerId, StreamId), Stream>,
}

impl PartStreams {
    /// Adds a part; returns the proposal once its stream is complete.
    pub(crate) fn insert(
        &mut self,
        publisher: PeerId,
        msg: StreamMessage<ProposalPart>,
    ) -> Result<Option<AssembledProposal>, StreamError> {
        let id = (publisher, msg.stream_id.clone());
        if !self.streams.contains_key(&id) && self.streams.len() >= MAX_STREAMS {
            // Evict the stream of the lowest height: the oldest, most likely stale.
            if let Some(victim) = self
                .streams
                .iter()
                .min_by_key(|(_, s)| s.height.map(|h| h.0).unwrap_or(0))
                .map(|(k, _)| k.clone())
            {
                self.streams.remove(&victim);
            }
        }
        let stream = self.streams.entry(id.clone()).or_default();
        match msg.content {
            StreamContent::Fin => stream.end = Some(msg.sequence),
            StreamContent::Data(part) => {
                if let ProposalPart::Data(d) = &part {
                    stream.bytes += d.len();
                    if stream.bytes > MAX_STREAM_BYTES {
                        self.streams.remove(&id);
                        return Err(StreamError::TooLarge {
                            stream: id.1.to_string(),
                            max: MAX_STREAM_BYTES,
                        });
                    }
                }
                if let ProposalPart::Init { height, .. } = &part {
                    stream.height = Some(*height);
                }
                stream.parts.entry(msg.sequence).or_insert(part);
            }
        }
        let complete = match stream.end {
            Some(end) => stream.parts.len() as u64 == end && stream.parts.keys().all(|k| *k < end),
            None => false,
        };
        if !complete {
            return Ok(None);
        }
        let stream = self.streams.remove(&id).expect("present");
        assemble(publisher, &id.1, stream).map(Some)
    }

    /// Drops every stream of a height below `height`.
    pub(crate) fn prune_below(&mut self, height: BlockHeight) {
        self.streams.retain(|_, s| s.height.is_none_or(|h| h >= height));
    }
}

fn assemble(
    publisher: PeerId,
    id: &StreamId,
    stream: Stream,
) -> Result<AssembledProposal, StreamError> {
    let malformed = |reason| StreamError::Malformed { stream: id.to_string(), reason };
    let mut parts = stream.parts.into_values();
    let Some(ProposalPart::Init { height, round, pol_round, proposer }) = parts.next() else {
        return Err(malformed("does not start with Init"));
    };
    let mut block_rlp = Vec::with_capacity(stream.bytes);
    let mut signature = None;
    for part in parts {
        match part {
            ProposalPart::Data(d) if signature.is_none() => block_rlp.extend_from_slice(&d),
            ProposalPart::Fin(sig) if signature.is_none() => signature = Some(sig),
            ProposalPart::Init { .. } => return Err(malformed("second Init")),
            _ => return Err(malformed("parts after Fin")),
        }
    }
    let signature = signature.ok_or_else(|| malformed("no Fin part"))?;
    Ok(AssembledProposal { height, round, pol_round, proposer, block_rlp, signature, publisher })
}

/// The stream id of a proposal: height ‖ round ‖ proposer, unique per proposal.
pub(crate) fn stream_id(
    height: BlockHeight,
    round: Round,
    proposer: &ValidatorAddress,
) -> StreamId {
    let mut b = Vec::with_capacity(36);
    b.extend_from_slice(&height.0.to_be_bytes());
    b.extend_from_slice(&(round.as_i64() as i32).to_be_bytes());
    b.extend_from_slice(proposer.0.as_slice());
    StreamId::new(b.into())
}

/// The messages that stream a proposal: Init, Data chunks, Fin part, end marker.
pub(crate) fn stream_messages(
    height: BlockHeight,
    round: Round,
    pol_round: Round,
    proposer: ValidatorAddress,
    block_rlp: &[u8],
    signature: EthSignature,
) -> Vec<StreamMessage<ProposalPart>> {
    let id = stream_id(height, round, &proposer);
    let mut parts = vec![ProposalPart::Init { height, round, pol_round, proposer }];
    for chunk in block_rlp.chunks(CHUNK_BYTES) {
        parts.push(ProposalPart::Data(alloy_primitives::Bytes::copy_from_slice(chunk)));
    }
    parts.push(ProposalPart::Fin(signature));
    let n = parts.len() as u64;
    let mut out: Vec<_> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| StreamMessage::new(id.clone(), i as u64, StreamContent::Data(p)))
        .collect();
    out.push(StreamMessage::new(id, n, StreamContent::Fin));
    out
}
