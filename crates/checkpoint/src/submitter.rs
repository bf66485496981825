//! The submitter: posts stored checkpoints to one root chain's `RootChain`, in order.
//!
//! One task per configured root. Each round it reads the root's `getLastChildBlock` (so a
//! restart, another validator's submission or a root reorg is seen before anything is sent:
//! submissions are idempotent), takes the stored checkpoint that starts right after it, and,
//! when it is this node's turn, sends `submitCheckpoint` as an EIP-1559 transaction:
//!
//! - **Turns.** The checkpoint's designated submitter is member `end % n` of its set
//!   (ascending by signer); the member `k` places after it waits `k × takeover` before it
//!   sends, and a node outside the set waits `n × takeover`. Each re-reads the root first.
//! - **Sending.** A dry run (`eth_estimateGas`) first: a revert means the root moved on or
//!   refuses the checkpoint, and is logged with its reason instead of paying for it. Then
//!   the transaction, with the nonce of the account's pending count and fees from the root.
//!   Not mined within `stuck_after`: sent again with the same nonce and doubled fees.
//! - **Confirmations.** A receipt counts once `confirmations` blocks are on top of it
//!   (counting its own). If the root reorganises and the receipt disappears, the next round
//!   sees `getLastChildBlock` back where it was and submits again.
//! - **Errors** (the root down, a refused transaction) are logged under `bttc::checkpoint`
//!   and retried with a backoff from `poll` up to 30 s; nothing is lost, since the
//!   checkpoints are in the database and the root is the record of what landed.
//!
//! [`SubmitterStatus`] keeps, per root, what happened to each checkpoint (pending,
//! submitted, confirmed, with the header block id it landed as, whoever sent it) for
//! `bttc_getCheckpoint` and the bridge's exit payloads. A root configured without a key is
//! watched only: its status is kept, nothing is sent.

use crate::{SignedCheckpoint, set_hash};
use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_provider::{DynProvider, Provider, ProviderBuilder};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use bttc_contracts::root_chain::RootChain as RC;
use parking_lot::RwLock;
use serde::Serialize;
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::{debug, info, warn};

/// Where the node's signed checkpoints are read from.
pub trait CheckpointStore: Send + Sync + 'static {
    /// The stored checkpoint whose first block is `start`, if any.
    fn starting_at(&self, start: u64) -> Result<Option<SignedCheckpoint>, StoreError>;
}

/// The checkpoint store failed.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint store: {0}")]
pub struct StoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// One root chain to checkpoint to.
#[derive(Debug, Clone)]
pub struct RootConfig {
    /// A name for logs and `bttc_getCheckpoint`.
    pub name: String,
    /// The root chain's JSON-RPC endpoint.
    pub rpc_url: String,
    /// Its `RootChain` contract.
    pub root_chain: Address,
    /// Blocks on top of (and including) the one holding a checkpoint before it counts.
    pub confirmations: u64,
    /// The account that pays for submissions on the root; `None` watches the root only.
    pub signer: Option<PrivateKeySigner>,
    /// How often the root is read when there is nothing to do.
    pub poll: Duration,
    /// How long each member after the designated one waits before it takes over.
    pub takeover: Duration,
    /// A transaction not mined after this long is replaced with doubled fees.
    pub stuck_after: Duration,
    /// Landed checkpoints whose header block ids are read back at start (older ones are
    /// counted from those, see [`SubmitterStatus::anchor`]).
    pub history: usize,
}

impl RootConfig {
    /// A root with the default timings: poll 1 s, take over after 10 s per place, replace a
    /// transaction stuck for 20 s.
    pub fn new(
        name: String,
        rpc_url: String,
        root_chain: Address,
        signer: Option<PrivateKeySigner>,
    ) -> Self {
        Self {
            name,
            rpc_url,
            root_chain,
            confirmations: 1,
            signer,
            poll: Duration::from_secs(1),
            takeover: Duration::from_secs(10),
            stuck_after: Duration::from_secs(20),
            history: 64,
        }
    }
}

/// What happened to one checkpoint on one root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Submission {
    /// Not on the root yet (waiting for its turn or for the one before it).
    Pending,
    /// Sent by this node, not confirmed yet.
    #[serde(rename_all = "camelCase")]
    Submitted {
        /// The transaction.
        tx_hash: B256,
    },
    /// On the root with enough confirmations.
    #[serde(rename_all = "camelCase")]
    Confirmed {
        /// The transaction, if this node sent it or saw it.
        #[serde(skip_serializing_if = "Option::is_none")]
        tx_hash: Option<B256>,
        /// The root block that holds it, if known.
        #[serde(skip_serializing_if = "Option::is_none")]
        root_block: Option<u64>,
        /// Its header block id on the root, if this node saw it land.
        #[serde(skip_serializing_if = "Option::is_none")]
        header_block_id: Option<U256>,
    },
}

/// The state of one root, as `bttc_getCheckpoint` shows it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RootState {
    /// The root's name.
    pub name: String,
    /// Its `RootChain`.
    pub root_chain: Address,
    /// The last bttc block a checkpoint on the root covers, as last read.
    pub last_child_block: Option<u64>,
    /// The last error talking to the root, if the last round failed.
    pub last_error: Option<String>,
    /// Checkpoints by their last block (the most recent ones).
    #[serde(skip)]
    pub submissions: BTreeMap<u64, Submission>,
}

/// Entries kept per root.
const KEPT: usize = 1024;

/// Every root's state, shared between the submitters and the RPC.
#[derive(Debug, Default)]
pub struct SubmitterStatus {
    roots: RwLock<BTreeMap<String, RootState>>,
}

impl SubmitterStatus {
    /// The state of every root.
    pub fn roots(&self) -> Vec<RootState> {
        self.roots.read().values().cloned().collect()
    }

    /// The header block id the checkpoint ending at `end` landed as on root `name` (the first
    /// root that has it when `name` is `None`), with the root's name and `RootChain`.
    pub fn header_block(&self, name: Option<&str>, end: u64) -> Option<(String, Address, u64)> {
        self.roots.read().values().filter(|r| name.is_none_or(|n| n == r.name)).find_map(
            |r| match r.submissions.get(&end)? {
                Submission::Confirmed { header_block_id: Some(id), .. } => {
                    Some((r.name.clone(), r.root_chain, id.saturating_to()))
                }
                _ => None,
            },
        )
    }

    /// A checkpoint ending at or before block `at_most` whose header block id is known on
    /// root `name` (the first root with one when `name` is `None`): `(root name, RootChain,
    /// end, id)`, the latest such. Every other checkpoint's id follows from it: ids step by
    /// 10,000 per checkpoint. `at_most` is the last checkpoint a node holds itself: ids are
    /// counted over its own table, which must reach the anchor.
    pub fn anchor(&self, name: Option<&str>, at_most: u64) -> Option<(String, Address, u64, u64)> {
        self.roots.read().values().filter(|r| name.is_none_or(|n| n == r.name)).find_map(|r| {
            r.submissions.range(..=at_most).rev().find_map(|(end, s)| match s {
                Submission::Confirmed { header_block_id: Some(id), .. } => {
                    Some((r.name.clone(), r.root_chain, *end, id.saturating_to()))
                }
                _ => None,
            })
        })
    }

    /// Whether a root named `name` is configured.
    pub fn has_root(&self, name: &str) -> bool {
        self.roots.read().contains_key(name)
    }

    /// What happened on each root to the checkpoint ending at `end`.
    pub fn of(&self, end: u64) -> Vec<(RootState, Submission)> {
        self.roots
            .read()
            .values()
            .map(|r| {
                let s = match (r.submissions.get(&end), r.last_child_block) {
                    (Some(s @ Submission::Confirmed { .. }), _) => s.clone(),
                    // On the root, by this node's transaction or another validator's.
                    (_, Some(last)) if last >= end => Submission::Confirmed {
                        tx_hash: None,
                        root_block: None,
                        header_block_id: None,
                    },
                    (Some(s), _) => s.clone(),
                    (None, _) => Submission::Pending,
                };
                (r.clone(), s)
            })
            .collect()
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut RootState)) {
        let mut roots = self.roots.write();
        let r = roots.entry(name.to_string()).or_default();
        f(r);
        while r.submissions.len() > KEPT {
            r.submissions.pop_first();
        }
    }
}

/// A submission round failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The root's RPC failed.
    #[error("root {root} RPC: {source}")]
    Rpc {
        /// Which root.
        root: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The root refuses the checkpoint (the dry run reverted).
    #[error("root {root} refuses checkpoint [{start}, {end}]: {reason}")]
    Refused {
        /// Which root.
        root: String,
        /// The checkpoint's first block.
        start: u64,
        /// Its last block.
        end: u64,
        /// The revert.
        reason: String,
    },
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transaction was mined and reverted.
    #[error("root {root}: submission {tx} reverted in block {block:?}")]
    Reverted {
        /// Which root.
        root: String,
        /// The transaction.
        tx: B256,
        /// Where.
        block: Option<u64>,
    },
}

fn rpc_err<E: std::error::Error + Send + Sync + 'static>(root: &str) -> impl Fn(E) -> SubmitError {
    move |e| SubmitError::Rpc { root: root.to_string(), source: Box::new(e) }
}

/// The submitter of one root (module docs).
#[derive(Debug)]
pub struct Submitter<S> {
    config: RootConfig,
    store: Arc<S>,
    /// This node's validator address (for its turn), if it validates.
    me: Option<Address>,
    status: Arc<SubmitterStatus>,
    /// When each checkpoint (by start) was first seen ready, for the turns.
    ready_since: Option<(u64, Instant)>,
    /// The root's last child block whose landed checkpoints have been read.
    learned: Option<u64>,
}

/// The calldata of `submitCheckpoint` for `c`: the set and the signatures held, ascending.
pub fn submit_call(c: &SignedCheckpoint) -> RC::submitCheckpointCall {
    let k = &c.checkpoint;
    RC::submitCheckpointCall {
        chainId: U256::from(k.chain_id),
        start: U256::from(k.start),
        end: U256::from(k.end),
        root: k.root_hash,
        nextSetHash: k.next_set_hash,
        signers: c.members.iter().map(|m| m.signer).collect(),
        powers: c.members.iter().map(|m| U256::from(m.power)).collect(),
        sigs: c.signatures.iter().map(|s| Bytes::copy_from_slice(&s.signature)).collect(),
    }
}

impl<S: CheckpointStore> Submitter<S> {
    /// A submitter for `config`, reading checkpoints from `store`.
    pub fn new(
        config: RootConfig,
        store: Arc<S>,
        me: Option<Address>,
        status: Arc<SubmitterStatus>,
    ) -> Self {
        status.update(&config.name, |r| {
            r.name = config.name.clone();
            r.root_chain = config.root_chain;
        });
        Self { config, store, me, status, ready_since: None, learned: None }
    }

    /// Runs until the task is dropped.
    pub async fn run(mut self) {
        let name = self.config.name.clone();
        let submitter = self.config.signer.as_ref().map(|s| s.address());
        info!(target: "bttc::checkpoint", root = %name, url = %self.config.rpc_url, root_chain = %self.config.root_chain, ?submitter, "checkpoint submitter started (watch only without a submitter key)");
        let url = match self.config.rpc_url.parse() {
            Ok(u) => u,
            Err(e) => {
                warn!(target: "bttc::checkpoint", root = %name, url = %self.config.rpc_url, error = %e, "root RPC URL does not parse; no submissions to this root");
                return;
            }
        };
        let root: DynProvider = match &self.config.signer {
            Some(s) => ProviderBuilder::new()
                .wallet(EthereumWallet::from(s.clone()))
                .connect_http(url)
                .erased(),
            None => ProviderBuilder::new().connect_http(url).erased(),
        };
        let mut backoff = self.config.poll;
        loop {
            match self.round(&root).await {
                Ok(progress) => {
                    self.status.update(&name, |r| r.last_error = None);
                    backoff = self.config.poll;
                    if !progress {
                        tokio::time::sleep(self.config.poll).await;
                    }
                }
                Err(e) => {
                    warn!(target: "bttc::checkpoint", root = %name, error = %e, retry_in = ?backoff, "checkpoint submission failed");
                    let msg = e.to_string();
                    self.status.update(&name, |r| r.last_error = Some(msg));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// How long this node waits, from when `c` is ready, before it submits `c`.
    pub fn turn_delay(&self, c: &SignedCheckpoint) -> Duration {
        let n = c.members.len().max(1);
        let designated = (c.checkpoint.end % n as u64) as usize;
        let place = match self.me.and_then(|me| c.members.iter().position(|m| m.signer == me)) {
            Some(i) => (i + n - designated) % n,
            None => n,
        };
        self.config.takeover * place as u32
    }

    /// One round; `Ok(true)` when a checkpoint landed (look again at once).
    async fn round(&mut self, root: &impl Provider) -> Result<bool, SubmitError> {
        let cfg = &self.config;
        let last = self.last_child_block(root).await?;
        self.status.update(&cfg.name, |r| r.last_child_block = Some(last));
        if self.learned.is_none_or(|l| l != last) {
            self.learn_landed(root, last).await?;
        }
        let cfg = &self.config;
        if cfg.signer.is_none() {
            return Ok(false); // watch only
        }
        let Some(c) = self.store.starting_at(last + 1)? else { return Ok(false) };
        if !c.has_quorum() {
            debug!(target: "bttc::checkpoint", root = %cfg.name, start = c.checkpoint.start, "checkpoint without a quorum of signatures yet");
            return Ok(false);
        }
        let end = c.checkpoint.end;
        self.status.update(&cfg.name, |r| {
            r.submissions.entry(end).or_insert(Submission::Pending);
        });
        let since = match self.ready_since {
            Some((start, t)) if start == c.checkpoint.start => t,
            _ => {
                let now = Instant::now();
                self.ready_since = Some((c.checkpoint.start, now));
                now
            }
        };
        if since.elapsed() < self.turn_delay(&c) {
            return Ok(false);
        }
        let trusted = self.call(root, RC::validatorSetHashCall {}).await?;
        if trusted != c.checkpoint.current_set_hash {
            return Err(SubmitError::Refused {
                root: cfg.name.clone(),
                start: c.checkpoint.start,
                end,
                reason: format!(
                    "the root trusts set {trusted}, the checkpoint was signed by set {} ({} members)",
                    set_hash(&c.members),
                    c.members.len()
                ),
            });
        }
        self.submit(root, &c).await?;
        Ok(true)
    }

    /// Records the header block ids of the checkpoints that landed since the last look
    /// (whoever sent them), newest first, at most `history` per round.
    async fn learn_landed(&mut self, root: &impl Provider, last: u64) -> Result<(), SubmitError> {
        let mut id: u64 = self.call(root, RC::currentHeaderBlockCall {}).await?.saturating_to();
        let name = self.config.name.clone();
        for _ in 0..self.config.history.max(1) {
            if id == 0 {
                break;
            }
            let hb = self.call(root, RC::headerBlocksCall(U256::from(id))).await?;
            let (start, end): (u64, u64) = (hb.start.saturating_to(), hb.end.saturating_to());
            if end > last {
                // Landed after `last` was read: the next round records it.
                id -= 10_000;
                continue;
            }
            self.status.update(&name, |r| {
                let (tx_hash, root_block) = match r.submissions.get(&end) {
                    Some(Submission::Submitted { tx_hash }) => (Some(*tx_hash), None),
                    Some(Submission::Confirmed { tx_hash, root_block, .. }) => {
                        (*tx_hash, *root_block)
                    }
                    _ => (None, None),
                };
                let header_block_id = Some(U256::from(id));
                r.submissions
                    .insert(end, Submission::Confirmed { tx_hash, root_block, header_block_id });
            });
            if self.learned.is_some_and(|l| start <= l + 1) || start <= 1 {
                break;
            }
            id -= 10_000;
        }
        self.learned = Some(last);
        Ok(())
    }

    async fn call<C: SolCall>(
        &self,
        root: &impl Provider,
        call: C,
    ) -> Result<C::Return, SubmitError> {
        let cfg = &self.config;
        let req =
            TransactionRequest::default().with_to(cfg.root_chain).with_input(call.abi_encode());
        let out = root.call(req).await.map_err(rpc_err(&cfg.name))?;
        C::abi_decode_returns(&out).map_err(rpc_err(&cfg.name))
    }

    async fn last_child_block(&self, root: &impl Provider) -> Result<u64, SubmitError> {
        let last = self.call(root, RC::getLastChildBlockCall {}).await?;
        Ok(last.saturating_to())
    }

    /// Sends `c`, replaces it while it is stuck, and waits for its confirmations.
    async fn submit(&self, root: &impl Provider, c: &SignedCheckpoint) -> Result<(), SubmitError> {
        let cfg = &self.config;
        let (start, end) = (c.checkpoint.start, c.checkpoint.end);
        let Some(signer) = &cfg.signer else { return Ok(()) };
        let from = signer.address();
        let input = submit_call(c).abi_encode();
        let req =
            TransactionRequest::default().with_from(from).with_to(cfg.root_chain).with_input(input);
        // Dry run: a revert here costs nothing (the root moved on, or refuses it).
        let gas = match root.estimate_gas(req.clone()).await {
            Ok(g) => g,
            Err(e) => {
                if self.last_child_block(root).await? >= end {
                    return Ok(()); // someone else's submission landed first
                }
                let reason = e.to_string();
                return Err(SubmitError::Refused { root: cfg.name.clone(), start, end, reason });
            }
        };
        let nonce = root.get_transaction_count(from).pending().await.map_err(rpc_err(&cfg.name))?;
        let fees = root.estimate_eip1559_fees().await.map_err(rpc_err(&cfg.name))?;
        let (mut max_fee, mut tip) = (fees.max_fee_per_gas, fees.max_priority_fee_per_gas.max(1));
        let mut hashes = Vec::new();
        loop {
            let tx = req
                .clone()
                .with_nonce(nonce)
                .with_gas_limit(gas + gas / 5)
                .with_max_fee_per_gas(max_fee)
                .with_max_priority_fee_per_gas(tip);
            match root.send_transaction(tx).await {
                Ok(pending) => {
                    let hash = *pending.tx_hash();
                    hashes.push(hash);
                    info!(target: "bttc::checkpoint", root = %cfg.name, start, end, tx = %hash, nonce, max_fee, signatures = c.signatures.len(), "checkpoint submitted");
                    self.status.update(&cfg.name, |r| {
                        r.submissions.insert(end, Submission::Submitted { tx_hash: hash });
                    });
                }
                Err(e) if !hashes.is_empty() => {
                    // The replacement was refused (the first may have been mined meanwhile).
                    debug!(target: "bttc::checkpoint", root = %cfg.name, error = %e, "replacement not accepted");
                }
                Err(e) => return Err(rpc_err(&cfg.name)(e)),
            }
            let deadline = Instant::now() + cfg.stuck_after;
            while Instant::now() < deadline {
                tokio::time::sleep(cfg.poll.min(Duration::from_millis(500))).await;
                for hash in &hashes {
                    let receipt =
                        root.get_transaction_receipt(*hash).await.map_err(rpc_err(&cfg.name))?;
                    if let Some(r) = receipt {
                        if !r.status() {
                            return Err(SubmitError::Reverted {
                                root: cfg.name.clone(),
                                tx: *hash,
                                block: r.block_number,
                            });
                        }
                        let block = r.block_number.unwrap_or_default();
                        return self.confirm(root, *hash, block, end).await;
                    }
                }
                if self.last_child_block(root).await? >= end {
                    return Ok(()); // another submitter's transaction landed
                }
            }
            max_fee = max_fee.saturating_mul(2);
            tip = tip.saturating_mul(2);
            warn!(target: "bttc::checkpoint", root = %cfg.name, start, end, nonce, max_fee, "submission not mined in {:?}; replacing it with doubled fees", cfg.stuck_after);
        }
    }

    /// Waits until `hash` (in root block `block`) has its confirmations; a reorg that drops
    /// it ends the wait (the next round sees the root where it is and submits again).
    async fn confirm(
        &self,
        root: &impl Provider,
        hash: B256,
        block: u64,
        end: u64,
    ) -> Result<(), SubmitError> {
        let cfg = &self.config;
        loop {
            let head = root.get_block_number().await.map_err(rpc_err(&cfg.name))?;
            let receipt = root.get_transaction_receipt(hash).await.map_err(rpc_err(&cfg.name))?;
            let Some(r) = receipt else {
                warn!(target: "bttc::checkpoint", root = %cfg.name, tx = %hash, "checkpoint transaction gone from the root (reorg); submitting again");
                return Ok(());
            };
            let block = r.block_number.unwrap_or(block);
            if head + 1 >= block + cfg.confirmations {
                let id = self.call(root, RC::currentHeaderBlockCall {}).await?;
                info!(target: "bttc::checkpoint", root = %cfg.name, end, tx = %hash, root_block = block, header_block = %id, "checkpoint confirmed on the root");
                self.status.update(&cfg.name, |r| {
                    r.last_child_block = Some(end);
                    r.submissions.insert(
                        end,
                        Submission::Confirmed {
                            tx_hash: Some(hash),
                            root_block: Some(block),
                            header_block_id: Some(id),
                        },
                    );
                });
                return Ok(());
            }
            tokio::time::sleep(cfg.poll.min(Duration::from_millis(500))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_is_the_latest_landed_checkpoint_a_node_holds_itself() {
        let s = SubmitterStatus::default();
        let landed = |id: u64| Submission::Confirmed {
            tx_hash: None,
            root_block: None,
            header_block_id: Some(U256::from(id)),
        };
        s.update("root", |r| {
            r.name = "root".into();
            r.submissions.insert(8, landed(40_000));
            r.submissions.insert(10, Submission::Pending);
            r.submissions.insert(20, landed(90_000));
        });
        // A node whose table ends at 12 cannot count up to the checkpoint ending at 20.
        assert_eq!(s.anchor(None, 12).map(|a| (a.2, a.3)), Some((8, 40_000)));
        assert_eq!(s.anchor(Some("root"), 20).map(|a| (a.2, a.3)), Some((20, 90_000)));
        assert_eq!(s.anchor(None, 7), None);
        assert_eq!(s.anchor(Some("other"), 20), None);
    }
}
