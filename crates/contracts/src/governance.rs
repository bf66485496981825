//! ABI bindings of `Governance` (`contracts/system/Governance.sol`, at [`crate::GOVERNANCE`]):
//! stake-weighted votes on StakeManager's parameters. Generated from its committed artifact.

#![allow(missing_docs, unreachable_pub)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    Governance,
    "../../contracts/artifacts/Governance.json"
);

/// StakeManager's current parameters (its `params()` getter) as a proposal's parameter set.
impl From<crate::stake_manager::StakeManager::paramsReturn> for Governance::StakingParams {
    fn from(p: crate::stake_manager::StakeManager::paramsReturn) -> Self {
        Self {
            minSelfStake: p.minSelfStake,
            minDelegation: p.minDelegation,
            maxValidators: p.maxValidators,
            minValidators: p.minValidators,
            epochLength: p.epochLength,
            unbondingEpochs: p.unbondingEpochs,
            maxCommissionBps: p.maxCommissionBps,
            maxCommissionChangeBps: p.maxCommissionChangeBps,
            stakingApyBps: p.stakingApyBps,
            blocksPerYear: p.blocksPerYear,
            signedBlocksWindow: p.signedBlocksWindow,
            downtimeJailBlocks: p.downtimeJailBlocks,
            downtimeSlashBps: p.downtimeSlashBps,
            doubleSignSlashBps: p.doubleSignSlashBps,
            evidenceMaxAge: p.evidenceMaxAge,
            reporterRewardBps: p.reporterRewardBps,
        }
    }
}
