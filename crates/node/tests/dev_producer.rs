//! Dev mode without the network: dev accounts, genesis, pool and producer on a real MDBX
//! datadir.

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use bttc_chain::init_genesis;
use bttc_node::{DEV_CHAIN_ID, DevProducer, dev_accounts, dev_genesis, dev_genesis_with_gas_limit};
use bttc_primitives::{Account, TxEnvelope};
use bttc_storage::{DatabaseEnv, DbOptions, StateProvider};
use bttc_txpool::{PoolConfig, TxPool};
use std::sync::Arc;

const TO: Address = address!("00000000000000000000000000000000000000aa");
const ETH: u128 = 1_000_000_000_000_000_000;

fn transfer(key: &PrivateKeySigner, nonce: u64, value: u128) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id: DEV_CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(TO),
        value: U256::from(value),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let sig = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    tx.into_signed(sig).into()
}

/// The state with one account holding `extra` more than it does.
struct Richer<'a, S> {
    state: &'a S,
    who: Address,
    extra: U256,
}

impl<S: StateProvider> StateProvider for Richer<'_, S> {
    fn account(&self, address: &Address) -> bttc_storage::StorageResult<Option<Account>> {
        let mut a = self.state.account(address)?;
        if *address == self.who
            && let Some(a) = &mut a
        {
            a.balance += self.extra;
        }
        Ok(a)
    }
    fn storage(&self, address: &Address, slot: &B256) -> bttc_storage::StorageResult<U256> {
        self.state.storage(address, slot)
    }
    fn bytecode(&self, code_hash: &B256) -> bttc_storage::StorageResult<Option<Bytes>> {
        self.state.bytecode(code_hash)
    }
    fn block_hash(&self, number: u64) -> bttc_storage::StorageResult<Option<B256>> {
        self.state.block_hash(number)
    }
}

#[test]
fn dev_accounts_are_the_standard_test_mnemonic() {
    let accounts = dev_accounts(3);
    // The addresses every Ethereum dev tool derives from this mnemonic.
    assert_eq!(accounts[0].address, address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
    assert_eq!(accounts[1].address, address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"));
    assert_eq!(accounts[2].address, address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"));
    let key = PrivateKeySigner::from_bytes(&accounts[0].private_key).unwrap();
    assert_eq!(key.address(), accounts[0].address);
    assert!(dev_genesis(199, &accounts, U256::from(1)).is_err());
    assert!(dev_genesis(1029, &accounts, U256::from(1)).is_err());
}

#[test]
fn producer_mines_pool_transactions_and_drops_what_cannot_execute() {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    let accounts = dev_accounts(2);
    let genesis = dev_genesis(DEV_CHAIN_ID, &accounts, U256::from(10 * ETH)).unwrap();
    init_genesis(&db, &genesis).unwrap();
    let pool = Arc::new(TxPool::new(PoolConfig::default()));
    let producer = DevProducer::new(
        bttc_staking::open_chain(db.clone()).unwrap(),
        pool.clone(),
        address!("00000000000000000000000000000000000c0ffe"),
    );
    let ctx = producer.validation_context().unwrap();
    let k0 = PrivateKeySigner::from_bytes(&accounts[0].private_key).unwrap();
    let k1 = PrivateKeySigner::from_bytes(&accounts[1].private_key).unwrap();

    let ro = db.ro().unwrap();
    let mut sent = Vec::new();
    for n in 0..3 {
        sent.push(pool.add(transfer(&k0, n, ETH), &ro, &ctx).unwrap().hash);
    }
    let gap = pool.add(transfer(&k0, 5, ETH), &ro, &ctx).unwrap();
    assert!(!gap.pending);
    // Each of these is affordable alone; together they are not: the pool refuses the second.
    let first = pool.add(transfer(&k1, 0, 6 * ETH), &ro, &ctx).unwrap().hash;
    let err = pool.add(transfer(&k1, 1, 6 * ETH), &ro, &ctx).unwrap_err();
    assert!(matches!(err, bttc_txpool::PoolError::InsufficientFundsCumulative { .. }), "{err}");
    // A transaction can still fail when the block executes it (say an EIP-7702 delegation
    // spent the balance meanwhile): admit it against a view in which k1 is richer.
    let richer = Richer { state: &ro, who: accounts[1].address, extra: U256::from(10 * ETH) };
    let second = pool.add(transfer(&k1, 1, 6 * ETH), &richer, &ctx).unwrap().hash;
    drop(ro);

    let mined = producer.mine(1).unwrap();
    assert_eq!(mined.number, 1);
    assert_eq!(mined.included.len(), 4, "{mined:?}");
    assert!(sent.iter().chain([&first]).all(|h| mined.included.contains(h)));
    assert_eq!(mined.rejected.len(), 1);
    assert_eq!(mined.rejected[0].0, second);
    assert!(mined.rejected[0].1.to_lowercase().contains("funds"), "{}", mined.rejected[0].1);

    let ro = db.ro().unwrap();
    assert_eq!(ro.account(&TO).unwrap().unwrap().balance, U256::from(9 * ETH));
    assert_eq!(ro.account(&accounts[0].address).unwrap().unwrap().nonce, 3);
    assert_eq!(pool.len(), 1, "only the nonce-gap transaction is left");
    assert_eq!(pool.status().queued, 1);
    drop(ro);

    // An empty block is fine; the head moves on and the pool keeps the queued transaction.
    let empty = producer.mine(0).unwrap();
    assert_eq!(empty.number, 2);
    assert!(empty.included.is_empty());
    assert_eq!(pool.len(), 1);

    // The producer commits without executing twice: the chain it wrote must still be what a
    // validating node accepts. Replay it into a fresh datadir through the import path.
    let ro = db.ro().unwrap();
    let mut file = Vec::new();
    for n in 1..=2 {
        alloy_rlp::Encodable::encode(&ro.block(n).unwrap().unwrap(), &mut file);
    }
    assert_eq!(
        bttc_chain::verify::full_state_root(&ro, None).unwrap(),
        ro.header(2).unwrap().unwrap().state_root
    );
    let dir2 = tempfile::tempdir().unwrap();
    let db2 = DatabaseEnv::open(dir2.path(), DbOptions::ephemeral()).unwrap();
    init_genesis(&db2, &genesis).unwrap();
    let replica = bttc_staking::open_chain(db2).unwrap();
    let summary = bttc_chain::import_rlp(&replica, &file, &Default::default(), |_| {}).unwrap();
    assert_eq!(summary.head.hash, empty.hash);
}

#[test]
fn transactions_that_do_not_fit_a_full_block_wait_for_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    let accounts = dev_accounts(2);
    // Room for four transfers per block.
    let genesis =
        dev_genesis_with_gas_limit(DEV_CHAIN_ID, &accounts, U256::from(100 * ETH), 90_000).unwrap();
    init_genesis(&db, &genesis).unwrap();
    let pool = Arc::new(TxPool::new(PoolConfig::default()));
    let producer =
        DevProducer::new(bttc_staking::open_chain(db.clone()).unwrap(), pool.clone(), TO);
    let ctx = producer.validation_context().unwrap();
    let k0 = PrivateKeySigner::from_bytes(&accounts[0].private_key).unwrap();
    let k1 = PrivateKeySigner::from_bytes(&accounts[1].private_key).unwrap();
    let ro = db.ro().unwrap();
    for n in 0..7 {
        pool.add(transfer(&k0, n, 1), &ro, &ctx).unwrap();
    }
    for n in 0..3 {
        pool.add(transfer(&k1, n, 1), &ro, &ctx).unwrap();
    }
    drop(ro);
    let mut per_block = Vec::new();
    for t in 1..=4 {
        let mined = producer.mine(t).unwrap();
        assert!(mined.rejected.is_empty(), "nothing is invalid: {:?}", mined.rejected);
        per_block.push(mined.included.len());
    }
    assert_eq!(per_block, vec![4, 4, 2, 0]);
    assert!(pool.is_empty());
    let ro = db.ro().unwrap();
    assert_eq!(ro.account(&accounts[0].address).unwrap().unwrap().nonce, 7);
    assert_eq!(ro.account(&accounts[1].address).unwrap().unwrap().nonce, 3);
}
