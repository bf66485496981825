//! Nodes of two chains never take each other for peers. Two single-validator chains with the
//! same chain id but different genesis blocks (A and B), each validator given the other as
//! a bootnode, and a full node of A given both: A's full node follows A, both validators keep
//! deciding their own blocks, and neither swarm of B ever counts a node of A as a peer (nor
//! the other way round); nobody is banned, since the handshake already refuses them; and a
//! transaction sent to A reaches A's full node by gossip but never B.

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use bttc_node::{
    bft::{BftNode, BftNodeConfig},
    dev_accounts, network_genesis,
};
use k256::ecdsa::SigningKey;
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};
use support::{free_port, quantity, rpc};

mod support;

const CHAIN_ID: u64 = 4343;

fn head(node: &BftNode) -> u64 {
    quantity(&rpc(node.rpc_addr, "eth_blockNumber", serde_json::json!([])))
}

fn peers(node: &BftNode) -> u64 {
    quantity(&rpc(node.rpc_addr, "net_peerCount", serde_json::json!([])))
}

/// Polls `f` for up to 90 s.
async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A genesis with one validator; `balance` (in wei) sets the dev account's funds, and so the
/// genesis block.
fn genesis(validator: &SigningKey, balance: U256) -> String {
    let v = bttc_chainspec::GenesisValidator {
        address: bttc_consensus::address_of(validator.verifying_key()),
        public_key: validator.verifying_key().to_encoded_point(true).as_bytes().to_vec().into(),
        stake: 100,
        operator: None,
    };
    network_genesis(CHAIN_ID, &dev_accounts(1), balance, 30_000_000, &[v], 1000).unwrap()
}

async fn start(
    dir: &std::path::Path,
    genesis: &str,
    key: Option<&SigningKey>,
    port: u16,
    bootnodes: &[u16],
) -> BftNode {
    let mut config = BftNodeConfig::new(dir.to_path_buf());
    config.genesis = Some(genesis.to_owned());
    config.validator_key = key.cloned();
    config.p2p_addr = SocketAddr::from(([127, 0, 0, 1], port));
    config.bootnodes = bootnodes.iter().map(|p| format!("/ip4/127.0.0.1/tcp/{p}")).collect();
    config.rpc.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.moniker = format!("node-{port}");
    BftNode::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_of_another_chain_never_become_peers() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "bttc=debug,malachitebft_network=info,warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    let (key_a, key_b) = (
        SigningKey::from_slice(&[0x41; 32]).unwrap(),
        SigningKey::from_slice(&[0x42; 32]).unwrap(),
    );
    let ether = U256::from(10u64).pow(U256::from(18u64));
    let (genesis_a, genesis_b) =
        (genesis(&key_a, ether * U256::from(100u64)), genesis(&key_b, ether * U256::from(200u64)));
    let (pa, pb, pf) = (free_port(), free_port(), free_port());
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a = start(dirs[0].path(), &genesis_a, Some(&key_a), pa, &[pb]).await;
    let b = start(dirs[1].path(), &genesis_b, Some(&key_b), pb, &[pa]).await;
    let full = start(dirs[2].path(), &genesis_a, None, pf, &[pa, pb]).await;
    assert_eq!((a.chain_id, b.chain_id), (CHAIN_ID, CHAIN_ID));
    assert_ne!(a.chain.genesis_hash, b.chain.genesis_hash);
    assert_eq!(a.chain, full.chain);

    // A's full node follows A: nodes of one chain still find each other.
    until("A's full node to follow A", || head(&full) >= 3).await;
    until("A and its full node to be peers", || peers(&a) == 1 && peers(&full) == 1).await;
    for _ in 0..20 {
        assert_eq!(peers(&b), 0, "B counts a node of chain A as a peer");
        assert_eq!((peers(&a), peers(&full)), (1, 1), "a node of chain B became a peer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b_head = head(&b);
    until("B to keep deciding its own blocks", || head(&b) >= b_head + 2).await;
    for n in [&a, &b, &full] {
        let banned = rpc(n.rpc_addr, "bttc_bannedPeers", serde_json::json!([]));
        assert_eq!(
            banned,
            serde_json::json!([]),
            "a node of another chain was banned, not refused"
        );
    }

    // A transfer sent to A: valid on B too (same chain id, same account), but B never hears
    // of it.
    let signer = PrivateKeySigner::from_bytes(&dev_accounts(1)[0].private_key).unwrap();
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0xaa)),
        value: U256::from(12345u64),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = bttc_primitives::TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
    let hash: B256 = serde_json::from_value(rpc(
        a.rpc_addr,
        "eth_sendRawTransaction",
        serde_json::json!([Bytes::from(raw)]),
    ))
    .unwrap();
    let known = |n: &BftNode| {
        !rpc(n.rpc_addr, "eth_getTransactionByHash", serde_json::json!([hash])).is_null()
    };
    until("the transfer to reach A's full node", || known(&full)).await;
    until("the transfer to be included on A", || {
        !rpc(a.rpc_addr, "eth_getTransactionReceipt", serde_json::json!([hash])).is_null()
    })
    .await;
    for _ in 0..10 {
        assert!(!known(&b), "a transaction crossed to another chain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in [full, b, a] {
        n.stop().await;
    }
}
