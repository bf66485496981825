//! Peers that send invalid data on the consensus network are banned: a real validator node
//! (in-process, libp2p on 127.0.0.1) and five raw Malachite swarms dialling it. One publishes
//! bytes that are not a consensus message, one a vote whose signature is not its validator's,
//! one a proposal-stream part under the validator's stream id, one a proposal stream of its
//! own though it is no validator, one behaves. The four offenders are disconnected and kept
//! out (every reconnection is dropped); the well-behaved peer stays connected; the chain
//! keeps finalizing blocks; and `bttc_bannedPeers` names the offenders and their faults.

use alloy_primitives::{B256, U256};
use bttc_consensus::{
    BlockHeight, BlockValue, BttcCodec, BttcContext, ConsensusSigner, ProposalPart,
    ValidatorAddress, Vote, address_of,
    core_types::{NilOrVal, Round, SignedMessage, VoteType},
    engine_channel::app::{
        consensus::SignedConsensusMsg,
        metrics::SharedRegistry,
        streaming::{StreamContent, StreamId, StreamMessage},
    },
};
use bttc_network::ChainIdentity;
use bttc_node::{
    bft::{BftNode, BftNodeConfig, consensus_network_config},
    dev_accounts, network_genesis,
};
use k256::ecdsa::SigningKey;
use malachitebft_codec::Codec;
use malachitebft_config::ValueSyncConfig;
use malachitebft_network::{
    self as network, Channel, Event, Keypair, Multiaddr, PeerId, PeerIdExt,
    handle::{CtrlHandle, RecvHandle},
};
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};
use support::{block_number, free_port, rpc};

mod support;

const CHAIN_ID: u64 = 4242;

/// A raw consensus swarm of `chain` dialling `node`, with the node's own configuration, its
/// peer id and the address of its key.
async fn peer(
    name: &str,
    chain: &ChainIdentity,
    node: &Multiaddr,
) -> (RecvHandle, CtrlHandle, PeerId, ValidatorAddress) {
    let keypair = Keypair::generate_secp256k1();
    let id = PeerId::from_libp2p(&keypair.public().to_peer_id());
    let public = keypair.public().try_into_secp256k1().unwrap().to_bytes();
    let address = address_of(&k256::ecdsa::VerifyingKey::from_sec1_bytes(&public).unwrap());
    let listen: Multiaddr = format!("/ip4/127.0.0.1/tcp/{}", free_port()).parse().unwrap();
    let config =
        consensus_network_config(chain, listen, vec![node.clone()], &ValueSyncConfig::default());
    let identity = network::NetworkIdentity::new(name.into(), keypair, None);
    let registry = SharedRegistry::global().with_moniker(name);
    let (recv, ctrl) = network::spawn(identity, config, registry).await.unwrap().split();
    (recv, ctrl, id, ValidatorAddress(address))
}

/// The first part (`Init`) of a proposal stream of `proposer` at `height`, round 0.
fn stream_init(height: u64, proposer: ValidatorAddress) -> bytes::Bytes {
    let mut id = height.to_be_bytes().to_vec();
    id.extend_from_slice(&0i32.to_be_bytes());
    id.extend_from_slice(proposer.0.as_slice());
    let part = ProposalPart::Init {
        height: BlockHeight(height),
        round: Round::new(0),
        pol_round: Round::Nil,
        proposer,
    };
    let msg = StreamMessage::new(StreamId::new(id.into()), 0, StreamContent::Data(part));
    BttcCodec.encode(&msg).unwrap()
}

/// Waits until `handle` hears `node` on the consensus channel (gossip meshed both ways).
async fn until_subscribed(handle: &mut RecvHandle, node: PeerId) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, handle.recv()).await {
            Ok(Some(Event::ConsensusMessage(Channel::Consensus, p, _, _))) if p == node => return,
            Ok(Some(_)) => {}
            _ => panic!("node {node} never heard on the consensus channel"),
        }
    }
}

/// Follows `handle`'s events for `window`: whether it ended connected to `node`, and how
/// many times the node dropped it.
async fn watch(handle: &mut RecvHandle, node: PeerId, window: Duration) -> (bool, u32) {
    let deadline = Instant::now() + window;
    let (mut connected, mut drops) = (true, 0);
    while let Ok(Some(ev)) =
        tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), handle.recv())
            .await
    {
        match ev {
            Event::PeerConnected(p) if p == node => connected = true,
            Event::PeerDisconnected(p) if p == node => {
                connected = false;
                drops += 1;
            }
            _ => {}
        }
    }
    (connected, drops)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_sending_invalid_consensus_data_are_banned_and_the_chain_goes_on() {
    // The node's and the swarms' logs, shown when the test fails (`RUST_LOG` overrides).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "bttc=debug,malachitebft_network=debug,info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_slice(&[0x31; 32]).unwrap();
    let validator = bttc_chainspec::GenesisValidator {
        address: address_of(key.verifying_key()),
        public_key: key.verifying_key().to_encoded_point(true).as_bytes().to_vec().into(),
        stake: 100,
        operator: None,
    };
    let genesis = network_genesis(
        CHAIN_ID,
        &dev_accounts(1),
        U256::from(10u64).pow(U256::from(20u64)),
        30_000_000,
        &[validator],
        1000,
    )
    .unwrap();
    let p2p_port = free_port();
    let mut config = BftNodeConfig::new(dir.path().to_path_buf());
    config.genesis = Some(genesis);
    config.validator_key = Some(key.clone());
    config.p2p_addr = SocketAddr::from(([127, 0, 0, 1], p2p_port));
    config.rpc.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let node = BftNode::start(config).await.unwrap();
    let node_id: PeerId = node.peer_id.parse().unwrap();
    let node_addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{p2p_port}").parse().unwrap();

    let chain = node.chain;
    let (mut garbage, garbage_ctrl, garbage_id, _) = peer("garbage", &chain, &node_addr).await;
    let (mut forger, forger_ctrl, forger_id, _) = peer("forger", &chain, &node_addr).await;
    let (mut impostor, impostor_ctrl, impostor_id, _) = peer("impostor", &chain, &node_addr).await;
    let (mut outsider, outsider_ctrl, outsider_id, outsider_address) =
        peer("outsider", &chain, &node_addr).await;
    let (mut honest, _honest_ctrl, honest_id, _) = peer("honest", &chain, &node_addr).await;
    assert_eq!(
        rpc(node.rpc_addr, "bttc_bannedPeers", serde_json::json!([])),
        serde_json::json!([])
    );
    for h in [&mut garbage, &mut forger, &mut impostor, &mut outsider, &mut honest] {
        until_subscribed(h, node_id).await;
    }
    let start = block_number(node.rpc_addr);

    // Bytes that are no consensus message.
    garbage_ctrl.publish(Channel::Consensus, vec![0xde, 0xad, 0xbe, 0xef].into()).await.unwrap();
    // A well-formed precommit naming the validator, signed by another key.
    let validator = ValidatorAddress(address_of(key.verifying_key()));
    let vote = Vote {
        vote_type: VoteType::Precommit,
        height: BlockHeight(start + 1),
        round: Round::new(0),
        value: NilOrVal::Val(BlockValue(B256::repeat_byte(7))),
        validator,
        extension: None,
    };
    let wrong_key = SigningKey::from_slice(&[0x32; 32]).unwrap();
    let sig = ConsensusSigner::new(wrong_key, CHAIN_ID).sign_hash(&vote.signing_hash(CHAIN_ID));
    let msg: SignedConsensusMsg<BttcContext> =
        SignedConsensusMsg::Vote(SignedMessage::new(vote, sig));
    forger_ctrl.publish(Channel::Consensus, BttcCodec.encode(&msg).unwrap()).await.unwrap();
    // A proposal stream in the validator's name, and one of a non-validator in its own, for
    // a height just ahead (inside the window of heights the node buffers).
    let ahead = block_number(node.rpc_addr) + 2;
    impostor_ctrl.publish(Channel::ProposalParts, stream_init(ahead, validator)).await.unwrap();
    outsider_ctrl
        .publish(Channel::ProposalParts, stream_init(ahead, outsider_address))
        .await
        .unwrap();

    let window = Duration::from_secs(12);
    let (g, f, i, o, h) = tokio::join!(
        watch(&mut garbage, node_id, window),
        watch(&mut forger, node_id, window),
        watch(&mut impostor, node_id, window),
        watch(&mut outsider, node_id, window),
        watch(&mut honest, node_id, window),
    );
    // Dropped, and dropped again whenever it reconnects (it may be caught between the two
    // when the window ends).
    let kept_out = |(connected, drops): (bool, u32)| drops >= 1 && (!connected || drops >= 2);
    assert!(kept_out(g), "the garbage sender is still connected: {g:?}");
    assert!(kept_out(f), "the vote forger is still connected: {f:?}");
    assert!(kept_out(i), "the stream impostor is still connected: {i:?}");
    assert!(kept_out(o), "the outsider streaming a proposal is still connected: {o:?}");
    assert_eq!(h, (true, 0), "the well-behaved peer lost its connection");

    // The bans over RPC: every offender, each with its fault, none for the honest peer.
    let banned = rpc(node.rpc_addr, "bttc_bannedPeers", serde_json::json!([]));
    let entry = |id: &PeerId| {
        banned.as_array().unwrap().iter().find(|b| b["peerId"] == id.to_string()).cloned()
    };
    let g = entry(&garbage_id).unwrap_or_else(|| panic!("garbage sender not listed: {banned}"));
    let f = entry(&forger_id).unwrap_or_else(|| panic!("vote forger not listed: {banned}"));
    let i = entry(&impostor_id).unwrap_or_else(|| panic!("impostor not listed: {banned}"));
    let o = entry(&outsider_id).unwrap_or_else(|| panic!("outsider not listed: {banned}"));
    assert!(entry(&honest_id).is_none(), "the honest peer is listed: {banned}");
    assert!(
        g["reason"].as_str().unwrap().starts_with("undecodable consensus message"),
        "garbage sender: {g}"
    );
    assert!(f["reason"].as_str().unwrap().contains("signature"), "vote forger: {f}");
    assert!(i["reason"].as_str().unwrap().contains("not its proposer"), "impostor: {i}");
    assert!(o["reason"].as_str().unwrap().contains("not the proposer"), "outsider: {o}");
    for b in [&g, &f, &i, &o] {
        let left = b["secondsLeft"].as_u64().unwrap();
        assert!((500..=600).contains(&left), "a ten-minute ban just started: {b}");
    }

    let end = block_number(node.rpc_addr);
    assert!(end >= start + 5, "the chain stalled: {start} -> {end}");
    node.stop().await;
}
