//! Matching a rejected block against the exception a fixture expects.
//!
//! A fixture names the exception its block must raise (`expectException`), as EEST's
//! `BlockException.X` / `TransactionException.Y` names, several joined by `|` when any of
//! them is acceptable. bttc's errors are typed differently, so the runner compares their
//! class ([`ErrorClass`], plus [`Expected::Decode`] for blocks that do not decode): a block
//! rejected for a reason of another class fails the test.

use bttc_chain::{ErrorClass, ImportError};
use std::collections::BTreeSet;

/// The class of a rejection: one of the chain's error classes, or the block did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expected {
    /// The block's RLP does not decode (or decodes to a structure no block has).
    Decode,
    /// See [`ErrorClass::Header`].
    Header,
    /// See [`ErrorClass::Transaction`].
    Transaction,
    /// See [`ErrorClass::Execution`].
    Execution,
    /// See [`ErrorClass::Result`].
    Result,
}

impl Expected {
    /// The class of a chain error; `None` for the node's own failures.
    pub fn of(c: ErrorClass) -> Option<Self> {
        Some(match c {
            ErrorClass::Header => Expected::Header,
            ErrorClass::Transaction => Expected::Transaction,
            ErrorClass::Execution => Expected::Execution,
            ErrorClass::Result => Expected::Result,
            ErrorClass::Internal => return None,
        })
    }
}

/// The classes an EEST exception name may be raised as. `None` for a name this runner does
/// not know (the test then fails, so new names are noticed).
fn classes_of(name: &str) -> Option<&'static [Expected]> {
    use Expected::*;
    let (kind, what) = name.split_once('.')?;
    Some(match (kind, what) {
        // Type rules that alloy's decoder enforces: such a transaction does not decode.
        (
            "TransactionException",
            "TYPE_3_TX_CONTRACT_CREATION"
            | "TYPE_4_TX_CONTRACT_CREATION"
            | "TYPE_3_TX_WITH_FULL_BLOBS",
        ) => &[Transaction, Decode],
        // alloy decodes fees as u128: a gas price large enough to overflow the gas-limit
        // product does not decode.
        ("TransactionException", "GASLIMIT_PRICE_PRODUCT_OVERFLOW") => &[Transaction, Decode],
        // A block whose blob transactions go over the block's blob gas also carries a header
        // `blobGasUsed` over the maximum, which bttc (like geth) checks first.
        ("TransactionException", "TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED") => {
            &[Transaction, Header]
        }
        ("TransactionException", _) => &[Transaction],
        // A header with a withdrawals root over a body without withdrawals: alloy decodes the
        // body (withdrawals are optional in its RLP) and the body check refuses it.
        ("BlockException", "RLP_WITHDRAWALS_NOT_READ") => &[Decode, Header],
        ("BlockException", w) if w.starts_with("RLP_") && w != "RLP_BLOCK_LIMIT_EXCEEDED" => {
            &[Decode]
        }
        ("BlockException", "INCORRECT_BLOCK_FORMAT") => &[Decode, Header],
        (
            "BlockException",
            "EXTRA_DATA_TOO_BIG"
            | "GASLIMIT_TOO_BIG"
            | "GAS_USED_OVERFLOW"
            | "IMPORT_IMPOSSIBLE_DIFFICULTY_OVER_PARIS"
            | "IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS"
            | "INCORRECT_EXCESS_BLOB_GAS"
            | "INVALID_BASEFEE_PER_GAS"
            | "INVALID_BLOCK_NUMBER"
            | "INVALID_BLOCK_TIMESTAMP_OLDER_THAN_PARENT"
            | "INVALID_GASLIMIT"
            | "INVALID_TRANSACTIONS_ROOT"
            | "INVALID_WITHDRAWALS_ROOT"
            | "INVALID_BLOCK_HASH"
            | "INVALID_DIFFICULTY"
            | "INVALID_UNCLE_HASH"
            | "UNKNOWN_PARENT"
            | "UNKNOWN_PARENT_ZERO"
            | "RLP_BLOCK_LIMIT_EXCEEDED"
            | "BLOB_GAS_USED_ABOVE_LIMIT",
        ) => &[Header],
        ("BlockException", "INVALID_VERSIONED_HASHES") => &[Transaction],
        (
            "BlockException",
            "SYSTEM_CONTRACT_CALL_FAILED"
            | "SYSTEM_CONTRACT_EMPTY"
            | "INVALID_DEPOSIT_EVENT_LAYOUT",
        ) => &[Execution],
        (
            "BlockException",
            "INVALID_GAS_USED"
            | "INVALID_LOG_BLOOM"
            | "INVALID_RECEIPTS_ROOT"
            | "INVALID_STATE_ROOT"
            | "INVALID_REQUESTS"
            | "INCORRECT_BLOB_GAS_USED",
        ) => &[Result],
        _ => return None,
    })
}

/// Every class an `expectException` value accepts.
pub fn expected_classes(expect: &str) -> Result<BTreeSet<Expected>, String> {
    let mut out = BTreeSet::new();
    for name in expect.split('|').map(str::trim) {
        let classes =
            classes_of(name).ok_or_else(|| format!("unknown expected exception {name}"))?;
        out.extend(classes.iter().copied());
    }
    Ok(out)
}

/// Whether a block of a fixture filled by retesteth (the legacy ethereum/tests) was refused
/// for its transactions root where a transaction exception was expected. retesteth built
/// those blocks by putting the invalid transaction into a block whose header the filling
/// client had made without it, so every client refuses them on the root before executing
/// anything (e.g. `bcStateTests/dataTx`: header root = empty trie, body = one transaction).
pub fn legacy_transactions_root(test: &serde_json::Value, err: &ImportError) -> bool {
    let retesteth = test
        .pointer("/_info/filling-tool-version")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|v| v.starts_with("retesteth"));
    retesteth
        && matches!(err, ImportError::Block { source, .. }
            if matches!(**source, bttc_chain::BlockError::Header { field: "transactionsRoot", .. }))
}

/// The class of an import failure; `None` when the node itself failed (that never matches).
pub fn class_of(err: &ImportError) -> Option<Expected> {
    match err {
        ImportError::File(_) => Some(Expected::Decode),
        ImportError::Block { source, .. } => Expected::of(source.class()),
        ImportError::Write { .. } | ImportError::Chain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternatives_are_united_and_unknown_names_refused() {
        let got = expected_classes(
            "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS|BlockException.INVALID_STATE_ROOT",
        )
        .unwrap();
        assert_eq!(got, [Expected::Transaction, Expected::Result].into_iter().collect());
        assert_eq!(
            expected_classes("BlockException.RLP_STRUCTURES_ENCODING").unwrap(),
            [Expected::Decode].into_iter().collect()
        );
        assert!(expected_classes("BlockException.SOMETHING_NEW").is_err());
        assert!(expected_classes("nonsense").is_err());
    }
}
