//! End-to-end: genesis, blocks of signed transactions built and imported through the one
//! block path, on real MDBX databases in temp dirs.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEip4844, TxLegacy};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_rlp::Encodable;
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use bttc_chain::{
    BlockAttributes, BlockError, Chain, ImportError, ImportOptions, import_rlp, init_genesis,
};
use bttc_primitives::{Block, Transaction};
use bttc_storage::{DatabaseEnv, DbOptions, HistoricalState, StateProvider};

const CHAIN_ID: u64 = 1337;
const RECIPIENT: Address = address!("000000000000000000000000000000000000beef");
const ONE_ETH: u128 = 1_000_000_000_000_000_000;

fn signer(i: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(i + 1)).unwrap()
}

fn genesis(extra_config: &str) -> String {
    let mut alloc: Vec<String> = (0..3)
        .map(|i| format!(r#""{}": {{"balance": "0x{:x}"}}"#, signer(i).address(), 100 * ONE_ETH))
        .collect();
    alloc.extend(bttc_chainspec::system_predeploys_alloc_json());
    format!(
        r#"{{"config": {{"chainId": {CHAIN_ID}, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
        "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0,
        "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0 {extra_config}}},
        "gasLimit": "0x1c9c380", "difficulty": "0x0", "timestamp": "0x0", "alloc": {{ {} }} }}"#,
        alloc.join(",")
    )
}

fn post_merge() -> String {
    genesis(
        r#", "mergeNetsplitBlock": 0, "terminalTotalDifficulty": 0, "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0"#,
    )
}

fn transfer(from: u8, nonce: u64, value: u128) -> Transaction {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(RECIPIENT),
        value: U256::from(value),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let sig = signer(from).sign_hash_sync(&tx.signature_hash()).unwrap();
    tx.into_signed(sig).into()
}

fn open(genesis_json: &str) -> (tempfile::TempDir, Chain) {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    init_genesis(&db, genesis_json).unwrap();
    (dir, Chain::open(db).unwrap())
}

fn attrs(ts: u64) -> BlockAttributes {
    BlockAttributes {
        timestamp: ts,
        beneficiary: address!("00000000000000000000000000000000000c0ffe"),
        ..Default::default()
    }
}

/// Builds and inserts `n` blocks of 3 transfers each; returns them.
fn grow(chain: &Chain, n: u64) -> Vec<Block> {
    let mut blocks = Vec::new();
    for b in 0..n {
        let rw = chain.db().rw().unwrap();
        let txs = (0..3).map(|s| transfer(s, b, ONE_ETH)).collect();
        let block = chain.build_block(&rw, txs, &attrs(12 * (b + 1))).unwrap();
        chain.insert_block(&rw, &block).unwrap();
        rw.commit().unwrap();
        blocks.push(block);
    }
    blocks
}

fn rlp_file(blocks: &[Block]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in blocks {
        b.encode(&mut out);
    }
    out
}

#[test]
fn built_blocks_execute_and_history_is_readable() {
    let (_dir, chain) = open(&post_merge());
    grow(&chain, 4);
    let head = chain.head().unwrap();
    assert_eq!(head.number, 4);
    let ro = chain.db().ro().unwrap();
    assert_eq!(ro.account(&RECIPIENT).unwrap().unwrap().balance, U256::from(12 * ONE_ETH));
    assert_eq!(
        HistoricalState::new(&ro, 1).account(&RECIPIENT).unwrap().unwrap().balance,
        U256::from(3 * ONE_ETH)
    );
    assert_eq!(HistoricalState::new(&ro, 0).account(&RECIPIENT).unwrap(), None);
    assert_eq!(ro.account(&signer(0).address()).unwrap().unwrap().nonce, 4);
    let receipts = ro.receipts(4).unwrap().unwrap();
    assert_eq!(receipts.len(), 3);
    let block = ro.block(4).unwrap().unwrap();
    // Stored receipts (bloom recomputed on read) reproduce the header's receipts root.
    assert_eq!(
        alloy_consensus::proofs::calculate_receipt_root(&receipts),
        block.header.receipts_root
    );
    assert_eq!(block.header.hash_slow(), head.hash);
    let tx_hash = *block.body.transactions[1].tx_hash();
    let n = ro.transaction_number(&tx_hash).unwrap().unwrap();
    assert_eq!(ro.transaction_block(n).unwrap(), Some(4));
}

#[test]
fn import_of_exported_chain_matches_and_resumes() {
    let (_a, source) = open(&post_merge());
    let blocks = grow(&source, 6);
    let file = rlp_file(&blocks);

    let (_b, target) = open(&post_merge());
    let opts = ImportOptions { batch_blocks: 2, ..Default::default() };
    let summary = import_rlp(&target, &file, &opts, |_| {}).unwrap();
    assert_eq!(summary.head, source.head().unwrap());
    assert_eq!(summary.progress.imported, 6);
    assert_eq!(summary.progress.gas, 6 * 3 * 21_000);

    // Re-running skips what is there.
    let again = import_rlp(&target, &file, &opts, |_| {}).unwrap();
    assert_eq!(again.skipped, 6);
    assert_eq!(again.progress.imported, 0);

    // Importing a prefix first, then the whole file, continues where the first run stopped.
    let (_c, resumed) = open(&post_merge());
    let prefix = rlp_file(&blocks[..3]);
    import_rlp(&resumed, &prefix, &opts, |_| {}).unwrap();
    let rest = import_rlp(&resumed, &file, &opts, |_| {}).unwrap();
    assert_eq!((rest.skipped, rest.progress.imported), (3, 3));
    assert_eq!(rest.head, source.head().unwrap());
}

#[test]
fn malformed_file_changes_nothing() {
    let (_a, source) = open(&post_merge());
    let blocks = grow(&source, 3);
    let mut file = rlp_file(&blocks);
    file.truncate(file.len() - 5);
    let (_b, target) = open(&post_merge());
    let genesis_head = target.head().unwrap();
    let err = import_rlp(&target, &file, &ImportOptions::default(), |_| {}).unwrap_err();
    assert!(matches!(err, ImportError::File(_)), "{err}");
    assert!(err.to_string().contains("block #2"), "{err}");
    assert_eq!(target.head().unwrap(), genesis_head);

    // Valid framing but garbage inside the second block.
    let mut file = rlp_file(&blocks[..1]);
    file.extend_from_slice(&[0xc3, 0x01, 0x02, 0x03]);
    let err = import_rlp(&target, &file, &ImportOptions::default(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("block #1"), "{err}");
    assert_eq!(target.head().unwrap(), genesis_head);
}

fn expect_rejected(chain: &Chain, block: &Block, what: &str) -> BlockError {
    let head = chain.head().unwrap();
    let rw = chain.db().rw().unwrap();
    let err = chain.insert_block(&rw, block).expect_err(what);
    rw.commit().unwrap();
    assert_eq!(chain.head().unwrap(), head, "{what}: head moved");
    err
}

/// A chain of one block and a valid (not inserted) second block on it.
fn chain_and_next_block() -> (tempfile::TempDir, Chain, Block) {
    let (dir, chain) = open(&post_merge());
    grow(&chain, 1);
    let ro = chain.db().ro().unwrap();
    let good = chain.build_block(&ro, vec![transfer(0, 1, ONE_ETH)], &attrs(100)).unwrap();
    drop(ro);
    (dir, chain, good)
}

#[test]
fn invalid_blocks_are_rejected_and_head_stays() {
    let (_a, chain, good) = chain_and_next_block();

    let mut bad = good.clone();
    bad.header.state_root = B256::repeat_byte(9);
    assert!(matches!(expect_rejected(&chain, &bad, "state root"), BlockError::StateRoot { .. }));

    let mut bad = good.clone();
    bad.header.parent_hash = B256::repeat_byte(1);
    assert!(matches!(expect_rejected(&chain, &bad, "parent"), BlockError::UnknownParent { .. }));

    let mut bad = good.clone();
    bad.header.gas_used = bad.header.gas_limit + 1;
    let err = expect_rejected(&chain, &bad, "gas over limit");
    assert!(err.to_string().contains("gasUsed"), "{err}");

    let mut bad = good.clone();
    bad.header.timestamp = 12;
    let err = expect_rejected(&chain, &bad, "timestamp");
    assert!(err.to_string().contains("timestamp"), "{err}");

    // Nonce too low: replay the nonce-0 transfer of block 1.
    let ro = chain.db().ro().unwrap();
    let mut replay = good.clone();
    replay.body.transactions = vec![transfer(0, 0, ONE_ETH)];
    replay.header.transactions_root =
        alloy_consensus::proofs::calculate_transaction_root(&replay.body.transactions);
    drop(ro);
    let err = expect_rejected(&chain, &replay, "nonce too low");
    assert!(err.to_string().to_lowercase().contains("nonce"), "{err}");

    // Bad signature: a transaction whose signature does not recover.
    let mut forged = good.clone();
    let tx = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce: 1,
        gas_price: 10_000_000_000,
        gas_limit: 21_000,
        to: TxKind::Call(RECIPIENT),
        value: U256::from(1),
        input: Bytes::new(),
    };
    let sig = alloy_primitives::Signature::new(U256::ZERO, U256::from(1), false);
    forged.body.transactions = vec![tx.into_signed(sig).into()];
    forged.header.transactions_root =
        alloy_consensus::proofs::calculate_transaction_root(&forged.body.transactions);
    assert!(matches!(
        expect_rejected(&chain, &forged, "bad signature"),
        BlockError::Signature { .. }
    ));

    // The untouched block is still valid.
    let rw = chain.db().rw().unwrap();
    chain.insert_block(&rw, &good).unwrap();
    rw.commit().unwrap();
    assert_eq!(chain.head().unwrap().number, 2);
}

#[test]
fn bttc_chains_reject_blob_transactions() {
    let json = genesis(
        r#", "mergeNetsplitBlock": 0, "terminalTotalDifficulty": 0, "shanghaiTime": 0, "cancunTime": 0, "bttc": {}"#,
    );
    let (_a, chain) = open(&json);
    let tx = TxEip4844 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: RECIPIENT,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: vec![B256::with_last_byte(1)],
        max_fee_per_blob_gas: 1_000_000,
        input: Bytes::new(),
    };
    let sig = signer(0).sign_hash_sync(&tx.signature_hash()).unwrap();
    let blob: Transaction = tx.into_signed(sig).into();
    let ro = chain.db().ro().unwrap();
    let mut block = chain.build_block(&ro, vec![], &attrs(10)).unwrap();
    drop(ro);
    block.body.transactions = vec![blob];
    block.header.transactions_root =
        alloy_consensus::proofs::calculate_transaction_root(&block.body.transactions);
    let err = expect_rejected(&chain, &block, "blob tx on bttc");
    assert!(err.to_string().contains("type-3"), "{err}");
}

#[test]
fn pre_merge_blocks_pay_block_rewards() {
    let (_a, chain) = open(&genesis(""));
    let rw = chain.db().rw().unwrap();
    let block = chain.build_block(&rw, vec![transfer(1, 0, 5)], &attrs(15)).unwrap();
    chain.insert_block(&rw, &block).unwrap();
    rw.commit().unwrap();
    let ro = chain.db().ro().unwrap();
    let miner = ro.account(&attrs(0).beneficiary).unwrap().unwrap();
    // Petersburg block reward is 2 ETH, plus the priority fees of the transfer.
    let tip = U256::from(21_000u64 * 1_000_000_000);
    assert_eq!(miner.balance, U256::from(2 * ONE_ETH) + tip);
}

#[test]
fn init_refuses_a_different_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    let first = init_genesis(&db, &post_merge()).unwrap();
    assert!(matches!(first, bttc_chain::InitOutcome::Written { .. }));
    assert!(matches!(
        init_genesis(&db, &post_merge()).unwrap(),
        bttc_chain::InitOutcome::AlreadyInitialized { .. }
    ));
    let err = init_genesis(&db, &genesis("")).unwrap_err();
    assert!(err.to_string().contains("Refusing to overwrite"), "{err}");
}

#[test]
fn mutated_block_files_never_panic_and_never_corrupt() {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let (_a, source) = open(&post_merge());
    let blocks = grow(&source, 3);
    let file = rlp_file(&blocks);
    let mut rng = StdRng::seed_from_u64(7);
    let (_b, target) = open(&post_merge());
    for round in 0..150 {
        let mut data = file.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..data.len());
            data[i] = rng.random();
        }
        if round % 10 == 0 {
            data.truncate(rng.random_range(0..data.len()));
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            import_rlp(&target, &data, &ImportOptions::default(), |_| {})
        }));
        let result = result.unwrap_or_else(|_| panic!("import panicked in round {round}"));
        let _ = result;
        // Whatever happened, the stored head is consistent: its header hashes to the head hash
        // and its state root matches both the plain state and the trie.
        let head = target.head().unwrap();
        let ro = target.db().ro().unwrap();
        let header = ro.header(head.number).unwrap().unwrap();
        assert_eq!(header.hash_slow(), head.hash, "round {round}");
        assert_eq!(
            bttc_chain::verify::full_state_root(&ro, None).unwrap(),
            header.state_root,
            "round {round}"
        );
        assert_eq!(bttc_trie::stored_root(&ro).unwrap(), header.state_root, "round {round}");
    }
}

/// A contract creation whose init code returns one byte of runtime code (`0x00`).
fn create(from: u8, nonce: u64) -> Transaction {
    // PUSH1 1 PUSH1 0 RETURN: returns memory[0..1] = 0x00.
    let init = Bytes::from_static(&[0x60, 0x01, 0x60, 0x00, 0xf3]);
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Create,
        value: U256::ZERO,
        access_list: Default::default(),
        input: init,
    };
    let sig = signer(from).sign_hash_sync(&tx.signature_hash()).unwrap();
    tx.into_signed(sig).into()
}

/// The stored head is consistent: its header hashes to the head hash, and its state root
/// matches both a full recomputation over the plain state and the stored trie.
fn assert_consistent(chain: &Chain) {
    let head = chain.head().unwrap();
    let ro = chain.db().ro().unwrap();
    let header = ro.header(head.number).unwrap().unwrap();
    assert_eq!(header.hash_slow(), head.hash);
    assert_eq!(bttc_chain::verify::full_state_root(&ro, None).unwrap(), header.state_root);
    assert_eq!(bttc_trie::stored_root(&ro).unwrap(), header.state_root);
}

#[test]
fn a_failed_write_rolls_back_the_batch_and_a_rerun_completes() {
    // Blocks 1-3 are transfers, block 4 deploys a contract, blocks 5-6 are transfers.
    let (_a, source) = open(&post_merge());
    let mut blocks = grow(&source, 3);
    for (b, with_create) in [(3u64, true), (4, false), (5, false)] {
        let rw = source.db().rw().unwrap();
        // Signer 0 deploys instead of transferring in the deploying block.
        let mut txs: Vec<Transaction> =
            (u8::from(with_create)..3).map(|s| transfer(s, b, ONE_ETH)).collect();
        if with_create {
            txs.push(create(0, b));
        }
        let block = source.build_block(&rw, txs, &attrs(12 * (b + 1))).unwrap();
        source.insert_block(&rw, &block).unwrap();
        rw.commit().unwrap();
        blocks.push(block);
    }
    let file = rlp_file(&blocks);

    // The disk write of block 4's new contract code fails, after its header, body and
    // receipts were written and before its state and trie were.
    let (_b, target) = open(&post_merge());
    target.db().inject_write_fault(bttc_storage::Table::Bytecodes, 0);
    let opts = ImportOptions { batch_blocks: 100, ..Default::default() };
    let err = import_rlp(&target, &file, &opts, |_| {}).unwrap_err();
    match &err {
        ImportError::Write { number: 4, rolled_back: 3, head_number: 0, source, .. } => {
            assert!(matches!(**source, BlockError::Write { number: 4, .. }), "{source}");
            assert_eq!(source.class(), bttc_chain::ErrorClass::Internal);
        }
        other => panic!("expected a write failure at block 4, got {other}"),
    }
    assert!(err.to_string().contains("rolled back"), "{err}");
    // Nothing of the uncommitted batch was committed: the head is the genesis, and the
    // state under it is the genesis state.
    assert_eq!(target.head().unwrap().number, 0);
    assert_consistent(&target);
    let ro = target.db().ro().unwrap();
    assert_eq!(ro.account(&RECIPIENT).unwrap(), None);
    assert_eq!(ro.canonical_hash(1).unwrap(), None);
    drop(ro);

    // The fault fired once; running the import again brings in the whole file.
    let summary = import_rlp(&target, &file, &opts, |_| {}).unwrap();
    assert_eq!(summary.head, source.head().unwrap());
    assert_consistent(&target);
}

#[test]
fn a_block_is_not_the_head_until_its_state_and_trie_are_written() {
    let (_a, source) = open(&post_merge());
    let blocks = grow(&source, 2);
    let (_b, target) = open(&post_merge());
    let genesis = target.head().unwrap();
    // Fail the trie write of block 1 inside one transaction, then look at that transaction.
    target.db().inject_write_fault(bttc_storage::Table::AccountsTrie, 0);
    let rw = target.db().rw().unwrap();
    let err = target.insert_block(&rw, &blocks[0]).unwrap_err();
    assert!(matches!(err, BlockError::Write { number: 1, .. }), "{err}");
    assert!(!err.wrote_nothing());
    assert_eq!(rw.head().unwrap(), Some(genesis), "the head moved before the block was whole");
}

#[test]
fn errors_are_classified_by_the_rule_they_break() {
    use bttc_chain::ErrorClass;
    let (_a, chain, good) = chain_and_next_block();

    let mut bad = good.clone();
    bad.header.state_root = B256::repeat_byte(9);
    assert_eq!(expect_rejected(&chain, &bad, "state root").class(), ErrorClass::Result);
    let mut bad = good.clone();
    bad.header.receipts_root = B256::repeat_byte(9);
    assert_eq!(expect_rejected(&chain, &bad, "receipts root").class(), ErrorClass::Result);
    let mut bad = good.clone();
    bad.header.timestamp = 12;
    assert_eq!(expect_rejected(&chain, &bad, "timestamp").class(), ErrorClass::Header);
    let mut bad = good.clone();
    bad.body.transactions = vec![transfer(0, 0, ONE_ETH)];
    bad.header.transactions_root =
        alloy_consensus::proofs::calculate_transaction_root(&bad.body.transactions);
    let err = expect_rejected(&chain, &bad, "nonce too low");
    assert_eq!(err.class(), ErrorClass::Transaction, "{err}");
    assert!(err.wrote_nothing());
}

/// A genesis with every fork through Prague at 0 and a `bttc` section: a bttc chain, which
/// caps the block RLP size from genesis on. `gas_limit` in hex.
fn bttc_genesis(gas_limit: &str) -> String {
    let mut g: serde_json::Value = serde_json::from_str(&post_merge()).unwrap();
    g["config"]["bttc"] = serde_json::json!({});
    g["gasLimit"] = serde_json::json!(gas_limit);
    g.to_string()
}

/// A transfer carrying `len` zero bytes of calldata.
fn padded_transfer(from: u8, nonce: u64, len: usize) -> Transaction {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000 + 10 * len as u64,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(RECIPIENT),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::from(vec![0u8; len]),
    };
    let sig = signer(from).sign_hash_sync(&tx.signature_hash()).unwrap();
    tx.into_signed(sig).into()
}

#[test]
fn blocks_over_the_rlp_size_cap_are_refused_and_never_built() {
    const MB: usize = 1 << 20;
    let (_a, chain) = open(&bttc_genesis("0xbebc200")); // 200M gas
    // Six transactions of 1.5 MiB: 9 MiB together, over the 8 MiB cap.
    let txs: Vec<Transaction> =
        (0..6).map(|i| padded_transfer((i % 3) as u8, (i / 3) as u64, 3 * MB / 2)).collect();

    // The builder leaves out what does not fit, and says why.
    let ro = chain.db().ro().unwrap();
    let built = chain.build_block_from_candidates(&ro, txs.clone(), &attrs(12)).unwrap();
    drop(ro);
    let size = built.block.length();
    assert!(size <= bttc_primitives::MAX_RLP_BLOCK_SIZE, "built a {size}-byte block");
    assert_eq!(built.block.body.transactions.len(), 5);
    assert_eq!(built.deferred.len(), 1, "{:?}", built.deferred);
    assert!(built.deferred[0].1.contains("block size limit"), "{:?}", built.deferred);
    let rw = chain.db().rw().unwrap();
    chain.insert_block(&rw, &built.block).unwrap();
    drop(rw);

    // A block holding all six is refused before execution, as a header-class error.
    let mut big = built.block.clone();
    big.body.transactions = txs;
    big.header.transactions_root =
        alloy_consensus::proofs::calculate_transaction_root(&big.body.transactions);
    let err = expect_rejected(&chain, &big, "oversized block");
    match err {
        BlockError::BlockSize { size, max } => {
            assert_eq!(max, bttc_primitives::MAX_RLP_BLOCK_SIZE);
            assert_eq!(size, big.length());
        }
        other => panic!("expected the size cap, got {other}"),
    }

    // An Ethereum chain before Osaka has no cap: the same block gets past the size check (and
    // fails later, on its roots).
    let mut eth: serde_json::Value = serde_json::from_str(&post_merge()).unwrap();
    eth["gasLimit"] = serde_json::json!("0xbebc200");
    let (_b, eth_chain) = open(&eth.to_string());
    let mut on_eth = big.clone();
    on_eth.header.parent_hash = eth_chain.head().unwrap().hash;
    let err = expect_rejected(&eth_chain, &on_eth, "pre-Osaka block");
    assert!(!matches!(err, BlockError::BlockSize { .. }), "{err}");
}
