//! The bridge's root side in bttc's EVM: `RootChainManager` with `ERC20Predicate`,
//! `StateSender` and `RootChain`. A deposit locks the tokens and sends a `DEPOSIT` record; an
//! exit built by the node's `bttc-bridge` from a bttc block under a signed checkpoint pays the
//! `WithdrawTo` amount once; the root's native coin goes in with `depositEtherFor` and out
//! the same way. Refused: a second exit of the same burn, another encoding of the
//! same branch-mask key (Polygon's 2021 double-spend), a forged receipt, a tampered receipt or
//! block proof, a wrong log index, a log that is no withdrawal, an unmapped token, a block
//! outside the checkpoint and an unknown checkpoint.

mod support;

use alloy_consensus::{Eip658Value, Receipt as Inner, ReceiptEnvelope, ReceiptWithBloom};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, Log, LogData, U256, keccak256};
use alloy_sol_types::{SolConstructor, SolError, SolValue};
use bttc_bridge::ExitPayload;
use bttc_contracts::{
    bridge::{ERC20Predicate as PRED, RootChainManager as RCM},
    deployed_account,
    root_chain::RootChain as RC,
    state_sync::StateSender as SS,
};
use bttc_primitives::{Header, Receipt};
use support::{Chain, Failed, Keys, refused};

const CHILD: u64 = 199_199;
const OWNER: Address = Address::repeat_byte(0x0e);
const USER: Address = Address::repeat_byte(0x01);
const USER2: Address = Address::repeat_byte(0x02);
const ROOT_CHAIN: Address = Address::repeat_byte(0xc0);
const SENDER: Address = Address::repeat_byte(0xc1);
const MANAGER: Address = Address::repeat_byte(0xc2);
const PREDICATE: Address = Address::repeat_byte(0xc3);
const TOKEN: Address = Address::repeat_byte(0xc4);
const CHILD_MANAGER: Address = Address::repeat_byte(0x10);
const CHILD_TOKEN: Address = Address::repeat_byte(0x20);

use bttc_contracts::bridge::DevToken as TestToken;

fn deploy(init: &[u8], args: Vec<u8>) -> alloy_genesis::GenesisAccount {
    let mut code = init.to_vec();
    code.extend_from_slice(&args);
    deployed_account(7, code).expect("deploys")
}

fn withdraw_to(emitter: Address, to: Address, from: Address, amount: u64) -> Log {
    let sig = keccak256("WithdrawTo(address,address,uint256)");
    let topics =
        vec![sig, B256::left_padding_from(to.as_slice()), B256::left_padding_from(from.as_slice())];
    Log {
        address: emitter,
        data: LogData::new_unchecked(topics, U256::from(amount).abi_encode().into()),
    }
}

fn receipt(logs: Vec<Log>, typed: bool) -> Receipt {
    let inner = Inner { status: Eip658Value::Eip658(true), cumulative_gas_used: 50_000, logs };
    let r = ReceiptWithBloom::from(inner);
    if typed { ReceiptEnvelope::Eip1559(r) } else { ReceiptEnvelope::Legacy(r) }
}

struct Bridge {
    chain: Chain,
    key: Keys,
    set_hash: B256,
}

impl Bridge {
    fn new() -> Self {
        let key = Keys::new(1);
        let set_hash = keccak256((vec![key.signer()], vec![U256::from(1)]).abi_encode_params());
        let rc = deploy(
            &RC::BYTECODE,
            RC::constructorCall {
                childChainId_: U256::from(CHILD),
                setHash: set_hash,
                lastChildBlock: U256::ZERO,
            }
            .abi_encode(),
        );
        let mut ss = deploy(&SS::BYTECODE, Vec::new());
        let mut storage = ss.storage.take().unwrap_or_default();
        storage.insert(B256::ZERO, B256::left_padding_from(OWNER.as_slice())); // owner slot
        ss.storage = Some(storage);
        let manager = deploy(
            &RCM::BYTECODE,
            RCM::constructorCall {
                owner_: OWNER,
                checkpoints_: ROOT_CHAIN,
                stateSender_: SENDER,
                childChainManager_: CHILD_MANAGER,
            }
            .abi_encode(),
        );
        let predicate =
            deploy(&PRED::BYTECODE, PRED::constructorCall { manager_: MANAGER }.abi_encode());
        let token = deploy(&TestToken::BYTECODE, Vec::new());
        let mut chain = Chain::from_alloc([
            (ROOT_CHAIN, rc),
            (SENDER, ss),
            (MANAGER, manager),
            (PREDICATE, predicate),
            (TOKEN, token),
        ]);
        let fail = |e: Failed| -> () { panic!("{}: {}", e.reason, e.data) };
        let set = RCM::setPredicateCall { predicate_: PREDICATE };
        chain.send_to(OWNER, MANAGER, set, U256::ZERO).map(|_| ()).unwrap_or_else(fail);
        let register = SS::registerCall { sender: MANAGER, receiver: CHILD_MANAGER };
        chain.send_to(OWNER, SENDER, register, U256::ZERO).map(|_| ()).unwrap_or_else(fail);
        let map = RCM::mapTokenCall { rootToken: TOKEN, childToken: CHILD_TOKEN };
        chain.send_to(OWNER, MANAGER, map, U256::ZERO).map(|_| ()).unwrap_or_else(fail);
        Self { chain, key, set_hash }
    }

    fn balance(&mut self, who: Address) -> U256 {
        self.chain.send_to(Address::ZERO, TOKEN, TestToken::balanceOfCall(who), U256::ZERO).unwrap()
    }

    /// Posts the checkpoint of `range` (signed by the one validator).
    fn checkpoint(&mut self, range: &[Header]) {
        let root = bttc_checkpoint::root(range);
        let (start, end) = (range[0].number, range.last().unwrap().number);
        let mut d = vec![0x01u8];
        d.extend_from_slice(
            &(
                U256::from(CHILD),
                U256::from(start),
                U256::from(end),
                root,
                self.set_hash,
                self.set_hash,
            )
                .abi_encode_params(),
        );
        let call = RC::submitCheckpointCall {
            chainId: U256::from(CHILD),
            start: U256::from(start),
            end: U256::from(end),
            root,
            nextSetHash: self.set_hash,
            signers: vec![self.key.signer()],
            powers: vec![U256::from(1)],
            sigs: vec![self.key.sign(keccak256(d))],
        };
        self.chain
            .send_to(OWNER, ROOT_CHAIN, call, U256::ZERO)
            .unwrap_or_else(|e| panic!("{}", e.reason));
    }

    fn exit(&mut self, payload: Bytes) -> Result<(), Failed> {
        self.chain.send_to(USER2, MANAGER, RCM::exitCall { payload }, U256::ZERO).map(|_| ())
    }
}

/// Blocks 1..=8; block 5 holds `receipts`.
fn child_range(receipts: &[Receipt]) -> Vec<Header> {
    (1..=8u64)
        .map(|number| Header {
            number,
            timestamp: 1_700_000_000 + number,
            transactions_root: B256::repeat_byte(number as u8),
            receipts_root: if number == 5 {
                alloy_trie::root::ordered_trie_root_with_encoder(receipts, |r, b| r.encode_2718(b))
            } else {
                alloy_trie::EMPTY_ROOT_HASH
            },
            ..Default::default()
        })
        .collect()
}

fn is(e: &Failed, selector: [u8; 4]) -> bool {
    e.data.starts_with(&selector)
}

#[test]
fn a_deposit_locks_tokens_and_an_exit_pays_a_burn_once() {
    let mut b = Bridge::new();
    // Deposit: 100 tokens locked in the predicate, a DEPOSIT record after the MAP_TOKEN one.
    b.chain
        .send_to(USER, TOKEN, TestToken::mintCall { to: USER, amount: U256::from(100) }, U256::ZERO)
        .unwrap();
    b.chain
        .send_to(
            USER,
            TOKEN,
            TestToken::approveCall { spender: PREDICATE, amount: U256::from(100) },
            U256::ZERO,
        )
        .unwrap();
    let unmapped = RCM::depositForCall {
        user: USER,
        rootToken: USER2,
        depositData: U256::from(1).abi_encode().into(),
    };
    assert!(is(
        &refused(b.chain.send_to(USER, MANAGER, unmapped, U256::ZERO)),
        RCM::NotMapped::SELECTOR
    ));
    let deposit = RCM::depositForCall {
        user: USER,
        rootToken: TOKEN,
        depositData: U256::from(100).abi_encode().into(),
    };
    b.chain.send_to(USER, MANAGER, deposit, U256::ZERO).unwrap_or_else(|e| panic!("{}", e.data));
    assert_eq!(b.balance(PREDICATE), U256::from(100));
    assert_eq!(
        b.chain.send_to(Address::ZERO, SENDER, SS::counterCall {}, U256::ZERO).unwrap(),
        U256::from(2)
    );

    // On bttc: transaction 1 of block 5 logs a transfer, then burns 40 to USER2; another
    // transaction burns from an unmapped token.
    let receipts = vec![
        receipt(vec![withdraw_to(Address::repeat_byte(0x99), USER2, Address::ZERO, 1)], false),
        receipt(
            vec![
                Log {
                    address: CHILD_TOKEN,
                    data: LogData::new_unchecked(vec![B256::repeat_byte(5)], Bytes::new()),
                },
                withdraw_to(CHILD_TOKEN, USER2, Address::ZERO, 40),
                withdraw_to(CHILD_TOKEN, USER2, USER, 7),
            ],
            true,
        ),
    ];
    let range = child_range(&receipts);
    b.checkpoint(&range);
    let payload = |tx: usize, log: u64| {
        ExitPayload::build(&range[4], &receipts, tx, log, &range, 10_000).unwrap()
    };
    let good = payload(1, 1);
    good.verify(1, bttc_checkpoint::root(&range)).unwrap();

    // Refusals first (each reverts; nothing is recorded).
    let e = refused(b.exit(payload(0, 0).encode()));
    assert!(is(&e, RCM::NotMapped::SELECTOR), "an unmapped token: {}", e.data);
    let e = refused(b.exit(payload(1, 0).encode()));
    assert!(is(&e, PRED::NotAWithdrawal::SELECTOR), "a log that is no withdrawal: {}", e.data);
    let e = refused(b.exit(payload(1, 2).encode()));
    assert!(is(&e, PRED::NotAWithdrawal::SELECTOR), "a WithdrawTo not from 0x0: {}", e.data);
    let mut p = good.clone();
    p.log_index = 3;
    let e = refused(b.exit(p.encode()));
    assert!(is(&e, RCM::BadPayload::SELECTOR), "no log 3: {}", e.data);
    let mut p = good.clone();
    p.receipt = receipt(vec![withdraw_to(CHILD_TOKEN, USER2, Address::ZERO, 4000)], true)
        .encoded_2718()
        .into();
    p.log_index = 0;
    let e = refused(b.exit(p.encode()));
    assert!(is(&e, RCM::BadReceiptProof::SELECTOR), "a forged receipt: {}", e.data);
    let mut p = good.clone();
    let mut node = p.receipt_proof[0].to_vec();
    let n = node.len();
    node[n - 1] ^= 1;
    p.receipt_proof[0] = node.into();
    assert!(refused(b.exit(p.encode())).data.len() >= 4, "a tampered receipt proof");
    let mut p = good.clone();
    p.block_proof[0] = B256::repeat_byte(3);
    let e = refused(b.exit(p.encode()));
    assert!(is(&e, RCM::NotInCheckpoint::SELECTOR), "a tampered block proof: {}", e.data);
    let mut p = good.clone();
    p.block_time += 1;
    assert!(
        is(&refused(b.exit(p.encode())), RCM::NotInCheckpoint::SELECTOR),
        "a tampered block field"
    );
    let mut p = good.clone();
    p.header_block_id = 20_000;
    assert!(
        is(&refused(b.exit(p.encode())), RCM::NotInCheckpoint::SELECTOR),
        "an unknown checkpoint"
    );
    let mut p = good.clone();
    p.block_number = 9;
    assert!(is(&refused(b.exit(p.encode())), RCM::NotInCheckpoint::SELECTOR), "a block outside it");
    // The 2021 double-spend: the same key in other bytes (a non-canonical rlp, another
    // hex-prefix flag) must not name a new exit.
    for mask in [vec![0x00, 0x81, 0x01], vec![0x10, 0x01], vec![0x00]] {
        let mut p = good.clone();
        p.branch_mask = mask.clone().into();
        assert!(refused(b.exit(p.encode())).data.len() >= 4, "branch mask {mask:02x?}");
    }
    assert!(refused(b.exit(Bytes::from_static(b"\xc0"))).data.len() >= 4, "an empty payload");
    assert_eq!(b.balance(USER2), U256::ZERO);

    // The exit: 40 to USER2, once.
    b.exit(good.encode()).unwrap_or_else(|e| panic!("{}", e.data));
    assert_eq!(b.balance(USER2), U256::from(40));
    assert_eq!(b.balance(PREDICATE), U256::from(60));
    let id = good.exit_id().unwrap();
    assert!(
        b.chain.send_to(Address::ZERO, MANAGER, RCM::processedExitsCall(id), U256::ZERO).unwrap()
    );
    let e = refused(b.exit(good.encode()));
    assert!(is(&e, RCM::ExitAlreadyProcessed::SELECTOR), "a second exit: {}", e.data);
    assert_eq!(b.balance(USER2), U256::from(40));
}

#[test]
fn the_roots_native_coin_is_deposited_with_deposit_ether_for_and_exits_once() {
    const CHILD_ETH: Address = Address::repeat_byte(0x21);
    let mut b = Bridge::new();
    let ether: Address = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE".parse().unwrap();
    b.chain.fund(USER, U256::from(1_000));
    // Not mapped yet: refused, nothing locked.
    let deposit = || RCM::depositEtherForCall { user: USER2 };
    let e = refused(b.chain.send_to(USER, MANAGER, deposit(), U256::from(50)));
    assert!(is(&e, RCM::NotMapped::SELECTOR), "{}", e.data);
    let map = RCM::mapTokenCall { rootToken: ether, childToken: CHILD_ETH };
    b.chain.send_to(OWNER, MANAGER, map, U256::ZERO).unwrap();
    b.chain
        .send_to(USER, MANAGER, deposit(), U256::from(50))
        .unwrap_or_else(|e| panic!("{}", e.data));
    assert_eq!(b.chain.balance(PREDICATE), U256::from(50), "the coin is locked");
    assert_eq!(b.chain.balance(USER), U256::from(950));
    // MAP_TOKEN (token), MAP_TOKEN (ether), DEPOSIT.
    let counter = b.chain.send_to(Address::ZERO, SENDER, SS::counterCall {}, U256::ZERO).unwrap();
    assert_eq!(counter, U256::from(3));
    // depositFor cannot name the coin (it would lock nothing), and the predicate takes
    // deposits from the manager only.
    let as_token = RCM::depositForCall {
        user: USER,
        rootToken: ether,
        depositData: U256::from(5).abi_encode().into(),
    };
    let e = refused(b.chain.send_to(USER, MANAGER, as_token, U256::ZERO));
    assert!(is(&e, RCM::UseDepositEtherFor::SELECTOR), "{}", e.data);
    let direct = PRED::lockTokensCall {
        depositor: USER,
        depositReceiver: USER,
        rootToken: ether,
        depositData: U256::from(5).abi_encode().into(),
    };
    let e = refused(b.chain.send_to(USER, PREDICATE, direct, U256::from(5)));
    assert!(is(&e, PRED::NotManager::SELECTOR), "{}", e.data);

    // A burn of 30 of the child token on bttc exits as 30 of the coin, once.
    let receipts = vec![
        receipt(Vec::new(), false),
        receipt(vec![withdraw_to(CHILD_ETH, USER2, Address::ZERO, 30)], true),
    ];
    let range = child_range(&receipts);
    b.checkpoint(&range);
    let p = ExitPayload::build(&range[4], &receipts, 1, 0, &range, 10_000).unwrap();
    let before = b.chain.balance(USER2);
    b.exit(p.encode()).unwrap_or_else(|e| panic!("{}", e.data));
    assert_eq!(b.chain.balance(USER2) - before, U256::from(30));
    assert_eq!(b.chain.balance(PREDICATE), U256::from(20));
    let e = refused(b.exit(p.encode()));
    assert!(is(&e, RCM::ExitAlreadyProcessed::SELECTOR), "{}", e.data);
    assert_eq!(b.chain.balance(PREDICATE), U256::from(20));
}
