//! ABI bindings of `RootChain` (`contracts/root/RootChain.sol`): bttc's checkpoints on a root
//! chain, accepted with more than 2/3 of the trusted validator set's stake. Generated from its
//! committed artifact.

#![allow(missing_docs, unreachable_pub)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    RootChain,
    "../../contracts/artifacts/RootChain.json"
);
