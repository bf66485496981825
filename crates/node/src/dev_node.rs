//! `bttc node --dev`: one process with a chain, a pool, a local block producer and the
//! JSON-RPC server, like anvil.

use crate::{
    DEV_CHAIN_ID, DEV_GAS_LIMIT, DevAccount, DevProducer, dev_accounts, dev_genesis_with_gas_limit,
};
use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use bttc_chain::{ChainError, InitOutcome, init_genesis};
use bttc_rpc::{ChainEvents, RpcConfig, RpcContext, RpcError, start_server};
use bttc_storage::{DatabaseEnv, DbOptions, StorageError};
use bttc_txpool::{PoolConfig, TxPool};
use jsonrpsee::server::ServerHandle;
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::{sync::watch, task::JoinHandle};
use tracing::{error, info};

/// When the dev producer makes blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiningMode {
    /// A block as soon as transactions are pending, with whatever is pending.
    Auto,
    /// A block every interval, empty or not.
    Interval(Duration),
    /// No blocks: serve the stored chain only.
    Off,
}

/// Settings of a dev node.
#[derive(Debug, Clone)]
pub struct DevNodeConfig {
    /// Chain id of a new dev chain (never 199 or 1029).
    pub chain_id: u64,
    /// Number of prefunded, unlocked dev accounts.
    pub accounts: u32,
    /// Balance of each dev account, in wei.
    pub balance: U256,
    /// Block gas limit of a new dev chain.
    pub gas_limit: u64,
    /// Block production.
    pub mining: MiningMode,
    /// Where the chain lives; `None` is a temporary directory removed on exit.
    pub datadir: Option<PathBuf>,
    /// JSON-RPC settings.
    pub rpc: RpcConfig,
    /// Transaction pool limits.
    pub pool: PoolConfig,
}

impl Default for DevNodeConfig {
    fn default() -> Self {
        Self {
            chain_id: DEV_CHAIN_ID,
            accounts: 10,
            balance: U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18u64)),
            gas_limit: DEV_GAS_LIMIT,
            mining: MiningMode::Auto,
            datadir: None,
            rpc: RpcConfig::dev(),
            pool: PoolConfig::default(),
        }
    }
}

/// An error of a lower layer kept whole, for [`NodeError`]'s sources.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A dev node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The datadir's database failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The chain could not be opened or initialised.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// The genesis is not a bttc chain's (no `config.bttc` section).
    #[error("the genesis has no `bttc` section: not a bttc chain")]
    NotBttc,
    /// The genesis `checkpointInterval` is out of range.
    #[error("genesis config.bttc")]
    CheckpointInterval(#[source] bttc_checkpoint::IntervalError),
    /// The genesis validators do not make a validator set.
    #[error("genesis validators")]
    GenesisValidators(#[source] bttc_consensus::ValidatorSetError),
    /// The database holds no genesis block.
    #[error("the database holds no genesis block")]
    NoGenesisBlock,
    /// The node key file does not hold a usable secp256k1 key.
    #[error("node key {path}: not a secp256k1 key")]
    NodeKey {
        /// The key file (or `validator key` for a validator's own key).
        path: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// An address from the configuration cannot be used.
    #[error("{what} {value:?} cannot be used")]
    Address {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: String,
        /// Why (a parse error), if there is one beyond the message.
        #[source]
        source: Option<BoxError>,
    },
    /// A network or consensus component could not start.
    #[error("{component} could not start")]
    Start {
        /// Which one.
        component: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The dev genesis could not be made.
    #[error(transparent)]
    DevGenesis(#[from] crate::dev::DevGenesisError),
    /// The validator sets could not be read from the staking contract.
    #[error("staking: validator sets")]
    Staking(#[source] bttc_staking::SetsError),
    /// The JSON-RPC server could not start.
    #[error("rpc: {0}")]
    Rpc(#[from] RpcError),
    /// The temporary datadir could not be made.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A key file could not be written or may not be used.
    #[error("key file: {0}")]
    KeyFile(#[from] crate::key_file::KeyFileError),
    /// Consensus cannot go on (the node must stop; a restart recovers).
    #[error("consensus: {0}")]
    Consensus(#[from] Box<crate::bft::ConsensusError>),
    /// The consensus driver task panicked or was cancelled.
    #[error("consensus driver: {0}")]
    Driver(String),
}

/// A running dev node.
#[derive(Debug)]
pub struct DevNode {
    /// Where JSON-RPC listens.
    pub rpc_addr: SocketAddr,
    /// The unlocked dev accounts.
    pub accounts: Vec<DevAccount>,
    /// Chain id of the chain served.
    pub chain_id: u64,
    /// Head block number at start.
    pub head_at_start: u64,
    /// Whether the chain was created now (rather than resumed from the datadir).
    pub created: bool,
    /// Where the chain lives.
    pub datadir: PathBuf,
    server: ServerHandle,
    shutdown: watch::Sender<bool>,
    miner: Option<JoinHandle<()>>,
    _tmp: Option<tempfile::TempDir>,
}

impl DevNode {
    /// Opens (or creates) the chain, starts the producer and the JSON-RPC server.
    pub async fn start(config: DevNodeConfig) -> Result<Self, NodeError> {
        let (datadir, tmp, opts) = match &config.datadir {
            Some(d) => (d.clone(), None, DbOptions::default()),
            None => {
                let t = tempfile::Builder::new().prefix("bttc-dev-").tempdir()?;
                (t.path().to_path_buf(), Some(t), DbOptions::ephemeral())
            }
        };
        let db = DatabaseEnv::open(&datadir.join("db"), opts)?;
        let accounts = dev_accounts(config.accounts);
        let has_chain = db.ro()?.genesis_json()?.is_some();
        let created = if has_chain {
            false
        } else {
            let genesis = dev_genesis_with_gas_limit(
                config.chain_id,
                &accounts,
                config.balance,
                config.gas_limit,
            )?;
            matches!(init_genesis(&db, &genesis)?, InitOutcome::Written { .. })
        };
        let chain = bttc_staking::open_chain(db)?;
        let head_at_start = chain.head()?.number;
        let chain_id = chain.spec().chain_id();
        let pool = Arc::new(TxPool::new(config.pool.clone()));
        let events = ChainEvents::default();
        let signers =
            accounts.iter().filter_map(|a| PrivateKeySigner::from_bytes(&a.private_key).ok());
        let mut ctx =
            RpcContext::new(chain.clone(), pool.clone(), config.rpc.clone(), events.clone())
                .with_signers(signers);
        ctx.mining = config.mining != MiningMode::Off;
        let server = start_server(Arc::new(ctx)).await?;
        let (shutdown, rx) = watch::channel(false);
        let miner = (config.mining != MiningMode::Off).then(|| {
            let beneficiary = accounts.first().map(|a| a.address).unwrap_or(Address::ZERO);
            let producer = Arc::new(DevProducer::new(chain, pool, beneficiary));
            tokio::spawn(mine_loop(producer, events, config.mining, rx))
        });
        info!(target: "bttc::dev", chain_id, head = head_at_start, datadir = %datadir.display(), "dev node started");
        Ok(Self {
            rpc_addr: server.addr,
            accounts,
            chain_id,
            head_at_start,
            created,
            datadir,
            server: server.handle,
            shutdown,
            miner,
            _tmp: tmp,
        })
    }

    /// Stops producing, stops the server and waits for both.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(m) = self.miner.take() {
            let _ = m.await;
        }
        let _ = self.server.stop();
        self.server.clone().stopped().await;
    }
}

fn now_secs() -> u64 {
    secs_at(SystemTime::now())
}

fn secs_at(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Mines one block on the blocking pool and announces it. Returns how many transactions
/// it included, or `None` if mining failed.
async fn mine_one(
    producer: &Arc<DevProducer>,
    events: &ChainEvents,
    timestamp: u64,
    seal_at: Option<std::time::Instant>,
) -> Option<usize> {
    let p = producer.clone();
    match tokio::task::spawn_blocking(move || p.mine_sealed_at(timestamp, seal_at)).await {
        Ok(Ok(block)) => {
            let _ = events.new_heads.send(block.number);
            Some(block.included.len())
        }
        Ok(Err(e)) => {
            error!(target: "bttc::dev", error = %e, "block production failed");
            None
        }
        Err(e) => {
            error!(target: "bttc::dev", error = %e, "block production task failed");
            None
        }
    }
}

async fn mine_loop(
    producer: Arc<DevProducer>,
    events: ChainEvents,
    mode: MiningMode,
    mut shutdown: watch::Receiver<bool>,
) {
    match mode {
        MiningMode::Off => {}
        MiningMode::Interval(every) => {
            // Build each block a little ahead of its slot and seal it on the slot, so that a
            // block is visible at its time rather than its time plus the build.
            let lead = (every / 5).min(Duration::from_millis(200));
            let mut slot = tokio::time::Instant::now() + every;
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep_until(slot - lead) => {}
                }
                let seal_at = slot.into_std();
                let timestamp = secs_at(SystemTime::now() + lead);
                mine_one(&producer, &events, timestamp, Some(seal_at)).await;
                slot += every;
                // A build that overran its slot: the next slot starts from now.
                let now = tokio::time::Instant::now();
                if slot <= now {
                    slot = now + every;
                }
            }
        }
        MiningMode::Auto => {
            let mut rx = events.new_pending.subscribe();
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    r = rx.recv() => {
                        if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                            return;
                        }
                    }
                }
                // Batch whatever arrived meanwhile into the next block(s).
                while !matches!(
                    rx.try_recv(),
                    Err(tokio::sync::broadcast::error::TryRecvError::Empty
                        | tokio::sync::broadcast::error::TryRecvError::Closed)
                ) {}
                while producer.pool_status().pending > 0 {
                    match mine_one(&producer, &events, now_secs(), None).await {
                        Some(n) if n > 0 => {}
                        _ => break,
                    }
                    if *shutdown.borrow() {
                        return;
                    }
                }
            }
        }
    }
}
