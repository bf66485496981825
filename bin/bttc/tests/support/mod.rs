//! Starting a real `bttc node --dev` process for tests, and the test contracts.

#![allow(dead_code, unreachable_pub)]

use alloy_primitives::{Address, Bytes, address};
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// The first dev account (anvil's well-known one).
pub const DEV0: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
/// Its key.
pub const DEV0_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// The second dev account.
pub const DEV1: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");

/// A running node; killed when dropped.
pub struct DevProc {
    pub child: Child,
    pub http: String,
    pub ws: String,
    pub banner: String,
}

impl DevProc {
    /// Starts `bttc node --dev --http.port 0 <args>` and waits for "Listening on".
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bttc"))
            .args(["node", "--dev", "--http.port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bttc");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                banner.push_str(&line);
                banner.push('\n');
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    let _ = tx.send((addr.to_string(), banner.clone()));
                }
            }
        });
        let (addr, banner) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("node printed no 'Listening on' line within 30 s");
        Self { child, http: format!("http://{addr}"), ws: format!("ws://{addr}"), banner }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        sigterm_and_wait(&mut self.child, Duration::from_secs(10))
    }
}

impl Drop for DevProc {
    fn drop(&mut self) {
        // SIGTERM first so that bttc removes its temporary datadir; SIGKILL if it lingers.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGTERM and waits up to `timeout` for the process to exit; panics if it lingers.
pub fn sigterm_and_wait(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("process {} did not exit within {timeout:?} of SIGTERM", child.id());
}

/// Creation bytecode of a committed contract artifact (`contracts/artifacts/<name>.json`).
pub fn bytecode(name: &str) -> Bytes {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/artifacts")
        .join(format!("{name}.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["bytecode"].as_str().unwrap().parse().unwrap()
}

/// A raw JSON-RPC POST; returns the HTTP status and the body.
pub async fn post(url: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    try_post(url, body).await.expect("request")
}

/// [`post`], with transport errors returned (a server may close on an oversized body).
pub async fn try_post(
    url: &str,
    body: impl Into<reqwest::Body>,
) -> Result<(u16, String), reqwest::Error> {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.text().await?))
}

/// A JSON-RPC call; returns the parsed response object.
pub async fn rpc(url: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (_, text) = post(url, body.to_string()).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad response {text}: {e}"))
}
pub mod net;

/// `bttc root deploy` on the root at `root` for the child at `child` (signed by dev account
/// 0); returns the deployed `RootChain`'s address.
#[allow(dead_code)]
pub fn deploy_root_chain(root: &str, child: &str) -> alloy_primitives::Address {
    let out = Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["root", "deploy", "--rpc-url", root, "--child-rpc", child])
        .args(["--private-key", DEV0_KEY])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&text[text.find('{').expect("a JSON summary")..]).unwrap();
    serde_json::from_value(summary["rootChain"].clone()).unwrap()
}
