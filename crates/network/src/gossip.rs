//! The transaction-gossip swarm.

use alloy_primitives::B256;
use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm, allow_block_list, connection_limits, gossipsub, identify,
    identity::Keypair,
    multiaddr::Protocol,
    ping,
    swarm::{NetworkBehaviour, SwarmEvent},
};
use parking_lot::Mutex;
use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::{ChainIdentity, scoring};

/// Why a gossiped transaction was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxRejection {
    /// The bytes are not a transaction of this chain (the sender is at fault).
    Malformed(String),
    /// A valid transaction the pool does not want now (already known, nonce too low,
    /// underpriced): not the sender's fault.
    Refused(String),
}

/// Where gossiped transactions go: the node's pool admission.
pub trait TxSink: Send + Sync + 'static {
    /// Validates and adds an EIP-2718 encoded transaction; returns its hash.
    fn submit(&self, raw: &[u8]) -> Result<B256, TxRejection>;
}

/// The swarm could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The listen address was refused.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The swarm could not be built.
    #[error("cannot build the gossip swarm: {0}")]
    Build(String),
}

/// Settings of the gossip swarm.
#[derive(Debug, Clone)]
pub struct GossipConfig {
    /// The chain: the protocol names and the topic are per chain.
    pub chain: ChainIdentity,
    /// Where to listen (QUIC, e.g. `/ip4/127.0.0.1/udp/30301/quic-v1`).
    pub listen: Multiaddr,
    /// Peers to dial at start.
    pub bootnodes: Vec<Multiaddr>,
    /// Largest message (a transaction is at most 128 KiB).
    pub max_message_bytes: usize,
    /// Malformed messages from one peer that ban it. Gossipsub's scoring ignores a peer from
    /// its third on ([`crate::scoring`]), so a larger number is never reached by a peer that
    /// keeps sending them.
    pub ban_after: u32,
    /// How long a ban lasts.
    pub ban_for: Duration,
    /// Most connections in total.
    pub max_connections: u32,
}

impl GossipConfig {
    /// Defaults for `chain` listening on `listen`.
    pub const fn new(chain: ChainIdentity, listen: Multiaddr) -> Self {
        Self {
            chain,
            listen,
            bootnodes: Vec::new(),
            max_message_bytes: 128 * 1024 + 1024,
            ban_after: 3,
            ban_for: Duration::from_secs(600),
            max_connections: 200,
        }
    }
}

/// The QUIC address with the same IP and port number as a TCP multiaddr (consensus peers
/// are given by their TCP address; the gossip swarm listens on QUIC at the same port).
pub fn quic_addr(tcp: &Multiaddr) -> Option<Multiaddr> {
    let mut out = Multiaddr::empty();
    let mut port = None;
    for p in tcp.iter() {
        match p {
            Protocol::Ip4(_)
            | Protocol::Ip6(_)
            | Protocol::Dns(_)
            | Protocol::Dns4(_)
            | Protocol::Dns6(_) => out.push(p),
            Protocol::Tcp(n) => port = Some(n),
            _ => {}
        }
    }
    out.push(Protocol::Udp(port?));
    out.push(Protocol::QuicV1);
    Some(out)
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    limits: connection_limits::Behaviour,
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// A running gossip swarm.
#[derive(Debug, Clone)]
pub struct TxGossip {
    outbound: mpsc::Sender<Vec<u8>>,
    bans: mpsc::UnboundedSender<PeerId>,
    peers: Arc<AtomicUsize>,
    /// Hashes that arrived by gossip (not re-published when the pool announces them).
    from_peers: Arc<Mutex<RecentSet>>,
    /// This swarm's peer id.
    pub peer_id: PeerId,
}

/// A bounded set of recent hashes.
#[derive(Debug, Default)]
struct RecentSet {
    set: HashSet<B256>,
    order: VecDeque<B256>,
}

impl RecentSet {
    const CAP: usize = 65_536;
    fn insert(&mut self, h: B256) {
        if self.set.insert(h) {
            self.order.push_back(h);
            if self.order.len() > Self::CAP
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
        }
    }
}

impl TxGossip {
    /// Starts the swarm with `keypair` (the node key) and hands incoming transactions to
    /// `sink`.
    pub async fn spawn(
        keypair: Keypair,
        config: GossipConfig,
        sink: Arc<dyn TxSink>,
    ) -> Result<Self, NetworkError> {
        let topic = gossipsub::IdentTopic::new(config.chain.protocol("txs/1"));
        let identify_version = config.chain.protocol("gossip/1");
        let gossipsub_protocol = config.chain.protocol("meshsub");
        let max = config.max_message_bytes;
        let conn_limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(config.max_connections))
            .with_max_established_per_peer(Some(2));
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_quic()
            .with_behaviour(|key| {
                let gs_config = gossipsub::ConfigBuilder::default()
                    .protocol_id_prefix(gossipsub_protocol)
                    .max_transmit_size(max)
                    .validation_mode(gossipsub::ValidationMode::Strict)
                    .validate_messages()
                    .heartbeat_interval(Duration::from_millis(700))
                    .message_id_fn(|m: &gossipsub::Message| {
                        gossipsub::MessageId::from(alloy_primitives::keccak256(&m.data).to_vec())
                    })
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut gossipsub = gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(key.clone()),
                    gs_config,
                )?;
                gossipsub.with_peer_score(
                    scoring::peer_score_params(topic.hash()),
                    scoring::peer_score_thresholds(),
                )?;
                Ok(Behaviour {
                    blocked: Default::default(),
                    limits: connection_limits::Behaviour::new(conn_limits),
                    gossipsub,
                    identify: identify::Behaviour::new(identify::Config::new(
                        identify_version.clone(),
                        key.public(),
                    )),
                    ping: ping::Behaviour::default(),
                })
            })
            .map_err(|e| NetworkError::Build(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&topic)
            .map_err(|e| NetworkError::Build(e.to_string()))?;
        swarm.listen_on(config.listen.clone()).map_err(|e| NetworkError::Listen {
            addr: config.listen.clone(),
            reason: e.to_string(),
        })?;
        for b in &config.bootnodes {
            if let Err(e) = swarm.dial(b.clone()) {
                debug!(target: "bttc::net", addr = %b, error = %e, "cannot dial bootnode yet");
            }
        }
        let peer_id = *swarm.local_peer_id();
        let (outbound, rx) = mpsc::channel(4096);
        let (bans, bans_rx) = mpsc::unbounded_channel();
        let peers = Arc::new(AtomicUsize::new(0));
        let from_peers = Arc::new(Mutex::new(RecentSet::default()));
        let task = GossipTask {
            swarm,
            topic,
            identify_version,
            identified: HashSet::new(),
            sink,
            config,
            strikes: HashMap::new(),
            banned: VecDeque::new(),
            peers: peers.clone(),
            from_peers: from_peers.clone(),
        };
        tokio::spawn(task.run(rx, bans_rx));
        info!(target: "bttc::net", %peer_id, "transaction gossip started");
        Ok(Self { outbound, bans, peers, from_peers, peer_id })
    }

    /// Publishes a transaction this node accepted (unless it came from a peer).
    pub fn broadcast(&self, hash: B256, raw: Vec<u8>) {
        if self.from_peers.lock().set.contains(&hash) {
            return;
        }
        if self.outbound.try_send(raw).is_err() {
            debug!(target: "bttc::net", %hash, "gossip queue full; transaction not broadcast");
        }
    }

    /// Disconnects `peer` and refuses it for [`GossipConfig::ban_for`]: the consensus
    /// network calls this for a peer it caught sending invalid data (same node key, so the
    /// same peer id on both swarms).
    pub fn ban(&self, peer: PeerId) {
        let _ = self.bans.send(peer);
    }

    /// Connected peers.
    pub fn peer_count(&self) -> usize {
        self.peers.load(Ordering::Relaxed)
    }
}

struct GossipTask {
    swarm: Swarm<Behaviour>,
    topic: gossipsub::IdentTopic,
    /// This chain's identify protocol version; a peer with another is of another chain.
    identify_version: String,
    /// Connected peers that identified as peers of this chain.
    identified: HashSet<PeerId>,
    sink: Arc<dyn TxSink>,
    config: GossipConfig,
    strikes: HashMap<PeerId, u32>,
    banned: VecDeque<(Instant, PeerId)>,
    peers: Arc<AtomicUsize>,
    from_peers: Arc<Mutex<RecentSet>>,
}

impl GossipTask {
    async fn run(
        mut self,
        mut outbound: mpsc::Receiver<Vec<u8>>,
        mut bans: mpsc::UnboundedReceiver<PeerId>,
    ) {
        let mut redial = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                msg = outbound.recv() => {
                    let Some(raw) = msg else { return };
                    if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(self.topic.clone(), raw) {
                        debug!(target: "bttc::net", error = %e, "publish failed");
                    }
                }
                ev = self.swarm.select_next_some() => self.on_event(ev),
                Some(peer) = bans.recv() => self.ban(peer, "invalid consensus data"),
                _ = redial.tick() => self.maintain(),
            }
        }
    }

    fn maintain(&mut self) {
        let now = Instant::now();
        while let Some((until, peer)) = self.banned.front().copied() {
            if until > now {
                break;
            }
            self.banned.pop_front();
            self.strikes.remove(&peer);
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
            info!(target: "bttc::net", %peer, "ban lifted");
        }
        if self.swarm.connected_peers().count() < self.config.bootnodes.len() {
            for b in self.config.bootnodes.clone() {
                let _ = self.swarm.dial(b);
            }
        }
    }

    fn on_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. }
                if self.identified.remove(&peer_id) =>
            {
                self.peers.store(self.identified.len(), Ordering::Relaxed);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if info.protocol_version != self.identify_version {
                    debug!(target: "bttc::net", peer = %peer_id, theirs = %info.protocol_version, ours = %self.identify_version, "peer of another chain refused");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                } else if self.identified.insert(peer_id) {
                    self.peers.store(self.identified.len(), Ordering::Relaxed);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let acceptance = match self.sink.submit(&message.data) {
                    Ok(hash) => {
                        self.from_peers.lock().insert(hash);
                        gossipsub::MessageAcceptance::Accept
                    }
                    Err(TxRejection::Refused(reason)) => {
                        debug!(target: "bttc::net", peer = %propagation_source, %reason, "gossiped transaction not taken");
                        gossipsub::MessageAcceptance::Ignore
                    }
                    Err(TxRejection::Malformed(reason)) => {
                        warn!(target: "bttc::net", peer = %propagation_source, %reason, "malformed transaction from peer");
                        self.strike(propagation_source);
                        gossipsub::MessageAcceptance::Reject
                    }
                };
                let _ = self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    acceptance,
                );
            }
            _ => {}
        }
    }

    fn strike(&mut self, peer: PeerId) {
        let n = self.strikes.entry(peer).or_default();
        *n += 1;
        if *n >= self.config.ban_after {
            self.ban(peer, "malformed transactions");
        }
    }

    fn ban(&mut self, peer: PeerId, why: &str) {
        if self.banned.iter().any(|(_, p)| *p == peer) {
            return;
        }
        warn!(target: "bttc::net", %peer, why, ban_secs = self.config.ban_for.as_secs(), "peer banned");
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        self.banned.push_back((Instant::now() + self.config.ban_for, peer));
    }
}
