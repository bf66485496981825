//! Tables the BFT consensus writes: commit certificates of decided blocks, the blocks
//! proposed at heights not decided yet, the validator set of every epoch and the signed checkpoints. The values are opaque bytes encoded by
//! `bttc-consensus`; storage only keys and prunes them.

use crate::{
    StorageResult,
    provider::Provider,
    tables::{Table, num_key},
};
use alloy_primitives::B256;
use signet_libmdbx::{
    TransactionKind,
    tx::{PtrUnsync, WriteMarker},
};

fn proposed_key(height: u64, hash: &B256) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..8].copy_from_slice(&height.to_be_bytes());
    k[8..].copy_from_slice(hash.as_slice());
    k
}

impl<K: TransactionKind<Access = PtrUnsync>> Provider<K> {
    /// The encoded commit certificate of block `number`, if consensus decided it.
    pub fn certificate(&self, number: u64) -> StorageResult<Option<Vec<u8>>> {
        self.get(Table::Certificates, &num_key(number))
    }

    /// The highest block number with a certificate.
    pub fn last_certified(&self) -> StorageResult<Option<u64>> {
        Ok(self
            .last_entry(Table::Certificates)?
            .and_then(|(k, _)| <[u8; 8]>::try_from(k.as_slice()).ok())
            .map(u64::from_be_bytes))
    }

    /// The encoded validator set of `epoch`, if stored.
    pub fn epoch_set(&self, epoch: u64) -> StorageResult<Option<Vec<u8>>> {
        self.get(Table::EpochSets, &num_key(epoch))
    }

    /// The encoded checkpoint that ends at block `end`, if stored.
    pub fn checkpoint(&self, end: u64) -> StorageResult<Option<Vec<u8>>> {
        self.get(Table::Checkpoints, &num_key(end))
    }

    /// The stored checkpoint with the lowest end at or after block `number` (the one that
    /// covers it, when checkpoints are stored without gaps), as `(end, bytes)`.
    pub fn checkpoint_from(&self, number: u64) -> StorageResult<Option<(u64, Vec<u8>)>> {
        Ok(self.seek(Table::Checkpoints, &num_key(number))?.and_then(|(k, v)| {
            <[u8; 8]>::try_from(k.as_slice()).ok().map(|k| (u64::from_be_bytes(k), v))
        }))
    }

    /// The stored checkpoint with the highest end, as `(end, bytes)`.
    pub fn last_checkpoint(&self) -> StorageResult<Option<(u64, Vec<u8>)>> {
        Ok(self.last_entry(Table::Checkpoints)?.and_then(|(k, v)| {
            <[u8; 8]>::try_from(k.as_slice()).ok().map(|k| (u64::from_be_bytes(k), v))
        }))
    }

    /// A proposed block stored at `height` under `hash`.
    pub fn proposed_block(&self, height: u64, hash: &B256) -> StorageResult<Option<Vec<u8>>> {
        self.get(Table::ProposedBlocks, &proposed_key(height, hash))
    }

    /// Every proposed block stored at `height`, by hash.
    pub fn proposed_blocks_at(&self, height: u64) -> StorageResult<Vec<(B256, Vec<u8>)>> {
        Ok(self
            .prefix_entries(Table::ProposedBlocks, &num_key(height))?
            .into_iter()
            .filter(|(k, _)| k.len() == 40)
            .map(|(k, v)| (B256::from_slice(&k[8..]), v))
            .collect())
    }
}

impl<K: TransactionKind<Access = PtrUnsync> + WriteMarker> Provider<K> {
    /// Stores the certificate of block `number` (replacing a smaller one of the same block).
    pub fn put_certificate(&self, number: u64, certificate: &[u8]) -> StorageResult<()> {
        self.put(Table::Certificates, &num_key(number), certificate)
    }

    /// Stores the validator set of `epoch`.
    pub fn put_epoch_set(&self, epoch: u64, set: &[u8]) -> StorageResult<()> {
        self.put(Table::EpochSets, &num_key(epoch), set)
    }

    /// Stores the checkpoint that ends at block `end` (replacing one with fewer signatures).
    pub fn put_checkpoint(&self, end: u64, checkpoint: &[u8]) -> StorageResult<()> {
        self.put(Table::Checkpoints, &num_key(end), checkpoint)
    }

    /// Stores a proposed block.
    pub fn put_proposed_block(&self, height: u64, hash: &B256, entry: &[u8]) -> StorageResult<()> {
        self.put(Table::ProposedBlocks, &proposed_key(height, hash), entry)
    }

    /// Removes every proposed block at heights up to and including `height`.
    pub fn prune_proposed_blocks(&self, height: u64) -> StorageResult<usize> {
        let mut removed = 0;
        while let Some((k, _)) = self.seek(Table::ProposedBlocks, &[])? {
            match <[u8; 8]>::try_from(&k[..8.min(k.len())]) {
                Ok(h) if u64::from_be_bytes(h) <= height => {
                    self.del(Table::ProposedBlocks, &k)?;
                    removed += 1;
                }
                _ => break,
            }
        }
        Ok(removed)
    }
}
