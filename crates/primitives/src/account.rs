//! The plain-state account record and its storage encoding.

use alloy_consensus::constants::KECCAK_EMPTY;
use alloy_primitives::{B256, U256};

/// An account in the plain state: what revm's `AccountInfo` holds, minus the code itself
/// (code lives in the bytecode table under its hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// Transaction count (or creation count for contracts).
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Keccak-256 of the code; [`KECCAK_EMPTY`] for accounts without code.
    pub code_hash: B256,
}

impl Default for Account {
    fn default() -> Self {
        Self { nonce: 0, balance: U256::ZERO, code_hash: KECCAK_EMPTY }
    }
}

/// Why a stored account record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountDecodeError {
    /// The record is shorter than its header says.
    #[error("account record truncated: got {got} bytes, expected at least {expected}")]
    Truncated {
        /// Bytes present.
        got: usize,
        /// Bytes needed.
        expected: usize,
    },
    /// The leading version/flags byte is not one this version writes.
    #[error("account record has unknown flags byte {0:#04x}")]
    UnknownFlags(u8),
}

const HAS_CODE: u8 = 0x01;
const VERSION_MASK: u8 = 0xf0;
const VERSION: u8 = 0x10;

impl Account {
    /// Whether the account has code.
    pub fn has_code(&self) -> bool {
        self.code_hash != KECCAK_EMPTY && self.code_hash != B256::ZERO
    }

    /// Whether the account is empty in the EIP-161 sense.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && !self.has_code()
    }

    /// Compact encoding: `flags(1) | nonce_len(1) | nonce | balance_len(1) | balance | [code_hash(32)]`,
    /// integers big-endian without leading zeros.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let flags = VERSION | if self.has_code() { HAS_CODE } else { 0 };
        out.push(flags);
        let nonce = self.nonce.to_be_bytes();
        let nz = nonce.iter().position(|b| *b != 0).unwrap_or(8);
        out.push((8 - nz) as u8);
        out.extend_from_slice(&nonce[nz..]);
        let bal = self.balance.to_be_bytes::<32>();
        let bz = bal.iter().position(|b| *b != 0).unwrap_or(32);
        out.push((32 - bz) as u8);
        out.extend_from_slice(&bal[bz..]);
        if self.has_code() {
            out.extend_from_slice(self.code_hash.as_slice());
        }
    }

    /// Encodes into a fresh vector.
    pub fn encoded(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(48);
        self.encode(&mut v);
        v
    }

    /// Decodes what [`Account::encode`] wrote.
    pub fn decode(buf: &[u8]) -> Result<Self, AccountDecodeError> {
        let need = |n: usize| {
            if buf.len() < n {
                Err(AccountDecodeError::Truncated { got: buf.len(), expected: n })
            } else {
                Ok(())
            }
        };
        need(2)?;
        let flags = buf[0];
        if flags & VERSION_MASK != VERSION || flags & !(VERSION_MASK | HAS_CODE) != 0 {
            return Err(AccountDecodeError::UnknownFlags(flags));
        }
        let nlen = buf[1] as usize;
        if nlen > 8 {
            return Err(AccountDecodeError::UnknownFlags(flags));
        }
        need(2 + nlen + 1)?;
        let mut nonce = [0u8; 8];
        nonce[8 - nlen..].copy_from_slice(&buf[2..2 + nlen]);
        let mut pos = 2 + nlen;
        let blen = buf[pos] as usize;
        if blen > 32 {
            return Err(AccountDecodeError::UnknownFlags(flags));
        }
        pos += 1;
        need(pos + blen)?;
        let mut bal = [0u8; 32];
        bal[32 - blen..].copy_from_slice(&buf[pos..pos + blen]);
        pos += blen;
        let code_hash = if flags & HAS_CODE != 0 {
            need(pos + 32)?;
            B256::from_slice(&buf[pos..pos + 32])
        } else {
            KECCAK_EMPTY
        };
        Ok(Self { nonce: u64::from_be_bytes(nonce), balance: U256::from_be_bytes(bal), code_hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for a in [
            Account::default(),
            Account { nonce: 1, balance: U256::from(10u64), code_hash: KECCAK_EMPTY },
            Account { nonce: u64::MAX, balance: U256::MAX, code_hash: B256::repeat_byte(7) },
        ] {
            let enc = a.encoded();
            assert_eq!(Account::decode(&enc).unwrap(), a);
            for cut in 0..enc.len() {
                assert!(Account::decode(&enc[..cut]).is_err(), "prefix {cut} must fail");
            }
        }
        assert_eq!(Account::default().encoded().len(), 3);
        assert!(matches!(
            Account::decode(&[0xff, 0, 0]),
            Err(AccountDecodeError::UnknownFlags(0xff))
        ));
    }
}
