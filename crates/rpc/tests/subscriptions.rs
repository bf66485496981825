//! `eth_subscribe` over a real WebSocket on 127.0.0.1: the subscription id is a hex string
//! (`0x` and 32 hex digits) as geth sends it, different for every subscription, and
//! `eth_unsubscribe` takes it back. A minimal WebSocket client (RFC 6455 text frames) keeps
//! the test free of client libraries that would hide the id's JSON type.

use bttc_chain::init_genesis;
use bttc_rpc::{ChainEvents, RpcConfig, RpcContext, start_server};
use bttc_storage::{DatabaseEnv, DbOptions};
use bttc_txpool::{PoolConfig, TxPool};
use serde_json::{Value, json};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const GENESIS: &str = r#"{"config": {"chainId": 1, "homesteadBlock": 0},
    "difficulty": "0x1", "gasLimit": "0x1000000", "alloc": {}}"#;

/// A WebSocket connection after the opening handshake.
struct Ws(TcpStream);

impl Ws {
    async fn connect(addr: SocketAddr) -> Self {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        // The response head ends with an empty line.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(s.read_u8().await.unwrap());
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Self(s)
    }

    /// Sends one masked text frame.
    async fn send(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        let mask = [1u8, 2, 3, 4];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.0.write_all(&frame).await.unwrap();
    }

    /// Reads the next (unmasked, unfragmented) text frame from the server, skipping the
    /// server's pings (it pings as soon as a connection opens).
    async fn recv(&mut self) -> Value {
        let s = &mut self.0;
        loop {
            let first = s.read_u8().await.unwrap();
            let len = match s.read_u8().await.unwrap() & 0x7f {
                126 => u64::from(s.read_u16().await.unwrap()),
                127 => s.read_u64().await.unwrap(),
                n => u64::from(n),
            };
            let mut payload = vec![0; len as usize];
            s.read_exact(&mut payload).await.unwrap();
            if first == 0x89 {
                continue;
            }
            assert_eq!(first, 0x81, "a final text frame");
            return serde_json::from_slice(&payload).unwrap();
        }
    }

    async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send(&req.to_string()).await;
        let resp = tokio::time::timeout(Duration::from_secs(30), self.recv())
            .await
            .expect("an answer within 30 s");
        assert_eq!(resp["id"], id, "{resp}");
        resp
    }
}

fn is_hex_id(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 34 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_ids_are_unique_hex_strings() {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    init_genesis(&db, GENESIS).unwrap();
    let config = RpcConfig { addr: ([127, 0, 0, 1], 0).into(), ..Default::default() };
    let ctx = RpcContext::new(
        bttc_staking::open_chain(db).unwrap(),
        Arc::new(TxPool::new(PoolConfig::default())),
        config,
        ChainEvents::default(),
    );
    let server = start_server(Arc::new(ctx)).await.unwrap();

    let mut ws = Ws::connect(server.addr).await;
    let mut other = Ws::connect(server.addr).await;
    let heads = ws.call(1, "eth_subscribe", json!(["newHeads"])).await["result"].clone();
    let pending =
        ws.call(2, "eth_subscribe", json!(["newPendingTransactions"])).await["result"].clone();
    let elsewhere = other.call(1, "eth_subscribe", json!(["newHeads"])).await["result"].clone();
    for id in [&heads, &pending, &elsewhere] {
        assert!(is_hex_id(id), "a hex string id like geth's: {id}");
    }
    assert!(heads != pending && heads != elsewhere && pending != elsewhere, "unique ids");
    // jsonrpsee answers `eth_subscribe` before it files the subscription under its id, so an
    // `eth_unsubscribe` sent the instant the answer arrives may not find it yet (false, and
    // the subscription stays): ask again until it is found, then it is gone for good.
    let mut id = 3;
    let mut removed = false;
    while !removed && id < 100 {
        removed = ws.call(id, "eth_unsubscribe", json!([heads])).await["result"] == true;
        id += 1;
        if !removed {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(removed, "the subscription was never found by eth_unsubscribe");
    assert_eq!(ws.call(id, "eth_unsubscribe", json!([heads])).await["result"], false);
    server.handle.stop().unwrap();
}
