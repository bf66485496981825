//! Consensus checks that need no execution: a header against its parent, a body against
//! its header.

use crate::BlockError;
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, Transaction as _,
    proofs::{calculate_ommers_root, calculate_transaction_root, calculate_withdrawals_root},
};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE},
    eip4844::DATA_GAS_PER_BLOB,
};
use alloy_hardforks::EthereumHardforks;
use bttc_chainspec::ChainSpec;
use bttc_primitives::Block;

/// Most a header's `extraData` may hold.
pub const MAX_EXTRA_DATA: usize = 32;
/// Least gas limit a block may have.
pub const MIN_GAS_LIMIT: u64 = 5000;
/// The gas limit may move by less than parent / this per block.
pub const GAS_LIMIT_BOUND_DIVISOR: u64 = 1024;

/// Checks `header` against its `parent` under the rules of its fork.
pub fn validate_header(
    spec: &ChainSpec,
    header: &Header,
    parent: &Header,
) -> Result<(), BlockError> {
    let number = header.number;
    if number != parent.number + 1 {
        return Err(BlockError::header("number", number, parent.number + 1));
    }
    if header.timestamp <= parent.timestamp {
        return Err(BlockError::header(
            "timestamp",
            header.timestamp,
            format!("> parent timestamp {}", parent.timestamp),
        ));
    }
    // bttc blocks carry the previous block's commit there (bttc_primitives::LastCommit).
    let max_extra =
        if spec.is_bttc() { bttc_primitives::MAX_LAST_COMMIT_SIZE } else { MAX_EXTRA_DATA };
    if header.extra_data.len() > max_extra {
        return Err(BlockError::header(
            "extraData length",
            header.extra_data.len(),
            format!("<= {max_extra}"),
        ));
    }
    if header.gas_limit > i64::MAX as u64 {
        return Err(BlockError::header("gasLimit", header.gas_limit, format!("<= {}", i64::MAX)));
    }
    if header.gas_used > header.gas_limit {
        return Err(BlockError::header(
            "gasUsed",
            header.gas_used,
            format!("<= gasLimit {}", header.gas_limit),
        ));
    }
    validate_gas_limit(spec, header, parent)?;

    // EIP-1559 base fee.
    if let Some(expected) = expected_base_fee(spec, parent, number) {
        match header.base_fee_per_gas {
            Some(got) if got == expected => {}
            got => return Err(BlockError::header("baseFeePerGas", fmt_opt(got), expected)),
        }
    } else if header.base_fee_per_gas.is_some() {
        return Err(BlockError::header(
            "baseFeePerGas",
            fmt_opt(header.base_fee_per_gas),
            "absent before London",
        ));
    }

    // The merge: no proof of work, no ommers. Before it, the difficulty must follow the
    // fork's adjustment rule (the proof of work itself is not checked).
    if !spec.is_paris_active_at_block(number) {
        let expected = crate::difficulty::expected_difficulty(spec, header.timestamp, parent);
        if header.difficulty != expected {
            return Err(BlockError::header("difficulty", header.difficulty, expected));
        }
    } else {
        if !header.difficulty.is_zero() {
            return Err(BlockError::header("difficulty", header.difficulty, 0));
        }
        if header.nonce != alloy_primitives::B64::ZERO {
            return Err(BlockError::header("nonce", header.nonce, "0x0000000000000000"));
        }
        if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
            return Err(BlockError::header(
                "ommersHash",
                header.ommers_hash,
                EMPTY_OMMER_ROOT_HASH,
            ));
        }
    }

    let ts = header.timestamp;
    presence(
        "withdrawalsRoot",
        header.withdrawals_root.is_some(),
        spec.is_shanghai_active_at_timestamp(ts),
    )?;
    let cancun = spec.is_cancun_active_at_timestamp(ts);
    presence("blobGasUsed", header.blob_gas_used.is_some(), cancun)?;
    presence("excessBlobGas", header.excess_blob_gas.is_some(), cancun)?;
    presence("parentBeaconBlockRoot", header.parent_beacon_block_root.is_some(), cancun)?;
    presence(
        "requestsHash",
        header.requests_hash.is_some(),
        spec.is_prague_active_at_timestamp(ts),
    )?;

    if cancun {
        let params = spec.blob_params_at(ts).ok_or_else(|| {
            BlockError::header("blob schedule", "none", "blob parameters for an active Cancun")
        })?;
        let expected = expected_excess_blob_gas(spec, parent, ts).unwrap_or_default();
        let got = header.excess_blob_gas.unwrap_or_default();
        if got != expected {
            return Err(BlockError::header("excessBlobGas", got, expected));
        }
        let blob_gas = header.blob_gas_used.unwrap_or_default();
        if !blob_gas.is_multiple_of(DATA_GAS_PER_BLOB) {
            return Err(BlockError::header(
                "blobGasUsed",
                blob_gas,
                format!("a multiple of {DATA_GAS_PER_BLOB}"),
            ));
        }
        if blob_gas > params.max_blob_gas_per_block() {
            return Err(BlockError::header(
                "blobGasUsed",
                blob_gas,
                format!("<= {}", params.max_blob_gas_per_block()),
            ));
        }
    }
    Ok(())
}

/// The base fee a block `number` on top of `parent` must carry: `None` before London,
/// the initial base fee at the London block, the EIP-1559 update rule after it.
pub fn expected_base_fee(spec: &ChainSpec, parent: &Header, number: u64) -> Option<u64> {
    if !spec.is_london_active_at_block(number) {
        return None;
    }
    if spec
        .ethereum_fork_activation(alloy_hardforks::EthereumHardfork::London)
        .transitions_at_block(number)
    {
        return Some(INITIAL_BASE_FEE);
    }
    Some(parent.next_block_base_fee(BaseFeeParams::ethereum()).unwrap_or(INITIAL_BASE_FEE))
}

/// The excess blob gas a block at `timestamp` on top of `parent` must carry: `None` before
/// Cancun, 0 in the first Cancun block, the EIP-4844/7918 update rule after it.
pub fn expected_excess_blob_gas(spec: &ChainSpec, parent: &Header, timestamp: u64) -> Option<u64> {
    if !spec.is_cancun_active_at_timestamp(timestamp) {
        return None;
    }
    let params = spec.blob_params_at(timestamp)?;
    if !spec.is_cancun_active_at_timestamp(parent.timestamp) {
        return Some(0);
    }
    Some(params.next_block_excess_blob_gas_osaka(
        parent.excess_blob_gas.unwrap_or(0),
        parent.blob_gas_used.unwrap_or(0),
        parent.base_fee_per_gas.unwrap_or(0),
    ))
}

fn validate_gas_limit(
    spec: &ChainSpec,
    header: &Header,
    parent: &Header,
) -> Result<(), BlockError> {
    let mut parent_limit = parent.gas_limit;
    // At the London block the limit target doubles (elasticity multiplier 2).
    if spec
        .ethereum_fork_activation(alloy_hardforks::EthereumHardfork::London)
        .transitions_at_block(header.number)
    {
        parent_limit = parent_limit.saturating_mul(2);
    }
    let limit = header.gas_limit;
    let bound = parent_limit / GAS_LIMIT_BOUND_DIVISOR;
    if limit.abs_diff(parent_limit) >= bound {
        return Err(BlockError::header(
            "gasLimit",
            limit,
            format!("within {bound} of parent limit {parent_limit}"),
        ));
    }
    if limit < MIN_GAS_LIMIT {
        return Err(BlockError::header("gasLimit", limit, format!(">= {MIN_GAS_LIMIT}")));
    }
    Ok(())
}

fn presence(field: &'static str, present: bool, required: bool) -> Result<(), BlockError> {
    match (present, required) {
        (true, false) => Err(BlockError::header(field, "present", "absent before its fork")),
        (false, true) => Err(BlockError::header(field, "absent", "present after its fork")),
        _ => Ok(()),
    }
}

fn fmt_opt(v: Option<u64>) -> String {
    v.map_or_else(|| "absent".to_string(), |v| v.to_string())
}

/// Ommers farther back than this many generations may not be included.
pub const MAX_OMMER_DEPTH: u64 = 7;

/// Checks a pre-merge block's ommers (uncles) against the chain, as geth's Ethash engine
/// does: each is a valid header whose parent is one of the last seven blocks (but not the
/// block's own parent), is not itself an ancestor, and was not included before (by this
/// block or by one of those seven). Proof of work is not checked. `provider` holds the
/// block's ancestors (its parent is the head).
pub fn validate_ommers<K: bttc_storage::TransactionKind<Access = bttc_storage::PtrUnsync>>(
    spec: &ChainSpec,
    provider: &bttc_storage::Provider<K>,
    block: &Block,
) -> Result<(), BlockError> {
    use std::collections::{HashMap, HashSet};
    let ommers = &block.body.ommers;
    if ommers.is_empty() {
        return Ok(());
    }
    let number = block.header.number;
    let mut ancestors: HashMap<alloy_primitives::B256, Header> = HashMap::new();
    let mut included: HashSet<alloy_primitives::B256> = HashSet::new();
    for n in number.saturating_sub(MAX_OMMER_DEPTH)..number {
        let Some(header) = provider.header(n)? else { continue };
        if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
            included.extend(provider.ommers(n)?.iter().map(Header::hash_slow));
        }
        ancestors.insert(header.hash_slow(), header);
    }
    let hash = block.header.hash_slow();
    included.insert(hash);
    for (i, ommer) in ommers.iter().enumerate() {
        let ommer_hash = ommer.hash_slow();
        let invalid = |reason: String| BlockError::Ommer { index: i, hash: ommer_hash, reason };
        if !included.insert(ommer_hash) {
            return Err(invalid("included twice (duplicate uncle)".into()));
        }
        if ancestors.contains_key(&ommer_hash) {
            return Err(invalid("it is an ancestor of the block".into()));
        }
        let parent = match ancestors.get(&ommer.parent_hash) {
            Some(p) if ommer.parent_hash != block.header.parent_hash => p,
            _ => {
                return Err(invalid(format!(
                    "its parent {} is not one of the {MAX_OMMER_DEPTH} blocks before, other                      than the block's parent (dangling uncle)",
                    ommer.parent_hash
                )));
            }
        };
        validate_header(spec, ommer, parent).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(())
}

/// Checks a block's body against its header, and body rules that need no state.
pub fn validate_body(spec: &ChainSpec, block: &Block) -> Result<(), BlockError> {
    let header = &block.header;
    let body = &block.body;
    if let Some(max) = spec.max_rlp_block_size(header.timestamp) {
        let size = alloy_rlp::Encodable::length(block);
        if size > max {
            return Err(BlockError::BlockSize { size, max });
        }
    }
    let tx_root = calculate_transaction_root(&body.transactions);
    if tx_root != header.transactions_root {
        return Err(BlockError::header("transactionsRoot", header.transactions_root, tx_root));
    }
    let ommers_hash = calculate_ommers_root(&body.ommers);
    if ommers_hash != header.ommers_hash {
        return Err(BlockError::header("ommersHash", header.ommers_hash, ommers_hash));
    }
    if spec.is_paris_active_at_block(header.number) && !body.ommers.is_empty() {
        return Err(BlockError::Body(format!("{} ommers after the merge", body.ommers.len())));
    }
    if body.ommers.len() > 2 {
        return Err(BlockError::Body(format!("{} ommers, at most 2 allowed", body.ommers.len())));
    }
    match (&body.withdrawals, header.withdrawals_root) {
        (Some(w), Some(root)) => {
            let got = calculate_withdrawals_root(w);
            if got != root {
                return Err(BlockError::header("withdrawalsRoot", root, got));
            }
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(BlockError::Body("withdrawals without withdrawalsRoot".into()));
        }
        (None, Some(_)) => {
            return Err(BlockError::Body("withdrawalsRoot without withdrawals".into()));
        }
    }
    let mut blob_gas = 0u64;
    let blob_params = spec.blob_params_at(header.timestamp);
    for (i, tx) in body.transactions.iter().enumerate() {
        let invalid =
            |reason: String| BlockError::Transaction { index: i, hash: *tx.tx_hash(), reason };
        if let bttc_primitives::TxEnvelope::Eip4844(signed) = tx
            && signed.tx().as_with_sidecar().is_some()
        {
            return Err(invalid(
                "carries its blob sidecar; blocks hold blob transactions without sidecars".into(),
            ));
        }
        let Some(hashes) = tx.blob_versioned_hashes() else { continue };
        if spec.is_bttc() {
            return Err(invalid(
                "is a blob transaction; bttc chains do not accept type-3 transactions".into(),
            ));
        }
        if let Some(p) = blob_params
            && hashes.len() as u64 > p.max_blobs_per_tx
        {
            return Err(invalid(format!(
                "carries {} blobs, at most {} per transaction",
                hashes.len(),
                p.max_blobs_per_tx
            )));
        }
        blob_gas += hashes.len() as u64 * DATA_GAS_PER_BLOB;
        if let Some(p) = blob_params
            && blob_gas > p.max_blob_gas_per_block()
        {
            return Err(invalid(format!(
                "brings the block's blob gas to {blob_gas}, over the block maximum {}",
                p.max_blob_gas_per_block()
            )));
        }
    }
    Ok(())
}
