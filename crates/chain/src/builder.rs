//! Building a block on top of the head: the producer side of [`Chain::insert_block`].

use crate::{BlockError, Chain, hashed_post_state};
use alloy_consensus::{
    Header, TxReceipt,
    constants::EMPTY_ROOT_HASH,
    proofs::{calculate_ommers_root, calculate_receipt_root, calculate_transaction_root},
};
use alloy_eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, B256, Bloom, Bytes, U256};
use bttc_evm::{BlockHooks, Skipped, TxPolicy, execute_block_with};
use bttc_primitives::{Block, BlockBody, Transaction};
use bttc_storage::{Provider, PtrUnsync, TransactionKind};

/// What the producer chooses for a new block.
#[derive(Debug, Clone, Default)]
pub struct BlockAttributes {
    /// Block timestamp; must be after the parent's.
    pub timestamp: u64,
    /// Fee recipient.
    pub beneficiary: Address,
    /// Gas limit; the parent's when `None`.
    pub gas_limit: Option<u64>,
    /// Extra data (at most 32 bytes).
    pub extra_data: Bytes,
    /// `prevrandao` / mix hash.
    pub prev_randao: B256,
    /// Ommer (uncle) headers to include: pre-merge chains only, at most two.
    pub ommers: Vec<Header>,
}

impl<H: BlockHooks> Chain<H> {
    /// Builds a block of `transactions` on top of the head of `provider`: executes them and
    /// fills in every root. Nothing is written. Fails if a transaction is invalid.
    pub fn build_block<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        provider: &Provider<K>,
        transactions: Vec<Transaction>,
        attrs: &BlockAttributes,
    ) -> Result<Block, BlockError> {
        let built =
            self.build_block_with(provider, transactions, None, attrs, TxPolicy::AllMustSucceed)?;
        Ok(built.block)
    }

    /// Builds a block from candidate transactions in the given order, leaving out those that
    /// cannot be executed (bad nonce, unaffordable, no gas left): the block producer's path.
    pub fn build_block_from_candidates<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        provider: &Provider<K>,
        candidates: Vec<Transaction>,
        attrs: &BlockAttributes,
    ) -> Result<BuiltBlock, BlockError> {
        self.build_block_with(provider, candidates, None, attrs, TxPolicy::SkipInvalid)
    }

    /// [`Self::build_block_from_candidates`] for candidates whose senders are already known
    /// (the pool recovered them on admission), so they are not recovered again.
    pub fn build_block_from_recovered<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        provider: &Provider<K>,
        candidates: Vec<(Transaction, Address)>,
        attrs: &BlockAttributes,
    ) -> Result<BuiltBlock, BlockError> {
        let (txs, senders) = candidates.into_iter().unzip();
        self.build_block_with(provider, txs, Some(senders), attrs, TxPolicy::SkipInvalid)
    }

    fn build_block_with<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        provider: &Provider<K>,
        transactions: Vec<Transaction>,
        senders: Option<Vec<Address>>,
        attrs: &BlockAttributes,
        policy: TxPolicy,
    ) -> Result<BuiltBlock, BlockError> {
        let spec = self.spec();
        let (head, parent) = provider.head_header()?;
        let number = parent.number + 1;
        let ts = attrs.timestamp;
        let base_fee = crate::validate::expected_base_fee(spec, &parent, number);
        let cancun = spec.is_cancun_active_at_timestamp(ts);
        let excess_blob_gas = crate::validate::expected_excess_blob_gas(spec, &parent, ts);
        let shanghai = spec.is_shanghai_active_at_timestamp(ts);
        let pre_merge = !spec.is_paris_active_at_block(number);
        let header = Header {
            parent_hash: head.hash,
            ommers_hash: calculate_ommers_root(&attrs.ommers),
            difficulty: if pre_merge {
                crate::difficulty::expected_difficulty(spec, ts, &parent)
            } else {
                U256::ZERO
            },
            beneficiary: attrs.beneficiary,
            // Filled in below, once the transactions left out are known.
            transactions_root: B256::ZERO,
            number,
            gas_limit: attrs.gas_limit.unwrap_or(parent.gas_limit),
            timestamp: ts,
            extra_data: attrs.extra_data.clone(),
            mix_hash: attrs.prev_randao,
            base_fee_per_gas: base_fee,
            withdrawals_root: shanghai.then_some(EMPTY_ROOT_HASH),
            excess_blob_gas,
            blob_gas_used: cancun.then_some(0),
            parent_beacon_block_root: cancun.then_some(B256::ZERO),
            requests_hash: spec.is_prague_active_at_timestamp(ts).then_some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        let mut block = Block {
            header,
            body: BlockBody {
                transactions,
                ommers: attrs.ommers.clone(),
                withdrawals: shanghai.then(Default::default),
            },
        };
        let mut senders = match senders {
            Some(s) => s,
            None => crate::insert::recover_senders(&block)?,
        };
        // EIP-7934: leave out what would make the block's RLP too large (with the sender's
        // later transactions, whose nonces would no longer be next).
        let mut oversized = Vec::new();
        if policy == TxPolicy::SkipInvalid
            && let Some(max) = spec.max_rlp_block_size(ts)
        {
            let (kept, kept_senders, left) = within_size_budget(
                std::mem::take(&mut block.body.transactions),
                std::mem::take(&mut senders),
                max.saturating_sub(BLOCK_RLP_RESERVE),
            );
            block.body.transactions = kept;
            senders = kept_senders;
            oversized = left;
        }
        let roots = crate::insert::TrieRoots(provider);
        let (outcome, skipped) = execute_block_with(
            spec,
            provider,
            &block,
            &senders,
            self.hooks(),
            policy,
            Some(&roots),
        )?;
        let mut rejected = Vec::new();
        let mut deferred = Vec::new();
        for (i, why) in skipped.into_iter().rev() {
            let tx = block.body.transactions.remove(i);
            senders.remove(i);
            match why {
                Skipped::Invalid(reason) => rejected.push((*tx.tx_hash(), reason)),
                Skipped::Deferred(reason) => deferred.push((*tx.tx_hash(), reason)),
            }
        }
        rejected.reverse();
        deferred.reverse();
        deferred.extend(oversized);
        let hashed = hashed_post_state(&outcome.changes);
        let txs = &block.body.transactions;
        // The state root reads the database on this thread; the transactions root, receipts
        // root and bloom only hash memory, so a large block computes them on another core.
        let (state, (tx_root, receipts_root, bloom)) = if txs.len() >= PARALLEL_ROOTS_MIN_TXS {
            std::thread::scope(|s| {
                let body = s.spawn(|| body_roots(txs, &outcome.receipts));
                let state = bttc_trie::state_root(provider, &hashed);
                let body = body.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                (state, body)
            })
        } else {
            (bttc_trie::state_root(provider, &hashed), body_roots(txs, &outcome.receipts))
        };
        let (root, trie_updates) = state?;
        let h = &mut block.header;
        h.transactions_root = tx_root;
        h.state_root = root;
        h.gas_used = outcome.gas_used;
        h.receipts_root = receipts_root;
        h.logs_bloom = bloom;
        if cancun {
            h.blob_gas_used = Some(outcome.blob_gas_used);
        }
        if h.requests_hash.is_some() {
            h.requests_hash = Some(outcome.requests.requests_hash());
        }
        if let Some(max) = spec.max_rlp_block_size(ts) {
            let size = alloy_rlp::Encodable::length(&block);
            if size > max {
                return Err(BlockError::BlockSize { size, max });
            }
        }
        Ok(BuiltBlock { block, rejected, deferred, senders, outcome, trie_updates })
    }
}

/// Bytes of a block's RLP kept free for everything but its transactions (header, list
/// framing, withdrawals) when the builder fills a size-capped block.
const BLOCK_RLP_RESERVE: usize = 16 * 1024;

/// Splits candidates into those whose encodings fit `budget` bytes together, in order, and
/// those left for a later block (hash and reason). Once a sender has a transaction left out,
/// its later ones are left out too.
#[allow(clippy::type_complexity)]
fn within_size_budget(
    txs: Vec<Transaction>,
    senders: Vec<Address>,
    budget: usize,
) -> (Vec<Transaction>, Vec<Address>, Vec<(B256, String)>) {
    let mut used = 0usize;
    let mut held = std::collections::HashSet::new();
    let (mut kept, mut kept_senders, mut left) = (Vec::new(), Vec::new(), Vec::new());
    for (tx, sender) in txs.into_iter().zip(senders) {
        let size = alloy_rlp::Encodable::length(&tx);
        if held.contains(&sender) {
            left.push((*tx.tx_hash(), "an earlier transaction of its sender was left out".into()));
        } else if used + size > budget {
            held.insert(sender);
            left.push((
                *tx.tx_hash(),
                format!("{size} bytes do not fit the block size limit ({used} of {budget} used)"),
            ));
        } else {
            used += size;
            kept.push(tx);
            kept_senders.push(sender);
        }
    }
    (kept, kept_senders, left)
}

/// Blocks with at least this many transactions hash their body roots on a second thread.
const PARALLEL_ROOTS_MIN_TXS: usize = 256;

/// Transactions root, receipts root and logs bloom.
fn body_roots(txs: &[Transaction], receipts: &[bttc_primitives::Receipt]) -> (B256, B256, Bloom) {
    let mut bloom = Bloom::ZERO;
    for r in receipts {
        bloom |= r.bloom();
    }
    (calculate_transaction_root(txs), calculate_receipt_root(receipts), bloom)
}

/// A block built from candidates, the candidates left out, and everything needed to commit
/// it without executing it again ([`Chain::commit_built_block`]).
#[derive(Debug)]
pub struct BuiltBlock {
    /// The block, every root filled in.
    pub block: Block,
    /// Candidates that cannot execute on this state (drop them): hash and reason.
    pub rejected: Vec<(alloy_primitives::B256, String)>,
    /// Candidates left for a later block (no gas left, or an earlier nonce of the sender
    /// was left out): hash and reason.
    pub deferred: Vec<(alloy_primitives::B256, String)>,
    /// Senders of the block's transactions.
    pub senders: Vec<alloy_primitives::Address>,
    /// What executing it produced.
    pub outcome: bttc_evm::ExecutionOutcome,
    /// Trie nodes its state root wrote.
    pub trie_updates: bttc_trie::TrieUpdates,
}

impl<H: BlockHooks> Chain<H> {
    /// Writes a block this node built itself with [`Chain::build_block_from_candidates`] on
    /// the same transaction's head, without executing it a second time. The head must not
    /// have moved since the block was built. After [`BlockError::Write`] the transaction may
    /// hold part of the block and must be dropped, not committed.
    pub fn commit_built_block(
        &self,
        rw: &Provider<bttc_storage::Rw>,
        built: &BuiltBlock,
    ) -> Result<crate::InsertedBlock, BlockError> {
        let header = &built.block.header;
        let (head, _) = rw.head_header()?;
        if header.parent_hash != head.hash {
            return Err(BlockError::NotOnHead {
                number: header.number,
                parent: header.parent_hash,
                head: head.hash,
            });
        }
        let hash = header.hash_slow();
        let mut timings = crate::BlockTimings::default();
        crate::insert::write_checked_block(
            rw,
            &built.block,
            hash,
            &built.senders,
            &built.outcome,
            &built.trie_updates,
            &mut timings,
        )?;
        Ok(crate::InsertedBlock {
            number: header.number,
            hash,
            gas_used: built.outcome.gas_used,
            tx_count: built.block.body.transactions.len(),
            timings,
        })
    }
}
