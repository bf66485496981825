//! The pool against a real MDBX state in a temp dir.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEip4844, TxLegacy};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use bttc_primitives::{Account, TxEnvelope};
use bttc_storage::{AccountChange, DatabaseEnv, DbOptions, Provider, Ro, StateChanges};
use bttc_txpool::{PoolConfig, PoolError, SubPool, TxPool, ValidationContext};
use revm::primitives::hardfork::SpecId;
use std::time::{Duration, Instant};

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
        base_fee: 0,
    }
}

/// [`ctx`] for a next block with `base_fee`.
fn ctx_at(base_fee: u64) -> ValidationContext {
    ValidationContext { base_fee, ..ctx() }
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
    let removed = pool.on_new_block(&st.ro(), 0);
    assert_eq!(removed.len(), 2);
    assert_eq!(pool.status().pending, 1, "nonce 3 is now executable");
    // The sender went broke: its transaction is dropped.
    st.set(3, &[(0, 3, 10)]);
    assert_eq!(pool.on_new_block(&st.ro(), 0).len(), 1);
    assert!(pool.is_empty());
}

fn limits(pending_slots: usize, queued_slots: usize, account_slots: usize) -> PoolConfig {
    PoolConfig { pending_slots, queued_slots, account_slots, ..PoolConfig::default() }
}

#[test]
fn one_sender_may_send_a_thousand_at_once() {
    let st = State::new(&[(0, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    let ro = st.ro();
    for n in 0..1000 {
        let out = pool
            .add(tx1559(0, n, 10 * GWEI, GWEI), &ro, &ctx())
            .unwrap_or_else(|e| panic!("nonce {n}: {e}"));
        assert!(out.pending, "nonce {n}");
    }
    assert_eq!((pool.status().pending, pool.status().queued), (1000, 0));
    assert_eq!(pool.pending_nonce(&key(0).address()), Some(1000));
    assert_eq!(pool.best_transactions(0).len(), 1000);
}

#[test]
fn five_thousand_from_ten_senders_fit_the_default_pool() {
    let accounts: Vec<_> = (0..10).map(|k| (k, 0, RICH)).collect();
    let st = State::new(&accounts);
    let pool = TxPool::new(PoolConfig::default());
    let ro = st.ro();
    for n in 0..500 {
        for k in 0..10 {
            pool.add(tx1559(k, n, 10 * GWEI, GWEI), &ro, &ctx())
                .unwrap_or_else(|e| panic!("sender {k} nonce {n}: {e}"));
        }
    }
    assert_eq!((pool.status().pending, pool.status().queued), (5000, 0));
}

#[test]
fn a_gapped_flood_does_not_lock_out_honest_senders() {
    // 128 accounts send 64 high-tip transactions each, all behind a nonce they never send:
    // they could never run and never pay. Before, they filled all 8,192 slots.
    let mut accounts: Vec<_> = (1..=128).map(|k| (k, 0, RICH)).collect();
    accounts.extend([(0, 0, RICH), (200, 0, RICH)]);
    let st = State::new(&accounts);
    let pool = TxPool::new(PoolConfig::default());
    let ro = st.ro();
    for k in 1..=128u8 {
        for n in 1..=64 {
            let _ = pool.add(tx1559(k, n, 1000 * GWEI, 100 * GWEI), &ro, &ctx());
        }
    }
    let queued_slots = PoolConfig::default().queued_slots;
    assert_eq!(pool.status().pending, 0);
    assert_eq!(pool.status().queued, queued_slots, "the flood is held to the queued part");
    // An honest sender's burst at a hundredth of the tip gets in whole ...
    for n in 0..1000 {
        pool.add(tx1559(0, n, 10 * GWEI, GWEI), &ro, &ctx())
            .unwrap_or_else(|e| panic!("honest nonce {n}: {e}"));
    }
    // ... and so does an honest out-of-order transaction: it takes the place of the queue
    // of the sender silent longest.
    let early = pool.add(tx1559(200, 1, 10 * GWEI, GWEI), &ro, &ctx()).unwrap();
    assert!(!early.pending);
    assert_eq!((pool.status().pending, pool.status().queued), (1000, queued_slots));
    let late = pool.add(tx1559(200, 0, 10 * GWEI, GWEI), &ro, &ctx()).unwrap();
    assert!(late.pending && pool.get(&early.hash).is_some());
    assert_eq!(pool.pending_nonce(&key(200).address()), Some(2), "the gap filled: both pending");
}

#[test]
fn balance_covers_a_senders_transactions_together() {
    let cost = 21_000 * 10 * GWEI + 1;
    let st = State::new(&[(0, 0, 2 * cost + cost / 2)]);
    let pool = TxPool::new(PoolConfig::default());
    let ro = st.ro();
    pool.add(tx1559(0, 0, 10 * GWEI, GWEI), &ro, &ctx()).unwrap();
    let second = pool.add(tx1559(0, 1, 10 * GWEI, GWEI), &ro, &ctx()).unwrap();
    // Each is affordable alone; a third is not on top of the two.
    for nonce in [2, 3] {
        let err = pool.add(tx1559(0, nonce, 10 * GWEI, GWEI), &ro, &ctx()).unwrap_err();
        assert_eq!(
            err,
            PoolError::InsufficientFundsCumulative {
                balance: U256::from(2 * cost + cost / 2),
                pending_cost: U256::from(2 * cost),
                cost: U256::from(cost),
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "insufficient funds for gas * price + value: balance {}, queued cost {}, tx cost {cost}, overshot {}",
                2 * cost + cost / 2,
                2 * cost,
                cost - cost / 2
            )
        );
    }
    // A replacement counts only what it adds.
    let bumped = pool.add(tx1559(0, 1, 11 * GWEI, 2 * GWEI), &ro, &ctx()).unwrap();
    assert_eq!(bumped.replaced, Some(second.hash));
    let err = pool.add(tx1559(0, 1, 20 * GWEI, 3 * GWEI), &ro, &ctx()).unwrap_err();
    assert!(matches!(err, PoolError::InsufficientFundsCumulative { .. }), "{err}");
    assert_eq!(pool.len(), 2);
}

#[test]
fn nonce_gaps_are_bounded() {
    let st = State::new(&[(0, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    let ro = st.ro();
    pool.add(tx1559(0, 0, 10 * GWEI, GWEI), &ro, &ctx()).unwrap();
    // Next executable nonce 1: nonce 65 leaves the widest gap allowed (64), 66 one too wide.
    assert!(!pool.add(tx1559(0, 65, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().pending);
    let err = pool.add(tx1559(0, 66, 10 * GWEI, GWEI), &ro, &ctx()).unwrap_err();
    assert_eq!(
        err,
        PoolError::NonceTooHigh { sender: key(0).address(), got: 66, next: 1, max_gap: 64 }
    );
    assert!(err.to_string().starts_with("nonce too high"), "{err}");
}

#[test]
fn a_sender_queues_at_most_account_queue_transactions() {
    let st = State::new(&[(0, 0, RICH)]);
    let pool = TxPool::new(PoolConfig { account_queue: 2, ..PoolConfig::default() });
    let ro = st.ro();
    let mut hashes = Vec::new();
    for n in 0..4 {
        hashes.push(pool.add(tx1559(0, n, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash);
    }
    pool.add(tx1559(0, 5, 10 * GWEI, GWEI), &ro, &ctx()).unwrap();
    pool.add(tx1559(0, 6, 10 * GWEI, GWEI), &ro, &ctx()).unwrap();
    // Nonce 3 leaves (a block builder could not execute it): 5 and 6 are two queued
    // transactions already, so 4 may not join them although its gap is small.
    pool.remove(&hashes[3]).unwrap();
    assert_eq!(pool.status().queued, 2);
    let err = pool.add(tx1559(0, 4, 10 * GWEI, GWEI), &ro, &ctx()).unwrap_err();
    assert_eq!(err, PoolError::AccountLimitExceeded { sender: key(0).address(), count: 2, max: 2 });
    assert!(err.to_string().starts_with("account limit exceeded"), "{err}");
}

#[test]
fn queued_transactions_expire_after_the_lifetime() {
    let st = State::new(&[(0, 0, RICH), (1, 0, RICH), (2, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    let lifetime = PoolConfig::default().queued_lifetime;
    let t0 = Instant::now();
    let ro = st.ro();
    let gapped = pool.add(tx1559(0, 1, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    let executable = pool.add(tx1559(1, 0, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    let later = pool.add(tx1559(2, 1, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    let minute = Duration::from_secs(60);
    assert!(pool.on_new_block_at(&ro, 0, t0 + lifetime - minute).is_empty());
    drop(ro);
    // Sender 2's nonce 0 is mined elsewhere after two hours: its nonce 1 becomes executable,
    // which renews its heartbeat.
    st.set(2, &[(2, 1, RICH)]);
    let ro = st.ro();
    assert!(pool.on_new_block_at(&ro, 0, t0 + 2 * lifetime / 3).is_empty());
    assert_eq!(pool.pending_nonce(&key(2).address()), Some(2));
    let queued_later = pool.add(tx1559(2, 3, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    let removed = pool.on_new_block_at(&ro, 0, t0 + lifetime + minute);
    assert_eq!(removed, vec![gapped], "only the silent sender's queue expires");
    for kept in [executable, later, queued_later] {
        assert!(pool.get(&kept).is_some());
    }
}

#[test]
fn a_fee_cap_below_the_base_fee_is_refused() {
    let st = State::new(&[(0, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    let ro = st.ro();
    let base_fee = 10 * GWEI as u64;
    let err = pool.add(tx1559(0, 0, 5 * GWEI, GWEI), &ro, &ctx_at(base_fee)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "max fee per gas less than block base fee: address {}, maxFeePerGas: 5000000000, baseFee: 10000000000",
            key(0).address()
        )
    );
    assert!(pool.is_empty());
    assert!(pool.add(tx1559(0, 0, 10 * GWEI, GWEI), &ro, &ctx_at(base_fee)).unwrap().pending);
}

#[test]
fn transactions_staying_under_the_base_fee_are_dropped() {
    let st = State::new(&[(0, 0, RICH), (1, 0, RICH)]);
    let pool = TxPool::new(PoolConfig::default());
    let grace = PoolConfig::default().base_fee_grace_blocks;
    let ro = st.ro();
    let low = pool.add(tx1559(0, 0, 10 * GWEI, GWEI), &ro, &ctx_at(GWEI as u64)).unwrap().hash;
    let high = pool.add(tx1559(1, 0, 30 * GWEI, GWEI), &ro, &ctx_at(GWEI as u64)).unwrap().hash;
    let high_base = 20 * GWEI as u64;
    // Under the base fee for a while, then back above: the count starts over.
    for _ in 1..grace {
        assert!(pool.on_new_block(&ro, high_base).is_empty());
    }
    assert!(pool.on_new_block(&ro, 5 * GWEI as u64).is_empty());
    for _ in 1..grace {
        assert!(pool.on_new_block(&ro, high_base).is_empty());
    }
    assert!(pool.best_transactions(high_base).iter().all(|t| t.hash != low), "not selectable");
    // Staying under it for `grace` blocks in a row drops it.
    assert_eq!(pool.on_new_block(&ro, high_base), vec![low]);
    assert!(pool.get(&high).is_some());
}

#[test]
fn a_full_pending_part_evicts_the_cheapest_sender_above_its_guaranteed_slots() {
    let st = State::new(&[(0, 0, RICH), (1, 0, RICH), (2, 0, RICH)]);
    let pool = TxPool::new(limits(4, 2, 2));
    let ro = st.ro();
    // While there is room one sender may take every slot: account slots are no ceiling.
    let a: Vec<B256> = (0..4)
        .map(|n| pool.add(tx1559(0, n, 100 * GWEI, 5 * GWEI), &ro, &ctx()).unwrap().hash)
        .collect();
    assert_eq!(pool.status().pending, 4);
    // Full: a newcomer tipping no more than sender 0's last transaction is refused ...
    let err = pool.add(tx1559(1, 0, 100 * GWEI, 5 * GWEI), &ro, &ctx()).unwrap_err();
    assert_eq!(err, PoolError::UnderpricedWhenFull { got: 5 * GWEI, cheapest: 5 * GWEI });
    assert!(err.to_string().starts_with("transaction underpriced"), "{err}");
    // ... one tipping more takes its place, and the next one the place before it.
    assert!(pool.add(tx1559(1, 0, 100 * GWEI, 6 * GWEI), &ro, &ctx()).unwrap().pending);
    assert!(pool.get(&a[3]).is_none());
    assert!(pool.add(tx1559(1, 1, 100 * GWEI, 6 * GWEI), &ro, &ctx()).unwrap().pending);
    assert!(pool.get(&a[2]).is_none() && pool.get(&a[1]).is_some());
    // Both senders are down to their guaranteed two: a third is refused whatever it tips.
    let err = pool.add(tx1559(2, 0, 100 * GWEI, 50 * GWEI), &ro, &ctx()).unwrap_err();
    assert_eq!(err, PoolError::PoolFull { pool: SubPool::Pending, used: 4, max: 4 });
    assert!(err.to_string().starts_with("txpool is full"), "{err}");
    // A gapped transaction goes to the queued part and takes nothing from the pending one.
    assert!(!pool.add(tx1559(2, 1, 100 * GWEI, 50 * GWEI), &ro, &ctx()).unwrap().pending);
    assert_eq!((pool.status().pending, pool.status().queued), (4, 1));
}

#[test]
fn a_full_queued_part_drops_the_queue_of_the_sender_silent_longest() {
    let st = State::new(&[(0, 0, RICH), (1, 0, RICH)]);
    let pool = TxPool::new(limits(16, 2, 16));
    let ro = st.ro();
    let a1 = pool.add(tx1559(0, 1, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    let a2 = pool.add(tx1559(0, 2, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    let b1 = pool.add(tx1559(1, 1, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    assert!(pool.get(&a2).is_none(), "sender 0's highest nonce made room");
    let b2 = pool.add(tx1559(1, 2, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash;
    assert!(pool.get(&a1).is_none());
    // A sender never pushes out its own queue.
    let err = pool.add(tx1559(1, 3, 10 * GWEI, GWEI), &ro, &ctx()).unwrap_err();
    assert_eq!(err, PoolError::PoolFull { pool: SubPool::Queued, used: 2, max: 2 });
    assert!(pool.get(&b1).is_some() && pool.get(&b2).is_some());
}

#[test]
fn large_transactions_take_a_slot_per_32_kib() {
    let st = State::new(&[(0, 0, RICH), (1, 0, RICH)]);
    let pool = TxPool::new(limits(4, 4, 16));
    let ro = st.ro();
    let big = with(
        TxEip1559 {
            chain_id: CHAIN,
            nonce: 0,
            gas_limit: 29_000_000,
            max_fee_per_gas: 10 * GWEI,
            max_priority_fee_per_gas: GWEI,
            to: TxKind::Call(TO),
            value: U256::ZERO,
            access_list: Default::default(),
            input: Bytes::from(vec![1u8; 100 * 1024]),
        },
        0,
    );
    let big = pool.add(big, &ro, &ctx()).unwrap();
    assert_eq!(pool.get(&big.hash).unwrap().slots, 4);
    let err = pool.add(tx1559(1, 0, 10 * GWEI, GWEI), &ro, &ctx()).unwrap_err();
    assert_eq!(err, PoolError::PoolFull { pool: SubPool::Pending, used: 4, max: 4 });
}

#[test]
fn promotions_past_the_pending_limit_trim_senders_above_their_slots() {
    let st = State::new(&[(0, 0, RICH), (1, 0, RICH)]);
    let pool = TxPool::new(limits(4, 4, 1));
    let ro = st.ro();
    pool.add(tx1559(1, 0, 10 * GWEI, 9 * GWEI), &ro, &ctx()).unwrap();
    pool.add(tx1559(1, 1, 10 * GWEI, 9 * GWEI), &ro, &ctx()).unwrap();
    // Sender 0 queues three behind a gap, then fills it: four would be pending.
    let queued: Vec<B256> = (1..4)
        .map(|n| pool.add(tx1559(0, n, 10 * GWEI, GWEI), &ro, &ctx()).unwrap().hash)
        .collect();
    assert_eq!((pool.status().pending, pool.status().queued), (2, 3));
    pool.add(tx1559(0, 0, 10 * GWEI, GWEI), &ro, &ctx()).unwrap();
    // Six executable, four slots: the cheapest tails of senders above one slot go.
    assert_eq!((pool.status().pending, pool.status().queued), (4, 0));
    assert!(pool.get(&queued[2]).is_none() && pool.get(&queued[1]).is_none());
    assert_eq!(pool.pending_nonce(&key(0).address()), Some(2));
    assert_eq!(pool.pending_nonce(&key(1).address()), Some(2));
}
