//! BTTC's Bor read methods, so tools written for BTTC keep working:
//! `bor_getAuthor(block)`, `bor_getSigners(block)`, `bor_getCurrentValidators()`,
//! `bor_getCurrentProposer()`, and the checkpoint root hash `bor_getRootHash(start, end)`
//! (also served as `eth_getRootHash`, as Bor does).
//!
//! A block's author is its proposer (the beneficiary every validator checks), its signers are
//! the validators whose precommits are in its commit certificate, and the current validators
//! and proposer are those of the height after the head. Dev mode runs no consensus: the
//! set methods answer with an error that says so, and a dev block has no signers.

use crate::{
    BorValidator, RpcContext,
    error::{RpcError, RpcResult},
};
use alloy_primitives::Address;
use alloy_rpc_types_eth::BlockId;

impl RpcContext {
    fn sets_source(&self) -> RpcResult<&dyn crate::ValidatorSource> {
        self.sets.as_deref().ok_or_else(|| {
            RpcError::Unsupported("this node runs no consensus (dev mode): no validator set".into())
        })
    }

    /// `bor_getAuthor`: the proposer (beneficiary) of `block`, `None` for an unknown block.
    pub(crate) fn bor_author(&self, block: BlockId) -> RpcResult<Option<Address>> {
        let ro = self.ro()?;
        Ok(Self::resolve(&ro, block)?.map(|b| b.header.beneficiary))
    }

    /// `bor_getSigners`: the validators whose precommits decided `block`, in the
    /// certificate's order; empty without a certificate (dev mode, genesis).
    pub(crate) fn bor_signers(&self, block: BlockId) -> RpcResult<Vec<Address>> {
        let ro = self.ro()?;
        let b = Self::resolve_required(&ro, block)?;
        let Some(commits) = &self.commits else { return Ok(Vec::new()) };
        let Some(cert) = commits.commit(b.number).map_err(RpcError::Internal)? else {
            return Ok(Vec::new());
        };
        let signers = cert["signatures"]
            .as_array()
            .map(|sigs| {
                sigs.iter()
                    .filter_map(|s| s["validator"].as_str().and_then(|v| v.parse().ok()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(signers)
    }

    /// `bor_getCurrentValidators`: the set of the height after the head.
    pub(crate) fn bor_current_validators(&self) -> RpcResult<Vec<BorValidator>> {
        let next = Self::head_number(&self.ro()?)? + 1;
        self.sets_source()?.validators(next).map_err(RpcError::Internal)
    }

    /// `bor_getCurrentProposer`: the proposer of the height after the head, at round 0.
    pub(crate) fn bor_current_proposer(&self) -> RpcResult<Address> {
        let next = Self::head_number(&self.ro()?)? + 1;
        self.sets_source()?.proposer(next).map_err(RpcError::Internal)
    }

    /// `bor_getRootHash`: the checkpoint root hash of blocks `start..=end`, hex without `0x`
    /// (as Bor returns it), within Bor's limits (at most 2^15 blocks, `end` at most the head).
    pub(crate) fn root_hash(&self, start: u64, end: u64) -> RpcResult<String> {
        let ro = self.ro()?;
        let head = Self::head_number(&ro)?;
        bttc_checkpoint::check_range(start, end, head)
            .map_err(|e| RpcError::InvalidParams(e.to_string()))?;
        let mut leaves = Vec::with_capacity((end - start + 1) as usize);
        for n in start..=end {
            let header = ro.header(n)?.ok_or_else(|| {
                RpcError::Internal(format!("block {n} is below the head {head} but not stored"))
            })?;
            leaves.push(bttc_checkpoint::leaf(&header));
        }
        Ok(alloy_primitives::hex::encode(bttc_checkpoint::root_of_leaves(&leaves)))
    }
}

/// A block number as Bor's API takes it: a JSON number, or a string in hex (`0x…`) or decimal.
pub(crate) fn block_number_param(v: &serde_json::Value) -> RpcResult<u64> {
    let bad = || RpcError::InvalidParams(format!("{v} is not a block number"));
    match v {
        serde_json::Value::Number(n) => n.as_u64().ok_or_else(bad),
        serde_json::Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| bad()),
            None => s.parse().map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}
