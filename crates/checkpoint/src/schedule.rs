//! Which blocks end a checkpoint.
//!
//! A checkpoint ends every `interval` blocks counted from its epoch's first block, and always
//! at an epoch's last block, so that no checkpoint spans two validator sets and a set change
//! is handed over on the root by the checkpoint that ends the epoch. Block 0 (genesis) is in
//! no checkpoint. With 64-block epochs starting at 0, 64, 128 and an interval of 32 the
//! checkpoints are `[1, 32]`, `[33, 63]`, `[64, 95]`, `[96, 127]`, ...

use crate::MAX_CHECKPOINT_LENGTH;

/// The largest `checkpointInterval` a chain may set.
pub const MAX_CHECKPOINT_INTERVAL: u64 = 1024;

/// The interval is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("checkpointInterval must be between 1 and {MAX_CHECKPOINT_INTERVAL}, got {got}")]
pub struct IntervalError {
    /// The interval asked for.
    pub got: u64,
}

/// The epoch a height is in: its first and last block (the last one may lie in the future).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochBounds {
    /// The epoch's first block (0 for the first epoch).
    pub first: u64,
    /// The epoch's last block; `u64::MAX` on a chain without epochs.
    pub last: u64,
}

impl EpochBounds {
    /// A chain whose validator set never changes: one endless epoch.
    pub const ENDLESS: Self = Self { first: 0, last: u64::MAX };
}

/// The checkpoint rule of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointSchedule {
    interval: u64,
}

impl CheckpointSchedule {
    /// A checkpoint every `interval` blocks (1 to [`MAX_CHECKPOINT_INTERVAL`]).
    pub const fn new(interval: u64) -> Result<Self, IntervalError> {
        if interval == 0 || interval > MAX_CHECKPOINT_INTERVAL {
            return Err(IntervalError { got: interval });
        }
        Ok(Self { interval })
    }

    /// Blocks per checkpoint.
    pub const fn interval(&self) -> u64 {
        self.interval
    }

    /// The checkpoint that ends at `height`, `[start, height]`, if one does; `epoch` is the
    /// epoch `height` is in.
    pub fn ending_at(&self, height: u64, epoch: EpochBounds) -> Option<(u64, u64)> {
        let start = self.start_of(height, epoch)?;
        let full = height - start + 1 == self.interval;
        (full || height == epoch.last).then_some((start, height))
    }

    /// The first block of the checkpoint `height` belongs to.
    pub fn start_of(&self, height: u64, epoch: EpochBounds) -> Option<u64> {
        if height == 0 || height < epoch.first || height > epoch.last {
            return None;
        }
        let first = epoch.first.max(1);
        let start = first + (height - first) / self.interval * self.interval;
        debug_assert!(height - start < MAX_CHECKPOINT_LENGTH);
        Some(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(first: u64, len: u64) -> EpochBounds {
        EpochBounds { first, last: if first == 0 { len - 1 } else { first + len - 1 } }
    }

    #[test]
    fn intervals_and_epoch_ends() {
        let s = CheckpointSchedule::new(32).unwrap();
        let e0 = epoch(0, 64);
        assert_eq!(s.ending_at(0, e0), None);
        assert_eq!(s.ending_at(31, e0), None);
        assert_eq!(s.ending_at(32, e0), Some((1, 32)));
        assert_eq!(s.ending_at(62, e0), None);
        assert_eq!(s.ending_at(63, e0), Some((33, 63)));
        let e1 = epoch(64, 64);
        assert_eq!(s.ending_at(64, e1), None);
        assert_eq!(s.ending_at(95, e1), Some((64, 95)));
        assert_eq!(s.ending_at(127, e1), Some((96, 127)));
        assert_eq!(s.ending_at(128, e1), None, "outside its epoch");
        // An epoch shorter than the interval is one checkpoint.
        assert_eq!(s.ending_at(140, EpochBounds { first: 130, last: 140 }), Some((130, 140)));
        assert_eq!(s.ending_at(64, EpochBounds::ENDLESS), Some((33, 64)));
    }

    #[test]
    fn every_block_is_in_exactly_one_checkpoint() {
        for interval in [1, 3, 32, 100] {
            let s = CheckpointSchedule::new(interval).unwrap();
            let epochs = [epoch(0, 50), epoch(50, 7), epoch(57, 200)];
            let mut next = 1;
            for e in epochs {
                for h in e.first.max(1)..=e.last {
                    if let Some((start, end)) = s.ending_at(h, e) {
                        assert_eq!(start, next, "interval {interval} at {h}");
                        assert!(end - start < interval);
                        assert_eq!(s.start_of(h, e), Some(start));
                        next = end + 1;
                    }
                }
                assert_eq!(next, e.last + 1, "an epoch's last block ends a checkpoint");
            }
        }
    }

    #[test]
    fn interval_limits() {
        assert_eq!(CheckpointSchedule::new(0), Err(IntervalError { got: 0 }));
        assert!(CheckpointSchedule::new(1024).is_ok());
        assert_eq!(CheckpointSchedule::new(1025), Err(IntervalError { got: 1025 }));
    }
}
