//! Validators and validator sets, and stake-weighted round-robin proposer selection
//! (Tendermint's proposer priority).

use crate::{BttcContext, ValidatorAddress, address_of};
use alloy_primitives::{B256, keccak256};
use k256::ecdsa::VerifyingKey;
use malachitebft_core_types::{self as mct, VotingPower};
use parking_lot::Mutex;
use std::{collections::BTreeMap, sync::Arc};

/// A validator: its key, address and voting power (stake in whole BTT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Address (derived from the key).
    pub address: ValidatorAddress,
    /// secp256k1 public key.
    pub public_key: VerifyingKey,
    /// Voting power.
    pub voting_power: VotingPower,
}

impl Validator {
    /// A validator with `public_key` and `voting_power`; the address is derived from the key.
    pub fn new(public_key: VerifyingKey, voting_power: VotingPower) -> Self {
        Self { address: ValidatorAddress(address_of(&public_key)), public_key, voting_power }
    }
}

impl mct::Validator<BttcContext> for Validator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }
    fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }
    fn voting_power(&self) -> VotingPower {
        self.voting_power
    }
}

/// A validator set could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// No validator with power.
    #[error("the validator set is empty (no validator with voting power)")]
    Empty,
    /// The same address twice.
    #[error("validator {0} appears twice")]
    Duplicate(ValidatorAddress),
    /// `3 × total` must fit in a u64 (the engine's quorum arithmetic).
    #[error("total voting power {total} is too large: 3 × total must fit in a u64")]
    PowerOverflow {
        /// The total.
        total: u128,
    },
    /// Starting priorities that do not match the set.
    #[error("{got} proposer priorities for a set of {expected} validators")]
    Priorities {
        /// Priorities given.
        got: usize,
        /// Validators in the set.
        expected: usize,
    },
    /// The set of a height is not known (yet): its epoch has not been elected in the chain
    /// this node holds.
    #[error("no validator set known for height {height} (known up to {known_up_to})")]
    UnknownHeight {
        /// The height asked for.
        height: u64,
        /// The last height whose set is known.
        known_up_to: u64,
    },
    /// The sets could not be read from the chain.
    #[error("cannot read the validator set of height {height}: {reason}")]
    Source {
        /// The height asked for.
        height: u64,
        /// Why.
        reason: String,
    },
    /// A genesis validator's public key is not a secp256k1 key.
    #[error("validator {0}: public key is not a valid secp256k1 key")]
    PublicKey(alloy_primitives::Address),
    /// A genesis validator's address is not its key's.
    #[error("validator {listed}: address does not match its public key (derived {derived})")]
    AddressMismatch {
        /// The address listed.
        listed: alloy_primitives::Address,
        /// The key's address.
        derived: alloy_primitives::Address,
    },
}

/// The validators of a height, sorted by power (descending) then address (ascending); those
/// without power are left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Arc<[Validator]>,
    total: VotingPower,
    id: B256,
    origin: ScheduleOrigin,
}

/// Where a set's proposer sequence starts: the priorities it has after height `after` (its
/// first height is `after + 1`). A set that runs from genesis starts at height 0 with every
/// priority zero; an epoch's set starts with the priorities carried over from the set before
/// it ([`carry_priorities`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ScheduleOrigin {
    /// The height before the set's first.
    pub after: u64,
    /// One priority per validator, in set order; empty means all zero.
    pub priorities: Arc<[i128]>,
}

impl ValidatorSet {
    /// Builds a set; validators with zero power are dropped.
    pub fn new(validators: impl IntoIterator<Item = Validator>) -> Result<Self, ValidatorSetError> {
        let mut v: Vec<Validator> = validators.into_iter().filter(|v| v.voting_power > 0).collect();
        if v.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        v.sort_by(|a, b| b.voting_power.cmp(&a.voting_power).then(a.address.cmp(&b.address)));
        let mut seen = std::collections::HashSet::new();
        for x in &v {
            if !seen.insert(x.address) {
                return Err(ValidatorSetError::Duplicate(x.address));
            }
        }
        let total: u128 = v.iter().map(|x| x.voting_power as u128).sum();
        if total * 3 > u64::MAX as u128 {
            return Err(ValidatorSetError::PowerOverflow { total });
        }
        let mut buf = Vec::with_capacity(v.len() * 28);
        for x in &v {
            buf.extend_from_slice(x.address.0.as_slice());
            buf.extend_from_slice(&x.voting_power.to_be_bytes());
        }
        Ok(Self {
            validators: v.into(),
            total: total as u64,
            id: keccak256(&buf),
            origin: ScheduleOrigin::default(),
        })
    }

    /// The same set with its proposer sequence starting after height `after` with
    /// `priorities` (one per validator in set order, or none for all zero).
    pub fn with_origin(
        mut self,
        after: u64,
        priorities: Vec<i128>,
    ) -> Result<Self, ValidatorSetError> {
        if !priorities.is_empty() && priorities.len() != self.validators.len() {
            return Err(ValidatorSetError::Priorities {
                got: priorities.len(),
                expected: self.validators.len(),
            });
        }
        self.origin = ScheduleOrigin { after, priorities: priorities.into() };
        Ok(self)
    }

    /// Where its proposer sequence starts.
    pub const fn origin(&self) -> &ScheduleOrigin {
        &self.origin
    }

    /// The total voting power.
    pub const fn total_power(&self) -> VotingPower {
        self.total
    }

    /// The validators, in set order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// A hash of the addresses and powers: equal sets have equal ids.
    pub const fn id(&self) -> B256 {
        self.id
    }

    /// Whether `address` is in the set.
    pub fn contains(&self, address: &ValidatorAddress) -> bool {
        self.validators.iter().any(|v| &v.address == address)
    }

    /// The power needed for a quorum: more than two thirds of the total.
    pub const fn quorum(&self) -> VotingPower {
        self.total * 2 / 3 + 1
    }
}

impl mct::ValidatorSet<BttcContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }
    fn total_voting_power(&self) -> VotingPower {
        self.total
    }
    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&Validator> {
        self.validators.iter().find(|v| &v.address == address)
    }
    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

/// Tendermint's weighted round robin: at every step each validator's priority grows by its
/// power, the highest priority proposes (ties to the earlier validator in set order) and pays
/// back the total power. Height `h`, round `r` of a set whose sequence starts after height `o`
/// ([`ScheduleOrigin`]) is step `h + r - o`, so the rounds of one height continue the sequence
/// and every validator proposes in proportion to its power.
///
/// Priorities are cached per set and origin (the latest step and a checkpoint every
/// [`CHECKPOINT_EVERY`] steps) so that consecutive heights cost O(validators) and any earlier
/// step is cheap to replay. A set elected for an epoch starts from the priorities the previous
/// epoch ended with, so no height needs a replay from genesis.
#[derive(Debug, Default)]
pub struct ProposerSchedule {
    inner: Mutex<BTreeMap<(B256, u64), ScheduleState>>,
}

/// Distance between cached checkpoints of the priority sequence.
pub const CHECKPOINT_EVERY: u64 = 4096;

#[derive(Debug, Default)]
struct ScheduleState {
    /// step -> priorities after that step (and the proposer chosen at it).
    checkpoints: BTreeMap<u64, (Vec<i128>, usize)>,
    latest: Option<(u64, Vec<i128>, usize)>,
}

impl ProposerSchedule {
    /// The index (in set order) of the proposer at `height` plus `round` steps.
    pub fn proposer_index(&self, set: &ValidatorSet, height: u64, round: u64) -> usize {
        let step = height.saturating_add(round).saturating_sub(set.origin.after).max(1);
        self.run_to(set, step).1
    }

    /// The priorities after `height`, round 0 (what the next set inherits when `height` is
    /// the last of this set's epoch).
    pub fn priorities_after(&self, set: &ValidatorSet, height: u64) -> Vec<i128> {
        let step = height.saturating_sub(set.origin.after);
        if step == 0 {
            return start_priorities(set);
        }
        self.run_to(set, step).0
    }

    fn run_to(&self, set: &ValidatorSet, step: u64) -> (Vec<i128>, usize) {
        let mut all = self.inner.lock();
        let key = (set.id, set.origin.after);
        if all.len() > 16 && !all.contains_key(&key) {
            all.clear(); // old validator sets: drop their caches
        }
        let state = all.entry(key).or_default();
        let (mut at, mut prio, mut chosen) = match &state.latest {
            Some((s, p, c)) if *s <= step => (*s, p.clone(), *c),
            _ => match state.checkpoints.range(..=step).next_back() {
                Some((s, (p, c))) => (*s, p.clone(), *c),
                None => (0, start_priorities(set), 0),
            },
        };
        let total = set.total as i128;
        while at < step {
            let mut best = 0;
            for (i, v) in set.validators.iter().enumerate() {
                prio[i] += v.voting_power as i128;
                if prio[i] > prio[best] {
                    best = i;
                }
            }
            prio[best] -= total;
            chosen = best;
            at += 1;
            if at % CHECKPOINT_EVERY == 0 {
                state.checkpoints.insert(at, (prio.clone(), chosen));
            }
        }
        state.latest = Some((at, prio.clone(), chosen));
        (prio, chosen)
    }
}

fn start_priorities(set: &ValidatorSet) -> Vec<i128> {
    if set.origin.priorities.is_empty() {
        vec![0; set.validators.len()]
    } else {
        set.origin.priorities.to_vec()
    }
}

/// The starting priorities of `next` when it follows `prev`, whose priorities at its end were
/// `prev_end` (Tendermint's update rule): a validator in both keeps its priority, a newcomer
/// starts at −1.125 × the new total power (so joining does not mean proposing at once), then
/// the spread is scaled down to at most twice the total power and the priorities are centred
/// on zero. Integer arithmetic, the same on every node.
pub fn carry_priorities(prev: &ValidatorSet, prev_end: &[i128], next: &ValidatorSet) -> Vec<i128> {
    let total = next.total as i128;
    let mut p: Vec<i128> = next
        .validators
        .iter()
        .map(|v| {
            prev.validators
                .iter()
                .position(|w| w.address == v.address)
                .and_then(|i| prev_end.get(i).copied())
                .unwrap_or(-(total + total / 8))
        })
        .collect();
    let (min, max) = p.iter().fold((i128::MAX, i128::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let spread = max - min;
    let limit = 2 * total;
    if spread > limit {
        let ratio = (spread + limit - 1) / limit;
        for x in &mut p {
            *x /= ratio;
        }
    }
    let avg = p.iter().sum::<i128>().div_euclid(p.len() as i128);
    for x in &mut p {
        *x -= avg;
    }
    p
}

/// Where the validator set of a height comes from. Genesis supplies it for now
/// ([`StaticValidators`]); the staking contract will supply it per epoch through this same
/// seam, without the engine or the driver changing.
pub trait ValidatorSetProvider: Send + Sync + std::fmt::Debug {
    /// The validator set that decides `height`.
    fn validator_set(&self, height: crate::BlockHeight) -> Result<ValidatorSet, ValidatorSetError>;
}

/// The same validator set at every height.
#[derive(Debug, Clone)]
pub struct StaticValidators(pub ValidatorSet);

impl ValidatorSetProvider for StaticValidators {
    fn validator_set(
        &self,
        _height: crate::BlockHeight,
    ) -> Result<ValidatorSet, ValidatorSetError> {
        Ok(self.0.clone())
    }
}

impl StaticValidators {
    /// The genesis validators of a bttc chain spec (`config.bttc.validators`).
    pub fn from_genesis(
        validators: &[bttc_chainspec::GenesisValidator],
    ) -> Result<Self, ValidatorSetError> {
        let mut set = Vec::with_capacity(validators.len());
        for v in validators {
            let key = VerifyingKey::from_sec1_bytes(&v.public_key)
                .map_err(|_| ValidatorSetError::PublicKey(v.address))?;
            let derived = address_of(&key);
            if derived != v.address {
                return Err(ValidatorSetError::AddressMismatch { listed: v.address, derived });
            }
            set.push(Validator::new(key, v.stake));
        }
        ValidatorSet::new(set).map(Self)
    }
}
