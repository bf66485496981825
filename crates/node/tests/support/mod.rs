//! Helpers shared by the node's integration tests: free ports and plain JSON-RPC over HTTP
//! (a raw request with a valid `Host`, so the server's host check lets it through).

// Each test binary uses a different subset.
#![allow(dead_code)]

use std::{
    io::{Read, Write},
    net::SocketAddr,
};

/// A TCP port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The `result` of JSON-RPC `method` with `params` (blocking; panics on an error reply).
pub(crate) fn rpc(rpc: SocketAddr, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string();
    let mut s = std::net::TcpStream::connect(rpc).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let json = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    let reply: serde_json::Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("{method}: not a JSON-RPC reply ({e}): {out}"));
    reply.get("result").cloned().unwrap_or_else(|| panic!("{method} failed: {reply}"))
}

/// A JSON-RPC hex quantity as a number.
pub(crate) fn quantity(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// `eth_blockNumber` of the node serving JSON-RPC at `rpc`.
pub(crate) fn block_number(rpc_addr: SocketAddr) -> u64 {
    quantity(&rpc(rpc_addr, "eth_blockNumber", serde_json::json!([])))
}
