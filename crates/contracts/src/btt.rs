//! ABI bindings of the BTT native-token wrapper (`contracts/system/BTT.sol`, at
//! [`crate::BTT_TOKEN`]), generated from its committed artifact.

#![allow(missing_docs, unreachable_pub)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    BTT,
    "../../contracts/artifacts/BTT.json"
);
