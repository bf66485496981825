//! One BlockchainTest: building its genesis, importing its blocks, checking its result.

use crate::exceptions::Expected;
use alloy_primitives::{Address, B256, U256};
use bttc_chain::{Chain, ImportOptions, InitOutcome, import_rlp, init_genesis};
use bttc_storage::{DatabaseEnv, DbOptions, StateProvider};
use serde_json::{Map, Value, json};
use std::{collections::BTreeMap, str::FromStr};

/// Mainnet's deposit contract, used by the EIP-6110 fixtures.
const DEPOSIT_CONTRACT: &str = "0x00000000219ab540356cbb839cbe05303d7705fa";

/// Result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// Everything matched.
    Passed,
    /// Something did not match; the reason says what.
    Failed(String),
    /// The test uses a fork this runner does not configure.
    Skipped(String),
}

fn get<'a>(v: &'a Value, key: &str) -> Result<&'a Value, String> {
    v.get(key).ok_or_else(|| format!("fixture has no `{key}`"))
}

fn as_str<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    get(v, key)?.as_str().ok_or_else(|| format!("fixture `{key}` is not a string"))
}

fn u256(s: &str) -> Result<U256, String> {
    U256::from_str(s).map_err(|e| format!("bad number {s}: {e}"))
}

fn quantity(s: &str) -> Result<String, String> {
    Ok(format!("{:#x}", u256(s)?))
}

fn word(s: &str) -> Result<String, String> {
    Ok(format!("{}", B256::from(u256(s)?)))
}

/// Ethereum's forks in order, each with the genesis `config` keys that schedule it: block
/// forks up to the merge, then timestamp forks.
const FORKS: [(&str, &[&str]); 23] = [
    ("Frontier", &[]),
    ("Homestead", &["homesteadBlock"]),
    ("EIP150", &["eip150Block"]),
    ("EIP158", &["eip155Block", "eip158Block"]),
    ("Byzantium", &["byzantiumBlock"]),
    ("Constantinople", &["constantinopleBlock"]),
    ("ConstantinopleFix", &["petersburgBlock"]),
    ("Istanbul", &["istanbulBlock"]),
    ("MuirGlacier", &["muirGlacierBlock"]),
    ("Berlin", &["berlinBlock"]),
    ("London", &["londonBlock"]),
    ("ArrowGlacier", &["arrowGlacierBlock"]),
    ("GrayGlacier", &["grayGlacierBlock"]),
    ("Paris", &["mergeNetsplitBlock"]),
    ("Shanghai", &["shanghaiTime"]),
    ("Cancun", &["cancunTime"]),
    ("Prague", &["pragueTime"]),
    ("Osaka", &["osakaTime"]),
    ("BPO1", &["bpo1Time"]),
    ("BPO2", &["bpo2Time"]),
    ("BPO3", &["bpo3Time"]),
    ("BPO4", &["bpo4Time"]),
    ("BPO5", &["bpo5Time"]),
];

fn fork_index(name: &str) -> Option<usize> {
    let name = if name == "Merge" { "Paris" } else { name };
    FORKS.iter().position(|(f, _)| *f == name)
}

/// Fork activation of a fixture `network`: every fork up to it at genesis, or for a
/// transition network (`BerlinToLondonAt5`, `CancunToPragueAtTime15k`) the forks after the
/// first one at block 5 or timestamp 15,000. Returns `None` for networks this runner does not
/// know.
fn fork_config(network: &str) -> Option<Map<String, Value>> {
    let (base, transition) = match network.split_once("To") {
        Some((from, rest)) => {
            let (to, at) = if let Some(to) = rest.strip_suffix("AtTime15k") {
                (to, 15_000)
            } else {
                (rest.strip_suffix("At5")?, 5)
            };
            (from, Some((fork_index(to)?, at)))
        }
        None => (network, None),
    };
    let base = fork_index(base)?;
    let mut c = Map::new();
    let mut schedule = |idx: usize, at: u64| {
        for key in FORKS[idx].1 {
            c.insert((*key).into(), json!(at));
        }
    };
    for i in 0..=base {
        schedule(i, 0);
    }
    if let Some((to, at)) = transition {
        if to <= base {
            return None;
        }
        for i in base + 1..=to {
            schedule(i, at);
        }
    }
    let paris = fork_index("Paris").expect("listed");
    if c.contains_key(FORKS[paris].1[0]) {
        c.insert("terminalTotalDifficulty".into(), json!(0));
    }
    Some(c)
}

/// Builds the geth-format genesis JSON of a fixture test.
pub fn genesis_json(test: &Value) -> Result<Option<String>, String> {
    let network = as_str(test, "network")?;
    let Some(mut config) = fork_config(network) else { return Ok(None) };
    let cfg = test.get("config");
    let chain_id = match cfg.and_then(|c| c.get("chainid")).and_then(Value::as_str) {
        Some(id) => u256(id)?.to::<u64>(),
        None => 1,
    };
    config.insert("chainId".into(), json!(chain_id));
    config.insert("depositContractAddress".into(), json!(DEPOSIT_CONTRACT));
    if let Some(schedule) = cfg.and_then(|c| c.get("blobSchedule")).and_then(Value::as_object) {
        let mut out = Map::new();
        for (fork, p) in schedule {
            let n = |k: &str| -> Result<u64, String> {
                Ok(u256(
                    p.get(k).and_then(Value::as_str).ok_or(format!("blobSchedule.{fork}.{k}"))?,
                )?
                .to())
            };
            out.insert(
                fork.to_lowercase(),
                json!({"target": n("target")?, "max": n("max")?, "baseFeeUpdateFraction": n("baseFeeUpdateFraction")?}),
            );
        }
        config.insert("blobSchedule".into(), Value::Object(out));
    }
    let h = get(test, "genesisBlockHeader")?;
    let mut alloc = Map::new();
    for (addr, acc) in get(test, "pre")?.as_object().ok_or("pre is not an object")? {
        let mut a = Map::new();
        a.insert("balance".into(), json!(quantity(as_str(acc, "balance")?)?));
        a.insert("nonce".into(), json!(quantity(as_str(acc, "nonce")?)?));
        let code = as_str(acc, "code")?;
        if code != "0x" && !code.is_empty() {
            a.insert("code".into(), json!(code));
        }
        let mut storage = Map::new();
        for (k, v) in acc.get("storage").and_then(Value::as_object).into_iter().flatten() {
            storage.insert(word(k)?, json!(word(v.as_str().ok_or("storage value")?)?));
        }
        if !storage.is_empty() {
            a.insert("storage".into(), Value::Object(storage));
        }
        alloc.insert(addr.clone(), Value::Object(a));
    }
    let mut g = Map::new();
    g.insert("config".into(), Value::Object(config));
    g.insert("nonce".into(), json!(as_str(h, "nonce")?));
    g.insert("timestamp".into(), json!(quantity(as_str(h, "timestamp")?)?));
    g.insert("extraData".into(), json!(as_str(h, "extraData")?));
    g.insert("gasLimit".into(), json!(quantity(as_str(h, "gasLimit")?)?));
    g.insert("difficulty".into(), json!(quantity(as_str(h, "difficulty")?)?));
    g.insert("mixHash".into(), json!(as_str(h, "mixHash")?));
    g.insert("coinbase".into(), json!(as_str(h, "coinbase")?));
    for (from, to) in [
        ("baseFeePerGas", "baseFeePerGas"),
        ("excessBlobGas", "excessBlobGas"),
        ("blobGasUsed", "blobGasUsed"),
    ] {
        if let Some(v) = h.get(from).and_then(Value::as_str) {
            g.insert(to.into(), json!(quantity(v)?));
        }
    }
    g.insert("alloc".into(), Value::Object(alloc));
    serde_json::to_string(&Value::Object(g)).map(Some).map_err(|e| e.to_string())
}

fn hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s.trim_start_matches("0x")).map_err(|e| format!("bad hex: {e}"))
}

/// Runs one test in a fresh database under `tmp`.
pub fn run_test(test: &Value, tmp: &std::path::Path) -> TestOutcome {
    match run_inner(test, tmp) {
        Ok(o) => o,
        Err(e) => TestOutcome::Failed(e),
    }
}

fn run_inner(test: &Value, tmp: &std::path::Path) -> Result<TestOutcome, String> {
    let Some(genesis) = genesis_json(test)? else {
        return Ok(TestOutcome::Skipped(format!(
            "network {} not configured",
            as_str(test, "network")?
        )));
    };
    let db = DatabaseEnv::open(tmp, DbOptions::ephemeral()).map_err(|e| e.to_string())?;
    let want_genesis = B256::from_str(as_str(get(test, "genesisBlockHeader")?, "hash")?)
        .map_err(|e| e.to_string())?;
    match init_genesis(&db, &genesis).map_err(|e| format!("init: {e}"))? {
        InitOutcome::Written { hash, .. } if hash == want_genesis => {}
        other => {
            return Ok(TestOutcome::Failed(format!(
                "genesis hash: got {other:?}, expected {want_genesis}"
            )));
        }
    }
    let chain = Chain::open(db.clone()).map_err(|e| e.to_string())?;
    let opts = ImportOptions::default();
    for (i, block) in
        get(test, "blocks")?.as_array().ok_or("blocks is not an array")?.iter().enumerate()
    {
        let expect_exception = block.get("expectException").and_then(Value::as_str);
        let expected = match expect_exception.map(crate::exceptions::expected_classes) {
            Some(Err(e)) => return Ok(TestOutcome::Failed(format!("block {i}: {e}"))),
            Some(Ok(classes)) => Some(classes),
            None => None,
        };
        let rlp = match hex_bytes(as_str(block, "rlp")?) {
            Ok(b) => b,
            // Not even hex: nothing to import, which only a decoding failure may expect.
            Err(e) => match &expected {
                Some(classes) if classes.contains(&Expected::Decode) => continue,
                _ => return Ok(TestOutcome::Failed(format!("block {i}: {e}"))),
            },
        };
        let head_before = chain.head().map_err(|e| e.to_string())?;
        let result = import_rlp(&chain, &rlp, &opts, |_| {});
        match (result, expect_exception) {
            (Ok(_), None) => {}
            (Err(e), None) => return Ok(TestOutcome::Failed(format!("block {i} rejected: {e}"))),
            (Ok(_), Some(ex)) => {
                return Ok(TestOutcome::Failed(format!(
                    "block {i} accepted but expected exception {ex}"
                )));
            }
            (Err(e), Some(ex)) => {
                let classes = expected.as_ref().expect("parsed with expect_exception");
                match crate::exceptions::class_of(&e) {
                    Some(class) if classes.contains(&class) => {}
                    _ if classes.contains(&Expected::Transaction)
                        && crate::exceptions::legacy_transactions_root(test, &e) => {}
                    got => {
                        return Ok(TestOutcome::Failed(format!(
                            "block {i} rejected as {got:?}, expected {ex} ({classes:?}): {e}"
                        )));
                    }
                }
                let head_after = chain.head().map_err(|e| e.to_string())?;
                if head_after != head_before {
                    return Ok(TestOutcome::Failed(format!(
                        "block {i} rejected but head moved from {} to {}",
                        head_before.hash, head_after.hash
                    )));
                }
            }
        }
    }
    let head = chain.head().map_err(|e| e.to_string())?;
    let want_head = B256::from_str(as_str(test, "lastblockhash")?).map_err(|e| e.to_string())?;
    if head.hash != want_head {
        return Ok(TestOutcome::Failed(format!(
            "head: got {} (number {}), expected {want_head}",
            head.hash, head.number
        )));
    }
    let ro = db.ro().map_err(|e| e.to_string())?;
    if let Some(post) = test.get("postState").and_then(Value::as_object) {
        if let Err(e) = check_post_state(&ro, post) {
            return Ok(TestOutcome::Failed(e));
        }
    } else if let Some(h) = test.get("postStateHash").and_then(Value::as_str) {
        let header =
            ro.header(head.number).map_err(|e| e.to_string())?.ok_or("head header missing")?;
        let want = B256::from_str(h).map_err(|e| e.to_string())?;
        if header.state_root != want {
            return Ok(TestOutcome::Failed(format!(
                "post state root: got {}, expected {want}",
                header.state_root
            )));
        }
    }
    Ok(TestOutcome::Passed)
}

fn check_post_state(
    ro: &bttc_storage::Provider<bttc_storage::Ro>,
    post: &Map<String, Value>,
) -> Result<(), String> {
    let accounts =
        ro.table_stats(bttc_storage::Table::PlainAccountState).map_err(|e| e.to_string())?.entries;
    if accounts != post.len() {
        return Err(format!("post state: {accounts} accounts stored, expected {}", post.len()));
    }
    for (addr, want) in post {
        let address = Address::from_str(addr).map_err(|e| e.to_string())?;
        let acc = ro
            .account(&address)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("post state: account {addr} missing"))?;
        let nonce = u256(as_str(want, "nonce")?)?;
        let balance = u256(as_str(want, "balance")?)?;
        if U256::from(acc.nonce) != nonce || acc.balance != balance {
            return Err(format!(
                "post state {addr}: nonce/balance got {}/{}, expected {nonce}/{balance}",
                acc.nonce, acc.balance
            ));
        }
        let code = hex_bytes(as_str(want, "code")?)?;
        let stored_code = if acc.has_code() {
            ro.bytecode(&acc.code_hash)
                .map_err(|e| e.to_string())?
                .map(|b| b.to_vec())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        if stored_code != code {
            return Err(format!(
                "post state {addr}: code differs ({} bytes stored, {} expected)",
                stored_code.len(),
                code.len()
            ));
        }
        let mut want_storage = BTreeMap::new();
        for (k, v) in want.get("storage").and_then(Value::as_object).into_iter().flatten() {
            let v = u256(v.as_str().ok_or("storage value")?)?;
            if !v.is_zero() {
                want_storage.insert(B256::from(u256(k)?), v);
            }
        }
        let stored = ro.plain_storage_of(&address).map_err(|e| e.to_string())?;
        if stored != want_storage {
            return Err(format!(
                "post state {addr}: storage differs: stored {stored:?}, expected {want_storage:?}"
            ));
        }
    }
    Ok(())
}
