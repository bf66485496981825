//! Reading files of concatenated RLP-encoded blocks (`geth export` format).
//!
//! Import reads such a file in two passes: [`scan_blocks`] checks the RLP framing of every
//! block and records where each one starts, so that a damaged file is refused before the
//! database is touched; [`decode_block`] then decodes one block at a time.

use crate::Block;
use alloy_rlp::{Decodable, Header as RlpHeader};

/// Where one block sits in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSpan {
    /// Index of the block in the file, from 0.
    pub index: usize,
    /// Byte offset of its RLP.
    pub offset: usize,
    /// Length of its RLP in bytes.
    pub len: usize,
}

/// A block in a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockFileError {
    /// The RLP framing is broken.
    #[error("block #{index} at byte offset {offset}: malformed RLP: {reason}")]
    Framing {
        /// Index of the block in the file.
        index: usize,
        /// Byte offset where it starts.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// The framing is fine but the content is not a block.
    #[error("block #{index} at byte offset {offset}: not a valid block: {reason}")]
    Content {
        /// Index of the block in the file.
        index: usize,
        /// Byte offset where it starts.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Checks the framing of every block in `data` and returns where each one is.
pub fn scan_blocks(data: &[u8]) -> Result<Vec<BlockSpan>, BlockFileError> {
    let mut spans = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        let index = spans.len();
        let mut rest = &data[offset..];
        let header = RlpHeader::decode(&mut rest).map_err(|e| BlockFileError::Framing {
            index,
            offset,
            reason: e.to_string(),
        })?;
        if !header.list {
            return Err(BlockFileError::Framing {
                index,
                offset,
                reason: "expected an RLP list, found a string".into(),
            });
        }
        let head_len = data.len() - offset - rest.len();
        let len = head_len + header.payload_length;
        if header.payload_length > rest.len() {
            return Err(BlockFileError::Framing {
                index,
                offset,
                reason: format!(
                    "block needs {} payload bytes but only {} remain in the file",
                    header.payload_length,
                    rest.len()
                ),
            });
        }
        spans.push(BlockSpan { index, offset, len });
        offset += len;
    }
    Ok(spans)
}

/// Decodes the block at `span`; the whole span must be consumed.
pub fn decode_block(data: &[u8], span: BlockSpan) -> Result<Block, BlockFileError> {
    let bytes = &data[span.offset..span.offset + span.len];
    let err =
        |reason: String| BlockFileError::Content { index: span.index, offset: span.offset, reason };
    let mut buf = bytes;
    let block = Block::decode(&mut buf).map_err(|e| err(e.to_string()))?;
    if !buf.is_empty() {
        return Err(err(format!("{} trailing bytes inside the block", buf.len())));
    }
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_rlp::Encodable;

    fn block(n: u64) -> Vec<u8> {
        let b = Block {
            header: crate::Header { number: n, ..Default::default() },
            body: Default::default(),
        };
        let mut v = Vec::new();
        b.encode(&mut v);
        v
    }

    #[test]
    fn scans_and_decodes_concatenated_blocks() {
        let mut file = block(1);
        file.extend(block(2));
        let spans = scan_blocks(&file).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(decode_block(&file, spans[1]).unwrap().header.number, 2);
    }

    #[test]
    fn truncated_file_names_the_block() {
        let mut file = block(1);
        let second = block(2);
        file.extend(&second[..second.len() - 3]);
        let err = scan_blocks(&file).unwrap_err();
        assert!(matches!(err, BlockFileError::Framing { index: 1, .. }), "{err}");
        assert!(err.to_string().contains("block #1"));
    }

    #[test]
    fn string_instead_of_list_is_refused() {
        let err = scan_blocks(&[0x83, 1, 2, 3]).unwrap_err();
        assert!(err.to_string().contains("expected an RLP list"));
    }
}
