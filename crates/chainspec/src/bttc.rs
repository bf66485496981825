//! The `bttc` section of a genesis `config`.

use serde::{Deserialize, Serialize};

/// Proof-of-stake and checkpoint parameters of a bttc chain (genesis `config.bttc`).
/// Every field has a default so that a minimal `"bttc": {}` is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BttcParams {
    /// Target block time in milliseconds.
    pub block_time_ms: u64,
    /// Blocks per epoch; validator set changes take effect at epoch boundaries.
    pub epoch_length: u64,
    /// Blocks per checkpoint.
    pub checkpoint_interval: u64,
    /// Blocks an unbonding stake waits before it can be withdrawn.
    pub unbonding_period: u64,
    /// Maximum number of active validators.
    pub max_validators: u32,
}

impl Default for BttcParams {
    fn default() -> Self {
        Self {
            block_time_ms: 2000,
            epoch_length: 64,
            checkpoint_interval: 256,
            unbonding_period: 1 << 13,
            max_validators: 100,
        }
    }
}
