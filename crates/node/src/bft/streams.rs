//! Reassembly of streamed proposals: parts arrive in any order and through any neighbour;
//! a stream is complete when `Init`, every `Data` chunk and `Fin` are in.
//!
//! Streams are keyed by their publisher (the gossip author, authenticated by libp2p) and
//! stream id (height ‖ round ‖ proposer), so that parts injected by another peer under
//! someone else's stream id never mix into that stream and a bad stream is always its
//! publisher's fault. What a peer can make this node buffer is bounded:
//!
//! - only the proposer a stream names may publish it (a validator's node key is its
//!   validator key, so its peer id names its address), and only if that proposer has the
//!   turn at the stream's height and round;
//! - only heights from the current one to [`HEIGHT_WINDOW`] above it are buffered; parts of
//!   other heights are ignored (stale, or so far ahead that this node syncs instead);
//! - a stream holds at most one block ([`MAX_STREAM_BYTES`] in [`MAX_STREAM_PARTS`] parts of
//!   at most [`CHUNK_BYTES`]);
//! - a publisher holds at most [`MAX_STREAMS_PER_PUBLISHER`] streams and
//!   [`MAX_BYTES_PER_PUBLISHER`] bytes (its oldest stream makes room), and all publishers
//!   together [`MAX_BUFFERED_BYTES`] (the publisher holding the most makes room).
//!
//! Breaking a rule of the stream format is a [`StreamError`] (the driver bans the publisher).
//! A stream that stops before its end for [`STREAM_STALL`], or that its publisher's newer
//! streams push out unfinished, is abandoned: [`PartStreams::take_abandoned`] names its
//! publisher, which the driver strikes (three strikes ban).

use super::limits::{CHUNK_BYTES, MAX_STREAM_BYTES, MAX_STREAM_PARTS};
use bttc_consensus::engine_channel::app::engine::util::streaming::StreamContent;
use bttc_consensus::{
    BlockHeight, EthSignature, ProposalPart, ValidatorAddress,
    core_types::Round,
    engine_channel::app::types::streaming::{StreamId, StreamMessage},
};
use malachitebft_network::PeerId;
use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

/// Heights above the current one whose streams are buffered.
pub(crate) const HEIGHT_WINDOW: u64 = 3;
/// Unfinished streams one publisher may have.
pub(crate) const MAX_STREAMS_PER_PUBLISHER: usize = 4;
/// Bytes one publisher's unfinished streams may hold: two of the largest blocks.
pub(crate) const MAX_BYTES_PER_PUBLISHER: usize = 2 * MAX_STREAM_BYTES;
/// Bytes all unfinished streams may hold together.
pub(crate) const MAX_BUFFERED_BYTES: usize = 4 * MAX_STREAM_BYTES;
/// A stream with no new part for this long is abandoned (a proposer sends its parts back to
/// back).
pub(crate) const STREAM_STALL: Duration = Duration::from_secs(10);

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

/// What a stream id says: the proposal it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StreamKey {
    height: BlockHeight,
    round: Round,
    proposer: ValidatorAddress,
}

impl std::fmt::Display for StreamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "of {} at height {} round {}", self.proposer, self.height, self.round.as_i64())
    }
}

#[derive(Debug)]
struct Stream {
    key: StreamKey,
    parts: BTreeMap<u64, ProposalPart>,
    /// Sequence number of the stream's end marker, once seen.
    end: Option<u64>,
    /// Data bytes buffered.
    bytes: usize,
    /// When its last new part arrived.
    last_part: Instant,
    /// Opening order (lower is older).
    opened: u64,
}

/// A stream was refused: its publisher broke the stream format.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum StreamError {
    /// The stream id is not height ‖ round ‖ proposer.
    #[error("proposal stream id {id} is not height, round and proposer ({len} bytes, expected 32)")]
    BadStreamId { id: String, len: usize },
    /// Published by another peer than the proposer it names.
    #[error("proposal stream {stream} published by a peer that is not its proposer")]
    NotProposer { stream: String },
    /// The proposer it names does not have the turn.
    #[error("proposal stream {stream}: not the proposer of that height and round")]
    NotItsTurn { stream: String },
    /// More data than the largest block.
    #[error("proposal stream {stream} exceeds {max} bytes (got {got})")]
    TooLarge { stream: String, got: usize, max: usize },
    /// A sequence number beyond the parts of the largest block.
    #[error(
        "proposal stream {stream}: part {sequence} is beyond the {max} parts of the largest block"
    )]
    TooManyParts { stream: String, sequence: u64, max: u64 },
    /// A chunk larger than the chunk size.
    #[error("proposal stream {stream}: chunk of {got} bytes, limit {max}")]
    ChunkTooLarge { stream: String, got: usize, max: usize },
    /// Not Init, Data…, Fin.
    #[error("proposal stream {stream} is malformed: {reason}")]
    Malformed { stream: String, reason: &'static str },
}

/// What became of an inserted part.
#[derive(Debug)]
pub(crate) enum Inserted {
    /// Buffered; the stream is not complete yet.
    Pending,
    /// The stream is complete.
    Complete(Box<AssembledProposal>),
    /// Not buffered: its height is outside the window, or its stream is already complete.
    Ignored,
}

/// Buffers incomplete streams.
#[derive(Debug, Default)]
pub(crate) struct PartStreams {
    streams: HashMap<(PeerId, StreamId), Stream>,
    /// The height being decided: streams below it are stale.
    current: BlockHeight,
    /// Data bytes of all streams.
    bytes: usize,
    opened: u64,
    /// Publishers of abandoned streams, with what they did.
    abandoned: Vec<(PeerId, String)>,
    /// Streams completed at the current height or above: late copies of their parts are
    /// ignored rather than opening the stream again.
    completed: HashMap<(PeerId, StreamId), BlockHeight>,
}

/// Completed stream ids remembered at most (a few per height of the window in practice).
const MAX_COMPLETED: usize = 1024;

impl PartStreams {
    /// Adds a part published by `publisher` at `now`; returns the proposal once its stream is
    /// complete. `turn` says whether a validator is the proposer of a height and round
    /// (`None`: unknown here, and the stream is ignored).
    pub(crate) fn insert(
        &mut self,
        publisher: PeerId,
        msg: StreamMessage<ProposalPart>,
        now: Instant,
        turn: impl Fn(BlockHeight, Round, ValidatorAddress) -> Option<bool>,
    ) -> Result<Inserted, StreamError> {
        self.expire(now);
        let id = (publisher, msg.stream_id.clone());
        if self.completed.contains_key(&id) {
            return Ok(Inserted::Ignored);
        }
        if !self.streams.contains_key(&id) {
            let key = parse_stream_id(&msg.stream_id)?;
            if key.height < self.current || key.height.0 > self.current.0 + HEIGHT_WINDOW {
                return Ok(Inserted::Ignored);
            }
            if super::guard::peer_address(&publisher) != Some(key.proposer) {
                return Err(StreamError::NotProposer { stream: key.to_string() });
            }
            match turn(key.height, key.round, key.proposer) {
                Some(true) => {}
                Some(false) => return Err(StreamError::NotItsTurn { stream: key.to_string() }),
                None => return Ok(Inserted::Ignored),
            }
            self.make_room_for_stream(publisher);
            self.opened += 1;
            let stream = Stream {
                key,
                parts: BTreeMap::new(),
                end: None,
                bytes: 0,
                last_part: now,
                opened: self.opened,
            };
            self.streams.insert(id.clone(), stream);
        }
        match self.add_part(&id, msg, now) {
            Ok(0) => {}
            Ok(added) => {
                self.bytes += added;
                self.make_room_for_bytes(&id);
            }
            Err(e) => {
                self.remove(&id);
                return Err(e);
            }
        }
        let Some(stream) = self.streams.get(&id) else {
            // Pushed out to make room for others.
            return Ok(Inserted::Ignored);
        };
        // Every part is below the end marker, so `end` parts means all of them.
        if stream.end.is_none_or(|end| stream.parts.len() as u64 != end) {
            return Ok(Inserted::Pending);
        }
        let stream = self.remove(&id).expect("present");
        if self.completed.len() >= MAX_COMPLETED {
            self.completed.clear();
        }
        self.completed.insert(id, stream.key.height);
        assemble(publisher, stream).map(|p| Inserted::Complete(Box::new(p)))
    }

    /// Adds `msg` to the stream `id`; returns the data bytes it added.
    fn add_part(
        &mut self,
        id: &(PeerId, StreamId),
        msg: StreamMessage<ProposalPart>,
        now: Instant,
    ) -> Result<usize, StreamError> {
        let stream = self.streams.get_mut(id).expect("opened above");
        let label = || stream.key.to_string();
        let sequence = msg.sequence;
        match msg.content {
            StreamContent::Fin => {
                if sequence > MAX_STREAM_PARTS {
                    return Err(StreamError::TooManyParts {
                        stream: label(),
                        sequence,
                        max: MAX_STREAM_PARTS,
                    });
                }
                match stream.end {
                    Some(end) if end != sequence => {
                        return Err(StreamError::Malformed {
                            stream: label(),
                            reason: "two end markers",
                        });
                    }
                    _ => {}
                }
                if stream.parts.range(sequence..).next().is_some() {
                    return Err(StreamError::Malformed {
                        stream: label(),
                        reason: "a part after the end marker",
                    });
                }
                stream.end = Some(sequence);
                stream.last_part = now;
                Ok(0)
            }
            StreamContent::Data(part) => {
                if sequence >= MAX_STREAM_PARTS {
                    return Err(StreamError::TooManyParts {
                        stream: label(),
                        sequence,
                        max: MAX_STREAM_PARTS,
                    });
                }
                if stream.end.is_some_and(|end| sequence >= end) {
                    return Err(StreamError::Malformed {
                        stream: label(),
                        reason: "a part after the end marker",
                    });
                }
                if stream.parts.contains_key(&sequence) {
                    // A duplicate: gossip may deliver twice; the first copy stands.
                    return Ok(0);
                }
                let bytes = match &part {
                    ProposalPart::Data(d) if d.len() > CHUNK_BYTES => {
                        return Err(StreamError::ChunkTooLarge {
                            stream: label(),
                            got: d.len(),
                            max: CHUNK_BYTES,
                        });
                    }
                    ProposalPart::Data(d) => d.len(),
                    ProposalPart::Init { height, round, proposer, .. } => {
                        let claimed =
                            StreamKey { height: *height, round: *round, proposer: *proposer };
                        if claimed != stream.key {
                            return Err(StreamError::Malformed {
                                stream: label(),
                                reason: "Init names another proposal than the stream id",
                            });
                        }
                        0
                    }
                    ProposalPart::Fin(_) => 0,
                };
                let got = stream.bytes + bytes;
                if got > MAX_STREAM_BYTES {
                    return Err(StreamError::TooLarge {
                        stream: label(),
                        got,
                        max: MAX_STREAM_BYTES,
                    });
                }
                stream.bytes = got;
                stream.parts.insert(sequence, part);
                stream.last_part = now;
                Ok(bytes)
            }
        }
    }

    fn remove(&mut self, id: &(PeerId, StreamId)) -> Option<Stream> {
        let stream = self.streams.remove(id)?;
        self.bytes -= stream.bytes;
        Some(stream)
    }

    /// Removes `id` unfinished and records its publisher.
    fn abandon(&mut self, id: &(PeerId, StreamId), why: &str) {
        if let Some(stream) = self.remove(id) {
            self.abandoned.push((id.0, format!("proposal stream {} {why}", stream.key)));
        }
    }

    /// The oldest stream of `publisher`, if any.
    fn oldest_of(&self, publisher: PeerId) -> Option<(PeerId, StreamId)> {
        self.streams
            .iter()
            .filter(|((p, _), _)| *p == publisher)
            .min_by_key(|(_, s)| s.opened)
            .map(|(k, _)| k.clone())
    }

    /// Bytes and streams of `publisher`.
    fn held_by(&self, publisher: PeerId) -> (usize, usize) {
        self.streams
            .iter()
            .filter(|((p, _), _)| *p == publisher)
            .fold((0, 0), |(b, n), (_, s)| (b + s.bytes, n + 1))
    }

    /// Before `publisher` opens a stream: its oldest ones go beyond its stream quota.
    fn make_room_for_stream(&mut self, publisher: PeerId) {
        while self.held_by(publisher).1 >= MAX_STREAMS_PER_PUBLISHER {
            let Some(oldest) = self.oldest_of(publisher) else { return };
            self.abandon(&oldest, "pushed out unfinished by its publisher's newer streams");
        }
    }

    /// After stream `id` grew: its publisher's oldest streams go beyond its byte quota, then
    /// the streams of whoever holds the most beyond the total.
    fn make_room_for_bytes(&mut self, id: &(PeerId, StreamId)) {
        let publisher = id.0;
        while self.held_by(publisher).0 > MAX_BYTES_PER_PUBLISHER {
            let Some(oldest) = self.oldest_of(publisher) else { return };
            self.abandon(&oldest, "pushed out unfinished by its publisher's newer streams");
        }
        while self.bytes > MAX_BUFFERED_BYTES {
            let mut held: HashMap<PeerId, usize> = HashMap::new();
            for ((p, _), s) in &self.streams {
                *held.entry(*p).or_default() += s.bytes;
            }
            let Some((largest, _)) = held.into_iter().max_by_key(|(_, b)| *b) else { return };
            let Some(oldest) = self.oldest_of(largest) else { return };
            // Not the publisher's fault: others filled the buffer.
            self.remove(&oldest);
        }
    }

    /// Abandons the streams that stalled.
    fn expire(&mut self, now: Instant) {
        let stalled: Vec<_> = self
            .streams
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_part) >= STREAM_STALL)
            .map(|(k, _)| k.clone())
            .collect();
        for id in stalled {
            self.abandon(
                &id,
                &format!("never finished (no part for {} s)", STREAM_STALL.as_secs()),
            );
        }
    }

    /// Moves to `height`: streams below it are dropped (a stalled one counts as abandoned).
    pub(crate) fn advance(&mut self, height: BlockHeight, now: Instant) {
        self.expire(now);
        self.current = height;
        let stale: Vec<_> = self
            .streams
            .iter()
            .filter(|(_, s)| s.key.height < height)
            .map(|(k, _)| k.clone())
            .collect();
        for id in stale {
            self.remove(&id);
        }
        self.completed.retain(|_, h| *h >= height);
    }

    /// Publishers of streams abandoned since the last call, each with what it did.
    pub(crate) fn take_abandoned(&mut self) -> Vec<(PeerId, String)> {
        std::mem::take(&mut self.abandoned)
    }

    /// Data bytes buffered.
    #[cfg(test)]
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Streams buffered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.streams.len()
    }
}

/// Height ‖ round ‖ proposer, as [`stream_id`] makes it.
fn parse_stream_id(id: &StreamId) -> Result<StreamKey, StreamError> {
    let b = id.to_bytes();
    let bad = || StreamError::BadStreamId { id: id.to_string(), len: b.len() };
    if b.len() != 32 {
        return Err(bad());
    }
    let height = u64::from_be_bytes(b[..8].try_into().expect("8 bytes"));
    let round = i32::from_be_bytes(b[8..12].try_into().expect("4 bytes"));
    let round = u32::try_from(round).map_err(|_| bad())?;
    let proposer = ValidatorAddress(alloy_primitives::Address::from_slice(&b[12..]));
    Ok(StreamKey { height: BlockHeight(height), round: Round::new(round), proposer })
}

fn assemble(publisher: PeerId, stream: Stream) -> Result<AssembledProposal, StreamError> {
    let malformed = |reason| StreamError::Malformed { stream: stream.key.to_string(), reason };
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
    let mut b = Vec::with_capacity(32);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bft::limits::{MAX_PART_MESSAGE_BYTES, MAX_RLP_BLOCK_SIZE};
    use bttc_consensus::{BttcCodec, address_of};
    use k256::ecdsa::SigningKey;
    use malachitebft_codec::Codec;
    use malachitebft_network::PeerIdExt;

    fn key(i: u8) -> SigningKey {
        SigningKey::from_slice(&[i; 32]).unwrap()
    }

    fn address(key: &SigningKey) -> ValidatorAddress {
        ValidatorAddress(address_of(key.verifying_key()))
    }

    /// The peer id of the node whose key is `key`.
    fn peer(key: &SigningKey) -> PeerId {
        let secret =
            libp2p_identity::secp256k1::SecretKey::try_from_bytes(key.to_bytes().to_vec()).unwrap();
        let keypair =
            libp2p_identity::Keypair::from(libp2p_identity::secp256k1::Keypair::from(secret));
        PeerId::from_libp2p(&keypair.public().to_peer_id())
    }

    fn yes(_: BlockHeight, _: Round, _: ValidatorAddress) -> Option<bool> {
        Some(true)
    }

    fn sig() -> EthSignature {
        EthSignature([7; 65])
    }

    /// The stream of `len` bytes of block proposed by `key` at `height`, `round`.
    fn stream(
        key: &SigningKey,
        height: u64,
        round: u32,
        len: usize,
    ) -> Vec<StreamMessage<ProposalPart>> {
        let block = vec![0x5a; len];
        stream_messages(
            BlockHeight(height),
            Round::new(round),
            Round::Nil,
            address(key),
            &block,
            sig(),
        )
    }

    /// Inserts every message; the outcome of the last one.
    fn feed(
        streams: &mut PartStreams,
        key: &SigningKey,
        msgs: Vec<StreamMessage<ProposalPart>>,
        now: Instant,
    ) -> Result<Inserted, StreamError> {
        let mut last = Inserted::Ignored;
        for m in msgs {
            last = streams.insert(peer(key), m, now, yes)?;
        }
        Ok(last)
    }

    #[test]
    fn a_block_of_the_largest_size_streams_through_and_one_byte_more_is_refused() {
        let k = key(1);
        let msgs = stream(&k, 1, 0, MAX_RLP_BLOCK_SIZE);
        for m in &msgs {
            let wire = BttcCodec.encode(m).unwrap();
            assert!(wire.len() <= MAX_PART_MESSAGE_BYTES, "part of {} bytes", wire.len());
        }
        assert_eq!(msgs.len() as u64, MAX_STREAM_PARTS + 1, "Init, chunks, Fin, end marker");
        let mut streams = PartStreams::default();
        let Ok(Inserted::Complete(p)) = feed(&mut streams, &k, msgs, Instant::now()) else {
            panic!("the largest block did not reassemble")
        };
        assert_eq!(p.block_rlp.len(), MAX_RLP_BLOCK_SIZE);
        assert_eq!((streams.len(), streams.buffered_bytes()), (0, 0));

        let err = feed(&mut streams, &k, stream(&k, 1, 1, MAX_RLP_BLOCK_SIZE + 1), Instant::now())
            .unwrap_err();
        assert!(matches!(err, StreamError::TooLarge { max: MAX_STREAM_BYTES, .. }), "{err}");
        assert_eq!((streams.len(), streams.buffered_bytes()), (0, 0), "the stream is dropped");
    }

    #[test]
    fn parts_beyond_the_largest_block_and_oversized_chunks_are_refused() {
        let k = key(1);
        let now = Instant::now();
        let mut streams = PartStreams::default();
        let mut far = stream(&k, 1, 0, 10)[1].clone();
        far.sequence = MAX_STREAM_PARTS;
        let err = streams.insert(peer(&k), far, now, yes).unwrap_err();
        assert!(
            matches!(err, StreamError::TooManyParts { sequence: MAX_STREAM_PARTS, .. }),
            "{err}"
        );

        let mut end = stream(&k, 1, 1, 10).pop().unwrap();
        end.sequence = MAX_STREAM_PARTS + 1;
        let err = streams.insert(peer(&k), end, now, yes).unwrap_err();
        assert!(matches!(err, StreamError::TooManyParts { .. }), "{err}");

        let mut big = stream(&k, 1, 2, 10)[1].clone();
        big.content = StreamContent::Data(ProposalPart::Data(vec![0; CHUNK_BYTES + 1].into()));
        let err = streams.insert(peer(&k), big, now, yes).unwrap_err();
        assert!(matches!(err, StreamError::ChunkTooLarge { .. }), "{err}");

        // An Init naming another proposal than the stream id.
        let mut init = stream(&k, 1, 3, 10)[0].clone();
        init.content = StreamContent::Data(ProposalPart::Init {
            height: BlockHeight(1),
            round: Round::new(4),
            pol_round: Round::Nil,
            proposer: address(&k),
        });
        let err = streams.insert(peer(&k), init, now, yes).unwrap_err();
        assert!(matches!(err, StreamError::Malformed { .. }), "{err}");
        assert_eq!(streams.len(), 0);
    }

    #[test]
    fn only_the_proposer_with_the_turn_may_publish_a_stream() {
        let (proposer, other) = (key(1), key(2));
        let now = Instant::now();
        let mut streams = PartStreams::default();
        let first = || stream(&proposer, 1, 0, 10).remove(0);
        // Another validator under the proposer's stream id.
        let err = streams.insert(peer(&other), first(), now, yes).unwrap_err();
        assert!(matches!(err, StreamError::NotProposer { .. }), "{err}");
        // A peer whose key is not secp256k1 speaks for no validator.
        let ed = libp2p_identity::Keypair::ed25519_from_bytes([3; 32]).unwrap();
        let ed = PeerId::from_libp2p(&ed.public().to_peer_id());
        let err = streams.insert(ed, first(), now, yes).unwrap_err();
        assert!(matches!(err, StreamError::NotProposer { .. }), "{err}");
        // The proposer, out of turn.
        let err = streams.insert(peer(&proposer), first(), now, |_, _, _| Some(false)).unwrap_err();
        assert!(matches!(err, StreamError::NotItsTurn { .. }), "{err}");
        // The set of the height is unknown here: not buffered, not a fault.
        let r = streams.insert(peer(&proposer), first(), now, |_, _, _| None).unwrap();
        assert!(matches!(r, Inserted::Ignored));
        // A stream id that is not height, round and proposer.
        let mut odd = first();
        odd.stream_id = StreamId::new(vec![1, 2, 3].into());
        let err = streams.insert(peer(&proposer), odd, now, yes).unwrap_err();
        assert!(matches!(err, StreamError::BadStreamId { len: 3, .. }), "{err}");
        assert_eq!(streams.len(), 0);
    }

    #[test]
    fn streams_at_far_or_past_heights_are_ignored_and_push_out_nothing() {
        let (honest, junk) = (key(1), key(2));
        let now = Instant::now();
        let mut streams = PartStreams::default();
        streams.advance(BlockHeight(10), now);
        let mut msgs = stream(&honest, 10, 0, 3 * CHUNK_BYTES);
        let rest = msgs.split_off(2);
        assert!(matches!(feed(&mut streams, &honest, msgs, now), Ok(Inserted::Pending)));
        // A flood of streams far ahead and in the past, from another validator.
        for h in (10 + HEIGHT_WINDOW + 1..10 + HEIGHT_WINDOW + 200).chain(0..10) {
            let r = feed(&mut streams, &junk, stream(&junk, h, 0, 100), now).unwrap();
            assert!(matches!(r, Inserted::Ignored), "height {h}: {r:?}");
        }
        assert_eq!(streams.len(), 1);
        let Ok(Inserted::Complete(p)) = feed(&mut streams, &honest, rest, now) else {
            panic!("the honest stream was pushed out")
        };
        assert_eq!(p.block_rlp.len(), 3 * CHUNK_BYTES);
        // The window moves with the height.
        streams.advance(BlockHeight(20), now);
        let r = feed(&mut streams, &junk, stream(&junk, 20 + HEIGHT_WINDOW, 0, 10), now).unwrap();
        assert!(matches!(r, Inserted::Complete(_)));
        assert!(streams.take_abandoned().is_empty());
    }

    #[test]
    fn one_publisher_holds_a_bounded_number_of_streams_and_bytes() {
        let (greedy, honest) = (key(1), key(2));
        let now = Instant::now();
        let mut streams = PartStreams::default();
        let mut honest_msgs = stream(&honest, 1, 0, 2 * CHUNK_BYTES);
        let honest_rest = honest_msgs.split_off(2);
        feed(&mut streams, &honest, honest_msgs, now).unwrap();

        // Many unfinished streams (no Fin): only the newest few are kept.
        for round in 0..20 {
            let mut msgs = stream(&greedy, 1, round, 2 * CHUNK_BYTES);
            msgs.truncate(2);
            feed(&mut streams, &greedy, msgs, now).unwrap();
        }
        assert_eq!(streams.len(), MAX_STREAMS_PER_PUBLISHER + 1);
        let abandoned = streams.take_abandoned();
        assert_eq!(abandoned.len(), 20 - MAX_STREAMS_PER_PUBLISHER);
        assert!(abandoned.iter().all(|(p, why)| *p == peer(&greedy) && why.contains("pushed out")));

        // Unfinished streams of nearly the largest size: bytes bounded too.
        for round in 20..24 {
            let mut msgs = stream(&greedy, 2, round, MAX_STREAM_BYTES);
            msgs.pop();
            msgs.pop(); // no Fin part, no end marker
            feed(&mut streams, &greedy, msgs, now).unwrap();
            assert!(streams.buffered_bytes() <= MAX_BYTES_PER_PUBLISHER + 2 * CHUNK_BYTES);
        }
        assert!(!streams.take_abandoned().is_empty());
        // The honest proposer's stream was never touched.
        assert!(matches!(feed(&mut streams, &honest, honest_rest, now), Ok(Inserted::Complete(_))));
    }

    #[test]
    fn all_publishers_together_are_bounded_without_blaming_anyone() {
        let now = Instant::now();
        let mut streams = PartStreams::default();
        for i in 1..=6 {
            let k = key(i);
            let mut msgs = stream(&k, 1, 0, MAX_STREAM_BYTES);
            msgs.truncate(msgs.len() - 2);
            feed(&mut streams, &k, msgs, now).unwrap();
            assert!(streams.buffered_bytes() <= MAX_BUFFERED_BYTES);
        }
        assert!(streams.take_abandoned().is_empty());
    }

    #[test]
    fn a_stalled_stream_is_abandoned_and_a_stale_one_just_dropped() {
        let (slow, other) = (key(1), key(2));
        let t0 = Instant::now();
        let mut streams = PartStreams::default();
        let mut msgs = stream(&slow, 1, 0, 2 * CHUNK_BYTES);
        msgs.truncate(2);
        feed(&mut streams, &slow, msgs, t0).unwrap();
        // Still in time: nothing abandoned.
        feed(&mut streams, &other, vec![stream(&other, 1, 1, 10).remove(0)], t0 + STREAM_STALL / 2)
            .unwrap();
        assert!(streams.take_abandoned().is_empty());
        // No part for STREAM_STALL: abandoned, its publisher named.
        feed(&mut streams, &other, vec![stream(&other, 1, 1, 10).remove(1)], t0 + STREAM_STALL)
            .unwrap();
        let abandoned = streams.take_abandoned();
        assert_eq!(abandoned.len(), 1, "{abandoned:?}");
        assert_eq!(abandoned[0].0, peer(&slow));
        assert!(abandoned[0].1.contains("never finished"), "{}", abandoned[0].1);
        // An unfinished stream whose height passes while it is still arriving: dropped, not
        // held against its publisher.
        streams.advance(BlockHeight(2), t0 + STREAM_STALL);
        assert_eq!(streams.len(), 0);
        assert!(streams.take_abandoned().is_empty());
    }

    #[test]
    fn late_copies_of_a_completed_stream_reopen_nothing() {
        let k = key(1);
        let now = Instant::now();
        let mut streams = PartStreams::default();
        let msgs = stream(&k, 1, 0, 10);
        assert!(matches!(feed(&mut streams, &k, msgs.clone(), now), Ok(Inserted::Complete(_))));
        let r = streams.insert(peer(&k), msgs[1].clone(), now, yes).unwrap();
        assert!(matches!(r, Inserted::Ignored));
        assert_eq!(streams.len(), 0);
        streams.advance(BlockHeight(1), now + STREAM_STALL * 2);
        assert!(streams.take_abandoned().is_empty());
    }
}
