//! The execution-apis conformance suite (the `tests/` of ethereum/execution-apis, which hive's
//! `rpc-compat` simulator runs against geth, reth, nethermind, ...), run in-process.
//!
//! `execution-apis/chain.rlp` (a chain through every fork up to Osaka and the BPO forks) is
//! imported on a temp dir from `execution-apis/genesis.json`, then every `.io` file is replayed
//! in path order, as hive does: each `>>` request goes to the method table and the answer is
//! compared with the `<<` line recorded from geth:
//!
//! - a result must equal geth's exactly (as JSON values); `speconly` tests only need a
//!   result where geth has one (hive checks those against the schema only);
//! - an error must have geth's code and geth's `data` (or none when geth sends none).
//!   Messages are not compared: their wording is not part of the specification.
//!
//! `execution-apis/known-failures.txt` lists the tests that do not pass, each with the reason.
//! The test fails when another test fails, and also when a listed test passes (so the list
//! stays true).

use bttc_chain::{ImportOptions, import_rlp, init_genesis};
use bttc_rpc::{ChainEvents, RpcConfig, RpcContext, rpc_module};
use bttc_storage::{DatabaseEnv, DbOptions};
use bttc_txpool::{PoolConfig, TxPool};
use jsonrpsee::RpcModule;
use serde_json::Value;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/execution-apis")
}

/// Every `.io` file under `dir`, by path relative to `dir` without the extension.
fn io_files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for method in std::fs::read_dir(dir).unwrap() {
        let method = method.unwrap().path();
        if !method.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&method).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "io") {
                let name = format!(
                    "{}/{}",
                    method.file_name().unwrap().to_str().unwrap(),
                    file.file_stem().unwrap().to_str().unwrap()
                );
                out.insert(name, std::fs::read_to_string(&file).unwrap());
            }
        }
    }
    out
}

/// `known-failures.txt`: `method/test  reason`, `#` comments.
fn known_failures(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("known-failures.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (name.to_string(), reason.trim().to_string())
        })
        .collect()
}

/// Why `got` is not the answer `want` geth gave, if it is not.
fn mismatch(got: &Value, want: &Value, spec_only: bool) -> Option<String> {
    match (want.get("error"), got.get("error")) {
        (Some(w), Some(g)) => {
            if w["code"] != g["code"] {
                return Some(format!("error code {} instead of {}: {g}", g["code"], w["code"]));
            }
            if w.get("data") != g.get("data") {
                return Some(format!(
                    "error data {:?} instead of {:?}",
                    g.get("data"),
                    w.get("data")
                ));
            }
            None
        }
        (Some(w), None) => Some(format!("a result instead of the error {w}: {}", got["result"])),
        (None, Some(g)) => Some(format!("the error {g}")),
        (None, None) if spec_only => (want["result"].is_null() != got["result"].is_null())
            .then(|| format!("result {} instead of {}", got["result"], want["result"])),
        (None, None) => difference(&got["result"], &want["result"], "result"),
    }
}

/// The first place where `got` differs from `want`, as a JSON path and both values.
fn difference(got: &Value, want: &Value, path: &str) -> Option<String> {
    let short = |v: &Value| {
        let s = v.to_string();
        if s.len() > 200 { format!("{}...", &s[..200]) } else { s }
    };
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => {
                        if let Some(d) = difference(gv, wv, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k} missing (want {})", short(wv))),
                }
            }
            g.keys()
                .find(|k| !w.contains_key(*k))
                .map(|k| format!("{path}.{k} not expected (got {})", short(&g[k])))
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => g
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (gv, wv))| difference(gv, wv, &format!("{path}[{i}]"))),
        _ => (got != want).then(|| format!("{path}: got {} want {}", short(got), short(want))),
    }
}

/// Imports `chain.rlp` through `bttc import`'s path (every block fully checked, pre-Byzantium
/// receipts roots included); returns the head.
fn import(chain: &bttc_staking::NodeChain, rlp: &[u8]) -> u64 {
    match import_rlp(chain, rlp, &ImportOptions::default(), |_| {}) {
        Ok(summary) => summary.head.number,
        Err(e) => panic!("chain.rlp does not import: {e}"),
    }
}

/// The suite's chain imported on a temp dir (kept alive by the returned guard), served by the
/// method table.
fn suite_chain() -> (tempfile::TempDir, RpcModule<Arc<RpcContext>>) {
    let dir = suite_dir();
    let tmp = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(tmp.path(), DbOptions::ephemeral()).unwrap();
    init_genesis(&db, &std::fs::read_to_string(dir.join("genesis.json")).unwrap()).unwrap();
    let chain = bttc_staking::open_chain(db).unwrap();
    let rlp = std::fs::read(dir.join("chain.rlp")).unwrap();
    assert_eq!(import(&chain, &rlp), 0x36, "the suite's head (headfcu.json) is block 54");
    let pool = Arc::new(TxPool::new(PoolConfig::default()));
    let config = RpcConfig { debug: true, ..Default::default() };
    let ctx = RpcContext::new(chain, pool, config, ChainEvents::default());
    (tmp, rpc_module(Arc::new(ctx)).unwrap())
}

async fn request(module: &RpcModule<Arc<RpcContext>>, method: &str, params: Value) -> Value {
    let req = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (resp, _) = module.raw_json_request(&req.to_string(), 1).await.unwrap();
    serde_json::from_str(resp.get()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_osaka_default_to_its_transaction_gas_cap() {
    use serde_json::json;
    let (_tmp, module) = suite_chain();
    // Code that returns the gas it has left (GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN).
    let gauge = "0x00000000000000000000000000000000000000a1";
    let code = json!({gauge: {"code": "0x5a60005260206000f3"}});
    let left = |r: &Value| {
        let hex = r["result"].as_str().unwrap_or_else(|| panic!("{r}"));
        u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap()
    };
    // Without `gas`: EIP-7825's 2^24 (below the 50M gas cap and the 100M block gas limit).
    let r = request(&module, "eth_call", json!([{"to": gauge}, "latest", code])).await;
    let got = left(&r);
    assert!(got < 1 << 24 && got > (1 << 24) - 30_000, "{got}");
    // With `gas` above the cap the call runs, as geth's calls skip transaction checks.
    let r =
        request(&module, "eth_call", json!([{"to": gauge, "gas": "0x1c9c380"}, "latest", code]))
            .await;
    assert!(left(&r) > 1 << 24, "{r}");
    // An estimate never goes above the cap.
    let r = request(&module, "eth_estimateGas", json!([{"to": gauge, "gas": "0x1c9c380"}])).await;
    assert!(r["result"].is_string(), "{r}");
    let spin = json!({"0x00000000000000000000000000000000000000a2": {"code": "0x5b600056"}});
    let r = request(
        &module,
        "eth_estimateGas",
        json!([{"to": "0x00000000000000000000000000000000000000a2"}, "latest", spin]),
    )
    .await;
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("allowance ({})", 1u64 << 24)), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_apis_conformance() {
    let dir = suite_dir();
    let (_tmp, module) = suite_chain();

    let known = known_failures(&dir);
    let mut failed = BTreeMap::new();
    let mut passed = Vec::new();
    let tests = io_files(&dir);
    for (name, script) in &tests {
        let spec_only = script.lines().any(|l| l.starts_with("//") && l.contains("speconly"));
        let mut got: Option<Value> = None;
        let mut why = None;
        for line in script.lines().map(str::trim) {
            if let Some(req) = line.strip_prefix(">> ") {
                let (resp, _) = module.raw_json_request(req, 1).await.unwrap();
                got = Some(serde_json::from_str(resp.get()).unwrap());
            } else if let Some(want) = line.strip_prefix("<< ") {
                let want: Value = serde_json::from_str(want).unwrap();
                let answer = got.take().expect("a response follows a request");
                if why.is_none() {
                    why = mismatch(&answer, &want, spec_only);
                }
            }
        }
        match why {
            Some(why) => {
                failed.insert(name.clone(), why);
            }
            None => passed.push(name.clone()),
        }
    }
    let unexpected: Vec<_> = failed.iter().filter(|(n, _)| !known.contains_key(*n)).collect();
    let fixed: Vec<_> = passed.iter().filter(|n| known.contains_key(*n)).collect();
    let missing: Vec<_> = known.keys().filter(|n| !tests.contains_key(*n)).collect();
    eprintln!(
        "execution-apis: {} passed, {} failed ({} known) of {}",
        passed.len(),
        failed.len(),
        failed.len() - unexpected.len(),
        tests.len()
    );
    for (name, why) in &unexpected {
        eprintln!("FAIL {name}: {why}");
    }
    assert!(
        unexpected.is_empty() && fixed.is_empty() && missing.is_empty(),
        "{} unexpected failures (above); passing but listed in known-failures.txt: {fixed:?}; \
         listed but not in the suite: {missing:?}",
        unexpected.len()
    );
}
