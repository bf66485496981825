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
    /// Maximum number of active validators (at most 256).
    pub max_validators: u32,
    /// An election with fewer eligible validators keeps the previous set.
    pub min_validators: u32,
    /// Whole BTT an operator keeps delegated to its own validator to be elected.
    pub min_self_stake: u64,
    /// Smallest delegation, in whole BTT.
    pub min_delegation: u64,
    /// Commission cap, in basis points.
    pub max_commission_bps: u16,
    /// Largest commission change per edit (one edit per epoch), in basis points.
    pub max_commission_change_bps: u16,
    /// Yearly issuance on the active stake, in basis points.
    pub staking_apy_bps: u16,
    /// Blocks over which liveness is judged.
    pub signed_blocks_window: u64,
    /// Blocks a validator stays jailed after missing more than half of the window.
    pub downtime_jail_blocks: u64,
    /// Slash for downtime, in basis points of stake.
    pub downtime_slash_bps: u16,
    /// Slash for double signing, in basis points of stake (the validator is also tombstoned).
    pub double_sign_slash_bps: u16,
    /// Oldest evidence accepted, in blocks; must be under the unbonding period.
    pub evidence_max_age: u64,
    /// Share of a double-sign slash paid to whoever reports it, in basis points.
    pub reporter_reward_bps: u16,
    /// Blocks a governance proposal is open for votes.
    pub governance_voting_period: u64,
    /// The genesis validators: the staking contract's set of epoch 0 (each later epoch runs
    /// the set the contract elected).
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
    /// The account that holds the stake in the staking contract and operates the validator
    /// (edits, claims, unjails); the validator's own address if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<alloy_primitives::Address>,
}

impl Default for BttcParams {
    fn default() -> Self {
        Self {
            block_time_ms: 2000,
            epoch_length: 64,
            checkpoint_interval: 256,
            unbonding_period: 1 << 13,
            max_validators: 100,
            min_validators: 4,
            min_self_stake: 10_000,
            min_delegation: 1,
            max_commission_bps: 2_000,
            max_commission_change_bps: 100,
            staking_apy_bps: 650,
            signed_blocks_window: 1_000,
            downtime_jail_blocks: 2_000,
            downtime_slash_bps: 100,
            double_sign_slash_bps: 500,
            evidence_max_age: 4_096,
            reporter_reward_bps: 1_000,
            governance_voting_period: 43_200,
            validators: Vec::new(),
        }
    }
}

impl BttcParams {
    /// The parameters of a local devnet: 1 s blocks, 64-block epochs, unbonding over 3
    /// epochs, a 100-block liveness window, 1 BTT minimum self-stake.
    pub fn devnet() -> Self {
        Self::devnet_with_epoch(64)
    }

    /// Devnet values with epochs of `epoch_length` blocks: unbonding lasts 3 epochs and
    /// evidence may be 2 epochs old (so nobody leaves before they can be slashed). At 64 these
    /// are [`Self::devnet`]'s 192 and 128.
    pub fn devnet_with_epoch(epoch_length: u64) -> Self {
        let epoch_length = epoch_length.max(1);
        Self {
            block_time_ms: 1000,
            epoch_length,
            checkpoint_interval: 32,
            unbonding_period: 3 * epoch_length,
            max_validators: 21,
            min_validators: 1,
            min_self_stake: 1,
            signed_blocks_window: 100,
            downtime_jail_blocks: 200,
            evidence_max_age: 2 * epoch_length,
            governance_voting_period: 256,
            ..Self::default()
        }
    }

    /// Blocks in a year at the target block time (issuance is spread over them).
    pub const fn blocks_per_year(&self) -> u64 {
        let ms = if self.block_time_ms == 0 { 1 } else { self.block_time_ms };
        let b = 365 * 24 * 3600 * 1000 / ms;
        if b == 0 { 1 } else { b }
    }

    /// The unbonding period in whole epochs, rounded up.
    pub const fn unbonding_epochs(&self) -> u64 {
        let e = if self.epoch_length == 0 { 1 } else { self.epoch_length };
        self.unbonding_period.div_ceil(e)
    }
}
