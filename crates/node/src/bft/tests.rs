//! The driver's checks on received proposals, over a real chain in a temp dir: a forged
//! signature, a proposal from the wrong validator and undecodable bytes are refused outright;
//! a block that breaks the rules is reported invalid (so validators prevote nil); a good block
//! is valid and stored; nothing is committed by validation. A block's deposits (state-sync
//! records) are valid only when this validator read them, in order.

use super::{
    app::{CommitError, ConsensusApp, ConsensusError},
    guard::PeerGuard,
    streams::{AssembledProposal, Inserted, PartStreams, StreamError, stream_messages},
};
use crate::{dev_accounts, network_genesis};
use alloy_primitives::{B256, U256};
use bttc_chain::{BlockAttributes, init_genesis};
use bttc_consensus::{
    BlockHeight, BlockValue, BttcContext, CommitCertificate, ConsensusSigner, StaticValidators,
    ValidatorAddress, ValidatorSetProvider,
    core_types::{Round, Validity},
    engine_channel::{
        AppMsg, Channels,
        app::{engine::host::Next, types::MisbehaviorEvidence},
    },
    proposal_signing_hash,
};
use bttc_rpc::ChainEvents;
use bttc_storage::{DatabaseEnv, DbOptions};
use bttc_txpool::{PoolConfig, TxPool};
use k256::ecdsa::SigningKey;
use malachitebft_network::{PeerId, PeerIdExt};
use std::{sync::Arc, time::Instant};
use tokio::sync::{mpsc, oneshot};

/// The (fixed) gossip publisher of the test streams.
fn publisher() -> PeerId {
    let key = libp2p_identity::Keypair::ed25519_from_bytes([7u8; 32]).unwrap();
    PeerId::from_libp2p(&key.public().to_peer_id())
}

/// The peer id of the node whose key is `key` (a validator's node key is its validator key).
fn peer_of(key: &SigningKey) -> PeerId {
    PeerId::from_libp2p(&super::libp2p_keypair(key).unwrap().public().to_peer_id())
}

/// Every validator has the turn (the driver's proposer check is what these tests exercise).
fn any_turn(_: BlockHeight, _: Round, _: ValidatorAddress) -> Option<bool> {
    Some(true)
}

fn key(i: u8) -> SigningKey {
    let mut b = [0x22u8; 32];
    b[31] = i;
    SigningKey::from_slice(&b).unwrap()
}

struct Fixture {
    app: ConsensusApp,
    keys: Vec<SigningKey>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    fixture_with(DbOptions::ephemeral(), None)
}

/// A fixture whose database has `db` geometry and whose validator sets come from `sets`
/// (`None`: the genesis validators at every height).
fn fixture_with(db: DbOptions, sets: Option<Arc<dyn ValidatorSetProvider>>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<_> = (1..=4).map(key).collect();
    let validators: Vec<_> = keys
        .iter()
        .map(|k| bttc_chainspec::GenesisValidator {
            address: bttc_consensus::address_of(k.verifying_key()),
            public_key: k.verifying_key().to_encoded_point(true).as_bytes().to_vec().into(),
            stake: 10,
            operator: None,
        })
        .collect();
    let genesis = network_genesis(
        777,
        &dev_accounts(1),
        U256::from(10u64).pow(U256::from(20u64)),
        30_000_000,
        &validators,
        1000,
    )
    .unwrap();
    let db = DatabaseEnv::open(dir.path(), db).unwrap();
    init_genesis(&db, &genesis).unwrap();
    let app = driver(bttc_staking::open_chain(db).unwrap(), &keys[0], sets);
    Fixture { app, keys, _dir: dir }
}

/// A driver over `chain`, signing with `key`.
fn driver(
    chain: bttc_staking::NodeChain,
    key: &SigningKey,
    sets: Option<Arc<dyn ValidatorSetProvider>>,
) -> ConsensusApp {
    let params = chain.spec().bttc().unwrap().clone();
    let validators: Arc<dyn ValidatorSetProvider> = sets
        .unwrap_or_else(|| Arc::new(StaticValidators::from_genesis(&params.validators).unwrap()));
    ConsensusApp {
        chain,
        pool: Arc::new(TxPool::new(PoolConfig::default())),
        events: ChainEvents::default(),
        ctx: BttcContext::new(777),
        signer: Some(ConsensusSigner::new(key.clone(), 777)),
        validators: validators.clone(),
        epochs: None,
        evidence: Default::default(),
        guard: Arc::new(PeerGuard::new(777, validators.clone())),
        timeouts: super::devnet_timeouts(),
        target_time: None,
        streams: PartStreams::default(),
        waiting: Vec::new(),
        committed: None,
        checkpoints: super::checkpoints::CheckpointSigning::new(
            bttc_checkpoint::CheckpointSchedule::new(params.checkpoint_interval).unwrap(),
            777,
            None,
            validators,
        ),
        root_records: Default::default(),
    }
}

impl Fixture {
    /// The key of the proposer of height 1, round 0, and the others.
    fn proposer(&self) -> (SigningKey, SigningKey) {
        let set = self.app.validators.validator_set(BlockHeight(1)).unwrap();
        let p = self.app.ctx.proposer(&set, BlockHeight(1), Round::new(0)).address;
        let find = |want: bool| {
            self.keys
                .iter()
                .find(|k| {
                    (ValidatorAddress(bttc_consensus::address_of(k.verifying_key())) == p) == want
                })
                .unwrap()
                .clone()
        };
        (find(true), find(false))
    }

    /// A block built on the head paying `beneficiary`, RLP.
    fn block(&self, beneficiary: alloy_primitives::Address) -> bttc_primitives::Block {
        let ro = self.app.chain.db().ro().unwrap();
        let attrs = BlockAttributes { timestamp: 1, beneficiary, ..Default::default() };
        self.app.chain.build_block_from_recovered(&ro, vec![], &attrs).unwrap().block
    }

    fn assembled(
        &self,
        signer: &SigningKey,
        claimed: &SigningKey,
        block: &bttc_primitives::Block,
    ) -> AssembledProposal {
        self.assembled_at(1, signer, claimed, block)
    }

    /// The key of the proposer of `height`, round 0.
    fn proposer_at(&self, height: u64) -> SigningKey {
        let set = self.app.validators.validator_set(BlockHeight(height)).unwrap();
        let p = self.app.ctx.proposer(&set, BlockHeight(height), Round::new(0)).address;
        self.keys
            .iter()
            .find(|k| ValidatorAddress(bttc_consensus::address_of(k.verifying_key())) == p)
            .unwrap()
            .clone()
    }

    fn assembled_at(
        &self,
        height: u64,
        signer: &SigningKey,
        claimed: &SigningKey,
        block: &bttc_primitives::Block,
    ) -> AssembledProposal {
        let proposer = ValidatorAddress(bttc_consensus::address_of(claimed.verifying_key()));
        let rlp = alloy_rlp::encode(block);
        let hash = block.header.hash_slow();
        let sig = ConsensusSigner::new(signer.clone(), 777).sign_hash(&proposal_signing_hash(
            777,
            BlockHeight(height),
            Round::new(0),
            &BlockValue(hash),
            Round::Nil,
            &proposer,
        ));
        // Through the real stream reassembly, published by the proposer's node.
        let mut streams = PartStreams::default();
        let mut out = None;
        for m in
            stream_messages(BlockHeight(height), Round::new(0), Round::Nil, proposer, &rlp, sig)
        {
            if let Inserted::Complete(p) =
                streams.insert(peer_of(claimed), m, Instant::now(), any_turn).unwrap()
            {
                out = Some(*p);
            }
        }
        let mut p = out.expect("stream complete");
        // Judged under a fixed publisher below.
        p.publisher = publisher();
        p
    }
}

#[test]
fn received_proposals_are_checked_before_anyone_votes() {
    let f = fixture();
    let (proposer, other) = f.proposer();
    let paying_proposer = f.block(bttc_consensus::address_of(proposer.verifying_key()));

    // A good block from the right proposer: valid, stored, not committed.
    let good = f.assembled(&proposer, &proposer, &paying_proposer);
    let v = f.app.validate_proposal(&good).unwrap();
    assert_eq!(v.validity, Validity::Valid);
    assert_eq!(v.value, BlockValue(paying_proposer.header.hash_slow()));
    assert_eq!(f.app.chain.head().unwrap().number, 0, "validation must not commit");
    let ro = f.app.chain.db().ro().unwrap();
    assert!(ro.proposed_block(1, &paying_proposer.header.hash_slow()).unwrap().is_some());
    drop(ro);

    // Signed by someone else than the proposer it names: refused.
    let forged = f.assembled(&other, &proposer, &paying_proposer);
    assert!(matches!(
        f.app.validate_proposal(&forged),
        Err(super::app::ProposalError::Signature { .. })
    ));

    // A correctly signed proposal from a validator whose turn it is not: refused.
    let not_turn =
        f.assembled(&other, &other, &f.block(bttc_consensus::address_of(other.verifying_key())));
    assert!(matches!(
        f.app.validate_proposal(&not_turn),
        Err(super::app::ProposalError::WrongProposer { .. })
    ));

    // A block paying someone else, or with a wrong state root: invalid (prevote nil).
    let pays_other =
        f.assembled(&proposer, &proposer, &f.block(alloy_primitives::Address::repeat_byte(9)));
    assert_eq!(f.app.validate_proposal(&pays_other).unwrap().validity, Validity::Invalid);
    let mut bad_root = paying_proposer.clone();
    bad_root.header.state_root = B256::repeat_byte(1);
    let bad = f.assembled(&proposer, &proposer, &bad_root);
    assert_eq!(f.app.validate_proposal(&bad).unwrap().validity, Validity::Invalid);
    let mut from_future = paying_proposer.clone();
    from_future.header.timestamp = u64::MAX / 2;
    let future = f.assembled(&proposer, &proposer, &from_future);
    assert_eq!(f.app.validate_proposal(&future).unwrap().validity, Validity::Invalid);

    // Bytes that are not a block: refused.
    let mut junk = good.clone();
    junk.block_rlp = vec![0xde, 0xad, 0xbe, 0xef];
    assert!(matches!(f.app.validate_proposal(&junk), Err(super::app::ProposalError::Decode(_))));
    assert_eq!(f.app.chain.head().unwrap().number, 0);
}

fn other_publisher() -> PeerId {
    let key = libp2p_identity::Keypair::ed25519_from_bytes([8u8; 32]).unwrap();
    PeerId::from_libp2p(&key.public().to_peer_id())
}

#[test]
fn refused_proposals_penalise_their_publisher() {
    let f = fixture();
    let (proposer, other) = f.proposer();
    let paying_proposer = f.block(bttc_consensus::address_of(proposer.verifying_key()));
    let guard = &f.app.guard;

    // A good proposal: no penalty.
    let good = f.assembled(&proposer, &proposer, &paying_proposer);
    assert!(f.app.judge(&good, f.app.validate_proposal(&good)).is_some());
    assert!(!guard.is_banned(&publisher()));

    // A block that fails re-execution is a strike: banned at the third.
    let mut bad_root = paying_proposer.clone();
    bad_root.header.state_root = B256::repeat_byte(1);
    let bad = f.assembled(&proposer, &proposer, &bad_root);
    for i in 1..=super::guard::STRIKES_TO_BAN {
        let v = f.app.judge(&bad, f.app.validate_proposal(&bad)).expect("an invalid value");
        assert_eq!(v.validity, Validity::Invalid);
        assert_eq!(guard.is_banned(&publisher()), i == super::guard::STRIKES_TO_BAN, "strike {i}");
    }

    // A forged signature bans its publisher at once.
    let mut forged = f.assembled(&other, &proposer, &paying_proposer);
    forged.publisher = other_publisher();
    assert!(f.app.judge(&forged, f.app.validate_proposal(&forged)).is_none());
    assert!(guard.is_banned(&other_publisher()));
    let banned = guard.banned();
    assert_eq!(banned.len(), 2);
    let reason = |peer: PeerId| banned.iter().find(|b| b.0 == peer).map(|b| b.2.clone()).unwrap();
    let strikes = reason(publisher());
    assert!(strikes.starts_with(&format!("{} strikes", super::guard::STRIKES_TO_BAN)), "{strikes}");
    assert!(reason(other_publisher()).contains("signature"), "{}", reason(other_publisher()));
    assert!(banned.iter().all(|b| b.1 <= super::guard::BAN_FOR), "{banned:?}");
}

#[test]
fn parts_injected_under_another_publishers_stream_id_do_not_mix_in() {
    let f = fixture();
    let (proposer, other) = f.proposer();
    let block = f.block(bttc_consensus::address_of(proposer.verifying_key()));
    let good = f.assembled(&proposer, &proposer, &block);
    let msgs = stream_messages(
        good.height,
        good.round,
        good.pol_round,
        good.proposer,
        &good.block_rlp,
        good.signature,
    );
    let mut streams = PartStreams::default();
    // Another validator publishes a junk Data part with the proposer's stream id and
    // sequence 1 before the real one arrives: refused, as not its stream.
    let mut junk = msgs[1].clone();
    junk.content = bttc_consensus::engine_channel::app::streaming::StreamContent::Data(
        bttc_consensus::ProposalPart::Data(vec![0xff; 64].into()),
    );
    let refused = streams.insert(peer_of(&other), junk, Instant::now(), any_turn).unwrap_err();
    assert!(matches!(refused, StreamError::NotProposer { .. }), "{refused}");
    let mut out = None;
    for m in msgs {
        if let Inserted::Complete(p) =
            streams.insert(peer_of(&proposer), m, Instant::now(), any_turn).unwrap()
        {
            out = Some(p);
        }
    }
    let p = out.expect("the proposer's stream completes");
    assert_eq!(p.block_rlp, good.block_rlp);
    assert_eq!(p.publisher, peer_of(&proposer));
    assert_eq!(f.app.validate_proposal(&p).unwrap().validity, Validity::Valid);
}

#[test]
fn the_guard_checks_vote_and_proposal_signers() {
    use bttc_consensus::{
        Proposal, Vote,
        core_types::{NilOrVal, SignedMessage, VoteType},
    };
    let f = fixture();
    let guard = &f.app.guard;
    let voter = &f.keys[1];
    let vote = Vote {
        vote_type: VoteType::Precommit,
        height: BlockHeight(1),
        round: Round::new(0),
        value: NilOrVal::Val(BlockValue(B256::repeat_byte(3))),
        validator: ValidatorAddress(bttc_consensus::address_of(voter.verifying_key())),
        extension: None,
    };
    let sign = |k: &SigningKey, h: &B256| ConsensusSigner::new(k.clone(), 777).sign_hash(h);
    let good = SignedMessage::new(vote.clone(), sign(voter, &vote.signing_hash(777)));
    assert_eq!(guard.check_vote(&good), Ok(()));
    // Signed by another validator than the one it names.
    let forged = SignedMessage::new(vote.clone(), sign(&f.keys[2], &vote.signing_hash(777)));
    assert!(guard.check_vote(&forged).unwrap_err().contains("signature"));
    // Signed for another chain.
    let other_chain = SignedMessage::new(vote.clone(), sign(voter, &vote.signing_hash(778)));
    assert!(guard.check_vote(&other_chain).is_err());
    // From a key outside the validator set, correctly self-signed.
    let outsider = key(99);
    let mut theirs = vote.clone();
    theirs.validator = ValidatorAddress(bttc_consensus::address_of(outsider.verifying_key()));
    let outsider_vote =
        SignedMessage::new(theirs.clone(), sign(&outsider, &theirs.signing_hash(777)));
    assert!(guard.check_vote(&outsider_vote).unwrap_err().contains("not a validator"));

    let proposal = Proposal {
        height: BlockHeight(1),
        round: Round::new(0),
        value: BlockValue(B256::repeat_byte(4)),
        pol_round: Round::Nil,
        proposer: vote.validator,
    };
    let good = SignedMessage::new(proposal.clone(), sign(voter, &proposal.signing_hash(777)));
    assert_eq!(guard.check_proposal(&good), Ok(()));
    let forged = SignedMessage::new(proposal.clone(), sign(&outsider, &proposal.signing_hash(777)));
    assert!(guard.check_proposal(&forged).is_err());
}

#[test]
fn messages_are_judged_by_their_author_not_the_relaying_neighbour() {
    use super::net::admitted_author;
    let f = fixture();
    let guard = &f.app.guard;
    let (relay, author) = (other_publisher(), publisher());
    assert_eq!(admitted_author(guard, relay, Some(author)), Some(author));
    // A banned neighbour (its connection still closing) relays someone else's message: the
    // message is still judged, under its author.
    assert!(guard.ban(relay, "test"));
    assert_eq!(admitted_author(guard, relay, Some(author)), Some(author));
    // Its own messages, direct or unsigned, are dropped.
    assert_eq!(admitted_author(guard, author, Some(relay)), None);
    assert_eq!(admitted_author(guard, relay, None), None);
    // A banned author is dropped whoever relays it.
    assert!(guard.ban(author, "test"));
    assert_eq!(admitted_author(guard, relay, Some(author)), None);
}

/// A commit certificate for block `hash` at `height` (the driver does not check it: the
/// engine did).
fn certificate(height: u64, hash: B256) -> CommitCertificate {
    CommitCertificate::new(BlockHeight(height), Round::new(0), BlockValue(hash), Vec::new())
}

/// Hands `Decided` to the driver: its outcome and what the engine was answered.
async fn decided(
    app: &mut ConsensusApp,
    cert: CommitCertificate,
) -> (Result<(), ConsensusError>, Result<(), oneshot::error::RecvError>) {
    let (reply, answer) = oneshot::channel();
    let (network, _) = mpsc::channel(16);
    let msg = AppMsg::Decided { certificate: cert, extensions: Default::default(), reply };
    let outcome = app.handle(msg, &network).await;
    (outcome, answer.await)
}

/// Hands `Finalized` to the driver: its outcome and what the engine was answered.
async fn finalized(
    app: &mut ConsensusApp,
    cert: CommitCertificate,
) -> (Result<(), ConsensusError>, Result<Next<BttcContext>, oneshot::error::RecvError>) {
    let (reply, answer) = oneshot::channel();
    let (network, _) = mpsc::channel(16);
    let msg = AppMsg::Finalized {
        certificate: cert,
        extensions: Default::default(),
        evidence: MisbehaviorEvidence { proposals: Default::default(), votes: Default::default() },
        reply,
    };
    let outcome = app.handle(msg, &network).await;
    (outcome, answer.await)
}

/// Fills the database until not even a small entry fits (a full disk, for MDBX).
fn fill(db: &DatabaseEnv) {
    let (mut size, mut i) = (256 * 1024, 0u64);
    while size >= 16 {
        i += 1;
        let written = (|| {
            let rw = db.rw()?;
            rw.put_proposed_block(0, &B256::from(U256::from(i)), &vec![0xee; size])?;
            rw.commit()
        })();
        if written.is_err() {
            size /= 2;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decided_block_that_cannot_be_written_stops_the_driver_and_a_restart_commits_it() {
    // A database that can grow to 16 MiB only: the disk is full once it has.
    let small = DbOptions { max_size: 16 << 20, growth_step: 1 << 20, ..DbOptions::ephemeral() };
    let mut f = fixture_with(small, None);
    let (proposer, _) = f.proposer();
    let block = f.block(bttc_consensus::address_of(proposer.verifying_key()));
    let hash = block.header.hash_slow();
    let good = f.assembled(&proposer, &proposer, &block);
    assert_eq!(f.app.validate_proposal(&good).unwrap().validity, Validity::Valid);
    fill(f.app.chain.db());

    let (outcome, answer) = decided(&mut f.app, certificate(1, hash)).await;
    // MDBX's "map full" (no room left), wherever the commit hit it.
    match outcome {
        Err(ConsensusError::Commit {
            height: 1,
            hash: h,
            source:
                CommitError::Storage(_)
                | CommitError::Block(
                    bttc_chain::BlockError::Storage(_) | bttc_chain::BlockError::Write { .. },
                ),
        }) => assert_eq!(h, hash),
        other => panic!("expected a storage failure at height 1, got {other:?}"),
    }
    assert!(answer.is_err(), "the engine must not hear that the block is committed");
    // The engine's `Finalized` gets no answer either: above all no `Restart`, which would
    // reset the WAL and let this validator vote at height 1 again.
    let (outcome, next) = finalized(&mut f.app, certificate(1, hash)).await;
    assert!(matches!(outcome, Err(ConsensusError::Commit { height: 1, .. })), "{outcome:?}");
    assert!(next.is_err(), "the engine was answered: {next:?}");
    assert_eq!(f.app.chain.head().unwrap().number, 0);

    // Restarted with room to grow (disk space freed), the node commits the decided block
    // from what it stored before the failure.
    let Fixture { app, keys, _dir: dir } = f;
    drop(app);
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    let mut app = driver(bttc_staking::open_chain(db).unwrap(), &keys[0], None);
    let (outcome, answer) = decided(&mut app, certificate(1, hash)).await;
    outcome.unwrap();
    answer.unwrap();
    let (outcome, next) = finalized(&mut app, certificate(1, hash)).await;
    outcome.unwrap();
    assert!(matches!(next.unwrap(), Next::Start(BlockHeight(2), _)));
    assert_eq!(app.chain.head().unwrap().number, 1);
    assert_eq!(app.chain.db().ro().unwrap().canonical_hash(1).unwrap(), Some(hash));
    assert!(super::store::certificate(&app.chain.db().ro().unwrap(), 1).unwrap().is_some());
}

/// The genesis validators up to a height, nothing known above it.
#[derive(Debug)]
struct KnownUpTo(StaticValidators, u64);

impl ValidatorSetProvider for KnownUpTo {
    fn validator_set(
        &self,
        height: BlockHeight,
    ) -> Result<bttc_consensus::ValidatorSet, bttc_consensus::ValidatorSetError> {
        if height.0 > self.1 {
            return Err(bttc_consensus::ValidatorSetError::Empty);
        }
        self.0.validator_set(height)
    }
}

fn known_up_to(f: &Fixture, height: u64) -> Arc<dyn ValidatorSetProvider> {
    let params = f.app.chain.spec().bttc().unwrap().clone();
    Arc::new(KnownUpTo(StaticValidators::from_genesis(&params.validators).unwrap(), height))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_height_without_parameters_stops_the_driver_instead_of_hanging() {
    // At start: the first height has no validator set.
    let f = fixture();
    let sets = known_up_to(&f, 0);
    let Fixture { app, keys, _dir: dir } = f;
    let chain = app.chain.clone();
    drop(app);
    let app = driver(chain, &keys[0], Some(sets));
    let (to_driver, consensus) = mpsc::channel(16);
    let channels = Channels {
        consensus,
        network: mpsc::channel(16).0,
        events: Default::default(),
        requests: mpsc::channel(16).0,
        net_requests: mpsc::channel(16).0,
    };
    let run = tokio::spawn(app.run(channels));
    let (reply, answer) = oneshot::channel();
    to_driver.send(AppMsg::ConsensusReady { reply }).await.unwrap();
    // The engine keeps its end open: the driver must end by itself, not wait for more.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("the driver hangs on a height without parameters")
        .unwrap();
    assert!(matches!(ended, Err(ConsensusError::HeightParams { height: 1, .. })), "{ended:?}");
    assert!(answer.await.is_err());
    drop((to_driver, dir));

    // After a decided height: its block is committed, the next height is unknown.
    let mut f = fixture();
    let sets = known_up_to(&f, 1);
    let (proposer, _) = f.proposer();
    let block = f.block(bttc_consensus::address_of(proposer.verifying_key()));
    let hash = block.header.hash_slow();
    let good = f.assembled(&proposer, &proposer, &block);
    f.app.validate_proposal(&good).unwrap();
    f.app.validators = sets;
    let (outcome, answer) = decided(&mut f.app, certificate(1, hash)).await;
    outcome.unwrap();
    answer.unwrap();
    let (outcome, next) = finalized(&mut f.app, certificate(1, hash)).await;
    assert!(matches!(outcome, Err(ConsensusError::HeightParams { height: 2, .. })), "{outcome:?}");
    assert!(next.is_err(), "the engine was answered: {next:?}");
    assert_eq!(f.app.chain.head().unwrap().number, 1);
}

#[test]
fn a_decided_block_of_the_largest_size_fits_one_sync_response() {
    use super::limits::MAX_RLP_BLOCK_SIZE;
    use bttc_consensus::{
        BttcCodec, EthSignature,
        core_types::{ExtendedCommitCertificate, ExtendedCommitSignature},
        engine_channel::app::types::sync::RawDecidedValue,
    };
    use malachitebft_codec::{Codec, HasEncodedLen};
    let chain = bttc_network::ChainIdentity::new(777, B256::repeat_byte(1));
    let sync = super::value_sync_config();
    let net = super::consensus_network_config(
        &chain,
        "/ip4/127.0.0.1/tcp/1".parse().unwrap(),
        Vec::new(),
        &sync,
    );
    // The largest block, decided by 300 validators.
    let certificate = ExtendedCommitCertificate {
        height: BlockHeight(1),
        round: Round::new(0),
        value_id: BlockValue(B256::repeat_byte(2)),
        commit_signatures: (0..300u16)
            .map(|i| {
                let address = alloy_primitives::Address::left_padding_from(&i.to_be_bytes());
                ExtendedCommitSignature::new(
                    ValidatorAddress(address),
                    EthSignature([i as u8; 65]),
                    None,
                )
            })
            .collect(),
    };
    let value = RawDecidedValue::new(vec![0x5a; MAX_RLP_BLOCK_SIZE].into(), certificate);
    let response = malachitebft_sync::Response::ValueResponse(
        malachitebft_sync::ValueResponse::new(BlockHeight(1), vec![value]),
    );
    // What the engine measures against its budget, and what crosses libp2p.
    let measured = BttcCodec.encoded_len(&response).unwrap();
    let wire = BttcCodec.encode(&response).unwrap().len();
    assert!(
        measured as u64 <= sync.max_response_size.as_u64(),
        "a {measured}-byte response exceeds the engine's {} budget",
        sync.max_response_size
    );
    assert!(wire <= net.rpc_max_size, "{wire} bytes exceed the {}-byte frame", net.rpc_max_size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_valid_only_with_the_deposits_this_validator_read_in_order() {
    use bttc_consensus::{core_types::NilOrVal, core_types::VoteType, signing::EthSignature};
    use bttc_primitives::{LastCommit, StateSyncRecord};
    let mut f = fixture();
    // Block 1, decided and committed.
    let p1 = f.proposer();
    let b1 = f.block(bttc_consensus::address_of(p1.0.verifying_key()));
    let h1 = b1.header.hash_slow();
    let v = f.app.validate_proposal(&f.assembled(&p1.0, &p1.0, &b1)).unwrap();
    assert_eq!(v.validity, Validity::Valid);
    decided(&mut f.app, certificate(1, h1)).await.0.unwrap();
    finalized(&mut f.app, certificate(1, h1)).await.0.unwrap();
    // Block 1's commit, signed by every member (LastCommit of block 2).
    let set = f.app.validators.validator_set(BlockHeight(1)).unwrap();
    let mut commit = LastCommit { round: 0, ..Default::default() };
    for (i, m) in set.validators().iter().enumerate() {
        let key =
            f.keys.iter().find(|k| bttc_consensus::address_of(k.verifying_key()) == m.address.0);
        let hash = bttc_consensus::vote_signing_hash(
            777,
            VoteType::Precommit,
            BlockHeight(1),
            Round::new(0),
            &NilOrVal::Val(BlockValue(h1)),
            &m.address,
        );
        commit.signers.set_bit(i, true);
        commit.signatures.push(EthSignature::sign(key.unwrap(), &hash).0);
    }
    let record = |id: u64, data: &'static [u8]| StateSyncRecord {
        root_id: 31_337,
        id,
        time: 1_700_000_000,
        receiver: bttc_contracts::CHILD_CHAIN_MANAGER,
        data: alloy_primitives::Bytes::from_static(data),
    };
    // This validator's watcher read records 1 and 2 of root 31337.
    f.app.root_records.insert(31_337, "root", 50, vec![record(1, b"one"), record(2, b"two")]);
    let p2 = f.proposer_at(2);
    let verdict = |records: Vec<StateSyncRecord>| {
        let extra = LastCommit { state_syncs: records, ..commit.clone() }.encode();
        let ro = f.app.chain.db().ro().unwrap();
        let attrs = BlockAttributes {
            timestamp: 2,
            beneficiary: bttc_consensus::address_of(p2.verifying_key()),
            extra_data: extra,
            ..Default::default()
        };
        let block = f.app.chain.build_block_from_recovered(&ro, vec![], &attrs).unwrap().block;
        drop(ro);
        f.app.validate_proposal(&f.assembled_at(2, &p2, &p2, &block)).unwrap().validity
    };
    assert_eq!(verdict(vec![]), Validity::Valid, "no deposits");
    assert_eq!(verdict(vec![record(1, b"one"), record(2, b"two")]), Validity::Valid);
    assert_eq!(verdict(vec![record(1, b"one")]), Validity::Valid, "a prefix");
    // Refused (prevote nil): a forged deposit, one this validator has not read, a gap, a
    // repeat, another root.
    assert_eq!(verdict(vec![record(1, b"mint me a million")]), Validity::Invalid);
    assert_eq!(
        verdict(vec![record(1, b"one"), record(2, b"two"), record(3, b"three")]),
        Validity::Invalid
    );
    assert_eq!(verdict(vec![record(2, b"two")]), Validity::Invalid);
    assert_eq!(verdict(vec![record(1, b"one"), record(1, b"one")]), Validity::Invalid);
    let mut other = record(1, b"one");
    other.root_id = 1;
    assert_eq!(verdict(vec![other]), Validity::Invalid);
    assert_eq!(f.app.chain.head().unwrap().number, 1, "validation commits nothing");
}
