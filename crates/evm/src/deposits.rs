//! EIP-6110 deposit events: the layout a block's deposit logs must have.
//!
//! alloy-evm decodes deposit events with the ABI decoder, which follows whatever offsets the
//! log carries. EIP-6110 (as the execution specs define it) is stricter: a `DepositEvent`
//! log of the deposit contract must be exactly 576 bytes, with its five dynamic fields at
//! fixed offsets and of fixed lengths, or the block is invalid.

use alloy_primitives::{Address, B256, U256, b256};
use bttc_primitives::Receipt;

/// `keccak256("DepositEvent(bytes,bytes,bytes,bytes,bytes)")`.
pub const DEPOSIT_EVENT_TOPIC: B256 =
    b256!("0x649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5");

/// Length of a deposit event's data.
const DEPOSIT_EVENT_LENGTH: usize = 576;

/// (name, offset, size) of the five fields, in order: pubkey, withdrawal credentials,
/// amount, signature, index.
const FIELDS: [(&str, usize, usize); 5] = [
    ("pubkey", 160, 48),
    ("withdrawal_credentials", 256, 32),
    ("amount", 320, 8),
    ("signature", 384, 96),
    ("index", 512, 8),
];

/// Why a deposit log is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositLayoutError {
    /// The data is not 576 bytes.
    #[error("deposit event data is {got} bytes, expected {expected}")]
    Length {
        /// Length found.
        got: usize,
        /// Required length.
        expected: usize,
    },
    /// A field's offset word is not where EIP-6110 puts it.
    #[error("deposit event field {field}: offset {got}, expected {expected}")]
    Offset {
        /// Field name.
        field: &'static str,
        /// Offset found.
        got: U256,
        /// Required offset.
        expected: usize,
    },
    /// A field's length word is wrong.
    #[error("deposit event field {field}: size {got}, expected {expected}")]
    Size {
        /// Field name.
        field: &'static str,
        /// Size found.
        got: U256,
        /// Required size.
        expected: usize,
    },
}

/// Checks one deposit event's data.
pub fn check_deposit_data(data: &[u8]) -> Result<(), DepositLayoutError> {
    if data.len() != DEPOSIT_EVENT_LENGTH {
        return Err(DepositLayoutError::Length { got: data.len(), expected: DEPOSIT_EVENT_LENGTH });
    }
    let word = |at: usize| U256::from_be_slice(&data[at..at + 32]);
    for (i, (field, offset, _)) in FIELDS.iter().enumerate() {
        let got = word(32 * i);
        if got != U256::from(*offset) {
            return Err(DepositLayoutError::Offset { field, got, expected: *offset });
        }
    }
    for (field, offset, size) in FIELDS {
        let got = word(offset);
        if got != U256::from(size) {
            return Err(DepositLayoutError::Size { field, got, expected: size });
        }
    }
    Ok(())
}

/// Checks every deposit event the deposit contract logged in a block: returns the index of
/// the first receipt with a malformed one, and why.
pub fn check_deposit_logs(
    deposit_contract: Address,
    receipts: &[Receipt],
) -> Result<(), (usize, DepositLayoutError)> {
    for (i, receipt) in receipts.iter().enumerate() {
        for log in receipt.logs() {
            if log.address == deposit_contract && log.topics().first() == Some(&DEPOSIT_EVENT_TOPIC)
            {
                check_deposit_data(&log.data.data).map_err(|e| (i, e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Vec<u8> {
        let mut data = vec![0u8; DEPOSIT_EVENT_LENGTH];
        for (i, (_, offset, size)) in FIELDS.iter().enumerate() {
            data[32 * i..32 * i + 32].copy_from_slice(&U256::from(*offset).to_be_bytes::<32>());
            data[*offset..offset + 32].copy_from_slice(&U256::from(*size).to_be_bytes::<32>());
        }
        data
    }

    #[test]
    fn the_canonical_layout_passes_and_every_deviation_fails() {
        assert_eq!(check_deposit_data(&valid()), Ok(()));
        let mut short = valid();
        short.pop();
        assert!(matches!(check_deposit_data(&short), Err(DepositLayoutError::Length { .. })));
        let mut moved = valid();
        moved[31] += 32;
        assert!(matches!(
            check_deposit_data(&moved),
            Err(DepositLayoutError::Offset { field: "pubkey", .. })
        ));
        let mut resized = valid();
        resized[320 + 31] = 9;
        assert!(matches!(
            check_deposit_data(&resized),
            Err(DepositLayoutError::Size { field: "amount", .. })
        ));
    }
}
