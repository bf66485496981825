//! [`BttcContext`]: the Malachite `Context` over bttc's types.

use crate::{
    BlockHeight, BlockValue, Proposal, ProposalPart, ProposerSchedule, Secp256k1Scheme, Validator,
    ValidatorAddress, ValidatorSet, Vote,
};
use malachitebft_core_types::{self as mct, LinearTimeouts, NilOrVal, Round, VoteType};
use std::sync::Arc;

/// The consensus context of one chain.
#[derive(Clone, Debug)]
pub struct BttcContext {
    chain_id: u64,
    schedule: Arc<ProposerSchedule>,
}

impl BttcContext {
    /// The context of chain `chain_id`.
    pub fn new(chain_id: u64) -> Self {
        Self { chain_id, schedule: Arc::default() }
    }

    /// The chain id every signature is bound to.
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The priorities of `set` after `height` (round 0): what the next epoch's set inherits
    /// ([`crate::carry_priorities`]) when `height` ends this one.
    pub fn priorities_after(&self, set: &ValidatorSet, height: u64) -> Vec<i128> {
        self.schedule.priorities_after(set, height)
    }

    /// The proposer of `height` at `round` (a nil round counts as round 0).
    pub fn proposer<'a>(
        &self,
        set: &'a ValidatorSet,
        height: BlockHeight,
        round: Round,
    ) -> &'a Validator {
        let r = round.as_u32().unwrap_or(0) as u64;
        let index = self.schedule.proposer_index(set, height.0, r);
        &set.validators()[index]
    }
}

impl mct::Context for BttcContext {
    type Address = ValidatorAddress;
    type Height = BlockHeight;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockValue;
    type Vote = Vote;
    type Extension = Vec<u8>;
    type SigningScheme = Secp256k1Scheme;

    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: BlockHeight,
        round: Round,
    ) -> &'a Validator {
        self.proposer(validator_set, height, round)
    }

    fn new_proposal(
        &self,
        height: BlockHeight,
        round: Round,
        value: BlockValue,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> Proposal {
        Proposal { height, round, value, pol_round, proposer: address }
    }

    fn new_prevote(
        &self,
        height: BlockHeight,
        round: Round,
        value_id: NilOrVal<BlockValue>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: BlockHeight,
        round: Round,
        value_id: NilOrVal<BlockValue>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}
