//! Checkpoint signatures in consensus.
//!
//! At a checkpoint height (`bttc_checkpoint::CheckpointSchedule`: every `checkpointInterval`
//! blocks of an epoch and its last block) the engine runs with vote extensions `Required`:
//! every precommit for a block carries its validator's 65-byte signature over the checkpoint
//! that block ends ([`bttc_checkpoint::Checkpoint::digest`]). The checkpoint is computed from
//! this node's own chain only: the root hash over the stored blocks and the block voted for,
//! the set of the height, and (at an epoch's last block) the next epoch's set, read from the
//! state after executing the block in a transaction that is then aborted.
//!
//! - `ExtendVote`: sign the checkpoint of the block this node precommits.
//! - `VerifyVoteExtensions`: a signature that does not recover to its validator over the
//!   digest this node computed is refused (its precommit is dropped). A block this node does
//!   not hold cannot be judged; its extensions pass, and are checked again before storing.
//! - `Decided` / `Finalized`: the checkpoint and every valid signature are written to the
//!   `Checkpoints` table, in the transaction that commits the block (late precommits are
//!   added at `Finalized`).
//! - Value sync serves the stored signatures as the certificate's extensions.

use super::store;
use alloy_primitives::B256;
use alloy_rlp::Decodable;
use bttc_checkpoint::{
    Checkpoint, CheckpointSchedule, CheckpointSignature, EpochBounds, Member, SignedCheckpoint,
};
use bttc_consensus::{
    BlockHeight, BttcContext, EthSignature, ValidatorAddress, ValidatorSet, ValidatorSetError,
    ValidatorSetProvider,
    core_types::{SignedExtension, VoteExtensionPolicy},
};
use bttc_primitives::{Block, Header};
use bttc_storage::{Provider, PtrUnsync, StorageError, TransactionKind};
use parking_lot::Mutex;
use std::sync::Arc;

/// Why a checkpoint could not be computed or stored.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// A block of the range is missing below the head.
    #[error("block {number} of checkpoint [{start}, {end}] is not stored")]
    MissingBlock {
        /// The missing block.
        number: u64,
        /// The checkpoint's first block.
        start: u64,
        /// Its last block.
        end: u64,
    },
    /// The validator set of a height is not known.
    #[error("validator set of height {height}: {source}")]
    Set {
        /// The height.
        height: u64,
        /// Why.
        #[source]
        source: ValidatorSetError,
    },
    /// The staking contract's epochs could not be read.
    #[error("staking epochs")]
    Staking(#[from] Box<bttc_staking::SetsError>),
    /// The block ending the checkpoint does not decode or execute.
    #[error("block {height}")]
    Block {
        /// Its height.
        height: u64,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored checkpoint does not decode.
    #[error("stored checkpoint")]
    Record(#[from] bttc_checkpoint::RecordError),
}

/// A vote extension with the validator that made it.
pub(crate) type Extension = (ValidatorAddress, SignedExtension<BttcContext>);

/// The checkpoint side of the consensus driver (module docs).
#[derive(Debug)]
pub(crate) struct CheckpointSigning {
    schedule: CheckpointSchedule,
    chain_id: u64,
    epochs: Option<Arc<bttc_staking::StakeValidators>>,
    validators: Arc<dyn ValidatorSetProvider>,
    /// The checkpoint of the last block judged before its commit: (height, block hash).
    judged: Mutex<Option<(u64, B256, SignedCheckpoint)>>,
}

fn members(set: &ValidatorSet) -> Vec<Member> {
    set.validators().iter().map(|v| Member { signer: v.address.0, power: v.voting_power }).collect()
}

impl CheckpointSigning {
    pub(crate) fn new(
        schedule: CheckpointSchedule,
        chain_id: u64,
        epochs: Option<Arc<bttc_staking::StakeValidators>>,
        validators: Arc<dyn ValidatorSetProvider>,
    ) -> Self {
        Self { schedule, chain_id, epochs, validators, judged: Mutex::new(None) }
    }

    fn bounds(&self, height: u64) -> Result<EpochBounds, CheckpointError> {
        match &self.epochs {
            Some(e) => e.epoch_bounds(height).map_err(|e| CheckpointError::Staking(Box::new(e))),
            None => Ok(EpochBounds::ENDLESS),
        }
    }

    /// The checkpoint block `height` ends, `[start, height]`, and whether `height` is its
    /// epoch's last block.
    pub(crate) fn range_at(&self, height: u64) -> Result<Option<(u64, bool)>, CheckpointError> {
        let bounds = self.bounds(height)?;
        Ok(self.schedule.ending_at(height, bounds).map(|(s, _)| (s, height == bounds.last)))
    }

    /// The engine's vote-extension policy at `height`.
    pub(crate) fn policy(&self, height: u64) -> Result<VoteExtensionPolicy, CheckpointError> {
        Ok(match self.range_at(height)? {
            Some(_) => VoteExtensionPolicy::Required,
            None => VoteExtensionPolicy::Disabled,
        })
    }

    fn set(&self, height: u64) -> Result<ValidatorSet, CheckpointError> {
        self.validators
            .validator_set(BlockHeight(height))
            .map_err(|source| CheckpointError::Set { height, source })
    }

    /// The checkpoint `[start, header.number]` with `header` the block ending it and the
    /// blocks before it read from `p`; `next` is the set after it when that differs.
    fn build<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        p: &Provider<K>,
        start: u64,
        header: &Header,
        next: Option<&ValidatorSet>,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let end = header.number;
        let mut leaves = Vec::with_capacity((end - start + 1) as usize);
        for number in start..end {
            let h =
                p.header(number)?.ok_or(CheckpointError::MissingBlock { number, start, end })?;
            leaves.push(bttc_checkpoint::leaf(&h));
        }
        leaves.push(bttc_checkpoint::leaf(header));
        let current = members(&self.set(end)?);
        let current_hash = bttc_checkpoint::set_hash(&current);
        let next_hash =
            next.map(|n| bttc_checkpoint::set_hash(&members(n))).unwrap_or(current_hash);
        let checkpoint = Checkpoint {
            chain_id: self.chain_id,
            start,
            end,
            root_hash: bttc_checkpoint::root_of_leaves(&leaves),
            current_set_hash: current_hash,
            next_set_hash: next_hash,
        };
        Ok(SignedCheckpoint::new(checkpoint, current))
    }

    /// The checkpoint the stored proposal `hash` at `height` would end, before it is
    /// committed; `None` when `height` ends no checkpoint or the block is not held here.
    pub(crate) fn for_value(
        &self,
        chain: &bttc_staking::NodeChain,
        height: u64,
        hash: B256,
    ) -> Result<Option<SignedCheckpoint>, CheckpointError> {
        if let Some((h, v, c)) = &*self.judged.lock()
            && (*h, *v) == (height, hash)
        {
            return Ok(Some(c.clone()));
        }
        let Some((start, epoch_end)) = self.range_at(height)? else { return Ok(None) };
        let rw = chain.db().rw()?;
        let Some(stored) = store::load_proposal(&rw, height, &hash)? else { return Ok(None) };
        let block = Block::decode(&mut stored.block_rlp.as_slice())
            .map_err(|e| CheckpointError::Block { height, source: Box::new(e) })?;
        let next = match (&self.epochs, epoch_end) {
            (Some(epochs), true) => {
                chain
                    .insert_block(&rw, &block)
                    .map_err(|e| CheckpointError::Block { height, source: Box::new(e) })?;
                epochs.elected_by(&rw, height).map_err(Box::new)?.map(|r| r.set)
            }
            _ => None,
        };
        let c = self.build(&rw, start, &block.header, next.as_ref())?;
        drop(rw); // abort: nothing of the block is committed here
        *self.judged.lock() = Some((height, hash, c.clone()));
        Ok(Some(c))
    }

    /// This node's signature over `c`, as the vote extension's bytes.
    pub(crate) fn sign(signer: &bttc_consensus::ConsensusSigner, c: &SignedCheckpoint) -> Vec<u8> {
        signer.sign_hash(&c.checkpoint.digest()).0.to_vec()
    }

    /// Whether `extension` is `validator`'s signature over `c`.
    pub(crate) fn check(
        c: &SignedCheckpoint,
        validator: &ValidatorAddress,
        extension: &[u8],
    ) -> Result<(), String> {
        match bttc_checkpoint::recover(extension, &c.checkpoint.digest()) {
            Some(a) if a == validator.0 => Ok(()),
            Some(a) => Err(format!(
                "checkpoint [{}, {}] signature recovers to {a}, not {validator}",
                c.checkpoint.start, c.checkpoint.end
            )),
            None => Err(format!(
                "checkpoint signature of {} bytes is not a 65-byte low-s signature",
                extension.len()
            )),
        }
    }

    /// Adds the valid ones of `extensions` to `c`; returns how many were added.
    fn add_extensions(c: &mut SignedCheckpoint, extensions: &[Extension]) -> usize {
        extensions
            .iter()
            .filter(|(a, e)| {
                let Ok(signature) = <[u8; 65]>::try_from(e.message.as_slice()) else {
                    return false;
                };
                c.add(CheckpointSignature {
                    signer: a.0,
                    signature,
                    extension_signature: e.signature.0,
                })
            })
            .count()
    }

    /// In the transaction committing block `block` (already inserted, with its epoch
    /// recorded): stores the checkpoint it ends with the valid signatures of `extensions`.
    pub(crate) fn record_at_commit(
        &self,
        rw: &Provider<bttc_storage::Rw>,
        block: &Header,
        extensions: &[Extension],
    ) -> Result<Option<SignedCheckpoint>, CheckpointError> {
        let height = block.number;
        let Some((start, epoch_end)) = self.range_at(height)? else { return Ok(None) };
        // The checkpoint computed when this node voted for the block, if it did: the same
        // range, block and sets, so it is not read and hashed again.
        let hash = block.hash_slow();
        let judged = self.judged.lock().take().filter(|(h, v, _)| (*h, *v) == (height, hash));
        let mut c = match judged {
            Some((_, _, c)) => c,
            None => {
                let next = match (&self.epochs, epoch_end) {
                    (Some(epochs), true) => {
                        epochs.elected_by(rw, height).map_err(Box::new)?.map(|r| r.set)
                    }
                    _ => None,
                };
                self.build(rw, start, block, next.as_ref())?
            }
        };
        if let Some(old) = rw.checkpoint(height)? {
            // A restart committing the height again: keep what was gathered.
            for s in SignedCheckpoint::decode(&old)?.signatures {
                c.add(s);
            }
        }
        Self::add_extensions(&mut c, extensions);
        rw.put_checkpoint(height, &c.encode())?;
        Ok(Some(c))
    }

    /// Adds late signatures (from `Finalized`) to the stored checkpoint of `height`.
    pub(crate) fn add_late(
        &self,
        db: &bttc_storage::DatabaseEnv,
        height: u64,
        extensions: &[Extension],
    ) -> Result<usize, CheckpointError> {
        let rw = db.rw()?;
        let Some(old) = rw.checkpoint(height)? else { return Ok(0) };
        let mut c = SignedCheckpoint::decode(&old)?;
        let added = Self::add_extensions(&mut c, extensions);
        if added > 0 {
            rw.put_checkpoint(height, &c.encode())?;
            rw.commit()?;
        }
        Ok(added)
    }

    /// The stored extensions of `height`, by validator (for value sync).
    pub(crate) fn stored_extensions<K: TransactionKind<Access = PtrUnsync>>(
        p: &Provider<K>,
        height: u64,
    ) -> Result<Option<Vec<Extension>>, CheckpointError> {
        let Some(b) = p.checkpoint(height)? else { return Ok(None) };
        let c = SignedCheckpoint::decode(&b)?;
        Ok(Some(
            c.signatures
                .iter()
                .map(|s| {
                    let ext = SignedExtension::<BttcContext>::new(
                        s.signature.to_vec(),
                        EthSignature(s.extension_signature),
                    );
                    (ValidatorAddress(s.signer), ext)
                })
                .collect(),
        ))
    }
}

/// The node's checkpoints for the submitters: the `Checkpoints` table.
#[derive(Debug)]
pub(crate) struct StoredCheckpoints {
    pub(crate) db: bttc_storage::DatabaseEnv,
}

impl bttc_checkpoint::CheckpointStore for StoredCheckpoints {
    fn starting_at(
        &self,
        start: u64,
    ) -> Result<Option<SignedCheckpoint>, bttc_checkpoint::StoreError> {
        let boxed = |e: Box<dyn std::error::Error + Send + Sync>| bttc_checkpoint::StoreError(e);
        let ro = self.db.ro().map_err(|e| boxed(Box::new(e)))?;
        let Some((_, b)) = ro.checkpoint_from(start).map_err(|e| boxed(Box::new(e)))? else {
            return Ok(None);
        };
        let c = SignedCheckpoint::decode(&b).map_err(|e| boxed(Box::new(e)))?;
        Ok((c.checkpoint.start == start).then_some(c))
    }
}
