//! The JSON-RPC server against hostile callers, over real sockets: browser origins, DNS
//! rebinding and CORS; calls that would run forever; a flood of executions next to
//! transaction submission; WebSocket peers that go silent; oversized filters.

mod support;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::Encodable2718;
use alloy_network::TxSignerSync;
use alloy_primitives::{Address, TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{DEV0, DEV0_KEY, DEV1, DevProc, rpc};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Code that loops until its gas runs out: `JUMPDEST PUSH1 0 JUMP`.
const LOOP: &str = "0x5b600056";
/// Where the tests put it (by state override).
const LOOPER: &str = "0x0000000000000000000000000000000000001000";

fn code(v: &Value) -> i64 {
    v["error"]["code"].as_i64().unwrap_or_else(|| panic!("expected an error: {v}"))
}

/// `eth_call` of the endless loop.
fn loop_call() -> Value {
    // Explicit gas: a call without it gets at most the block's gas limit, which a loop burns
    // through long before any timeout.
    json!([{"to": LOOPER, "gas": "0x38d7ea4c68000"}, "latest", {LOOPER: {"code": LOOP}}])
}

/// A POST with extra headers; returns status, headers and body.
async fn post_with(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut r = reqwest::Client::new().post(url).header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let resp = r.body(body.to_string()).send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

const CHAIN_ID: &str = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;

/// The status line of a WebSocket handshake with `origin`.
async fn ws_handshake_status(addr: &str, origin: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(handshake(origin).as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string()
}

fn handshake(origin: Option<&str>) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{}\r\n",
        origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_are_held_to_their_origin_and_host() {
    let node = DevProc::start(&[]);
    let url = node.http.as_str();
    let addr = url.trim_start_matches("http://");

    // Scripts and tools send no Origin: served.
    let (status, headers, body) = post_with(url, &[], CHAIN_ID).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.get("access-control-allow-origin").is_none());
    // DNS rebinding: a page on attacker.example resolving to 127.0.0.1.
    let (status, _, body) = post_with(url, &[("host", "attacker.example:8545")], CHAIN_ID).await;
    assert_eq!((status, body.trim()), (403, "invalid host specified"));
    let (status, _, _) = post_with(url, &[("host", "localhost:8545")], CHAIN_ID).await;
    assert_eq!(status, 200);
    // A local dApp front end (dev default) is served with CORS headers.
    let local = "http://localhost:3000";
    let (status, headers, body) = post_with(url, &[("origin", local)], CHAIN_ID).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("0x1de2aef"), "{body}");
    assert_eq!(headers["access-control-allow-origin"], local);
    // So is a wallet extension (MetaMask).
    let metamask = ("origin", "chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn");
    let (status, _, body) = post_with(url, &[metamask], CHAIN_ID).await;
    assert_eq!(status, 200, "{body}");
    // Any other page is refused before the call runs.
    let send = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction",
        "params": [{"from": DEV0, "to": DEV1, "value": "0x1"}]})
    .to_string();
    let (status, headers, body) =
        post_with(url, &[("origin", "https://evil.example")], &send).await;
    assert_eq!((status, body.trim()), (403, "origin not allowed"));
    assert!(headers.get("access-control-allow-origin").is_none());
    assert_eq!(rpc(url, "txpool_status", json!([])).await["result"]["pending"], "0x0");

    // CORS preflight.
    let preflight = |origin: &'static str| async move {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap()
    };
    let r = preflight("http://127.0.0.1:5173").await;
    assert_eq!(r.status().as_u16(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "http://127.0.0.1:5173");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert_eq!(h["access-control-allow-headers"], "content-type");
    assert_eq!(h["access-control-max-age"], "600");
    let r = preflight("https://evil.example").await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // WebSocket handshakes: a foreign page is refused, local pages and tools are not.
    assert!(ws_handshake_status(addr, Some("https://evil.example")).await.contains(" 403 "));
    assert!(ws_handshake_status(addr, Some("http://localhost:3000")).await.contains(" 101 "));
    assert!(ws_handshake_status(addr, None).await.contains(" 101 "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_origins_and_hosts_replace_the_defaults() {
    let node = DevProc::start(&[
        "--http.corsdomain",
        "https://app.example",
        "--ws.origins",
        "https://app.example",
        "--http.vhosts",
        "node.example",
    ]);
    let url = node.http.as_str();
    let addr = url.trim_start_matches("http://");
    let app = ("origin", "https://app.example");
    let (status, headers, _) = post_with(url, &[app, ("host", "node.example:1")], CHAIN_ID).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "https://app.example");
    let (status, _, _) = post_with(url, &[("origin", "http://localhost:3000")], CHAIN_ID).await;
    assert_eq!(status, 403, "localhost is no longer in the list");
    let (status, _, _) = post_with(url, &[("host", "localhost:8545")], CHAIN_ID).await;
    assert_eq!(status, 403, "neither is the localhost name");
    let (status, _, _) = post_with(url, &[], CHAIN_ID).await;
    assert_eq!(status, 200, "an IP address always passes");
    assert!(ws_handshake_status(addr, Some("https://app.example")).await.contains(" 101 "));
    assert!(ws_handshake_status(addr, Some("http://localhost")).await.contains(" 403 "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_call_stops_the_evm_and_frees_its_thread() {
    // One execution thread and a gas cap no loop exhausts in a lifetime.
    let node = DevProc::start(&[
        "--rpc.exec-threads",
        "1",
        "--rpc.gas-cap",
        "1000000000000000",
        "--rpc.call-timeout",
        "1",
    ]);
    let url = node.http.as_str();
    for (method, params) in [
        ("eth_call", loop_call()),
        (
            "eth_estimateGas",
            json!([{"to": LOOPER, "gas": "0x38d7ea4c68000"}, "latest", {LOOPER: {"code": LOOP}}]),
        ),
        (
            "debug_traceCall",
            json!([{"to": LOOPER, "gas": "0x38d7ea4c68000"}, "latest", {"tracer": "callTracer", "stateOverrides": {LOOPER: {"code": LOOP}}}]),
        ),
    ] {
        let r = rpc(url, method, params).await;
        assert_eq!(code(&r), -32000, "{method}: {r}");
        assert!(r["error"]["message"].as_str().unwrap().contains("timeout"), "{method}: {r}");
        // The only execution thread is free again: a call right after runs and answers
        // (before, the loop kept the thread and this call timed out behind it).
        let r = rpc(url, "eth_call", json!([{"to": DEV1}, "latest"])).await;
        assert_eq!(r["result"], "0x", "after {method}: {r}");
    }
}

/// A signed transfer from the first dev account.
fn transfer(nonce: u64) -> String {
    let key: PrivateKeySigner = DEV0_KEY.parse().unwrap();
    let mut tx = TxEip1559 {
        chain_id: 31_337_199,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(DEV1),
        value: U256::from(1),
        ..Default::default()
    };
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    let env: TxEnvelope = tx.into_signed(sig).into();
    format!("0x{}", alloy_primitives::hex::encode(env.encoded_2718()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_never_wait_behind_executions_and_a_full_queue_refuses() {
    // One execution thread and room for one waiting call: two calls in flight at most.
    let node = DevProc::start(&[
        "--rpc.exec-threads",
        "1",
        "--rpc.max-queued",
        "1",
        "--rpc.gas-cap",
        "1000000000000000",
        "--rpc.call-timeout",
        "5",
    ]);
    let url = node.http.clone();
    let mut calls = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        calls.push(tokio::spawn(async move { rpc(&url, "eth_call", loop_call()).await }));
    }
    // Two of the four are refused at once; the other two hold the lane.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut refused = Vec::new();
    while refused.len() < 2 {
        assert!(Instant::now() < deadline, "no call was refused");
        for (i, c) in calls.iter_mut().enumerate() {
            if c.is_finished() && !refused.contains(&i) {
                let r = c.await.unwrap();
                assert_eq!(code(&r), -32005, "{r}");
                assert!(r["error"]["message"].as_str().unwrap().contains("queue is full"), "{r}");
                refused.push(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let running: Vec<_> =
        calls.into_iter().enumerate().filter(|(i, _)| !refused.contains(i)).collect();
    // A transaction is admitted while both executions still hold the lane.
    let r = rpc(&url, "eth_sendRawTransaction", json!([transfer(0)])).await;
    assert!(r["result"].is_string(), "{r}");
    let r = rpc(&url, "eth_sendTransaction", json!([{"from": DEV0, "to": DEV1, "gas": "0x5208"}]))
        .await;
    assert!(r["result"].is_string(), "{r}");
    assert!(running.iter().all(|(_, c)| !c.is_finished()), "admitted while the executions ran");
    for (_, c) in running {
        let r = c.await.unwrap();
        assert!(r["error"]["message"].as_str().unwrap().contains("timeout"), "{r}");
    }
}

/// Whether an `eth_subscribe` answer carries a subscription id (a number or a string).
fn subscribed(r: &Value) -> bool {
    r.get("error").is_none() && (r["result"].is_string() || r["result"].is_number())
}

/// A WebSocket client written by hand, so that it can leave pings unanswered.
struct Ws {
    s: TcpStream,
}

/// One frame from the server.
#[derive(Debug, PartialEq)]
enum Frame {
    Text(String),
    Ping(Vec<u8>),
    Close,
    Other(u8),
}

impl Ws {
    async fn connect(addr: &str) -> Self {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(handshake(None).as_bytes()).await.unwrap();
        // Read the 101 response up to its blank line.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(s.read_u8().await.unwrap());
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
        Self { s }
    }

    /// The next frame, or `None` when the server closed the connection.
    async fn next(&mut self) -> Option<Frame> {
        let b0 = self.s.read_u8().await.ok()?;
        let b1 = self.s.read_u8().await.ok()?;
        let len = match b1 & 0x7f {
            126 => u64::from(self.s.read_u16().await.ok()?),
            127 => self.s.read_u64().await.ok()?,
            n => u64::from(n),
        };
        let mut payload = vec![0u8; len as usize];
        self.s.read_exact(&mut payload).await.ok()?;
        Some(match b0 & 0x0f {
            0x1 => Frame::Text(String::from_utf8(payload).unwrap()),
            0x8 => Frame::Close,
            0x9 => Frame::Ping(payload),
            op => Frame::Other(op),
        })
    }

    /// Sends a masked frame (clients must mask; a zero mask is valid).
    async fn send(&mut self, opcode: u8, payload: &[u8]) {
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(payload);
        self.s.write_all(&f).await.unwrap();
    }

    /// Sends a call and returns its answer, answering pings meanwhile.
    async fn call(&mut self, method: &str, params: Value) -> Option<Value> {
        let req = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
        self.send(0x1, req.to_string().as_bytes()).await;
        loop {
            match self.next().await? {
                Frame::Text(t) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["id"] == 7 {
                        return Some(v);
                    }
                }
                Frame::Ping(p) => self.send(0xA, &p).await,
                Frame::Close => return None,
                Frame::Other(_) => {}
            }
        }
    }

    /// Answers pings until the server closes the connection or `until` passes; whether it
    /// was closed.
    async fn pong_until_closed(&mut self, until: Instant) -> bool {
        loop {
            let Ok(frame) = tokio::time::timeout_at(until.into(), self.next()).await else {
                return false;
            };
            match frame {
                None | Some(Frame::Close) => return true,
                Some(Frame::Ping(p)) => self.send(0xA, &p).await,
                Some(_) => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_pings_and_drops_peers_that_never_answer() {
    // No idle timeout: only the pings can close the connection.
    let node = DevProc::start(&["--ws.ping-interval", "1", "--ws.idle-timeout", "0"]);
    let mut deaf = Ws::connect(node.http.trim_start_matches("http://")).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pinged = false;
    loop {
        match tokio::time::timeout_at(deadline.into(), deaf.next()).await.expect("deaf peer kept") {
            Some(Frame::Ping(_)) => pinged = true,
            None | Some(Frame::Close) => break,
            Some(_) => {}
        }
    }
    assert!(pinged, "the server sent pings before it gave up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_websockets_are_closed_and_subscribers_are_not() {
    // No pings: only the idle timeout can close the connection.
    let node = DevProc::start(&["--ws.ping-interval", "0", "--ws.idle-timeout", "3"]);
    let addr = node.http.trim_start_matches("http://").to_string();
    let (mut idle, mut subscriber) = (Ws::connect(&addr).await, Ws::connect(&addr).await);
    let sub = subscriber.call("eth_subscribe", json!(["newHeads"])).await.unwrap();
    assert!(subscribed(&sub), "{sub}");
    let r = idle.call("eth_chainId", json!([])).await.unwrap();
    assert_eq!(r["result"], "0x1de2aef");
    // Connected at the same time; the one without a subscription is closed ...
    assert!(idle.pong_until_closed(Instant::now() + Duration::from_secs(60)).await);
    // ... the subscriber is kept, and still served.
    let r = subscriber.call("eth_blockNumber", json!([])).await;
    assert_eq!(r.expect("subscriber closed")["result"], "0x0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_subscriptions_are_bounded_by_their_sets() {
    let node = DevProc::start(&[]);
    let addrs = |n: usize| -> Vec<Address> {
        (0..n).map(|i| Address::left_padding_from(&(i as u64).to_be_bytes())).collect()
    };
    let url = node.http.as_str();
    for method in ["eth_getLogs", "eth_newFilter"] {
        let r = rpc(url, method, json!([{"address": addrs(1001)}])).await;
        assert_eq!(code(&r), -32005, "{method}: {r}");
        assert!(r["error"]["message"].as_str().unwrap().contains("1001 addresses"), "{r}");
    }
    let r = rpc(url, "eth_getLogs", json!([{"address": addrs(1000), "topics": [[], []]}])).await;
    assert_eq!(r["result"], json!([]), "{r}");
    let r = rpc(url, "eth_getLogs", json!([{"topics": [[], [], [], [], []]}])).await;
    assert_eq!(code(&r), -32602, "five topic positions: {r}");

    let mut ws = Ws::connect(node.http.trim_start_matches("http://")).await;
    let r = ws.call("eth_subscribe", json!(["logs", {"address": addrs(1001)}])).await.unwrap();
    assert_eq!(code(&r), -32005, "{r}");
    // A connection's log subscriptions share 10,000 entries.
    for i in 0..10 {
        let r = ws.call("eth_subscribe", json!(["logs", {"address": addrs(1000)}])).await.unwrap();
        assert!(subscribed(&r), "subscription {i}: {r}");
    }
    let r = ws.call("eth_subscribe", json!(["logs", {"address": addrs(1)}])).await.unwrap();
    assert!(r["error"]["message"].as_str().unwrap().contains("too many filter entries"), "{r}");
    let r = ws.call("eth_subscribe", json!(["newHeads"])).await.unwrap();
    assert!(subscribed(&r), "subscriptions without entries still fit: {r}");
}
