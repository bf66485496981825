//! `StakeManager` run in the node's EVM: genesis, validators, delegation, unbonding, rewards
//! to the wei, downtime and double-sign slashing, election.

mod support;

use alloy_primitives::{Address, B256, U256};
use bttc_consensus::{BlockHeight, BlockValue, ValidatorAddress, vote_signing_hash};
use bttc_contracts::{STAKE_MANAGER, stake_manager::StakeManager as SM};
use malachitebft_core_types::{NilOrVal, Round, VoteType};
use support::*;

fn three() -> (Keys, Keys, Keys) {
    (Keys::new(1), Keys::new(2), Keys::new(3))
}

fn chain3() -> (Chain, Keys, Keys, Keys) {
    let (a, b, c) = three();
    let chain = Chain::new(
        devnet_params(),
        &[(a.clone(), btt(3_000), 500), (b.clone(), btt(2_000), 1_000), (c.clone(), btt(1_000), 0)],
    );
    (chain, a, b, c)
}

#[test]
fn genesis_registers_the_validators_and_elects_epoch_zero() {
    let (mut chain, a, b, c) = chain3();
    let code = chain.db.cache.accounts[&STAKE_MANAGER].info.code.clone().unwrap();
    assert_eq!(
        code.original_bytes(),
        SM::DEPLOYED_BYTECODE,
        "genesis code is the artifact's runtime code"
    );
    let set = chain.current_set();
    let signers: Vec<Address> = set.iter().map(|m| m.signer).collect();
    assert_eq!(signers, vec![a.signer(), b.signer(), c.signer()], "ordered by power");
    let powers: Vec<u64> = set.iter().map(|m| m.power).collect();
    assert_eq!(powers, vec![3_000, 2_000, 1_000]);
    assert_eq!(set[0].pubkey, a.pubkey());
    assert_eq!(set[0].operator, a.operator);
    assert_eq!(chain.view(SM::totalBondedCall {}), btt(6_000));
    assert_eq!(chain.balance(STAKE_MANAGER), btt(6_000));
    assert_eq!(chain.surplus(), U256::ZERO);
}

#[test]
fn genesis_refuses_bad_parameters_and_validators() {
    let a = Keys::new(1);
    let mut p = devnet_params();
    p.unbondingEpochs = 1; // 64 blocks, under evidenceMaxAge 128
    let err = bttc_contracts::stake_manager_account(
        CHAIN_ID,
        &p,
        &[bttc_contracts::GenesisStaker {
            operator: a.operator,
            pubkey: a.pubkey(),
            stake: btt(1_000),
            commission_bps: 0,
        }],
    )
    .failed();
    assert!(err.to_string().contains("unbonding must outlast evidenceMaxAge"), "{err}");
    let err = bttc_contracts::stake_manager_account(
        CHAIN_ID,
        &devnet_params(),
        &[bttc_contracts::GenesisStaker {
            operator: a.operator,
            pubkey: a.pubkey(),
            stake: btt(99),
            commission_bps: 0,
        }],
    )
    .failed();
    assert!(err.to_string().contains("StakeTooLow"), "{err}");
}

#[test]
fn a_new_validator_joins_at_the_next_epoch_and_needs_its_key() {
    let (mut chain, _a, b, _c) = chain3();
    let d = Keys::new(4);
    // Proof of possession signed by another key: refused.
    let pop = chain.view(SM::popHashCall { operator: d.operator });
    chain.fund(d.operator, btt(5_000));
    let err = chain
        .send(
            d.operator,
            SM::createValidatorCall { pubkey: d.pubkey(), proof: b.sign(pop), commissionBps: 0 },
            btt(5_000),
        )
        .failed();
    assert!(err.reason.contains("BadProofOfPossession"), "{}", err.reason);
    // Too little stake, too much commission, a signer already in use: refused.
    assert!(chain.create_validator(&d, btt(50), 0).failed().reason.contains("StakeTooLow"));
    assert!(
        chain.create_validator(&d, btt(500), 2_001).failed().reason.contains("CommissionTooHigh")
    );
    let mut thief = b.clone();
    thief.operator = Address::repeat_byte(0x77);
    assert!(chain.create_validator(&thief, btt(500), 0).failed().reason.contains("SignerInUse"));

    let id = chain.create_validator(&d, btt(5_000), 100).unwrap();
    assert_eq!(id, 4);
    assert_eq!(chain.current_set().len(), 3, "not in the current epoch's set");
    chain.finish_epoch();
    let set = chain.current_set();
    assert_eq!(set.len(), 4);
    assert_eq!(set[0].signer, d.signer(), "the largest stake leads the set");
    assert_eq!(set[0].power, 5_000);
    assert_eq!(chain.view(SM::epochStartCall { epoch: 1 }), 64);
}

#[test]
fn undelegated_stake_is_paid_after_unbonding_and_not_before() {
    let (mut chain, _a, _b, c) = chain3();
    let holder = Address::repeat_byte(0x42);
    chain.fund(holder, btt(500));
    chain.ok(holder, SM::delegateCall { id: 3 }, btt(500));
    assert_eq!(chain.balance(holder), U256::ZERO);
    // The operator leaves entirely: out of the set at the epoch end.
    chain.ok(c.operator, SM::undelegateCall { id: 3, amount: U256::MAX }, U256::ZERO);
    let released = chain.number + 3 * 64;
    chain.ok(holder, SM::undelegateCall { id: 3, amount: btt(200) }, U256::ZERO);
    chain.finish_epoch();
    let set = chain.current_set();
    assert!(set.iter().all(|m| m.signer != c.signer()), "below min self-stake: not elected");
    assert_eq!(set.len(), 2);
    // Withdrawing before the release block pays nothing.
    let err = chain.send(c.operator, SM::withdrawCall {}, U256::ZERO).failed();
    assert!(err.reason.contains("ZeroAmount"), "{}", err.reason);
    while chain.number < released {
        let all = chain.all_signed();
        chain.end_block(all, U256::ZERO).unwrap();
    }
    chain.ok(c.operator, SM::withdrawCall {}, U256::ZERO);
    assert_eq!(chain.balance(c.operator), btt(1_000), "self-stake back to the wei");
    chain.ok(holder, SM::withdrawCall {}, U256::ZERO);
    assert_eq!(chain.balance(holder), btt(200));
    // Nothing left to withdraw: a second withdrawal pays nothing.
    assert!(chain.send(holder, SM::withdrawCall {}, U256::ZERO).is_err());
    let dl = chain.view(SM::delegationCall { id: 3, delegator: holder });
    let (shares, value) = (dl.shares, dl.value);
    assert!(shares > U256::ZERO);
    assert_eq!(value, btt(300));
    chain.surplus();
}

/// Mirrors the contract's reward arithmetic in Rust for one validator and one delegator.
#[derive(Debug, Default)]
struct Expected {
    undistributed: U256,
    acc: U256,
    carry: U256,
    commission: U256,
    rest_sum: U256,
}

#[test]
fn rewards_equal_fees_plus_issuance_to_the_wei() {
    let (mut chain, a, _b, _c) = chain3();
    let d = Address::repeat_byte(0x42);
    chain.fund(d, btt(1_000));
    chain.ok(d, SM::delegateCall { id: 1 }, btt(1_000));
    // Validator 1: 3,000 self + 1,000 delegated; shares 1:1 with wei. Power stays 3,000 until
    // the epoch ends (powers are fixed at election).
    let shares_total = btt(4_000);
    let shares_d = btt(1_000);
    let epoch_stake = btt(6_000);
    let mut e = Expected::default();
    let acc_scale = U256::from(10u64).pow(U256::from(24));
    let mut total_in = U256::ZERO;
    // Blocks 1..=40, with fees varying; all three sign (power 3,000 + 2,000 + 1,000).
    for i in 0..40u64 {
        let fees = U256::from(21_000u64 * 7_000_000_000 * (i % 5));
        let minted = chain.next_block(fees).unwrap();
        assert_eq!(
            minted,
            epoch_stake * U256::from(650) / U256::from(10_000) / U256::from(31_536_000u64)
        );
        total_in += fees + minted;
        e.undistributed += fees + minted;
        if chain.number > 2 {
            let pot = e.undistributed;
            let r1 = pot * U256::from(3_000) / U256::from(6_000);
            let r2 = pot * U256::from(2_000) / U256::from(6_000);
            let r3 = pot * U256::from(1_000) / U256::from(6_000);
            e.undistributed = pot - r1 - r2 - r3;
            let c1 = r1 * U256::from(500) / U256::from(10_000);
            e.commission += c1;
            e.rest_sum += r1 - c1;
            let num = (r1 - c1) * acc_scale + e.carry;
            e.acc += num / shares_total;
            e.carry = num % shares_total;
        }
    }
    let pending = chain.view(SM::delegationCall { id: 1, delegator: d }).rewards;
    let want_d = shares_d * e.acc / acc_scale;
    assert_eq!(pending, want_d, "delegator's rewards to the wei");
    assert!(want_d > U256::ZERO);
    let v = chain.view(SM::getValidatorCall { id: 1 });
    assert_eq!(v.commission, e.commission);
    assert_eq!(v.acc, e.acc);
    assert_eq!(chain.view(SM::undistributedCall {}), e.undistributed);

    // Claims pay exactly that; the operator gets its commission and its own share.
    chain.ok(d, SM::claimRewardsCall { id: 1 }, U256::ZERO);
    assert_eq!(chain.balance(d), want_d);
    chain.ok(a.operator, SM::claimRewardsCall { id: 1 }, U256::ZERO);
    let want_a = e.commission + btt(3_000) * e.acc / acc_scale;
    assert_eq!(chain.balance(a.operator), want_a);
    // Rounding: against the exact (rational) share, sum over blocks of (r1 - c1) x 1000/4000,
    // the delegator gets at most 2 wei less and never more.
    let exact_num = e.rest_sum * shares_d; // divided by shares_total
    assert!(want_d * shares_total <= exact_num, "never more than the exact share");
    assert!(
        exact_num - want_d * shares_total < U256::from(2) * shares_total,
        "at most 2 wei under"
    );
    // A second claim pays nothing; nothing is paid twice.
    assert!(chain.send(d, SM::claimRewardsCall { id: 1 }, U256::ZERO).is_err());
    assert!(chain.balance(STAKE_MANAGER) >= chain.view(SM::liabilitiesCall {}));
    assert!(total_in >= want_d + want_a);
}

#[test]
fn commission_edits_are_capped_and_rate_limited() {
    let (mut chain, a, _b, _c) = chain3();
    let err =
        chain.send(a.operator, SM::editCommissionCall { commissionBps: 600 }, U256::ZERO).failed();
    assert!(err.reason.contains("CommissionEditedThisEpoch"), "{}", err.reason);
    chain.finish_epoch();
    let err =
        chain.send(a.operator, SM::editCommissionCall { commissionBps: 700 }, U256::ZERO).failed();
    assert!(err.reason.contains("CommissionChangeTooLarge"), "{}", err.reason);
    chain.ok(a.operator, SM::editCommissionCall { commissionBps: 600 }, U256::ZERO);
    let err =
        chain.send(a.operator, SM::editCommissionCall { commissionBps: 550 }, U256::ZERO).failed();
    assert!(err.reason.contains("CommissionEditedThisEpoch"), "{}", err.reason);
    assert_eq!(chain.view(SM::getValidatorCall { id: 1 }).commissionBps, 600);
    let err = chain
        .send(Address::repeat_byte(9), SM::editCommissionCall { commissionBps: 1 }, U256::ZERO)
        .failed();
    assert!(err.reason.contains("NotOperator"), "{}", err.reason);
}

#[test]
fn a_validator_that_stops_signing_is_jailed_slashed_and_rejoins_after_unjail() {
    let (mut chain, _a, _b, c) = chain3();
    let d = Address::repeat_byte(0x42);
    chain.fund(d, btt(100));
    chain.ok(d, SM::delegateCall { id: 3 }, btt(100));
    // Member 2 (validator 3, the smallest) stops signing from block 2 on.
    let mut jailed_at = None;
    for _ in 0..60 {
        chain.end_block(U256::from(0b011), U256::ZERO).unwrap();
        if chain.view(SM::getValidatorCall { id: 3 }).jailed {
            jailed_at = Some(chain.number - 1);
            break;
        }
    }
    let jailed_at = jailed_at.expect("jailed within the window");
    // Window 100: jailed on its 51st miss (blocks 1..=51 signed by nobody for it; block 1
    // carries no commit).
    assert_eq!(jailed_at, 52);
    let v = chain.view(SM::getValidatorCall { id: 3 });
    assert_eq!(v.jailedUntil, 52 + 200);
    assert_eq!(v.stake, btt(1_100) - btt(11), "1% slashed");
    let value = chain.view(SM::delegationCall { id: 3, delegator: d }).value;
    assert_eq!(value, btt(99), "the delegator loses 1% too");
    assert_eq!(chain.view(SM::totalBurnedCall {}), btt(11));
    // Unjail is refused during the jail time.
    let err = chain.send(c.operator, SM::unjailCall {}, U256::ZERO).failed();
    assert!(err.reason.contains("StillJailed"), "{}", err.reason);
    chain.finish_epoch();
    assert_eq!(chain.current_set().len(), 2, "out at the epoch end");
    while chain.number < 52 + 200 {
        let all = chain.all_signed();
        chain.end_block(all, U256::ZERO).unwrap();
    }
    chain.ok(c.operator, SM::unjailCall {}, U256::ZERO);
    chain.finish_epoch();
    let set = chain.current_set();
    assert_eq!(set.len(), 3, "back in the set at the next epoch");
    assert!(set.iter().any(|m| m.signer == c.signer()));
    chain.surplus();
}

fn vote(
    keys: &Keys,
    vote_type: VoteType,
    height: u64,
    round: i64,
    value: Option<B256>,
) -> SM::Vote {
    let round_m = if round < 0 { Round::Nil } else { Round::new(round as u32) };
    let v = match value {
        Some(h) => NilOrVal::Val(BlockValue(h)),
        None => NilOrVal::Nil,
    };
    let hash = vote_signing_hash(
        CHAIN_ID,
        vote_type,
        BlockHeight(height),
        round_m,
        &v,
        &ValidatorAddress(keys.signer()),
    );
    SM::Vote {
        voteType: match vote_type {
            VoteType::Prevote => 1,
            VoteType::Precommit => 2,
        },
        height,
        round,
        value: value.unwrap_or_default(),
        nil: value.is_none(),
        signature: keys.sign(hash),
    }
}

#[test]
fn the_contract_hashes_votes_as_consensus_signs_them() {
    let (mut chain, a, _b, _c) = chain3();
    for (t, r, v) in [
        (VoteType::Precommit, 0, Some(B256::repeat_byte(7))),
        (VoteType::Prevote, 3, None),
        (VoteType::Precommit, -1, None),
    ] {
        let vt = vote(&a, t, 5, r, v);
        let round_m = if r < 0 { Round::Nil } else { Round::new(r as u32) };
        let value = v.map_or(NilOrVal::Nil, |h| NilOrVal::Val(BlockValue(h)));
        let want = vote_signing_hash(
            CHAIN_ID,
            t,
            BlockHeight(5),
            round_m,
            &value,
            &ValidatorAddress(a.signer()),
        );
        assert_eq!(chain.view(SM::voteHashCall { vote: vt, signer: a.signer() }), want);
    }
}

#[test]
fn double_signing_is_slashed_tombstoned_and_the_reporter_is_paid() {
    let (mut chain, a, _b, _c) = chain3();
    let d = Address::repeat_byte(0x42);
    chain.fund(d, btt(1_000));
    chain.ok(d, SM::delegateCall { id: 1 }, btt(1_000));
    for _ in 0..10 {
        let all = chain.all_signed();
        chain.end_block(all, U256::ZERO).unwrap();
    }
    // Validator 1 precommits two different blocks at height 8, round 0; then its delegator
    // starts to leave (after the fault: still slashable).
    let x = vote(&a, VoteType::Precommit, 8, 0, Some(B256::repeat_byte(1)));
    let y = vote(&a, VoteType::Precommit, 8, 0, Some(B256::repeat_byte(2)));
    chain.ok(d, SM::undelegateCall { id: 1, amount: btt(400) }, U256::ZERO);
    let reporter = Address::repeat_byte(0x99);

    // Not evidence: the same vote twice, different rounds, another signer's signature.
    let err = chain.send(
        reporter,
        SM::submitDoubleSignCall { signer: a.signer(), a: x.clone(), b: x.clone() },
        U256::ZERO,
    );
    assert!(err.failed().reason.contains("the votes are the same"));
    let other_round = vote(&a, VoteType::Precommit, 8, 1, Some(B256::repeat_byte(2)));
    let err = chain.send(
        reporter,
        SM::submitDoubleSignCall { signer: a.signer(), a: x.clone(), b: other_round },
        U256::ZERO,
    );
    assert!(err.failed().reason.contains("same type, height and round"));
    let b_keys = Keys::new(2);
    let forged = vote(&b_keys, VoteType::Precommit, 8, 0, Some(B256::repeat_byte(2)));
    let err = chain.send(
        reporter,
        SM::submitDoubleSignCall { signer: a.signer(), a: x.clone(), b: forged },
        U256::ZERO,
    );
    assert!(err.failed().reason.contains("not the signer's"));

    chain.ok(
        reporter,
        SM::submitDoubleSignCall { signer: a.signer(), a: x.clone(), b: y.clone() },
        U256::ZERO,
    );
    let v = chain.view(SM::getValidatorCall { id: 1 });
    assert!(v.tombstoned && v.jailed);
    // 5% of the pool (3,000 + 600 left) and of the 400 unbonding.
    let from_pool = btt(3_600) * U256::from(500) / U256::from(10_000);
    let from_unbonding = btt(400) * U256::from(500) / U256::from(10_000);
    assert_eq!(v.stake, btt(3_600) - from_pool);
    let value = chain.view(SM::delegationCall { id: 1, delegator: d }).value;
    assert_eq!(
        value,
        btt(600) - btt(600) * U256::from(500) / U256::from(10_000),
        "delegators lose 5% too"
    );
    let entries = chain.view(SM::unbondingOfCall { delegator: d });
    assert_eq!(entries[0].amount, btt(400) - from_unbonding);
    let slashed = from_pool + from_unbonding;
    assert_eq!(chain.balance(reporter), slashed / U256::from(10), "reporter paid 10%");
    assert_eq!(chain.view(SM::totalBurnedCall {}), slashed - slashed / U256::from(10));
    // Evidence again: the validator is tombstoned, nothing is slashed twice.
    let err = chain.send(
        reporter,
        SM::submitDoubleSignCall { signer: a.signer(), a: y, b: x },
        U256::ZERO,
    );
    assert!(err.failed().reason.contains("ValidatorTombstoned"));
    // Never elected again, whatever it stakes.
    chain.fund(d, btt(1));
    let err = chain.send(d, SM::delegateCall { id: 1 }, btt(1));
    assert!(err.failed().reason.contains("ValidatorTombstoned"));
    chain.finish_epoch();
    assert!(chain.current_set().iter().all(|m| m.id != 1));
    chain.surplus();
}

#[test]
fn evidence_too_old_or_from_the_future_is_refused() {
    let (mut chain, a, _b, _c) = chain3();
    for _ in 0..140 {
        let all = chain.all_signed();
        chain.end_block(all, U256::ZERO).unwrap();
    }
    let x = vote(&a, VoteType::Prevote, 5, 0, Some(B256::repeat_byte(1)));
    let y = vote(&a, VoteType::Prevote, 5, 0, None);
    let err = chain.send(
        Address::ZERO,
        SM::submitDoubleSignCall { signer: a.signer(), a: x, b: y },
        U256::ZERO,
    );
    assert!(err.failed().reason.contains("EvidenceTooOld"));
    let h = chain.number;
    let x = vote(&a, VoteType::Prevote, h, 0, Some(B256::repeat_byte(1)));
    let y = vote(&a, VoteType::Prevote, h, 0, None);
    let err = chain.send(
        Address::ZERO,
        SM::submitDoubleSignCall { signer: a.signer(), a: x, b: y },
        U256::ZERO,
    );
    assert!(err.failed().reason.contains("HeightInFuture"));
}

#[test]
fn redelegating_does_not_escape_a_slash_for_an_earlier_fault() {
    let (mut chain, a, _b, _c) = chain3();
    let d = Address::repeat_byte(0x42);
    chain.fund(d, btt(1_000));
    chain.ok(d, SM::delegateCall { id: 1 }, btt(1_000));
    for _ in 0..5 {
        let all = chain.all_signed();
        chain.end_block(all, U256::ZERO).unwrap();
    }
    let x = vote(&a, VoteType::Prevote, 3, 0, Some(B256::repeat_byte(1)));
    let y = vote(&a, VoteType::Prevote, 3, 0, Some(B256::repeat_byte(2)));
    chain.ok(d, SM::redelegateCall { src: 1, dst: 2, amount: U256::MAX }, U256::ZERO);
    let before = chain.view(SM::delegationCall { id: 2, delegator: d }).value;
    assert_eq!(before, btt(1_000));
    chain.ok(
        Address::repeat_byte(0x99),
        SM::submitDoubleSignCall { signer: a.signer(), a: x, b: y },
        U256::ZERO,
    );
    let after = chain.view(SM::delegationCall { id: 2, delegator: d }).value;
    assert_eq!(after, btt(950), "5% of the redelegated stake taken at the destination");
    // Validator 2's own stake is untouched.
    let own = chain.view(SM::delegationCall { id: 2, delegator: Keys::new(2).operator }).value;
    assert_eq!(own, btt(2_000));
    chain.surplus();
}

#[test]
fn election_keeps_the_previous_set_rather_than_fall_under_the_minimum() {
    let (a, b, c) = three();
    let mut p = devnet_params();
    p.minValidators = 3;
    let mut chain =
        Chain::new(p, &[(a, btt(3_000), 0), (b, btt(2_000), 0), (c.clone(), btt(1_000), 0)]);
    chain.ok(c.operator, SM::undelegateCall { id: 3, amount: U256::MAX }, U256::ZERO);
    chain.finish_epoch();
    let set = chain.current_set();
    assert_eq!(set.len(), 3, "two eligible < minValidators 3: the previous set stays");
    assert!(set.iter().any(|m| m.signer == c.signer()));
}

#[test]
fn the_set_is_capped_at_max_validators_by_power_then_address() {
    let keys: Vec<Keys> = (1..=6).map(Keys::new).collect();
    let mut p = devnet_params();
    p.maxValidators = 4;
    let vals: Vec<(Keys, U256, u16)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), btt(if i < 2 { 500 } else { 1_000 }), 0))
        .collect();
    let mut chain = Chain::new(p, &vals);
    let set = chain.current_set();
    assert_eq!(set.len(), 4);
    assert!(set.iter().all(|m| m.power == 1_000));
    let mut addrs: Vec<Address> = set.iter().map(|m| m.signer).collect();
    let sorted = {
        let mut s = addrs.clone();
        s.sort();
        s
    };
    assert_eq!(addrs, sorted, "equal power: ascending signer address");
    addrs.dedup();
    assert_eq!(addrs.len(), 4);
}

#[test]
fn only_the_system_calls_block_end_and_only_governance_sets_parameters() {
    let (mut chain, a, _b, _c) = chain3();
    let err = chain
        .send(
            a.operator,
            SM::blockEndCall { signedBitmap: U256::ZERO, fees: U256::from(1) },
            U256::ZERO,
        )
        .failed();
    assert!(err.reason.contains("NotSystem"), "{}", err.reason);
    let err = chain.send(a.operator, SM::setParamsCall { p: devnet_params() }, U256::ZERO).failed();
    assert!(err.reason.contains("NotGovernance"), "{}", err.reason);
    // A bitmap naming more members than the set has is refused; the state is left as it was.
    chain.end_block(U256::ZERO, U256::ZERO).unwrap();
    let before = chain.view(SM::rewardPoolCall {});
    let err = chain.end_block(U256::from(0b1111), U256::ZERO).failed();
    assert!(err.reason.contains("BitmapTooWide"), "{}", err.reason);
    assert_eq!(chain.view(SM::rewardPoolCall {}), before);
}

#[test]
fn governance_parameters_take_effect_at_the_next_epoch() {
    let (mut chain, _a, _b, _c) = chain3();
    let gov = bttc_contracts::GOVERNANCE;
    let mut p = devnet_params();
    p.stakingApyBps = 1_300;
    chain.ok(gov, SM::setParamsCall { p }, U256::ZERO);
    let minted = chain.next_block(U256::ZERO).unwrap();
    let base = btt(6_000) * U256::from(650) / U256::from(10_000) / U256::from(31_536_000u64);
    assert_eq!(minted, base, "old rate until the epoch ends");
    chain.finish_epoch();
    let minted = chain.next_block(U256::ZERO).unwrap();
    assert_eq!(
        minted,
        btt(6_000) * U256::from(1_300) / U256::from(10_000) / U256::from(31_536_000u64)
    );
}

fn proposal(
    keys: &Keys,
    height: u64,
    round: u32,
    value: B256,
    pol_round: Option<u32>,
) -> SM::Proposal {
    let pol = pol_round.map_or(Round::Nil, Round::new);
    let hash = bttc_consensus::proposal_signing_hash(
        CHAIN_ID,
        BlockHeight(height),
        Round::new(round),
        &BlockValue(value),
        pol,
        &ValidatorAddress(keys.signer()),
    );
    SM::Proposal {
        height,
        round: i64::from(round),
        value,
        polRound: pol_round.map_or(-1, i64::from),
        signature: keys.sign(hash),
    }
}

#[test]
fn the_contract_hashes_proposals_as_consensus_signs_them_and_slashes_double_proposals() {
    let (mut chain, a, b, _c) = chain3();
    for _ in 0..6 {
        chain.next_block(U256::ZERO).unwrap();
    }
    let p = proposal(&a, 4, 1, B256::repeat_byte(3), Some(0));
    let want = bttc_consensus::proposal_signing_hash(
        CHAIN_ID,
        BlockHeight(4),
        Round::new(1),
        &BlockValue(B256::repeat_byte(3)),
        Round::new(0),
        &ValidatorAddress(a.signer()),
    );
    assert_eq!(chain.view(SM::proposalHashCall { proposal: p.clone(), signer: a.signer() }), want);
    let reporter = Address::repeat_byte(0x99);
    // The same proposal twice, or two heights, or another key: not evidence.
    let same = chain.send(
        reporter,
        SM::submitDoubleProposalCall { signer: a.signer(), a: p.clone(), b: p.clone() },
        U256::ZERO,
    );
    assert!(same.failed().reason.contains("the proposals are the same"));
    let other_height = proposal(&a, 5, 1, B256::repeat_byte(4), None);
    let err = chain.send(
        reporter,
        SM::submitDoubleProposalCall { signer: a.signer(), a: p.clone(), b: other_height },
        U256::ZERO,
    );
    assert!(err.failed().reason.contains("same height and round"));
    let by_b = proposal(&b, 4, 1, B256::repeat_byte(4), None);
    let err = chain.send(
        reporter,
        SM::submitDoubleProposalCall { signer: a.signer(), a: p.clone(), b: by_b },
        U256::ZERO,
    );
    assert!(err.failed().reason.contains("not the signer's"));
    // Two different blocks proposed at height 4, round 1.
    let q = proposal(&a, 4, 1, B256::repeat_byte(4), None);
    chain.ok(reporter, SM::submitDoubleProposalCall { signer: a.signer(), a: p, b: q }, U256::ZERO);
    let v = chain.view(SM::getValidatorCall { id: 1 });
    assert!(v.tombstoned);
    assert_eq!(v.stake, btt(3_000) - btt(150), "5% slashed");
    assert_eq!(chain.balance(reporter), btt(15), "reporter paid 10% of the slash");
    chain.surplus();
}
