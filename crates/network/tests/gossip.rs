//! Real gossip swarms on 127.0.0.1 (QUIC): a transaction published by one reaches the
//! others through their sinks; a peer that keeps sending malformed transactions is ignored
//! by its score and banned while everyone else is still heard; nodes of another chain are
//! never peers.

use alloy_primitives::{B256, keccak256};
use bttc_network::{
    ChainIdentity, GossipConfig, Keypair, Multiaddr, TxGossip, TxRejection, TxSink,
};
use parking_lot::Mutex;
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

const CHAIN: ChainIdentity = ChainIdentity::new(7, B256::repeat_byte(0x11));

#[derive(Default)]
struct Recorder {
    got: Mutex<Vec<Vec<u8>>>,
    /// Malformed messages seen.
    rejected: AtomicUsize,
}

impl TxSink for Recorder {
    fn submit(&self, raw: &[u8]) -> Result<B256, TxRejection> {
        if raw.first() == Some(&0xff) {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(TxRejection::Malformed("not a transaction".into()));
        }
        self.got.lock().push(raw.to_vec());
        Ok(keccak256(raw))
    }
}

impl Recorder {
    fn has(&self, data: &[u8]) -> bool {
        self.got.lock().iter().any(|d| d == data)
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn addr(port: u16) -> Multiaddr {
    format!("/ip4/127.0.0.1/udp/{port}/quic-v1").parse().unwrap()
}

async fn node(port: u16, peers: &[u16], sink: Arc<Recorder>) -> TxGossip {
    node_of(CHAIN, 3, port, peers, sink).await
}

/// A swarm of `chain` that bans after `ban_after` malformed messages.
async fn node_of(
    chain: ChainIdentity,
    ban_after: u32,
    port: u16,
    peers: &[u16],
    sink: Arc<Recorder>,
) -> TxGossip {
    let mut c = GossipConfig::new(chain, addr(port));
    c.bootnodes = peers.iter().map(|p| addr(*p)).collect();
    c.ban_after = ban_after;
    TxGossip::spawn(Keypair::generate_secp256k1(), c, sink).await.unwrap()
}

async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..150 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_spread_and_a_peer_sending_garbage_is_banned() {
    let (pa, pb, pc) = (free_udp_port(), free_udp_port(), free_udp_port());
    let (sa, sb, sc) =
        (Arc::<Recorder>::default(), Arc::<Recorder>::default(), Arc::<Recorder>::default());
    let a = node(pa, &[], sa.clone()).await;
    let b = node(pb, &[pa, pc], sb.clone()).await;
    let c = node(pc, &[pa], sc.clone()).await;
    until("peers to connect", || a.peer_count() >= 2 && b.peer_count() >= 2).await;
    // Let the gossipsub meshes form (heartbeat 700 ms).
    tokio::time::sleep(Duration::from_secs(2)).await;

    a.broadcast(keccak256(b"tx-1"), b"tx-1".to_vec());
    until("tx-1 at b and c", || sb.has(b"tx-1") && sc.has(b"tx-1")).await;
    // A transaction that came from a peer is not published again by the receiver.
    b.broadcast(keccak256(b"tx-1"), b"tx-1".to_vec());

    // c sends garbage: b and a reject it, strike c and ban it after three.
    for i in 0..4u8 {
        c.broadcast(keccak256([0xff, i]), vec![0xff, i]);
    }
    until("c to be banned by b", || b.peer_count() < 2).await;
    c.broadcast(keccak256(b"tx-from-c"), b"tx-from-c".to_vec());
    a.broadcast(keccak256(b"tx-2"), b"tx-2".to_vec());
    until("tx-2 at b", || sb.has(b"tx-2")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!sb.has(b"tx-from-c"), "b still hears a banned peer directly");
    assert!(
        !sb.got.lock().iter().any(|d| d.first() == Some(&0xff)),
        "garbage reached the sink as valid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_banned_on_request_is_disconnected_and_kept_out() {
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let (sa, sb) = (Arc::<Recorder>::default(), Arc::<Recorder>::default());
    let a = node(pa, &[], sa.clone()).await;
    // b dials a as a bootnode and redials every few seconds.
    let b = node(pb, &[pa], sb.clone()).await;
    until("b to connect", || a.peer_count() == 1 && b.peer_count() == 1).await;

    // The consensus network caught b: a bans it on this swarm too.
    a.ban(b.peer_id);
    until("a to drop b", || a.peer_count() == 0).await;
    // b keeps redialling (every 5 s); a refuses it for the whole window.
    for _ in 0..70 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(a.peer_count(), 0, "a banned peer got back in");
    }
    b.broadcast(keccak256(b"tx-from-b"), b"tx-from-b".to_vec());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!sa.has(b"tx-from-b"), "a hears a banned peer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_garbage_is_ignored_by_its_score_before_any_ban() {
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let (sa, sb) = (Arc::<Recorder>::default(), Arc::<Recorder>::default());
    // No ban within this test: only gossipsub's scoring stands between a and b's garbage.
    let a = node_of(CHAIN, 1000, pa, &[], sa.clone()).await;
    let b = node_of(CHAIN, 1000, pb, &[pa], sb.clone()).await;
    until("b to connect", || a.peer_count() == 1 && b.peer_count() == 1).await;
    // Until a hears b at all (the mesh has formed).
    for i in 0..150u8 {
        if sa.got.lock().iter().any(|d| d.starts_with(b"probe")) {
            break;
        }
        b.broadcast(keccak256([b'p', i]), [b"probe".as_slice(), &[i]].concat());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sa.got.lock().iter().any(|d| d.starts_with(b"probe")), "a never heard b");

    const SENT: usize = 20;
    for i in 0..SENT as u8 {
        b.broadcast(keccak256([0xff, i]), vec![0xff, i]);
    }
    // Without scoring every one of them reaches a's sink within moments; with it, a stops
    // listening to b after the third (graylisted), though b is still connected.
    for _ in 0..50 {
        if sa.rejected.load(Ordering::Relaxed) >= SENT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rejected = sa.rejected.load(Ordering::Relaxed);
    assert!(rejected <= 4, "a processed {rejected} of {SENT} malformed messages from b");
    assert_eq!(a.peer_count(), 1, "b was banned: the score alone should have stopped it");
    b.broadcast(keccak256(b"after"), b"after".to_vec());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!sa.has(b"after"), "a still listens to a graylisted peer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_of_another_chain_are_never_peers() {
    let other_genesis = ChainIdentity::new(CHAIN.chain_id, B256::repeat_byte(0x22));
    let (pa, pb, pc) = (free_udp_port(), free_udp_port(), free_udp_port());
    let (sa, sb, sc) =
        (Arc::<Recorder>::default(), Arc::<Recorder>::default(), Arc::<Recorder>::default());
    let a = node(pa, &[pb], sa.clone()).await;
    // Same chain id, another genesis: both dial each other (and c dials both).
    let b = node_of(other_genesis, 3, pb, &[pa, pc], sb.clone()).await;
    let c = node(pc, &[pa, pb], sc.clone()).await;
    until("c to connect to a", || a.peer_count() == 1 && c.peer_count() == 1).await;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(b.peer_count(), 0, "a node of another chain became a peer");
        assert_eq!((a.peer_count(), c.peer_count()), (1, 1));
    }
    a.broadcast(keccak256(b"tx-a"), b"tx-a".to_vec());
    until("tx-a at c", || sc.has(b"tx-a")).await;
    b.broadcast(keccak256(b"tx-b"), b"tx-b".to_vec());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!sb.has(b"tx-a"), "a transaction crossed to another chain");
    assert!(!sa.has(b"tx-b") && !sc.has(b"tx-b"), "a transaction came from another chain");
}
