//! `StakingHooks` on real chains (MDBX on temp dirs): the end-of-block call credits base fees
//! and issuance to StakeManager, building and importing agree, a chain without the hooks
//! refuses such blocks, and a reverting StakeManager leaves the chain live.

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_genesis::{Genesis, GenesisAccount};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use bttc_chain::{BlockAttributes, BlockError, Chain, init_genesis};
use bttc_chainspec::{BttcParams, GenesisValidator};
use bttc_contracts::{STAKE_MANAGER, staking_alloc};
use bttc_evm::{BlockHooks, NoHooks};
use bttc_primitives::{Block, Transaction};
use bttc_staking::{AllSigned, StakingHooks};
use bttc_storage::{DatabaseEnv, DbOptions, StateProvider};

const CHAIN_ID: u64 = 4_242;
const ONE: u128 = 1_000_000_000_000_000_000;
const BASE_FEE: u64 = 1_000_000_000;

fn sender() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42)).unwrap()
}

fn validator() -> GenesisValidator {
    let key = k256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap();
    GenesisValidator {
        address: bttc_consensus::address_of(key.verifying_key()),
        public_key: key.verifying_key().to_encoded_point(true).as_bytes().to_vec().into(),
        stake: 1_000,
        operator: None,
    }
}

/// A bttc genesis with one staked validator, one funded sender, and `stake_manager_code`
/// replacing StakeManager's code if given.
fn genesis(stake_manager_code: Option<Bytes>) -> String {
    let bttc = BttcParams { validators: vec![validator()], ..BttcParams::devnet() };
    let mut alloc = staking_alloc(CHAIN_ID, &bttc).unwrap();
    if let Some(code) = stake_manager_code {
        alloc.get_mut(&STAKE_MANAGER).unwrap().code = Some(code);
    }
    alloc.insert(
        sender().address(),
        GenesisAccount { balance: U256::from(1_000 * ONE), ..Default::default() },
    );
    for (address, code) in bttc_chainspec::system_predeploys() {
        alloc.insert(
            address,
            GenesisAccount { nonce: Some(1), code: Some(code), ..Default::default() },
        );
    }
    let mut config = bttc_chainspec::all_forks_at_genesis(CHAIN_ID);
    config.extra_fields.insert("bttc".into(), serde_json::to_value(&bttc).unwrap());
    let g = Genesis {
        config,
        gas_limit: 30_000_000,
        base_fee_per_gas: Some(BASE_FEE.into()),
        alloc,
        ..Default::default()
    };
    serde_json::to_string(&g).unwrap()
}

fn open<H: BlockHooks>(genesis: &str, hooks: H) -> (tempfile::TempDir, Chain<H>) {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    init_genesis(&db, genesis).unwrap();
    (dir, Chain::open_with_hooks(db, hooks).unwrap())
}

fn transfer(nonce: u64) -> Transaction {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * BASE_FEE as u128,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(address!("00000000000000000000000000000000000000aa")),
        value: U256::from(ONE),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let sig = sender().sign_hash_sync(&tx.signature_hash()).unwrap();
    tx.into_signed(sig).into()
}

/// Builds and commits `n` blocks of two transfers each; returns them.
fn grow<H: BlockHooks>(chain: &Chain<H>, n: u64) -> Vec<Block> {
    let mut blocks = Vec::new();
    for b in 0..n {
        let rw = chain.db().rw().unwrap();
        let txs = vec![transfer(2 * b), transfer(2 * b + 1)];
        let attrs = BlockAttributes { timestamp: b + 1, ..Default::default() };
        let block = chain.build_block(&rw, txs, &attrs).unwrap();
        chain.insert_block(&rw, &block).unwrap();
        rw.commit().unwrap();
        blocks.push(block);
    }
    blocks
}

fn balance<H: BlockHooks>(chain: &Chain<H>, who: Address) -> U256 {
    chain.db().ro().unwrap().account(&who).unwrap().map(|a| a.balance).unwrap_or_default()
}

/// Issuance per block with 1,000 BTT staked at 6.5% a year and 1 s blocks.
fn minted_per_block() -> U256 {
    U256::from(1_000 * ONE) * U256::from(650) / U256::from(10_000) / U256::from(31_536_000u64)
}

#[test]
fn base_fees_and_issuance_go_to_stake_manager_and_importers_agree() {
    let g = genesis(None);
    let (_d1, producer) = open(&g, StakingHooks::new(AllSigned(1)));
    let before = balance(&producer, STAKE_MANAGER);
    let blocks = grow(&producer, 4);
    let fees: U256 = blocks
        .iter()
        .map(|b| U256::from(b.header.gas_used) * U256::from(b.header.base_fee_per_gas.unwrap()))
        .sum();
    assert!(fees > U256::ZERO);
    assert_eq!(
        balance(&producer, STAKE_MANAGER) - before,
        fees + minted_per_block() * U256::from(4),
        "every block's base fees and issuance are credited"
    );

    // Another node with the same hooks imports the blocks: same state roots.
    let (_d2, importer) = open(&g, StakingHooks::new(AllSigned(1)));
    for block in &blocks {
        let rw = importer.db().rw().unwrap();
        importer.insert_block(&rw, block).unwrap();
        rw.commit().unwrap();
    }
    assert_eq!(importer.head().unwrap().hash, producer.head().unwrap().hash);

    // A node without the hooks computes another state: the first block is refused.
    let (_d3, plain) = open(&g, NoHooks);
    let rw = plain.db().rw().unwrap();
    let err = plain.insert_block(&rw, &blocks[0]).unwrap_err();
    assert!(matches!(err, BlockError::StateRoot { .. }), "{err}");
}

#[test]
fn a_reverting_stake_manager_leaves_the_chain_live() {
    // PUSH1 0 PUSH1 0 REVERT: every call reverts.
    let g = genesis(Some(Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xfd])));
    let (_d1, producer) = open(&g, StakingHooks::new(AllSigned(1)));
    let before = balance(&producer, STAKE_MANAGER);
    let blocks = grow(&producer, 3);
    assert_eq!(producer.head().unwrap().number, 3, "blocks are built and committed");
    assert_eq!(balance(&producer, STAKE_MANAGER), before, "nothing credited: base fees burned");
    let (_d2, importer) = open(&g, StakingHooks::new(AllSigned(1)));
    for block in &blocks {
        let rw = importer.db().rw().unwrap();
        importer.insert_block(&rw, block).unwrap();
        rw.commit().unwrap();
    }
    assert_eq!(importer.head().unwrap().hash, producer.head().unwrap().hash, "and imported");
}

/// Builds and commits one empty block with `extra` as its extraData; returns it.
fn block_with_extra<H: BlockHooks>(chain: &Chain<H>, extra: Bytes) -> Block {
    let rw = chain.db().rw().unwrap();
    let number = chain.head().unwrap().number + 1;
    let attrs = BlockAttributes { timestamp: number, extra_data: extra, ..Default::default() };
    let block = chain.build_block(&rw, Vec::new(), &attrs).unwrap();
    chain.insert_block(&rw, &block).unwrap();
    rw.commit().unwrap();
    block
}

#[test]
fn evidence_in_a_block_slashes_once_and_nothing_else_runs_in_its_place() {
    use alloy_sol_types::SolCall;
    use bttc_consensus::{
        BlockHeight, BlockValue, BttcContext, EthSignature, ValidatorAddress, Vote,
        core_types::{NilOrVal, Round, SignedMessage, VoteType},
        vote_signing_hash,
    };
    use bttc_contracts::stake_manager::StakeManager as SM;
    use bttc_primitives::LastCommit;
    use bttc_staking::{LastCommitSigners, evidence::double_vote_call, stake_manager_view};

    let g = genesis(None);
    let (_d1, chain) = open(&g, StakingHooks::new(LastCommitSigners));
    grow(&chain, 3);
    // The validator precommits two blocks at height 2, round 0.
    let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(7)).unwrap();
    let signer = validator().address;
    assert_eq!(key.address(), signer);
    let vote = |value: B256| {
        let v = Vote {
            vote_type: VoteType::Precommit,
            height: BlockHeight(2),
            round: Round::new(0),
            value: NilOrVal::Val(BlockValue(value)),
            validator: ValidatorAddress(signer),
            extension: None,
        };
        let hash =
            vote_signing_hash(CHAIN_ID, v.vote_type, v.height, v.round, &v.value, &v.validator);
        let sig: [u8; 65] = key.sign_hash_sync(&hash).unwrap().as_bytes();
        SignedMessage::<BttcContext, Vote>::new(v, EthSignature(sig))
    };
    let call = double_vote_call(signer, &vote(B256::repeat_byte(1)), &vote(B256::repeat_byte(2)));
    let commit = |evidence: Vec<Bytes>| {
        LastCommit {
            round: 0,
            signers: U256::from(1),
            signatures: vec![[0; 65]],
            evidence,
            state_syncs: Vec::new(),
        }
        .encode()
    };
    let stake = |chain: &Chain<StakingHooks<LastCommitSigners>>| {
        let ro = chain.db().ro().unwrap();
        let n = chain.head().unwrap().number;
        let v = stake_manager_view(CHAIN_ID, &ro, n, &SM::getValidatorCall { id: 1 }).unwrap();
        (v.stake, v.tombstoned)
    };
    assert_eq!(stake(&chain), (U256::from(1_000 * ONE), false));

    // The same evidence twice in one block: slashed 5% once, tombstoned.
    let b4 = block_with_extra(&chain, commit(vec![call.clone(), call.clone()]));
    assert_eq!(stake(&chain), (U256::from(950 * ONE), true));
    // Again in a later block: refused by the contract, nothing changes.
    let b5 = block_with_extra(&chain, commit(vec![call.clone()]));
    assert_eq!(stake(&chain), (U256::from(950 * ONE), true));
    // Calldata that is not evidence (a second blockEnd) never runs: the block credits the
    // contract with one block's issuance, as every block does.
    let before = balance(&chain, STAKE_MANAGER);
    let forged = SM::blockEndCall { signedBitmap: U256::from(1), fees: U256::from(ONE) };
    let b6 = block_with_extra(&chain, commit(vec![forged.abi_encode().into()]));
    // (Issuance follows the stake elected for the epoch, 1,000 BTT, not the slashed stake.)
    assert_eq!(balance(&chain, STAKE_MANAGER) - before, minted_per_block());

    // Another node imports the same blocks to the same state.
    let (_d2, importer) = open(&g, StakingHooks::new(LastCommitSigners));
    for n in 1..=3 {
        let block = chain.db().ro().unwrap().block(n).unwrap().unwrap();
        let rw = importer.db().rw().unwrap();
        importer.insert_block(&rw, &block).unwrap();
        rw.commit().unwrap();
    }
    for block in [&b4, &b5, &b6] {
        let rw = importer.db().rw().unwrap();
        importer.insert_block(&rw, block).unwrap();
        rw.commit().unwrap();
    }
    assert_eq!(importer.head().unwrap().hash, chain.head().unwrap().hash);
}

#[test]
fn state_syncs_in_a_block_are_delivered_once_in_order_before_its_transactions() {
    use bttc_contracts::{
        BTT_TOKEN, STATE_RECEIVER,
        bridge::{deposit_sync, map_token_sync},
    };
    use bttc_primitives::{LastCommit, StateSyncRecord};
    use bttc_staking::LastCommitSigners;

    const ROOT: u64 = 31_337;
    let root_btt = address!("00000000000000000000000000000000000000b7");
    let user = address!("00000000000000000000000000000000000000c1");
    // A genesis whose BTT wrapper holds a 1,000 BTT reserve.
    let mut g: Genesis = serde_json::from_str(&genesis(None)).unwrap();
    g.alloc.get_mut(&BTT_TOKEN).unwrap().balance = U256::from(1_000 * ONE);
    let g = serde_json::to_string(&g).unwrap();
    let (_d1, chain) = open(&g, StakingHooks::new(LastCommitSigners));
    grow(&chain, 1);
    let record = |id: u64, receiver: Address, data: Bytes| StateSyncRecord {
        root_id: ROOT,
        id,
        time: 1_000 + id,
        receiver,
        data,
    };
    let commit = |records: Vec<StateSyncRecord>| {
        LastCommit {
            round: 0,
            signers: U256::from(1),
            signatures: vec![[0; 65]],
            state_syncs: records,
            ..Default::default()
        }
        .encode()
    };
    let ccm = bttc_contracts::CHILD_CHAIN_MANAGER;
    let last_id = |chain: &Chain<StakingHooks<LastCommitSigners>>| {
        let ro = chain.db().ro().unwrap();
        ro.storage(&STATE_RECEIVER, &bttc_contracts::state_sync::last_state_id_slot(ROOT)).unwrap()
    };
    use alloy_sol_types::SolValue;

    // Block 2: map root BTT to the wrapper, deposit 7 BTT, a record to a receiver that
    // reverts (StakeManager refuses onStateReceive), then 5 BTT more.
    let b2 = block_with_extra(
        &chain,
        commit(vec![
            record(1, ccm, map_token_sync(root_btt, BTT_TOKEN)),
            record(2, ccm, deposit_sync(user, root_btt, U256::from(7 * ONE))),
            record(3, STAKE_MANAGER, Bytes::from_static(b"no")),
            record(4, ccm, deposit_sync(user, root_btt, U256::from(5 * ONE))),
        ]),
    );
    assert_eq!(balance(&chain, user), U256::from(12 * ONE), "both deposits credited");
    assert_eq!(balance(&chain, BTT_TOKEN), U256::from(988 * ONE), "out of the reserve");
    assert_eq!(last_id(&chain), U256::from(4));
    // failedStateSyncs[ROOT][3] (slot 1) holds keccak256(abi.encode(receiver, data)).
    let failed = {
        let inner =
            alloy_primitives::keccak256((U256::from(ROOT), U256::from(1)).abi_encode_params());
        let slot = alloy_primitives::keccak256((U256::from(3), inner).abi_encode_params());
        chain.db().ro().unwrap().storage(&STATE_RECEIVER, &slot).unwrap()
    };
    let kept =
        alloy_primitives::keccak256((STAKE_MANAGER, Bytes::from_static(b"no")).abi_encode_params());
    assert_eq!(B256::from(failed), kept, "the failed record is kept for a replay");
    let mapped = {
        let ro = chain.db().ro().unwrap();
        let slot = alloy_primitives::keccak256((root_btt, U256::ZERO).abi_encode_params());
        ro.storage(&ccm, &slot).unwrap()
    };
    assert_eq!(mapped, U256::from_be_slice(BTT_TOKEN.as_slice()), "the mapping landed");
    let receipts = chain.db().ro().unwrap().receipts(2).unwrap().unwrap_or_default();
    assert!(receipts.is_empty(), "system calls leave no receipts");
    // Their logs are the block's system logs: four StateCommitted, the mapping, two BTT
    // deposits (the wrapper's Deposit) and the manager's Deposited events.
    use alloy_sol_types::SolEvent;
    let logs = chain.db().ro().unwrap().system_logs(2).unwrap();
    let count = |sig: B256| logs.iter().filter(|l| l.topics().first() == Some(&sig)).count();
    use bttc_contracts::{bridge::ChildChainManager as CCM, state_sync::StateReceiver as SR};
    assert_eq!(count(SR::StateCommitted::SIGNATURE_HASH), 4);
    assert_eq!(count(SR::StateSyncFailed::SIGNATURE_HASH), 1);
    assert_eq!(count(CCM::TokenMapped::SIGNATURE_HASH), 1);
    assert_eq!(count(CCM::Deposited::SIGNATURE_HASH), 2);

    // Block 3: a replay of id 4 and a gap (id 6) are refused by StateReceiver: nothing moves.
    let b3 = block_with_extra(
        &chain,
        commit(vec![
            record(4, ccm, deposit_sync(user, root_btt, U256::from(5 * ONE))),
            record(6, ccm, deposit_sync(user, root_btt, U256::from(9 * ONE))),
        ]),
    );
    assert_eq!(balance(&chain, user), U256::from(12 * ONE), "no double credit, no gap");
    assert_eq!(last_id(&chain), U256::from(4));
    assert!(chain.db().ro().unwrap().system_logs(3).unwrap().is_empty(), "refused: no logs");

    // Another node imports the blocks to the same state.
    let (_d2, importer) = open(&g, StakingHooks::new(LastCommitSigners));
    {
        let block = chain.db().ro().unwrap().block(1).unwrap().unwrap();
        let rw = importer.db().rw().unwrap();
        importer.insert_block(&rw, &block).unwrap();
        rw.commit().unwrap();
    }
    for block in [&b2, &b3] {
        let rw = importer.db().rw().unwrap();
        importer.insert_block(&rw, block).unwrap();
        rw.commit().unwrap();
    }
    assert_eq!(importer.head().unwrap().hash, chain.head().unwrap().hash);
    assert_eq!(balance(&importer, user), U256::from(12 * ONE));
}
