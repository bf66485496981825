//! Checkpoints to root chains, end to end, with real processes on 127.0.0.1:
//!
//! - `bttc devnet` in one command: checkpoints land on its root continuously, contiguous and
//!   once each, every stored root hash equals `bor_getRootHash` on every validator, the delay
//!   from a checkpoint block's finality to its confirmation on the root is measured, and a
//!   set change from staking is handed over on the root (the old set is refused after it);
//! - faults: the validator submitting a checkpoint killed -9 right after it sent it, and the
//!   root chain killed and kept down for a minute, then restarted: no duplicate, no gap,
//!   the checkpoints catch up;
//! - anvil as a root and two roots at once, each with its own sequence, and a reorg of
//!   anvil (`evm_revert`) that drops landed checkpoints, which are posted again (anvil from
//!   npm, `BTTC_ANVIL`; required when `BTTC_REQUIRE_ANVIL=1`, as in CI).

mod support;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::{SolCall, SolError, SolValue};
use bttc_contracts::root_chain::RootChain as RC;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use support::{
    net::{free_port, free_ports, head, quantity, wait_height},
    rpc,
};

const T: Duration = Duration::from_secs(180);
const PASSWORD: &str = "test-password";

async fn call<C: SolCall>(url: &str, to: Address, c: C) -> Result<C::Return, serde_json::Value> {
    call_at(url, to, c, "latest".into()).await
}

/// `eth_call` of `c` on `to` at root block `at`.
async fn call_at<C: SolCall>(
    url: &str,
    to: Address,
    c: C,
    at: serde_json::Value,
) -> Result<C::Return, serde_json::Value> {
    let data = Bytes::from(c.abi_encode());
    let params = serde_json::json!([{"to": to, "data": data}, at]);
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": params});
    // A root that is down answers nothing: an error, not a panic.
    let r: serde_json::Value = match support::try_post(url, body.to_string()).await {
        Ok((_, text)) => serde_json::from_str(&text).unwrap_or_default(),
        Err(e) => return Err(serde_json::json!({"transport": e.to_string()})),
    };
    match r["result"].as_str() {
        Some(out) => Ok(C::abi_decode_returns(&out.parse::<Bytes>().unwrap()).unwrap()),
        None => Err(r["error"].clone()),
    }
}

/// A checkpoint as a root holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OnRoot {
    id: u64,
    start: u64,
    end: u64,
    root: B256,
}

/// Every checkpoint on `root_chain`, in header block order.
async fn on_root(url: &str, root_chain: Address) -> Vec<OnRoot> {
    let current: u64 =
        call(url, root_chain, RC::currentHeaderBlockCall {}).await.unwrap().saturating_to();
    let mut out = Vec::new();
    for id in (10_000..=current).step_by(10_000) {
        let h = call(url, root_chain, RC::headerBlocksCall(U256::from(id))).await.unwrap();
        out.push(OnRoot {
            id,
            start: h.start.saturating_to(),
            end: h.end.saturating_to(),
            root: h.root,
        });
    }
    out
}

async fn last_child_block(url: &str, root_chain: Address) -> Option<u64> {
    call(url, root_chain, RC::getLastChildBlockCall {}).await.ok().map(|v| v.saturating_to())
}

/// The checkpoints on a root are contiguous from block 1 with ids stepping by 10,000, and
/// each root hash is `bor_getRootHash` of its range on every child node.
async fn check_sequence(what: &str, cps: &[OnRoot], children: &[String]) {
    assert!(!cps.is_empty(), "{what}: no checkpoint on the root");
    let mut next = 1;
    for (i, c) in cps.iter().enumerate() {
        assert_eq!(c.id, 10_000 * (i as u64 + 1), "{what}: ids step by 10,000: {cps:?}");
        assert_eq!(c.start, next, "{what}: a gap or an overlap before {c:?}");
        assert!(c.end >= c.start);
        next = c.end + 1;
        for url in children {
            let v = rpc(url, "bor_getRootHash", serde_json::json!([c.start, c.end])).await;
            let got: B256 = format!("0x{}", v["result"].as_str().unwrap()).parse().unwrap();
            assert_eq!(got, c.root, "{what}: root hash of [{}, {}] on {url}", c.start, c.end);
        }
    }
}

/// `bttc devnet` with its root chain, stopped (SIGTERM, which stops its processes) on drop.
struct Devnet {
    child: Child,
    dir: tempfile::TempDir,
    urls: Vec<String>,
    p2p: u16,
    root_url: String,
}

impl Devnet {
    fn start(validators: u16, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (http, p2p, root_port) = (free_ports(validators), free_ports(validators), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_bttc"))
            .args(["devnet", "--validators", &validators.to_string(), "--datadir"])
            .arg(dir.path().join("net"))
            .args(["--http.base-port", &http.to_string(), "--p2p.base-port", &p2p.to_string()])
            .args(["--root.port", &root_port.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let urls = (0..validators).map(|i| format!("http://127.0.0.1:{}", http + i)).collect();
        Self { child, dir, urls, p2p, root_url: format!("http://127.0.0.1:{root_port}") }
    }

    fn net(&self) -> PathBuf {
        self.dir.path().join("net")
    }

    /// The `n` roots in `roots.json` (written before the validators start), by name.
    async fn roots(&self, n: usize) -> BTreeMap<String, (String, Address)> {
        let path = self.net().join("roots.json");
        let deadline = Instant::now() + T;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
                && v.as_array().is_some_and(|a| a.len() >= n)
            {
                return v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        let name = r["name"].as_str().unwrap().to_string();
                        let url = r["rpcUrl"].as_str().unwrap().to_string();
                        (name, (url, r["rootChain"].as_str().unwrap().parse().unwrap()))
                    })
                    .collect();
            }
            assert!(Instant::now() < deadline, "no {} in time", path.display());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log_tail(&self, i: u16) -> String {
        let s = std::fs::read_to_string(self.net().join(format!("node-{i}/node.log")))
            .unwrap_or_default();
        let own: Vec<&str> =
            s.lines().filter(|l| l.contains("bttc::") || l.contains("ERROR")).collect();
        own[own.len().saturating_sub(60)..].join("\n")
    }

    /// A validator's signing key.
    fn validator_key(&self, i: u16) -> alloy_signer_local::PrivateKeySigner {
        let password = std::fs::read_to_string(self.net().join("password")).unwrap();
        let ks = self.net().join("keys").join(format!("validator-{i}.json"));
        alloy_signer_local::PrivateKeySigner::decrypt_keystore(ks, password.trim()).unwrap()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        support::sigterm_and_wait(&mut self.child, Duration::from_secs(30));
    }
}

/// The root's hash of a set: `keccak256(abi.encode(signers, powers))`, ascending.
fn set_hash(members: &[(Address, u64)]) -> B256 {
    let mut m = members.to_vec();
    m.sort();
    let signers: Vec<Address> = m.iter().map(|x| x.0).collect();
    let powers: Vec<U256> = m.iter().map(|x| U256::from(x.1)).collect();
    keccak256((signers, powers).abi_encode_params())
}

/// Signatures by validators `signing` (indices) over `digest`, as 65-byte `r ‖ s ‖ v`,
/// ascending by signer.
fn sign_checkpoint(net: &Devnet, signing: &[u16], digest: B256) -> Vec<(Address, Bytes)> {
    let mut sigs: Vec<(Address, Bytes)> = signing
        .iter()
        .map(|i| {
            let k = net.validator_key(*i);
            let sig = alloy_signer::SignerSync::sign_hash_sync(&k, &digest).unwrap();
            (k.address(), Bytes::from(sig.as_bytes().to_vec()))
        })
        .collect();
    sigs.sort();
    sigs
}

/// What validators sign, written here independently of the node and the contract.
fn digest(chain_id: u64, start: u64, end: u64, root: B256, current: B256, next: B256) -> B256 {
    let mut d = vec![0x01u8];
    d.extend_from_slice(
        &(U256::from(chain_id), U256::from(start), U256::from(end), root, current, next)
            .abi_encode_params(),
    );
    keccak256(d)
}

/// The devnet's root refuses, at one root block (so the submitters' progress does not move
/// the target): 2 of 4 equal validators, a wrong set, a replay, a gap, a wrong chain id, a
/// tampered root hash, a duplicated signer and a high-s signature; the same checkpoint done
/// right is accepted there (in a call: nothing is sent).
async fn refusals_on_the_root(net: &Devnet, root_url: &str, rc: Address, chain_id: u64) {
    let at = rpc(root_url, "eth_blockNumber", serde_json::json!([])).await["result"].clone();
    let last: u64 = call_at(root_url, rc, RC::getLastChildBlockCall {}, at.clone())
        .await
        .unwrap()
        .saturating_to();
    let trusted = call_at(root_url, rc, RC::validatorSetHashCall {}, at.clone()).await.unwrap();
    // The set the root trusts now signs the next checkpoint (stored by the validators).
    let deadline = Instant::now() + T;
    let next_cp = loop {
        let v = rpc(&net.urls[0], "bttc_getCheckpoint", serde_json::json!([last + 1])).await;
        if !v["result"].is_null() || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let members: Vec<(Address, u64)> = next_cp["result"]["validators"]
        .as_array()
        .unwrap_or_else(|| panic!("the checkpoint after {last} is stored: {next_cp}"))
        .iter()
        .map(|m| (m["signer"].as_str().unwrap().parse().unwrap(), quantity(&m["power"]).unwrap()))
        .collect();
    assert_eq!(set_hash(&members), trusted, "{next_cp}");
    let (start, end) = (last + 1, last + 2);
    let root_hash = B256::repeat_byte(0x22);
    let all = sign_checkpoint(
        net,
        &[0, 1, 2, 3],
        digest(chain_id, start, end, root_hash, trusted, trusted),
    );
    let sigs_of = |v: &[(Address, Bytes)]| v.iter().map(|s| s.1.clone()).collect::<Vec<_>>();
    let submit = |chain: u64, start: u64, root: B256, sigs: Vec<Bytes>, set: &[(Address, u64)]| {
        RC::submitCheckpointCall {
            chainId: U256::from(chain),
            start: U256::from(start),
            end: U256::from(start + 1),
            root,
            nextSetHash: trusted,
            signers: set.iter().map(|m| m.0).collect(),
            powers: set.iter().map(|m| U256::from(m.1)).collect(),
            sigs,
        }
    };
    let go = |c: RC::submitCheckpointCall| call_at(root_url, rc, c, at.clone());
    let refused = |what: &str, r: Result<U256, serde_json::Value>, selector: [u8; 4]| {
        let e = r.expect_err(what);
        let data = e["data"].as_str().unwrap_or_default().to_string();
        assert!(data.starts_with(&alloy_primitives::hex::encode_prefixed(selector)), "{what}: {e}");
    };
    let ok = go(submit(chain_id, start, root_hash, sigs_of(&all), &members)).await;
    assert!(ok.is_ok(), "the checkpoint done right: {ok:?}");
    let r = go(submit(chain_id, start, root_hash, sigs_of(&all[..2]), &members)).await;
    refused("2 of 4", r, RC::NotEnoughPower::SELECTOR);
    let mut other = members.clone();
    other[0].1 += 1;
    let r = go(submit(chain_id, start, root_hash, sigs_of(&all), &other)).await;
    refused("a wrong set (other powers)", r, RC::SetMismatch::SELECTOR);
    let r = go(submit(chain_id, last - 1, root_hash, sigs_of(&all), &members)).await;
    refused("a replay of the last range", r, RC::NotContiguous::SELECTOR);
    let r = go(submit(chain_id, start + 1, root_hash, sigs_of(&all), &members)).await;
    refused("a gap", r, RC::NotContiguous::SELECTOR);
    let r = go(submit(chain_id + 1, start, root_hash, sigs_of(&all), &members)).await;
    refused("a wrong chain id", r, RC::WrongChainId::SELECTOR);
    // Signatures over this root hash sent with another recover to strangers.
    let r = go(submit(chain_id, start, B256::repeat_byte(0x23), sigs_of(&all), &members)).await;
    refused("a tampered root hash", r, RC::SignerNotInSet::SELECTOR);
    let mut dup = sigs_of(&all);
    dup[1] = dup[0].clone();
    let r = go(submit(chain_id, start, root_hash, dup, &members)).await;
    refused("a duplicated signer", r, RC::SignersNotAscending::SELECTOR);
    // The high-s twin of a valid signature: s' = n - s, v flipped.
    let mut high = sigs_of(&all);
    let mut b = high[0].to_vec();
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let s_hi = n - U256::from_be_slice(&b[32..64]);
    b[32..64].copy_from_slice(&s_hi.to_be_bytes::<32>());
    b[64] = if b[64] == 27 { 28 } else { 27 };
    high[0] = Bytes::from(b);
    let r = go(submit(chain_id, start, root_hash, high, &members)).await;
    refused("a high-s signature", r, RC::HighS::SELECTOR);
}

/// `bttc_getExitPayload` for a log of a checkpointed transaction (the delegation's first
/// log), on every validator: the payload decodes, names the header block the root holds for
/// the block, and checks against that root hash (read from the root, not from the node).
async fn exit_payloads_check_against_the_root(net: &Devnet, root_url: &str, rc: Address, tx: B256) {
    for url in &net.urls {
        let v = rpc(url, "bttc_getExitPayload", serde_json::json!([tx, 0])).await;
        let r = &v["result"];
        assert_eq!(r["root"], "root", "{v}");
        let id = quantity(&r["headerBlockId"]).unwrap();
        let payload: Bytes = r["payload"].as_str().unwrap().parse().unwrap();
        let p = bttc_bridge::ExitPayload::decode(&payload).unwrap();
        assert_eq!((p.header_block_id, p.log_index), (id, 0));
        assert_eq!(Some(p.block_number), quantity(&r["blockNumber"]));
        let hb = call(root_url, rc, RC::headerBlocksCall(U256::from(id))).await.unwrap();
        let start: u64 = hb.start.saturating_to();
        assert!((start..=hb.end.saturating_to()).contains(&p.block_number), "{v}");
        p.verify(start, hb.root).unwrap_or_else(|e| panic!("{e}: {v}"));
        let receipt = rpc(url, "eth_getTransactionReceipt", serde_json::json!([tx])).await;
        assert_eq!(quantity(&receipt["result"]["transactionIndex"]), Some(p.tx_index().unwrap()));
        assert_eq!(r["exitId"].as_str().unwrap().parse::<B256>().unwrap(), p.exit_id().unwrap());
    }
    let url = &net.urls[0];
    let v = rpc(url, "bttc_getExitPayload", serde_json::json!([tx, 99])).await;
    assert_eq!(v["error"]["code"], -32602, "no such log: {v}");
    let v = rpc(url, "bttc_getExitPayload", serde_json::json!([tx, 0, "mars"])).await;
    assert_eq!(v["error"]["code"], -32602, "no such root: {v}");
    let v = rpc(url, "bttc_getExitPayload", serde_json::json!([B256::repeat_byte(1), 0])).await;
    assert!(v["result"].is_null(), "an unknown transaction: {v}");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_devnet_checkpoints_continuously_and_hands_a_new_set_over_on_its_root() {
    // 8-block epochs, a checkpoint every 2 blocks: [1,2], [3,4], [5,6], [7,7], [8,9], ...
    let net = Devnet::start(4, &["--epoch-length", "8", "--set", "checkpointInterval=2"]);
    let roots = net.roots(1).await;
    let (root_url, root_chain) = roots["root"].clone();
    assert_eq!(root_url, net.root_url);
    let url = net.urls[0].clone();
    wait_height(&url, 1, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));

    // The genesis set the root trusts at first.
    let members: Vec<(Address, u64)> =
        (0..4).map(|i| (net.validator_key(i).address(), 10_000)).collect();
    let genesis_set = set_hash(&members);
    assert_eq!(
        call(&root_url, root_chain, RC::validatorSetHashCall {}).await.unwrap(),
        genesis_set
    );

    // A delegation changes validator 1's power: the set of the next epoch differs.
    let out = Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["stake", "delegate", "--validator", "1", "--amount", "100", "--rpc-url", &url])
        .args([
            "--private-key",
            "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let delegation: B256 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.len() == 66)
        .expect("the CLI prints the transaction hash")
        .parse()
        .unwrap();

    // Watch the child's head and the root's last checkpoint: when each block is final here,
    // and when the root holds a checkpoint up to it.
    let (mut final_at, mut on_root_at) = (BTreeMap::new(), BTreeMap::new());
    let deadline = Instant::now() + T;
    loop {
        let now = Instant::now();
        if let Some(h) = head(&url).await {
            final_at.entry(h).or_insert(now);
        }
        if let Some(last) = last_child_block(&root_url, root_chain).await {
            on_root_at.entry(last).or_insert(now);
            if last >= 60 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "root at {:?}\n{}",
            on_root_at.keys().last(),
            net.log_tail(0)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cps = on_root(&root_url, root_chain).await;
    check_sequence("root", &cps, &net.urls).await;
    assert!(cps.len() >= 25, "{} checkpoints", cps.len());

    // Delay from finality (the head reaching the checkpoint's last block, as seen by this
    // poll) to the root holding it, for every checkpoint both were seen for.
    let mut delays: Vec<Duration> = cps
        .iter()
        .filter_map(|c| {
            let f = final_at.range(c.end..).next()?.1;
            let r = on_root_at.range(c.end..).next()?.1;
            Some(r.saturating_duration_since(*f))
        })
        .collect();
    delays.sort();
    assert!(delays.len() >= 20, "{} delays", delays.len());
    let (p50, p99) = (percentile(&delays, 0.5), percentile(&delays, 0.99));
    println!(
        "checkpoint finality -> on the root: {} checkpoints, p50 {:.2} s, p99 {:.2} s, max {:.2} s",
        delays.len(),
        p50.as_secs_f64(),
        p99.as_secs_f64(),
        delays.last().unwrap().as_secs_f64()
    );
    assert!(p99 < Duration::from_secs(30), "p99 {p99:?}");

    // The set changed at an epoch's end and the root took the new one over.
    let trusted = call(&root_url, root_chain, RC::validatorSetHashCall {}).await.unwrap();
    assert_ne!(trusted, genesis_set, "the root still trusts the genesis set");
    let handover = {
        let mut found = None;
        for c in &cps {
            let v = rpc(&url, "bttc_getCheckpoint", serde_json::json!([c.end])).await;
            let r = &v["result"];
            if r["currentSetHash"] != r["nextSetHash"] {
                found = Some((c.end, r.clone()));
                break;
            }
        }
        found.expect("a checkpoint that hands a new set over")
    };
    assert_eq!(
        handover.1["currentSetHash"].as_str().unwrap().parse::<B256>().unwrap(),
        genesis_set
    );
    assert_eq!((handover.0 + 1) % 8, 0, "handed over at an epoch's last block: {}", handover.0);

    // A checkpoint signed by the old (genesis) set after the handover is refused: the next
    // range at one root block (the submitters keep moving the root on).
    let last = cps.last().unwrap().end;
    let at = rpc(&root_url, "eth_blockNumber", serde_json::json!([])).await["result"].clone();
    let next: u64 = call_at(&root_url, root_chain, RC::getLastChildBlockCall {}, at.clone())
        .await
        .unwrap()
        .saturating_to();
    let chain_id = support::net::chain_id(&url).await;
    let (start, end, root_hash) = (next + 1, next + 2, B256::repeat_byte(0x11));
    let d = digest(chain_id, start, end, root_hash, genesis_set, genesis_set);
    let sigs = sign_checkpoint(&net, &[0, 1, 2, 3], d);
    let mut sorted = members.clone();
    sorted.sort();
    let refused = call_at(
        &root_url,
        root_chain,
        RC::submitCheckpointCall {
            chainId: U256::from(chain_id),
            start: U256::from(start),
            end: U256::from(end),
            root: root_hash,
            nextSetHash: genesis_set,
            signers: sorted.iter().map(|m| m.0).collect(),
            powers: sorted.iter().map(|m| U256::from(m.1)).collect(),
            sigs: sigs.into_iter().map(|s| s.1).collect(),
        },
        at,
    )
    .await
    .expect_err("the old set's checkpoint must be refused");
    let data = refused["data"].as_str().unwrap_or_default().to_string();
    assert!(
        data.starts_with(&alloy_primitives::hex::encode_prefixed(RC::SetMismatch::SELECTOR)),
        "{refused}"
    );

    refusals_on_the_root(&net, &root_url, root_chain, chain_id).await;
    exit_payloads_check_against_the_root(&net, &root_url, root_chain, delegation).await;

    // A full node started now syncs the chain and, with it, the checkpoints' signatures
    // (value sync carries them as the certificates' vote extensions).
    let p2p: Vec<String> = (0..4).map(|i| format!("/ip4/127.0.0.1/tcp/{}", net.p2p + i)).collect();
    // It watches the root without a key and reads back only the last landed checkpoint's
    // header block id: older ones (the delegation's) are counted from it.
    let watch = format!("name=root,rpc_url={root_url},root_chain={root_chain},history=1");
    let mut full = Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["node", "--http.port", "0", "--p2p-port", &free_port().to_string()])
        .args(["--root", &watch])
        .arg("--datadir")
        .arg(net.dir.path().join("full"))
        .arg("--genesis")
        .arg(net.net().join("genesis.json"))
        .args(["--bootnodes", &p2p.join(",")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let full_url = support::net::wait_listening(&mut full, "full node");
    wait_height(&full_url, last, T).await.unwrap();
    for c in cps.iter().take(12) {
        let mine = rpc(&full_url, "bttc_getCheckpoint", serde_json::json!([c.end])).await;
        let theirs = rpc(&url, "bttc_getCheckpoint", serde_json::json!([c.end])).await;
        assert_eq!(mine["result"]["rootHash"], theirs["result"]["rootHash"], "{mine}");
        assert_eq!(mine["result"]["quorum"], true, "{mine}");
        assert_eq!(mine["result"]["nextSetHash"], theirs["result"]["nextSetHash"]);
    }
    let deadline = Instant::now() + T;
    let from_full = loop {
        let v = rpc(&full_url, "bttc_getExitPayload", serde_json::json!([delegation, 0])).await;
        if !v["result"].is_null() || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let from_validator = rpc(&url, "bttc_getExitPayload", serde_json::json!([delegation, 0])).await;
    if from_full["result"] != from_validator["result"] {
        // What each side holds, to tell a miscount from a different table.
        let mut table = Vec::new();
        for c in &cps {
            let mine = rpc(&full_url, "bttc_getCheckpoint", serde_json::json!([c.end])).await;
            let roots = &mine["result"]["roots"];
            table
                .push(format!("{}-{}: full {} {}", c.start, c.end, mine["result"]["start"], roots));
        }
        panic!(
            "full node {} != validator {}\nroot checkpoints vs the full node's table:\n{}",
            from_full["result"]["headerBlockId"],
            from_validator["result"]["headerBlockId"],
            table.join("\n")
        );
    }
    let _ = full.kill();
    let _ = full.wait();

    // bttc_getCheckpoint on every validator: the first checkpoint, all four signatures
    // (late ones included), confirmed on the root with the root's own root hash.
    for u in &net.urls {
        let v = rpc(u, "bttc_getCheckpoint", serde_json::json!([1])).await;
        let r = &v["result"];
        assert_eq!((quantity(&r["start"]), quantity(&r["end"])), (Some(1), Some(2)), "{v}");
        assert_eq!(r["rootHash"].as_str().unwrap().parse::<B256>().unwrap(), cps[0].root);
        assert_eq!(r["quorum"], true);
        assert!(r["signatures"].as_array().unwrap().len() >= 3, "{v}");
        assert_eq!(r["roots"][0]["name"], "root");
        assert_eq!(r["roots"][0]["status"], "confirmed", "{v}");
        let latest = rpc(u, "bttc_getCheckpoint", serde_json::json!(["latest"])).await;
        assert!(quantity(&latest["result"]["end"]).unwrap() >= last, "{latest}");
        let bad = rpc(u, "bttc_getCheckpoint", serde_json::json!(["soon"])).await;
        assert_eq!(bad["error"]["code"], -32602, "{bad}");
    }
}

/// A root chain process: `bttc node --dev` with 1 s blocks and a datadir, so it can be
/// killed and restarted with its chain.
struct RootProc {
    child: Option<Child>,
    port: u16,
    datadir: PathBuf,
}

impl RootProc {
    fn start(datadir: &Path, port: u16) -> Self {
        let mut r = Self { child: None, port, datadir: datadir.to_path_buf() };
        r.restart();
        r
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_bttc"))
            .args(["node", "--dev", "--block-time", "1", "--chain-id", "31337"])
            .args(["--http.port", &self.port.to_string()])
            .arg("--datadir")
            .arg(&self.datadir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RootProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Waits until `cond` holds on some line of node `i`'s log that was not there before
/// `skip` lines; returns the line.
async fn wait_log(path: &Path, skip: usize, cond: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + T;
    loop {
        let s = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(l) = s.lines().skip(skip).find(|l| cond(l)) {
            return l.to_string();
        }
        assert!(Instant::now() < deadline, "no such line in {}", path.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn log_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map(|s| s.lines().count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_survive_a_killed_submitter_and_a_root_down_for_a_minute() {
    use support::net::TestNet;
    let net = TestNet::build(4, 0, &["--set", "checkpointInterval=4"]);
    let mut root = RootProc::start(&net.dir.path().join("root"), free_port());
    support::net::wait_height(&root.url(), 1, T).await.unwrap();
    // Submitter accounts: dev accounts 1..=4, funded on the dev root.
    let keys = [
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    ];
    let ks_dir = net.dir.path().join("root-keys");
    std::fs::create_dir_all(&ks_dir).unwrap();
    for (i, k) in keys.iter().enumerate() {
        let bytes = alloy_primitives::hex::decode(k).unwrap();
        alloy_signer_local::PrivateKeySigner::encrypt_keystore(
            &ks_dir,
            &mut rand08::thread_rng(),
            &bytes,
            PASSWORD,
            Some(&format!("s{i}.json")),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        let p = ks_dir.join(format!("s{i}.json"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // Validator 0 first (the chain waits for a quorum), then deploy, then the rest.
    let root_flag = |i: usize, rc: Address| {
        vec![
            "--root".to_string(),
            format!(
                "name=dev,rpc_url={},root_chain={rc},keystore={},takeover_secs=3",
                root.url(),
                ks_dir.join(format!("s{i}.json")).display()
            ),
        ]
    };
    // `bttc root deploy` reads the set from a child node: validator 0 alone (no blocks
    // without a quorum), stopped once the contract is deployed.
    let v0 = net.start(0);
    let rc = support::deploy_root_chain(&root.url(), &v0.http);
    v0.kill9();
    let mut nodes: Vec<Option<support::net::NodeProc>> =
        (0..4).map(|i| Some(net.start_with(i, &root_flag(i, rc)))).collect();
    let urls: Vec<String> = nodes.iter().map(|n| n.as_ref().unwrap().http.clone()).collect();

    // Checkpoints land.
    let deadline = Instant::now() + T;
    while last_child_block(&root.url(), rc).await.unwrap_or(0) < 8 {
        assert!(Instant::now() < deadline, "{}", net.log_tail(0));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Kill -9 the validator that has just sent a checkpoint, before it is confirmed.
    let logs: Vec<PathBuf> = (0..4).map(|i| net.node_dir(i).join("node.log")).collect();
    let marks: Vec<usize> = logs.iter().map(|l| log_lines(l)).collect();
    let (victim, line) = tokio::select! {
        l = wait_log(&logs[0], marks[0], |l| l.contains("checkpoint submitted")) => (0, l),
        l = wait_log(&logs[1], marks[1], |l| l.contains("checkpoint submitted")) => (1, l),
        l = wait_log(&logs[2], marks[2], |l| l.contains("checkpoint submitted")) => (2, l),
        l = wait_log(&logs[3], marks[3], |l| l.contains("checkpoint submitted")) => (3, l),
    };
    nodes[victim].take().unwrap().kill9();
    let sent_end: u64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("end="))
        .and_then(|e| e.parse().ok())
        .unwrap();
    let alive: Vec<String> = (0..4).filter(|i| *i != victim).map(|i| urls[i].clone()).collect();
    // The others go on checkpointing (the dead one's turns are taken over).
    let deadline = Instant::now() + T;
    while last_child_block(&root.url(), rc).await.unwrap_or(0) < sent_end + 16 {
        assert!(
            Instant::now() < deadline,
            "after killing {victim}:\n{}",
            net.log_tail((victim + 1) % 4)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The root goes down hard for a minute, then comes back with its chain.
    root.kill9();
    let down_at = head(&alive[0]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let child_head = head(&alive[0]).await.unwrap();
    assert!(child_head > down_at + 30, "the child goes on while the root is down");
    root.restart();
    let deadline = Instant::now() + T;
    while last_child_block(&root.url(), rc).await.unwrap_or(0) < child_head {
        assert!(Instant::now() < deadline, "no catch-up:\n{}", net.log_tail((victim + 1) % 4));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // No duplicate, no gap, every root hash right, on every live node.
    let cps = on_root(&root.url(), rc).await;
    check_sequence("dev root", &cps, &alive).await;
    // Every 4 blocks of an epoch and at its end (block 63 of the 64-block first epoch).
    for c in &cps {
        let first = if c.end < 64 { 1 } else { 64 };
        assert!((c.end + 1 - first) % 4 == 0 || c.end == 63, "{c:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_devnet_checkpoints_to_anvil_and_a_second_root_each_in_its_own_sequence() {
    // Killed however the test ends.
    let Some(anvil) = support::net::anvil() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut second = RootProc::start(&dir.path().join("second"), free_port());
    let anvil_url = anvil.url.clone();
    let net = Devnet::start(
        4,
        &["--set", "checkpointInterval=4", "--root-rpc", &anvil_url, "--root-rpc", &second.url()],
    );
    let roots = net.roots(2).await;
    assert_eq!(roots.len(), 2, "{roots:?}");
    assert_eq!(roots["root0"].0, anvil_url);
    assert_eq!(roots["root1"].0, second.url());
    for (name, (url, rc)) in &roots {
        let deadline = Instant::now() + T;
        while last_child_block(url, *rc).await.unwrap_or(0) < 24 {
            assert!(Instant::now() < deadline, "{name}:\n{}", net.log_tail(0));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    for (name, (url, rc)) in &roots {
        let cps = on_root(url, *rc).await;
        check_sequence(name, &cps, &net.urls).await;
    }
    let v = rpc(&net.urls[0], "bttc_getCheckpoint", serde_json::json!([1])).await;
    let names: Vec<&str> = v["result"]["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["root0", "root1"], "{v}");

    // A reorganisation of anvil drops landed checkpoints: take a snapshot, let more land,
    // revert to it. The submitters see the root back where it was and post them again:
    // the sequence ends complete, without gap or duplicate.
    let (anvil_rc, before) = {
        let rc = roots["root0"].1;
        let snap = rpc(&anvil_url, "evm_snapshot", serde_json::json!([])).await["result"].clone();
        let at = last_child_block(&anvil_url, rc).await.unwrap();
        let deadline = Instant::now() + T;
        while last_child_block(&anvil_url, rc).await.unwrap_or(0) < at + 12 {
            assert!(Instant::now() < deadline, "{}", net.log_tail(0));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let high = last_child_block(&anvil_url, rc).await.unwrap();
        let reverted = rpc(&anvil_url, "evm_revert", serde_json::json!([snap])).await;
        assert_eq!(reverted["result"], true, "{reverted}");
        let now = last_child_block(&anvil_url, rc).await.unwrap();
        assert!(now < high, "the revert dropped checkpoints: {now} vs {high}");
        (rc, high)
    };
    let deadline = Instant::now() + T;
    while last_child_block(&anvil_url, anvil_rc).await.unwrap_or(0) <= before + 4 {
        assert!(
            Instant::now() < deadline,
            "no re-submission after the reorg:\n{}",
            net.log_tail(0)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    check_sequence("anvil after a reorg", &on_root(&anvil_url, anvil_rc).await, &net.urls).await;
    drop(net);
    second.kill9();
}
