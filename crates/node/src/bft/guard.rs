//! Who misbehaved on the consensus network, and what happens to them.
//!
//! Every consensus message is attributed to the peer that *published* it: libp2p gossipsub
//! signs each message with its author's node key (strict validation), so a relayed message
//! still names its author and an honest relay is never blamed. Direct messages (sync
//! requests/responses, status, validator proofs) name their sender.
//!
//! A peer is **banned** ([`BAN_FOR`]) at once for a provable fault: bytes that do not decode,
//! a vote or proposal whose signature does not recover to its claimed validator or whose
//! signer is not in the validator set of its height, a proposal stream that is malformed or
//! signed by the wrong proposer, a validator proof for another peer id. A block that fails
//! re-execution, or a proposal stream abandoned unfinished, is a **strike** (its cause may be
//! on this side, e.g. a clock far behind, or a lost message); [`STRIKES_TO_BAN`] strikes
//! within [`BAN_FOR`] ban. A banned peer is disconnected from the consensus swarm
//! (and again whenever it reconnects), everything it publishes is dropped unread, and the
//! transaction-gossip swarm bans it too (same node key, same peer id).

use alloy_primitives::B256;
use bttc_consensus::{
    BlockHeight, BttcContext, EthSignature, ValidatorAddress, ValidatorSetProvider,
    core_types::{Round, SignedProposal, SignedVote},
    engine_channel::app::engine::network::{Msg as NetMsg, NetworkRef},
};
use bttc_network::TxGossip;
use bttc_rpc::{BannedPeer, PeerSource};
use malachitebft_network::{PeerId, PeerIdExt, validator_proof::ProofVerificationResult};
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tracing::{info, warn};

/// How long a ban lasts.
pub(crate) const BAN_FOR: Duration = Duration::from_secs(600);
/// Strikes (invalid blocks, abandoned streams) from one peer within [`BAN_FOR`] that ban it.
pub(crate) const STRIKES_TO_BAN: u32 = 3;

/// What `net_peerCount` and `bttc_bannedPeers` report on a BFT node.
#[derive(Debug)]
pub(crate) struct BftPeers {
    pub(crate) guard: Arc<PeerGuard>,
    /// Peers of the consensus swarm, kept by its network actor.
    pub(crate) consensus: Arc<AtomicUsize>,
    pub(crate) gossip: TxGossip,
}

impl PeerSource for BftPeers {
    /// Both swarms use the node key and dial the same bootnodes, so a peer is usually on
    /// both; the consensus swarm also discovers peers (Kademlia), the gossip swarm does not.
    fn peer_count(&self) -> usize {
        self.consensus.load(Ordering::Relaxed).max(self.gossip.peer_count())
    }

    fn banned(&self) -> Vec<BannedPeer> {
        self.guard
            .banned()
            .into_iter()
            .map(|(peer, left, reason)| BannedPeer {
                peer_id: peer.to_string(),
                reason,
                seconds_left: left.as_secs(),
            })
            .collect()
    }
}

/// Bans and strikes of consensus peers, shared by the network actor and the driver.
#[derive(Debug)]
pub(crate) struct PeerGuard {
    chain_id: u64,
    validators: Arc<dyn ValidatorSetProvider>,
    /// Banned peers: until when, and why.
    bans: Mutex<HashMap<PeerId, (Instant, String)>>,
    /// Strikes since when.
    strikes: Mutex<HashMap<PeerId, (u32, Instant)>>,
    ban_for: Duration,
    /// The consensus network actor (to disconnect a peer the driver caught).
    net: OnceLock<NetworkRef<BttcContext>>,
    /// The transaction-gossip swarm, banned alongside.
    gossip: OnceLock<TxGossip>,
}

impl PeerGuard {
    pub(crate) fn new(chain_id: u64, validators: Arc<dyn ValidatorSetProvider>) -> Self {
        Self {
            chain_id,
            validators,
            bans: Mutex::default(),
            strikes: Mutex::default(),
            ban_for: BAN_FOR,
            net: OnceLock::new(),
            gossip: OnceLock::new(),
        }
    }

    /// Connects the guard to the network actor it disconnects peers through.
    pub(crate) fn attach_network(&self, net: NetworkRef<BttcContext>) {
        let _ = self.net.set(net);
    }

    /// Connects the guard to the transaction-gossip swarm it bans peers on.
    pub(crate) fn attach_gossip(&self, gossip: TxGossip) {
        let _ = self.gossip.set(gossip);
    }

    /// Whether `peer` is banned now (expired bans are lifted here).
    pub(crate) fn is_banned(&self, peer: &PeerId) -> bool {
        let mut bans = self.bans.lock();
        match bans.get(peer) {
            Some((until, _)) if *until > Instant::now() => true,
            Some(_) => {
                bans.remove(peer);
                info!(target: "bttc::net::consensus", %peer, "ban lifted");
                false
            }
            None => false,
        }
    }

    /// Peers banned now, with the time left and the reason, longest ban first.
    pub(crate) fn banned(&self) -> Vec<(PeerId, Duration, String)> {
        let now = Instant::now();
        let mut out: Vec<_> = self
            .bans
            .lock()
            .iter()
            .filter(|(_, (until, _))| *until > now)
            .map(|(peer, (until, reason))| (*peer, *until - now, reason.clone()))
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.1));
        out
    }

    /// Records a provable fault: bans `peer` and says so. Returns whether the ban is new
    /// (the caller disconnects the peer).
    pub(crate) fn ban(&self, peer: PeerId, reason: &str) -> bool {
        let until = Instant::now() + self.ban_for;
        let new = self
            .bans
            .lock()
            .insert(peer, (until, reason.to_owned()))
            .is_none_or(|(t, _)| t <= Instant::now());
        if new {
            warn!(target: "bttc::net::consensus", %peer, reason, ban_secs = self.ban_for.as_secs(), "peer banned");
            if let Some(g) = self.gossip.get() {
                g.ban(peer.to_libp2p());
            }
        }
        new
    }

    /// [`Self::ban`], then disconnects the peer through the network actor: for faults found
    /// outside the actor (the driver's proposal checks).
    pub(crate) fn ban_and_disconnect(&self, peer: PeerId, reason: &str) {
        if self.ban(peer, reason)
            && let Some(net) = self.net.get()
        {
            let _ = net.cast(NetMsg::ValidatorProofVerified {
                peer_id: peer,
                result: ProofVerificationResult::Invalid,
                public_key: None,
            });
        }
    }

    /// Records a fault that may not be the peer's (an invalid block); bans after
    /// [`STRIKES_TO_BAN`].
    pub(crate) fn strike(&self, peer: PeerId, reason: &str) {
        let n = {
            let now = Instant::now();
            let mut strikes = self.strikes.lock();
            let (n, since) = strikes.entry(peer).or_insert((0, now));
            if now.saturating_duration_since(*since) > self.ban_for {
                // Old strikes are forgotten: rare faults of an honest peer never add up.
                (*n, *since) = (0, now);
            }
            *n += 1;
            *n
        };
        warn!(target: "bttc::net::consensus", %peer, reason, strikes = n, "peer struck");
        if n >= STRIKES_TO_BAN {
            self.strikes.lock().remove(&peer);
            self.ban_and_disconnect(peer, &format!("{n} strikes, last: {reason}"));
        }
    }

    /// Checks that `vote` is signed by its validator, a member of its height's set.
    pub(crate) fn check_vote(&self, vote: &SignedVote<BttcContext>) -> Result<(), String> {
        let v = &vote.message;
        let hash = v.signing_hash(self.chain_id);
        self.check_signed("vote", v.height, v.round, &v.validator, &vote.signature, &hash)
    }

    /// Checks that `proposal` is signed by its proposer, a member of its height's set.
    pub(crate) fn check_proposal(
        &self,
        proposal: &SignedProposal<BttcContext>,
    ) -> Result<(), String> {
        let p = &proposal.message;
        let hash = p.signing_hash(self.chain_id);
        self.check_signed("proposal", p.height, p.round, &p.proposer, &proposal.signature, &hash)
    }

    /// `signature` over `hash` must recover to `signer`, a member of the set of `height`.
    fn check_signed(
        &self,
        what: &str,
        height: BlockHeight,
        round: Round,
        signer: &ValidatorAddress,
        signature: &EthSignature,
        hash: &B256,
    ) -> Result<(), String> {
        self.check_signer(height, signer, what)?;
        match signature.recover(hash) {
            Some(a) if a == signer.0 => Ok(()),
            _ => Err(format!(
                "{what} at height {height} round {round:?} does not carry a signature of {signer}"
            )),
        }
    }

    fn check_signer(
        &self,
        height: BlockHeight,
        signer: &ValidatorAddress,
        what: &str,
    ) -> Result<(), String> {
        // A height whose set is unknown here (a later epoch) is judged by the engine alone.
        match self.validators.validator_set(height) {
            Ok(set) if !set.contains(signer) => {
                Err(format!("{what} at height {height} from {signer}, not a validator"))
            }
            _ => Ok(()),
        }
    }
}

/// The validator address of a peer's node key, if the key is secp256k1: a validator's node
/// key is its validator key, so a peer id names the validator it speaks for.
pub(crate) fn peer_address(peer: &PeerId) -> Option<ValidatorAddress> {
    // A multihash: code, length, digest. Keys of up to 42 bytes (secp256k1: 37 encoded) are
    // inlined with the identity hash (code 0), so the digest is the key itself.
    let bytes = peer.to_bytes();
    let [0, len, digest @ ..] = bytes.as_slice() else { return None };
    if usize::from(*len) != digest.len() {
        return None;
    }
    let key = libp2p_identity::PublicKey::try_decode_protobuf(digest).ok()?;
    let key = key.try_into_secp256k1().ok()?;
    let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(&key.to_bytes()).ok()?;
    Some(ValidatorAddress(bttc_consensus::address_of(&key)))
}
