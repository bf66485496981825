//! ABI bindings of `Governance` (`contracts/system/Governance.sol`, at [`crate::GOVERNANCE`]):
//! stake-weighted votes on StakeManager's parameters. Generated from its committed artifact.

#![allow(missing_docs, unreachable_pub)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    Governance,
    "../../contracts/artifacts/Governance.json"
);
