//! Exit payloads built from blocks of many receipts (across the key-length boundary of the
//! receipts trie at index 128) under a checkpoint of several blocks: every receipt's proof
//! checks, the RLP form round-trips, and a tampered receipt, proof, branch mask, log index,
//! block or checkpoint is refused.

use alloy_consensus::{Eip658Value, Receipt as Inner, ReceiptEnvelope, ReceiptWithBloom};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, Log, LogData};
use bttc_bridge::{ExitError, ExitPayload, exit_id, receipt_proof, verify_receipt_proof};
use bttc_primitives::{Header, Receipt};

fn receipt(i: usize, logs: usize) -> Receipt {
    let logs = (0..logs)
        .map(|j| Log {
            address: Address::repeat_byte(i as u8),
            data: LogData::new_unchecked(
                vec![B256::repeat_byte(j as u8)],
                Bytes::from(vec![i as u8; 40]),
            ),
        })
        .collect();
    let inner =
        Inner { status: Eip658Value::Eip658(true), cumulative_gas_used: 21_000 * i as u64, logs };
    let r = ReceiptWithBloom::from(inner);
    if i.is_multiple_of(2) { ReceiptEnvelope::Eip1559(r) } else { ReceiptEnvelope::Legacy(r) }
}

/// Blocks `start..start + n`; block `with` holds `receipts`, the others none.
fn chain(start: u64, n: u64, with: u64, receipts: &[Receipt]) -> Vec<Header> {
    (start..start + n)
        .map(|number| {
            let receipts_root = if number == with {
                alloy_trie::root::ordered_trie_root_with_encoder(receipts, |r, buf| {
                    r.encode_2718(buf)
                })
            } else {
                alloy_trie::EMPTY_ROOT_HASH
            };
            Header {
                number,
                timestamp: 1_700_000_000 + number,
                transactions_root: B256::repeat_byte(number as u8),
                receipts_root,
                ..Default::default()
            }
        })
        .collect()
}

#[test]
fn every_receipt_of_a_big_block_proves_under_its_checkpoint() {
    let receipts: Vec<Receipt> = (0..140).map(|i| receipt(i, 1 + i % 3)).collect();
    let range = chain(33, 7, 36, &receipts);
    let header = &range[3];
    let checkpoint_root = bttc_checkpoint::root(&range);
    for tx in [0usize, 1, 2, 126, 127, 128, 129, 139] {
        for log in 0..(1 + tx % 3) as u64 {
            let p = ExitPayload::build(header, &receipts, tx, log, &range, 20_000).unwrap();
            p.verify(33, checkpoint_root).unwrap_or_else(|e| panic!("tx {tx} log {log}: {e}"));
            assert_eq!(p.tx_index().unwrap(), tx as u64);
            assert_eq!(p.exit_id().unwrap(), exit_id(36, tx as u64, log));
            let bytes = p.encode();
            assert_eq!(ExitPayload::decode(&bytes).unwrap(), p, "tx {tx}");
        }
    }
    // No such log, no such receipt, a block outside the range.
    assert!(matches!(
        ExitPayload::build(header, &receipts, 0, 1, &range, 1),
        Err(ExitError::NoLog { count: 1, index: 1 })
    ));
    assert!(matches!(
        ExitPayload::build(header, &receipts, 140, 0, &range, 1),
        Err(ExitError::NoReceipt { index: 140, .. })
    ));
    assert!(matches!(
        ExitPayload::build(header, &receipts, 0, 0, &range[4..], 1),
        Err(ExitError::OutsideCheckpoint { block: 36, .. })
    ));
    // Receipts that are not the block's.
    let other: Vec<Receipt> = (0..140).map(|i| receipt(i + 1, 1)).collect();
    assert!(matches!(
        ExitPayload::build(header, &other, 0, 0, &range, 1),
        Err(ExitError::ReceiptsRoot { .. })
    ));
}

#[test]
fn tampered_payloads_are_refused() {
    let receipts: Vec<Receipt> = (0..20).map(|i| receipt(i, 2)).collect();
    let range = chain(1, 8, 5, &receipts);
    let root = bttc_checkpoint::root(&range);
    let good = ExitPayload::build(&range[4], &receipts, 3, 1, &range, 10_000).unwrap();
    good.verify(1, root).unwrap();

    // A forged receipt (another receipt's bytes) at this receipt's key.
    let mut p = good.clone();
    p.receipt = receipts[4].encoded_2718().into();
    assert!(matches!(p.verify(1, root), Err(ExitError::ReceiptProof(_))));
    // The right receipt under another key: the mask names another leaf.
    let mut p = good.clone();
    p.branch_mask = Bytes::from(vec![0x00, 0x04]);
    assert!(matches!(p.verify(1, root), Err(ExitError::ReceiptProof(_))));
    // Another encoding of the same key (the 2021 double-spend) is not a mask at all.
    let mut p = good.clone();
    p.branch_mask = Bytes::from(vec![0x10, 0x03]);
    assert!(matches!(p.verify(1, root), Err(ExitError::BranchMask(_))));
    // A wrong log index.
    let mut p = good.clone();
    p.log_index = 2;
    assert!(matches!(p.verify(1, root), Err(ExitError::NoLog { count: 2, index: 2 })));
    // A tampered proof node.
    let mut p = good.clone();
    let mut node = p.receipt_proof[0].to_vec();
    let last = node.len() - 1;
    node[last] ^= 1;
    p.receipt_proof[0] = node.into();
    assert!(p.verify(1, root).is_err());
    // The block claimed at another place in the checkpoint, another checkpoint, a tampered
    // block field.
    assert!(matches!(good.verify(2, root), Err(ExitError::NotInCheckpoint { .. })));
    assert!(matches!(good.verify(1, B256::repeat_byte(9)), Err(ExitError::NotInCheckpoint { .. })));
    let mut p = good.clone();
    p.block_time += 1;
    assert!(matches!(p.verify(1, root), Err(ExitError::NotInCheckpoint { .. })));
    let mut p = good.clone();
    p.block_proof[0] = B256::repeat_byte(7);
    assert!(matches!(p.verify(1, root), Err(ExitError::NotInCheckpoint { .. })));
    // A block before the checkpoint.
    assert!(matches!(good.verify(6, root), Err(ExitError::NotInCheckpoint { .. })));
}

#[test]
fn malformed_payloads_do_not_decode() {
    let receipts: Vec<Receipt> = (0..3).map(|i| receipt(i, 1)).collect();
    let range = chain(1, 2, 1, &receipts);
    let bytes = ExitPayload::build(&range[0], &receipts, 1, 0, &range, 10_000).unwrap().encode();
    for cut in [0, 1, 10, bytes.len() - 1] {
        assert!(ExitPayload::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut long = bytes.to_vec();
    long.push(0x80);
    assert!(ExitPayload::decode(&long).is_err(), "trailing bytes");
    assert!(ExitPayload::decode(b"\xc0").is_err(), "an empty list");
    assert!(ExitPayload::decode(&[0xff; 40]).is_err(), "garbage");
}

#[test]
fn a_single_receipt_block_has_a_one_node_proof() {
    let receipts = [receipt(0, 1)];
    let p = receipt_proof(
        &receipts.iter().map(|r| Bytes::from(r.encoded_2718())).collect::<Vec<_>>(),
        0,
    )
    .unwrap();
    assert_eq!(p.nodes.len(), 1);
    verify_receipt_proof(p.root, &p.key, &p.value, &p.nodes).unwrap();
    assert!(receipt_proof(&[], 0).is_none());
}
