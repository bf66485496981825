//! The pool against a real MDBX state in a temp dir.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEip4844, TxLegacy};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use bttc_primitives::{Account, TxEnvelope};
use bttc_storage::{AccountChange, DatabaseEnv, DbOptions, Provider, Ro, StateChanges};
use bttc_txpool::{PoolConfig, PoolError, TxPool, ValidationContext};
use revm::primitives::hardfork::SpecId;

const CHAIN: u64 = 777;
const TO: Address = address!("00000000000000000000000000000000000000dd");
const GWEI: u128 = 1_000_000_000;

fn key(i: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(i + 1)).unwrap()
}

fn ctx() -> ValidationContext {
    ValidationContext {
        chain_id: CHAIN,
        spec: SpecId::PRAGUE,
        block_gas_limit: 30_000_000,
        blobs_allowed: false,
        min_priority_fee: 1,
        max_tx_size: 128 * 1024,
    }
}

struct State {
    _dir: tempfile::TempDir,
    db: DatabaseEnv,
}

impl State {
    fn new(accounts: &[(u8, u64, u128)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
        let s = Self { _dir: dir, db };
        s.set(1, accounts);
        s
    }
    fn set(&self, block: u64, accounts: &[(u8, u64, u128)]) {
        let rw = self.db.rw().unwrap();
        let accounts = accounts
            .iter()
            .map(|(k, nonce, balance)| AccountChange {
                address: key(*k).address(),
                original: None,
                new: Some(Account {
                    nonce: *nonce,
                    balance: U256::from(*balance),
                    ..Default::default()
                }),
                wiped: false,
                storage: vec![],
            })
            .collect();
        rw.write_state(block, &StateChanges { accounts, codes: vec![] }).unwrap();
        rw.commit().unwrap();
    }
    fn ro(&self) -> Provider<Ro> {
        self.db.ro().unwrap()
    }
}

fn tx1559(from: u8, nonce: u64, fee_cap: u128, tip: u128) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id: CHAIN,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: fee_cap,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(TO),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let sig = key(from).sign_hash_sync(&tx.signature_hash()).unwrap();
    tx.into_signed(sig).into()
}

fn with(tx: TxEip1559, from: u8) -> TxEnvelope {
    let sig = key(from).sign_hash_sync(&tx.signature_hash()).unwrap();
    tx.into_signed(sig).into()
}

const RICH: u128 = 1_000_000 * GWEI * GWEI;

#[test]
fn pending_queued_and_gap_filling() {
    let st = State::new(&[(0, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    let a = pool.add(tx1559(0, 0, 10 * GWEI, GWEI), &st.ro(), &ctx()).unwrap();
    assert!(a.pending);
    let c = pool.add(tx1559(0, 2, 10 * GWEI, GWEI), &st.ro(), &ctx()).unwrap();
    assert!(!c.pending, "nonce 2 waits for nonce 1");
    assert_eq!(pool.status().pending, 1);
    assert_eq!(pool.status().queued, 1);
    pool.add(tx1559(0, 1, 10 * GWEI, GWEI), &st.ro(), &ctx()).unwrap();
    assert_eq!(pool.status().pending, 3);
    assert_eq!(pool.status().queued, 0);
    assert_eq!(
        pool.add(tx1559(0, 1, 10 * GWEI, GWEI), &st.ro(), &ctx()),
        Err(PoolError::AlreadyKnown)
    );
}

#[test]
fn replacement_needs_a_ten_percent_bump() {
    let st = State::new(&[(0, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    let first = pool.add(tx1559(0, 0, 100 * GWEI, 10 * GWEI), &st.ro(), &ctx()).unwrap();
    let err = pool.add(tx1559(0, 0, 105 * GWEI, 11 * GWEI), &st.ro(), &ctx()).unwrap_err();
    assert_eq!(err, PoolError::ReplacementUnderpriced);
    assert_eq!(err.to_string(), "replacement transaction underpriced");
    let second = pool.add(tx1559(0, 0, 110 * GWEI, 11 * GWEI), &st.ro(), &ctx()).unwrap();
    assert_eq!(second.replaced, Some(first.hash));
    assert!(pool.get(&first.hash).is_none());
    assert_eq!(pool.len(), 1);
}

#[test]
fn invalid_transactions_get_geths_errors() {
    let st = State::new(&[(0, 3, RICH), (1, 0, 1000)]);
    let pool = TxPool::new(PoolConfig::default());
    let ro = st.ro();
    let err = pool.add(tx1559(0, 2, 10 * GWEI, GWEI), &ro, &ctx()).unwrap_err();
    assert!(err.to_string().starts_with("nonce too low"), "{err}");
    let err = pool.add(tx1559(1, 0, 10 * GWEI, GWEI), &ro, &ctx()).unwrap_err();
    assert!(err.to_string().starts_with("insufficient funds for gas * price + value"), "{err}");
    let base = TxEip1559 {
        chain_id: CHAIN,
        nonce: 3,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(TO),
        value: U256::ZERO,
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let err = pool
        .add(with(TxEip1559 { gas_limit: 20_000, ..base.clone() }, 0), &ro, &ctx())
        .unwrap_err();
    assert_eq!(err.to_string(), "intrinsic gas too low: gas 20000, minimum needed 21000");
    let err = pool
        .add(with(TxEip1559 { gas_limit: 31_000_000, ..base.clone() }, 0), &ro, &ctx())
        .unwrap_err();
    assert_eq!(err, PoolError::ExceedsBlockGasLimit);
    let err =
        pool.add(with(TxEip1559 { chain_id: 1, ..base.clone() }, 0), &ro, &ctx()).unwrap_err();
    assert_eq!(err, PoolError::ChainId { got: 1, expected: CHAIN });
    let err = pool
        .add(
            with(TxEip1559 { max_priority_fee_per_gas: 20 * GWEI, ..base.clone() }, 0),
            &ro,
            &ctx(),
        )
        .unwrap_err();
    assert_eq!(err, PoolError::TipAboveFeeCap);
    let err = pool
        .add(with(TxEip1559 { max_priority_fee_per_gas: 0, ..base.clone() }, 0), &ro, &ctx())
        .unwrap_err();
    assert!(matches!(err, PoolError::Underpriced { .. }), "{err}");
    let big = with(
        TxEip1559 {
            input: Bytes::from(vec![1u8; 130 * 1024]),
            gas_limit: 29_000_000,
            ..base.clone()
        },
        0,
    );
    assert!(matches!(pool.add(big, &ro, &ctx()).unwrap_err(), PoolError::Oversized { .. }));
    let legacy = TxLegacy {
        chain_id: None,
        nonce: 3,
        gas_price: 10 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(TO),
        value: U256::ZERO,
        input: Bytes::new(),
    };
    let sig = key(0).sign_hash_sync(&legacy.signature_hash()).unwrap();
    assert_eq!(
        pool.add(legacy.into_signed(sig).into(), &ro, &ctx()).unwrap_err(),
        PoolError::Unprotected
    );
    let blob = TxEip4844 {
        chain_id: CHAIN,
        nonce: 3,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TO,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: vec![B256::with_last_byte(1)],
        max_fee_per_blob_gas: 1,
        input: Bytes::new(),
    };
    let sig = key(0).sign_hash_sync(&blob.signature_hash()).unwrap();
    assert_eq!(
        pool.add(blob.into_signed(sig).into(), &ro, &ctx()).unwrap_err(),
        PoolError::TypeNotSupported
    );
    assert!(pool.is_empty(), "nothing invalid got in");
}

#[test]
fn best_transactions_order_by_tip_and_keep_nonce_order() {
    let st = State::new(&[(0, 0, RICH), (1, 0, RICH), (2, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    let ro = st.ro();
    let a0 = pool.add(tx1559(0, 0, 100 * GWEI, 2 * GWEI), &ro, &ctx()).unwrap().hash;
    let a1 = pool.add(tx1559(0, 1, 100 * GWEI, 50 * GWEI), &ro, &ctx()).unwrap().hash;
    let b0 = pool.add(tx1559(1, 0, 100 * GWEI, 10 * GWEI), &ro, &ctx()).unwrap().hash;
    let cheap = pool.add(tx1559(2, 0, 5 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    let best: Vec<B256> = pool.best_transactions(10 * GWEI as u64).iter().map(|t| t.hash).collect();
    // b0 tips 10, a0 only 2 but a1 (tip 50) must wait for a0; the fee cap of `cheap` is
    // below the base fee.
    assert_eq!(best, vec![b0, a0, a1]);
    assert!(!best.contains(&cheap));
    let best: Vec<B256> = pool.best_transactions(1).iter().map(|t| t.hash).collect();
    assert_eq!(best.len(), 4);
}

#[test]
fn new_blocks_remove_mined_and_promote_queued() {
    let st = State::new(&[(0, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    for n in [0, 1, 3] {
        pool.add(tx1559(0, n, 10 * GWEI, GWEI), &st.ro(), &ctx()).unwrap();
    }
    assert_eq!(pool.status().queued, 1);
    // Nonces 0..=2 were mined (2 by a transaction from elsewhere).
    st.set(2, &[(0, 3, RICH)]);
    let removed = pool.on_new_block(&st.ro());
    assert_eq!(removed.len(), 2);
    assert_eq!(pool.status().pending, 1, "nonce 3 is now executable");
    // The sender went broke: its transaction is dropped.
    st.set(3, &[(0, 3, 10)]);
    assert_eq!(pool.on_new_block(&st.ro()).len(), 1);
    assert!(pool.is_empty());
}

#[test]
fn limits_per_sender_and_global_eviction_of_the_cheapest() {
    let st = State::new(&[(0, 0, RICH), (1, 0, RICH), (2, 0, RICH)]);
    let pool = TxPool::new(PoolConfig {
        max_account_slots: 2,
        max_transactions: 3,
        price_bump_percent: 10,
    });
    let ro = st.ro();
    pool.add(tx1559(0, 0, 100 * GWEI, 5 * GWEI), &ro, &ctx()).unwrap();
    pool.add(tx1559(0, 1, 100 * GWEI, 5 * GWEI), &ro, &ctx()).unwrap();
    assert!(matches!(
        pool.add(tx1559(0, 2, 100 * GWEI, 5 * GWEI), &ro, &ctx()),
        Err(PoolError::SenderFull { .. })
    ));
    let cheap = pool.add(tx1559(1, 0, 100 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    assert_eq!(pool.len(), 3);
    // Full: a newcomer paying no more than the cheapest is refused ...
    assert_eq!(pool.add(tx1559(2, 0, 100 * GWEI, GWEI), &ro, &ctx()), Err(PoolError::PoolFull));
    // ... one paying more evicts it.
    pool.add(tx1559(2, 0, 100 * GWEI, 3 * GWEI), &ro, &ctx()).unwrap();
    assert!(pool.get(&cheap).is_none());
    assert_eq!(pool.len(), 3);
}
