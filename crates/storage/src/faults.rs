//! Injected write failures, for crash-safety tests (cargo feature `fault-injection`).
//!
//! A test arms a fault on a [`crate::DatabaseEnv`] with
//! [`crate::DatabaseEnv::inject_write_fault`]: after `after` more writes to the chosen table
//! succeed, the next one fails with [`crate::StorageError::InjectedFault`] (once). The
//! transaction stays usable, as it would after an encoding or constraint error, so a caller
//! that commits anyway is caught committing a half-written block.

use crate::Table;
use std::sync::Mutex;

/// The armed fault of one environment, shared by its providers.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan(Mutex<Option<(Table, u64)>>);

impl FaultPlan {
    pub(crate) fn arm(&self, table: Table, after: u64) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((table, after));
    }

    /// Called before each write: `true` if this write must fail.
    pub(crate) fn trips(&self, table: Table) -> bool {
        let mut plan = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match plan.as_mut() {
            Some((t, after)) if *t == table => {
                if *after == 0 {
                    *plan = None;
                    true
                } else {
                    *after -= 1;
                    false
                }
            }
            _ => false,
        }
    }
}
