//! Double-sign evidence the consensus engine reports, turned into `StakeManager` calls that a
//! block carries and every node runs as system calls.
//!
//! Malachite hands the driver, in `Finalized`, every pair of conflicting votes or proposals it
//! saw signed by one validator. The driver queues them as ABI-encoded `submitDoubleSign` /
//! `submitDoubleProposal` calldata ([`double_vote_call`], [`double_proposal_call`]); the next
//! proposer puts up to [`MAX_EVIDENCE_PER_BLOCK`] of them in its block's LastCommit
//! (`bttc_primitives::LastCommit::evidence`); every node runs each one as a system call
//! before `blockEnd` ([`crate::StakingHooks`]). The contract verifies the signatures, slashes
//! and tombstones; evidence it refuses (already punished, too old) reverts and changes
//! nothing. When the system reports, no reporter reward is paid (the slash is burned), so
//! an outside reporter still has its incentive to be first.

use alloy_primitives::{Address, Bytes};
use alloy_sol_types::SolCall;
use bttc_consensus::{
    BttcContext, Proposal, Vote,
    core_types::{NilOrVal, Round, SignedMessage, VoteType},
};
use bttc_contracts::stake_manager::StakeManager as SM;

/// At most this many evidence calls in one block.
pub const MAX_EVIDENCE_PER_BLOCK: usize = bttc_primitives::MAX_EVIDENCE_PER_BLOCK;

fn round(r: Round) -> i64 {
    r.as_i64()
}

fn vote(v: &SignedMessage<BttcContext, Vote>) -> SM::Vote {
    let (value, nil) = match &v.message.value {
        NilOrVal::Val(b) => (b.0, false),
        NilOrVal::Nil => (Default::default(), true),
    };
    SM::Vote {
        voteType: match v.message.vote_type {
            VoteType::Prevote => 1,
            VoteType::Precommit => 2,
        },
        height: v.message.height.0,
        round: round(v.message.round),
        value,
        nil,
        signature: Bytes::copy_from_slice(&v.signature.0),
    }
}

fn proposal(p: &SignedMessage<BttcContext, Proposal>) -> SM::Proposal {
    SM::Proposal {
        height: p.message.height.0,
        round: round(p.message.round),
        value: p.message.value.0,
        polRound: round(p.message.pol_round),
        signature: Bytes::copy_from_slice(&p.signature.0),
    }
}

/// `submitDoubleSign(signer, a, b)` calldata for two conflicting votes of `signer`.
pub fn double_vote_call(
    signer: Address,
    a: &SignedMessage<BttcContext, Vote>,
    b: &SignedMessage<BttcContext, Vote>,
) -> Bytes {
    SM::submitDoubleSignCall { signer, a: vote(a), b: vote(b) }.abi_encode().into()
}

/// `submitDoubleProposal(signer, a, b)` calldata for two conflicting proposals of `signer`.
pub fn double_proposal_call(
    signer: Address,
    a: &SignedMessage<BttcContext, Proposal>,
    b: &SignedMessage<BttcContext, Proposal>,
) -> Bytes {
    SM::submitDoubleProposalCall { signer, a: proposal(a), b: proposal(b) }.abi_encode().into()
}

/// The height an evidence call is about, if `data` is one (`submitDoubleSign` or
/// `submitDoubleProposal` that decodes); anything else is not evidence and must not run.
pub fn evidence_height(data: &[u8]) -> Option<u64> {
    if let Ok(c) = SM::submitDoubleSignCall::abi_decode(data) {
        return Some(c.a.height);
    }
    SM::submitDoubleProposalCall::abi_decode(data).ok().map(|c| c.a.height)
}
