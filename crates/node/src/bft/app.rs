//! The consensus driver: answers the engine's requests over the chain and the pool.
//!
//! - `GetValue`: build a block from the pool on the head, store it (so a restart re-proposes
//!   the same block), stream it as proposal parts.
//! - `ReceivedProposalPart`: reassemble, check the proposer's signature and turn, execute the
//!   block on the head without committing, and report it valid or invalid.
//! - `Decided`: execute and commit the block and its certificate in one MDBX transaction
//!   (with the checkpoint it ends and its signatures, at a checkpoint height).
//! - `Finalized`: store the final certificate (and late checkpoint signatures), start the
//!   next height.
//! - `ExtendVote` / `VerifyVoteExtensions`: checkpoint signatures on precommits
//!   ([`super::checkpoints`]).
//! - `GetDecidedValues` / `ProcessSyncedValue`: serve and take blocks + certificates for
//!   nodes that are behind.
//!
//! A validator that cannot commit what was decided, or cannot produce the parameters of the
//! next height, must not go on: telling the engine to restart the height would reset its WAL
//! and let it vote again at a height it already voted on. The driver then returns a
//! [`ConsensusError`] (and answers nothing), the node stops with the cause, and a restart
//! recovers from the database and the WAL.

use super::{
    checkpoints::{CheckpointError, CheckpointSigning},
    guard::PeerGuard,
    store::{self, StoredProposal},
    streams::{AssembledProposal, Inserted, PartStreams, stream_messages},
};
use alloy_primitives::{Address, B256, Bytes};
use alloy_rlp::Decodable;
use bttc_chain::BlockAttributes;
use bttc_consensus::{
    BlockHeight, BlockValue, BttcContext, CommitCertificate, ConsensusSigner, ValidatorAddress,
    ValidatorSetError, ValidatorSetProvider,
    core_types::{
        ExtendedCommitCertificate, ExtendedCommitSignature, HeightParams, LinearTimeouts, Round,
        Validity,
    },
    engine_channel::{
        AppMsg, Channels, NetworkMsg,
        app::{
            consensus::VoteExtensionError,
            engine::host::{Next, SyncedValueOutcome},
            types::{LocallyProposedValue, ProposedValue, sync::RawDecidedValue},
        },
    },
    proposal_signing_hash,
};
use bttc_primitives::Block;
use bttc_rpc::ChainEvents;
use bttc_txpool::TxPool;
use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

/// How far ahead of this node's clock a proposed block's timestamp may be.
pub(crate) const MAX_FUTURE_SECS: u64 = 15;
/// Complete proposals for heights above the next one, kept until the node gets there.
const MAX_WAITING: usize = 32;
/// At most this many decided values per sync request.
const MAX_SYNC_BATCH: u64 = 128;

type ValueReply = oneshot::Sender<Option<ProposedValue<BttcContext>>>;

/// The driver's state.
#[derive(Debug)]
pub(crate) struct ConsensusApp {
    pub(crate) chain: bttc_staking::NodeChain,
    pub(crate) pool: Arc<TxPool>,
    pub(crate) events: ChainEvents,
    pub(crate) ctx: BttcContext,
    pub(crate) signer: Option<ConsensusSigner>,
    pub(crate) validators: Arc<dyn ValidatorSetProvider>,
    /// The staking contract's elections (a chain with `StakeManager`): each epoch's set is
    /// recorded with the block that elected it.
    pub(crate) epochs: Option<Arc<bttc_staking::StakeValidators>>,
    /// Double-sign evidence waiting for a block.
    pub(crate) evidence: super::evidence::EvidenceQueue,
    /// Bans peers whose proposals are invalid.
    pub(crate) guard: Arc<PeerGuard>,
    pub(crate) timeouts: LinearTimeouts,
    pub(crate) target_time: Option<Duration>,
    pub(crate) streams: PartStreams,
    /// Complete proposals for heights above the next one: validated and handed to the engine
    /// when it starts that height (`StartedRound`). Replies are never held back: the engine's
    /// host actor waits for each reply before it passes on the next request.
    pub(crate) waiting: Vec<AssembledProposal>,
    /// The height whose block was committed by `Decided` and awaits `Finalized`.
    pub(crate) committed: Option<u64>,
    /// Checkpoint signatures on the precommits of checkpoint heights.
    pub(crate) checkpoints: CheckpointSigning,
    /// What this node's watchers read from its roots' `StateSender`s (deposits).
    pub(crate) root_records: Arc<bttc_bridge::RootRecords>,
}

/// Vote extensions by validator, as the engine hands them over.
type Extensions = [super::checkpoints::Extension];

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Who a block must pay.
#[derive(Debug, Clone, Copy)]
enum Builder {
    /// The proposer of a fresh block.
    Proposer(Address),
    /// Any validator of the height (re-proposed or synced blocks).
    AnyValidator,
}

/// Why a proposal is refused before validation (not a vote-worthy value at all).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProposalError {
    #[error("block RLP does not decode: {0}")]
    Decode(String),
    #[error("signature over the proposal does not recover to proposer {proposer}")]
    Signature { proposer: ValidatorAddress },
    #[error("{got} is not the proposer of height {height} round {round:?}; expected {expected}")]
    WrongProposer { got: ValidatorAddress, expected: ValidatorAddress, height: u64, round: Round },
    #[error("validator set of height {height}: {reason}")]
    ValidatorSet { height: u64, reason: String },
    #[error("storage: {0}")]
    Storage(String),
}

impl ProposalError {
    /// Whether the error proves the proposal's publisher wrong (not this node's trouble).
    fn is_peer_fault(&self) -> bool {
        matches!(self, Self::Decode(_) | Self::Signature { .. } | Self::WrongProposer { .. })
    }
}

/// The driver cannot go on: the node must stop, and recovers from its database and WAL when
/// restarted.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// A decided block, or its certificate, could not be written.
    #[error("cannot commit decided block {hash} at height {height}: {source}")]
    Commit {
        /// The decided height.
        height: u64,
        /// The decided block.
        hash: B256,
        /// Why.
        #[source]
        source: CommitError,
    },
    /// The validator set (and so the parameters) of a height is not known.
    #[error("no consensus parameters for height {height}: {source}")]
    HeightParams {
        /// The height.
        height: u64,
        /// Why.
        #[source]
        source: ValidatorSetError,
    },
    /// Whether a height ends a checkpoint could not be worked out.
    #[error("no checkpoint schedule for height {height}: {source}")]
    CheckpointPolicy {
        /// The height.
        height: u64,
        /// Why.
        #[source]
        source: CheckpointError,
    },
}

/// Why a decided block was not committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] bttc_storage::StorageError),
    /// This node never received the decided block.
    #[error("the decided block was never received")]
    NotReceived,
    /// The stored block does not decode.
    #[error("stored block does not decode: {0}")]
    Decode(#[from] alloy_rlp::Error),
    /// The block does not execute on this node's head.
    #[error("block: {0}")]
    Block(#[from] bttc_chain::BlockError),
    /// The height already holds another block.
    #[error("the chain already holds block {got} at this height")]
    Conflict {
        /// The block it holds.
        got: B256,
    },
    /// The next epoch's validator set could not be read from the block's state.
    #[error("recording the next epoch's validator set")]
    Epoch(#[from] Box<bttc_staking::SetsError>),
    /// The checkpoint the block ends could not be computed or stored.
    #[error("recording the checkpoint the block ends")]
    Checkpoint(#[from] CheckpointError),
}

impl ConsensusApp {
    fn my_address(&self) -> Option<ValidatorAddress> {
        self.signer.as_ref().map(|s| s.address())
    }

    fn params(&self, height: u64) -> Result<HeightParams<BttcContext>, ConsensusError> {
        let set = self
            .validators
            .validator_set(BlockHeight(height))
            .map_err(|source| ConsensusError::HeightParams { height, source })?;
        let policy = self
            .checkpoints
            .policy(height)
            .map_err(|source| ConsensusError::CheckpointPolicy { height, source })?;
        Ok(HeightParams::new(set, self.timeouts, self.target_time)
            .with_vote_extension_policy(policy))
    }

    fn head_number(&self) -> u64 {
        self.chain.head().map(|h| h.number).unwrap_or_default()
    }

    /// Runs until the engine closes its channel (`Ok`) or this node cannot go on (`Err`: the
    /// node must stop; the engine has been told nothing that would make it vote again).
    pub(crate) async fn run(
        mut self,
        mut channels: Channels<BttcContext>,
    ) -> Result<(), ConsensusError> {
        while let Some(msg) = channels.consensus.recv().await {
            if let Err(e) = self.handle(msg, &channels.network).await {
                error!(target: "bttc::consensus", error = %e, "consensus cannot go on; the node stops (a restart recovers from the database and the WAL)");
                return Err(e);
            }
        }
        info!(target: "bttc::consensus", "engine stopped; consensus driver exits");
        Ok(())
    }

    /// Answers one request of the engine.
    pub(crate) async fn handle(
        &mut self,
        msg: AppMsg<BttcContext>,
        network: &mpsc::Sender<NetworkMsg<BttcContext>>,
    ) -> Result<(), ConsensusError> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let next = self.head_number() + 1;
                let p = self.params(next)?;
                self.streams.advance(BlockHeight(next), Instant::now());
                info!(target: "bttc::consensus", height = next, validators = p.validator_set.validators().len(), "consensus ready");
                let _ = reply.send((BlockHeight(next), p));
            }
            AppMsg::StartedRound { height, round, proposer, role, reply_value } => {
                debug!(target: "bttc::consensus", %height, ?round, %proposer, ?role, "started round");
                self.streams.advance(height, Instant::now());
                self.penalise_abandoned_streams();
                let values = tokio::task::block_in_place(|| {
                    self.validate_waiting(height);
                    self.values_of_round(height, round)
                });
                let _ = reply_value.send(values);
            }
            AppMsg::GetValue { height, round, timeout: _, reply } => {
                match tokio::task::block_in_place(|| self.propose(height, round)) {
                    Ok(Some((hash, rlp))) => {
                        let _ =
                            reply.send(LocallyProposedValue::new(height, round, BlockValue(hash)));
                        self.stream(height, round, Round::Nil, hash, &rlp, network).await;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        error!(target: "bttc::consensus", %height, ?round, error = %e, "cannot build a proposal")
                    }
                }
            }
            AppMsg::RestreamProposal { height, round, valid_round, address, value_id } => {
                if Some(address) != self.my_address() {
                    return Ok(());
                }
                let ro = self.chain.db().ro();
                let stored = ro
                    .ok()
                    .and_then(|ro| store::load_proposal(&ro, height.0, &value_id.0).ok().flatten());
                match stored {
                    Some(p) => {
                        self.stream(height, round, valid_round, value_id.0, &p.block_rlp, network)
                            .await
                    }
                    None => {
                        warn!(target: "bttc::consensus", %height, value = %value_id, "asked to restream a block this node does not have")
                    }
                }
            }
            AppMsg::ReceivedProposalPart { from, published_by, part, reply } => {
                // Gossip authenticates the publisher; a stream is its publisher's doing.
                let publisher = published_by.unwrap_or(from);
                let (validators, ctx) = (&self.validators, &self.ctx);
                let turn = |height: BlockHeight, round: Round, proposer: ValidatorAddress| {
                    let set = validators.validator_set(height).ok()?;
                    Some(ctx.proposer(&set, height, round).address == proposer)
                };
                let inserted = self.streams.insert(publisher, part, Instant::now(), turn);
                self.penalise_abandoned_streams();
                match inserted {
                    Ok(Inserted::Complete(p)) => self.on_proposal(*p, reply),
                    Ok(Inserted::Pending | Inserted::Ignored) => {
                        let _ = reply.send(None);
                    }
                    Err(e) => {
                        self.guard.ban_and_disconnect(publisher, &e.to_string());
                        let _ = reply.send(None);
                    }
                }
            }
            AppMsg::Decided { certificate, extensions, reply } => {
                tokio::task::block_in_place(|| self.commit(&certificate, &extensions.extensions))?;
                let _ = reply.send(());
            }
            AppMsg::Finalized { certificate, extensions, evidence, reply } => {
                let h = certificate.height.0;
                use bttc_staking::evidence::{double_proposal_call, double_vote_call};
                let votes = evidence.votes.iter().filter_map(|(signer, pairs)| {
                    let (a, b) = pairs.first()?;
                    Some((signer, "double vote", double_vote_call(signer.0, a, b)))
                });
                let proposals = evidence.proposals.iter().filter_map(|(signer, pairs)| {
                    let (a, b) = pairs.first()?;
                    Some((signer, "double proposal", double_proposal_call(signer.0, a, b)))
                });
                for (signer, kind, call) in votes.chain(proposals) {
                    if self.evidence.add(signer.0, call) {
                        warn!(target: "bttc::consensus", height = h, %signer, kind, pending = self.evidence.len(), "misbehaviour seen; evidence queued for the next block this node proposes");
                    }
                }
                tokio::task::block_in_place(|| {
                    if self.committed != Some(h) {
                        self.commit(&certificate, &extensions.extensions)?;
                    } else {
                        self.add_late_signatures(h, &extensions.extensions);
                    }
                    self.store_certificate(&certificate)
                })?;
                let p = self.params(h + 1)?;
                let _ = reply.send(Next::Start(BlockHeight(h + 1), p));
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let values = tokio::task::block_in_place(|| self.decided_values(range));
                let _ = reply.send(values);
            }
            AppMsg::ProcessSyncedValue { height, round, proposer, value_bytes, reply } => {
                let outcome = tokio::task::block_in_place(|| {
                    self.synced_value(height, round, proposer, &value_bytes)
                });
                let _ = reply.send(outcome);
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let _ = reply.send(BlockHeight(1));
            }
            AppMsg::ExtendVote { height, round, value_id, vote_extension_policy, reply } => {
                let ext = if vote_extension_policy.is_required() {
                    tokio::task::block_in_place(|| self.extend_vote(height.0, value_id.0))
                } else {
                    None
                };
                if ext.is_none() && vote_extension_policy.is_required() {
                    error!(target: "bttc::checkpoint", %height, ?round, value = %value_id, "no checkpoint signature for this precommit");
                }
                let _ = reply.send(ext);
            }
            AppMsg::VerifyVoteExtensions { height, round, value_id, extensions, reply } => {
                let verdicts = tokio::task::block_in_place(|| {
                    self.verify_extensions(height.0, round, value_id.0, extensions)
                });
                let _ = reply.send(verdicts);
            }
        }
        Ok(())
    }

    /// This node's checkpoint signature for its precommit of block `hash` at `height`.
    fn extend_vote(&self, height: u64, hash: B256) -> Option<Vec<u8>> {
        let signer = self.signer.as_ref()?;
        match self.checkpoints.for_value(&self.chain, height, hash) {
            Ok(Some(c)) => {
                let ext = CheckpointSigning::sign(signer, &c);
                // A node checks its own extension as it checks everyone's.
                CheckpointSigning::check(&c, &signer.address(), &ext).ok()?;
                debug!(target: "bttc::checkpoint", height, start = c.checkpoint.start, root = %c.checkpoint.root_hash, "checkpoint signed");
                Some(ext)
            }
            Ok(None) => None,
            Err(e) => {
                error!(target: "bttc::checkpoint", height, %hash, error = %e, "cannot compute the checkpoint to sign");
                None
            }
        }
    }

    /// Judges checkpoint signatures against the checkpoint this node computes for the block.
    fn verify_extensions(
        &self,
        height: u64,
        round: Round,
        hash: B256,
        extensions: Vec<(ValidatorAddress, Vec<u8>)>,
    ) -> Vec<(ValidatorAddress, Result<(), VoteExtensionError>)> {
        let c = match self.checkpoints.for_value(&self.chain, height, hash) {
            Ok(c) => c,
            Err(e) => {
                warn!(target: "bttc::checkpoint", height, %hash, error = %e, "cannot compute the checkpoint; extensions judged when the block is stored");
                None
            }
        };
        extensions
            .into_iter()
            .map(|(a, ext)| {
                let Some(c) = &c else { return (a, Ok(())) };
                let verdict = CheckpointSigning::check(c, &a, &ext).map_err(|reason| {
                    warn!(target: "bttc::checkpoint", height, ?round, validator = %a, %reason, "checkpoint signature refused");
                    VoteExtensionError::InvalidVoteExtension
                });
                (a, verdict)
            })
            .collect()
    }

    /// Adds checkpoint signatures that came in after the decision.
    fn add_late_signatures(&self, height: u64, extensions: &Extensions) {
        match self.checkpoints.add_late(self.chain.db(), height, extensions) {
            Ok(0) => {}
            Ok(n) => {
                debug!(target: "bttc::checkpoint", height, added = n, "late checkpoint signatures stored")
            }
            Err(e) => {
                warn!(target: "bttc::checkpoint", height, error = %e, "late checkpoint signatures not stored")
            }
        }
    }

    /// Strikes the publishers of proposal streams that stopped before their end.
    fn penalise_abandoned_streams(&mut self) {
        for (publisher, reason) in self.streams.take_abandoned() {
            self.guard.strike(publisher, &reason);
        }
    }

    /// The values this node holds for `height`/`round` (after a restart, what it had seen).
    fn values_of_round(
        &self,
        height: BlockHeight,
        round: Round,
    ) -> Vec<ProposedValue<BttcContext>> {
        let Ok(ro) = self.chain.db().ro() else { return Vec::new() };
        store::proposals_at(&ro, height.0)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, p)| p.round == round)
            .map(|(hash, p)| p.proposed_value(height.0, hash))
            .collect()
    }

    /// Builds (or, after a restart, reloads) this node's block for `height`/`round`.
    fn propose(
        &self,
        height: BlockHeight,
        round: Round,
    ) -> Result<Option<(B256, Vec<u8>)>, ProposalError> {
        let Some(me) = self.my_address() else { return Ok(None) };
        let db = self.chain.db();
        let storage = |e: bttc_storage::StorageError| ProposalError::Storage(e.to_string());
        let ro = db.ro().map_err(storage)?;
        if let Some((hash, p)) = store::proposals_at(&ro, height.0)
            .map_err(storage)?
            .into_iter()
            .find(|(_, p)| p.proposer == me && p.round == round)
        {
            info!(target: "bttc::consensus", %height, ?round, %hash, "re-proposing the block stored before a restart");
            return Ok(Some((hash, p.block_rlp)));
        }
        let (head, parent) = ro.head_header().map_err(storage)?;
        if head.number + 1 != height.0 {
            warn!(target: "bttc::consensus", %height, head = head.number, "asked to propose away from the head");
            return Ok(None);
        }
        let candidates = crate::producer::block_candidates(&self.pool, self.chain.spec(), &parent);
        // Every block after the first carries its parent's commit (who signed it).
        let extra_data = if head.number == 0 {
            Default::default()
        } else {
            let cert = store::certificate(&ro, head.number).map_err(storage)?.ok_or_else(|| {
                ProposalError::Storage(format!("no certificate stored for block {}", head.number))
            })?;
            let set = self.validators.validator_set(BlockHeight(head.number)).map_err(|e| {
                ProposalError::ValidatorSet { height: head.number, reason: e.to_string() }
            })?;
            let mut commit = super::last_commit::from_certificate(&cert, &set);
            commit.evidence = self.evidence.for_block();
            commit.state_syncs = super::state_syncs::for_proposal(&self.root_records, &ro, round);
            if let (Some(first), Some(last)) =
                (commit.state_syncs.first(), commit.state_syncs.last())
            {
                info!(target: "bttc::bridge", %height, records = commit.state_syncs.len(), root = first.root_id, first = first.id, last = last.id, "proposing state syncs");
            }
            commit.encode()
        };
        let attrs = BlockAttributes {
            timestamp: now_secs().max(parent.timestamp + 1),
            beneficiary: me.0,
            extra_data,
            ..Default::default()
        };
        let built = self
            .chain
            .build_block_from_recovered(&ro, candidates, &attrs)
            .map_err(|e| ProposalError::Storage(e.to_string()))?;
        drop(ro);
        for (hash, _) in &built.rejected {
            self.pool.remove(hash);
        }
        let hash = built.block.header.hash_slow();
        let rlp = alloy_rlp::encode(&built.block);
        let entry = StoredProposal {
            round,
            pol_round: Round::Nil,
            proposer: me,
            valid: true,
            block_rlp: rlp.clone(),
        };
        let rw = db.rw().map_err(storage)?;
        rw.put_proposed_block(height.0, &hash, &store::encode_proposal(&entry)).map_err(storage)?;
        rw.commit().map_err(storage)?;
        info!(target: "bttc::consensus", %height, ?round, %hash, txs = built.block.body.transactions.len(), "proposing");
        Ok(Some((hash, rlp)))
    }

    async fn stream(
        &self,
        height: BlockHeight,
        round: Round,
        pol_round: Round,
        hash: B256,
        rlp: &[u8],
        network: &mpsc::Sender<NetworkMsg<BttcContext>>,
    ) {
        let Some(signer) = &self.signer else { return };
        let me = signer.address();
        let sig = signer.sign_hash(&proposal_signing_hash(
            self.ctx.chain_id(),
            height,
            round,
            &BlockValue(hash),
            pol_round,
            &me,
        ));
        for m in stream_messages(height, round, pol_round, me, rlp, sig) {
            if network.send(NetworkMsg::PublishProposalPart(m)).await.is_err() {
                return;
            }
        }
    }

    fn on_proposal(&mut self, p: AssembledProposal, reply: ValueReply) {
        let head = self.head_number();
        if p.height.0 > head + 1 {
            // Not there yet: keep it for `StartedRound` of its height, answer now.
            if self.waiting.len() >= MAX_WAITING {
                self.waiting.sort_by_key(|w| std::cmp::Reverse(w.height));
                self.waiting.pop();
            }
            self.waiting.push(p);
            let _ = reply.send(None);
            return;
        }
        if p.height.0 <= head {
            let _ = reply.send(None);
            return;
        }
        let value = tokio::task::block_in_place(|| self.validate_proposal(&p));
        let _ = reply.send(self.judge(&p, value));
    }

    /// Logs a refused proposal and penalises its publisher: a ban for a forged, undecodable
    /// or out-of-turn proposal, a strike for a block that fails re-execution.
    pub(crate) fn judge(
        &self,
        p: &AssembledProposal,
        value: Result<ProposedValue<BttcContext>, ProposalError>,
    ) -> Option<ProposedValue<BttcContext>> {
        match value {
            Ok(v) => {
                if v.validity == Validity::Invalid {
                    self.guard
                        .strike(p.publisher, &format!("invalid block at height {}", p.height));
                }
                Some(v)
            }
            Err(e) => {
                warn!(target: "bttc::consensus", height = %p.height, round = ?p.round, peer = %p.publisher, error = %e, "proposal refused");
                if e.is_peer_fault() {
                    self.guard.ban_and_disconnect(p.publisher, &e.to_string());
                }
                None
            }
        }
    }

    /// Validates (and stores) the held proposals of `height`; drops those below it.
    fn validate_waiting(&mut self, height: BlockHeight) {
        let (now, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.waiting).into_iter().partition(|p| p.height <= height);
        self.waiting = later;
        for p in now.into_iter().filter(|p| p.height == height) {
            let value = self.validate_proposal(&p);
            self.judge(&p, value);
        }
    }

    /// Checks a complete proposal and executes its block on the head (nothing committed).
    pub(crate) fn validate_proposal(
        &self,
        p: &AssembledProposal,
    ) -> Result<ProposedValue<BttcContext>, ProposalError> {
        let block = Block::decode(&mut p.block_rlp.as_slice())
            .map_err(|e| ProposalError::Decode(e.to_string()))?;
        let hash = block.header.hash_slow();
        let signed = proposal_signing_hash(
            self.ctx.chain_id(),
            p.height,
            p.round,
            &BlockValue(hash),
            p.pol_round,
            &p.proposer,
        );
        if p.signature.recover(&signed) != Some(p.proposer.0) {
            return Err(ProposalError::Signature { proposer: p.proposer });
        }
        let set = self.validators.validator_set(p.height).map_err(|e| {
            ProposalError::ValidatorSet { height: p.height.0, reason: e.to_string() }
        })?;
        let expected = self.ctx.proposer(&set, p.height, p.round).address;
        if expected != p.proposer {
            return Err(ProposalError::WrongProposer {
                got: p.proposer,
                expected,
                height: p.height.0,
                round: p.round,
            });
        }
        // A fresh block pays its proposer; a block re-proposed with a proof of lock was built
        // by the proposer of an earlier round, so it pays some validator.
        let builder = if p.pol_round.is_defined() {
            Builder::AnyValidator
        } else {
            Builder::Proposer(p.proposer.0)
        };
        let verdict = self.check_block(&block, p.height.0, builder).and_then(|()| {
            // Deposits: only what this validator read itself, in order (a decided block's
            // certificate stands for them when the block comes by sync).
            let commit = bttc_primitives::LastCommit::decode(&block.header.extra_data)
                .map_err(|e| e.to_string())?;
            let records = commit.map(|c| c.state_syncs).unwrap_or_default();
            let ro = self.chain.db().ro().map_err(|e| e.to_string())?;
            super::state_syncs::check(&self.root_records, &ro, &records)
        });
        if let Err(reason) = &verdict {
            warn!(target: "bttc::consensus", height = %p.height, %hash, proposer = %p.proposer, %reason, "invalid block proposed");
        }
        let entry = StoredProposal {
            round: p.round,
            pol_round: p.pol_round,
            proposer: p.proposer,
            valid: verdict.is_ok(),
            block_rlp: p.block_rlp.clone(),
        };
        self.store_proposal(p.height.0, hash, &entry)?;
        Ok(entry.proposed_value(p.height.0, hash))
    }

    fn store_proposal(
        &self,
        height: u64,
        hash: B256,
        entry: &StoredProposal,
    ) -> Result<(), ProposalError> {
        let storage = |e: bttc_storage::StorageError| ProposalError::Storage(e.to_string());
        let rw = self.chain.db().rw().map_err(storage)?;
        rw.put_proposed_block(height, &hash, &store::encode_proposal(entry)).map_err(storage)?;
        rw.commit().map_err(storage)
    }

    /// Consensus rules on top of the execution rules: the block is at `height`, pays its
    /// builder, is not from the future; then it must execute on the head with every root
    /// right. Nothing is committed.
    fn check_block(&self, block: &Block, height: u64, builder: Builder) -> Result<(), String> {
        let h = &block.header;
        if h.number != height {
            return Err(format!("block number {} at height {height}", h.number));
        }
        match builder {
            Builder::Proposer(proposer) if h.beneficiary != proposer => {
                return Err(format!(
                    "beneficiary {} is not the proposer {proposer}",
                    h.beneficiary
                ));
            }
            Builder::AnyValidator => {
                let set = self
                    .validators
                    .validator_set(BlockHeight(height))
                    .map_err(|e| e.to_string())?;
                if !set.contains(&ValidatorAddress(h.beneficiary)) {
                    return Err(format!("beneficiary {} is not a validator", h.beneficiary));
                }
            }
            Builder::Proposer(_) => {}
        }
        self.check_last_commit(block)?;
        let now = now_secs();
        if h.timestamp > now + MAX_FUTURE_SECS {
            return Err(format!(
                "timestamp {} is more than {MAX_FUTURE_SECS} s ahead of this node's clock ({now})",
                h.timestamp
            ));
        }
        let rw = self.chain.db().rw().map_err(|e| e.to_string())?;
        self.chain.insert_block(&rw, block).map_err(|e| e.to_string())?;
        drop(rw); // abort: validation only
        Ok(())
    }

    /// The block's LastCommit: none on block 1, else more than 2/3 of its parent's voting
    /// power precommitting the parent.
    fn check_last_commit(&self, block: &Block) -> Result<(), String> {
        let h = &block.header;
        let commit =
            bttc_primitives::LastCommit::decode(&h.extra_data).map_err(|e| e.to_string())?;
        match (h.number, commit) {
            (1, None) => Ok(()),
            (1, Some(_)) => Err("block 1 carries a LastCommit (genesis has no commit)".into()),
            (_, None) => Err("no LastCommit in extraData".into()),
            (n, Some(c)) => {
                if let Some(i) = c
                    .evidence
                    .iter()
                    .position(|e| bttc_staking::evidence::evidence_height(e).is_none())
                {
                    return Err(format!("LastCommit evidence entry {i} is not an evidence call"));
                }
                let set =
                    self.validators.validator_set(BlockHeight(n - 1)).map_err(|e| e.to_string())?;
                super::last_commit::verify(&c, self.ctx.chain_id(), n - 1, h.parent_hash, &set)
            }
        }
    }

    /// Executes the decided block and commits it with its certificate (and the checkpoint it
    /// ends, with the signatures of `extensions`) in one transaction.
    fn commit(
        &mut self,
        cert: &CommitCertificate,
        extensions: &Extensions,
    ) -> Result<(), ConsensusError> {
        let height = cert.height.0;
        let hash = cert.value_id.0;
        let (txs, evidence) = self
            .try_commit(cert, extensions)
            .map_err(|source| ConsensusError::Commit { height, hash, source })?;
        self.evidence.included(&evidence);
        self.committed = Some(height);
        info!(target: "bttc::consensus", height, %hash, txs, round = ?cert.round, signatures = cert.commit_signatures.len(), "block finalized");
        let _ = self.events.new_heads.send(height);
        Ok(())
    }

    /// Commits the decided block; returns its transaction count and the evidence it carried.
    fn try_commit(
        &self,
        cert: &CommitCertificate,
        extensions: &Extensions,
    ) -> Result<(usize, Vec<Bytes>), CommitError> {
        let height = cert.height.0;
        let hash = cert.value_id.0;
        let db = self.chain.db();
        let rw = db.rw()?;
        let (head, _) = rw.head_header()?;
        if head.number >= height {
            // Already committed (a restart replaying the height): keep the certificate.
            match rw.canonical_hash(height)? {
                Some(h) if h == hash => {}
                Some(got) => return Err(CommitError::Conflict { got }),
                None => return Err(CommitError::NotReceived),
            }
            rw.put_certificate(height, &store::encode_certificate(cert))?;
            rw.commit()?;
            return Ok((0, Vec::new()));
        }
        let stored = store::load_proposal(&rw, height, &hash)?.ok_or(CommitError::NotReceived)?;
        let block = Block::decode(&mut stored.block_rlp.as_slice())?;
        self.chain.insert_block(&rw, &block)?;
        if let Some(epochs) = &self.epochs {
            epochs.record_epoch(&rw, height).map_err(Box::new)?;
        }
        if let Some(c) = self.checkpoints.record_at_commit(&rw, &block.header, extensions)? {
            let (signed, total) = (c.signed_power(), c.total_power());
            info!(target: "bttc::checkpoint", start = c.checkpoint.start, end = height, root = %c.checkpoint.root_hash, signatures = c.signatures.len(), power = %format!("{signed}/{total}"), handover = c.checkpoint.next_set_hash != c.checkpoint.current_set_hash, "checkpoint signed by the validators");
        }
        rw.put_certificate(height, &store::encode_certificate(cert))?;
        rw.prune_proposed_blocks(height)?;
        crate::producer::commit_and_update_pool(&self.pool, self.chain.spec(), db, rw)?;
        let evidence = bttc_primitives::LastCommit::decode(&block.header.extra_data)
            .ok()
            .flatten()
            .map(|c| c.evidence)
            .unwrap_or_default();
        Ok((block.body.transactions.len(), evidence))
    }

    /// Replaces the stored certificate with the finalized one (which may carry more
    /// signatures).
    fn store_certificate(&self, cert: &CommitCertificate) -> Result<(), ConsensusError> {
        let (height, hash) = (cert.height.0, cert.value_id.0);
        let r = (|| -> Result<(), bttc_storage::StorageError> {
            let rw = self.chain.db().rw()?;
            if rw.canonical_hash(height)? == Some(hash) {
                rw.put_certificate(height, &store::encode_certificate(cert))?;
            }
            rw.commit()
        })();
        r.map_err(|e| ConsensusError::Commit { height, hash, source: e.into() })
    }

    fn decided_values(
        &self,
        range: std::ops::RangeInclusive<BlockHeight>,
    ) -> Vec<RawDecidedValue<BttcContext>> {
        let Ok(ro) = self.chain.db().ro() else { return Vec::new() };
        let (start, end) =
            (range.start().0, range.end().0.min(range.start().0 + MAX_SYNC_BATCH - 1));
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for h in start..=end {
            let Ok(extensions) = CheckpointSigning::stored_extensions(&ro, h) else { break };
            // A response carries at most `MAX_SYNC_RESPONSE_BYTES`; the engine drops what does
            // not fit, so reading further is wasted.
            if bytes >= super::limits::MAX_SYNC_RESPONSE_BYTES {
                break;
            }
            let (Ok(Some(block)), Ok(Some(cert))) = (ro.block(h), store::certificate(&ro, h))
            else {
                break;
            };
            let ext = ExtendedCommitCertificate {
                height: cert.height,
                round: cert.round,
                value_id: cert.value_id,
                commit_signatures: cert
                    .commit_signatures
                    .into_iter()
                    .filter_map(|s| {
                        // At a checkpoint height every signature needs its extension; one
                        // whose checkpoint signature was not kept is left out.
                        let ext = match &extensions {
                            None => None,
                            Some(e) => Some(e.iter().find(|(a, _)| *a == s.address)?.1.clone()),
                        };
                        Some(ExtendedCommitSignature::new(s.address, s.signature, ext))
                    })
                    .collect(),
            };
            let rlp = alloy_rlp::encode(&block);
            bytes = bytes.saturating_add(rlp.len());
            out.push(RawDecidedValue::new(rlp.into(), ext));
        }
        out
    }

    fn synced_value(
        &self,
        height: BlockHeight,
        round: Round,
        proposer: ValidatorAddress,
        bytes: &[u8],
    ) -> SyncedValueOutcome<BttcContext> {
        let Ok(block) = Block::decode(&mut &bytes[..]) else {
            warn!(target: "bttc::consensus", %height, "synced block does not decode");
            return SyncedValueOutcome::PeerFault;
        };
        let hash = block.header.hash_slow();
        let head = self.head_number();
        if height.0 != head + 1 {
            return SyncedValueOutcome::LocalTransientError;
        }
        // The round's proposer may not be the block's builder (a re-proposed block), and
        // the certificate, which the engine checks, is what makes it final.
        let verdict = self.check_block(&block, height.0, Builder::AnyValidator);
        if let Err(reason) = &verdict {
            warn!(target: "bttc::consensus", %height, %hash, %reason, "synced block is invalid");
        }
        let entry = StoredProposal {
            round,
            pol_round: Round::Nil,
            proposer,
            valid: verdict.is_ok(),
            block_rlp: bytes.to_vec(),
        };
        if self.store_proposal(height.0, hash, &entry).is_err() {
            return SyncedValueOutcome::LocalTransientError;
        }
        SyncedValueOutcome::Verdict(entry.proposed_value(height.0, hash))
    }
}
