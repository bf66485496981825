//! Plain state, changesets and historical reads on a real MDBX database in a temp dir.

use alloy_primitives::{Address, B256, Bytes, U256, address};
use bttc_storage::{
    Account, AccountChange, ChangedKeys, DatabaseEnv, DbOptions, HistoricalState, StateChanges,
    StateProvider, StorageChange, Table,
};

const A: Address = address!("00000000000000000000000000000000000000aa");
const B: Address = address!("00000000000000000000000000000000000000bb");

fn acc(balance: u64) -> Option<Account> {
    Some(Account { balance: U256::from(balance), ..Default::default() })
}

fn slot(n: u64) -> B256 {
    B256::from(U256::from(n))
}

fn change(
    address: Address,
    new: Option<Account>,
    wiped: bool,
    storage: &[(u64, u64)],
) -> AccountChange {
    AccountChange {
        address,
        original: None,
        new,
        wiped,
        storage: storage
            .iter()
            .map(|(k, v)| StorageChange { slot: slot(*k), original: None, value: U256::from(*v) })
            .collect(),
    }
}

fn apply(db: &DatabaseEnv, block: u64, accounts: Vec<AccountChange>) {
    let rw = db.rw().unwrap();
    rw.write_state(block, &StateChanges { accounts, codes: vec![] }).unwrap();
    rw.commit().unwrap();
}

#[test]
fn historical_state_reads_values_as_of_each_block() {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    apply(&db, 1, vec![change(A, acc(10), false, &[(1, 5)])]);
    apply(
        &db,
        2,
        vec![change(A, acc(20), false, &[(1, 0), (2, 7)]), change(B, acc(1), false, &[])],
    );
    apply(&db, 3, vec![change(A, None, true, &[])]);
    apply(&db, 4, vec![change(A, acc(3), false, &[(2, 9)])]);

    let ro = db.ro().unwrap();
    let at = |n| HistoricalState::new(&ro, n);
    assert_eq!(at(0).account(&A).unwrap(), None);
    assert_eq!(at(1).account(&A).unwrap(), acc(10));
    assert_eq!(at(1).storage(&A, &slot(1)).unwrap(), U256::from(5));
    assert_eq!(at(1).storage(&A, &slot(2)).unwrap(), U256::ZERO);
    assert_eq!(at(2).account(&A).unwrap(), acc(20));
    assert_eq!(at(2).storage(&A, &slot(1)).unwrap(), U256::ZERO);
    assert_eq!(at(2).storage(&A, &slot(2)).unwrap(), U256::from(7));
    assert_eq!(at(1).account(&B).unwrap(), None);
    assert_eq!(at(2).account(&B).unwrap(), acc(1));
    // Block 3 destroyed A: its account and its storage are gone as of block 3.
    assert_eq!(at(3).account(&A).unwrap(), None);
    assert_eq!(at(3).storage(&A, &slot(2)).unwrap(), U256::ZERO);
    // Latest.
    assert_eq!(ro.account(&A).unwrap(), acc(3));
    assert_eq!(ro.storage(&A, &slot(2)).unwrap(), U256::from(9));
    assert_eq!(at(4).storage(&A, &slot(2)).unwrap(), U256::from(9));
    assert_eq!(ro.plain_storage_of(&A).unwrap().len(), 1);
}

#[test]
fn changed_keys_after_a_block_come_from_the_changesets() {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    apply(&db, 1, vec![change(A, acc(10), false, &[(1, 5)])]);
    apply(&db, 2, vec![change(B, acc(1), false, &[(3, 3)])]);
    // Block 3 destroys A: its slot 1 is recorded as changed too.
    apply(&db, 3, vec![change(A, None, true, &[])]);
    let ro = db.ro().unwrap();
    let keys = |accounts: &[Address], slots: &[(Address, u64)]| ChangedKeys {
        accounts: accounts.iter().copied().collect(),
        slots: slots.iter().map(|(a, s)| (*a, slot(*s))).collect(),
    };
    assert_eq!(ro.changed_after(3, 10).unwrap(), Some(keys(&[], &[])));
    assert_eq!(ro.changed_after(2, 10).unwrap(), Some(keys(&[A], &[(A, 1)])));
    assert_eq!(ro.changed_after(1, 10).unwrap(), Some(keys(&[A, B], &[(A, 1), (B, 3)])));
    assert_eq!(ro.changed_after(0, 10).unwrap(), Some(keys(&[A, B], &[(A, 1), (B, 3)])));
    assert_eq!(ro.changed_after(u64::MAX, 10).unwrap(), Some(keys(&[], &[])));
    // Block 1 and 3 both changed A: three account entries after block 0.
    assert_eq!(ro.changed_after(0, 2).unwrap(), None, "more entries than allowed");
    assert!(ro.changed_after(0, 3).unwrap().is_some());
}

#[test]
fn uncommitted_writes_are_invisible_and_lost_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    apply(&db, 1, vec![change(A, acc(10), false, &[])]);
    {
        let rw = db.rw().unwrap();
        rw.write_state(
            2,
            &StateChanges {
                accounts: vec![change(A, acc(99), false, &[])],
                codes: vec![(B256::repeat_byte(1), Bytes::from_static(b"\x60\x00"))],
            },
        )
        .unwrap();
        // A reader started now still sees the committed state.
        assert_eq!(db.ro().unwrap().account(&A).unwrap(), acc(10));
        // The writer sees its own writes.
        assert_eq!(rw.account(&A).unwrap(), acc(99));
        // dropped without commit
    }
    let ro = db.ro().unwrap();
    assert_eq!(ro.account(&A).unwrap(), acc(10));
    assert_eq!(ro.bytecode(&B256::repeat_byte(1)).unwrap(), None);
    assert_eq!(ro.table_stats(Table::AccountChangeSets).unwrap().entries, 1);
}

#[test]
fn reopening_keeps_committed_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = DatabaseEnv::open(dir.path(), DbOptions::default()).unwrap();
        apply(&db, 1, vec![change(A, acc(10), false, &[(1, 1)])]);
    }
    let db = DatabaseEnv::open(dir.path(), DbOptions::default()).unwrap();
    let ro = db.ro().unwrap();
    assert_eq!(ro.account(&A).unwrap(), acc(10));
    assert_eq!(ro.head().unwrap(), None);
    let stats = db.stats().unwrap();
    assert_eq!(stats.len(), Table::ALL.len());
    assert!(stats.iter().any(|s| s.table == Table::PlainStorageState && s.entries == 1));
}
