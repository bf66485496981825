//! The exit payload: building it from a block, its receipts and the checkpoint that covers
//! it, its RLP form, and the checks the root runs on it.

use crate::receipt_proof::{receipt_proof, verify_receipt_proof};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_rlp::{Decodable, Encodable, Header as RlpHeader};
use bttc_primitives::{Header, Receipt};

/// Why a payload could not be built, decoded or checked.
#[derive(Debug, thiserror::Error)]
pub enum ExitError {
    /// The transaction index is beyond the block's receipts.
    #[error("block {block} has {count} receipts; no receipt at index {index}")]
    NoReceipt {
        /// The block.
        block: u64,
        /// Its receipts.
        count: usize,
        /// The index asked for.
        index: usize,
    },
    /// The log index is beyond the receipt's logs.
    #[error("the receipt has {count} logs; no log at index {index}")]
    NoLog {
        /// Logs in the receipt.
        count: usize,
        /// The index asked for.
        index: u64,
    },
    /// The block is outside the checkpoint.
    #[error("block {block} is outside checkpoint [{start}, {end}]")]
    OutsideCheckpoint {
        /// The block.
        block: u64,
        /// The checkpoint's first block.
        start: u64,
        /// Its last block.
        end: u64,
    },
    /// A header of the checkpoint's range is missing.
    #[error("checkpoint [{start}, {end}] needs {got} headers, got {count}")]
    Headers {
        /// The checkpoint's first block.
        start: u64,
        /// Its last block.
        end: u64,
        /// Headers needed.
        got: u64,
        /// Headers given.
        count: usize,
    },
    /// The receipts do not make the block's receipts root.
    #[error("the receipts make root {got}, the block says {expected}")]
    ReceiptsRoot {
        /// Computed.
        got: B256,
        /// In the header.
        expected: B256,
    },
    /// The payload's RLP is malformed.
    #[error("payload RLP: {0}")]
    Rlp(#[from] alloy_rlp::Error),
    /// The payload's receipt does not decode.
    #[error("payload receipt: {0}")]
    Receipt(#[from] alloy_eips::eip2718::Eip2718Error),
    /// The receipt proof does not prove the receipt under the receipts root.
    #[error("receipt proof: {0}")]
    ReceiptProof(#[from] alloy_trie::proof::ProofVerificationError),
    /// The branch mask is not `0x00 ‖ rlp(index)`.
    #[error("branch mask {0} is not 0x00 followed by a key")]
    BranchMask(Bytes),
    /// The block proof is not a whole number of 32-byte hashes.
    #[error("block proof of {0} bytes is not a list of 32-byte hashes")]
    BlockProofLength(usize),
    /// The block is not in the checkpoint's tree.
    #[error("block {block} is not in the tree of checkpoint root {root} at index {index}")]
    NotInCheckpoint {
        /// The block.
        block: u64,
        /// The checkpoint root.
        root: B256,
        /// Its index in the checkpoint.
        index: u64,
    },
}

/// An exit payload (module docs of the crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitPayload {
    /// The checkpoint's header block id on the root.
    pub header_block_id: u64,
    /// Sibling path of the block's leaf in the checkpoint's tree, bottom up.
    pub block_proof: Vec<B256>,
    /// The block.
    pub block_number: u64,
    /// Its timestamp.
    pub block_time: u64,
    /// Its transactions root.
    pub tx_root: B256,
    /// Its receipts root.
    pub receipt_root: B256,
    /// The receipt (EIP-2718 encoding).
    pub receipt: Bytes,
    /// The receipts-trie nodes from the root to the receipt's leaf, each RLP-encoded.
    pub receipt_proof: Vec<Bytes>,
    /// `0x00 ‖ rlp(txIndex)`.
    pub branch_mask: Bytes,
    /// The log's index within the receipt.
    pub log_index: u64,
}

/// The name of an exit for the root's replay guard: `keccak256(blockNumber ‖ txIndex ‖
/// logIndex)`, each as 32 bytes. One burn has one name, whatever encoding of the branch
/// mask a payload uses (Polygon's 2021 double-spend came from several masks of one key).
pub fn exit_id(block_number: u64, tx_index: u64, log_index: u64) -> B256 {
    let mut b = [0u8; 96];
    b[24..32].copy_from_slice(&block_number.to_be_bytes());
    b[56..64].copy_from_slice(&tx_index.to_be_bytes());
    b[88..96].copy_from_slice(&log_index.to_be_bytes());
    keccak256(b)
}

impl ExitPayload {
    /// The payload for log `log_index` of transaction `tx_index` in the block with `header`
    /// and `receipts`, under the checkpoint `[start, start + range.len() - 1]` whose headers
    /// are `range`, posted on a root as header block `header_block_id`.
    pub fn build(
        header: &Header,
        receipts: &[Receipt],
        tx_index: usize,
        log_index: u64,
        range: &[Header],
        header_block_id: u64,
    ) -> Result<Self, ExitError> {
        use alloy_eips::eip2718::Encodable2718;
        let block = header.number;
        let receipt = receipts.get(tx_index).ok_or(ExitError::NoReceipt {
            block,
            count: receipts.len(),
            index: tx_index,
        })?;
        let logs = receipt.logs().len();
        if log_index >= logs as u64 {
            return Err(ExitError::NoLog { count: logs, index: log_index });
        }
        let start = range.first().map(|h| h.number).unwrap_or(block);
        let end = range.last().map(|h| h.number).unwrap_or(block);
        if !(start..=end).contains(&block) {
            return Err(ExitError::OutsideCheckpoint { block, start, end });
        }
        if end - start + 1 != range.len() as u64 {
            return Err(ExitError::Headers {
                start,
                end,
                got: end - start + 1,
                count: range.len(),
            });
        }
        let encoded: Vec<Bytes> = receipts.iter().map(|r| r.encoded_2718().into()).collect();
        let proof = receipt_proof(&encoded, tx_index).expect("the index was checked");
        if proof.root != header.receipts_root {
            return Err(ExitError::ReceiptsRoot {
                got: proof.root,
                expected: header.receipts_root,
            });
        }
        let leaves: Vec<B256> = range.iter().map(bttc_checkpoint::leaf).collect();
        let block_proof = bttc_checkpoint::proof(&leaves, (block - start) as usize)
            .expect("the block is in range");
        let mut branch_mask = vec![0u8];
        branch_mask.extend_from_slice(&proof.key);
        Ok(Self {
            header_block_id,
            block_proof,
            block_number: block,
            block_time: header.timestamp,
            tx_root: header.transactions_root,
            receipt_root: header.receipts_root,
            receipt: proof.value,
            receipt_proof: proof.nodes,
            branch_mask: branch_mask.into(),
            log_index,
        })
    }

    /// The receipts-trie key the branch mask names (`rlp(txIndex)`).
    fn key(&self) -> Result<&[u8], ExitError> {
        match self.branch_mask.split_first() {
            Some((0, key)) if !key.is_empty() => Ok(key),
            _ => Err(ExitError::BranchMask(self.branch_mask.clone())),
        }
    }

    /// The transaction's index in its block, from the branch mask.
    pub fn tx_index(&self) -> Result<u64, ExitError> {
        let mut key = self.key()?;
        let i = u64::decode(&mut key)?;
        if !key.is_empty() {
            return Err(ExitError::BranchMask(self.branch_mask.clone()));
        }
        Ok(i)
    }

    /// What the root checks, against the checkpoint that starts at `checkpoint_start` with
    /// root hash `checkpoint_root`: the receipt is in the block's receipts trie at the branch
    /// mask's key, it has the log, and the block is in the checkpoint at its index.
    pub fn verify(&self, checkpoint_start: u64, checkpoint_root: B256) -> Result<(), ExitError> {
        verify_receipt_proof(self.receipt_root, self.key()?, &self.receipt, &self.receipt_proof)?;
        self.tx_index()?;
        let receipt = Receipt::decode_2718(&mut self.receipt.as_ref())?;
        let logs = receipt.logs().len();
        if self.log_index >= logs as u64 {
            return Err(ExitError::NoLog { count: logs, index: self.log_index });
        }
        let index =
            self.block_number.checked_sub(checkpoint_start).ok_or(ExitError::NotInCheckpoint {
                block: self.block_number,
                root: checkpoint_root,
                index: 0,
            })?;
        let mut leaf = [0u8; 128];
        leaf[24..32].copy_from_slice(&self.block_number.to_be_bytes());
        leaf[56..64].copy_from_slice(&self.block_time.to_be_bytes());
        leaf[64..96].copy_from_slice(self.tx_root.as_slice());
        leaf[96..].copy_from_slice(self.receipt_root.as_slice());
        if !bttc_checkpoint::verify(keccak256(leaf), index, checkpoint_root, &self.block_proof) {
            return Err(ExitError::NotInCheckpoint {
                block: self.block_number,
                root: checkpoint_root,
                index,
            });
        }
        Ok(())
    }

    /// This exit's name for the root's replay guard ([`exit_id`]).
    pub fn exit_id(&self) -> Result<B256, ExitError> {
        Ok(exit_id(self.block_number, self.tx_index()?, self.log_index))
    }

    /// `rlp([headerBlockId, blockProof, blockNumber, blockTime, txRoot, receiptRoot, receipt,
    /// receiptProof, branchMask, logIndex])`.
    pub fn encode(&self) -> Bytes {
        let block_proof: Vec<u8> = self.block_proof.iter().flat_map(|h| h.0).collect();
        let nodes_len: usize = self.receipt_proof.iter().map(|n| n.len()).sum();
        let mut nodes = Vec::with_capacity(nodes_len + 9);
        RlpHeader { list: true, payload_length: nodes_len }.encode(&mut nodes);
        for n in &self.receipt_proof {
            nodes.extend_from_slice(n); // each node is an RLP list already
        }
        let fields: [&dyn Encodable; 10] = [
            &self.header_block_id,
            &Bytes::from(block_proof),
            &self.block_number,
            &self.block_time,
            &self.tx_root,
            &self.receipt_root,
            &self.receipt,
            &Bytes::from(nodes),
            &self.branch_mask,
            &self.log_index,
        ];
        let payload_length: usize = fields.iter().map(|f| f.length()).sum();
        let mut out = Vec::with_capacity(payload_length + 9);
        RlpHeader { list: true, payload_length }.encode(&mut out);
        for f in fields {
            f.encode(&mut out);
        }
        out.into()
    }

    /// Decodes [`Self::encode`]'s bytes (or any payload in pos-portal's format).
    pub fn decode(mut b: &[u8]) -> Result<Self, ExitError> {
        let buf = &mut b;
        let h = RlpHeader::decode(buf)?;
        if !h.list || h.payload_length != buf.len() {
            return Err(alloy_rlp::Error::UnexpectedLength.into());
        }
        let header_block_id = u64::decode(buf)?;
        let proof = Bytes::decode(buf)?;
        if proof.len() % 32 != 0 {
            return Err(ExitError::BlockProofLength(proof.len()));
        }
        let block_proof = proof.chunks(32).map(B256::from_slice).collect();
        let block_number = u64::decode(buf)?;
        let block_time = u64::decode(buf)?;
        let tx_root = B256::decode(buf)?;
        let receipt_root = B256::decode(buf)?;
        let receipt = Bytes::decode(buf)?;
        let nodes_bytes = Bytes::decode(buf)?;
        let branch_mask = Bytes::decode(buf)?;
        let log_index = u64::decode(buf)?;
        if !buf.is_empty() {
            return Err(alloy_rlp::Error::UnexpectedLength.into());
        }
        let mut n = nodes_bytes.as_ref();
        let list = RlpHeader::decode(&mut n)?;
        if !list.list || list.payload_length != n.len() {
            return Err(alloy_rlp::Error::UnexpectedLength.into());
        }
        let mut receipt_proof = Vec::new();
        while !n.is_empty() {
            let before = n;
            let node = RlpHeader::decode(&mut n)?;
            let len = before.len() - n.len() + node.payload_length;
            if node.payload_length > n.len() {
                return Err(alloy_rlp::Error::InputTooShort.into());
            }
            receipt_proof.push(Bytes::copy_from_slice(&before[..len]));
            n = &n[node.payload_length..];
        }
        Ok(Self {
            header_block_id,
            block_proof,
            block_number,
            block_time,
            tx_root,
            receipt_root,
            receipt,
            receipt_proof,
            branch_mask,
            log_index,
        })
    }
}
