//! The bridge's bttc side in bttc's EVM, driven as the node will drive it (records delivered
//! by the system caller to `StateReceiver`): a `MAP_TOKEN` record maps a root token to a
//! `ChildERC20` and to the BTT wrapper; `DEPOSIT` records mint the token and pay native BTT out
//! of the wrapper's reserve; a deposit for a token not mapped yet, or beyond the reserve,
//! does not hold up later records and is replayed once possible; withdrawals burn (or lock
//! native BTT) and log the `WithdrawTo` the root's predicate looks for.

mod support;

use alloy_primitives::{Address, Bytes, U256, keccak256};
use alloy_sol_types::{SolConstructor, SolError, SolEvent, SolValue};
use bttc_contracts::{
    BTT_TOKEN, CHILD_CHAIN_MANAGER, STATE_RECEIVER, SYSTEM_CALLER,
    bridge::{ChildChainManager as CCM, ChildERC20 as C20},
    btt::BTT,
    btt_token_account, child_chain_manager_account, deployed_account, state_receiver_account,
    state_sync::{StateReceiver as SR, encode_record},
};
use support::{Chain, btt, refused};

const CHILD_TOKEN: Address = Address::repeat_byte(0x20);
const ROOT_TOKEN: Address = Address::repeat_byte(0x40);
const ROOT_BTT: Address = Address::repeat_byte(0x41);
const USER: Address = Address::repeat_byte(0x01);
const OTHER: Address = Address::repeat_byte(0x02);

struct Child {
    chain: Chain,
    next_id: u64,
}

impl Child {
    fn new(reserve: U256) -> Self {
        let mut init = C20::BYTECODE.to_vec();
        init.extend_from_slice(
            &C20::constructorCall {
                name_: "Test".into(),
                symbol_: "TST".into(),
                decimals_: 18,
                childChainManager_: CHILD_CHAIN_MANAGER,
            }
            .abi_encode(),
        );
        let token = deployed_account(7, init).unwrap();
        let chain = Chain::from_alloc([
            (STATE_RECEIVER, state_receiver_account()),
            (CHILD_CHAIN_MANAGER, child_chain_manager_account()),
            (BTT_TOKEN, btt_token_account(reserve)),
            (CHILD_TOKEN, token),
        ]);
        Self { chain, next_id: 1 }
    }

    /// Delivers the next record of root 0 to the manager; returns whether it was taken.
    fn record(&mut self, data: Bytes) -> bool {
        let call = SR::commitStateCall {
            syncTime: U256::ZERO,
            recordBytes: encode_record(0, self.next_id, CHILD_CHAIN_MANAGER, &data),
        };
        self.next_id += 1;
        self.chain.send_to(SYSTEM_CALLER, STATE_RECEIVER, call, U256::ZERO).expect("delivered")
    }

    fn map(&mut self, root: Address, child: Address) -> bool {
        self.record(bttc_contracts::bridge::map_token_sync(root, child))
    }

    fn deposit(&mut self, user: Address, root: Address, amount: U256) -> bool {
        self.record(bttc_contracts::bridge::deposit_sync(user, root, amount))
    }

    fn token_balance(&mut self, who: Address) -> U256 {
        self.chain.send_to(Address::ZERO, CHILD_TOKEN, C20::balanceOfCall(who), U256::ZERO).unwrap()
    }
}

#[test]
fn deposits_mint_tokens_and_pay_native_btt_and_a_late_mapping_replays() {
    let mut c = Child::new(btt(1000));
    // A deposit before its mapping: kept, later ones go on.
    assert!(!c.deposit(USER, ROOT_TOKEN, U256::from(5)), "not mapped yet");
    assert!(c.map(ROOT_TOKEN, CHILD_TOKEN));
    assert!(c.deposit(USER, ROOT_TOKEN, U256::from(100)));
    assert_eq!(c.token_balance(USER), U256::from(100));
    let replay = SR::replayFailedStateSyncCall {
        rootId: U256::ZERO,
        stateId: U256::from(1),
        receiver: CHILD_CHAIN_MANAGER,
        data: (
            keccak256("DEPOSIT"),
            Bytes::from(
                (USER, ROOT_TOKEN, Bytes::from(U256::from(5).abi_encode())).abi_encode_params(),
            ),
        )
            .abi_encode_params()
            .into(),
    };
    c.chain
        .send_to(OTHER, STATE_RECEIVER, replay, U256::ZERO)
        .unwrap_or_else(|e| panic!("{}", e.data));
    assert_eq!(c.token_balance(USER), U256::from(105), "the early deposit, replayed");
    assert!(!c.map(ROOT_TOKEN, OTHER), "a root token maps once");

    // Native BTT from the wrapper's reserve.
    assert!(c.map(ROOT_BTT, BTT_TOKEN));
    let before = c.chain.balance(USER);
    assert!(c.deposit(USER, ROOT_BTT, btt(7)));
    assert_eq!(c.chain.balance(USER) - before, btt(7));
    assert_eq!(c.chain.balance(BTT_TOKEN), btt(993));
    assert!(!c.deposit(USER, ROOT_BTT, btt(5000)), "more than the reserve: kept for later");
    assert_eq!(c.chain.balance(BTT_TOKEN), btt(993));

    // Only StateReceiver delivers; only the manager deposits.
    let direct = CCM::onStateReceiveCall { _0: U256::from(1), data: Bytes::new() };
    let e = refused(c.chain.send_to(USER, CHILD_CHAIN_MANAGER, direct, U256::ZERO));
    assert!(e.data.starts_with(&CCM::NotStateReceiver::SELECTOR), "{}", e.data);
    let mint = C20::depositCall { user: USER, depositData: U256::from(1).abi_encode().into() };
    let e = refused(c.chain.send_to(USER, CHILD_TOKEN, mint, U256::ZERO));
    assert!(e.data.starts_with(&C20::NotChildChainManager::SELECTOR), "{}", e.data);
    let pay = BTT::depositCall { user: USER, depositData: btt(1).abi_encode().into() };
    let e = refused(c.chain.send_to(USER, BTT_TOKEN, pay, U256::ZERO));
    assert!(e.data.starts_with(&BTT::NotChildChainManager::SELECTOR), "{}", e.data);
}

#[test]
fn withdrawals_burn_or_lock_and_log_what_the_root_predicate_reads() {
    let mut c = Child::new(btt(10));
    assert!(c.map(ROOT_TOKEN, CHILD_TOKEN));
    assert!(c.deposit(USER, ROOT_TOKEN, U256::from(100)));
    c.chain
        .send_to(USER, CHILD_TOKEN, C20::withdrawCall { amount: U256::from(30) }, U256::ZERO)
        .unwrap();
    c.chain
        .send_to(
            USER,
            CHILD_TOKEN,
            C20::withdrawToCall { to: OTHER, amount: U256::from(20) },
            U256::ZERO,
        )
        .unwrap();
    assert_eq!(c.token_balance(USER), U256::from(50));
    let supply =
        c.chain.send_to(Address::ZERO, CHILD_TOKEN, C20::totalSupplyCall {}, U256::ZERO).unwrap();
    assert_eq!(supply, U256::from(50), "burnt");
    let e = refused(c.chain.send_to(
        USER,
        CHILD_TOKEN,
        C20::withdrawCall { amount: U256::from(51) },
        U256::ZERO,
    ));
    assert!(e.data.starts_with(&C20::InsufficientBalance::SELECTOR), "{}", e.data);

    // Native BTT: locked back into the reserve; the value must match.
    c.chain.fund(USER, btt(5));
    let e = refused(c.chain.send_to(
        USER,
        BTT_TOKEN,
        BTT::withdrawToCall { to: OTHER, amount: btt(2) },
        btt(1),
    ));
    assert!(e.data.starts_with(&BTT::ValueMismatch::SELECTOR), "{}", e.data);
    c.chain
        .send_to(USER, BTT_TOKEN, BTT::withdrawToCall { to: OTHER, amount: btt(2) }, btt(2))
        .unwrap();
    assert_eq!(c.chain.balance(BTT_TOKEN), btt(12));

    // Both burn events are the one the root's predicate releases against.
    assert_eq!(C20::WithdrawTo::SIGNATURE_HASH, keccak256("WithdrawTo(address,address,uint256)"));
    assert_eq!(BTT::WithdrawTo::SIGNATURE_HASH, C20::WithdrawTo::SIGNATURE_HASH);
}

mod accounting {
    //! Property: whatever sequence of deposits, withdrawals and replays arrives, at the
    //! 990-trillion-BTT scale, nothing is created or lost: the token's supply is what was
    //! deposited less what was burned, native BTT moves between the reserve and the users
    //! and never appears from nowhere, and a delivered record never credits twice.
    use super::*;
    use proptest::prelude::*;

    /// 990 trillion BTT in wei: BTT's whole supply.
    fn supply() -> U256 {
        btt(990_000_000_000_000)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Deposit { user: usize, native: bool, amount: U256 },
        Withdraw { user: usize, native: bool, amount: U256 },
        Replay,
    }

    fn amount() -> impl Strategy<Value = U256> {
        prop_oneof![
            (0u64..1_000).prop_map(U256::from),
            (0u64..=990_000_000_000_000).prop_map(btt),
            Just(supply()),
            Just(supply() + U256::from(1)),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..3usize, any::<bool>(), amount())
                .prop_map(|(user, native, amount)| Op::Deposit { user, native, amount }),
            3 => (0..3usize, any::<bool>(), amount())
                .prop_map(|(user, native, amount)| Op::Withdraw { user, native, amount }),
            1 => Just(Op::Replay),
        ]
    }

    fn users() -> [Address; 3] {
        [Address::repeat_byte(0xa1), Address::repeat_byte(0xa2), Address::repeat_byte(0xa3)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn deposits_and_withdrawals_conserve_tokens_and_native_btt(ops in prop::collection::vec(op(), 1..24)) {
            let mut c = Child::new(supply());
            prop_assert!(c.map(ROOT_TOKEN, CHILD_TOKEN));
            prop_assert!(c.map(ROOT_BTT, BTT_TOKEN));
            let users = users();
            let (mut tokens, mut native) = ([U256::ZERO; 3], [U256::ZERO; 3]);
            let mut reserve = supply();
            let mut last = None;
            for op in ops {
                match op {
                    Op::Deposit { user, native: true, amount } => {
                        let took = c.deposit(users[user], ROOT_BTT, amount);
                        // Beyond the reserve: kept for a replay, nothing moves.
                        prop_assert_eq!(took, amount <= reserve);
                        if took {
                            reserve -= amount;
                            native[user] += amount;
                        }
                        last = Some(bttc_contracts::bridge::deposit_sync(users[user], ROOT_BTT, amount));
                    }
                    Op::Deposit { user, native: false, amount } => {
                        prop_assert!(c.deposit(users[user], ROOT_TOKEN, amount));
                        tokens[user] += amount;
                        last = Some(bttc_contracts::bridge::deposit_sync(users[user], ROOT_TOKEN, amount));
                    }
                    Op::Withdraw { user, native: false, amount } => {
                        let r = c.chain.send_to(users[user], CHILD_TOKEN, C20::withdrawToCall { to: OTHER, amount }, U256::ZERO);
                        prop_assert_eq!(r.is_ok(), amount <= tokens[user]);
                        if r.is_ok() {
                            tokens[user] -= amount;
                        }
                    }
                    Op::Withdraw { user, native: true, amount } => {
                        let call = BTT::withdrawToCall { to: OTHER, amount };
                        let r = c.chain.send_to(users[user], BTT_TOKEN, call, amount);
                        prop_assert_eq!(r.is_ok(), amount <= native[user]);
                        if r.is_ok() {
                            native[user] -= amount;
                            reserve += amount;
                        }
                    }
                    Op::Replay => {
                        // The last record again, under its own id: refused, nothing credited.
                        if let Some(data) = &last {
                            let call = SR::commitStateCall {
                                syncTime: U256::ZERO,
                                recordBytes: encode_record(0, c.next_id - 1, CHILD_CHAIN_MANAGER, data),
                            };
                            let r = c.chain.send_to(SYSTEM_CALLER, STATE_RECEIVER, call, U256::ZERO);
                            prop_assert!(r.is_err(), "a delivered id is refused");
                        }
                    }
                }
                let supply_now = c.chain.send_to(Address::ZERO, CHILD_TOKEN, C20::totalSupplyCall {}, U256::ZERO).unwrap();
                prop_assert_eq!(supply_now, tokens.iter().copied().sum::<U256>());
                for (i, u) in users.iter().enumerate() {
                    prop_assert_eq!(c.token_balance(*u), tokens[i]);
                    prop_assert_eq!(c.chain.balance(*u), native[i]);
                }
                prop_assert_eq!(c.chain.balance(BTT_TOKEN), reserve);
                prop_assert_eq!(reserve + native.iter().copied().sum::<U256>(), supply(), "native BTT conserved");
            }
        }
    }
}
