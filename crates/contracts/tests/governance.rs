//! `Governance`: stake-weighted votes on StakeManager's parameters, run in the node's EVM on
//! the genesis the node makes (`staking_alloc`).

mod support;

use alloy_primitives::{Address, Bytes, U256};
use bttc_chainspec::{BttcParams, GenesisValidator};
use bttc_contracts::{
    GOVERNANCE, STAKE_MANAGER,
    governance::Governance::{self as G, StakingParams},
    stake_manager::StakeManager as SM,
    staking_alloc,
};
use support::*;

const YES: u8 = 1;
const NO: u8 = 2;
const VETO: u8 = 3;
const ABSTAIN: u8 = 4;

struct Gov {
    chain: Chain,
    ops: [Address; 3],
    proposer: Address,
}

fn gv(keys: &Keys, stake: u64) -> GenesisValidator {
    GenesisValidator {
        address: keys.signer(),
        public_key: Bytes::copy_from_slice(
            keys.consensus.verifying_key().to_encoded_point(true).as_bytes(),
        ),
        stake,
        operator: Some(keys.operator),
    }
}

/// Validators of 3,000, 2,000 and 1,000 BTT (6,000 bonded), and a funded proposer.
fn setup() -> Gov {
    let (a, b, c) = (Keys::new(1), Keys::new(2), Keys::new(3));
    let bttc = BttcParams {
        validators: vec![gv(&a, 3_000), gv(&b, 2_000), gv(&c, 1_000)],
        ..BttcParams::devnet()
    };
    let mut chain = Chain::from_alloc(staking_alloc(CHAIN_ID, &bttc).unwrap());
    let proposer = Address::repeat_byte(0x70);
    chain.fund(proposer, btt(5_000));
    Gov { chain, ops: [a.operator, b.operator, c.operator], proposer }
}

fn current_params(chain: &mut Chain) -> StakingParams {
    chain.view(SM::paramsCall {}).into()
}

impl Gov {
    fn propose(&mut self, p: StakingParams) -> U256 {
        let call = G::proposeCall { p, description: "raise issuance to 13%".into() };
        self.chain.send_to(self.proposer, GOVERNANCE, call, btt(1_000)).unwrap()
    }

    fn vote(&mut self, who: Address, id: U256, option: u8) -> Result<(), Failed> {
        self.chain.send_to(who, GOVERNANCE, G::voteCall { id, option }, U256::ZERO).map(|_| ())
    }

    fn close_voting(&mut self) {
        self.chain.number += 257;
    }

    fn finalize(&mut self, id: U256) -> Result<u8, Failed> {
        self.chain.send_to(
            Address::repeat_byte(0x55),
            GOVERNANCE,
            G::finalizeCall { id },
            U256::ZERO,
        )
    }

    fn tally(&mut self, id: U256) -> G::Tally {
        self.chain.send_to(Address::ZERO, GOVERNANCE, G::getTallyCall { id }, U256::ZERO).unwrap()
    }
}

#[test]
fn a_proposal_the_validators_pass_changes_issuance_from_the_next_epoch() {
    let mut g = setup();
    let mut p = current_params(&mut g.chain);
    p.stakingApyBps = 1_300;
    let id = g.propose(p);
    g.vote(g.ops[0], id, YES).unwrap();
    g.vote(g.ops[1], id, YES).unwrap();
    // Too early to count.
    assert!(g.finalize(id).failed().reason.contains("VotingOpen"));
    g.close_voting();
    assert!(g.vote(g.ops[2], id, NO).failed().reason.contains("VotingClosed"));
    let before = g.chain.balance(g.proposer);
    assert_eq!(g.finalize(id).unwrap(), 2, "Passed");
    assert_eq!(g.chain.balance(g.proposer), before + btt(1_000), "deposit refunded");
    let t = g.tally(id);
    assert_eq!((t.yes, t.no, t.bonded), (btt(5_000), U256::ZERO, btt(6_000)));
    assert!(g.finalize(id).failed().reason.contains("AlreadyFinalized"));
    // StakeManager applies it at its next epoch boundary, not before.
    let (pending, _) = g.chain.view(SM::scheduledParamsCall {}).into();
    assert!(pending);
    let old = btt(6_000) * U256::from(650) / U256::from(10_000) / U256::from(31_536_000u64);
    assert_eq!(
        g.chain.next_block(U256::ZERO).unwrap(),
        old,
        "the block that crosses the epoch end still mints at the old rate"
    );
    let new = btt(6_000) * U256::from(1_300) / U256::from(10_000) / U256::from(31_536_000u64);
    assert_eq!(g.chain.next_block(U256::ZERO).unwrap(), new, "the next epoch mints at 13%");
}

#[test]
fn a_proposal_without_quorum_fails_and_burns_its_deposit() {
    let mut g = setup();
    let mut p = current_params(&mut g.chain);
    p.stakingApyBps = 1_300;
    let id = g.propose(p);
    g.vote(g.ops[2], id, YES).unwrap(); // 1,000 of 6,000: under a third
    g.close_voting();
    let before = g.chain.balance(g.proposer);
    assert_eq!(g.finalize(id).unwrap(), 4, "RejectedBurned");
    assert_eq!(g.chain.balance(g.proposer), before, "deposit kept");
    let burned =
        g.chain.send_to(Address::ZERO, GOVERNANCE, G::totalBurnedCall {}, U256::ZERO).unwrap();
    assert_eq!(burned, btt(1_000));
    let (pending, _) = g.chain.view(SM::scheduledParamsCall {}).into();
    assert!(!pending, "nothing scheduled");
}

#[test]
fn delegators_override_their_validator_and_a_veto_burns() {
    let mut g = setup();
    let d = Address::repeat_byte(0xd1);
    g.chain.fund(d, btt(2_500));
    g.chain.ok(d, SM::delegateCall { id: 1 }, btt(2_500));
    let p = current_params(&mut g.chain);
    let id = g.propose(p.clone());
    g.vote(g.ops[0], id, YES).unwrap(); // pool of 5,500, less the delegator's 2,500
    g.vote(d, id, NO).unwrap();
    g.vote(g.ops[1], id, NO).unwrap();
    g.vote(g.ops[2], id, ABSTAIN).unwrap();
    g.close_voting();
    assert_eq!(g.finalize(id).unwrap(), 3, "Rejected: 3,000 yes of 7,500");
    let t = g.tally(id);
    assert_eq!((t.yes, t.no, t.abstain), (btt(3_000), btt(4_500), btt(1_000)));

    // A veto of over a third of the votes rejects and burns.
    let id = g.propose(p);
    g.vote(g.ops[1], id, VETO).unwrap(); // 2,000
    g.vote(g.ops[2], id, YES).unwrap(); // 1,000
    g.vote(d, id, YES).unwrap(); // 2,500, its validator silent
    g.close_voting();
    assert_eq!(g.finalize(id).unwrap(), 4, "RejectedBurned: 2,000 NoWithVeto of 5,500 cast");
    let t = g.tally(id);
    assert_eq!((t.yes, t.veto, t.bonded), (btt(3_500), btt(2_000), btt(8_500)));
}

#[test]
fn votes_need_stake_and_bad_parameters_fail_without_harm() {
    let mut g = setup();
    let mut p = current_params(&mut g.chain);
    let nobody = Address::repeat_byte(0x0f);
    let id0 = g.propose(p.clone());
    assert!(g.vote(nobody, id0, YES).failed().reason.contains("NoStake"));
    assert!(g.vote(g.ops[0], id0, 0).failed().reason.contains("BadOption"));
    let low = g.chain.send_to(
        g.proposer,
        GOVERNANCE,
        G::proposeCall { p: p.clone(), description: String::new() },
        btt(999),
    );
    assert!(low.failed().reason.contains("DepositTooLow"));
    // Passed, but StakeManager refuses an epoch length of 0: Failed, deposit back.
    p.epochLength = 0;
    let id = g.propose(p);
    g.vote(g.ops[0], id, YES).unwrap();
    g.vote(g.ops[1], id, YES).unwrap();
    g.close_voting();
    let before = g.chain.balance(g.proposer);
    assert_eq!(g.finalize(id).unwrap(), 5, "Failed");
    assert_eq!(g.chain.balance(g.proposer), before + btt(1_000));
    let (pending, _) = g.chain.view(SM::scheduledParamsCall {}).into();
    assert!(!pending);
    assert_eq!(g.chain.balance(STAKE_MANAGER), btt(6_000));
}

#[test]
fn the_voting_period_comes_from_the_genesis() {
    for (configured, expected) in [(16u64, 16u64), (0, 256), (256, 256)] {
        let (a, b, c) = (Keys::new(1), Keys::new(2), Keys::new(3));
        let bttc = BttcParams {
            validators: vec![gv(&a, 3_000), gv(&b, 2_000), gv(&c, 1_000)],
            governance_voting_period: configured,
            ..BttcParams::devnet()
        };
        let mut chain = Chain::from_alloc(staking_alloc(CHAIN_ID, &bttc).unwrap());
        let period =
            chain.send_to(Address::ZERO, GOVERNANCE, G::votingPeriodCall {}, U256::ZERO).unwrap();
        assert_eq!(period, expected, "configured {configured}");
        let proposer = Address::repeat_byte(0x70);
        chain.fund(proposer, btt(5_000));
        let mut g = Gov { chain, ops: [a.operator, b.operator, c.operator], proposer };
        let p = current_params(&mut g.chain);
        let id = g.propose(p);
        g.chain.number += expected;
        g.vote(g.ops[0], id, YES).unwrap();
        g.chain.number += 1;
        assert!(g.vote(g.ops[1], id, YES).failed().reason.contains("VotingClosed"));
    }
}
