//! `bttc-net-bench`: a 4-validator `bttc devnet` (separate processes, libp2p over 127.0.0.1)
//! next to a single-node dev chain with the same block time, in one run:
//! - block time achieved against the 1 s target (wall-clock arrival of each new head);
//! - finality latency: a transfer submitted to one validator until its receipt is visible on
//!   another (every block is final when it appears), p50/p99 over sequential transfers;
//! - sustained ETH-transfer TPS: the same pre-signed transfers to the devnet (spread over the
//!   validators; gossip carries them to the proposer) and to the dev node;
//! - full-node sync: a chain of `--sync-blocks` blocks (20 transfers each) with a commit
//!   certificate per block, served by its validator, synced by a fresh full node (blocks/s);
//! - checkpoints: the devnet with its own root chain and a checkpoint every 4 blocks; the
//!   delay from a checkpoint's last block being final (its arrival as the head) to the root
//!   holding it (`getLastChildBlock`, 1 confirmation), p50/p99 over `--checkpoints`.
//!
//! Every loop is bounded. Usage: `bttc-net-bench --bttc target/release/bttc`.

use alloy_primitives::{Bytes, TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use bttc_bench::client::{
    DEV_KEYS, Node, free_port, fund, send_in_order, sender, sign, wait_included,
};
use clap::Parser;
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

#[derive(Debug, Parser)]
struct Args {
    /// The bttc binary.
    #[arg(long)]
    bttc: PathBuf,
    /// Seconds to watch block arrivals.
    #[arg(long, default_value_t = 30)]
    watch_secs: u64,
    /// Sequential transfers timed for finality latency.
    #[arg(long, default_value_t = 40)]
    latency_txs: usize,
    /// Transfers for the sustained-TPS rows.
    #[arg(long, default_value_t = 5000)]
    txs: usize,
    /// Distinct senders of those transfers (few, as real load comes: 500 each by default).
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Blocks the full node syncs.
    #[arg(long, default_value_t = 10_000)]
    sync_blocks: u64,
    /// Checkpoints timed in the checkpoints run.
    #[arg(long, default_value_t = 40)]
    checkpoints: usize,
    /// Which runs: any of blocktime, latency, tps, sync, checkpoints (blocktime also reports
    /// the signing records; `signing` alone does too).
    #[arg(long, default_value = "blocktime,latency,tps,sync,checkpoints", value_delimiter = ',')]
    runs: Vec<String>,
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// A devnet (its `bttc devnet` process) and clients for each validator.
struct Devnet {
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if std::env::var_os("BENCH_KEEP").is_some() {
            let _ =
                std::fs::rename(self._dir.path(), format!("{}.kept", self._dir.path().display()));
        }
    }
}

fn free_base(n: u16) -> u16 {
    // n consecutive free ports.
    loop {
        let base = free_port();
        if base < 60_000
            && (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return base;
        }
    }
}

async fn devnet(
    args: &Args,
    validators: u16,
    block_time: f64,
    extra: &[&str],
) -> eyre::Result<Devnet> {
    let dir = tempfile::tempdir()?;
    if std::env::var_os("BENCH_KEEP").is_some() {
        // Keep the validators' datadirs and logs for a look afterwards.
        eprintln!("devnet datadir: {}", dir.path().display());
    }
    let http = free_base(validators);
    let p2p = free_base(validators);
    let mut cmd = Command::new(&args.bttc);
    cmd.args(["devnet", "--validators", &validators.to_string()])
        .arg("--datadir")
        .arg(dir.path().join("net"))
        .args(["--http.base-port", &http.to_string(), "--p2p.base-port", &p2p.to_string()])
        .args(["--block-time", &block_time.to_string()])
        .args(["--root.port", &free_port().to_string()])
        .args(extra);
    let first = Node::spawn(cmd, format!("http://127.0.0.1:{http}"), "devnet").await?;
    let mut nodes = vec![first];
    for i in 1..validators {
        // The other validators: clients only (the devnet process owns them).
        let url = format!("http://127.0.0.1:{}", http + i);
        nodes.push(Node::connect(url, &format!("validator {i}")).await?);
    }
    Ok(Devnet { nodes, _dir: dir })
}

async fn block_times(node: &Node, secs: u64) -> eyre::Result<(f64, f64, f64, usize)> {
    let start = node.head().await?;
    let mut last = start;
    let mut arrivals = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let h = node.head().await?;
        if h > last {
            arrivals.push((Instant::now(), h - last));
            last = h;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut gaps: Vec<f64> = arrivals
        .windows(2)
        .map(|w| w[1].0.duration_since(w[0].0).as_secs_f64() / w[1].1 as f64)
        .collect();
    let n = gaps.len();
    let mean = gaps.iter().sum::<f64>() / n.max(1) as f64;
    Ok((mean, quantile(&mut gaps, 0.5), quantile(&mut gaps, 0.99), n))
}

async fn finality_latency(net: &Devnet, txs: usize) -> eyre::Result<(f64, f64)> {
    let key: PrivateKeySigner = DEV_KEYS[3].parse()?;
    let mut nonce = net.nodes[0].nonce(key.address()).await?;
    let mut lat = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..txs {
        // Submit at a pseudo-random point of the block interval: sequential submissions
        // right after each receipt would all land just after a block was built.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(seed % 1000)).await;
        let to = &net.nodes[i % net.nodes.len()];
        let watch = &net.nodes[(i + 1) % net.nodes.len()];
        let raw = sign(
            &key,
            to.chain_id,
            nonce,
            TxKind::Call(sender(0).address()),
            21_000,
            Bytes::new(),
            U256::from(1),
        );
        nonce += 1;
        let t = Instant::now();
        let hash = to.call("eth_sendRawTransaction", json!([raw])).await?;
        loop {
            let r = watch.call("eth_getTransactionReceipt", json!([hash])).await?;
            if !r.is_null() {
                break;
            }
            eyre::ensure!(t.elapsed() < Duration::from_secs(60), "tx {i} not final within 60 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok((quantile(&mut lat.clone(), 0.5), quantile(&mut lat, 0.99)))
}

async fn sustained(nodes: &[Node], args: &Args) -> eyre::Result<f64> {
    let senders: Vec<_> = (0..args.senders).map(sender).collect();
    fund(&nodes[0], &senders, None).await?;
    let per = args.txs.div_ceil(args.senders);
    let mut raws: Vec<Vec<Vec<Bytes>>> = vec![Vec::new(); nodes.len()];
    for (k, s) in senders.iter().enumerate() {
        let base = nodes[0].nonce(s.address()).await?;
        // One sender's transactions all go to one node, in nonce order, one at a time.
        let mut mine = Vec::with_capacity(per);
        for j in 0..per as u64 {
            mine.push(sign(
                s,
                nodes[0].chain_id,
                base + j,
                TxKind::Call(DEV_ADDR),
                21_000,
                Bytes::new(),
                U256::from(1),
            ));
        }
        raws[k % nodes.len()].push(mine);
    }
    let total: usize = raws.iter().flatten().map(Vec::len).sum();
    let head = nodes[0].head().await?;
    let t = Instant::now();
    let sends = nodes.iter().zip(raws).map(|(n, r)| send_in_order(n, r));
    for r in futures::future::join_all(sends).await {
        r?;
    }
    let (done, seen) = wait_included(&nodes[0], head, total, Duration::from_secs(180)).await?;
    eyre::ensure!(seen >= total, "only {seen}/{total} included within 180 s");
    Ok(total as f64 / done.duration_since(t).as_secs_f64())
}

/// Who signed each block's parent, from the LastCommits of blocks 2..=head: the mean number
/// of precommits per commit, and the smallest share of commits any of the `members` is in
/// (the downtime rule jails a validator under 50% of a window).
async fn signing_records(node: &Node, members: usize) -> eyre::Result<(f64, f64, u64)> {
    let head = node.head().await?;
    let mut per = vec![0u64; members];
    let (mut total, mut n) = (0u64, 0u64);
    for b in 2..=head {
        let block = node
            .call("eth_getBlockByNumber", serde_json::json!([format!("{b:#x}"), false]))
            .await?;
        let extra: Bytes = serde_json::from_value(block["extraData"].clone())?;
        let Some(commit) = bttc_primitives::LastCommit::decode(&extra)? else { continue };
        n += 1;
        for i in commit.signer_indices() {
            total += 1;
            if let Some(c) = per.get_mut(i) {
                *c += 1;
            }
        }
    }
    eyre::ensure!(n > 0, "no block with a LastCommit");
    let lowest = per.iter().copied().min().unwrap_or(0) as f64 / n as f64;
    Ok((total as f64 / n as f64, lowest, n))
}

const DEV_ADDR: alloy_primitives::Address =
    alloy_primitives::address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");

/// Writes a chain of `blocks` blocks (20 transfers each, one second apart) decided by one
/// validator, with a commit certificate per block, as consensus would have stored it.
fn make_certified_chain(
    dir: &std::path::Path,
    blocks: u64,
) -> eyre::Result<(PathBuf, PathBuf, PathBuf)> {
    use alloy_signer_local::PrivateKeySigner;
    use bttc_chain::init_genesis;
    use bttc_consensus::{
        BlockHeight, BlockValue, CommitCertificate, ConsensusSigner, Vote,
        core_types::{CommitSignature, NilOrVal, Round, VoteType},
    };
    use bttc_node::{DevProducer, bft::encode_certificate, dev_accounts, network_genesis};
    use bttc_storage::{DatabaseEnv, DbOptions};
    use bttc_txpool::{PoolConfig, TxPool};
    use std::sync::Arc;

    // Key files private, as `bttc node` requires.
    let password = dir.join("password");
    bttc_node::key_file::write_private_file(&password, b"bench")?;
    let key = PrivateKeySigner::random();
    let keys = dir.join("keys");
    bttc_node::key_file::create_private_dir(&keys)?;
    drop(bttc_node::key_file::create_private_file(&keys.join("v.json"))?);
    PrivateKeySigner::encrypt_keystore(
        &keys,
        &mut rand08::thread_rng(),
        key.to_bytes(),
        "bench",
        Some("v.json"),
    )?;
    let sk = key.credential().clone();
    let pk = sk.verifying_key().to_encoded_point(true).as_bytes().to_vec();
    let validator = bttc_chainspec::GenesisValidator {
        address: key.address(),
        public_key: pk.into(),
        stake: 100,
        operator: None,
    };
    let accounts = dev_accounts(10);
    let genesis = network_genesis(
        31_337_199,
        &accounts,
        U256::from(10u128.pow(24)),
        30_000_000,
        &[validator],
        1000,
    )
    .map_err(|e| eyre::eyre!(e))?;
    let genesis_path = dir.join("genesis.json");
    std::fs::write(&genesis_path, &genesis)?;
    let db = DatabaseEnv::open(&dir.join("v").join("db"), DbOptions::default())?;
    init_genesis(&db, &genesis)?;
    let chain = bttc_staking::open_chain(db.clone())?;
    let chain_id = chain.spec().chain_id();
    let pool = Arc::new(TxPool::new(PoolConfig::default()));
    let producer = DevProducer::new(chain, pool.clone(), key.address());
    let signer = ConsensusSigner::new(sk, chain_id);
    let senders: Vec<PrivateKeySigner> =
        accounts.iter().map(|a| PrivateKeySigner::from_bytes(&a.private_key).unwrap()).collect();
    let started = Instant::now();
    // Each block carries its parent's commit (the one validator's precommit), as a
    // validator's proposal does.
    let mut last_commit = Bytes::new();
    for n in 1..=blocks {
        let ctx = producer.validation_context()?;
        let ro = db.ro()?;
        for (j, s) in senders.iter().enumerate() {
            for k in 0..2u64 {
                let raw = sign(
                    s,
                    chain_id,
                    (n - 1) * 2 + k,
                    TxKind::Call(DEV_ADDR),
                    21_000,
                    Bytes::new(),
                    U256::from(j + 1),
                );
                let tx = alloy_eips::eip2718::Decodable2718::decode_2718(&mut raw.as_ref())?;
                pool.add(tx, &ro, &ctx)?;
            }
        }
        drop(ro);
        let mined = producer.mine_with_extra_data(n, last_commit.clone())?;
        eyre::ensure!(
            mined.included.len() == 20,
            "block {n} took {} transfers",
            mined.included.len()
        );
        let vote = Vote {
            vote_type: VoteType::Precommit,
            height: BlockHeight(n),
            round: Round::new(0),
            value: NilOrVal::Val(BlockValue(mined.hash)),
            validator: signer.address(),
            extension: None,
        };
        let signature = signer.sign_hash(&vote.signing_hash(chain_id));
        last_commit = bttc_primitives::LastCommit {
            round: 0,
            signers: U256::from(1),
            signatures: vec![signature.0],
            evidence: Vec::new(),
            state_syncs: Vec::new(),
        }
        .encode();
        let cert = CommitCertificate {
            height: BlockHeight(n),
            round: Round::new(0),
            value_id: BlockValue(mined.hash),
            commit_signatures: vec![CommitSignature::new(signer.address(), signature)],
        };
        let rw = db.rw()?;
        rw.put_certificate(n, &encode_certificate(&cert))?;
        rw.commit()?;
        if n % 2000 == 0 {
            eprintln!(
                "  made {n}/{blocks} certified blocks ({:.0} blocks/s)",
                n as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    Ok((genesis_path, keys.join("v.json"), password))
}

async fn sync_speed(args: &Args) -> eyre::Result<(f64, u64)> {
    let dir = tempfile::tempdir()?;
    let blocks = args.sync_blocks;
    let (genesis, keystore, password) = make_certified_chain(dir.path(), blocks)?;
    // The validator that decided them serves them (and goes on producing).
    let (vhttp, vp2p) = (free_port(), free_port());
    let mut cmd = Command::new(&args.bttc);
    cmd.arg("node")
        .arg("--datadir")
        .arg(dir.path().join("v"))
        .arg("--validator-key")
        .arg(&keystore)
        .arg("--password-file")
        .arg(&password)
        .args(["--http.port", &vhttp.to_string(), "--p2p-port", &vp2p.to_string()]);
    let _validator = Node::spawn(cmd, format!("http://127.0.0.1:{vhttp}"), "validator").await?;
    let http = free_port();
    let mut cmd = Command::new(&args.bttc);
    cmd.arg("node")
        .arg("--datadir")
        .arg(dir.path().join("full"))
        .arg("--genesis")
        .arg(&genesis)
        .args(["--http.port", &http.to_string(), "--p2p-port", &free_port().to_string()])
        .args(["--bootnodes", &format!("/ip4/127.0.0.1/tcp/{vp2p}")]);
    let t = Instant::now();
    let full = Node::spawn(cmd, format!("http://127.0.0.1:{http}"), "full node").await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut last_report = Instant::now();
    while full.head().await? < blocks {
        eyre::ensure!(
            Instant::now() < deadline,
            "the full node did not sync {blocks} blocks in 30 min"
        );
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  full node at {} of {blocks}", full.head().await?);
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((blocks as f64 / t.elapsed().as_secs_f64(), blocks))
}

/// The devnet with its root: for `args.checkpoints` checkpoints, the time from the head
/// reaching a checkpoint's last block to the root's `getLastChildBlock` reaching it.
async fn checkpoint_delays(args: &Args) -> eyre::Result<(f64, f64, usize)> {
    let net = devnet(args, 4, 1.0, &["--set", "checkpointInterval=4"]).await?;
    let roots: Value = {
        let path = net._dir.path().join("net").join("roots.json");
        serde_json::from_str(&std::fs::read_to_string(&path)?)?
    };
    let root =
        Node::connect(roots[0]["rpcUrl"].as_str().unwrap_or_default().into(), "root").await?;
    let rc = roots[0]["rootChain"].as_str().unwrap_or_default().to_string();
    let data = alloy_primitives::hex::encode_prefixed(
        &alloy_primitives::keccak256("getLastChildBlock()")[..4],
    );
    let last_child = || async {
        let v = root.call("eth_call", json!([{"to": rc, "data": data}, "latest"])).await?;
        let hex = v.as_str().unwrap_or("0x0").trim_start_matches("0x").to_string();
        eyre::Ok(U256::from_str_radix(if hex.is_empty() { "0" } else { &hex }, 16)?.to::<u64>())
    };
    let (mut final_at, mut on_root_at) =
        (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
    let start = net.nodes[0].head().await?;
    let deadline = Instant::now() + Duration::from_secs(60 + 6 * args.checkpoints as u64);
    let mut last = 0;
    while on_root_at.len() < args.checkpoints + 1 {
        eyre::ensure!(Instant::now() < deadline, "checkpoints stalled at {last}");
        let now = Instant::now();
        let h = net.nodes[0].head().await?;
        final_at.entry(h).or_insert(now);
        let l = last_child().await?;
        if l > last && l > start {
            on_root_at.insert(l, now);
            last = l;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Each checkpoint end the root reached, timed from the head first reaching it; the
    // first one seen may have been on the root before the watch began.
    let mut delays: Vec<f64> = on_root_at
        .iter()
        .skip(1)
        .filter_map(|(end, at)| {
            let f = final_at.range(*end..).next()?.1;
            Some(at.saturating_duration_since(*f).as_secs_f64())
        })
        .collect();
    let n = delays.len();
    Ok((quantile(&mut delays, 0.5), quantile(&mut delays, 0.99), n))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    let run = |r: &str| args.runs.iter().any(|x| x == r);
    println!("| row | devnet (4 validators) | dev node | ratio |");
    println!("|---|---:|---:|---:|");
    if run("blocktime") || run("latency") || run("tps") {
        let net = devnet(&args, 4, 1.0, &[]).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while net.nodes[0].head().await? < 3 {
            eyre::ensure!(Instant::now() < deadline, "devnet made no blocks");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if run("blocktime") {
            let (mean, p50, p99, n) = block_times(&net.nodes[0], args.watch_secs).await?;
            println!(
                "| block time, target 1 s ({n} blocks): mean / p50 / p99 | {mean:.3} / {p50:.3} / {p99:.3} s | | {:.3} |",
                mean / 1.0
            );
        }
        if run("latency") {
            let (p50, p99) = finality_latency(&net, args.latency_txs).await?;
            println!(
                "| finality latency, submit to final receipt on another validator: p50 / p99 | {p50:.0} / {p99:.0} ms | | |"
            );
        }
        if run("blocktime") || run("signing") {
            let (mean, lowest, n) = signing_records(&net.nodes[0], 4).await?;
            println!(
                "| precommits per LastCommit ({n} blocks, 4 validators): mean; the least-included validator's share | {mean:.2}; {:.1}% | | |",
                lowest * 100.0
            );
        }
        if run("tps") {
            let bft = sustained(&net.nodes, &args).await?;
            drop(net);
            let port = free_port();
            let mut cmd = Command::new(&args.bttc);
            cmd.args(["node", "--dev", "--block-time", "1", "--http.port", &port.to_string()]);
            let dev = Node::spawn(cmd, format!("http://127.0.0.1:{port}"), "dev node").await?;
            let single = sustained(std::slice::from_ref(&dev), &args).await?;
            println!(
                "| sustained ETH transfers, {} txs, 1 s blocks (tx/s) | {bft:.0} | {single:.0} | {:.2} |",
                args.txs,
                bft / single
            );
        }
    }
    if run("sync") {
        let (bps, n) = sync_speed(&args).await?;
        println!("| full-node sync of {n} blocks (blocks/s) | {bps:.0} | | |");
    }
    if run("checkpoints") {
        let (p50, p99, n) = checkpoint_delays(&args).await?;
        println!(
            "| checkpoint final on bttc -> on the root (own root, 1 s blocks, 1 confirmation; {n} checkpoints): p50 / p99 | {p50:.2} / {p99:.2} s | | |"
        );
    }
    Ok(())
}
