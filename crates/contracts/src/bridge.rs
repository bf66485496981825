//! ABI bindings of the bridge's contracts, generated from their committed artifacts: on each
//! root chain (`contracts/root/`) `RootChainManager` (deposits, token mapping, exits against
//! checkpoints) and `ERC20Predicate` (locks and releases ERC-20 tokens); on bttc
//! `ChildChainManager` (predeployed at [`crate::CHILD_CHAIN_MANAGER`]: mappings and deposits)
//! and the `ChildERC20` template (mints on deposit, burns on withdraw).

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

alloy_sol_types::sol!(
    #[sol(all_derives)]
    ChildChainManager,
    "../../contracts/artifacts/ChildChainManager.json"
);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    ChildERC20,
    "../../contracts/artifacts/ChildERC20.json"
);

alloy_sol_types::sol!(
    /// An ERC-20 anyone may mint (`contracts/TestToken.sol`): the devnet's root-side tokens.
    #[sol(all_derives)]
    DevToken,
    "../../contracts/artifacts/TestToken.json"
);
