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

/// The data of a `MAP_TOKEN` record for `ChildChainManager` (what `RootChainManager.mapToken`
/// sends): `abi.encode(keccak256("MAP_TOKEN"), abi.encode(root, child, keccak256("ERC20")))`.
pub fn map_token_sync(
    root_token: alloy_primitives::Address,
    child_token: alloy_primitives::Address,
) -> alloy_primitives::Bytes {
    use alloy_primitives::keccak256;
    use alloy_sol_types::SolValue;
    let inner = (root_token, child_token, keccak256("ERC20")).abi_encode_params();
    (keccak256("MAP_TOKEN"), alloy_primitives::Bytes::from(inner)).abi_encode_params().into()
}

/// The data of a `DEPOSIT` record of `amount` for `ChildChainManager` (what
/// `RootChainManager.depositFor` sends for an ERC-20):
/// `abi.encode(keccak256("DEPOSIT"), abi.encode(user, rootToken, abi.encode(amount)))`.
pub fn deposit_sync(
    user: alloy_primitives::Address,
    root_token: alloy_primitives::Address,
    amount: alloy_primitives::U256,
) -> alloy_primitives::Bytes {
    use alloy_primitives::{Bytes, keccak256};
    use alloy_sol_types::SolValue;
    let inner = (user, root_token, Bytes::from(amount.abi_encode())).abi_encode_params();
    (keccak256("DEPOSIT"), Bytes::from(inner)).abi_encode_params().into()
}
