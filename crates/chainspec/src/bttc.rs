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
    /// The genesis validator set: until the staking contract supplies the set per epoch,
    /// this is the set of every height.
    pub validators: Vec<GenesisValidator>,
}

/// A validator of the genesis set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesisValidator {
    /// Its address (must match the public key).
    pub address: alloy_primitives::Address,
    /// Its secp256k1 public key, SEC1 encoded (33 bytes compressed or 65 uncompressed).
    pub public_key: alloy_primitives::Bytes,
    /// Its stake in whole BTT: the voting power.
    pub stake: u64,
}

impl Default for BttcParams {
    fn default() -> Self {
        Self {
            block_time_ms: 2000,
            epoch_length: 64,
            checkpoint_interval: 256,
            unbonding_period: 1 << 13,
            max_validators: 100,
            validators: Vec::new(),
        }
    }
}
