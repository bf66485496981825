//! Receipts as stored: `tx type (1) | RLP [status, cumulative gas, logs]`, without the
//! 256-byte bloom, which is recomputed from the logs on read.

use alloy_consensus::{Eip658Value, Receipt as ConsensusReceipt, ReceiptEnvelope, TxType};
use alloy_primitives::Log;
use alloy_rlp::{Decodable, Encodable, Header};
use bttc_primitives::Receipt;

/// Encodes a receipt for the `Receipts` table.
pub(crate) fn encode_receipt(receipt: &Receipt, out: &mut Vec<u8>) {
    out.push(receipt.tx_type() as u8);
    let inner = receipt.as_receipt().expect("every receipt envelope variant holds a receipt");
    let payload = inner.status.length() + inner.cumulative_gas_used.length() + inner.logs.length();
    Header { list: true, payload_length: payload }.encode(out);
    inner.status.encode(out);
    inner.cumulative_gas_used.encode(out);
    inner.logs.encode(out);
}

/// Decodes what [`encode_receipt`] wrote.
pub(crate) fn decode_receipt(bytes: &[u8]) -> Result<Receipt, String> {
    let (&ty, mut rest) = bytes.split_first().ok_or("empty receipt")?;
    let tx_type = TxType::try_from(ty).map_err(|e| format!("receipt type {ty}: {e}"))?;
    let header = Header::decode(&mut rest).map_err(|e| e.to_string())?;
    if !header.list || header.payload_length != rest.len() {
        return Err("receipt is not a single RLP list".into());
    }
    let status = Eip658Value::decode(&mut rest).map_err(|e| e.to_string())?;
    let cumulative_gas_used = u64::decode(&mut rest).map_err(|e| e.to_string())?;
    let logs = Vec::<Log>::decode(&mut rest).map_err(|e| e.to_string())?;
    let receipt = ConsensusReceipt { status, cumulative_gas_used, logs };
    Ok(ReceiptEnvelope::from_typed(tx_type, receipt.with_bloom()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, B256, Bytes, LogData};

    #[test]
    fn roundtrip_restores_the_bloom() {
        let log = Log {
            address: Address::repeat_byte(1),
            data: LogData::new_unchecked(vec![B256::repeat_byte(2)], Bytes::from_static(b"x")),
        };
        for (ty, status) in [
            (TxType::Eip1559, Eip658Value::Eip658(true)),
            (TxType::Legacy, Eip658Value::PostState(B256::repeat_byte(7))),
            (TxType::Eip7702, Eip658Value::Eip658(false)),
        ] {
            let r: Receipt = ReceiptEnvelope::from_typed(
                ty,
                ConsensusReceipt { status, cumulative_gas_used: 21_000, logs: vec![log.clone()] }
                    .with_bloom(),
            );
            let mut buf = Vec::new();
            encode_receipt(&r, &mut buf);
            assert_eq!(decode_receipt(&buf).unwrap(), r);
            assert!(buf.len() < 100, "no bloom stored: {} bytes", buf.len());
            for cut in 0..buf.len() {
                assert!(decode_receipt(&buf[..cut]).is_err());
            }
        }
        assert!(decode_receipt(&[9, 0xc0]).is_err());
    }
}
