//! A network of real `bttc node` processes on 127.0.0.1 for tests: keys from `bttc keys new`,
//! a genesis from `bttc genesis new`, one datadir per node.

use super::rpc;
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// A port nothing listens on right now, and never handed out before in this test process
/// (tests run in parallel threads; two of them must not plan nodes on one port).
///
/// Ports come from 20000-31999, below Linux's ephemeral range (32768-60999): the kernel
/// draws the local ports of outgoing connections from that range, so a port picked there
/// can be taken by some client connection before the node binds it (CI's bft_network
/// failure at d25d5cf: "Error listening on /ip4/127.0.0.1/tcp/39561"). The start depends on
/// the process id, so test binaries run side by side start apart.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7_919);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let p = PORTS.start + (start.wrapping_add(n) % u32::from(PORTS.end - PORTS.start)) as u16;
        if given().insert(p) && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// Where test ports come from.
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// The ports handed out so far in this process.
fn given() -> std::sync::MutexGuard<'static, std::collections::BTreeSet<u16>> {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    GIVEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `bttc <args>` to completion and returns stdout; panics with stderr on failure.
pub fn bttc(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bttc")).args(args).output().expect("run bttc");
    assert!(out.status.success(), "bttc {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A running node process; SIGKILLed when dropped.
pub struct NodeProc {
    pub child: Child,
    pub http: String,
}

impl NodeProc {
    /// kill -9.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        super::sigterm_and_wait(&mut self.child, Duration::from_secs(20))
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for a child's "Listening on <addr>" line.
pub fn wait_listening(child: &mut Child, what: &str) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("Listening on ") {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
        let status = child.try_wait().ok().flatten();
        panic!("{what} printed no 'Listening on' line within 60 s (exit status: {status:?})")
    });
    format!("http://{addr}")
}

/// Keys, genesis and ports of a test network.
pub struct TestNet {
    pub dir: tempfile::TempDir,
    pub validators: Vec<(PathBuf, String)>,
    pub p2p: Vec<u16>,
    pub genesis: PathBuf,
    pub password: PathBuf,
}

impl TestNet {
    /// `n` validators with equal stake.
    pub fn new(n: usize) -> Self {
        Self::build(n, 0, &[])
    }

    /// `n` genesis validators with 100 BTT each, `extra` more validator keys that are not in
    /// the genesis (nodes `n..n + extra` run with them), and `genesis_args` passed to
    /// `bttc genesis new`.
    pub fn build(n: usize, extra: usize, genesis_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("password");
        std::fs::write(&password, "test-password\n").unwrap();
        let keys = dir.path().join("keys");
        let mut validators = Vec::new();
        for i in 0..n + extra {
            let out = bttc(&[
                "keys",
                "new",
                "--keystore-dir",
                keys.to_str().unwrap(),
                "--name",
                &format!("v{i}.json"),
                "--password-file",
                password.to_str().unwrap(),
            ]);
            let address = field(&out, "address:");
            let pk = field(&out, "public key:");
            validators.push((keys.join(format!("v{i}.json")), format!("{address}|{pk}")));
        }
        let genesis = dir.path().join("genesis.json");
        let mut args = vec!["genesis".to_string(), "new".into(), "--out".into()];
        args.push(genesis.to_str().unwrap().into());
        args.extend(genesis_args.iter().map(|a| a.to_string()));
        for (_, v) in &validators[..n] {
            args.push("--validator".into());
            args.push(format!("{}:100", v.split('|').nth(1).unwrap()));
        }
        bttc(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for v in &mut validators {
            v.1 = v.1.split('|').next().unwrap().to_string();
        }
        let p2p = (0..n + extra + 2).map(|_| free_port()).collect();
        Self { dir, validators, p2p, genesis, password }
    }

    pub fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node-{i}"))
    }

    /// Starts node `i`: a validator for i < validators, else a full node; every other
    /// node's p2p address is a bootnode.
    pub fn start(&self, i: usize) -> NodeProc {
        self.start_with(i, &[])
    }

    /// [`Self::start`] with `extra` flags for `bttc node`.
    pub fn start_with(&self, i: usize, extra: &[String]) -> NodeProc {
        let bootnodes: Vec<String> = (0..self.p2p.len())
            .filter(|j| *j != i)
            .map(|j| format!("/ip4/127.0.0.1/tcp/{}", self.p2p[j]))
            .collect();
        let dir = self.node_dir(i);
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bttc"));
        cmd.arg("node")
            .arg("--datadir")
            .arg(&dir)
            .arg("--genesis")
            .arg(&self.genesis)
            .args(["--p2p-port", &self.p2p[i].to_string(), "--http.port", "0"])
            .args(["--bootnodes", &bootnodes.join(",")])
            .args(["--rpc.io-threads", "1"])
            .args(extra)
            .env("RUST_LOG", "info,arc_malachitebft_core_consensus=warn,libp2p=warn")
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some((key, _)) = self.validators.get(i) {
            cmd.arg("--validator-key").arg(key).arg("--password-file").arg(&self.password);
        }
        let mut child = cmd.spawn().expect("start bttc node");
        let what = format!("node {i}");
        let http = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_listening(&mut child, &what)
        })) {
            Ok(h) => h,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "no 'Listening on' line".into());
                let _ = child.kill();
                panic!("{msg}\n{}", self.log_tail(i));
            }
        };
        NodeProc { child, http }
    }

    /// Node `i`'s own log lines (bttc targets, warnings and errors) and the last lines of
    /// its log, for failure messages.
    pub fn log_tail(&self, i: usize) -> String {
        let s = std::fs::read_to_string(self.node_dir(i).join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        let own: Vec<&str> = lines
            .iter()
            .filter(|l| l.contains("bttc::") || l.contains("WARN") || l.contains("ERROR"))
            .filter(|l| !l.contains("Error dialing"))
            .copied()
            .collect();
        format!(
            "--- node {i}: bttc lines ---\n{}\n--- last lines ---\n{}",
            own[own.len().saturating_sub(80)..].join("\n"),
            lines[lines.len().saturating_sub(20)..].join("\n")
        )
    }
}

fn field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name:?} in {out}"))
        .trim()
        .to_string()
}

/// A JSON-RPC quantity ("0x1a") as a number; `None` if `v` is not one.
pub fn quantity(v: &serde_json::Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

/// The chain id a node serves (`eth_chainId`).
pub async fn chain_id(url: &str) -> u64 {
    let v = rpc(url, "eth_chainId", serde_json::json!([])).await;
    quantity(&v["result"]).unwrap_or_else(|| panic!("no chain id from {url}: {v}"))
}

/// The head number of a node, or `None` if it does not answer.
pub async fn head(url: &str) -> Option<u64> {
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []});
    let r = super::try_post(url, body.to_string()).await.ok()?;
    let v: serde_json::Value = serde_json::from_str(&r.1).ok()?;
    quantity(&v["result"])
}

/// Waits until the node's head is at least `height`.
pub async fn wait_height(url: &str, height: u64, timeout: Duration) -> Result<u64, String> {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    while Instant::now() < deadline {
        last = head(url).await;
        if last.is_some_and(|h| h >= height) {
            return Ok(last.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{url} did not reach height {height} in {timeout:?} (head {last:?})"))
}

/// Block `n` as JSON.
pub async fn block(url: &str, n: u64) -> serde_json::Value {
    rpc(url, "eth_getBlockByNumber", serde_json::json!([format!("{n:#x}"), false])).await["result"]
        .clone()
}

/// `(hash, stateRoot)` of block `n`.
pub async fn block_id(url: &str, n: u64) -> (String, String) {
    let b = block(url, n).await;
    (
        b["hash"].as_str().unwrap_or_default().into(),
        b["stateRoot"].as_str().unwrap_or_default().into(),
    )
}

/// Checks the certificate of block `n` on `url`: it names the block, and its signatures
/// recover to distinct validators of `validators` holding more than two thirds of them
/// (equal stakes).
pub async fn check_commit(url: &str, n: u64, validators: &[String]) {
    use alloy_primitives::{Address, B256, Signature};
    let c =
        rpc(url, "bttc_getCommit", serde_json::json!([format!("{n:#x}")])).await["result"].clone();
    assert!(!c.is_null(), "no commit for block {n} on {url}");
    let (hash, _) = block_id(url, n).await;
    assert_eq!(c["blockHash"].as_str().unwrap(), hash, "commit of {n} names another block");
    let mut signers = std::collections::BTreeSet::new();
    for s in c["signatures"].as_array().unwrap() {
        let sig: alloy_primitives::Bytes = s["signature"].as_str().unwrap().parse().unwrap();
        let prehash: B256 = s["signingHash"].as_str().unwrap().parse().unwrap();
        let claimed: Address = s["validator"].as_str().unwrap().parse().unwrap();
        let sig = Signature::try_from(sig.as_ref()).expect("65-byte signature");
        let recovered = sig.recover_address_from_prehash(&prehash).expect("recoverable");
        assert_eq!(recovered, claimed, "signature in commit {n} is not the validator's");
        assert!(
            validators.iter().any(|v| v.parse::<Address>().unwrap() == recovered),
            "commit {n} signed by non-validator {recovered}"
        );
        signers.insert(recovered);
    }
    assert!(
        signers.len() * 3 > validators.len() * 2,
        "commit {n} has {} of {} validators: no 2/3+ quorum",
        signers.len(),
        validators.len()
    );
}

/// Path helper for logs in failure messages.
pub fn show(p: &Path) -> String {
    p.display().to_string()
}

/// `n` consecutive TCP ports nothing listens on right now.
pub fn free_ports(n: u16) -> u16 {
    loop {
        let base = free_port();
        if base + n <= PORTS.end
            && (1..n).all(|i| !given().contains(&(base + i)))
            && (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            given().extend(base..base + n);
            return base;
        }
    }
}

/// An anvil process on a free port with 1 s blocks, killed when dropped.
pub struct Anvil {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts anvil from `BTTC_ANVIL`; `None` (the test then does not run, and says so) when it
/// is not set, which `BTTC_REQUIRE_ANVIL` (CI) turns into a failure.
pub fn anvil() -> Option<Anvil> {
    let Some(bin) = std::env::var_os("BTTC_ANVIL") else {
        assert!(
            std::env::var_os("BTTC_REQUIRE_ANVIL").is_none(),
            "BTTC_REQUIRE_ANVIL is set but BTTC_ANVIL (the anvil binary) is not"
        );
        eprintln!(
            "NOT RUN: set BTTC_ANVIL to an anvil binary (scripts/test.sh installs one with npm)"
        );
        return None;
    };
    let port = free_port();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--block-time", "1", "--silent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start anvil");
    Some(Anvil { child, url: format!("http://127.0.0.1:{port}") })
}
