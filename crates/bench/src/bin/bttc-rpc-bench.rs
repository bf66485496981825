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
//! - resident memory after the runs;
//! - with `--runs admission` (bttc only): `eth_sendRawTransaction` latency, one client
//!   sending one transaction at a time, with the execution lane idle and then saturated by
//!   clients looping `eth_call`s that burn the whole gas cap.
//!
//! Every loop is bounded: fixed transaction counts, fixed read durations, and a deadline on
//! inclusion. Usage:
//! `bttc-rpc-bench --bttc target/release/bttc --anvil /path/to/anvil [--txs 5000]`, or
//! `--baseline <an earlier bttc>` instead of `--anvil` to compare two builds of bttc.

use alloy_primitives::{B256, Bytes, TxKind, U256, hex};
use alloy_signer_local::PrivateKeySigner;
use bttc_bench::client::{
    Node, deploy_token, free_port, fund, send_all, sender, sign, wait_included,
};
use clap::Parser;
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

#[derive(Debug, Parser)]
struct Args {
    /// The bttc binary.
    #[arg(long)]
    bttc: PathBuf,
    /// The anvil binary (npm `@foundry-rs/anvil-linux-amd64`); needed unless `--nodes bttc`
    /// or `--baseline`.
    #[arg(long)]
    anvil: Option<PathBuf>,
    /// Another bttc binary (an earlier build) to run in anvil's place: the table then
    /// compares two bttc builds side by side, slice for slice, to tell a regression from the
    /// host's noise.
    #[arg(long, conflicts_with = "anvil")]
    baseline: Option<PathBuf>,
    /// Transactions per submission run.
    #[arg(long, default_value_t = 5000)]
    txs: usize,
    /// Distinct senders (each sends txs/senders transactions): few, as real load comes
    /// (10 senders of 500 each by default, a load anvil takes whole).
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Block gas limit on both nodes.
    #[arg(long, default_value_t = 300_000_000)]
    gas_limit: u64,
    /// Seconds per read measurement (whole seconds with wrk).
    #[arg(long, default_value_t = 1.0)]
    read_secs: f64,
    /// Measurements per read row and node, strictly interleaved between the nodes (bttc,
    /// anvil, bttc, anvil, ...); each figure is the median, and the last column counts the
    /// pairs of neighbouring slices in which bttc did at least as well. Short, many slices
    /// put both nodes under the same host conditions: on a shared 2-core machine the tail
    /// latency of one client moves 2-5× within seconds while the host is busy, so one long
    /// run per node compares moments more than servers.
    #[arg(long, default_value_t = 25)]
    read_repeats: usize,
    /// Concurrent submitting clients.
    #[arg(long, default_value_t = 8)]
    submitters: usize,
    /// Transactions sent per phase of the admission run.
    #[arg(long, default_value_t = 500)]
    admission_txs: usize,
    /// Clients looping gas-cap eth_calls during the loaded phase of the admission run.
    #[arg(long, default_value_t = 8)]
    load_clients: usize,
    /// Which runs: any of eth-1s, erc20-1s, eth-auto, reads, admission (comma-separated;
    /// admission is bttc only and not in the default set).
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bttc,
    Anvil,
}

/// Starts a bttc dev node or anvil with the benchmark's gas limit and block time.
async fn start(kind: Kind, args: &Args, block_time: Option<u64>) -> eyre::Result<Node> {
    let port = free_port();
    let bttc = match (kind, &args.baseline) {
        (Kind::Bttc, _) => Some(&args.bttc),
        (Kind::Anvil, baseline) => baseline.as_ref(),
    };
    let cmd = match (kind, bttc) {
        (_, Some(bttc)) => {
            let mut c = Command::new(bttc);
            c.args(["node", "--dev", "--http.port", &port.to_string()]);
            c.args(["--gas-limit", &args.gas_limit.to_string()]);
            if let Some(b) = block_time {
                c.args(["--block-time", &b.to_string()]);
            }
            c
        }
        (_, None) => {
            let anvil = args.anvil.as_ref().ok_or_else(|| eyre::eyre!("--anvil is needed"))?;
            let mut c = Command::new(anvil);
            c.args(["--port", &port.to_string(), "--gas-limit", &args.gas_limit.to_string()]);
            if let Some(b) = block_time {
                c.args(["--block-time", &b.to_string()]);
            }
            c
        }
    };
    Node::spawn(cmd, format!("http://127.0.0.1:{port}"), &format!("{kind:?}")).await
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
    let node = start(kind, args, block_time).await?;
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

/// Code that loops until its gas runs out: `JUMPDEST PUSH1 0 JUMP`.
const LOOP_CODE: &str = "0x5b600056";

/// `eth_sendRawTransaction` latency, one transaction at a time, with the execution lane idle
/// and then saturated by `--load-clients` clients looping gas-cap `eth_call`s; prints a
/// table of p50 / p99 / max and how many calls the load got through meanwhile.
async fn admission(args: &Args) -> eyre::Result<()> {
    let node = Arc::new(start(Kind::Bttc, args, Some(1)).await?);
    let senders: Vec<PrivateKeySigner> = (0..args.senders).map(sender).collect();
    fund(&node, &senders, None).await?;
    let looper = alloy_primitives::Address::repeat_byte(0x10);
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [
        {"to": looper}, "latest", {looper.to_string(): {"code": LOOP_CODE}}
    ]})
    .to_string();
    println!(
        "| execution lane | sendRawTransaction p50 | p99 | max | gas-cap calls meanwhile | their mean latency |"
    );
    println!("|---|---|---|---|---|---|");
    let mut nonce = 0u64;
    for (label, load) in [("idle", 0), ("saturated", args.load_clients)] {
        let mut raws = Vec::with_capacity(args.admission_txs);
        while raws.len() < args.admission_txs {
            for s in &senders {
                if raws.len() == args.admission_txs {
                    break;
                }
                let to = TxKind::Call(s.address());
                raws.push(sign(s, node.chain_id, nonce, to, 21_000, Bytes::new(), U256::from(1)));
            }
            nonce += 1;
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut loaders = Vec::new();
        for _ in 0..load {
            let (node, stop, call) = (Arc::clone(&node), Arc::clone(&stop), call.clone());
            loaders.push(tokio::spawn(async move {
                let (mut done, mut busy) = (0u64, Duration::ZERO);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = Instant::now();
                    let r = node.client.post(&node.url).header("content-type", "application/json");
                    let text = r.body(call.clone()).send().await?.text().await?;
                    // The loop ends out of gas: an error response is the expected answer.
                    eyre::ensure!(text.contains("out of gas"), "gas-cap call: {text}");
                    done += 1;
                    busy += t.elapsed();
                }
                Ok::<_, eyre::Report>((done, busy))
            }));
        }
        // Let the load fill the lane before measuring.
        tokio::time::sleep(Duration::from_millis(if load > 0 { 500 } else { 0 })).await;
        let mut lat = Vec::with_capacity(raws.len());
        for raw in &raws {
            let t = Instant::now();
            node.call("eth_sendRawTransaction", json!([raw])).await?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (mut calls, mut busy) = (0, Duration::ZERO);
        for l in loaders {
            let (n, t) = l.await??;
            calls += n;
            busy += t;
        }
        let call_ms = if calls > 0 { busy.as_secs_f64() * 1e3 / calls as f64 } else { f64::NAN };
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        let what = if load > 0 { format!("{label} ({load} clients)") } else { label.to_string() };
        println!(
            "| {what} | {:.0} µs | {:.0} µs | {:.0} µs | {calls} | {call_ms:.0} ms |",
            pct(0.5),
            pct(0.99),
            lat[lat.len() - 1]
        );
        // Let the block producer take the phase's transactions before the next phase.
        let deadline = Instant::now() + Duration::from_secs(30);
        while node.call("txpool_status", json!([])).await?["pending"] != "0x0"
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Reads one figure out of a measurement.
type Figure = fn(&Reads) -> f64;

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

impl Reads {
    /// The median of each figure over `runs` (NaN when there are none).
    fn median(runs: &[Reads]) -> Reads {
        let med = |f: fn(&Reads) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        Reads { qps: med(|r| r.qps), p50_us: med(|r| r.p50_us), p99_us: med(|r| r.p99_us) }
    }
}

fn row(name: &str, unit: &str, b: f64, a: f64, higher_is_better: bool) {
    row_with_pairs(name, unit, b, a, higher_is_better, "-");
}

fn row_with_pairs(name: &str, unit: &str, b: f64, a: f64, higher_is_better: bool, pairs: &str) {
    let ratio = if higher_is_better { b / a } else { a / b };
    println!("| {name} | {b:.1} {unit} | {a:.1} {unit} | {ratio:.2} | {pairs} |");
}

/// "k of n": in how many of the `n` pairs of neighbouring slices bttc's figure was at least
/// as good as anvil's (both lists in measurement order).
fn pairs_ahead(b: &[f64], a: &[f64], higher_is_better: bool) -> String {
    let n = b.len().min(a.len());
    let k = b.iter().zip(a).filter(|(b, a)| if higher_is_better { b >= a } else { b <= a }).count();
    if n == 0 { "-".into() } else { format!("{k} of {n}") }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    if args.runs.iter().any(|r| r == "admission") {
        admission(&args).await?;
        if args.runs.len() == 1 {
            return Ok(());
        }
    }
    println!(
        "reads measured with {}",
        if args.wrk.is_some() {
            "wrk (1 thread)"
        } else {
            "this program's HTTP client (2 threads)"
        }
    );
    let peer = if args.baseline.is_some() { "baseline bttc" } else { "anvil" };
    println!(
        "| row | bttc | {peer} | ratio (>= 1: bttc at least as good) | slice pairs with bttc ahead |"
    );
    println!("|---|---|---|---|---|");
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
            let node = start(kind, &args, None).await?;
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
            let mut runs: [Vec<Reads>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..args.read_repeats.max(1) {
                // Strictly alternating (not ABBA): a burst of host load a few seconds long
                // then falls on both nodes' slices rather than on two of one node's.
                for i in [0, 1] {
                    let Some((node, token)) = &nodes[i] else { continue };
                    let params = if method == "eth_call" {
                        json!([{"to": token, "data": format!("0x70a08231{}", hex::encode(B256::left_padding_from(holder.as_slice())))}, "latest"])
                    } else {
                        params.clone()
                    };
                    runs[i].push(match &args.wrk {
                        Some(wrk) => {
                            let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
                                .to_string();
                            // wrk only checks the HTTP status: make sure the call itself succeeds.
                            node.call(method, params.clone()).await?;
                            wrk_reads(wrk, &node.url, &body, clients, args.read_secs)?
                        }
                        None => reads(node, method, params, clients, args.read_secs).await?,
                    });
                }
            }
            let res: Vec<Reads> = runs.iter().map(|r| Reads::median(r)).collect();
            let figures: [(&str, &str, Figure, bool); 3] = [
                ("QPS", "req/s", |r| r.qps, true),
                ("p50", "µs", |r| r.p50_us, false),
                ("p99", "µs", |r| r.p99_us, false),
            ];
            for (figure, unit, get, higher_is_better) in figures {
                let slices = |i: usize| runs[i].iter().map(get).collect::<Vec<_>>();
                row_with_pairs(
                    &format!("{method}, {clients} client(s): {figure}"),
                    unit,
                    get(&res[0]),
                    get(&res[1]),
                    higher_is_better,
                    &pairs_ahead(&slices(0), &slices(1), higher_is_better),
                );
            }
        }
    }
    rss[0].1 = nodes[0].as_ref().map_or(f64::NAN, |n| n.0.rss_mib());
    rss[1].1 = nodes[1].as_ref().map_or(f64::NAN, |n| n.0.rss_mib());
    if rss[0].0 > 0.0 || rss[1].0 > 0.0 {
        row("RSS after the submission runs (largest)", "MiB", rss[0].0, rss[1].0, false);
    }
    row("RSS after the read runs", "MiB", rss[0].1, rss[1].1, false);
    Ok(())
}
