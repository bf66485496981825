//! `bttc-rpc-bench`: bttc's dev node next to anvil, same machine, same run, as ratios.
//!
//! For each node it starts the process (same block gas limit, same block time), funds
//! senders, and measures:
//! - 5000 pre-signed ETH transfers and 5000 ERC-20 transfers submitted over JSON-RPC with a
//!   1 s block time: submit rate (tx/s until all are accepted) and included tx/s (until the
//!   last is in a block);
//! - the same 5000 ETH transfers in automine mode;
//! - read QPS and p50/p99 latency of eth_getBalance, eth_blockNumber, eth_call and
//!   eth_getBlockByNumber with 1 and 32 concurrent clients;
//! - resident memory after the runs.
//!
//! Every loop is bounded: fixed transaction counts, fixed read durations, and a deadline on
//! inclusion. Usage:
//! `bttc-rpc-bench --bttc target/release/bttc --anvil /path/to/anvil [--txs 5000]`

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, hex};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use clap::Parser;
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

#[derive(Debug, Parser)]
struct Args {
    /// The bttc binary.
    #[arg(long)]
    bttc: PathBuf,
    /// The anvil binary (npm `@foundry-rs/anvil-linux-amd64`).
    #[arg(long)]
    anvil: PathBuf,
    /// Transactions per submission run.
    #[arg(long, default_value_t = 5000)]
    txs: usize,
    /// Distinct senders (each sends txs/senders transactions).
    #[arg(long, default_value_t = 100)]
    senders: usize,
    /// Block gas limit on both nodes.
    #[arg(long, default_value_t = 300_000_000)]
    gas_limit: u64,
    /// Seconds per read measurement.
    #[arg(long, default_value_t = 3.0)]
    read_secs: f64,
    /// Concurrent submitting clients.
    #[arg(long, default_value_t = 8)]
    submitters: usize,
    /// Which runs: any of eth-1s, erc20-1s, eth-auto, reads (comma-separated).
    #[arg(long, default_value = "eth-1s,erc20-1s,eth-auto,reads", value_delimiter = ',')]
    runs: Vec<String>,
    /// wrk (Debian package `wrk`) for the read rows: a C load generator that leaves the CPU
    /// to the servers. Without it the reads use this program's own HTTP client.
    #[arg(long)]
    wrk: Option<PathBuf>,
    /// Which nodes: bttc, anvil or both.
    #[arg(long, default_value = "bttc,anvil", value_delimiter = ',')]
    nodes: Vec<String>,
}

/// Test mnemonic account 0 (anvil's and bttc's first dev account).
const DEV_KEYS: [&str; 4] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];
const GWEI: u128 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bttc,
    Anvil,
}

struct Node {
    child: Child,
    url: String,
    client: reqwest::Client,
    chain_id: u64,
}

impl Drop for Node {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Node {
    async fn start(kind: Kind, args: &Args, block_time: Option<u64>) -> eyre::Result<Self> {
        let port = free_port();
        let mut cmd = match kind {
            Kind::Bttc => {
                let mut c = Command::new(&args.bttc);
                c.args(["node", "--dev", "--http.port", &port.to_string()]);
                c.args(["--gas-limit", &args.gas_limit.to_string()]);
                if let Some(b) = block_time {
                    c.args(["--block-time", &b.to_string()]);
                }
                c
            }
            Kind::Anvil => {
                let mut c = Command::new(&args.anvil);
                c.args(["--port", &port.to_string(), "--gas-limit", &args.gas_limit.to_string()]);
                if let Some(b) = block_time {
                    c.args(["--block-time", &b.to_string()]);
                }
                c
            }
        };
        // BENCH_NODE_LOG=1 shows the nodes' logs (with RUST_LOG) on stderr.
        let log = if std::env::var_os("BENCH_NODE_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn()?;
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let mut node = Self { child, url: format!("http://127.0.0.1:{port}"), client, chain_id: 0 };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(v) = node.call("eth_chainId", json!([])).await {
                node.chain_id =
                    u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?;
                return Ok(node);
            }
            eyre::ensure!(Instant::now() < deadline, "{kind:?} did not answer within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn call(&self, method: &str, params: Value) -> eyre::Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let v: Value = self.client.post(&self.url).json(&body).send().await?.json().await?;
        if let Some(e) = v.get("error") {
            eyre::bail!("{method}: {e}");
        }
        Ok(v["result"].clone())
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }

    async fn head(&self) -> eyre::Result<u64> {
        let v = self.call("eth_blockNumber", json!([])).await?;
        Ok(u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?)
    }

    async fn nonce(&self, a: Address) -> eyre::Result<u64> {
        let v = self.call("eth_getTransactionCount", json!([a, "pending"])).await?;
        Ok(u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?)
    }
}

fn sign(
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

fn sender(i: usize) -> PrivateKeySigner {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&(i as u64 + 0xbe_ac00).to_be_bytes());
    k[31] = 1;
    PrivateKeySigner::from_bytes(&B256::from(k)).expect("key")
}

async fn send_all(node: &Node, raws: Vec<Bytes>, clients: usize) -> eyre::Result<Vec<B256>> {
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

/// Waits until `count` transactions were included in blocks after `from`, or the deadline;
/// returns when it stopped and how many were included by then.
async fn wait_included(
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
async fn wait_all_included(
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
async fn fund(
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

async fn deploy_token(node: &Node) -> eyre::Result<Address> {
    let art: Value =
        serde_json::from_str(include_str!("../../../../contracts/artifacts/TestToken.json"))?;
    let code: Bytes = art["bytecode"].as_str().unwrap().parse()?;
    let dev: PrivateKeySigner = DEV_KEYS[0].parse()?;
    let nonce = node.nonce(dev.address()).await?;
    let raw = sign(&dev, node.chain_id, nonce, TxKind::Create, 3_000_000, code, U256::ZERO);
    let head = node.head().await?;
    node.call("eth_sendRawTransaction", json!([raw])).await?;
    wait_all_included(node, head, 1, Duration::from_secs(30)).await?;
    Ok(dev.address().create(nonce))
}

struct Submission {
    submit_tps: f64,
    included_tps: f64,
}

async fn submission(
    kind: Kind,
    args: &Args,
    block_time: Option<u64>,
    erc20: bool,
) -> eyre::Result<(Submission, f64)> {
    let node = Node::start(kind, args, block_time).await?;
    let senders: Vec<PrivateKeySigner> = (0..args.senders).map(sender).collect();
    let token = if erc20 { Some(deploy_token(&node).await?) } else { None };
    fund(&node, &senders, token).await?;
    let per = args.txs.div_ceil(args.senders);
    let mut raws = Vec::with_capacity(args.txs);
    'outer: for n in 0..per as u64 {
        for (i, s) in senders.iter().enumerate() {
            if raws.len() == args.txs {
                break 'outer;
            }
            let to = senders[(i + 1) % senders.len()].address();
            raws.push(match token {
                None => {
                    sign(s, node.chain_id, n, TxKind::Call(to), 21_000, Bytes::new(), U256::from(1))
                }
                Some(t) => {
                    let mut data = hex::decode("a9059cbb").unwrap(); // transfer(address,uint256)
                    data.extend_from_slice(B256::left_padding_from(to.as_slice()).as_slice());
                    data.extend_from_slice(&U256::from(1).to_be_bytes::<32>());
                    sign(s, node.chain_id, n, TxKind::Call(t), 60_000, data.into(), U256::ZERO)
                }
            });
        }
    }
    // Start right after a block, so that both nodes face the same block-timer phase.
    let mut head = node.head().await?;
    if block_time.is_some() {
        let deadline = Instant::now() + Duration::from_secs(10);
        while node.head().await? == head && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        head = node.head().await?;
    }
    let start = Instant::now();
    send_all(&node, raws, args.submitters).await?;
    let submitted = start.elapsed();
    let (done, seen) = wait_included(&node, head, args.txs, Duration::from_secs(120)).await?;
    if seen < args.txs {
        eprintln!("{kind:?}: only {seen}/{} included within 120 s; reporting that rate", args.txs);
    }
    let included = done.duration_since(start);
    let rss = node.rss_mib();
    Ok((
        Submission {
            submit_tps: args.txs as f64 / submitted.as_secs_f64(),
            included_tps: seen.min(args.txs) as f64 / included.as_secs_f64(),
        },
        rss,
    ))
}

struct Reads {
    qps: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Reads measured by wrk: one wrk thread, `clients` connections.
fn wrk_reads(
    wrk: &std::path::Path,
    url: &str,
    body: &str,
    clients: usize,
    secs: f64,
) -> eyre::Result<Reads> {
    let script = std::env::temp_dir().join(format!("bttc-rpc-bench-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        concat!(
            "wrk.method = \"POST\"\n",
            "wrk.headers[\"Content-Type\"] = \"application/json\"\n",
            "wrk.body = os.getenv(\"BENCH_BODY\")\n",
            "done = function(summary, latency, requests)\n",
            "  io.write(string.format(\"RESULT %d %f %f %d\\n\", summary.requests,\n",
            "    latency:percentile(50), latency:percentile(99), summary.errors.status))\n",
            "end\n",
        ),
    )?;
    let whole_secs = secs.ceil().max(1.0);
    let out = Command::new(wrk)
        .args(["-t1", &format!("-c{clients}"), &format!("-d{whole_secs}s"), "-s"])
        .arg(&script)
        .arg(url)
        .env("BENCH_BODY", body)
        .output()?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| eyre::eyre!("wrk printed no result: {text}"))?;
    let f: Vec<f64> = line.split_whitespace().map(|x| x.parse().unwrap_or(f64::NAN)).collect();
    eyre::ensure!(f.len() == 4 && f[3] == 0.0, "wrk saw HTTP errors: {line}");
    Ok(Reads { qps: f[0] / whole_secs, p50_us: f[1], p99_us: f[2] })
}

async fn reads(
    node: &Node,
    method: &str,
    params: Value,
    clients: usize,
    secs: f64,
) -> eyre::Result<Reads> {
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let body = Arc::new(
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
    );
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, body) = (node.client.clone(), node.url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < stop {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.as_str().to_owned())
                    .send()
                    .await?;
                let text = r.text().await?;
                eyre::ensure!(!text.contains("\"error\""), "read failed: {text}");
                lat.push(t.elapsed().as_secs_f64() * 1e6);
            }
            Ok::<_, eyre::Report>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok(Reads { qps: all.len() as f64 / secs, p50_us: pct(0.50), p99_us: pct(0.99) })
}

fn row(name: &str, unit: &str, b: f64, a: f64, higher_is_better: bool) {
    let ratio = if higher_is_better { b / a } else { a / b };
    println!("| {name} | {b:.1} {unit} | {a:.1} {unit} | {ratio:.2} |");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    println!(
        "reads measured with {}",
        if args.wrk.is_some() {
            "wrk (1 thread)"
        } else {
            "this program's HTTP client (2 threads)"
        }
    );
    println!("| row | bttc | anvil | ratio (>= 1: bttc at least as good) |");
    println!("|---|---|---|---|");
    let mut rss = [(0.0f64, 0.0f64); 2];
    let want = |n: &str| args.nodes.iter().any(|x| x == n);
    for (run, label, block_time, erc20) in [
        ("eth-1s", "ETH transfers, 1 s blocks", Some(1), false),
        ("erc20-1s", "ERC-20 transfers, 1 s blocks", Some(1), true),
        ("eth-auto", "ETH transfers, automine", None, false),
    ] {
        if !args.runs.iter().any(|r| r == run) {
            continue;
        }
        let none = || (Submission { submit_tps: f64::NAN, included_tps: f64::NAN }, f64::NAN);
        let (b, rb) = if want("bttc") {
            submission(Kind::Bttc, &args, block_time, erc20).await?
        } else {
            none()
        };
        let (a, ra) = if want("anvil") {
            submission(Kind::Anvil, &args, block_time, erc20).await?
        } else {
            none()
        };
        rss[0].0 = rss[0].0.max(rb);
        rss[1].0 = rss[1].0.max(ra);
        row(
            &format!("{label}: submit rate ({} tx)", args.txs),
            "tx/s",
            b.submit_tps,
            a.submit_tps,
            true,
        );
        row(&format!("{label}: included"), "tx/s", b.included_tps, a.included_tps, true);
    }
    if !args.runs.iter().any(|r| r == "reads") {
        return Ok(());
    }
    // Reads on nodes holding a small chain with a token.
    let mut nodes = Vec::new();
    for (kind, name) in [(Kind::Bttc, "bttc"), (Kind::Anvil, "anvil")] {
        if want(name) {
            let node = Node::start(kind, &args, None).await?;
            let token = deploy_token(&node).await?;
            nodes.push(Some((node, token)));
        } else {
            nodes.push(None);
        }
    }
    let holder = sender(0).address();
    for clients in [1usize, 32] {
        for (method, params) in [
            ("eth_getBalance", json!([holder, "latest"])),
            ("eth_blockNumber", json!([])),
            ("eth_call", Value::Null),
            ("eth_getBlockByNumber", json!(["latest", false])),
        ] {
            let mut res = Vec::new();
            for entry in &nodes {
                let Some((node, token)) = entry else {
                    res.push(Reads { qps: f64::NAN, p50_us: f64::NAN, p99_us: f64::NAN });
                    continue;
                };
                let params = if method == "eth_call" {
                    json!([{"to": token, "data": format!("0x70a08231{}", hex::encode(B256::left_padding_from(holder.as_slice())))}, "latest"])
                } else {
                    params.clone()
                };
                res.push(match &args.wrk {
                    Some(wrk) => {
                        let body =
                            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
                                .to_string();
                        // wrk only checks the HTTP status: make sure the call itself succeeds.
                        node.call(method, params.clone()).await?;
                        wrk_reads(wrk, &node.url, &body, clients, args.read_secs)?
                    }
                    None => reads(node, method, params, clients, args.read_secs).await?,
                });
            }
            row(
                &format!("{method}, {clients} client(s): QPS"),
                "req/s",
                res[0].qps,
                res[1].qps,
                true,
            );
            row(
                &format!("{method}, {clients} client(s): p50"),
                "µs",
                res[0].p50_us,
                res[1].p50_us,
                false,
            );
            row(
                &format!("{method}, {clients} client(s): p99"),
                "µs",
                res[0].p99_us,
                res[1].p99_us,
                false,
            );
        }
    }
    rss[0].1 = nodes[0].as_ref().map_or(f64::NAN, |n| n.0.rss_mib());
    rss[1].1 = nodes[1].as_ref().map_or(f64::NAN, |n| n.0.rss_mib());
    row("RSS after the submission runs (largest)", "MiB", rss[0].0, rss[1].0, false);
    row("RSS after the read runs", "MiB", rss[0].1, rss[1].1, false);
    Ok(())
}
