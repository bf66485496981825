//! ABI bindings of the bridge's root-chain contracts (`contracts/root/`), generated from their
//! committed artifacts: `RootChainManager` (deposits, token mapping, exits against
//! checkpoints) and `ERC20Predicate` (locks and releases ERC-20 tokens).

#![allow(missing_docs, unreachable_pub)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    RootChainManager,
    "../../contracts/artifacts/RootChainManager.json"
);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    ERC20Predicate,
    "../../contracts/artifacts/ERC20Predicate.json"
);
