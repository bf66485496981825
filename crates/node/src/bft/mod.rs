//! A BFT node: the chain, the pool and JSON-RPC (as in dev mode) with blocks decided by the
//! Malachite engine instead of a local producer.
//!
//! [`BftNode::start`] opens (or initialises) the datadir, builds the validator set from the
//! genesis `bttc.validators`, starts the consensus network (Malachite's libp2p swarm under
//! bttc's own actor in `net`, which attributes every message to its publisher and bans
//! offenders through `guard`), the engine (WAL under `<datadir>/wal`, value sync), the
//! driver in `app`, the transaction gossip swarm and the JSON-RPC server. Both swarms speak
//! protocols named for the chain (chain id and genesis hash), and size their messages from
//! the largest block ([`limits`]).
//!
//! [`BftNode::stopped`] resolves if the driver cannot go on (a decided block it cannot
//! commit, a height without parameters): the engine is stopped at once, and the node must
//! exit; a restart recovers from the database and the WAL.

mod app;
mod bor;
pub mod checkpoints;
mod evidence;
mod gossip;
mod guard;
mod last_commit;
pub mod limits;
mod net;
mod state_syncs;
pub mod store;
mod streams;
mod syncing;
#[cfg(test)]
mod tests;

use crate::NodeError;
use app::ConsensusApp;
pub use app::{CommitError, ConsensusError};
use bttc_chain::{InitOutcome, init_genesis};
use bttc_consensus::{
    BttcCodec, BttcContext, ConsensusSigner, ConsensusVerifier, StaticValidators, ValidatorAddress,
    ValidatorSetProvider, address_of,
    core_types::LinearTimeouts,
    engine_channel::{
        ConsensusContext, EngineBuilder, EngineHandle, NetworkMsg, RequestContext, SyncContext,
        WalContext,
        app::{
            config::NodeConfig, engine::network::NetworkIdentity, metrics::SharedRegistry,
            net::Multiaddr, types::Keypair,
        },
    },
};
use bttc_rpc::{ChainEvents, RpcConfig, RpcContext, start_server};
use bttc_storage::{DatabaseEnv, DbOptions};
use bttc_txpool::{PoolConfig, TxPool};
use jsonrpsee::server::ServerHandle;
use k256::ecdsa::SigningKey;
use malachitebft_config::{ConsensusConfig, ValuePayload, ValueSyncConfig};
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use tracing::info;

pub use net::{channel_names, consensus_network_config, protocol_names, value_sync_config};
pub use store::{certificate, certificate_json, decode_certificate, encode_certificate};

/// Settings of a BFT node.
#[derive(Debug, Clone)]
pub struct BftNodeConfig {
    /// Where the chain, the WAL and the node key live.
    pub datadir: PathBuf,
    /// Genesis JSON to initialise an empty datadir with (must match a non-empty one).
    pub genesis: Option<String>,
    /// The validator key; `None` runs a full node (follows and verifies, never votes).
    pub validator_key: Option<SigningKey>,
    /// Where the consensus network listens (TCP).
    pub p2p_addr: SocketAddr,
    /// Peers to connect to at start (multiaddrs, e.g. `/ip4/127.0.0.1/tcp/30301`).
    pub bootnodes: Vec<String>,
    /// JSON-RPC settings.
    pub rpc: RpcConfig,
    /// Target block time (the engine waits for it before starting the next height); the
    /// genesis `bttc.blockTimeMs` when `None`.
    pub block_time: Option<Duration>,
    /// Round timeouts.
    pub timeouts: LinearTimeouts,
    /// Name in logs and metrics.
    pub moniker: String,
    /// Use a `node.key` that group or others can access (refused by default).
    pub insecure_key_permissions: bool,
    /// Transaction pool limits.
    pub pool: PoolConfig,
    /// The validator set of each height; `None`: the genesis validators at every height.
    pub validator_sets: Option<Arc<dyn ValidatorSetProvider>>,
    /// Root chains to post checkpoints to (one submitter each).
    pub roots: Vec<bttc_checkpoint::RootConfig>,
    /// Root chains whose `StateSender` this node reads (deposits; one watcher each).
    pub state_syncs: Vec<bttc_bridge::WatchConfig>,
}

impl BftNodeConfig {
    /// Defaults for a node in `datadir` (block time from the genesis).
    pub fn new(datadir: PathBuf) -> Self {
        Self {
            datadir,
            genesis: None,
            validator_key: None,
            p2p_addr: SocketAddr::from(([127, 0, 0, 1], 30301)),
            bootnodes: Vec::new(),
            rpc: RpcConfig::default(),
            block_time: None,
            timeouts: devnet_timeouts(),
            moniker: "bttc".into(),
            insecure_key_permissions: false,
            pool: PoolConfig::default(),
            validator_sets: None,
            roots: Vec::new(),
            state_syncs: Vec::new(),
        }
    }
}

/// Round timeouts for one-second blocks on a local network.
pub fn devnet_timeouts() -> LinearTimeouts {
    LinearTimeouts {
        propose: Duration::from_millis(2000),
        propose_delta: Duration::from_millis(500),
        prevote: Duration::from_millis(1000),
        prevote_delta: Duration::from_millis(500),
        precommit: Duration::from_millis(1000),
        precommit_delta: Duration::from_millis(500),
        rebroadcast: Duration::from_millis(4000),
        max_timeout: Duration::from_secs(30),
    }
}

#[derive(Debug, Clone)]
struct EngineConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// A running BFT node.
pub struct BftNode {
    /// Where JSON-RPC listens.
    pub rpc_addr: SocketAddr,
    /// This node's libp2p peer id.
    pub peer_id: String,
    /// Its validator address, if it validates.
    pub validator: Option<ValidatorAddress>,
    /// Chain id.
    pub chain_id: u64,
    /// The chain (id and genesis hash) its protocol names are made for.
    pub chain: bttc_network::ChainIdentity,
    server: ServerHandle,
    engine: EngineHandle,
    /// The driver, until its end has been observed.
    driver: Option<tokio::task::JoinHandle<Result<(), ConsensusError>>>,
    sync_watcher: ractor::ActorRef<syncing::WatchedEvent>,
    /// One checkpoint submitter per configured root chain, and one state-sync watcher per
    /// root with a `StateSender`.
    submitters: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for BftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BftNode")
            .field("rpc_addr", &self.rpc_addr)
            .field("peer_id", &self.peer_id)
            .field("validator", &self.validator)
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

/// The libp2p key of a full node, `<datadir>/node.key`: made (mode 0600) on first start,
/// refused when others can read it unless `allow_insecure`.
fn node_key(datadir: &std::path::Path, allow_insecure: bool) -> Result<SigningKey, NodeError> {
    let path = datadir.join("node.key");
    if path.exists() {
        let bytes = crate::key_file::read_private_file(&path, allow_insecure)?;
        return SigningKey::from_slice(&bytes).map_err(|e| NodeError::NodeKey {
            path: path.display().to_string(),
            source: Box::new(e),
        });
    }
    let key = SigningKey::random(&mut k256::elliptic_curve::rand_core::OsRng);
    crate::key_file::write_private_file(&path, &key.to_bytes())?;
    Ok(key)
}

fn libp2p_keypair(key: &SigningKey) -> Result<Keypair, NodeError> {
    let mut bytes = key.to_bytes();
    let secret = libp2p_identity::secp256k1::SecretKey::try_from_bytes(&mut bytes[..])
        .map_err(|e| NodeError::NodeKey { path: "(in memory)".into(), source: Box::new(e) })?;
    Ok(Keypair::from(libp2p_identity::secp256k1::Keypair::from(secret)))
}

impl BftNode {
    /// Opens the chain, starts the engine, the driver and the JSON-RPC server.
    pub async fn start(config: BftNodeConfig) -> Result<Self, NodeError> {
        std::fs::create_dir_all(&config.datadir)?;
        let db = DatabaseEnv::open(&config.datadir.join("db"), DbOptions::default())?;
        if let Some(genesis) = &config.genesis
            && let InitOutcome::Written { .. } = init_genesis(&db, genesis)?
        {
            info!(target: "bttc::node", datadir = %config.datadir.display(), "chain initialised from genesis");
        }
        let chain = bttc_staking::open_chain(db)?;
        let spec = chain.spec().clone();
        let chain_id = spec.chain_id();
        let params = spec.bttc().ok_or(NodeError::NotBttc)?;
        // The set of every height: from the staking contract's elections when the chain has
        // one, else the genesis list for ever.
        let epochs = match &config.validator_sets {
            Some(_) => None,
            None => bttc_staking::StakeValidators::open(chain.db().clone(), chain_id)
                .map_err(NodeError::Staking)?
                .map(Arc::new),
        };
        let validators: Arc<dyn ValidatorSetProvider> = match (&config.validator_sets, &epochs) {
            (Some(v), _) => v.clone(),
            (None, Some(e)) => e.clone(),
            (None, None) => Arc::new(
                StaticValidators::from_genesis(&params.validators)
                    .map_err(NodeError::GenesisValidators)?,
            ),
        };
        let schedule = bttc_checkpoint::CheckpointSchedule::new(params.checkpoint_interval)
            .map_err(NodeError::CheckpointInterval)?;
        let genesis_hash = chain.db().ro()?.canonical_hash(0)?.ok_or(NodeError::NoGenesisBlock)?;
        let chain_identity = bttc_network::ChainIdentity::new(chain_id, genesis_hash);
        let block_time =
            config.block_time.unwrap_or(Duration::from_millis(params.block_time_ms.max(1)));
        let ctx = BttcContext::new(chain_id);
        let signer = config.validator_key.clone().map(|k| ConsensusSigner::new(k, chain_id));
        let net_key = match &config.validator_key {
            Some(k) => k.clone(),
            None => node_key(&config.datadir, config.insecure_key_permissions)?,
        };
        let keypair = libp2p_keypair(&net_key)?;
        let peer_id = keypair.public().to_peer_id().to_string();
        let address = ValidatorAddress(address_of(net_key.verifying_key()));

        let listen: Multiaddr =
            format!("/ip4/{}/tcp/{}", config.p2p_addr.ip(), config.p2p_addr.port())
                .parse()
                .map_err(|e| NodeError::Address {
                    what: "p2p address",
                    value: config.p2p_addr.to_string(),
                    source: Some(Box::new(e)),
                })?;
        let listen_addr = listen.clone();
        let gossip_keypair = keypair.clone();
        let mut bootnodes = Vec::new();
        for b in &config.bootnodes {
            bootnodes.push(b.parse::<Multiaddr>().map_err(|e| NodeError::Address {
                what: "bootnode",
                value: b.clone(),
                source: Some(Box::new(e)),
            })?);
        }
        let config_bootnodes = bootnodes;
        let value_sync = value_sync_config();
        let net_config = consensus_network_config(
            &chain_identity,
            listen.clone(),
            config_bootnodes.clone(),
            &value_sync,
        );
        let engine_config = EngineConfig {
            moniker: config.moniker.clone(),
            // `consensus.p2p` is read only by the engine's default network actor, which this
            // node replaces (`net_config` above is the swarm's configuration).
            consensus: ConsensusConfig {
                value_payload: ValuePayload::ProposalAndParts,
                ..Default::default()
            },
            value_sync,
        };
        let identity = NetworkIdentity::new(
            config.moniker.clone(),
            keypair,
            signer.as_ref().map(|s| s.address().to_string()),
        );
        let verifier = ConsensusVerifier::new(chain_id);
        let consensus_ctx = match &signer {
            Some(s) => {
                ConsensusContext::new_validator(address, Box::new(verifier), Box::new(s.clone()))
            }
            None => ConsensusContext::new_full_node(address, Box::new(verifier)),
        };
        // Our own network actor (attribution and bans), in place of the engine's default.
        let guard = Arc::new(guard::PeerGuard::new(chain_id, validators.clone()));
        let registry = SharedRegistry::global().with_moniker(config.moniker.clone());
        let consensus_peers = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let network = net::ConsensusNet::spawn(
            net::NetArgs { identity, config: net_config, registry },
            guard.clone(),
            consensus_peers.clone(),
        )
        .await
        .map_err(|e| NodeError::Start { component: "consensus network", source: e.into() })?;
        // `eth_syncing` follows the tips peers announce on that network.
        let (sync, sync_watcher) = syncing::watch(&network, chain.clone())
            .await
            .map_err(|e| NodeError::Start { component: "sync status watcher", source: e.into() })?;
        let (tx_network, mut rx_network) = tokio::sync::mpsc::channel::<NetworkMsg<BttcContext>>(1);
        let forward_to = network.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx_network.recv().await {
                if forward_to.cast(msg.into()).is_err() {
                    break;
                }
            }
        });
        let (channels, engine) = EngineBuilder::new(ctx.clone(), engine_config)
            .with_default_wal(WalContext::new(
                config.datadir.join("wal").join("consensus.wal"),
                BttcCodec,
            ))
            .with_custom_network(network, tx_network)
            .with_default_sync(SyncContext::new(BttcCodec))
            .with_default_consensus(consensus_ctx)
            .with_default_request(RequestContext::new(100))
            .build()
            .await
            .map_err(|e| NodeError::Start { component: "consensus engine", source: e.into() })?;

        let pool = Arc::new(TxPool::new(config.pool.clone()));
        let events = ChainEvents::default();
        let commits = store::StoredCommits { db: chain.db().clone(), chain_id };
        let mut rpc_ctx =
            RpcContext::new(chain.clone(), pool.clone(), config.rpc.clone(), events.clone())
                .with_commits(Arc::new(commits))
                .with_validators(Arc::new(bor::ConsensusView {
                    validators: validators.clone(),
                    ctx: ctx.clone(),
                }))
                .with_sync(sync);
        let checkpoint_status = Arc::new(bttc_checkpoint::SubmitterStatus::default());
        if !config.roots.is_empty() {
            rpc_ctx = rpc_ctx.with_checkpoint_status(checkpoint_status.clone());
        }
        let root_records = Arc::new(bttc_bridge::RootRecords::default());
        if !config.state_syncs.is_empty() {
            rpc_ctx = rpc_ctx.with_state_syncs(root_records.clone());
        }

        // Transactions travel on our own swarm: QUIC on the consensus port number.
        let gossip_listen =
            bttc_network::quic_addr(&listen_addr).ok_or_else(|| NodeError::Address {
                what: "p2p address (no TCP port)",
                value: listen_addr.to_string(),
                source: None,
            })?;
        let mut gossip_config = bttc_network::GossipConfig::new(chain_identity, gossip_listen);
        gossip_config.bootnodes =
            config_bootnodes.iter().filter_map(bttc_network::quic_addr).collect();
        let sink_ctx = Arc::new(std::sync::OnceLock::<Arc<RpcContext>>::new());
        let gossip = bttc_network::TxGossip::spawn(
            gossip_keypair,
            gossip_config,
            Arc::new(gossip::LateSink(sink_ctx.clone())),
        )
        .await
        .map_err(|e| NodeError::Start { component: "transaction gossip", source: e.into() })?;
        guard.attach_gossip(gossip.clone());
        rpc_ctx.peers = Some(Arc::new(guard::BftPeers {
            guard: guard.clone(),
            consensus: consensus_peers,
            gossip: gossip.clone(),
        }));
        let rpc_ctx = Arc::new(rpc_ctx);
        let _ = sink_ctx.set(rpc_ctx.clone());
        tokio::spawn(gossip::publish_pending(rpc_ctx.clone(), gossip));
        let server = start_server(rpc_ctx).await?;

        let store = Arc::new(checkpoints::StoredCheckpoints { db: chain.db().clone() });
        let submitters: Vec<_> = config
            .roots
            .iter()
            .map(|root| {
                let s = bttc_checkpoint::Submitter::new(
                    root.clone(),
                    store.clone(),
                    signer.as_ref().map(|s| s.address().0),
                    checkpoint_status.clone(),
                );
                tokio::spawn(s.run())
            })
            .collect();
        let watchers = state_syncs::spawn_watchers(&config.state_syncs, &root_records, chain.db());
        let checkpoints = checkpoints::CheckpointSigning::new(
            schedule,
            chain_id,
            epochs.clone(),
            validators.clone(),
        );
        let app = ConsensusApp {
            chain,
            pool,
            events,
            ctx,
            signer: signer.clone(),
            validators: validators.clone(),
            epochs: epochs.clone(),
            evidence: Default::default(),
            guard,
            timeouts: config.timeouts,
            target_time: Some(block_time),
            streams: Default::default(),
            waiting: Vec::new(),
            committed: None,
            checkpoints,
            root_records,
        };
        let engine_actor = engine.actor.clone();
        let driver = tokio::spawn(async move {
            let outcome = app.run(channels).await;
            if outcome.is_err() {
                // Nothing more may be signed: the engine stops with the driver.
                engine_actor.stop(Some("the consensus driver failed".into()));
            }
            outcome
        });
        info!(target: "bttc::node", chain_id, %genesis_hash, %peer_id, validator = ?signer.as_ref().map(|s| s.address()), rpc = %server.addr, "bft node started");
        Ok(Self {
            rpc_addr: server.addr,
            peer_id,
            validator: signer.map(|s| s.address()),
            chain_id,
            chain: chain_identity,
            server: server.handle,
            engine,
            driver: Some(driver),
            sync_watcher,
            submitters: submitters.into_iter().chain(watchers).collect(),
        })
    }

    /// Resolves if consensus ends while the node runs, with the cause: a decided block this
    /// node cannot commit or a height without parameters ([`NodeError::Consensus`]; the engine
    /// is stopped already), or an engine that stopped by itself. The node must then exit; a
    /// restart recovers from the database and the WAL. Resolves at most once.
    pub async fn stopped(&mut self) -> NodeError {
        let Some(driver) = self.driver.as_mut() else {
            return std::future::pending().await;
        };
        let outcome = driver.await;
        self.driver = None;
        match outcome {
            Ok(Err(e)) => NodeError::Consensus(Box::new(e)),
            Ok(Ok(())) => NodeError::Driver("the consensus engine stopped".into()),
            Err(e) => NodeError::Driver(e.to_string()),
        }
    }

    /// Stops the engine, the driver and the server.
    pub async fn stop(self) {
        self.engine.actor.stop(None);
        let _ = self.engine.handle.await;
        if let Some(driver) = self.driver {
            driver.abort();
        }
        self.sync_watcher.stop(None);
        for s in &self.submitters {
            s.abort();
        }
        let _ = self.server.stop();
        self.server.clone().stopped().await;
    }
}
