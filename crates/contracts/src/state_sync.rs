//! ABI bindings of state sync, generated from the committed artifacts: `StateReceiver`
//! (`contracts/system/StateReceiver.sol`, predeployed at [`crate::STATE_RECEIVER`]; the node
//! delivers root-chain records to it as system calls) and `StateSender`
//! (`contracts/root/StateSender.sol`, on each root chain; its `StateSynced` events are the
//! records).

#![allow(missing_docs, unreachable_pub)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    StateReceiver,
    "../../contracts/artifacts/StateReceiver.json"
);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    StateSender,
    "../../contracts/artifacts/StateSender.json"
);

/// A state-sync record as `StateReceiver.commitState` takes it:
/// `abi.encode(rootId, stateId, receiver, data)`.
pub fn encode_record(
    root_id: u64,
    state_id: u64,
    receiver: alloy_primitives::Address,
    data: &[u8],
) -> alloy_primitives::Bytes {
    use alloy_sol_types::SolValue;
    (
        alloy_primitives::U256::from(root_id),
        alloy_primitives::U256::from(state_id),
        receiver,
        alloy_primitives::Bytes::copy_from_slice(data),
    )
        .abi_encode_params()
        .into()
}

/// The storage slot of `StateReceiver.lastStateId(rootId)` (the mapping is slot 0).
pub fn last_state_id_slot(root_id: u64) -> alloy_primitives::B256 {
    use alloy_sol_types::SolValue;
    let key = (alloy_primitives::U256::from(root_id), alloy_primitives::U256::ZERO);
    alloy_primitives::keccak256(key.abi_encode_params())
}
