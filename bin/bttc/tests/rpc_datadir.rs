//! `bttc node --dev --datadir`: a restart resumes the chain; `--no-mining` serves a datadir
//! made by `bttc init` + `bttc import`, whatever its genesis.

mod support;

use bttc_bench::{SyntheticChain, Workload, generate, to_rlp};
use serde_json::json;
use std::{process::Command, time::Duration};
use support::{DEV0, DEV1, DevProc, net::quantity, rpc};

async fn wait_for_block(url: &str, n: u64) {
    for _ in 0..100 {
        let r = rpc(url, "eth_blockNumber", json!([])).await;
        if quantity(&r["result"]).unwrap() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("block {n} not reached within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().to_str().unwrap();
    let node = DevProc::start(&["--datadir", datadir]);
    assert!(node.banner.contains("Private Keys"));
    for _ in 0..3 {
        let r = rpc(
            &node.http,
            "eth_sendTransaction",
            json!([{"from": DEV0, "to": DEV1, "value": "0x2a"}]),
        )
        .await;
        assert!(r["result"].is_string(), "{r}");
    }
    wait_for_block(&node.http, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let head =
        rpc(&node.http, "eth_getBlockByNumber", json!(["latest", false])).await["result"].clone();
    let balance =
        rpc(&node.http, "eth_getBalance", json!([DEV1, "latest"])).await["result"].clone();
    assert!(node.terminate().success(), "SIGTERM stops the node cleanly");

    let node = DevProc::start(&["--datadir", datadir]);
    assert!(node.banner.contains("Resumed chain at block"), "{}", node.banner);
    let again =
        rpc(&node.http, "eth_getBlockByNumber", json!(["latest", false])).await["result"].clone();
    assert_eq!(again["hash"], head["hash"]);
    assert_eq!(rpc(&node.http, "eth_getBalance", json!([DEV1, "latest"])).await["result"], balance);
    let n = rpc(&node.http, "eth_getTransactionCount", json!([DEV0, "latest"])).await;
    assert_eq!(n["result"], "0x3");
    // And the chain goes on from there.
    let r = rpc(&node.http, "eth_sendTransaction", json!([{"from": DEV0, "to": DEV1}])).await;
    assert!(r["result"].is_string(), "{r}");
    let next = quantity(&head["number"]).unwrap() + 1;
    wait_for_block(&node.http, next).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mining_serves_an_imported_datadir() {
    let dir = tempfile::tempdir().unwrap();
    let shape =
        SyntheticChain { workload: Workload::Erc20, senders: 8, blocks: 12, txs_per_block: 5 };
    let generated = generate(&shape, &dir.path().join("scratch")).unwrap();
    let genesis = dir.path().join("genesis.json");
    let chain = dir.path().join("chain.rlp");
    std::fs::write(&genesis, &generated.genesis).unwrap();
    std::fs::write(&chain, to_rlp(&generated.blocks)).unwrap();
    let data = dir.path().join("data");
    let bttc = env!("CARGO_BIN_EXE_bttc");
    let st = Command::new(bttc)
        .args(["init", "--genesis", genesis.to_str().unwrap(), "--datadir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(st.status.success());
    let st = Command::new(bttc)
        .args(["import", "--datadir", data.to_str().unwrap(), chain.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(st.status.success());
    let last = generated.blocks.last().unwrap();

    let node = DevProc::start(&["--no-mining", "--datadir", data.to_str().unwrap()]);
    let r = rpc(&node.http, "eth_blockNumber", json!([])).await;
    assert_eq!(r["result"], format!("{:#x}", last.header.number));
    let b =
        rpc(&node.http, "eth_getBlockByNumber", json!(["latest", true])).await["result"].clone();
    assert_eq!(b["hash"], format!("{:#x}", last.header.hash_slow()));
    assert_eq!(b["transactions"].as_array().unwrap().len(), last.body.transactions.len());
    let chain_id: serde_json::Value = serde_json::from_str::<serde_json::Value>(&generated.genesis)
        .unwrap()["config"]["chainId"]
        .clone();
    let r = rpc(&node.http, "eth_chainId", json!([])).await;
    assert_eq!(r["result"], format!("{:#x}", chain_id.as_u64().unwrap()));
    // Every receipt of the last block is there, with its logs.
    let receipts =
        rpc(&node.http, "eth_getBlockReceipts", json!(["latest"])).await["result"].clone();
    let receipts = receipts.as_array().unwrap();
    assert_eq!(receipts.len(), last.body.transactions.len());
    assert!(
        receipts.iter().all(|r| r["status"] == "0x1" && r["logs"].as_array().unwrap().len() == 1)
    );
    // Nothing is produced.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = rpc(&node.http, "eth_blockNumber", json!([])).await;
    assert_eq!(r["result"], format!("{:#x}", last.header.number));
}
