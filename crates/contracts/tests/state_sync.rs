//! State sync in bttc's EVM: `StateSender` (root) sends only for registered senders, with
//! ids counting up; `StateReceiver` (bttc, 0x…1001) takes records from the system caller
//! only, in id order per root chain, calls the receiver with a gas cap, and keeps a failed
//! record (reverting, gas-burning or code-less receiver) for a replay without holding up the
//! records after it.

mod support;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolError;
use bttc_contracts::{
    STATE_RECEIVER, SYSTEM_CALLER, deployed_account, state_receiver_account,
    state_sync::{StateReceiver as SR, StateSender as SS, encode_record},
};
use support::{Chain, Failed, refused};

const OWNER: Address = Address::repeat_byte(0x0e);
const BRIDGE: Address = Address::repeat_byte(0xb1);
const SENDER: Address = Address::repeat_byte(0x55);
const TARGET: Address = Address::repeat_byte(0x7a);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    TestStateReceiver,
    "../../contracts/artifacts/TestStateReceiver.json"
);

fn receiver_chain() -> Chain {
    let target = deployed_account(7, TestStateReceiver::BYTECODE.to_vec()).unwrap();
    Chain::from_alloc([(STATE_RECEIVER, state_receiver_account()), (TARGET, target)])
}

fn commit(c: &mut Chain, root: u64, id: u64, to: Address, data: &[u8]) -> Result<bool, Failed> {
    let call = SR::commitStateCall {
        syncTime: U256::from(1_700_000_000u64),
        recordBytes: encode_record(root, id, to, data),
    };
    c.send_to(SYSTEM_CALLER, STATE_RECEIVER, call, U256::ZERO)
}

fn view<C: alloy_sol_types::SolCall>(c: &mut Chain, to: Address, call: C) -> C::Return {
    c.send_to(Address::ZERO, to, call, U256::ZERO).expect("a view")
}

#[test]
fn records_come_in_order_per_root_from_the_system_caller_only() {
    let mut c = receiver_chain();
    assert!(commit(&mut c, 0, 1, TARGET, b"one").unwrap());
    assert_eq!(view(&mut c, TARGET, TestStateReceiver::lastIdCall {}), U256::from(1));
    assert_eq!(
        view(&mut c, TARGET, TestStateReceiver::lastDataCall {}),
        Bytes::from_static(b"one")
    );
    // A replayed id, a skipped id: refused, nothing delivered.
    let e = refused(commit(&mut c, 0, 1, TARGET, b"again"));
    assert!(e.data.starts_with(&SR::OutOfOrder::SELECTOR), "{}", e.data);
    let e = refused(commit(&mut c, 0, 3, TARGET, b"gap"));
    assert!(e.data.starts_with(&SR::OutOfOrder::SELECTOR), "{}", e.data);
    assert_eq!(view(&mut c, TARGET, TestStateReceiver::receivedCall {}), U256::from(1));
    // Another root has its own sequence.
    assert!(commit(&mut c, 1, 1, TARGET, b"root 1").unwrap());
    assert!(commit(&mut c, 0, 2, TARGET, b"two").unwrap());
    assert_eq!(view(&mut c, STATE_RECEIVER, SR::lastStateIdCall(U256::ZERO)), U256::from(2));
    assert_eq!(view(&mut c, STATE_RECEIVER, SR::lastStateIdCall(U256::from(1))), U256::from(1));
    // Anyone else calling commitState is refused.
    let call = SR::commitStateCall {
        syncTime: U256::ZERO,
        recordBytes: encode_record(0, 3, TARGET, b"x"),
    };
    let e = refused(c.send_to(SENDER, STATE_RECEIVER, call, U256::ZERO));
    assert!(e.data.starts_with(&SR::NotSystem::SELECTOR), "{}", e.data);
    // Garbage instead of a record: refused.
    let call =
        SR::commitStateCall { syncTime: U256::ZERO, recordBytes: Bytes::from_static(b"junk") };
    assert!(c.send_to(SYSTEM_CALLER, STATE_RECEIVER, call, U256::ZERO).is_err());
}

#[test]
fn a_failing_receiver_does_not_hold_up_later_records_and_its_record_replays() {
    let mut c = receiver_chain();
    c.send_to(SENDER, TARGET, TestStateReceiver::setModeCall { m: 1 }, U256::ZERO).unwrap();
    assert!(!commit(&mut c, 0, 1, TARGET, b"refused").unwrap(), "a reverting receiver");
    c.send_to(SENDER, TARGET, TestStateReceiver::setModeCall { m: 2 }, U256::ZERO).unwrap();
    assert!(!commit(&mut c, 0, 2, TARGET, b"burnt").unwrap(), "a gas-burning receiver is capped");
    assert!(!commit(&mut c, 0, 3, SENDER, b"no code").unwrap(), "a receiver without code");
    c.send_to(SENDER, TARGET, TestStateReceiver::setModeCall { m: 0 }, U256::ZERO).unwrap();
    assert!(commit(&mut c, 0, 4, TARGET, b"later").unwrap(), "later records go through");
    assert_eq!(view(&mut c, TARGET, TestStateReceiver::lastIdCall {}), U256::from(4));
    for id in 1..=3u64 {
        let h = view(
            &mut c,
            STATE_RECEIVER,
            SR::failedStateSyncsCall { _0: U256::ZERO, _1: U256::from(id) },
        );
        assert_ne!(h, alloy_primitives::B256::ZERO, "record {id} kept for a replay");
    }
    // A replay with other data is refused; the right one delivers, once.
    let replay = |id: u64, to: Address, data: &'static [u8]| SR::replayFailedStateSyncCall {
        rootId: U256::ZERO,
        stateId: U256::from(id),
        receiver: to,
        data: Bytes::from_static(data),
    };
    let e = refused(c.send_to(SENDER, STATE_RECEIVER, replay(1, TARGET, b"forged"), U256::ZERO));
    assert!(e.data.starts_with(&SR::RecordMismatch::SELECTOR), "{}", e.data);
    c.send_to(SENDER, STATE_RECEIVER, replay(1, TARGET, b"refused"), U256::ZERO).unwrap();
    assert_eq!(view(&mut c, TARGET, TestStateReceiver::lastIdCall {}), U256::from(1));
    assert_eq!(view(&mut c, TARGET, TestStateReceiver::receivedCall {}), U256::from(2));
    let e = refused(c.send_to(SENDER, STATE_RECEIVER, replay(1, TARGET, b"refused"), U256::ZERO));
    assert!(e.data.starts_with(&SR::NoFailedRecord::SELECTOR), "a record replays once: {}", e.data);
    // A replay whose receiver still fails changes nothing: the record stays replayable.
    c.send_to(SENDER, TARGET, TestStateReceiver::setModeCall { m: 1 }, U256::ZERO).unwrap();
    let e = refused(c.send_to(SENDER, STATE_RECEIVER, replay(2, TARGET, b"burnt"), U256::ZERO));
    assert!(e.data.starts_with(&SR::ReplayFailed::SELECTOR), "{}", e.data);
    let h = view(
        &mut c,
        STATE_RECEIVER,
        SR::failedStateSyncsCall { _0: U256::ZERO, _1: U256::from(2) },
    );
    assert_ne!(h, alloy_primitives::B256::ZERO);
    c.send_to(SENDER, TARGET, TestStateReceiver::setModeCall { m: 0 }, U256::ZERO).unwrap();
    c.send_to(SENDER, STATE_RECEIVER, replay(2, TARGET, b"burnt"), U256::ZERO).unwrap();
    assert_eq!(
        view(&mut c, TARGET, TestStateReceiver::lastDataCall {}),
        Bytes::from_static(b"burnt")
    );
}

#[test]
fn the_state_sender_sends_for_registered_senders_only_with_counting_ids() {
    let ss = Address::repeat_byte(0x55 ^ 0xff);
    let mut code = deployed_account(7, SS::BYTECODE.to_vec()).unwrap();
    // The constructor made its deployer the owner; hand the owner slot (0) to OWNER.
    let mut storage = code.storage.take().unwrap_or_default();
    storage.insert(
        alloy_primitives::B256::ZERO,
        alloy_primitives::B256::left_padding_from(OWNER.as_slice()),
    );
    code.storage = Some(storage);
    let mut c = Chain::from_alloc([(ss, code)]);
    assert_eq!(view(&mut c, ss, SS::ownerCall {}), OWNER);
    let sync = |data: &'static [u8]| SS::syncStateCall {
        receiver: TARGET,
        data: Bytes::from_static(data),
    };
    let e = refused(c.send_to(BRIDGE, ss, sync(b"deposit"), U256::ZERO));
    assert!(e.data.starts_with(&SS::NotRegistered::SELECTOR), "{}", e.data);
    let e = refused(c.send_to(
        BRIDGE,
        ss,
        SS::registerCall { sender: BRIDGE, receiver: TARGET },
        U256::ZERO,
    ));
    assert!(e.data.starts_with(&SS::NotOwner::SELECTOR), "only the owner registers: {}", e.data);
    c.send_to(OWNER, ss, SS::registerCall { sender: BRIDGE, receiver: TARGET }, U256::ZERO)
        .unwrap();
    assert_eq!(view(&mut c, ss, SS::registrationsCall(TARGET)), BRIDGE);
    c.send_to(BRIDGE, ss, sync(b"first"), U256::ZERO).unwrap();
    c.send_to(BRIDGE, ss, sync(b"second"), U256::ZERO).unwrap();
    assert_eq!(view(&mut c, ss, SS::counterCall {}), U256::from(2));
    let e = refused(c.send_to(SENDER, ss, sync(b"not me"), U256::ZERO));
    assert!(e.data.starts_with(&SS::NotRegistered::SELECTOR), "{}", e.data);
    let big = SS::syncStateCall { receiver: TARGET, data: Bytes::from(vec![0u8; 16_385]) };
    let e = refused(c.send_to(BRIDGE, ss, big, U256::ZERO));
    assert!(e.data.starts_with(&SS::DataTooLarge::SELECTOR), "{}", e.data);
    assert_eq!(view(&mut c, ss, SS::counterCall {}), U256::from(2));
}
