//! The start-of-block system calls into `StateReceiver`: the root-chain records a block
//! carries in its LastCommit (version 3) are delivered in order, before any transaction.

use crate::StakingError;
use alloy_evm::{Evm, block::StateDB};
use alloy_primitives::U256;
use alloy_sol_types::SolCall;
use bttc_contracts::{
    STATE_RECEIVER, SYSTEM_CALLER, decode_revert,
    state_sync::{StateReceiver, encode_record},
};
use bttc_evm::BoxError;
use bttc_primitives::StateSyncRecord;
use revm::{DatabaseCommit, context::result::ExecutionResult};
use tracing::{debug, error, info};

/// Delivers `records` (block `number`'s) to `StateReceiver` as system calls, in order, and
/// returns the logs the deliveries emitted (the block's system logs: `StateCommitted`, and
/// what the receivers logged, such as a deposit's `Transfer`).
///
/// Each call commits its state when it succeeds; `StateReceiver` itself keeps a record whose
/// receiver fails for a replay, so success here means "delivered or parked". A call that
/// reverts (a record out of order: validators refuse such a block before it is decided, so a
/// decided block never hits that case) changes nothing and is logged.
pub(crate) fn deliver<E: Evm<DB: StateDB>>(
    evm: &mut E,
    number: u64,
    records: &[StateSyncRecord],
) -> Result<Vec<alloy_primitives::Log>, BoxError> {
    let mut logs = Vec::new();
    for r in records {
        let call = StateReceiver::commitStateCall {
            syncTime: U256::from(r.time),
            recordBytes: encode_record(r.root_id, r.id, r.receiver, &r.data),
        };
        let out = evm
            .transact_system_call(SYSTEM_CALLER, STATE_RECEIVER, call.abi_encode().into())
            .map_err(|e| StakingError::Evm { number, source: Box::new(e) })?;
        match out.result {
            ExecutionResult::Success { output, logs: emitted, .. } => {
                evm.db_mut().commit(out.state);
                logs.extend(emitted);
                let took = StateReceiver::commitStateCall::abi_decode_returns(output.data())
                    .unwrap_or_default();
                if took {
                    debug!(target: "bttc::bridge", number, root = r.root_id, id = r.id, receiver = %r.receiver, "state sync delivered");
                } else {
                    info!(target: "bttc::bridge", number, root = r.root_id, id = r.id, receiver = %r.receiver, "state sync failed at its receiver; kept in StateReceiver for a replay");
                }
            }
            ExecutionResult::Revert { output, .. } => {
                error!(target: "bttc::bridge", number, root = r.root_id, id = r.id, reason = %decode_revert(&output), "commitState reverted; record not delivered");
            }
            ExecutionResult::Halt { reason, .. } => {
                error!(target: "bttc::bridge", number, root = r.root_id, id = r.id, ?reason, "commitState halted; record not delivered");
            }
        }
    }
    Ok(logs)
}
