//! Importing a file of concatenated RLP blocks (`bttc import`).
//!
//! The whole file's framing is checked first, so a damaged file is refused before anything
//! is written. Blocks are then decoded one at a time, inserted through
//! [`Chain::insert_block`], and committed in batches (every `batch_blocks` blocks or
//! `batch_interval`, whichever comes first). Blocks already in the database (same number
//! and hash) are skipped, so an interrupted import continues where it stopped.

use crate::{BlockError, Chain, ChainError};
use bttc_evm::BlockHooks;
use bttc_primitives::{BlockFileError, decode_block, scan_blocks};
use std::time::{Duration, Instant};
use tracing::info;

/// How an import commits and reports.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Commit after this many blocks.
    pub batch_blocks: usize,
    /// Commit at least this often.
    pub batch_interval: Duration,
    /// Report progress at most this often.
    pub progress_interval: Duration,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            batch_blocks: 1000,
            batch_interval: Duration::from_secs(2),
            progress_interval: Duration::from_secs(5),
        }
    }
}

/// Progress of a running import.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    /// Blocks in the file.
    pub total: usize,
    /// Blocks processed (imported or already present).
    pub done: usize,
    /// Blocks imported in this run.
    pub imported: usize,
    /// Gas executed in this run.
    pub gas: u64,
    /// Time since the import started.
    pub elapsed: Duration,
    /// Number of the last block processed.
    pub last_number: u64,
    /// Time per stage, summed over the blocks imported in this run.
    pub timings: crate::BlockTimings,
    /// Time spent committing transactions.
    pub commit: Duration,
}

impl ImportProgress {
    /// Blocks per second in this run.
    pub fn blocks_per_sec(&self) -> f64 {
        self.imported as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Million gas per second in this run.
    pub fn mgas_per_sec(&self) -> f64 {
        self.gas as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Result of a finished import.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// Final counters.
    pub progress: ImportProgress,
    /// Blocks skipped because they were already stored.
    pub skipped: usize,
    /// Head after the import.
    pub head: bttc_storage::StoredHead,
}

/// An import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is damaged; nothing was written.
    #[error("{0} (nothing was imported)")]
    File(#[from] BlockFileError),
    /// A block was rejected; blocks before it were committed.
    #[error(
        "block #{index} (number {number}, hash {hash}) rejected: {source}; head stays at block {head_number}"
    )]
    Block {
        /// Index of the block in the file.
        index: usize,
        /// Its number.
        number: u64,
        /// Its hash.
        hash: alloy_primitives::B256,
        /// Why.
        source: Box<BlockError>,
        /// Head after committing the blocks before it.
        head_number: u64,
    },
    /// Writing a valid block failed; the uncommitted batch was rolled back.
    #[error(
        "block #{index} (number {number}) passed every check but could not be written: {source}; \
         the {rolled_back} uncommitted blocks before it were rolled back, head stays at block \
         {head_number} (run the import again to continue)"
    )]
    Write {
        /// Index of the block in the file.
        index: usize,
        /// Its number.
        number: u64,
        /// The write error.
        source: Box<BlockError>,
        /// Blocks of the batch that were imported but not committed, now discarded.
        rolled_back: usize,
        /// Head after the rollback (the last commit).
        head_number: u64,
    },
    /// The database failed.
    #[error("{0}")]
    Chain(#[from] ChainError),
}

impl From<bttc_storage::StorageError> for ImportError {
    fn from(e: bttc_storage::StorageError) -> Self {
        Self::Chain(e.into())
    }
}

/// Imports the blocks in `data` into `chain`.
pub fn import_rlp<H: BlockHooks>(
    chain: &Chain<H>,
    data: &[u8],
    opts: &ImportOptions,
    mut on_progress: impl FnMut(&ImportProgress),
) -> Result<ImportSummary, ImportError> {
    let spans = scan_blocks(data)?;
    // A malformed file must change nothing: decode every block once before writing.
    let start = Instant::now();
    {
        use rayon::prelude::*;
        // Report the first bad block in file order.
        let mut errors: Vec<BlockFileError> =
            spans.par_iter().filter_map(|span| decode_block(data, *span).err()).collect();
        errors.sort_by_key(|e| match e {
            BlockFileError::Framing { index, .. } | BlockFileError::Content { index, .. } => *index,
        });
        if let Some(first) = errors.into_iter().next() {
            return Err(first.into());
        }
    }
    let mut progress = ImportProgress {
        total: spans.len(),
        done: 0,
        imported: 0,
        gas: 0,
        elapsed: Duration::ZERO,
        last_number: 0,
        timings: Default::default(),
        commit: Duration::ZERO,
    };
    let mut skipped = 0;
    let mut last_report = Instant::now();
    // `None` only between a commit and the next transaction (MDBX allows one writer).
    let mut rw = Some(chain.db().rw()?);
    let mut in_batch = 0usize;
    let mut batch_started = Instant::now();
    // Blocks are decoded and their senders recovered ahead on other threads (signature
    // recovery is the most expensive part of validation) while this thread executes.
    let (sender, receiver) = std::sync::mpsc::sync_channel(64);
    let outcome = std::thread::scope(|scope| -> Result<(), ImportError> {
        // Blocks already committed when the import starts are skipped by the main thread;
        // recovering their senders (a resumed import) would be wasted work. The read
        // transaction is dropped once the blocks pass the starting head, so it does not pin
        // old pages for the whole import.
        let start_head = chain.head()?.number;
        let mut committed = chain.db().ro().ok();
        scope.spawn(move || {
            for span in spans {
                let item = decode_block(data, span).map(|block| {
                    if block.header.number > start_head {
                        committed = None;
                    }
                    let stored = committed
                        .as_ref()
                        .and_then(|ro| ro.canonical_hash(block.header.number).ok().flatten());
                    let senders = if stored == Some(block.header.hash_slow()) {
                        Ok(Vec::new())
                    } else {
                        crate::recover_senders(&block)
                    };
                    (span, block, senders)
                });
                if sender.send(item).is_err() {
                    break;
                }
            }
        });
        for item in receiver {
            let (span, block, senders) = item?;
            let number = block.header.number;
            let hash = block.header.hash_slow();
            let txn = match &rw {
                Some(txn) => txn,
                None => rw.insert(chain.db().rw()?),
            };
            if txn.canonical_hash(number)? == Some(hash) {
                skipped += 1;
                progress.done += 1;
                progress.last_number = number;
                continue;
            }
            let inserted =
                senders.and_then(|senders| chain.insert_block_with_senders(txn, &block, &senders));
            match inserted {
                Ok(inserted) => {
                    progress.imported += 1;
                    progress.gas += inserted.gas_used;
                    progress.timings += inserted.timings;
                    in_batch += 1;
                }
                Err(source) if !source.wrote_nothing() => {
                    // Writing failed part-way: the transaction may hold part of this block
                    // (and its state need not match the head). Abort it, with the rest of the
                    // uncommitted batch; a re-run imports those blocks again.
                    drop(rw.take());
                    let head_number = chain.head()?.number;
                    return Err(ImportError::Write {
                        index: span.index,
                        number,
                        source: Box::new(source),
                        rolled_back: in_batch,
                        head_number,
                    });
                }
                Err(source) => {
                    // Commit the valid blocks before this one; the rejected block was refused
                    // before anything of it was written.
                    if let Some(txn) = rw.take() {
                        txn.commit()?;
                    }
                    let head_number = chain.head()?.number;
                    return Err(ImportError::Block {
                        index: span.index,
                        number,
                        hash,
                        source: Box::new(source),
                        head_number,
                    });
                }
            }
            progress.done += 1;
            progress.last_number = number;
            if in_batch >= opts.batch_blocks || batch_started.elapsed() >= opts.batch_interval {
                let t = Instant::now();
                if let Some(txn) = rw.take() {
                    txn.commit()?;
                }
                progress.commit += t.elapsed();
                in_batch = 0;
                batch_started = Instant::now();
            }
            if last_report.elapsed() >= opts.progress_interval {
                progress.elapsed = start.elapsed();
                on_progress(&progress);
                info!(
                    target: "bttc::import",
                    done = progress.done,
                    total = progress.total,
                    number,
                    bps = format!("{:.1}", progress.blocks_per_sec()),
                    mgas_s = format!("{:.1}", progress.mgas_per_sec()),
                    "importing"
                );
                last_report = Instant::now();
            }
        }
        Ok(())
    });
    outcome?;
    let t = Instant::now();
    if let Some(txn) = rw.take() {
        txn.commit()?;
    }
    progress.commit += t.elapsed();
    progress.elapsed = start.elapsed();
    on_progress(&progress);
    Ok(ImportSummary { progress, skipped, head: chain.head()? })
}
