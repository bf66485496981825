//! What every method reads: the chain, the pool, the dev signers, the limits, and the
//! channels that carry new blocks and new pool transactions to filters and subscriptions.

use crate::{RpcConfig, RpcError, RpcResult, filters::Filters};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256};
use alloy_signer_local::PrivateKeySigner;
use bttc_chain::validate::expected_base_fee;
use bttc_primitives::Header;
use bttc_staking::NodeChain;
use bttc_storage::{HistoricalState, Provider, Ro, StateProvider, StorageResult};
use bttc_txpool::{TxPool, ValidationContext};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Events the node publishes to the RPC layer.
#[derive(Debug, Clone)]
pub struct ChainEvents {
    /// Number of each newly committed head block.
    pub new_heads: broadcast::Sender<u64>,
    /// Hash of each transaction newly accepted into the pool.
    pub new_pending: broadcast::Sender<B256>,
}

impl Default for ChainEvents {
    fn default() -> Self {
        Self { new_heads: broadcast::channel(1024).0, new_pending: broadcast::channel(16_384).0 }
    }
}

/// Where `bttc_getCommit` reads commit certificates: the consensus layer supplies it (the
/// RPC crate does not know the certificate encoding); dev mode has none.
pub trait CommitSource: Send + Sync + std::fmt::Debug {
    /// The certificate that decided block `number`, as JSON, or `None` if there is none.
    fn commit(&self, number: u64) -> Result<Option<serde_json::Value>, String>;
}

/// A member of a validator set as Bor's `bor_getCurrentValidators` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BorValidator {
    /// Position in the set (set order: power descending, then address).
    #[serde(rename = "ID")]
    pub id: u64,
    /// The consensus key's address.
    pub signer: Address,
    /// Voting power (stake in whole BTT when elected).
    pub power: u64,
    /// Proposer priority going into the height (Tendermint's accumulator).
    pub accum: i128,
}

/// Where the `bor_*` methods learn the validator set and proposer of a height: the
/// consensus layer supplies it; dev mode has none.
pub trait ValidatorSource: Send + Sync + std::fmt::Debug {
    /// The set that decides `height`, with each member's priority going into it.
    fn validators(&self, height: u64) -> Result<Vec<BorValidator>, String>;
    /// The proposer of `height` at round 0.
    fn proposer(&self, height: u64) -> Result<Address, String>;
}

/// What the server reports about the node's peers (`net_peerCount`, `bttc_bannedPeers`):
/// the network layer supplies it; dev mode has none.
pub trait PeerSource: Send + Sync + std::fmt::Debug {
    /// Connected peers.
    fn peer_count(&self) -> usize;
    /// Peers banned now, for what, and for how much longer.
    fn banned(&self) -> Vec<BannedPeer>;
}

/// Where `eth_syncing` learns whether the node is catching up with its peers: the consensus
/// layer supplies it (a BFT node follows the tips its peers announce); dev mode has none and
/// is never syncing.
pub trait SyncSource: Send + Sync + std::fmt::Debug {
    /// Progress while the node with head `current` is behind its peers; `None` once it has
    /// caught up.
    fn progress(&self, current: u64) -> Option<SyncProgress>;
}

/// `eth_syncing`'s answer while catching up (geth's block fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    /// The head when this catch-up started.
    #[serde(with = "alloy_serde::quantity")]
    pub starting_block: u64,
    /// The head now.
    #[serde(with = "alloy_serde::quantity")]
    pub current_block: u64,
    /// The highest block a peer has announced.
    #[serde(with = "alloy_serde::quantity")]
    pub highest_block: u64,
}

/// One entry of `bttc_bannedPeers`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BannedPeer {
    /// The peer's libp2p id (derived from its node key).
    pub peer_id: String,
    /// The fault that banned it, as logged.
    pub reason: String,
    /// Seconds until the ban is lifted.
    pub seconds_left: u64,
}

/// Shared state of all RPC methods.
#[derive(Debug)]
pub struct RpcContext {
    /// The chain.
    pub chain: NodeChain,
    /// The transaction pool.
    pub pool: Arc<TxPool>,
    /// Unlocked accounts for `eth_sendTransaction` (dev mode only; empty otherwise), in the
    /// order `eth_accounts` lists them.
    pub signers: Vec<PrivateKeySigner>,
    /// Limits and switches.
    pub config: RpcConfig,
    /// New heads and pending transactions.
    pub events: ChainEvents,
    /// Installed polling filters.
    pub(crate) filters: Filters,
    /// Value of `web3_clientVersion`.
    pub client_version: String,
    /// Whether this node is mining (dev producer) - `eth_mining`.
    pub mining: bool,
    /// The suggested tip and the head block hash it was computed at.
    pub(crate) tip_cache: parking_lot::Mutex<Option<(B256, u128)>>,
    /// Threads for executions, log scans and traces, and for transaction admission.
    pub(crate) lanes: crate::lanes::Lanes,
    /// Analysed contract code, shared by every call, estimate, simulation and trace.
    pub(crate) code_cache: Arc<bttc_evm::CodeCache>,
    /// Blocks served recently, as JSON.
    pub(crate) block_cache: parking_lot::Mutex<BlockCache>,
    /// Commit certificates (BFT nodes).
    pub commits: Option<Arc<dyn CommitSource>>,
    /// Validator sets and proposers (BFT nodes).
    pub sets: Option<Arc<dyn ValidatorSource>>,
    /// Peers and bans (`net_peerCount`, `bttc_bannedPeers`); none in dev mode.
    pub peers: Option<Arc<dyn PeerSource>>,
    /// Sync progress (`eth_syncing`); none in dev mode.
    pub sync: Option<Arc<dyn SyncSource>>,
    /// What the checkpoint submitters did on each root (`bttc_getCheckpoint`).
    pub checkpoint_status: Option<Arc<bttc_checkpoint::SubmitterStatus>>,
    /// What this node's state-sync watchers read from its roots (`bttc_getStateSyncStatus`).
    pub state_syncs: Option<Arc<bttc_bridge::RootRecords>>,
}

/// Blocks served recently by `eth_getBlockBy*`, as their JSON, keyed by block hash and
/// whether transactions are full. dApps poll the latest block again and again, and a block
/// stored under its hash never changes, so a hit skips the reads, the transaction decoding
/// and hashing, and the serialization. Bounded in entries and bytes; large blocks are not kept.
#[derive(Debug, Default)]
pub(crate) struct BlockCache {
    entries: std::collections::VecDeque<((B256, bool), Box<serde_json::value::RawValue>)>,
    bytes: usize,
}

impl BlockCache {
    const MAX_ENTRIES: usize = 32;
    const MAX_BYTES: usize = 8 << 20;
    const MAX_ENTRY_BYTES: usize = 512 << 10;

    /// A copy of the cached JSON (cloning a raw value does not re-parse it).
    pub(crate) fn get(&self, key: &(B256, bool)) -> Option<Box<serde_json::value::RawValue>> {
        self.entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    pub(crate) fn insert(&mut self, key: (B256, bool), json: Box<serde_json::value::RawValue>) {
        let len = json.get().len();
        if len > Self::MAX_ENTRY_BYTES || self.entries.iter().any(|(k, _)| *k == key) {
            return;
        }
        self.bytes += len;
        self.entries.push_back((key, json));
        while self.entries.len() > Self::MAX_ENTRIES || self.bytes > Self::MAX_BYTES {
            match self.entries.pop_front() {
                Some((_, old)) => self.bytes -= old.get().len(),
                None => break,
            }
        }
    }
}

/// A block number resolved from a tag, number or hash, with its header.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedBlock {
    pub(crate) number: u64,
    pub(crate) hash: B256,
    pub(crate) header: Header,
}

impl RpcContext {
    /// A context over `chain` and `pool`.
    pub fn new(
        chain: NodeChain,
        pool: Arc<TxPool>,
        config: RpcConfig,
        events: ChainEvents,
    ) -> Self {
        Self {
            chain,
            pool,
            signers: Vec::new(),
            filters: Filters::new(config.max_filters, config.filter_ttl),
            lanes: crate::lanes::Lanes::new(config.exec_threads, config.max_queued),
            config,
            events,
            client_version: format!("bttc/v{}", env!("CARGO_PKG_VERSION")),
            mining: false,
            tip_cache: parking_lot::Mutex::new(None),
            block_cache: parking_lot::Mutex::default(),
            code_cache: Arc::default(),
            commits: None,
            sets: None,
            peers: None,
            sync: None,
            checkpoint_status: None,
            state_syncs: None,
        }
    }

    /// Answers `eth_syncing` from `source`.
    pub fn with_sync(mut self, source: Arc<dyn SyncSource>) -> Self {
        self.sync = Some(source);
        self
    }

    /// `eth_syncing`: progress while behind the peers, `None` when caught up (or no source).
    pub(crate) fn syncing(&self) -> RpcResult<Option<SyncProgress>> {
        let Some(source) = &self.sync else { return Ok(None) };
        Ok(source.progress(Self::head_number(&self.ro()?)?))
    }

    /// Serves `bttc_getCommit` from `source`.
    pub fn with_commits(mut self, source: Arc<dyn CommitSource>) -> Self {
        self.commits = Some(source);
        self
    }

    /// Shows the checkpoint submitters' `status` in `bttc_getCheckpoint`.
    pub fn with_checkpoint_status(mut self, status: Arc<bttc_checkpoint::SubmitterStatus>) -> Self {
        self.checkpoint_status = Some(status);
        self
    }

    /// Serves `bttc_getStateSyncStatus` from the node's state-sync watchers.
    pub fn with_state_syncs(mut self, records: Arc<bttc_bridge::RootRecords>) -> Self {
        self.state_syncs = Some(records);
        self
    }

    /// Serves `bor_getCurrentValidators` and `bor_getCurrentProposer` from `source`.
    pub fn with_validators(mut self, source: Arc<dyn ValidatorSource>) -> Self {
        self.sets = Some(source);
        self
    }

    /// Unlocks `signers` for `eth_sendTransaction`.
    pub fn with_signers(mut self, signers: impl IntoIterator<Item = PrivateKeySigner>) -> Self {
        self.signers.extend(signers);
        self
    }

    /// The unlocked signer of `address`.
    pub(crate) fn signer(&self, address: &Address) -> Option<&PrivateKeySigner> {
        self.signers.iter().find(|s| s.address() == *address)
    }

    /// A read transaction on the database.
    pub(crate) fn ro(&self) -> RpcResult<Provider<Ro>> {
        Ok(self.chain.db().ro()?)
    }

    /// Head number of `ro`.
    pub(crate) fn head_number(ro: &Provider<Ro>) -> RpcResult<u64> {
        Ok(ro.head()?.map(|h| h.number).unwrap_or_default())
    }

    /// Resolves a tag or number to a block number in `ro`; `None` if past the head.
    pub(crate) fn number_of_tag(
        ro: &Provider<Ro>,
        tag: BlockNumberOrTag,
    ) -> RpcResult<Option<u64>> {
        let head = Self::head_number(ro)?;
        Ok(match tag {
            // One producer and final blocks: latest, pending, safe and finalized coincide.
            BlockNumberOrTag::Latest
            | BlockNumberOrTag::Pending
            | BlockNumberOrTag::Safe
            | BlockNumberOrTag::Finalized => Some(head),
            BlockNumberOrTag::Earliest => Some(0),
            BlockNumberOrTag::Number(n) => (n <= head).then_some(n),
        })
    }

    /// The number of a block id (tag, number, hash or EIP-1898 object); `None` if unknown.
    pub(crate) fn number_of_id(ro: &Provider<Ro>, id: BlockId) -> RpcResult<Option<u64>> {
        match id {
            BlockId::Number(tag) => Self::number_of_tag(ro, tag),
            // Only canonical blocks are stored, so `requireCanonical` always holds.
            BlockId::Hash(h) => Ok(ro.block_number(&h.block_hash)?),
        }
    }

    /// [`Self::number_of_id`], with an unknown block as geth's "header not found".
    pub(crate) fn number_required(ro: &Provider<Ro>, id: BlockId) -> RpcResult<u64> {
        Self::number_of_id(ro, id)?.ok_or(RpcError::HeaderNotFound)
    }

    /// Resolves a block id with its header; `None` if unknown.
    pub(crate) fn resolve(ro: &Provider<Ro>, id: BlockId) -> RpcResult<Option<ResolvedBlock>> {
        let Some(number) = Self::number_of_id(ro, id)? else { return Ok(None) };
        let (Some(header), Some(hash)) = (ro.header(number)?, ro.canonical_hash(number)?) else {
            return Ok(None);
        };
        Ok(Some(ResolvedBlock { number, hash, header }))
    }

    /// The state after block `id` for a state read, resolving the block by number only (no
    /// header is loaded); an unknown block is geth's "header not found".
    pub(crate) fn state_at(ro: &Provider<Ro>, id: BlockId) -> RpcResult<StateAt<'_>> {
        StateAt::new(ro, Self::number_required(ro, id)?)
    }

    /// Like [`Self::resolve`], but an unknown block is the error geth gives for state queries.
    pub(crate) fn resolve_required(ro: &Provider<Ro>, id: BlockId) -> RpcResult<ResolvedBlock> {
        Self::resolve(ro, id)?.ok_or(RpcError::HeaderNotFound)
    }

    /// Pool validation rules for the block after the head.
    pub(crate) fn validation_context(&self, ro: &Provider<Ro>) -> RpcResult<ValidationContext> {
        let (_, parent) = ro.head_header()?;
        Ok(ValidationContext::next_block(self.chain.spec(), &parent))
    }

    /// Base fee of the block after the head.
    pub(crate) fn next_base_fee(&self, ro: &Provider<Ro>) -> RpcResult<u64> {
        let (head, parent) = ro.head_header()?;
        Ok(expected_base_fee(self.chain.spec(), &parent, head.number + 1).unwrap_or_default())
    }
}

/// State after a block: the plain state for the head, history below it.
#[derive(Debug)]
pub(crate) enum StateAt<'a> {
    /// Current state.
    Latest(&'a Provider<Ro>),
    /// State after a past block.
    Past(HistoricalState<'a, Ro>),
}

impl<'a> StateAt<'a> {
    /// State after block `number` of `ro`.
    pub(crate) fn new(ro: &'a Provider<Ro>, number: u64) -> RpcResult<Self> {
        Ok(if number >= RpcContext::head_number(ro)? {
            Self::Latest(ro)
        } else {
            Self::Past(HistoricalState::new(ro, number))
        })
    }
}

impl StateProvider for StateAt<'_> {
    fn account(&self, address: &Address) -> StorageResult<Option<bttc_primitives::Account>> {
        match self {
            Self::Latest(p) => p.account(address),
            Self::Past(p) => p.account(address),
        }
    }
    fn storage(&self, address: &Address, slot: &B256) -> StorageResult<alloy_primitives::U256> {
        match self {
            Self::Latest(p) => p.storage(address, slot),
            Self::Past(p) => p.storage(address, slot),
        }
    }
    fn bytecode(&self, code_hash: &B256) -> StorageResult<Option<alloy_primitives::Bytes>> {
        match self {
            Self::Latest(p) => p.bytecode(code_hash),
            Self::Past(p) => p.bytecode(code_hash),
        }
    }
    fn block_hash(&self, number: u64) -> StorageResult<Option<B256>> {
        match self {
            Self::Latest(p) => p.block_hash(number),
            Self::Past(p) => p.block_hash(number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BlockCache;
    use alloy_primitives::B256;
    use serde_json::value::RawValue;

    fn raw(s: &str) -> Box<RawValue> {
        serde_json::value::to_raw_value(s).unwrap()
    }

    #[test]
    fn the_block_cache_is_bounded_and_keyed_by_hash_and_fullness() {
        let mut c = BlockCache::default();
        let key = |i: u8, full| (B256::repeat_byte(i), full);
        c.insert(key(1, false), raw("hashes"));
        c.insert(key(1, true), raw("full"));
        assert_eq!(c.get(&key(1, false)).unwrap().get(), "\"hashes\"");
        assert_eq!(c.get(&key(1, true)).unwrap().get(), "\"full\"");
        assert!(c.get(&key(2, false)).is_none());
        // Too large to keep.
        c.insert(key(3, false), raw(&"x".repeat(BlockCache::MAX_ENTRY_BYTES + 1)));
        assert!(c.get(&key(3, false)).is_none());
        // Oldest entries go first.
        for i in 10..10 + BlockCache::MAX_ENTRIES as u8 {
            c.insert(key(i, false), raw("b"));
        }
        assert!(c.get(&key(1, false)).is_none());
        assert_eq!(c.entries.len(), BlockCache::MAX_ENTRIES);
        // And by bytes.
        let big = "y".repeat(BlockCache::MAX_ENTRY_BYTES - 2);
        for i in 100..100 + 20u8 {
            c.insert(key(i, true), raw(&big));
        }
        assert!(c.bytes <= BlockCache::MAX_BYTES);
        assert_eq!(c.bytes, c.entries.iter().map(|(_, v)| v.get().len()).sum::<usize>());
    }
}
