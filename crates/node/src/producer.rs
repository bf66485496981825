//! The dev-mode block producer.

use alloy_primitives::{Address, B256};
use bttc_chain::{BlockAttributes, BlockError, ChainError, validate::expected_base_fee};
use bttc_storage::StorageError;
use bttc_txpool::{TxPool, ValidationContext};
use std::sync::Arc;
use tracing::info;

/// The pool's best executable transactions, with their senders, for the block after
/// `parent` (at that block's base fee): what a producer or a BFT proposer builds from.
pub(crate) fn block_candidates(
    pool: &TxPool,
    spec: &bttc_chainspec::ChainSpec,
    parent: &bttc_primitives::Header,
) -> Vec<(bttc_primitives::Transaction, Address)> {
    let base_fee = expected_base_fee(spec, parent, parent.number + 1).unwrap_or(0);
    pool.best_transactions(base_fee).iter().map(|p| (p.tx.clone(), p.sender)).collect()
}

/// Commits `rw` (which holds a new head block) and brings the pool up to date (at the base
/// fee of the block after it), under the pool's block-update guard so that no admission
/// validates against the state in between.
pub(crate) fn commit_and_update_pool(
    pool: &TxPool,
    spec: &bttc_chainspec::ChainSpec,
    db: &bttc_storage::DatabaseEnv,
    rw: bttc_storage::Provider<bttc_storage::Rw>,
) -> Result<(), StorageError> {
    let update = pool.block_update();
    rw.commit()?;
    let ro = db.ro()?;
    let (_, head) = ro.head_header()?;
    pool.on_new_block(&ro, bttc_txpool::next_base_fee(spec, &head));
    drop(update);
    Ok(())
}

/// A block could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// The block failed (a bug if it happens: the producer built it itself).
    #[error("block: {0}")]
    Block(#[from] BlockError),
    /// The chain could not be read.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// A block the producer committed.
#[derive(Debug, Clone)]
pub struct MinedBlock {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Hashes of the transactions included.
    pub included: Vec<B256>,
    /// Pool transactions that could not be executed and were dropped, with the reason.
    pub rejected: Vec<(B256, String)>,
}

/// Builds, inserts and commits blocks from the pool.
#[derive(Debug)]
pub struct DevProducer {
    chain: bttc_staking::NodeChain,
    pool: Arc<TxPool>,
    beneficiary: Address,
}

impl DevProducer {
    /// A producer over `chain` taking transactions from `pool`; fees go to `beneficiary`.
    pub const fn new(
        chain: bttc_staking::NodeChain,
        pool: Arc<TxPool>,
        beneficiary: Address,
    ) -> Self {
        Self { chain, pool, beneficiary }
    }

    /// The chain.
    pub const fn chain(&self) -> &bttc_staking::NodeChain {
        &self.chain
    }

    /// Pending and queued counts of the pool.
    pub fn pool_status(&self) -> bttc_txpool::PoolStatus {
        self.pool.status()
    }

    /// What the pool validates against for the next block.
    pub fn validation_context(&self) -> Result<ValidationContext, ProducerError> {
        let (_, parent) = self.chain.db().ro()?.head_header()?;
        Ok(ValidationContext::next_block(self.chain.spec(), &parent))
    }

    /// Produces one block at `timestamp` (moved past the parent's if needed) with the best
    /// executable pool transactions, and commits it. Empty blocks are allowed.
    pub fn mine(&self, timestamp: u64) -> Result<MinedBlock, ProducerError> {
        self.mine_sealed_at(timestamp, None)
    }

    /// [`Self::mine`] with `extra_data` in the header (tools that write certified BFT chains
    /// put the parent's LastCommit there).
    pub fn mine_with_extra_data(
        &self,
        timestamp: u64,
        extra_data: alloy_primitives::Bytes,
    ) -> Result<MinedBlock, ProducerError> {
        self.mine_inner(timestamp, None, extra_data)
    }

    /// [`Self::mine`], but the block is committed (becomes visible) no earlier than
    /// `seal_at`: a producer with a fixed block time builds ahead of its slot and seals on
    /// time, so the block's contents are what was pending when building started.
    pub fn mine_sealed_at(
        &self,
        timestamp: u64,
        seal_at: Option<std::time::Instant>,
    ) -> Result<MinedBlock, ProducerError> {
        self.mine_inner(timestamp, seal_at, Default::default())
    }

    fn mine_inner(
        &self,
        timestamp: u64,
        seal_at: Option<std::time::Instant>,
        extra_data: alloy_primitives::Bytes,
    ) -> Result<MinedBlock, ProducerError> {
        let started = std::time::Instant::now();
        let rw = self.chain.db().rw()?;
        let (_, parent) = rw.head_header()?;
        let opened = started.elapsed();
        let candidates = block_candidates(&self.pool, self.chain.spec(), &parent);
        let attrs = BlockAttributes {
            timestamp: timestamp.max(parent.timestamp + 1),
            beneficiary: self.beneficiary,
            extra_data,
            ..Default::default()
        };
        let selected = started.elapsed();
        let built = self.chain.build_block_from_recovered(&rw, candidates, &attrs)?;
        let executed = started.elapsed();
        let inserted = self.chain.commit_built_block(&rw, &built)?;
        if let Some(at) = seal_at {
            std::thread::sleep(at.saturating_duration_since(std::time::Instant::now()));
        }
        commit_and_update_pool(&self.pool, self.chain.spec(), self.chain.db(), rw)?;
        let committed = started.elapsed();
        for (hash, _) in &built.rejected {
            self.pool.remove(hash);
        }
        let included: Vec<B256> =
            built.block.body.transactions.iter().map(|t| *t.tx_hash()).collect();
        info!(
            target: "bttc::dev",
            number = inserted.number,
            hash = %inserted.hash,
            txs = included.len(),
            open_ms = opened.as_secs_f64() * 1e3,
            select_ms = (selected - opened).as_secs_f64() * 1e3,
            build_ms = (executed - selected).as_secs_f64() * 1e3,
            commit_ms = (committed - executed).as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "mined block"
        );
        Ok(MinedBlock {
            number: inserted.number,
            hash: inserted.hash,
            included,
            rejected: built.rejected,
        })
    }
}
