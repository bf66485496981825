//! The consensus types against things this crate did not write: signatures checked with
//! alloy's `ecrecover`, keys from alloy's signer, the engine's own quorum arithmetic, and
//! garbage bytes from a peer.

use alloy_primitives::{Address, B256, Signature};
use alloy_signer_local::PrivateKeySigner;
use bttc_consensus::{
    BlockHeight, BlockValue, BttcCodec, BttcContext, ConsensusSigner, ConsensusVerifier,
    EthSignature, Proposal, ProposalPart, StaticValidators, Validator, ValidatorAddress,
    ValidatorSet, ValidatorSetError, Vote,
    core_types::{NilOrVal, Round, SignedMessage, Validator as _, ValidatorSet as _, VoteType},
    engine_channel::app::{
        consensus::SignedConsensusMsg,
        engine::util::streaming::{StreamContent, StreamId, StreamMessage},
    },
};
use k256::ecdsa::SigningKey;
use malachitebft_codec::Codec;
use malachitebft_signing::{Signer, Verifier};

fn key(i: u8) -> SigningKey {
    let mut b = [0u8; 32];
    b[31] = i + 1;
    b[0] = 0x11;
    SigningKey::from_slice(&b).unwrap()
}

fn set(stakes: &[u64]) -> (Vec<SigningKey>, ValidatorSet) {
    let keys: Vec<_> = (0..stakes.len()).map(|i| key(i as u8)).collect();
    let vs = ValidatorSet::new(
        keys.iter().zip(stakes).map(|(k, s)| Validator::new(*k.verifying_key(), *s)),
    )
    .unwrap();
    (keys, vs)
}

#[tokio::test]
async fn votes_are_signed_so_that_ecrecover_returns_the_validator() {
    let k = key(7);
    let alloy = PrivateKeySigner::from_slice(&k.to_bytes()).unwrap();
    let signer = ConsensusSigner::new(k.clone(), 31337);
    assert_eq!(signer.address().0, alloy.address(), "address derivation differs from alloy's");
    let vote = Vote {
        vote_type: VoteType::Precommit,
        height: BlockHeight(42),
        round: Round::new(1),
        value: NilOrVal::Val(BlockValue(B256::repeat_byte(0xab))),
        validator: signer.address(),
        extension: None,
    };
    let signed = signer.sign_vote(vote.clone()).await.unwrap();
    assert!(signed.signature.0[64] == 27 || signed.signature.0[64] == 28);
    // alloy's recovery (what a contract's ecrecover computes) gives the validator.
    let sig = Signature::try_from(&signed.signature.0[..]).unwrap();
    let recovered = sig.recover_address_from_prehash(&vote.signing_hash(31337)).unwrap();
    assert_eq!(recovered, alloy.address());

    let verifier = ConsensusVerifier::new(31337);
    let pk = *k.verifying_key();
    assert!(verifier.verify_signed_vote(&vote, &signed.signature, &pk).await.unwrap().is_valid());
    // Another chain, another round, another value or another key: invalid.
    let other_chain = ConsensusVerifier::new(199);
    assert!(
        other_chain.verify_signed_vote(&vote, &signed.signature, &pk).await.unwrap().is_invalid()
    );
    let mut moved = vote.clone();
    moved.round = Round::new(2);
    assert!(
        verifier.verify_signed_vote(&moved, &signed.signature, &pk).await.unwrap().is_invalid()
    );
    let mut nil = vote.clone();
    nil.value = NilOrVal::Nil;
    assert!(verifier.verify_signed_vote(&nil, &signed.signature, &pk).await.unwrap().is_invalid());
    let stranger = *key(8).verifying_key();
    assert!(
        verifier
            .verify_signed_vote(&vote, &signed.signature, &stranger)
            .await
            .unwrap()
            .is_invalid()
    );
    // A flipped bit or a high-s twin is refused.
    let mut bad = signed.signature;
    bad.0[10] ^= 1;
    assert!(verifier.verify_signed_vote(&vote, &bad, &pk).await.unwrap().is_invalid());
    let mut bad_v = signed.signature;
    bad_v.0[64] = 5;
    assert_eq!(bad_v.recover(&vote.signing_hash(31337)), None);
}

#[tokio::test]
async fn proposals_sign_height_round_block_and_proposer() {
    let k = key(3);
    let signer = ConsensusSigner::new(k.clone(), 9);
    let p = Proposal {
        height: BlockHeight(5),
        round: Round::new(0),
        value: BlockValue(B256::repeat_byte(1)),
        pol_round: Round::Nil,
        proposer: signer.address(),
    };
    let s = signer.sign_proposal(p.clone()).await.unwrap();
    let v = ConsensusVerifier::new(9);
    assert!(
        v.verify_signed_proposal(&p, &s.signature, k.verifying_key()).await.unwrap().is_valid()
    );
    let mut other = p.clone();
    other.value = BlockValue(B256::repeat_byte(2));
    assert!(
        v.verify_signed_proposal(&other, &s.signature, k.verifying_key())
            .await
            .unwrap()
            .is_invalid()
    );
    // The proof binding a validator key to a libp2p peer id.
    let proof = signer.sign_validator_proof(vec![1, 2, 3], b"peer".to_vec()).await.unwrap();
    assert!(v.verify_validator_proof(&proof).await.unwrap().is_invalid(), "bogus key bytes");
    let pk = k.verifying_key().to_encoded_point(true).as_bytes().to_vec();
    let proof = signer.sign_validator_proof(pk, b"peer".to_vec()).await.unwrap();
    assert!(v.verify_validator_proof(&proof).await.unwrap().is_valid());
}

#[tokio::test]
async fn vote_extension_signatures_are_bound_to_their_precommit() {
    use bttc_consensus::core_types::VoteExtensionScope;
    let k = key(4);
    let signer = ConsensusSigner::new(k.clone(), 9);
    let v = ConsensusVerifier::new(9);
    let scope = VoteExtensionScope::new(
        BlockHeight(7),
        Round::new(1),
        BlockValue(B256::repeat_byte(3)),
        signer.address(),
    );
    let ext = vec![0xab; 65];
    let s = signer.sign_vote_extension(scope.clone(), ext.clone()).await.unwrap();
    let check = |scope: VoteExtensionScope<BttcContext>, ext: Vec<u8>| {
        let sig = s.signature;
        let pk = *k.verifying_key();
        async move { v.verify_signed_vote_extension(&scope, &ext, &sig, &pk).await.unwrap() }
    };
    assert!(check(scope.clone(), ext.clone()).await.is_valid());
    // Other extension bytes under the same scope: invalid.
    assert!(check(scope.clone(), vec![0xac; 65]).await.is_invalid());
    assert!(check(scope.clone(), Vec::new()).await.is_invalid());
    // The same signature for another height, round, block or validator: invalid.
    let mut other = scope.clone();
    other.height = BlockHeight(8);
    assert!(check(other, ext.clone()).await.is_invalid());
    let mut other = scope.clone();
    other.round = Round::new(2);
    assert!(check(other, ext.clone()).await.is_invalid());
    let mut other = scope.clone();
    other.value_id = BlockValue(B256::repeat_byte(4));
    assert!(check(other, ext.clone()).await.is_invalid());
    let mut other = scope.clone();
    other.validator_address = ValidatorAddress(Address::repeat_byte(1));
    assert!(check(other, ext.clone()).await.is_invalid());
    // Another chain's verifier refuses it too.
    let foreign = ConsensusVerifier::new(10);
    let res = foreign.verify_signed_vote_extension(&scope, &ext, &s.signature, k.verifying_key());
    assert!(res.await.unwrap().is_invalid());
}

#[test]
fn proposers_rotate_in_proportion_to_stake() {
    let (_, vs) = set(&[300, 100, 100, 500]);
    assert_eq!(vs.total_voting_power(), 1000);
    assert_eq!(vs.quorum(), 667);
    let ctx = BttcContext::new(1);
    let mut counts = std::collections::HashMap::new();
    for h in 1..=1000u64 {
        let p = ctx.proposer(&vs, BlockHeight(h), Round::new(0));
        *counts.entry(p.address).or_insert(0u32) += 1;
    }
    for v in vs.validators() {
        let got = counts.get(&v.address).copied().unwrap_or(0);
        assert_eq!(got as u64, v.voting_power, "validator {} proposed {got} of 1000", v.address);
    }
    // Equal stakes: strict round robin; the next round of a height is the next validator.
    let (_, eq) = set(&[10, 10, 10, 10]);
    let seq: Vec<_> =
        (1..=8u64).map(|h| ctx.proposer(&eq, BlockHeight(h), Round::new(0)).address).collect();
    assert_eq!(&seq[..4], &seq[4..]);
    assert_eq!(seq[..4].iter().collect::<std::collections::HashSet<_>>().len(), 4);
    assert_eq!(ctx.proposer(&eq, BlockHeight(3), Round::new(1)).address, seq[3]);
    // Deterministic across contexts and after going back to an earlier height.
    let other = BttcContext::new(1);
    for h in [9000u64, 5, 12_345, 4097, 1] {
        assert_eq!(
            ctx.proposer(&vs, BlockHeight(h), Round::new(2)).address,
            other.proposer(&vs, BlockHeight(h), Round::new(2)).address
        );
    }
}

#[test]
fn priorities_carry_across_epochs_without_a_replay_from_genesis() {
    let ctx = BttcContext::new(1);
    let (keys, a) = set(&[300, 100, 100, 500]);
    // Epoch 0 runs heights 1..=64. The same set elected again continues the same sequence.
    let end = ctx.priorities_after(&a, 64);
    assert_eq!(end.iter().sum::<i128>(), 0, "priorities stay centred");
    let again = bttc_consensus::carry_priorities(&a, &end, &a);
    assert_eq!(again, end);
    let a1 = a.clone().with_origin(64, again).unwrap();
    for h in 65..=400u64 {
        for r in 0..3 {
            assert_eq!(
                ctx.proposer(&a1, BlockHeight(h), Round::new(r)).address,
                ctx.proposer(&a, BlockHeight(h), Round::new(r)).address,
                "height {h} round {r}"
            );
        }
    }
    // A far epoch costs only its own steps: its origin is its start, not genesis.
    let far = a.clone().with_origin(1 << 40, end.clone()).unwrap();
    let first = ctx.proposer(&far, BlockHeight((1 << 40) + 1), Round::new(0)).address;
    assert_eq!(first, ctx.proposer(&a1, BlockHeight(65), Round::new(0)).address);

    // A newcomer with the most power does not propose first, and then proposes its share.
    let newcomer = Validator::new(*key(9).verifying_key(), 600);
    let mut members = a.validators().to_vec();
    members.push(newcomer.clone());
    let b = ValidatorSet::new(members).unwrap();
    let start = bttc_consensus::carry_priorities(&a, &end, &b);
    assert_eq!(start.len(), 5);
    let spread = start.iter().max().unwrap() - start.iter().min().unwrap();
    assert!(spread <= 2 * b.total_power() as i128, "spread {spread} within 2 x total");
    let b1 = b.with_origin(64, start).unwrap();
    assert_ne!(ctx.proposer(&b1, BlockHeight(65), Round::new(0)).address, newcomer.address);
    let mut counts = std::collections::HashMap::new();
    for h in 65..65 + 1600u64 {
        *counts.entry(ctx.proposer(&b1, BlockHeight(h), Round::new(0)).address).or_insert(0i64) +=
            1;
    }
    for v in b1.validators() {
        let got = counts[&v.address];
        assert!((got - v.voting_power as i64).abs() <= 2, "{} proposed {got}", v.address);
    }
    assert!(matches!(
        a.with_origin(1, vec![0; 3]),
        Err(ValidatorSetError::Priorities { got: 3, expected: 4 })
    ));
    drop(keys);
}

#[test]
fn validator_sets_refuse_bad_input() {
    assert_eq!(ValidatorSet::new([]).unwrap_err(), ValidatorSetError::Empty);
    let k = *key(1).verifying_key();
    assert!(matches!(
        ValidatorSet::new([Validator::new(k, 1), Validator::new(k, 2)]),
        Err(ValidatorSetError::Duplicate(_))
    ));
    assert!(matches!(
        ValidatorSet::new([Validator::new(k, u64::MAX / 2)]),
        Err(ValidatorSetError::PowerOverflow { .. })
    ));
    // Zero-power validators are left out; order is power desc, then address.
    let (_, vs) = set(&[0, 5, 5, 7]);
    assert_eq!(vs.count(), 3);
    assert_eq!(vs.validators()[0].voting_power(), 7);
    assert!(vs.validators()[1].address < vs.validators()[2].address);
    // Genesis entries whose address is not their key's are refused.
    let gv = bttc_chainspec::GenesisValidator {
        address: Address::repeat_byte(1),
        public_key: k.to_encoded_point(true).as_bytes().to_vec().into(),
        stake: 1,
        operator: None,
    };
    assert!(matches!(
        StaticValidators::from_genesis(std::slice::from_ref(&gv)),
        Err(ValidatorSetError::AddressMismatch { .. })
    ));
    let bad_key = bttc_chainspec::GenesisValidator { public_key: vec![5u8; 33].into(), ..gv };
    assert!(matches!(
        StaticValidators::from_genesis(&[bad_key]),
        Err(ValidatorSetError::PublicKey(_))
    ));
}

#[tokio::test]
async fn the_codec_round_trips_and_refuses_garbage() {
    let k = key(2);
    let signer = ConsensusSigner::new(k, 5);
    let vote = Vote {
        vote_type: VoteType::Prevote,
        height: BlockHeight(1),
        round: Round::new(0),
        value: NilOrVal::Nil,
        validator: signer.address(),
        extension: None,
    };
    let signed: SignedMessage<BttcContext, Vote> = signer.sign_vote(vote).await.unwrap();
    let msg = SignedConsensusMsg::Vote(signed);
    let bytes = Codec::<SignedConsensusMsg<BttcContext>>::encode(&BttcCodec, &msg).unwrap();
    let back: SignedConsensusMsg<BttcContext> = BttcCodec.decode(bytes.clone()).unwrap();
    assert_eq!(back, msg);

    let part = StreamMessage::new(
        StreamId::new(vec![1, 2, 3].into()),
        4,
        StreamContent::Data(ProposalPart::Data(vec![9u8; 1000].into())),
    );
    let pb = Codec::<StreamMessage<ProposalPart>>::encode(&BttcCodec, &part).unwrap();
    let pback: StreamMessage<ProposalPart> = BttcCodec.decode(pb.clone()).unwrap();
    assert_eq!(pback, part);

    // Truncations, trailing bytes, random bytes and huge length prefixes are errors, never
    // panics or huge allocations.
    for cut in 0..bytes.len() {
        assert!(
            Codec::<SignedConsensusMsg<BttcContext>>::decode(&BttcCodec, bytes.slice(..cut))
                .is_err()
        );
    }
    let mut long = bytes.to_vec();
    long.push(0);
    assert!(Codec::<SignedConsensusMsg<BttcContext>>::decode(&BttcCodec, long.into()).is_err());
    let mut huge = vec![0u8, 0, 0, 0]; // stream id length...
    huge.extend_from_slice(&[0xff; 64]);
    assert!(Codec::<StreamMessage<ProposalPart>>::decode(&BttcCodec, huge.into()).is_err());
    let mut seed = 0x12345678u64;
    for len in [1usize, 7, 33, 100, 1000] {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = Codec::<SignedConsensusMsg<BttcContext>>::decode(&BttcCodec, junk.clone().into());
        let _ = Codec::<StreamMessage<ProposalPart>>::decode(&BttcCodec, junk.into());
    }
    let _ = EthSignature([0u8; 65]).recover(&B256::ZERO);
    let _ = ValidatorAddress(Address::ZERO);
}
