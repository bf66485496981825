//! The consensus network actor: Malachite's libp2p swarm (`malachitebft_network`) driven by
//! bttc's own actor in place of the engine's default one.
//!
//! The engine talks to it with the engine's network messages (publish a vote, a proposal
//! part, a status; sync requests and replies) and subscribes to its [`NetworkEvent`]s. What
//! this actor adds is judgement on the way in: each message is decoded here, attributed to
//! the peer that published it and checked (signatures and validator membership of votes
//! and proposals) before the engine sees it; a peer caught sending invalid data is banned
//! through the [`PeerGuard`], disconnected, and refused until the ban ends.
//!
//! Data flow: swarm task → [`Event`] → `NewEvent` → decode + check → output port → engine
//! (consensus and sync actors); engine → `Msg` → encode → swarm control handle.

use super::{guard::PeerGuard, limits};
use bttc_consensus::{
    BttcCodec, BttcContext, Secp256k1Scheme,
    core_types::{SigningScheme, ValidatorProof},
    engine_channel::app::{
        consensus::{LivenessMsg, SignedConsensusMsg},
        engine::{
            network::{Msg, NetworkEvent, NetworkIdentity, NetworkRef, PersistentPeersOp, Status},
            util::output_port::OutputPort,
        },
        metrics::SharedRegistry,
        streaming::StreamMessage,
    },
};
use bttc_network::ChainIdentity;
use bytes::Bytes;
use libp2p::request_response;
use malachitebft_codec::Codec;
use malachitebft_network::{
    self as network, Channel, Event, Multiaddr, PeerId, handle::CtrlHandle,
    validator_proof::ProofVerificationResult,
};
use malachitebft_sync::{self as sync, InboundRequestId, OutboundRequestId, RawMessage};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};
use tokio::task::JoinHandle;
use tracing::{debug, error, trace};

type Ev = NetworkEvent<BttcContext>;

/// The actor.
pub(crate) struct ConsensusNet {
    codec: BttcCodec,
    guard: Arc<PeerGuard>,
    /// Peers connected now (`net_peerCount` reads it).
    peer_count: Arc<AtomicUsize>,
}

/// What it starts from.
pub(crate) struct NetArgs {
    pub(crate) identity: NetworkIdentity,
    pub(crate) config: network::Config,
    pub(crate) registry: SharedRegistry,
}

/// Its state while running.
pub(crate) struct NetState {
    listen_addrs: Vec<Multiaddr>,
    peers: BTreeSet<PeerId>,
    subscriptions: HashSet<(PeerId, Channel)>,
    port: OutputPort<Ev>,
    ctrl: Option<CtrlHandle>,
    recv_task: Option<JoinHandle<()>>,
    inbound: HashMap<InboundRequestId, request_response::InboundRequestId>,
}

impl ConsensusNet {
    /// Starts the swarm and the actor; the engine gets the returned ref (and the guard a copy,
    /// to disconnect peers the driver catches), and `peer_count` follows the number of
    /// connected peers.
    pub(crate) async fn spawn(
        args: NetArgs,
        guard: Arc<PeerGuard>,
        peer_count: Arc<AtomicUsize>,
    ) -> Result<NetworkRef<BttcContext>, ractor::SpawnErr> {
        let net = Self { codec: BttcCodec, guard: guard.clone(), peer_count };
        let (actor, _) = Actor::spawn(None, net, args).await?;
        guard.attach_network(actor.clone());
        Ok(actor)
    }

    fn ctrl(state: &NetState) -> Result<&CtrlHandle, ActorProcessingErr> {
        state.ctrl.as_ref().ok_or_else(|| "consensus network stopped".into())
    }

    /// Bans `peer` for `reason` and disconnects it.
    async fn punish(&self, state: &NetState, peer: PeerId, reason: &str) {
        self.guard.ban(peer, reason);
        self.disconnect(state, peer).await;
    }

    async fn disconnect(&self, state: &NetState, peer: PeerId) {
        if let Some(ctrl) = &state.ctrl {
            // The swarm's one way to drop a peer on request.
            let _ =
                ctrl.validator_proof_verified(peer, ProofVerificationResult::Invalid, None).await;
        }
    }

    async fn publish<T>(&self, state: &NetState, channel: Channel, msg: &T, broadcast: bool)
    where
        BttcCodec: Codec<T>,
    {
        let data = match self.codec.encode(msg) {
            Ok(d) => d,
            Err(e) => {
                return error!(target: "bttc::net::consensus", %channel, error = %e, "cannot encode");
            }
        };
        let Some(ctrl) = &state.ctrl else { return };
        let sent = if broadcast {
            ctrl.broadcast(channel, data).await
        } else {
            ctrl.publish(channel, data).await
        };
        if let Err(e) = sent {
            error!(target: "bttc::net::consensus", %channel, error = %e, "cannot publish");
        }
    }

    /// A consensus-channel message: decode, check, attribute.
    async fn on_consensus(&self, state: &NetState, from: PeerId, author: PeerId, data: Bytes) {
        let msg: SignedConsensusMsg<BttcContext> = match self.codec.decode(data) {
            Ok(m) => m,
            Err(e) => {
                return self
                    .punish(state, author, &format!("undecodable consensus message: {e}"))
                    .await;
            }
        };
        let (checked, event) = match msg {
            SignedConsensusMsg::Vote(v) => (self.guard.check_vote(&v), Ev::Vote(from, v)),
            SignedConsensusMsg::Proposal(p) => {
                (self.guard.check_proposal(&p), Ev::Proposal(from, p))
            }
        };
        match checked {
            Ok(()) => state.port.send(event),
            Err(reason) => self.punish(state, author, &reason).await,
        }
    }

    /// A liveness message. Its event names only the relaying neighbour, so invalid ones are
    /// dropped without blame.
    fn on_liveness(&self, state: &NetState, from: PeerId, data: Bytes) {
        let msg: LivenessMsg<BttcContext> = match self.codec.decode(data) {
            Ok(m) => m,
            Err(e) => {
                return debug!(target: "bttc::net::consensus", %from, error = %e, "undecodable liveness message dropped");
            }
        };
        let event = match msg {
            LivenessMsg::Vote(v) => {
                if let Err(reason) = self.guard.check_vote(&v) {
                    return debug!(target: "bttc::net::consensus", %from, reason, "invalid rebroadcast vote dropped");
                }
                Ev::Vote(from, v)
            }
            LivenessMsg::PolkaCertificate(c) => Ev::PolkaCertificate(from, c),
            LivenessMsg::SkipRoundCertificate(c) => Ev::RoundCertificate(from, c),
        };
        state.port.send(event);
    }

    /// A direct (not relayed) message from `peer`: `None` if the peer is banned, or if the
    /// bytes do not decode (the peer is then punished).
    async fn decode_direct<T>(
        &self,
        state: &NetState,
        peer: PeerId,
        body: Bytes,
        what: &str,
    ) -> Option<T>
    where
        BttcCodec: Codec<T>,
    {
        if self.guard.is_banned(&peer) {
            return None;
        }
        match self.codec.decode(body) {
            Ok(v) => Some(v),
            Err(e) => {
                self.punish(state, peer, &format!("undecodable {what}: {e}")).await;
                None
            }
        }
    }

    /// A sync status, which must come from the peer it names.
    fn status(&self, from: PeerId, data: Bytes) -> Result<Ev, String> {
        let status: sync::Status<BttcContext> =
            self.codec.decode(data).map_err(|e| format!("undecodable status: {e}"))?;
        if status.peer_id != from {
            return Err(format!("status names peer {}", status.peer_id));
        }
        Ok(Ev::Status(from, Status::new(status.tip_height, status.history_min_height)))
    }

    /// A validator proof, which must be made for the peer that sent it.
    fn validator_proof(&self, peer_id: PeerId, bytes: Bytes) -> Result<Ev, String> {
        let proof: ValidatorProof<BttcContext> =
            self.codec.decode(bytes).map_err(|e| format!("undecodable validator proof: {e}"))?;
        if proof.peer_id != peer_id.to_bytes() {
            return Err("validator proof made for another peer id".into());
        }
        Ok(Ev::ValidatorProofReceived { peer_id, proof })
    }

    async fn on_event(&self, state: &mut NetState, event: Event) -> Result<(), ActorProcessingErr> {
        let guard = &self.guard;
        match event {
            Event::Listening(addr) => {
                state.listen_addrs.push(addr.clone());
                state.port.send(Ev::Listening(addr));
            }
            Event::PeerConnected(peer) => {
                if guard.is_banned(&peer) {
                    debug!(target: "bttc::net::consensus", %peer, "banned peer reconnected; dropping it");
                    self.disconnect(state, peer).await;
                } else if state.peers.insert(peer) {
                    self.peer_count.store(state.peers.len(), Ordering::Relaxed);
                    state.port.send(Ev::PeerConnected(peer));
                }
            }
            Event::PeerDisconnected(peer) => {
                state.subscriptions.retain(|(p, _)| *p != peer);
                if state.peers.remove(&peer) {
                    self.peer_count.store(state.peers.len(), Ordering::Relaxed);
                    state.port.send(Ev::PeerDisconnected(peer));
                }
            }
            Event::PeerSubscribed(peer, channel) => {
                if state.peers.contains(&peer) && state.subscriptions.insert((peer, channel)) {
                    state.port.send(Ev::PeerSubscribed(peer, channel));
                }
            }
            Event::PeerUnsubscribed(peer, channel) => {
                state.subscriptions.remove(&(peer, channel));
            }
            Event::ConsensusMessage(channel, from, published_by, data) => {
                let Some(author) = admitted_author(guard, from, published_by) else {
                    trace!(target: "bttc::net::consensus", %from, ?published_by, "message of a banned author dropped");
                    return Ok(());
                };
                match channel {
                    Channel::Consensus => self.on_consensus(state, from, author, data).await,
                    Channel::ProposalParts => match self.codec.decode(data) {
                        Ok(part) => {
                            let part: StreamMessage<_> = part;
                            state.port.send(Ev::ProposalPart(from, published_by, part));
                        }
                        Err(e) => {
                            self.punish(state, author, &format!("undecodable proposal part: {e}"))
                                .await
                        }
                    },
                    Channel::Sync => match self.status(from, data) {
                        Ok(event) => state.port.send(event),
                        Err(reason) => self.punish(state, from, &reason).await,
                    },
                    Channel::Liveness => {
                        debug!(target: "bttc::net::consensus", %from, "liveness payload on the consensus path dropped");
                    }
                }
            }
            Event::LivenessMessage(_, from, data) => {
                if !guard.is_banned(&from) {
                    self.on_liveness(state, from, data);
                }
            }
            Event::Sync(RawMessage::Request { request_id, peer, body }) => {
                let request = self.decode_direct(state, peer, body, "sync request").await;
                match request {
                    Some(request) => {
                        let id = InboundRequestId::new(request_id);
                        state.inbound.insert(id.clone(), request_id);
                        state.port.send(Ev::SyncRequest(id, peer, request));
                    }
                    None => Self::ctrl(state)?.sync_cancel_reply(request_id).await?,
                }
            }
            Event::Sync(RawMessage::Response { request_id, peer, body }) => {
                let response = self.decode_direct(state, peer, body, "sync response").await;
                // Always answered, so that the sync actor stops waiting for it.
                state.port.send(Ev::SyncResponse(
                    OutboundRequestId::new(request_id),
                    peer,
                    response,
                ));
            }
            Event::SyncRequestFailed { request_id, peer, reason } => {
                state.port.send(Ev::SyncRequestFailed(
                    OutboundRequestId::new(request_id),
                    peer,
                    reason,
                ));
            }
            Event::SyncInboundRequestFailed { request_id, peer } => {
                let id = InboundRequestId::new(request_id);
                state.inbound.remove(&id);
                state.port.send(Ev::SyncInboundRequestFailed(id, peer));
            }
            Event::ValidatorProofReceived { peer_id, proof_bytes } => {
                if guard.is_banned(&peer_id) {
                    return Ok(());
                }
                match self.validator_proof(peer_id, proof_bytes) {
                    Ok(event) => state.port.send(event),
                    Err(reason) => self.punish(state, peer_id, &reason).await,
                }
            }
        }
        Ok(())
    }
}

/// The author of a gossiped consensus message, or `None` if that author is banned.
///
/// The author (`published_by`, checked by gossipsub's message signature) is who the message
/// is judged by, not the neighbour that relayed it: a banned neighbour whose connection is
/// still closing may relay another peer's message before that peer's own copy arrives, and
/// gossipsub then drops that copy as a duplicate. Dropping the relayed one would let its
/// author go unjudged.
pub(crate) fn admitted_author(
    guard: &PeerGuard,
    from: PeerId,
    published_by: Option<PeerId>,
) -> Option<PeerId> {
    let author = published_by.unwrap_or(from);
    (!guard.is_banned(&author)).then_some(author)
}

#[ractor::async_trait]
impl Actor for ConsensusNet {
    type Msg = Msg<BttcContext>;
    type State = NetState;
    type Arguments = NetArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: NetArgs,
    ) -> Result<NetState, ActorProcessingErr> {
        let handle = network::spawn(args.identity, args.config, args.registry).await?;
        let (mut recv, ctrl) = handle.split();
        let recv_task = tokio::spawn(async move {
            while let Some(event) = recv.recv().await {
                if myself.cast(Msg::NewEvent(event)).is_err() {
                    break;
                }
            }
        });
        Ok(NetState {
            listen_addrs: Vec::new(),
            peers: BTreeSet::new(),
            subscriptions: HashSet::new(),
            port: OutputPort::with_capacity(128),
            ctrl: Some(ctrl),
            recv_task: Some(recv_task),
            inbound: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut NetState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Msg::Subscribe(subscriber) => {
                for addr in &state.listen_addrs {
                    subscriber.send(Ev::Listening(addr.clone()));
                }
                for peer in &state.peers {
                    subscriber.send(Ev::PeerConnected(*peer));
                }
                for (peer, channel) in &state.subscriptions {
                    subscriber.send(Ev::PeerSubscribed(*peer, *channel));
                }
                subscriber.subscribe_to_port(&state.port);
            }
            Msg::PublishConsensusMsg(m) => self.publish(state, Channel::Consensus, &m, false).await,
            Msg::PublishLivenessMsg(m) => self.publish(state, Channel::Liveness, &m, false).await,
            Msg::PublishProposalPart(m) => {
                self.publish(state, Channel::ProposalParts, &m, false).await
            }
            Msg::BroadcastStatus(status) => {
                let status = sync::Status {
                    peer_id: Self::ctrl(state)?.peer_id(),
                    tip_height: status.tip_height,
                    history_min_height: status.history_min_height,
                };
                self.publish(state, Channel::Sync, &status, true).await
            }
            Msg::OutgoingRequest(peer, request, reply) => match self.codec.encode(&request) {
                Ok(data) => {
                    let id = Self::ctrl(state)?.sync_request(peer, data).await?;
                    let _ = reply.send(OutboundRequestId::new(id));
                }
                Err(e) => {
                    error!(target: "bttc::net::consensus", error = %e, "cannot encode sync request")
                }
            },
            // libp2p's request-response has no cancel; its own timeout ends the request.
            Msg::CancelRequest(_) => {}
            Msg::OutgoingResponse(id, response) => {
                let Some(raw) = state.inbound.remove(&id) else {
                    debug!(target: "bttc::net::consensus", %id, "response to an unknown request dropped");
                    return Ok(());
                };
                let ctrl = Self::ctrl(state)?;
                match self.codec.encode(&response) {
                    Ok(data) => ctrl.sync_reply(raw, data).await?,
                    Err(e) => {
                        error!(target: "bttc::net::consensus", error = %e, "cannot encode sync response");
                        ctrl.sync_cancel_reply(raw).await?
                    }
                }
            }
            Msg::CancelInboundRequest(id) => {
                if let Some(raw) = state.inbound.remove(&id) {
                    Self::ctrl(state)?.sync_cancel_reply(raw).await?;
                }
            }
            Msg::DumpState(reply) => {
                let dump = match &state.ctrl {
                    Some(c) => c.dump_state().await.ok(),
                    None => None,
                };
                let _ = reply.send(dump);
            }
            Msg::UpdatePersistentPeers(op, reply) => {
                let result = match &state.ctrl {
                    None => Err(network::PersistentPeerError::NetworkStopped),
                    Some(c) => match op {
                        PersistentPeersOp::Add(addr) => c.add_persistent_peer(addr).await,
                        PersistentPeersOp::Remove(addr) => c.remove_persistent_peer(addr).await,
                    }
                    .unwrap_or_else(|e| {
                        Err(network::PersistentPeerError::InternalError(e.to_string()))
                    }),
                };
                let _ = reply.send(result);
            }
            Msg::UpdateValidatorSet(set) => {
                let validators = set
                    .validators()
                    .iter()
                    .map(|v| network::ValidatorInfo {
                        address: v.address.to_string(),
                        public_key: Secp256k1Scheme::encode_public_key(&v.public_key),
                        voting_power: v.voting_power,
                    })
                    .collect();
                Self::ctrl(state)?.update_validator_set(validators).await?;
            }
            Msg::ValidatorProofVerified { peer_id, result, public_key } => {
                Self::ctrl(state)?.validator_proof_verified(peer_id, result, public_key).await?;
            }
            Msg::NewEvent(event) => self.on_event(state, event).await?,
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut NetState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(ctrl) = state.ctrl.take() {
            ctrl.wait_shutdown().await?;
        }
        if let Some(task) = state.recv_task.take() {
            task.await?;
        }
        Ok(())
    }
}

/// The consensus swarm's settings for a node of `chain` listening on `listen` (TCP) and
/// dialling `bootnodes`: gossipsub with signed messages and peer scoring (validators and
/// persistent peers first in the mesh), Kademlia discovery, protocol names and topics of
/// `chain` (a peer of another chain is dropped at the identify handshake), size limits from
/// [`limits`], value sync on with `sync`'s settings.
pub fn consensus_network_config(
    chain: &ChainIdentity,
    listen: Multiaddr,
    bootnodes: Vec<Multiaddr>,
    sync: &malachitebft_config::ValueSyncConfig,
) -> network::Config {
    let gossip = malachitebft_config::GossipSubConfig::default();
    network::Config {
        listen_addr: listen,
        persistent_peers: bootnodes,
        persistent_peers_only: false,
        discovery: network::DiscoveryConfig { enabled: true, ..Default::default() },
        idle_connection_timeout: std::time::Duration::from_secs(15 * 60),
        transport: network::TransportProtocol::Tcp,
        gossipsub: network::GossipSubConfig {
            mesh_n: gossip.mesh_n(),
            mesh_n_high: gossip.mesh_n_high(),
            mesh_n_low: gossip.mesh_n_low(),
            mesh_outbound_min: gossip.mesh_outbound_min(),
            enable_peer_scoring: true,
            enable_explicit_peering: gossip.enable_explicit_peering(),
            enable_flood_publish: gossip.enable_flood_publish(),
        },
        pubsub_protocol: network::PubSubProtocol::GossipSub,
        channel_names: channel_names(chain),
        rpc_max_size: limits::MAX_SYNC_RESPONSE_BYTES,
        pubsub_max_size: limits::PUBSUB_MAX_BYTES,
        pubsub_max_size_per_topic: network::PubSubMaxSizePerTopic {
            consensus: None,
            proposal_parts: Some(limits::MAX_PART_MESSAGE_BYTES),
            liveness: None,
        },
        sync_request_timeout: sync.request_timeout,
        sync_max_request_size: sync.max_request_size.as_u64() as usize,
        sync_parallel_requests: sync.parallel_requests,
        enable_consensus: true,
        enable_sync: sync.enabled,
        protocol_names: protocol_names(chain),
    }
}

/// Value sync's settings: on, a status every second, and responses large enough for the
/// largest block with its certificate ([`limits::MAX_SYNC_RESPONSE_BYTES`]), so that every
/// block that can be decided can also be synced.
pub fn value_sync_config() -> malachitebft_config::ValueSyncConfig {
    malachitebft_config::ValueSyncConfig {
        enabled: true,
        status_update_interval: std::time::Duration::from_secs(1),
        max_response_size: bytesize::ByteSize::b(limits::MAX_SYNC_RESPONSE_BYTES as u64),
        ..Default::default()
    }
}

/// The consensus swarm's protocol names on `chain`. `consensus` is what identify advertises;
/// Malachite disconnects a peer that advertises another.
pub fn protocol_names(chain: &ChainIdentity) -> network::ProtocolNames {
    network::ProtocolNames {
        consensus: chain.protocol("consensus/1"),
        discovery_kad: chain.protocol("kad/1"),
        discovery_regres: chain.protocol("discovery/1"),
        sync: chain.protocol("sync/1"),
        validator_proof: chain.protocol("validator-proof/1"),
    }
}

/// The consensus swarm's topics on `chain`.
pub fn channel_names(chain: &ChainIdentity) -> network::ChannelNames {
    network::ChannelNames {
        consensus: chain.protocol("consensus"),
        proposal_parts: chain.protocol("proposal_parts"),
        sync: chain.protocol("sync"),
        liveness: chain.protocol("liveness"),
    }
}
