//! [`Chain`]: validate, execute, compute the root, write.

use crate::{BlockError, ChainError, validate};
use alloy_consensus::{
    Header, TxReceipt, proofs::calculate_receipt_root, transaction::SignerRecoverable,
};
use alloy_primitives::{Address, B256, Bloom, keccak256};
use bttc_chainspec::ChainSpec;
use bttc_evm::{BlockHooks, ExecutionOutcome, NoHooks, execute_block};
use bttc_primitives::Block;
use bttc_storage::{DatabaseEnv, Provider, Rw, StateChanges, StoredHead};
use bttc_trie::{HashedAccount, HashedPostState, HashedStorage};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::debug;

/// A block that passed every check and was written (not yet committed).
#[derive(Debug, Clone)]
pub struct InsertedBlock {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Gas used.
    pub gas_used: u64,
    /// Number of transactions.
    pub tx_count: usize,
    /// Where the time went.
    pub timings: BlockTimings,
}

/// Time spent in each stage of inserting one block.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockTimings {
    /// Header and body checks plus sender recovery.
    pub validate: Duration,
    /// EVM execution and result checks.
    pub execute: Duration,
    /// Incremental state root.
    pub state_root: Duration,
    /// Writing header, body, transactions, senders, receipts and lookups.
    pub write_block: Duration,
    /// Writing plain state, changesets and history indices.
    pub write_state: Duration,
    /// Writing trie nodes.
    pub write_trie: Duration,
}

impl std::ops::AddAssign for BlockTimings {
    fn add_assign(&mut self, o: Self) {
        self.validate += o.validate;
        self.execute += o.execute;
        self.state_root += o.state_root;
        self.write_block += o.write_block;
        self.write_state += o.write_state;
        self.write_trie += o.write_trie;
    }
}

/// The chain: a database, the spec of the chain it holds, and the hooks its blocks run.
#[derive(Debug, Clone)]
pub struct Chain<H = NoHooks> {
    db: DatabaseEnv,
    spec: Arc<ChainSpec>,
    hooks: H,
}

impl Chain<NoHooks> {
    /// Opens the chain stored in `db` (written by [`crate::init_genesis`]).
    pub fn open(db: DatabaseEnv) -> Result<Self, ChainError> {
        Self::open_with_hooks(db, NoHooks)
    }
}

impl<H: BlockHooks> Chain<H> {
    /// Opens the chain with the given block hooks.
    pub fn open_with_hooks(db: DatabaseEnv, hooks: H) -> Result<Self, ChainError> {
        let json = db
            .ro()?
            .genesis_json()?
            .ok_or_else(|| ChainError::NotInitialized(db.path().display().to_string()))?;
        let spec = Arc::new(ChainSpec::from_json(&json)?);
        Ok(Self { db, spec, hooks })
    }

    /// The database.
    pub const fn db(&self) -> &DatabaseEnv {
        &self.db
    }

    /// The chain spec.
    pub fn spec(&self) -> &Arc<ChainSpec> {
        &self.spec
    }

    /// The block hooks.
    pub const fn hooks(&self) -> &H {
        &self.hooks
    }

    /// The committed head.
    pub fn head(&self) -> Result<StoredHead, ChainError> {
        self.db
            .ro()?
            .head()?
            .ok_or_else(|| ChainError::NotInitialized(self.db.path().display().to_string()))
    }

    /// Validates `block` on top of the head of `rw`, executes it, checks its roots and
    /// writes it into `rw`. On error nothing has been written, except after
    /// [`BlockError::Write`] (see [`BlockError::wrote_nothing`]): then `rw` may hold part of
    /// the block and must be dropped, not committed.
    pub fn insert_block(
        &self,
        rw: &Provider<Rw>,
        block: &Block,
    ) -> Result<InsertedBlock, BlockError> {
        let t = Instant::now();
        let senders = recover_senders(block)?;
        let mut inserted = self.insert_block_with_senders(rw, block, &senders)?;
        inserted.timings.validate += t.elapsed();
        Ok(inserted)
    }

    /// [`Chain::insert_block`] with the senders already recovered (import recovers them
    /// ahead, on other cores, while earlier blocks execute). `senders` must be what
    /// [`recover_senders`] returns for this block.
    pub fn insert_block_with_senders(
        &self,
        rw: &Provider<Rw>,
        block: &Block,
        senders: &[Address],
    ) -> Result<InsertedBlock, BlockError> {
        let mut timings = BlockTimings::default();
        let t = Instant::now();
        let header = &block.header;
        let hash = header.hash_slow();
        let parent = self.parent_of(rw, header)?;
        validate::validate_header(&self.spec, header, &parent)?;
        validate::validate_body(&self.spec, block)?;
        validate::validate_ommers(&self.spec, rw, block)?;
        timings.validate = t.elapsed();

        let t = Instant::now();
        let roots = TrieRoots(rw);
        let outcome = execute_block(&self.spec, rw, block, senders, &self.hooks, Some(&roots))?;
        check_outcome(&self.spec, header, &outcome)?;
        timings.execute = t.elapsed();

        let t = Instant::now();
        let hashed = hashed_post_state(&outcome.changes);
        let (root, trie_updates) = bttc_trie::state_root(rw, &hashed)?;
        if root != header.state_root {
            return Err(BlockError::StateRoot { got: root, expected: header.state_root });
        }
        timings.state_root = t.elapsed();

        write_checked_block(rw, block, hash, senders, &outcome, &trie_updates, &mut timings)?;
        debug!(target: "bttc::chain", number = header.number, %hash, gas = outcome.gas_used, "block inserted");
        Ok(InsertedBlock {
            number: header.number,
            hash,
            gas_used: outcome.gas_used,
            tx_count: block.body.transactions.len(),
            timings,
        })
    }

    fn parent_of(&self, rw: &Provider<Rw>, header: &Header) -> Result<Header, BlockError> {
        let (head, head_header) = rw.head_header()?;
        if header.parent_hash != head.hash {
            return Err(match rw.block_number(&header.parent_hash)? {
                Some(_) => BlockError::NotOnHead {
                    number: header.number,
                    parent: header.parent_hash,
                    head: head.hash,
                },
                None => {
                    BlockError::UnknownParent { number: header.number, parent: header.parent_hash }
                }
            });
        }
        Ok(head_header)
    }
}

/// Writes a block that passed every check: header, body, senders, receipts, system logs, then
/// its state and trie nodes, and only then moves the head to it. Any failure here is
/// [`BlockError::Write`]: the transaction may hold part of the block and must be aborted,
/// not committed.
pub(crate) fn write_checked_block(
    rw: &Provider<Rw>,
    block: &Block,
    hash: B256,
    senders: &[Address],
    outcome: &ExecutionOutcome,
    trie_updates: &bttc_trie::TrieUpdates,
    timings: &mut BlockTimings,
) -> Result<(), BlockError> {
    let number = block.header.number;
    let write = |source| BlockError::Write { number, source };
    let t = Instant::now();
    rw.write_block(block, hash, senders, &outcome.receipts).map_err(write)?;
    rw.write_system_logs(number, &outcome.system_logs).map_err(write)?;
    timings.write_block = t.elapsed();
    let t = Instant::now();
    rw.write_state(number, &outcome.changes).map_err(write)?;
    timings.write_state = t.elapsed();
    let t = Instant::now();
    rw.write_trie(trie_updates).map_err(write)?;
    rw.set_head(number, hash).map_err(write)?;
    timings.write_trie = t.elapsed();
    Ok(())
}

/// Post-transaction state roots (pre-Byzantium receipts) from the trie in the block's own
/// database transaction: the stored trie plus the block's changes so far, nothing written.
pub(crate) struct TrieRoots<'a, P>(pub(crate) &'a P);

impl<P: bttc_trie::TrieStore> bttc_evm::PostStateRoots for TrieRoots<'_, P> {
    fn state_root(&self, changes: &StateChanges) -> Result<B256, bttc_evm::BoxError> {
        Ok(bttc_trie::state_root(self.0, &hashed_post_state(changes))?.0)
    }
}

/// Recovers every sender, in parallel for larger blocks.
pub fn recover_senders(block: &Block) -> Result<Vec<Address>, BlockError> {
    use rayon::prelude::*;
    let recover = |(index, tx): (usize, &bttc_primitives::Transaction)| {
        tx.recover_signer().map_err(|e| BlockError::Signature {
            index,
            hash: *tx.tx_hash(),
            reason: e.to_string(),
        })
    };
    let txs = &block.body.transactions;
    if txs.len() < 32 {
        txs.iter().enumerate().map(recover).collect()
    } else {
        txs.par_iter().enumerate().map(recover).collect()
    }
}

fn check_outcome(
    spec: &ChainSpec,
    header: &Header,
    outcome: &ExecutionOutcome,
) -> Result<(), BlockError> {
    use alloy_hardforks::EthereumHardforks;
    if outcome.gas_used != header.gas_used {
        return Err(BlockError::GasUsed { got: outcome.gas_used, expected: header.gas_used });
    }
    if let Some(expected) = header.blob_gas_used
        && outcome.blob_gas_used != expected
    {
        return Err(BlockError::BlobGasUsed { got: outcome.blob_gas_used, expected });
    }
    let receipts_root = calculate_receipt_root(&outcome.receipts);
    if receipts_root != header.receipts_root {
        return Err(BlockError::ReceiptsRoot {
            got: receipts_root,
            expected: header.receipts_root,
        });
    }
    let mut bloom = Bloom::ZERO;
    for r in &outcome.receipts {
        bloom |= r.bloom();
    }
    if bloom != header.logs_bloom {
        return Err(BlockError::LogsBloom {
            got: Box::new(bloom),
            expected: Box::new(header.logs_bloom),
        });
    }
    if spec.is_prague_active_at_timestamp(header.timestamp) {
        let got = outcome.requests.requests_hash();
        if header.requests_hash != Some(got) {
            return Err(BlockError::RequestsHash { got, expected: header.requests_hash });
        }
    }
    Ok(())
}

/// The trie input of a block's state changes: keys hashed, storage wipes carried over.
pub fn hashed_post_state(changes: &StateChanges) -> HashedPostState {
    let mut out = HashedPostState::default();
    for ch in &changes.accounts {
        let hashed = keccak256(ch.address);
        out.accounts.insert(
            hashed,
            ch.new.map(|a| HashedAccount {
                nonce: a.nonce,
                balance: a.balance,
                code_hash: a.code_hash,
            }),
        );
        if ch.wiped || !ch.storage.is_empty() {
            out.storages.insert(
                hashed,
                HashedStorage {
                    wiped: ch.wiped,
                    slots: ch.storage.iter().map(|c| (keccak256(c.slot), c.value)).collect(),
                },
            );
        }
    }
    out
}
