//! bttc's own libp2p swarm, next to the one Malachite owns for consensus.
//!
//! Malachite's swarm carries only its closed set of consensus topics, so transactions travel
//! here: a gossipsub topic per chain (`/bttc/<chain id>/<genesis hash prefix>/txs/1`) over
//! QUIC on the same port number as the consensus TCP listener, with the same node key (so
//! the same peer id). Every protocol name is per chain ([`ChainIdentity`]): gossipsub itself
//! (`…/meshsub/1.1.0`) and identify (`…/gossip/1`); a peer that identifies as a node of
//! another chain is disconnected and never counted as a peer.
//!
//! Data flow: a transaction accepted into the local pool (from JSON-RPC) is handed to
//! [`TxGossip::broadcast`] and published; a transaction arriving from a peer is passed to the
//! node's [`TxSink`] (pool admission: decode, validate against the head state). A peer whose
//! messages are malformed is penalised through gossipsub's peer scoring ([`scoring`]: each
//! `Reject` costs score; after the third it is ignored) and, after
//! [`GossipConfig::ban_after`] of them (three), disconnected and banned for
//! [`GossipConfig::ban_for`].
//! Transactions a peer sends that are merely stale (nonce too low, already known) are
//! `Ignore`d, not held against it.
//!
//! Block and certificate sync for full nodes and validators that fell behind is Malachite's
//! value sync on the consensus swarm: it delivers blocks with their certificates, which the
//! engine verifies against the validator set of each height.

mod chain;
mod gossip;
pub mod scoring;

pub use chain::ChainIdentity;
pub use gossip::{GossipConfig, NetworkError, TxGossip, TxRejection, TxSink, quic_addr};
pub use libp2p::{Multiaddr, PeerId, identity::Keypair};
