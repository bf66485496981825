//! A JSON-RPC client for benchmarks that drive real node processes: start a process and wait
//! for its RPC, sign transfers, submit them from several clients, wait for inclusion, fund
//! senders from the dev accounts, deploy the test token.

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, hex};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use serde_json::{Value, json};
use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// Keys of the first test-mnemonic accounts (prefunded on anvil, dev nodes and devnets).
pub const DEV_KEYS: [&str; 4] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];
/// One gwei.
pub const GWEI: u128 = 1_000_000_000;

/// A node process and a client for its JSON-RPC; SIGTERM, then SIGKILL, when dropped.
#[derive(Debug)]
pub struct Node {
    /// The process (`None` for a node another process owns).
    pub child: Option<Child>,
    /// Its JSON-RPC URL.
    pub url: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// Its chain id.
    pub chain_id: u64,
}

impl Drop for Node {
    fn drop(&mut self) {
        // SIGTERM first so that bttc removes its temporary datadir; SIGKILL if it lingers.
        let Some(child) = &mut self.child else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        for _ in 0..50 {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Node {
    /// Spawns `cmd` (stdout discarded; stderr shown with BENCH_NODE_LOG=1) and waits up to
    /// 60 s for `url` to answer `eth_chainId`.
    pub async fn spawn(mut cmd: Command, url: String, what: &str) -> eyre::Result<Self> {
        // BENCH_NODE_LOG=1 shows the nodes' logs (with RUST_LOG) on stderr.
        let log = if std::env::var_os("BENCH_NODE_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn()?;
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let mut node = Self { child: Some(child), url, client, chain_id: 0 };
        node.wait_ready(what).await?;
        Ok(node)
    }

    /// A client for a node that another process started; waits until it answers.
    pub async fn connect(url: String, what: &str) -> eyre::Result<Self> {
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let mut node = Self { child: None, url, client, chain_id: 0 };
        node.wait_ready(what).await?;
        Ok(node)
    }

    async fn wait_ready(&mut self, what: &str) -> eyre::Result<()> {
        let node = self;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(v) = node.call("eth_chainId", json!([])).await {
                node.chain_id =
                    u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?;
                return Ok(());
            }
            eyre::ensure!(Instant::now() < deadline, "{what} did not answer within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One JSON-RPC call; an error response is an error.
    pub async fn call(&self, method: &str, params: Value) -> eyre::Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let v: Value = self.client.post(&self.url).json(&body).send().await?.json().await?;
        if let Some(e) = v.get("error") {
            eyre::bail!("{method}: {e}");
        }
        Ok(v["result"].clone())
    }

    /// Resident memory of the process, MiB.
    pub fn rss_mib(&self) -> f64 {
        let Some(child) = &self.child else { return 0.0 };
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }

    /// The head block number.
    pub async fn head(&self) -> eyre::Result<u64> {
        let v = self.call("eth_blockNumber", json!([])).await?;
        Ok(u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?)
    }

    /// The pending nonce of `a`.
    pub async fn nonce(&self, a: Address) -> eyre::Result<u64> {
        let v = self.call("eth_getTransactionCount", json!([a, "pending"])).await?;
        Ok(u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?)
    }
}

/// Signs an EIP-1559 transaction (100 gwei fee cap, 1 gwei tip).
pub fn sign(
    key: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: TxKind,
    gas: u64,
    input: Bytes,
    value: U256,
) -> Bytes {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 100 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to,
        value,
        access_list: Default::default(),
        input,
    };
    let sig = key.sign_hash_sync(&tx.signature_hash()).expect("sign");
    alloy_consensus::TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
}

/// The `i`-th benchmark sender key (deterministic).
pub fn sender(i: usize) -> PrivateKeySigner {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&(i as u64 + 0xbe_ac00).to_be_bytes());
    k[31] = 1;
    PrivateKeySigner::from_bytes(&B256::from(k)).expect("key")
}

/// Submits `raws` with `clients` concurrent clients; returns the hashes.
pub async fn send_all(node: &Node, raws: Vec<Bytes>, clients: usize) -> eyre::Result<Vec<B256>> {
    let raws = Arc::new(raws);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (raws, next, client, url) =
            (raws.clone(), next.clone(), node.client.clone(), node.url.clone());
        tasks.push(tokio::spawn(async move {
            let mut out: Vec<B256> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(raw) = raws.get(i) else { return Ok::<_, eyre::Report>(out) };
                let body = json!({"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]});
                let v: Value = client.post(&url).json(&body).send().await?.json().await?;
                let h = v["result"].as_str().ok_or_else(|| eyre::eyre!("tx {i} refused: {v}"))?;
                out.push(h.parse()?);
            }
        }));
    }
    let mut hashes = Vec::new();
    for t in tasks {
        hashes.extend(t.await??);
    }
    Ok(hashes)
}

/// Sends each group of raw transactions in order, one task per group, all groups at once
/// (a sender's nonces arrive in order, so the pool never sees a nonce gap); returns the
/// hashes.
pub async fn send_in_order(node: &Node, groups: Vec<Vec<Bytes>>) -> eyre::Result<Vec<B256>> {
    let mut tasks = Vec::new();
    for group in groups {
        let (client, url) = (node.client.clone(), node.url.clone());
        tasks.push(tokio::spawn(async move {
            let mut out: Vec<B256> = Vec::with_capacity(group.len());
            for (i, raw) in group.iter().enumerate() {
                let body = json!({"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]});
                let v: Value = client.post(&url).json(&body).send().await?.json().await?;
                let h = v["result"].as_str().ok_or_else(|| eyre::eyre!("tx {i} refused: {v}"))?;
                out.push(h.parse()?);
            }
            Ok::<_, eyre::Report>(out)
        }));
    }
    let mut hashes = Vec::new();
    for t in tasks {
        hashes.extend(t.await??);
    }
    Ok(hashes)
}

/// Waits until `count` transactions were included in blocks after `from`, or the deadline;
/// returns when it stopped and how many were included by then.
pub async fn wait_included(
    node: &Node,
    from: u64,
    count: usize,
    deadline: Duration,
) -> eyre::Result<(Instant, usize)> {
    let start = Instant::now();
    let mut seen = 0usize;
    let mut next = from + 1;
    loop {
        let head = node.head().await?;
        while next <= head {
            let b = node.call("eth_getBlockByNumber", json!([format!("{next:#x}"), false])).await?;
            seen += b["transactions"].as_array().map_or(0, Vec::len);
            next += 1;
        }
        if seen >= count || start.elapsed() >= deadline {
            return Ok((Instant::now(), seen));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`wait_included`] where falling short is an error (set-up steps).
pub async fn wait_all_included(
    node: &Node,
    from: u64,
    count: usize,
    deadline: Duration,
) -> eyre::Result<()> {
    let (_, seen) = wait_included(node, from, count, deadline).await?;
    eyre::ensure!(seen >= count, "only {seen}/{count} included within {deadline:?}");
    Ok(())
}

/// Funds the senders (ETH, and tokens if `token`), from the dev accounts, and waits.
pub async fn fund(
    node: &Node,
    senders: &[PrivateKeySigner],
    token: Option<Address>,
) -> eyre::Result<()> {
    let devs: Vec<PrivateKeySigner> = DEV_KEYS.iter().map(|k| k.parse().unwrap()).collect();
    let mut raws = Vec::new();
    for (j, dev) in devs.iter().enumerate() {
        let mut nonce = node.nonce(dev.address()).await?;
        for s in senders.iter().skip(j).step_by(devs.len()) {
            raws.push(sign(
                dev,
                node.chain_id,
                nonce,
                TxKind::Call(s.address()),
                21_000,
                Bytes::new(),
                U256::from(10u128.pow(20)),
            ));
            nonce += 1;
            if let Some(t) = token {
                let mut data = hex::decode("40c10f19").unwrap(); // mint(address,uint256)
                data.extend_from_slice(B256::left_padding_from(s.address().as_slice()).as_slice());
                data.extend_from_slice(&U256::from(10u128.pow(24)).to_be_bytes::<32>());
                raws.push(sign(
                    dev,
                    node.chain_id,
                    nonce,
                    TxKind::Call(t),
                    100_000,
                    data.into(),
                    U256::ZERO,
                ));
                nonce += 1;
            }
        }
    }
    let head = node.head().await?;
    let n = raws.len();
    send_all(node, raws, 4).await?;
    wait_all_included(node, head, n, Duration::from_secs(60)).await?;
    Ok(())
}

/// Deploys the test ERC-20 from dev account 0; returns its address.
pub async fn deploy_token(node: &Node) -> eyre::Result<Address> {
    let art: Value =
        serde_json::from_str(include_str!("../../../contracts/artifacts/TestToken.json"))?;
    let code: Bytes = art["bytecode"].as_str().unwrap().parse()?;
    let dev: PrivateKeySigner = DEV_KEYS[0].parse()?;
    let nonce = node.nonce(dev.address()).await?;
    let raw = sign(&dev, node.chain_id, nonce, TxKind::Create, 3_000_000, code, U256::ZERO);
    let head = node.head().await?;
    node.call("eth_sendRawTransaction", json!([raw])).await?;
    wait_all_included(node, head, 1, Duration::from_secs(30)).await?;
    Ok(dev.address().create(nonce))
}
