//! The validator set of every height, from stake.
//!
//! `StakeManager` elects the set of epoch `e + 1` in `blockEnd` of epoch `e`'s last block. The
//! node reads it from that block's state ([`StakeValidators::record_epoch`], in the same
//! database transaction that commits the block, so a crash cannot separate the two) and
//! keeps one record per epoch in the `EpochSets` table: the first height, the members
//! (key and power, in set order) and the proposer priorities the epoch starts with, carried
//! over from the end of the epoch before ([`bttc_consensus::carry_priorities`]). Looking up
//! a height then costs a map lookup; no height ever needs a replay from genesis.
//!
//! Which heights are known: every height up to the head plus one (its set is fixed once its
//! parent is committed), and the rest of the current epoch as long as its last block has not
//! been reached (the set can only change after an epoch's last block). Anything later is
//! [`ValidatorSetError::UnknownHeight`]: the engine and the peer guard treat that as "not
//! judged yet", never as a peer's fault.
//!
//! A chain imported without consensus (`bttc import`) has no records: they are derived from
//! state on first use (and kept in memory), the same way.

use crate::{SetsError, view::stake_manager_view};
use alloy_primitives::Address;
use bttc_consensus::{
    BlockHeight, ProposerSchedule, Validator, ValidatorSet, ValidatorSetError,
    ValidatorSetProvider, carry_priorities,
};
use bttc_contracts::{STAKE_MANAGER, stake_manager::StakeManager as SM};
use bttc_storage::{DatabaseEnv, PtrUnsync, StateProvider, TransactionKind};
use k256::ecdsa::VerifyingKey;
use parking_lot::Mutex;
use std::{collections::BTreeMap, sync::Arc};
use tracing::info;

/// The set of one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochRecord {
    /// The epoch.
    pub epoch: u64,
    /// Its first height.
    pub start: u64,
    /// Its members, with the priorities the epoch starts from as the set's origin.
    pub set: ValidatorSet,
}

impl EpochRecord {
    const VERSION: u8 = 1;

    /// `version ‖ start ‖ origin ‖ n ‖ n × (pubkey 64 ‖ power 8 ‖ priority 16)`, big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let v = self.set.validators();
        let mut out = Vec::with_capacity(21 + v.len() * 88);
        out.push(Self::VERSION);
        out.extend_from_slice(&self.start.to_be_bytes());
        out.extend_from_slice(&self.set.origin().after.to_be_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        let prio = &self.set.origin().priorities;
        for (i, m) in v.iter().enumerate() {
            let point = m.public_key.to_encoded_point(false);
            out.extend_from_slice(&point.as_bytes()[1..]);
            out.extend_from_slice(&m.voting_power.to_be_bytes());
            out.extend_from_slice(&prio.get(i).copied().unwrap_or(0).to_be_bytes());
        }
        out
    }

    /// Decodes [`Self::encode`]'s bytes for `epoch`.
    pub fn decode(epoch: u64, b: &[u8]) -> Result<Self, SetsError> {
        let corrupt = |reason: String| SetsError::Corrupt { epoch, reason };
        if b.len() < 21 || b[0] != Self::VERSION {
            return Err(corrupt(format!("{} bytes, version {:?}", b.len(), b.first())));
        }
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let (start, after) = (u64_at(1), u64_at(9));
        let n = u32::from_be_bytes(b[17..21].try_into().expect("4 bytes")) as usize;
        if b.len() != 21 + n * 88 {
            return Err(corrupt(format!("{} bytes for {n} members", b.len())));
        }
        let (mut members, mut prio) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for m in b[21..].chunks_exact(88) {
            let mut sec1 = [4u8; 65];
            sec1[1..].copy_from_slice(&m[..64]);
            let key = VerifyingKey::from_sec1_bytes(&sec1)
                .map_err(|_| corrupt("a member key is not a curve point".into()))?;
            let power = u64::from_be_bytes(m[64..72].try_into().expect("8 bytes"));
            members.push(Validator::new(key, power));
            prio.push(i128::from_be_bytes(m[72..88].try_into().expect("16 bytes")));
        }
        let set = ValidatorSet::new(members)
            .and_then(|s| s.with_origin(after, prio))
            .map_err(|source| SetsError::Set { epoch, source })?;
        if set.validators().len() != n {
            return Err(corrupt("members out of set order or without power".into()));
        }
        Ok(Self { epoch, start, set })
    }
}

/// What the head's state says about the current epoch.
#[derive(Debug, Clone, Copy)]
struct HeadView {
    head: u64,
    epoch: u64,
    start: u64,
    /// The epoch's last block if its `blockEnd` runs normally.
    end: u64,
}

/// [`ValidatorSetProvider`] over the staking contract's elections (module docs).
#[derive(Debug)]
pub struct StakeValidators {
    db: DatabaseEnv,
    chain_id: u64,
    schedule: ProposerSchedule,
    epochs: Mutex<BTreeMap<u64, Arc<EpochRecord>>>,
    head: Mutex<Option<HeadView>>,
}

/// Sets kept in memory (the rest are a table read away).
const CACHED_EPOCHS: usize = 64;

impl StakeValidators {
    /// The provider for the chain in `db`, or `None` when it has no `StakeManager` (a chain
    /// whose set is the genesis list for ever).
    pub fn open(db: DatabaseEnv, chain_id: u64) -> Result<Option<Self>, SetsError> {
        let ro = db.ro()?;
        let deployed = ro
            .account(&STAKE_MANAGER)?
            .is_some_and(|a| a.code_hash != bttc_primitives::KECCAK_EMPTY);
        drop(ro);
        Ok(deployed.then(|| Self {
            db,
            chain_id,
            schedule: ProposerSchedule::default(),
            epochs: Mutex::default(),
            head: Mutex::default(),
        }))
    }

    /// After block `number` was inserted into `rw` (not yet committed): if its `blockEnd`
    /// started a new epoch, stores that epoch's set in the same transaction and returns it.
    pub fn record_epoch<K>(
        &self,
        rw: &bttc_storage::Provider<K>,
        number: u64,
    ) -> Result<Option<Arc<EpochRecord>>, SetsError>
    where
        K: TransactionKind<Access = PtrUnsync> + bttc_storage::WriteMarker,
    {
        let Some(record) = self.elected_by(rw, number)? else { return Ok(None) };
        if rw.epoch_set(record.epoch)?.is_some() {
            return Ok(None);
        }
        let (epoch, start) = (record.epoch, record.start);
        rw.put_epoch_set(epoch, &record.encode())?;
        let v = record.set.validators();
        info!(target: "bttc::staking", epoch, start, validators = v.len(), power = record.set.total_power(), "validator set of the next epoch recorded");
        let record = Arc::new(record);
        self.epochs.lock().insert(epoch, record.clone());
        Ok(Some(record))
    }

    /// If block `number`'s `blockEnd` started a new epoch, that epoch's record, read from the
    /// state after the block in `p` (which may be a transaction that executed the block
    /// and will be aborted: nothing is stored or cached).
    pub fn elected_by<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        p: &bttc_storage::Provider<K>,
        number: u64,
    ) -> Result<Option<EpochRecord>, SetsError> {
        let epoch = self.view(p, number, &SM::currentEpochCall {})?;
        let start = self.view(p, number, &SM::epochStartCall { epoch })?;
        if start != number + 1 {
            return Ok(None);
        }
        self.derive(p, number, epoch, start).map(Some)
    }

    /// The first and last block of the epoch `height` is in, for a height up to the current
    /// epoch's last block (the next height's epoch is always known).
    pub fn epoch_bounds(&self, height: u64) -> Result<bttc_checkpoint::EpochBounds, SetsError> {
        let ro = self.db.ro()?;
        let head = self.head_view_for(&ro, height)?;
        if height >= head.start {
            return Ok(bttc_checkpoint::EpochBounds { first: head.start, last: head.end });
        }
        let epoch = self.view(&ro, head.head, &SM::epochOfCall { height })?;
        let first = self.view(&ro, head.head, &SM::epochStartCall { epoch })?;
        let next = self.view(&ro, head.head, &SM::epochStartCall { epoch: epoch + 1 })?;
        Ok(bttc_checkpoint::EpochBounds { first, last: next.saturating_sub(1) })
    }

    /// The record of `epoch`: memory, the table, or derived from the state after `block`
    /// (a block at or after the epoch's election).
    fn record<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        p: &bttc_storage::Provider<K>,
        block: u64,
        epoch: u64,
    ) -> Result<Arc<EpochRecord>, SetsError> {
        if let Some(r) = self.epochs.lock().get(&epoch) {
            return Ok(r.clone());
        }
        let record = match p.epoch_set(epoch)? {
            Some(b) => EpochRecord::decode(epoch, &b)?,
            None => {
                let start = self.view(p, block, &SM::epochStartCall { epoch })?;
                self.derive(p, block, epoch, start)?
            }
        };
        let record = Arc::new(record);
        let mut epochs = self.epochs.lock();
        if epochs.len() >= CACHED_EPOCHS {
            let oldest = *epochs.keys().next().expect("not empty");
            epochs.remove(&oldest);
        }
        epochs.insert(epoch, record.clone());
        Ok(record)
    }

    /// Builds epoch `epoch`'s record from the state after `block`, its priorities carried
    /// from the previous epoch's record.
    fn derive<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        p: &bttc_storage::Provider<K>,
        block: u64,
        epoch: u64,
        start: u64,
    ) -> Result<EpochRecord, SetsError> {
        let members = self.view(p, block, &SM::epochSetCall { epoch })?;
        let mut set = Vec::with_capacity(members.len());
        for m in &members {
            let key = (m.pubkey.len() == 64)
                .then(|| {
                    let mut sec1 = [4u8; 65];
                    sec1[1..].copy_from_slice(&m.pubkey);
                    VerifyingKey::from_sec1_bytes(&sec1).ok()
                })
                .flatten()
                .ok_or(SetsError::PublicKey { epoch, signer: m.signer, len: m.pubkey.len() })?;
            set.push(Validator::new(key, m.power));
        }
        let set = ValidatorSet::new(set).map_err(|source| SetsError::Set { epoch, source })?;
        let set = if epoch == 0 {
            set
        } else {
            // Iteratively, so a chain with many unrecorded epochs does not recurse deeply.
            let prev = self.record_iter(p, block, epoch - 1)?;
            let end = self.schedule.priorities_after(&prev.set, start - 1);
            let start_prio = carry_priorities(&prev.set, &end, &set);
            set.with_origin(start - 1, start_prio)
                .map_err(|source| SetsError::Set { epoch, source })?
        };
        Ok(EpochRecord { epoch, start, set })
    }

    /// [`Self::record`] of `epoch`, deriving any missing earlier records oldest first.
    fn record_iter<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        p: &bttc_storage::Provider<K>,
        block: u64,
        epoch: u64,
    ) -> Result<Arc<EpochRecord>, SetsError> {
        let mut first = epoch;
        while first > 0 && !self.epochs.lock().contains_key(&first) && p.epoch_set(first)?.is_none()
        {
            first -= 1;
        }
        let mut last = self.record(p, block, first)?;
        for e in first + 1..=epoch {
            last = self.record(p, block, e)?;
        }
        Ok(last)
    }

    fn view<C: alloy_sol_types::SolCall, K: TransactionKind<Access = PtrUnsync>>(
        &self,
        p: &bttc_storage::Provider<K>,
        block: u64,
        call: &C,
    ) -> Result<C::Return, SetsError> {
        stake_manager_view(self.chain_id, p, block, call)
    }

    fn head_view<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        p: &bttc_storage::Provider<K>,
    ) -> Result<HeadView, SetsError> {
        let head = p.head_header()?.0.number;
        if let Some(v) = *self.head.lock()
            && v.head == head
        {
            return Ok(v);
        }
        let epoch = self.view(p, head, &SM::currentEpochCall {})?;
        let start = self.view(p, head, &SM::epochStartCall { epoch })?;
        let len = self.view(p, head, &SM::paramsCall {})?.epochLength;
        let view = HeadView { head, epoch, start, end: (start + len.max(1) - 1).max(head + 1) };
        *self.head.lock() = Some(view);
        Ok(view)
    }

    /// [`Self::head_view`], refusing a `height` beyond the current epoch (`UnknownHeight`).
    fn head_view_for<K: TransactionKind<Access = PtrUnsync>>(
        &self,
        p: &bttc_storage::Provider<K>,
        height: u64,
    ) -> Result<HeadView, SetsError> {
        let head = self.head_view(p)?;
        if height > head.end {
            return Err(SetsError::Set {
                epoch: head.epoch,
                source: ValidatorSetError::UnknownHeight { height, known_up_to: head.end },
            });
        }
        Ok(head)
    }

    fn lookup(&self, height: u64) -> Result<ValidatorSet, SetsError> {
        let ro = self.db.ro()?;
        let head = self.head_view_for(&ro, height)?;
        let epoch = if height >= head.start {
            head.epoch
        } else {
            let before = self.record(&ro, head.head, head.epoch - 1)?;
            if height >= before.start {
                before.epoch
            } else {
                self.view(&ro, head.head, &SM::epochOfCall { height })?
            }
        };
        Ok(self.record(&ro, head.head, epoch)?.set.clone())
    }
}

impl ValidatorSetProvider for StakeValidators {
    fn validator_set(&self, height: BlockHeight) -> Result<ValidatorSet, ValidatorSetError> {
        self.lookup(height.0).map_err(|e| match e {
            SetsError::Set { source: e @ ValidatorSetError::UnknownHeight { .. }, .. } => e,
            other => ValidatorSetError::Source { height: height.0, reason: error_chain(&other) },
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The signer addresses of a set, in set order (bit *i* of a signer bitmap is member *i*).
pub fn signers(set: &ValidatorSet) -> Vec<Address> {
    set.validators().iter().map(|v| v.address.0).collect()
}
