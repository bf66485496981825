//! ABI bindings of `StakeManager`, generated from its committed artifact
//! (`contracts/artifacts/StakeManager.json`), with its creation and runtime bytecode.

#![allow(missing_docs, unreachable_pub)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    StakeManager,
    "../../contracts/artifacts/StakeManager.json"
);

pub use StakeManager::{MemberInfo, Params, Unbonding, Validator, Vote};

/// Basis points in one whole, as the contract counts them.
pub const BPS: u64 = 10_000;

/// Wei in one BTT, the unit of voting power.
pub const POWER_UNIT: u128 = 1_000_000_000_000_000_000;
