//! Garbage, wrong types, oversized bodies, huge batches and floods of invalid transactions
//! each get the right JSON-RPC error, and the server keeps serving.

mod support;

use serde_json::{Value, json};
use support::{DEV0, DevProc, post, rpc, try_post};

fn code(v: &Value) -> i64 {
    v["error"]["code"].as_i64().unwrap_or_else(|| panic!("expected an error: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_rpc_errors() {
    let node = DevProc::start(&[]);
    let url = &node.http;

    let (_, body) = post(url, "{not json").await;
    assert_eq!(code(&serde_json::from_str(&body).unwrap()), -32700, "parse error");
    let (_, body) = post(url, "[]").await;
    assert!(body.contains("-32600"), "empty batch is an invalid request: {body}");

    assert_eq!(code(&rpc(url, "eth_nope", json!([])).await), -32601);
    assert_eq!(code(&rpc(url, "debug_nope", json!([])).await), -32601);
    // Wrong types, missing and out-of-range parameters.
    assert_eq!(code(&rpc(url, "eth_getBalance", json!([42, "latest"])).await), -32602);
    assert_eq!(code(&rpc(url, "eth_getBalance", json!([])).await), -32602);
    assert_eq!(code(&rpc(url, "eth_getBalance", json!(["0x12", "latest"])).await), -32602);
    assert_eq!(
        code(&rpc(url, "eth_getBlockByNumber", json!(["0x1ffffffffffffffffffff", false])).await),
        -32602
    );
    assert_eq!(code(&rpc(url, "eth_getBlockByNumber", json!(["banana", false])).await), -32602);
    // Unknown things are null, or geth's "header not found" for state queries.
    let r = rpc(url, "eth_getBlockByNumber", json!(["0x100000", false])).await;
    assert_eq!(r["result"], Value::Null);
    let r = rpc(url, "eth_getTransactionByHash", json!([format!("0x{}", "ab".repeat(32))])).await;
    assert_eq!(r["result"], Value::Null);
    let r = rpc(url, "eth_getTransactionReceipt", json!([format!("0x{}", "ab".repeat(32))])).await;
    assert_eq!(r["result"], Value::Null);
    let r = rpc(url, "eth_getBalance", json!([DEV0, "0x100000"])).await;
    assert_eq!((code(&r), r["error"]["message"].as_str()), (-32000, Some("header not found")));
    let r = rpc(url, "eth_getFilterChanges", json!(["0x1234"])).await;
    assert_eq!(r["error"]["message"], "filter not found");
    // A getLogs range past the head is invalid params (geth), as is one that ends before it
    // starts.
    let r = rpc(url, "eth_getLogs", json!([{"fromBlock": "0x0", "toBlock": "0x1000000"}])).await;
    assert_eq!(code(&r), -32602, "{r}");
    let r = rpc(url, "eth_getLogs", json!([{"fromBlock": "0x1", "toBlock": "0x0"}])).await;
    assert_eq!(code(&r), -32602, "{r}");

    // A 10 MB body is refused at the HTTP layer (413, and the connection may be closed before
    // the client finishes writing), not parsed.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{{"data":"0x{}"}}]}}"#,
        "00".repeat(5 * 1024 * 1024)
    );
    match try_post(url, big).await {
        Ok((status, _)) => assert_eq!(status, 413),
        Err(e) => assert!(e.is_request(), "connection closed on the oversized body: {e}"),
    }
    // A batch of 10k calls is refused as a whole.
    let batch: Vec<Value> = (0..10_000)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []}))
        .collect();
    let (_, body) = post(url, serde_json::to_string(&batch).unwrap()).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["error"]["message"].as_str().unwrap().to_lowercase().contains("batch"), "{v}");
    // A batch within the limit is served.
    let batch: Vec<Value> = (0..100)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []}))
        .collect();
    let (_, body) = post(url, serde_json::to_string(&batch).unwrap()).await;
    let v: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(v.len(), 100);
    assert!(v.iter().all(|r| r["result"] == "0x1de2aef"));

    // A flood of invalid transactions: each refused with a reason, none pooled.
    for i in 0..500u32 {
        let raw = match i % 4 {
            0 => "0x".to_string(),
            1 => format!("0x{}", "ff".repeat(100)),
            2 => format!("0x02{}", "c0".repeat(i as usize % 50 + 1)),
            _ => format!("0x{:x}", i),
        };
        let r = rpc(url, "eth_sendRawTransaction", json!([raw])).await;
        assert!(r["error"]["code"].is_i64(), "refused: {r}");
    }
    let oversized = format!("0x02{}", "00".repeat(130 * 1024));
    let r = rpc(url, "eth_sendRawTransaction", json!([oversized])).await;
    assert!(r["error"]["message"].as_str().unwrap().contains("oversized"), "{r}");
    assert_eq!(rpc(url, "txpool_status", json!([])).await["result"]["pending"], "0x0");

    // eth_sendTransaction from an account that is not unlocked.
    let r = rpc(
        url,
        "eth_sendTransaction",
        json!([{"from": "0x000000000000000000000000000000000000dead", "to": DEV0}]),
    )
    .await;
    assert!(r["error"]["message"].as_str().unwrap().starts_with("unknown account"), "{r}");

    // Still serving.
    let r = rpc(url, "eth_blockNumber", json!([])).await;
    assert_eq!(r["result"], "0x0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_configurable() {
    let node = DevProc::start(&["--rpc.max-batch", "5", "--rpc.max-logs-range", "2"]);
    let batch: Vec<Value> = (0..6)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []}))
        .collect();
    let (_, body) = post(&node.http, serde_json::to_string(&batch).unwrap()).await;
    assert!(body.to_lowercase().contains("batch"), "{body}");
    // Three blocks so that a range of three exists.
    for _ in 0..3 {
        rpc(&node.http, "eth_sendTransaction", json!([{"from": DEV0, "to": DEV0, "value": "0x1"}]))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let r = rpc(&node.http, "eth_getLogs", json!([{"fromBlock": "0x0", "toBlock": "0x2"}])).await;
    assert_eq!(code(&r), -32005, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("max block range 2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fee_inputs_are_capped_and_never_overflow() {
    let node = DevProc::start(&[]);
    let url = &node.http;
    // At most 100 reward percentiles (geth's and reth's cap).
    let many: Vec<f64> = (0..101).map(|i| f64::from(i) * 0.5).collect();
    let r = rpc(url, "eth_feeHistory", json!(["0x1", "latest", many])).await;
    assert_eq!(code(&r), -32602, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("101 > 100"), "{r}");
    let r = rpc(url, "eth_feeHistory", json!(["0x1", "latest", many[..100]])).await;
    assert_eq!(r["result"]["reward"].as_array().unwrap()[0].as_array().unwrap().len(), 100);
    // A tip whose default fee cap (2 × base fee + tip) would overflow.
    let r = rpc(
        url,
        "eth_sendTransaction",
        json!([{"from": DEV0, "to": DEV0, "gas": "0x5208",
            "maxPriorityFeePerGas": "0xffffffffffffffffffffffffffffffff"}]),
    )
    .await;
    assert_eq!(code(&r), -32602, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("maxPriorityFeePerGas"), "{r}");
    assert_eq!(rpc(url, "txpool_status", json!([])).await["result"]["pending"], "0x0");
    assert_eq!(rpc(url, "eth_blockNumber", json!([])).await["result"], "0x0", "still serving");
}
