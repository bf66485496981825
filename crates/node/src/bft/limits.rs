//! Size limits of the consensus network, all derived from the largest block a chain accepts
//! ([`MAX_RLP_BLOCK_SIZE`]): a block that can be decided can also be streamed, gossiped and
//! synced, and nothing bigger is ever buffered.
//!
//! - Proposal streams carry at most one block: [`MAX_STREAM_BYTES`] of data in at most
//!   [`MAX_STREAM_PARTS`] parts of [`CHUNK_BYTES`].
//! - Gossip carries one part per message: the proposal-parts topic takes
//!   [`MAX_PART_MESSAGE_BYTES`]; votes, proposals and round certificates are small, and every
//!   consensus topic is bounded by [`PUBSUB_MAX_BYTES`] (room for a certificate of
//!   [`MAX_CERTIFICATE_BYTES`]).
//! - Value sync answers with at least one whole block and its certificate:
//!   [`MAX_SYNC_RESPONSE_BYTES`], for the engine's response budget and the libp2p
//!   request-response frame alike.

pub use bttc_primitives::MAX_RLP_BLOCK_SIZE;

/// A block is cut into chunks of this size for streaming.
pub const CHUNK_BYTES: usize = 128 * 1024;
/// The data of one proposal stream: one block.
pub const MAX_STREAM_BYTES: usize = MAX_RLP_BLOCK_SIZE;
/// The parts of the largest stream: `Init`, the chunks of the largest block, `Fin`. The end
/// marker follows them, with this number as its sequence.
pub const MAX_STREAM_PARTS: u64 = (MAX_RLP_BLOCK_SIZE.div_ceil(CHUNK_BYTES) + 2) as u64;
/// What one streamed part adds to its chunk on the wire: stream id (32 bytes), sequence, enum
/// tags and length prefixes (a few dozen bytes), rounded up.
pub const PART_FRAMING_BYTES: usize = 1024;
/// The largest gossip payload on the proposal-parts topic.
pub const MAX_PART_MESSAGE_BYTES: usize = CHUNK_BYTES + PART_FRAMING_BYTES;
/// Room for a commit (or polka, or round) certificate: 1 MiB holds the signatures of over
/// ten thousand validators (address, 65-byte signature and framing: under 100 bytes each).
pub const MAX_CERTIFICATE_BYTES: usize = 1024 * 1024;
/// Framing of a gossip message or sync response beyond its payload (signed envelope, topic,
/// heights, length prefixes), rounded up.
pub const ENVELOPE_BYTES: usize = 64 * 1024;
/// The largest gossip message on any consensus topic (signed envelope included).
pub const PUBSUB_MAX_BYTES: usize = MAX_CERTIFICATE_BYTES + ENVELOPE_BYTES;
/// The largest value-sync response: the largest block, its certificate and the framing.
pub const MAX_SYNC_RESPONSE_BYTES: usize =
    MAX_RLP_BLOCK_SIZE + MAX_CERTIFICATE_BYTES + ENVELOPE_BYTES;
