//! The JSON-RPC method table called in-process over a real chain on a temp dir: the methods
//! the process-level tests do not reach (fee history, access lists, simulation, overrides,
//! proofs, raw getters, block traces, EIP-1898 block ids).

use alloy_primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy_rlp::Decodable;
use bttc_chain::{Chain, init_genesis};
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
        let dir = tempfile::tempdir().unwrap();
        let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
        let accounts = dev_accounts(2);
        init_genesis(&db, &dev_genesis(DEV_CHAIN_ID, &accounts, U256::from(100 * ETH)).unwrap())
            .unwrap();
        let chain = Chain::open(db).unwrap();
        let pool = Arc::new(TxPool::new(PoolConfig::default()));
        let signers = accounts
            .iter()
            .map(|a| alloy_signer_local::PrivateKeySigner::from_bytes(&a.private_key).unwrap());
        let ctx = RpcContext::new(
            chain.clone(),
            pool.clone(),
            RpcConfig { debug: true, ..Default::default() },
            ChainEvents::default(),
        )
        .with_signers(signers);
        let module = rpc_module(Arc::new(ctx)).unwrap();
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
