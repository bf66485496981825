//! The LastCommit a block carries (`bttc_primitives::LastCommit` in its `extraData`): built
//! by the proposer from the parent's stored certificate, checked by every validator before it
//! votes (each signature is a precommit for the parent by the member its bit names, and the
//! signers hold more than 2/3 of the parent's voting power).

use alloy_primitives::{B256, U256};
use bttc_consensus::{
    BlockHeight, BlockValue, CommitCertificate, ValidatorSet,
    core_types::{NilOrVal, Round, VoteType},
    signing::EthSignature,
    vote_signing_hash,
};
use bttc_primitives::LastCommit;

/// The LastCommit for the block after `cert`'s: the certificate's signatures placed by their
/// signers' positions in `set` (the set of the certified height). Signatures of addresses not
/// in `set` are left out.
pub(crate) fn from_certificate(cert: &CommitCertificate, set: &ValidatorSet) -> LastCommit {
    let members = set.validators();
    let mut placed: Vec<(usize, [u8; 65])> = cert
        .commit_signatures
        .iter()
        .filter_map(|s| {
            members.iter().position(|m| m.address == s.address).map(|i| (i, s.signature.0))
        })
        .collect();
    placed.sort_by_key(|(i, _)| *i);
    placed.dedup_by_key(|(i, _)| *i);
    let mut signers = U256::ZERO;
    for (i, _) in &placed {
        signers.set_bit(*i, true);
    }
    LastCommit {
        round: cert.round.as_i64(),
        signers,
        signatures: placed.into_iter().map(|(_, s)| s).collect(),
        evidence: Vec::new(),
        state_syncs: Vec::new(),
    }
}

/// Checks that `commit` certifies block `parent_hash` at `parent_height` under `set`.
pub(crate) fn verify(
    commit: &LastCommit,
    chain_id: u64,
    parent_height: u64,
    parent_hash: B256,
    set: &ValidatorSet,
) -> Result<(), String> {
    let round = u32::try_from(commit.round)
        .map_err(|_| format!("LastCommit round {} is not a round", commit.round))?;
    let members = set.validators();
    let mut power = 0u128;
    for (k, i) in commit.signer_indices().enumerate() {
        let m = members
            .get(i)
            .ok_or_else(|| format!("LastCommit names member {i} of a set of {}", members.len()))?;
        let hash = vote_signing_hash(
            chain_id,
            VoteType::Precommit,
            BlockHeight(parent_height),
            Round::new(round),
            &NilOrVal::Val(BlockValue(parent_hash)),
            &m.address,
        );
        if EthSignature(commit.signatures[k]).recover(&hash) != Some(m.address.0) {
            return Err(format!(
                "LastCommit signature of member {i} ({}) does not verify",
                m.address
            ));
        }
        power += u128::from(m.voting_power);
    }
    let total: u128 = members.iter().map(|m| u128::from(m.voting_power)).sum();
    if power * 3 <= total * 2 {
        return Err(format!(
            "LastCommit signers hold {power} of {total} voting power, not over 2/3"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bttc_consensus::{Validator, ValidatorAddress};
    use k256::ecdsa::SigningKey;

    fn keys() -> Vec<SigningKey> {
        (1..=4u8).map(|i| SigningKey::from_bytes(&[i; 32].into()).unwrap()).collect()
    }

    /// A set of four with powers 10, 20, 30, 40 and the keys in set order.
    fn set() -> (ValidatorSet, Vec<SigningKey>) {
        let ks = keys();
        let set = ValidatorSet::new(
            ks.iter().zip([10u64, 20, 30, 40]).map(|(k, p)| Validator::new(*k.verifying_key(), p)),
        )
        .unwrap();
        let ordered = set
            .validators()
            .iter()
            .map(|v| {
                ks.iter()
                    .find(|k| bttc_consensus::address_of(k.verifying_key()) == v.address.0)
                    .unwrap()
                    .clone()
            })
            .collect();
        (set, ordered)
    }

    fn commit(keys: &[SigningKey], members: &[usize], height: u64, hash: B256) -> LastCommit {
        let mut signers = U256::ZERO;
        let mut signatures = Vec::new();
        for &i in members {
            signers.set_bit(i, true);
            let addr = ValidatorAddress(bttc_consensus::address_of(keys[i].verifying_key()));
            let h = vote_signing_hash(
                7,
                VoteType::Precommit,
                BlockHeight(height),
                Round::new(0),
                &NilOrVal::Val(BlockValue(hash)),
                &addr,
            );
            signatures.push(EthSignature::sign(&keys[i], &h).0);
        }
        LastCommit { round: 0, signers, signatures, ..Default::default() }
    }

    #[test]
    fn a_commit_needs_valid_signatures_of_more_than_two_thirds() {
        let (set, keys) = set();
        let parent = B256::repeat_byte(9);
        // Set order is by power: 40, 30, 20, 10. The first three hold 90 of 100.
        assert!(verify(&commit(&keys, &[0, 1, 2], 5, parent), 7, 5, parent, &set).is_ok());
        let weak = commit(&keys, &[0, 3], 5, parent); // 50 of 100
        assert!(verify(&weak, 7, 5, parent, &set).unwrap_err().contains("not over 2/3"));
        // Signatures for another block, height or chain do not count.
        let other = commit(&keys, &[0, 1, 2], 5, B256::repeat_byte(8));
        assert!(verify(&other, 7, 5, parent, &set).unwrap_err().contains("does not verify"));
        assert!(verify(&commit(&keys, &[0, 1, 2], 4, parent), 7, 5, parent, &set).is_err());
        assert!(verify(&commit(&keys, &[0, 1, 2], 5, parent), 8, 5, parent, &set).is_err());
        // A bit beyond the set, and a negative round, are refused.
        let mut wide = commit(&keys, &[0, 1, 2], 5, parent);
        wide.signers.set_bit(7, true);
        wide.signatures.push([0; 65]);
        assert!(verify(&wide, 7, 5, parent, &set).unwrap_err().contains("member 7 of a set of 4"));
        let mut nil = commit(&keys, &[0, 1, 2], 5, parent);
        nil.round = -1;
        assert!(verify(&nil, 7, 5, parent, &set).is_err());
    }
}
