//! The consensus view the `bor_*` RPC methods read: each height's set and proposer.

use bttc_consensus::{BlockHeight, BttcContext, ValidatorSetProvider, core_types::Round};
use bttc_rpc::{BorValidator, ValidatorSource};
use std::sync::Arc;

/// Sets from the node's provider, proposers from the same schedule consensus uses.
#[derive(Debug)]
pub(crate) struct ConsensusView {
    pub(crate) validators: Arc<dyn ValidatorSetProvider>,
    pub(crate) ctx: BttcContext,
}

impl ValidatorSource for ConsensusView {
    fn validators(&self, height: u64) -> Result<Vec<BorValidator>, String> {
        let set = self.validators.validator_set(BlockHeight(height)).map_err(|e| e.to_string())?;
        let accum = self.ctx.priorities_after(&set, height.saturating_sub(1));
        Ok(set
            .validators()
            .iter()
            .zip(accum)
            .enumerate()
            .map(|(i, (v, accum))| BorValidator {
                id: i as u64,
                signer: v.address.0,
                power: v.voting_power,
                accum,
            })
            .collect())
    }

    fn proposer(&self, height: u64) -> Result<alloy_primitives::Address, String> {
        let set = self.validators.validator_set(BlockHeight(height)).map_err(|e| e.to_string())?;
        Ok(self.ctx.proposer(&set, BlockHeight(height), Round::new(0)).address.0)
    }
}
