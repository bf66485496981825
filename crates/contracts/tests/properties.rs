//! Property tests of `StakeManager`'s money paths at the 990-trillion-BTT scale: random
//! stakes, delegations, undelegations, redelegations, claims, withdrawals, blocks with random
//! signers and fees, downtime and double-sign slashes. After every step: no arithmetic panic,
//! the contract holds at least what it owes, rewards paid never exceed fees plus issuance, and
//! nobody takes out more principal than they put in.

mod support;

use alloy_primitives::{Address, B256, U256};
use bttc_consensus::{BlockHeight, BlockValue, ValidatorAddress, vote_signing_hash};
use bttc_contracts::{STAKE_MANAGER, stake_manager::StakeManager as SM};
use malachitebft_core_types::{NilOrVal, Round, VoteType};
use proptest::prelude::*;
use std::collections::HashMap;
use support::*;

/// 990 trillion BTT in wei.
fn supply() -> U256 {
    btt(990_000_000_000_000)
}

#[derive(Debug, Clone)]
enum Op {
    Delegate { who: usize, validator: u64, permille: u16 },
    Undelegate { who: usize, validator: u64, permille: u16 },
    Redelegate { who: usize, src: u64, dst: u64, permille: u16 },
    Claim { who: usize, validator: u64 },
    Withdraw { who: usize },
    Blocks { n: u8, bitmap: u64, fee_gwei: u64 },
    DoubleSign { validator: u64 },
    Skip { blocks: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, 1..=5u64, 1..=1000u16).prop_map(|(who, validator, permille)| Op::Delegate { who, validator, permille }),
        3 => (0..4usize, 1..=5u64, 1..=1000u16).prop_map(|(who, validator, permille)| Op::Undelegate { who, validator, permille }),
        2 => (0..4usize, 1..=5u64, 1..=5u64, 1..=1000u16).prop_map(|(who, src, dst, permille)| Op::Redelegate { who, src, dst, permille }),
        2 => (0..6usize, 1..=5u64).prop_map(|(who, validator)| Op::Claim { who, validator }),
        2 => (0..6usize).prop_map(|who| Op::Withdraw { who }),
        5 => (1..20u8, any::<u64>(), 0..10_000_000_000_000u64).prop_map(|(n, bitmap, fee_gwei)| Op::Blocks { n, bitmap, fee_gwei }),
        1 => (1..=5u64).prop_map(|validator| Op::DoubleSign { validator }),
        2 => (0..600u16).prop_map(|blocks| Op::Skip { blocks }),
    ]
}

/// Stakes of five genesis validators: between 100 BTT and 190 trillion BTT each.
fn stakes() -> impl Strategy<Value = Vec<u64>> {
    proptest::collection::vec(100u64..190_000_000_000_000, 5)
}

/// The `pick`-th (cyclically) validator `who` has shares in, or `pick` if none.
fn held(c: &mut Chain, who: Address, pick: u64) -> u64 {
    let mine: Vec<u64> = (1..=5u64)
        .filter(|v| c.view(SM::delegationCall { id: *v, delegator: who }).shares > U256::ZERO)
        .collect();
    if mine.is_empty() { pick } else { mine[(pick as usize) % mine.len()] }
}

struct World {
    chain: Chain,
    validators: Vec<Keys>,
    /// Delegators 0..4, then validators 1 and 2's operators as accounts 4 and 5.
    accounts: Vec<Address>,
    deposited: HashMap<Address, U256>,
    withdrawn: HashMap<Address, U256>,
    claimed: U256,
    reporter_paid: U256,
    /// Contract calls so far (each may leave at most 1 wei of rounding in a pool).
    steps: u64,
}

impl World {
    fn new(stakes: &[u64]) -> Self {
        let validators: Vec<Keys> = (1..=5).map(Keys::new).collect();
        let vals: Vec<(Keys, U256, u16)> =
            validators.iter().zip(stakes).map(|(k, s)| (k.clone(), btt(*s), 1_000)).collect();
        let mut p = devnet_params();
        p.signedBlocksWindow = 20;
        p.downtimeJailBlocks = 30;
        let mut chain = Chain::new(p, &vals);
        let staked: U256 = stakes.iter().map(|s| btt(*s)).sum();
        // What is left of the supply goes to four delegators.
        let rest = supply() - staked;
        let mut accounts = Vec::new();
        let mut deposited = HashMap::new();
        for i in 0..4u8 {
            let a = Address::repeat_byte(0xa0 + i);
            chain.fund(a, rest / U256::from(4));
            accounts.push(a);
        }
        accounts.push(validators[0].operator);
        accounts.push(validators[1].operator);
        for (k, s) in validators.iter().zip(stakes) {
            deposited.insert(k.operator, btt(*s));
        }
        Self {
            chain,
            validators,
            accounts,
            deposited,
            withdrawn: HashMap::new(),
            claimed: U256::ZERO,
            reporter_paid: U256::ZERO,
            steps: 0,
        }
    }

    fn vote(&self, v: u64, value: Option<B256>, height: u64) -> SM::Vote {
        let keys = &self.validators[(v - 1) as usize];
        let val = value.map_or(NilOrVal::Nil, |h| NilOrVal::Val(BlockValue(h)));
        let hash = vote_signing_hash(
            CHAIN_ID,
            VoteType::Precommit,
            BlockHeight(height),
            Round::new(0),
            &val,
            &ValidatorAddress(keys.signer()),
        );
        SM::Vote {
            voteType: 2,
            height,
            round: 0,
            value: value.unwrap_or_default(),
            nil: value.is_none(),
            signature: keys.sign(hash),
        }
    }

    /// Runs one step; returns an error only for a broken invariant.
    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        self.steps += match op {
            Op::Blocks { n, .. } => u64::from(*n),
            _ => 1,
        };
        let c = &mut self.chain;
        let result: Result<(), Failed> = match *op {
            Op::Delegate { who, validator, permille } => {
                let a = self.accounts[who];
                let amount = c.balance(a) * U256::from(permille) / U256::from(1000);
                let r = c.send(a, SM::delegateCall { id: validator }, amount).map(|_| ());
                if r.is_ok() {
                    *self.deposited.entry(a).or_default() += amount;
                }
                r
            }
            Op::Undelegate { who, validator, permille } => {
                let a = self.accounts[who];
                let validator = held(c, a, validator);
                let value = c.view(SM::delegationCall { id: validator, delegator: a }).value;
                let amount = if permille == 1000 {
                    U256::MAX
                } else {
                    value * U256::from(permille) / U256::from(1000)
                };
                c.send(a, SM::undelegateCall { id: validator, amount }, U256::ZERO).map(|_| ())
            }
            Op::Redelegate { who, src, dst, permille } => {
                let a = self.accounts[who];
                let src = held(c, a, src);
                let value = c.view(SM::delegationCall { id: src, delegator: a }).value;
                let amount = value * U256::from(permille) / U256::from(1000);
                c.send(a, SM::redelegateCall { src, dst, amount }, U256::ZERO).map(|_| ())
            }
            Op::Claim { who, validator } => {
                let a = self.accounts[who];
                let validator = held(c, a, validator);
                let before = c.balance(a);
                let r = c.send(a, SM::claimRewardsCall { id: validator }, U256::ZERO).map(|_| ());
                self.claimed += c.balance(a) - before;
                r
            }
            Op::Withdraw { who } => {
                let a = self.accounts[who];
                let before = c.balance(a);
                let r = c.send(a, SM::withdrawCall {}, U256::ZERO).map(|_| ());
                *self.withdrawn.entry(a).or_default() += c.balance(a) - before;
                r
            }
            Op::Blocks { n, bitmap, fee_gwei } => {
                let mut r = Ok(());
                for _ in 0..n {
                    let size = c.set_of(c.number - 1).len();
                    let mask = (1u64 << size) - 1;
                    let fees = U256::from(fee_gwei) * U256::from(1_000_000_000u64);
                    r = c.end_block(U256::from(bitmap & mask), fees).map(|_| ());
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            Op::DoubleSign { validator } => {
                let h = c.number - 1;
                if h == 0 {
                    return Ok(());
                }
                let x = self.vote(validator, Some(B256::repeat_byte(1)), h);
                let y = self.vote(validator, Some(B256::repeat_byte(2)), h);
                let reporter = Address::repeat_byte(0xee);
                let before = self.chain.balance(reporter);
                let signer = self.validators[(validator - 1) as usize].signer();
                let r = self
                    .chain
                    .send(reporter, SM::submitDoubleSignCall { signer, a: x, b: y }, U256::ZERO)
                    .map(|_| ());
                self.reporter_paid += self.chain.balance(reporter) - before;
                r
            }
            Op::Skip { blocks } => {
                // Time passes without blocks ending here (as if long ago): only withdrawals
                // and jail times look at the block number.
                c.number += u64::from(blocks);
                Ok(())
            }
        };
        if let Err(e) = &result {
            prop_assert!(!e.is_panic(), "arithmetic panic in {op:?}: {}", e.reason);
        }
        self.check()
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let c = &mut self.chain;
        let owed = c.view(SM::liabilitiesCall {});
        let balance = c.balance(STAKE_MANAGER);
        prop_assert!(balance >= owed, "insolvent: balance {balance} < owed {owed}");
        prop_assert!(
            self.claimed <= c.rewards_in,
            "rewards paid {} > fees + issuance {}",
            self.claimed,
            c.rewards_in
        );
        // Principal out never exceeds principal in, except for rounding remainders: an exit
        // rounds its payout down and leaves the remainder (under 1 wei) to those who stay.
        let dust = U256::from(self.steps);
        for (a, out) in &self.withdrawn {
            let put = self.deposited.get(a).copied().unwrap_or_default();
            prop_assert!(
                *out <= put + dust,
                "{a} withdrew {out} > deposited {put} + {dust} wei of rounding"
            );
        }
        let burned = c.view(SM::totalBurnedCall {});
        // Conservation: everything that entered is held, paid out or burned-and-held.
        let deposits: U256 = self.deposited.values().copied().sum();
        let paid: U256 =
            self.withdrawn.values().copied().sum::<U256>() + self.claimed + self.reporter_paid;
        prop_assert_eq!(balance + paid, deposits + c.rewards_in, "conservation");
        prop_assert!(
            balance >= owed + burned,
            "burned stake stays locked, apart from what is owed"
        );
        Ok(())
    }

    /// Everyone leaves: undelegate all, wait out unbonding, withdraw, claim.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        self.steps += 100;
        let accounts = self.accounts.clone();
        for a in &accounts {
            for v in 1..=5u64 {
                let _ = self.chain.send(
                    *a,
                    SM::undelegateCall { id: v, amount: U256::MAX },
                    U256::ZERO,
                );
                let before = self.chain.balance(*a);
                let _ = self.chain.send(*a, SM::claimRewardsCall { id: v }, U256::ZERO);
                self.claimed += self.chain.balance(*a) - before;
            }
        }
        for k in self.validators.clone() {
            for v in 1..=5u64 {
                let _ = self.chain.send(
                    k.operator,
                    SM::undelegateCall { id: v, amount: U256::MAX },
                    U256::ZERO,
                );
                let before = self.chain.balance(k.operator);
                let _ = self.chain.send(k.operator, SM::claimRewardsCall { id: v }, U256::ZERO);
                self.claimed += self.chain.balance(k.operator) - before;
            }
        }
        self.chain.number += 10 * 64;
        let mut everyone = accounts;
        everyone.extend(self.validators.iter().map(|k| k.operator));
        for a in everyone {
            let before = self.chain.balance(a);
            let _ = self.chain.send(a, SM::withdrawCall {}, U256::ZERO);
            *self.withdrawn.entry(a).or_default() += self.chain.balance(a) - before;
        }
        self.check()?;
        let c = &mut self.chain;
        // A holder whose shares are worth under one wei cannot take them out: bonded dust.
        let bonded = c.view(SM::totalBondedCall {});
        prop_assert!(bonded < U256::from(1_000_000u64), "stake left behind: {bonded} wei");
        prop_assert_eq!(c.view(SM::totalUnbondingCall {}), U256::ZERO, "all unbonding paid");
        // What stays behind: burned stake, undistributed rewards and rounding dust (at most a
        // few wei per delegation and block, far under one BTT).
        let left = c.balance(STAKE_MANAGER);
        let burned = c.view(SM::totalBurnedCall {});
        let undistributed = c.view(SM::undistributedCall {});
        prop_assert!(left >= burned + undistributed + bonded);
        let dust = left - burned - undistributed - bonded;
        prop_assert!(dust < btt(1), "dust {dust} wei");
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn money_is_conserved_at_990_trillion_btt(stakes in stakes(), ops in proptest::collection::vec(op(), 1..40)) {
        let mut w = World::new(&stakes);
        for op in &ops {
            w.step(op)?;
        }
        w.drain()?;
    }
}
