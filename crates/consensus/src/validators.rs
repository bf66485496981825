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
        Ok(Self { validators: v.into(), total: total as u64, id: keccak256(&buf) })
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
/// back the total power. Height `h`, round `r` is step `h + r`, so the rounds of one height
/// continue the sequence and every validator proposes in proportion to its power.
///
/// Priorities are cached (the latest step and a checkpoint every [`CHECKPOINT_EVERY`] steps)
/// so that consecutive heights cost O(validators) and any earlier step is cheap to replay.
#[derive(Debug, Default)]
pub struct ProposerSchedule {
    inner: Mutex<BTreeMap<B256, ScheduleState>>,
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
    /// The index (in set order) of the proposer at `step` (≥ 1).
    pub fn proposer_index(&self, set: &ValidatorSet, step: u64) -> usize {
        let step = step.max(1);
        let mut all = self.inner.lock();
        if all.len() > 16 && !all.contains_key(&set.id) {
            all.clear(); // old validator sets: drop their caches
        }
        let state = all.entry(set.id).or_default();
        let (mut at, mut prio, mut chosen) = match &state.latest {
            Some((s, p, c)) if *s <= step => (*s, p.clone(), *c),
            _ => match state.checkpoints.range(..=step).next_back() {
                Some((s, (p, c))) => (*s, p.clone(), *c),
                None => (0, vec![0i128; set.validators.len()], 0),
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
        state.latest = Some((at, prio, chosen));
        chosen
    }
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
