//! Double-sign evidence from the engine, waiting for a block to carry it.
//!
//! `Finalized` hands the driver every conflicting pair of votes or proposals Malachite saw.
//! The queue keeps one call per misbehaving signer (the first slash tombstones it; more would
//! only be refused), this node puts up to `MAX_EVIDENCE_PER_BLOCK` of them in the LastCommit
//! of the blocks it proposes, and drops a call once any committed block carried it. The
//! queue lives in memory: a restart forgets it, and anyone can still report the same
//! misbehaviour to `StakeManager` with a transaction (and be paid for it).

use alloy_primitives::{Address, Bytes};
use bttc_staking::evidence::MAX_EVIDENCE_PER_BLOCK;
use std::collections::HashSet;

/// Signers remembered as reported before the memory is cleared.
const MAX_REMEMBERED: usize = 4096;

/// Evidence calls not yet in a committed block.
#[derive(Debug, Default)]
pub(crate) struct EvidenceQueue {
    pending: Vec<Bytes>,
    reported: HashSet<Address>,
}

impl EvidenceQueue {
    /// Queues `call` against `signer` unless that signer is queued or reported already;
    /// returns whether it was queued.
    pub(crate) fn add(&mut self, signer: Address, call: Bytes) -> bool {
        if self.reported.len() >= MAX_REMEMBERED {
            self.reported.clear();
        }
        if !self.reported.insert(signer) {
            return false;
        }
        self.pending.push(call);
        true
    }

    /// What the next block this node proposes carries.
    pub(crate) fn for_block(&self) -> Vec<Bytes> {
        self.pending.iter().take(MAX_EVIDENCE_PER_BLOCK).cloned().collect()
    }

    /// Forgets the calls a committed block carried.
    pub(crate) fn included(&mut self, calls: &[Bytes]) {
        self.pending.retain(|c| !calls.contains(c));
    }

    /// Calls waiting.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_per_signer_at_most_four_per_block_and_gone_once_included() {
        let mut q = EvidenceQueue::default();
        let call = |i: u8| Bytes::from(vec![i; 8]);
        for i in 0..6u8 {
            assert!(q.add(Address::repeat_byte(i), call(i)));
        }
        assert!(!q.add(Address::repeat_byte(0), call(99)), "a signer is reported once");
        assert_eq!(q.for_block(), (0..4).map(call).collect::<Vec<_>>());
        q.included(&[call(0), call(2), call(77)]);
        assert_eq!(q.len(), 4);
        assert_eq!(q.for_block(), vec![call(1), call(3), call(4), call(5)]);
    }
}
