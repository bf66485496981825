//! The JSON-RPC method table called in-process over a real chain on a temp dir: the methods
//! the process-level tests do not reach (fee history, access lists, simulation, overrides,
//! proofs, raw getters, block traces, EIP-1898 block ids).

use alloy_primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy_rlp::Decodable;
use bttc_chain::init_genesis;
use bttc_node::{DEV_CHAIN_ID, DevProducer, dev_accounts, dev_genesis};
use bttc_primitives::Block;
use bttc_rpc::{ChainEvents, RpcConfig, RpcContext, rpc_module};
use bttc_storage::{DatabaseEnv, DbOptions};
use bttc_txpool::{PoolConfig, TxPool};
use jsonrpsee::RpcModule;
use serde_json::{Value, json};
use std::sync::Arc;

const ETH: u128 = 1_000_000_000_000_000_000;
const DEV0: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const DEV1: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");

struct Env {
    _dir: tempfile::TempDir,
    module: RpcModule<Arc<RpcContext>>,
    producer: DevProducer,
    time: std::cell::Cell<u64>,
}

impl Env {
    fn new() -> Self {
        Self::with(RpcConfig { debug: true, ..Default::default() }, |ctx| ctx)
    }

    /// A chain with `config`, the context made as `setup` says.
    fn with(config: RpcConfig, setup: impl FnOnce(RpcContext) -> RpcContext) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
        let accounts = dev_accounts(2);
        init_genesis(&db, &dev_genesis(DEV_CHAIN_ID, &accounts, U256::from(100 * ETH)).unwrap())
            .unwrap();
        let chain = bttc_staking::open_chain(db).unwrap();
        let pool = Arc::new(TxPool::new(PoolConfig::default()));
        let signers = accounts
            .iter()
            .map(|a| alloy_signer_local::PrivateKeySigner::from_bytes(&a.private_key).unwrap());
        let ctx = RpcContext::new(chain.clone(), pool.clone(), config, ChainEvents::default())
            .with_signers(signers);
        let module = rpc_module(Arc::new(setup(ctx))).unwrap();
        let producer =
            DevProducer::new(chain, pool, address!("00000000000000000000000000000000000c0ffe"));
        Self { _dir: dir, module, producer, time: 1_000.into() }
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        let (resp, _) = self
            .module
            .raw_json_request(
                &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
                1,
            )
            .await
            .unwrap();
        let v: Value = serde_json::from_str(resp.get()).unwrap();
        v
    }

    async fn ok(&self, method: &str, params: Value) -> Value {
        let v = self.call(method, params).await;
        assert!(v.get("error").is_none(), "{method}: {v}");
        v["result"].clone()
    }

    fn mine(&self) -> u64 {
        self.time.set(self.time.get() + 2);
        self.producer.mine(self.time.get()).unwrap().number
    }

    /// Sends from an unlocked account and mines; returns the receipt.
    async fn send(&self, tx: Value) -> Value {
        let hash = self.ok("eth_sendTransaction", json!([tx])).await;
        self.mine();
        self.ok("eth_getTransactionReceipt", json!([hash])).await
    }

    async fn deploy_store(&self) -> Address {
        let r = self.send(json!({"from": DEV0, "data": store_bytecode()})).await;
        assert_eq!(r["status"], "0x1");
        r["contractAddress"].as_str().unwrap().parse().unwrap()
    }
}

fn store_bytecode() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/artifacts/Store.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["bytecode"].as_str().unwrap().to_string()
}

/// `set(uint256)` calldata.
fn set_call(v: u64) -> String {
    format!("0x60fe47b1{:064x}", v)
}

fn num(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test]
async fn fee_history_gas_price_and_simple_reads() {
    let env = Env::new();
    for i in 0..3 {
        env.send(json!({"from": DEV0, "to": DEV1, "value": format!("{:#x}", i + 1)})).await;
    }
    env.mine();
    let h = env.ok("eth_feeHistory", json!(["0x4", "latest", [25.0, 75.0]])).await;
    assert_eq!(num(&h["oldestBlock"]), 1);
    assert_eq!(h["baseFeePerGas"].as_array().unwrap().len(), 5, "4 blocks + the next");
    assert_eq!(h["gasUsedRatio"].as_array().unwrap().len(), 4);
    let rewards = h["reward"].as_array().unwrap();
    assert_eq!(rewards.len(), 4);
    assert!(num(&rewards[0][0]) > 0, "a block with a tip reports it");
    assert_eq!(rewards[3], json!(["0x0", "0x0"]), "an empty block reports zeros");
    let bad = env.call("eth_feeHistory", json!(["0x4", "latest", [75.0, 25.0]])).await;
    assert_eq!(bad["error"]["code"], -32602);
    // Base fee falls on empty blocks; gas price is at least the next base fee.
    let price = num(&env.ok("eth_gasPrice", json!([])).await);
    let next_base = num(h["baseFeePerGas"].as_array().unwrap().last().unwrap());
    assert!(price > next_base);
    assert_eq!(env.ok("web3_sha3", json!(["0x68656c6c6f"])).await, json!(keccak256(b"hello")));
    assert_eq!(env.ok("net_version", json!([])).await, json!(DEV_CHAIN_ID.to_string()));
    // A dev node has no peers, so none banned.
    assert_eq!(env.ok("net_peerCount", json!([])).await, "0x0");
    assert_eq!(env.ok("bttc_bannedPeers", json!([])).await, json!([]));
    assert_eq!(env.ok("eth_getUncleCountByBlockNumber", json!(["0x1"])).await, "0x0");
    assert_eq!(env.ok("eth_getBlockTransactionCountByNumber", json!(["0x1"])).await, "0x1");
    // Transfer estimate is exactly 21000.
    let est = env.ok("eth_estimateGas", json!([{"from": DEV0, "to": DEV1, "value": "0x1"}])).await;
    assert_eq!(num(&est), 21_000);
    // EIP-1898 block ids.
    let b1 = env.ok("eth_getBlockByNumber", json!(["0x1", false])).await;
    // Served again (from the block cache), by hash, and with full transactions (cached apart).
    assert_eq!(env.ok("eth_getBlockByNumber", json!(["0x1", false])).await, b1);
    assert_eq!(env.ok("eth_getBlockByHash", json!([b1["hash"], false])).await, b1);
    assert!(b1["transactions"][0].is_string());
    let full = env.ok("eth_getBlockByNumber", json!(["0x1", true])).await;
    assert!(full["transactions"][0].is_object());
    assert_eq!(full["transactions"][0]["hash"], b1["transactions"][0]);
    assert_eq!(env.ok("eth_getBlockByHash", json!([b1["hash"], true])).await, full);
    let by_hash = env
        .ok("eth_getBalance", json!([DEV1, {"blockHash": b1["hash"], "requireCanonical": true}]))
        .await;
    let by_num = env.ok("eth_getBalance", json!([DEV1, {"blockNumber": "0x1"}])).await;
    assert_eq!(by_hash, by_num);
    let balance: U256 = by_num.as_str().unwrap().parse().unwrap();
    assert_eq!(balance, U256::from(100 * ETH + 1));
}

#[tokio::test]
async fn access_lists_overrides_and_simulation() {
    let env = Env::new();
    let store = env.deploy_store().await;
    let set = set_call(5);
    let al =
        env.ok("eth_createAccessList", json!([{"from": DEV0, "to": store, "data": set}])).await;
    let list = al["accessList"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["address"].as_str().unwrap().parse::<Address>().unwrap(), store);
    assert_eq!(list[0]["storageKeys"], json!([B256::ZERO]));
    assert!(num(&al["gasUsed"]) > 21_000);

    // State override: a different value in slot 0; block override: nothing breaks.
    let get = json!({"to": store, "data": "0x6d4ce63c"});
    let overridden = env
        .ok(
            "eth_call",
            json!([get, "latest", {format!("{store:#x}"): {"stateDiff": {format!("{:#066x}", 0): format!("{:#066x}", 99)}}}, {"time": "0x99999"}]),
        )
        .await;
    assert_eq!(overridden, json!(format!("{:#066x}", 99)));
    // Balance override lets a poor account call with value.
    let poor = Address::repeat_byte(0x77);
    let r =
        env.call("eth_call", json!([{"from": poor, "to": DEV1, "value": "0x10"}, "latest"])).await;
    assert!(r["error"]["message"].as_str().unwrap().contains("insufficient funds"), "{r}");
    env.ok(
        "eth_call",
        json!([{"from": poor, "to": DEV1, "value": "0x10"}, "latest", {format!("{poor:#x}"): {"balance": "0x100"}}]),
    )
    .await;

    // simulateV1: the second call sees the first, the third reverts with its reason.
    let sim = env
        .ok(
            "eth_simulateV1",
            json!([{"blockStateCalls": [{"calls": [
                {"from": DEV0, "to": store, "data": set_call(11)},
                {"from": DEV0, "to": store, "data": "0x6d4ce63c"},
                {"from": DEV0, "to": store, "data": set_call(13)},
            ]}]}, "latest"]),
        )
        .await;
    let calls = sim[0]["calls"].as_array().unwrap();
    assert_eq!(calls[0]["status"], "0x1");
    assert_eq!(calls[0]["logs"].as_array().unwrap().len(), 1);
    assert_eq!(calls[1]["returnData"], json!(format!("{:#066x}", 11)));
    assert_eq!(calls[2]["status"], "0x0");
    assert_eq!(calls[2]["error"]["message"], "execution reverted: unlucky number");
    // Nothing of that reached the chain.
    let real = env.ok("eth_call", json!([get, "latest"])).await;
    assert_eq!(real, json!(format!("{:#066x}", 0)));
}

#[tokio::test]
async fn proofs_raw_getters_and_block_traces() {
    let env = Env::new();
    let store = env.deploy_store().await;
    let r = env.send(json!({"from": DEV0, "to": store, "data": set_call(3)})).await;
    let number = num(&r["blockNumber"]);
    let block = env.ok("eth_getBlockByNumber", json!([format!("{number:#x}"), false])).await;
    let state_root: B256 = block["stateRoot"].as_str().unwrap().parse().unwrap();

    // eth_getProof verifies against the state root with alloy-trie.
    let p = env.ok("eth_getProof", json!([store, [B256::ZERO], "latest"])).await;
    let proof: Vec<Bytes> = serde_json::from_value(p["accountProof"].clone()).unwrap();
    let account = alloy_trie::TrieAccount {
        nonce: num(&p["nonce"]),
        balance: U256::ZERO,
        storage_root: p["storageHash"].as_str().unwrap().parse().unwrap(),
        code_hash: p["codeHash"].as_str().unwrap().parse().unwrap(),
    };
    alloy_trie::proof::verify_proof(
        state_root,
        alloy_trie::Nibbles::unpack(keccak256(store)),
        Some(alloy_rlp::encode(account)),
        &proof,
    )
    .expect("account proof verifies against the state root");
    let sproof: Vec<Bytes> = serde_json::from_value(p["storageProof"][0]["proof"].clone()).unwrap();
    alloy_trie::proof::verify_proof(
        account.storage_root,
        alloy_trie::Nibbles::unpack(keccak256(B256::ZERO)),
        Some(alloy_rlp::encode(U256::from(3))),
        &sproof,
    )
    .expect("storage proof verifies against the storage root");
    let past = env.call("eth_getProof", json!([store, [], "0x1"])).await;
    assert!(past["error"]["message"].as_str().unwrap().contains("head block"), "{past}");

    // Raw getters round-trip.
    let raw: Bytes =
        serde_json::from_value(env.ok("debug_getRawBlock", json!(["latest"])).await).unwrap();
    let decoded = Block::decode(&mut raw.as_ref()).unwrap();
    assert_eq!(json!(decoded.header.hash_slow()), block["hash"]);
    let raw_header: Bytes =
        serde_json::from_value(env.ok("debug_getRawHeader", json!(["latest"])).await).unwrap();
    assert_eq!(keccak256(&raw_header), decoded.header.hash_slow());
    let receipts = env.ok("debug_getRawReceipts", json!(["latest"])).await;
    assert_eq!(receipts.as_array().unwrap().len(), 1);
    let raw_tx = env.ok("debug_getRawTransaction", json!([r["transactionHash"]])).await;
    let raw_tx: Bytes = serde_json::from_value(raw_tx).unwrap();
    assert_eq!(json!(keccak256(&raw_tx)), r["transactionHash"]);

    // Block traces: one result per transaction, with its hash.
    let traces = env
        .ok("debug_traceBlockByNumber", json!([format!("{number:#x}"), {"tracer": "callTracer"}]))
        .await;
    let traces = traces.as_array().unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0]["txHash"], r["transactionHash"]);
    assert_eq!(traces[0]["result"]["type"], "CALL");
    let call_trace = env
        .ok("debug_traceCall", json!([{"from": DEV0, "to": store, "data": set_call(13)}, "latest", {"tracer": "callTracer"}]))
        .await;
    assert_eq!(call_trace["error"], "execution reverted");
    let bad =
        env.call("debug_traceTransaction", json!([r["transactionHash"], {"tracer": "nope"}])).await;
    assert!(bad["error"].is_object());
}

#[tokio::test]
async fn gas_price_is_never_below_the_latest_base_fee() {
    let env = Env::new();
    // A transaction with a 1 wei tip makes the suggested tip 1 wei (the pool's minimum) ...
    let cheap = json!({"from": DEV0, "to": DEV1, "value": "0x1",
                       "maxPriorityFeePerGas": "0x1", "maxFeePerGas": "0x77359400"});
    assert_eq!(env.send(cheap).await["status"], "0x1");
    assert_eq!(num(&env.ok("eth_maxPriorityFeePerGas", json!([])).await), 1);
    // ... and an empty block makes the base fee fall: the next block's is below the latest's.
    env.mine();
    let latest = env.ok("eth_getBlockByNumber", json!(["latest", false])).await;
    let latest_base = num(&latest["baseFeePerGas"]);
    let history = env.ok("eth_feeHistory", json!(["0x1", "latest"])).await;
    let next_base = num(&history["baseFeePerGas"][1]);
    assert!(next_base < latest_base, "{next_base} < {latest_base}");
    let price = num(&env.ok("eth_gasPrice", json!([])).await);
    assert_eq!(price, latest_base + 1, "the latest base fee plus the tip");
    // A call and an estimate priced with it run on the latest block ...
    let priced =
        json!({"from": DEV0, "to": DEV1, "value": "0x1", "gasPrice": format!("{price:#x}")});
    env.ok("eth_call", json!([priced, "latest"])).await;
    assert_eq!(num(&env.ok("eth_estimateGas", json!([priced])).await), 21_000);
    // ... and a legacy transaction priced with it is accepted and mined.
    let r = env.send(priced).await;
    assert_eq!((r["type"].as_str(), r["status"].as_str()), (Some("0x0"), Some("0x1")));
    // eth_baseFee is the next block's base fee, as eth_feeHistory's last entry.
    let history = env.ok("eth_feeHistory", json!(["0x1", "latest"])).await;
    assert_eq!(env.ok("eth_baseFee", json!([])).await, history["baseFeePerGas"][1]);
}

#[tokio::test]
async fn simulate_shares_the_gas_cap_and_checks_block_numbers_and_times() {
    let env = Env::with(RpcConfig { gas_cap: 100_000, ..Default::default() }, |ctx| ctx);
    let sim = |blocks: Value| json!([{"blockStateCalls": blocks}, "latest"]);
    let t = json!({"from": DEV0, "to": DEV1, "value": "0x1"});
    // Four transfers fit in the 100,000 gas cap, in one block or several ...
    let r = env.ok("eth_simulateV1", sim(json!([{"calls": [t, t]}, {"calls": [t, t]}]))).await;
    assert_eq!(r[1]["calls"][1]["status"], "0x1");
    // ... a fifth has 16,000 left, less than a transfer's intrinsic gas.
    let r = env.call("eth_simulateV1", sim(json!([{"calls": [t, t, t]}, {"calls": [t, t]}]))).await;
    assert_eq!(r["error"]["code"], -38013, "{r}");
    // A call that would run on gets what is left of the cap, and says so.
    let looping = Address::repeat_byte(0x10);
    let code = json!({format!("{looping:#x}"): {"code": "0x5b600056"}});
    let spin = json!({"from": DEV0, "to": looping});
    let r = env.ok("eth_simulateV1", sim(json!([{"stateOverrides": code, "calls": [spin]}]))).await;
    let call = &r[0]["calls"][0];
    assert_eq!((call["status"].as_str(), num(&call["gasUsed"])), (Some("0x0"), 100_000));
    assert_eq!(call["error"]["code"], -32015);
    let message = call["error"]["message"].as_str().unwrap();
    assert!(message.contains("capped by the RPC server's global gas cap"), "{message}");

    // Block numbers and times must increase, and stay within 256 blocks of the base.
    let over = |o: Value| sim(json!([{"blockOverrides": o}, {}]));
    let r = env.call("eth_simulateV1", over(json!({"time": "0xffffffffffffffff"}))).await;
    assert_eq!(r["error"]["code"], -32602, "the next block's time overflows: {r}");
    let r = env.call("eth_simulateV1", over(json!({"number": "0xffffffffffffffff"}))).await;
    assert_eq!(r["error"]["code"], -38026, "{r}");
    let r = env.call("eth_simulateV1", over(json!({"number": "0x10000000000000000"}))).await;
    assert_eq!(r["error"]["code"], -38026, "{r}");
    let twice =
        sim(json!([{"blockOverrides": {"number": "0x5"}}, {"blockOverrides": {"number": "0x5"}}]));
    assert_eq!(env.call("eth_simulateV1", twice).await["error"]["code"], -38020);
    let back = sim(
        json!([{"blockOverrides": {"time": "0x100000"}}, {"blockOverrides": {"time": "0x10"}}]),
    );
    assert_eq!(env.call("eth_simulateV1", back).await["error"]["code"], -38021);
    // A gap in the numbers is filled with empty blocks.
    let r = env.ok("eth_simulateV1", sim(json!([{"blockOverrides": {"number": "0x4"}}]))).await;
    let numbers: Vec<u64> = r.as_array().unwrap().iter().map(|b| num(&b["number"])).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
}

#[tokio::test]
async fn txpool_content_from_a_sender_without_transactions_is_empty() {
    let env = Env::new();
    let r = env.ok("txpool_contentFrom", json!([DEV1])).await;
    assert_eq!(r, json!({"pending": {}, "queued": {}}));
}

/// A sync source that is always behind.
#[derive(Debug)]
struct Behind;

impl bttc_rpc::SyncSource for Behind {
    fn progress(&self, current: u64) -> Option<bttc_rpc::SyncProgress> {
        Some(bttc_rpc::SyncProgress {
            starting_block: 0,
            current_block: current,
            highest_block: current + 100,
        })
    }
}

#[tokio::test]
async fn syncing_reports_progress_from_the_sync_source() {
    let dev = Env::new();
    assert_eq!(dev.ok("eth_syncing", json!([])).await, json!(false), "a dev node never syncs");
    let env = Env::with(RpcConfig::default(), |ctx| ctx.with_sync(Arc::new(Behind)));
    env.mine();
    let r = env.ok("eth_syncing", json!([])).await;
    assert_eq!(r, json!({"startingBlock": "0x0", "currentBlock": "0x1", "highestBlock": "0x65"}));
}

#[tokio::test]
async fn a_block_trace_reports_a_failed_transaction_trace_and_goes_on() {
    let env = Env::new();
    let store = env.deploy_store().await;
    // One block: a call that runs code, then a transfer from the same sender (next nonce).
    let call = env
        .ok("eth_sendTransaction", json!([{"from": DEV0, "to": store, "data": set_call(3)}]))
        .await;
    let transfer =
        env.ok("eth_sendTransaction", json!([{"from": DEV0, "to": DEV1, "value": "0x1"}])).await;
    let number = format!("{:#x}", env.mine());
    assert_eq!(env.ok("eth_getBlockTransactionCountByNumber", json!([number])).await, "0x2");
    // With no time to trace (geth's per-transaction `timeout`), the call cannot be traced;
    // the transfer runs no code and is traced, on the state the call left (its nonce).
    let traces = env.ok("debug_traceBlockByNumber", json!([number, {"timeout": "0s"}])).await;
    assert_eq!(traces[0], json!({"txHash": call, "error": "execution timeout"}), "{traces}");
    assert_eq!(traces[1]["txHash"], transfer);
    assert_eq!(traces[1]["result"]["failed"], false, "{traces}");
    // With time, both are traced.
    let traces = env.ok("debug_traceBlockByNumber", json!([number, {"timeout": "10s"}])).await;
    assert!(traces.as_array().unwrap().iter().all(|t| t["result"].is_object()), "{traces}");
    // One transaction's trace that fails is an error.
    let r = env.call("debug_traceTransaction", json!([call, {"timeout": "0s"}])).await;
    assert_eq!(
        (r["error"]["code"].as_i64(), r["error"]["message"].as_str()),
        (Some(-32000), Some("execution timeout"))
    );
    let r = env.call("debug_traceBlockByNumber", json!([number, {"timeout": "soon"}])).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn root_hashes_follow_bor_and_its_limits() {
    let env = Env::new();
    env.send(json!({"from": DEV0, "to": DEV1, "value": "0x1"})).await;
    for _ in 0..4 {
        env.mine();
    }
    // Leaves and tree built here from the blocks' JSON fields, apart from the node's code.
    let mut leaves = Vec::new();
    for n in 1..=5u64 {
        let b = env.ok("eth_getBlockByNumber", json!([format!("{n:#x}"), false])).await;
        let word = |v: &Value| {
            U256::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        };
        let hash = |v: &Value| v.as_str().unwrap().parse::<B256>().unwrap();
        let mut packed = Vec::new();
        packed.extend_from_slice(&word(&b["number"]).to_be_bytes::<32>());
        packed.extend_from_slice(&word(&b["timestamp"]).to_be_bytes::<32>());
        packed.extend_from_slice(hash(&b["transactionsRoot"]).as_slice());
        packed.extend_from_slice(hash(&b["receiptsRoot"]).as_slice());
        leaves.push(keccak256(&packed));
    }
    let node = |a: B256, b: B256| keccak256([a.as_slice(), b.as_slice()].concat());
    let z = B256::ZERO;
    let l = &leaves;
    let r13 = node(node(l[0], l[1]), node(l[2], z));
    let r15 = node(node(node(l[0], l[1]), node(l[2], l[3])), node(node(l[4], z), node(z, z)));
    // Hex without 0x, as Bor answers; numbers or hex strings in; both method names.
    assert_eq!(
        env.ok("bor_getRootHash", json!([1, 3])).await,
        json!(alloy_primitives::hex::encode(r13))
    );
    assert_eq!(
        env.ok("eth_getRootHash", json!(["0x1", "0x5"])).await,
        json!(alloy_primitives::hex::encode(r15))
    );
    assert_eq!(
        env.ok("bor_getRootHash", json!([2, "2"])).await,
        json!(alloy_primitives::hex::encode(l[1]))
    );
    // Refused with the values: reversed, beyond the head, too long, not a number.
    let err = |v: Value| v["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        err(env.call("bor_getRootHash", json!([3, 2])).await).contains("start 3 is after end 2")
    );
    assert!(
        err(env.call("bor_getRootHash", json!([1, 6])).await)
            .contains("end 6 is beyond the head 5")
    );
    let long = err(env.call("bor_getRootHash", json!([1, 40_000])).await);
    assert!(long.contains("at most 32768"), "{long}");
    assert!(
        err(env.call("bor_getRootHash", json!(["one", 2])).await).contains("is not a block number")
    );
}
