//! `bttc node --dev` driven over HTTP and WebSocket with alloy's provider, as a dApp
//! developer's tools would: deploy, call, events through getLogs / a filter / a
//! subscription, reverts with reasons, replacement, traces, historical state, persistence.

mod support;

use alloy_eips::BlockId;
use alloy_network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_provider::{Provider, ProviderBuilder, WsConnect};
use alloy_rpc_types_eth::{Filter, TransactionRequest};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent, sol};
use futures::StreamExt;
use serde_json::json;
use std::time::Duration;
use support::{DEV0, DEV0_KEY, DEV1, DevProc, bytecode, rpc};

sol! {
    function set(uint256 v) external;
    function get() external view returns (uint256);
    function fail() external pure;
    event ValueSet(address indexed who, uint256 value);
}

const GWEI: u128 = 1_000_000_000;

fn wallet() -> EthereumWallet {
    EthereumWallet::from(DEV0_KEY.parse::<PrivateKeySigner>().unwrap())
}

/// A JSON-RPC error's code, message and data.
struct RpcErr {
    code: i64,
    message: String,
    data: Option<String>,
}

fn error_of<T: std::fmt::Debug>(r: Result<T, alloy_provider::transport::TransportError>) -> RpcErr {
    let e = r.expect_err("expected an error");
    let p = e.as_error_resp().unwrap_or_else(|| panic!("not a JSON-RPC error: {e}"));
    RpcErr {
        code: p.code,
        message: p.message.to_string(),
        data: p.data.as_ref().map(|d| serde_json::from_str(d.get()).unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_lifecycle_over_http_and_websocket() {
    let node = DevProc::start(&[]);
    assert!(node.banner.contains(&DEV0.to_string()), "banner lists the dev accounts");
    assert!(node.banner.contains(DEV0_KEY), "banner prints the private keys");
    // Signing in the client (eth_sendRawTransaction) ...
    let signed = ProviderBuilder::new().wallet(wallet()).connect_http(node.http.parse().unwrap());
    // ... and in the node (eth_sendTransaction with an unlocked dev account).
    let unlocked = ProviderBuilder::new().connect_http(node.http.parse().unwrap());
    let ws = ProviderBuilder::new().connect_ws(WsConnect::new(node.ws.clone())).await.unwrap();

    assert_eq!(signed.get_chain_id().await.unwrap(), 31_337_199);
    let accounts = unlocked.get_accounts().await.unwrap();
    assert_eq!(accounts.len(), 10);
    assert_eq!(accounts[0], DEV0, "listed in derivation order");
    let genesis_balance = signed.get_balance(DEV0).block_id(BlockId::number(0)).await.unwrap();
    assert_eq!(genesis_balance, U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18)));

    // Deploy (client-signed).
    let deploy = TransactionRequest::default().with_deploy_code(bytecode("Store"));
    let receipt = signed.send_transaction(deploy).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    let store = receipt.contract_address.expect("contract address");
    assert!(!signed.get_code_at(store).await.unwrap().is_empty());
    let deployed_at = receipt.block_number.unwrap();

    // Subscriptions and a polling filter before the event.
    let filter = Filter::new().address(store).event_signature(ValueSet::SIGNATURE_HASH);
    let mut log_sub = ws.subscribe_logs(&filter).await.unwrap().into_stream();
    let mut head_sub = ws.subscribe_blocks().await.unwrap().into_stream();
    let filter_id = signed.new_filter(&filter).await.unwrap();

    // A state change through an unlocked account.
    let call = TransactionRequest::default()
        .from(DEV1)
        .to(store)
        .input(setCall { v: U256::from(42) }.abi_encode().into());
    let receipt = unlocked.send_transaction(call).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.from, DEV1);
    let set_block = receipt.block_number.unwrap();
    let set_tx = receipt.transaction_hash;
    assert_eq!(receipt.inner.logs().len(), 1);

    // eth_call reads it back; the state before is still readable.
    let get = TransactionRequest::default().to(store).input(getCall {}.abi_encode().into());
    let out = signed.call(get.clone()).await.unwrap();
    assert_eq!(U256::from_be_slice(&out), U256::from(42));
    let before = signed.call(get).block(BlockId::number(deployed_at)).await.unwrap();
    assert_eq!(U256::from_be_slice(&before), U256::ZERO);
    let slot_now = signed.get_storage_at(store, U256::ZERO).await.unwrap();
    let slot_then = signed
        .get_storage_at(store, U256::ZERO)
        .block_id(BlockId::number(deployed_at))
        .await
        .unwrap();
    assert_eq!((slot_now, slot_then), (U256::from(42), U256::ZERO));

    // The event through getLogs, the filter, and the subscription.
    let logs = signed.get_logs(&filter.clone().from_block(0)).await.unwrap();
    assert_eq!(logs.len(), 1);
    let decoded = ValueSet::decode_log(&logs[0].inner).unwrap();
    assert_eq!((decoded.who, decoded.value), (DEV1, U256::from(42)));
    assert_eq!(logs[0].transaction_hash, Some(set_tx));
    let changes: Vec<alloy_rpc_types_eth::Log> =
        signed.get_filter_changes(filter_id).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].block_number, Some(set_block));
    let again: Vec<alloy_rpc_types_eth::Log> = signed.get_filter_changes(filter_id).await.unwrap();
    assert!(again.is_empty(), "a filter reports each log once");
    let pushed = tokio::time::timeout(Duration::from_secs(10), log_sub.next())
        .await
        .expect("log pushed within 10 s")
        .unwrap();
    assert_eq!(pushed.transaction_hash, Some(set_tx));
    let head = tokio::time::timeout(Duration::from_secs(10), head_sub.next())
        .await
        .expect("head pushed within 10 s")
        .unwrap();
    assert_eq!(head.number, set_block);

    // Reverts carry code 3, the reason and the revert data.
    let fail = TransactionRequest::default().to(store).input(failCall {}.abi_encode().into());
    let e = error_of(signed.call(fail).await);
    assert_eq!(e.code, 3);
    assert_eq!(e.message, "execution reverted: always fails");
    let data = e.data.unwrap();
    assert!(data.starts_with("0x08c379a0"), "Error(string) selector: {data}");
    let unlucky = TransactionRequest::default()
        .from(DEV0)
        .to(store)
        .input(setCall { v: U256::from(13) }.abi_encode().into());
    let e = error_of(signed.estimate_gas(unlucky).await);
    assert_eq!((e.code, e.message.as_str()), (3, "execution reverted: unlucky number"));

    // Gas estimate is enough, and not wildly more than needed.
    let set7 = TransactionRequest::default()
        .from(DEV0)
        .to(store)
        .input(setCall { v: U256::from(7) }.abi_encode().into());
    let est = signed.estimate_gas(set7.clone()).await.unwrap();
    let r =
        signed.send_transaction(set7.gas_limit(est)).await.unwrap().get_receipt().await.unwrap();
    assert!(r.status(), "the estimate ({est}) suffices");
    assert!(est < r.gas_used * 11 / 10 + 5000, "estimate {est} vs used {}", r.gas_used);

    // Traces of the mined transaction.
    let call_trace: serde_json::Value = signed
        .raw_request("debug_traceTransaction".into(), (set_tx, json!({"tracer": "callTracer"})))
        .await
        .unwrap();
    assert_eq!(call_trace["type"], "CALL");
    assert_eq!(call_trace["to"].as_str().unwrap().parse::<Address>().unwrap(), store);
    let struct_logs: serde_json::Value =
        signed.raw_request("debug_traceTransaction".into(), (set_tx,)).await.unwrap();
    assert_eq!(struct_logs["failed"], false);
    assert!(struct_logs["structLogs"].as_array().unwrap().iter().any(|l| l["op"] == "SSTORE"));
    let diff: serde_json::Value = signed
        .raw_request(
            "debug_traceTransaction".into(),
            (set_tx, json!({"tracer": "prestateTracer", "tracerConfig": {"diffMode": true}})),
        )
        .await
        .unwrap();
    let post_slot =
        &diff["post"][store.to_string().to_lowercase()]["storage"][format!("{:#066x}", 0)];
    assert_eq!(post_slot.as_str().unwrap(), format!("{:#066x}", 42));

    // eth_getProof: the account proof starts at the head's state root.
    let proof = signed.get_proof(store, vec![B256::ZERO]).await.unwrap();
    let head_block = signed.get_block_by_number(Default::default()).await.unwrap().unwrap();
    assert_eq!(keccak256(&proof.account_proof[0]), head_block.header.state_root);
    assert_eq!(proof.storage_proof[0].value, U256::from(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automine_batches_pending_transactions() {
    let node = DevProc::start(&[]);
    let p = ProviderBuilder::new().connect_http(node.http.parse().unwrap());
    let signer: PrivateKeySigner = DEV0_KEY.parse().unwrap();
    let wallet = EthereumWallet::from(signer);
    let start = p.get_block_number().await.unwrap();
    // Signed first and sent as one JSON-RPC batch: they reach the pool together, however
    // slow the signing (a busy machine) would have made a one-by-one sender.
    let mut raw = Vec::new();
    for nonce in 0..40u64 {
        let tx = TransactionRequest::default()
            .from(DEV0)
            .to(DEV1)
            .value(U256::from(1))
            .nonce(nonce)
            .gas_limit(21_000)
            .max_fee_per_gas(10 * GWEI)
            .max_priority_fee_per_gas(GWEI)
            .with_chain_id(31_337_199);
        let env = tx.build(&wallet).await.unwrap();
        raw.push(alloy_eips::eip2718::Encodable2718::encoded_2718(&env));
    }
    let batch: Vec<_> = raw
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
                   "params": [alloy_primitives::hex::encode_prefixed(r)]})
        })
        .collect();
    let (status, body) =
        support::post(&node.http, serde_json::Value::from(batch).to_string()).await;
    assert_eq!(status, 200, "{body}");
    let replies: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(replies.len(), 40, "{body}");
    let hashes: Vec<B256> = raw.iter().map(keccak256).collect();
    for r in &replies {
        let i = r["id"].as_u64().unwrap() as usize;
        assert_eq!(r["result"], json!(hashes[i]), "{r}");
    }
    let mut blocks = std::collections::BTreeSet::new();
    for h in &hashes {
        let r = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(r) = p.get_transaction_receipt(*h).await.unwrap() {
                    return r;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("every transaction mined within 20 s");
        assert!(r.status());
        blocks.insert(r.block_number.unwrap());
    }
    let end = p.get_block_number().await.unwrap();
    assert!(blocks.len() < hashes.len(), "40 transactions sent together share blocks: {blocks:?}");
    assert!(end > start && end - start <= 40);
    assert_eq!(p.get_transaction_count(DEV0).await.unwrap(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_replacement_nonce_gaps_and_pending_reads() {
    let node = DevProc::start(&["--no-mining"]);
    let p = ProviderBuilder::new().connect_http(node.http.parse().unwrap());
    let wallet = wallet();
    let tx = |nonce: u64, fee: u128| {
        TransactionRequest::default()
            .from(DEV0)
            .to(DEV1)
            .value(U256::from(1))
            .nonce(nonce)
            .gas_limit(21_000)
            .max_fee_per_gas(fee)
            .max_priority_fee_per_gas(fee / 2)
            .with_chain_id(31_337_199)
    };
    let first = tx(0, 4 * GWEI).build(&wallet).await.unwrap();
    let first_hash = *p.send_tx_envelope(first.clone()).await.unwrap().tx_hash();
    let e = error_of(p.send_tx_envelope(first).await);
    assert_eq!(e.message, "already known");
    let e = error_of(
        p.send_tx_envelope(tx(0, 4 * GWEI * 105 / 100).build(&wallet).await.unwrap()).await,
    );
    assert_eq!(e.message, "replacement transaction underpriced");
    let better =
        *p.send_tx_envelope(tx(0, 5 * GWEI).build(&wallet).await.unwrap()).await.unwrap().tx_hash();
    assert_ne!(better, first_hash);
    // A nonce gap is queued, not pending.
    let _queued = p.send_tx_envelope(tx(2, 4 * GWEI).build(&wallet).await.unwrap()).await.unwrap();
    let status = rpc(&node.http, "txpool_status", json!([])).await;
    assert_eq!(status["result"], json!({"pending": "0x1", "queued": "0x1"}));
    let content = rpc(&node.http, "txpool_content", json!([])).await;
    let pending = &content["result"]["pending"][DEV0.to_string()]["0"];
    assert_eq!(pending["hash"].as_str().unwrap().parse::<B256>().unwrap(), better);
    assert!(content["result"]["queued"][DEV0.to_string()]["2"].is_object());
    // The replaced transaction is gone; the replacement is readable as pending.
    assert!(p.get_transaction_by_hash(first_hash).await.unwrap().is_none());
    let pending_tx = p.get_transaction_by_hash(better).await.unwrap().unwrap();
    assert!(pending_tx.block_number.is_none());
    assert_eq!(p.get_transaction_count(DEV0).pending().await.unwrap(), 1);
    assert_eq!(p.get_transaction_count(DEV0).await.unwrap(), 0);
    // Nothing is mined with --no-mining.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(p.get_block_number().await.unwrap(), 0);
    // Too little for the fee or value: geth's wording.
    let poor: PrivateKeySigner = PrivateKeySigner::random();
    let poor_tx = TransactionRequest::default()
        .to(DEV1)
        .value(U256::from(1))
        .nonce(0)
        .gas_limit(21_000)
        .max_fee_per_gas(2 * GWEI)
        .max_priority_fee_per_gas(GWEI)
        .with_chain_id(31_337_199)
        .build(&EthereumWallet::from(poor))
        .await
        .unwrap();
    let e = error_of(p.send_tx_envelope(poor_tx).await);
    assert!(e.message.starts_with("insufficient funds for gas * price + value"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_and_block_filters_and_pending_subscription() {
    let node = DevProc::start(&[]);
    let p = ProviderBuilder::new().connect_http(node.http.parse().unwrap());
    let ws = ProviderBuilder::new().connect_ws(WsConnect::new(node.ws.clone())).await.unwrap();
    let mut pending_sub = ws.subscribe_pending_transactions().await.unwrap().into_stream();
    let pending_filter = p.new_pending_transactions_filter(false).await.unwrap();
    let block_filter = p.new_block_filter().await.unwrap();

    let tx = TransactionRequest::default().from(DEV0).to(DEV1).value(U256::from(5));
    let receipt = p.send_transaction(tx).await.unwrap().get_receipt().await.unwrap();
    let hash = receipt.transaction_hash;

    let pushed = tokio::time::timeout(Duration::from_secs(10), pending_sub.next())
        .await
        .expect("pending hash pushed within 10 s")
        .unwrap();
    assert_eq!(pushed, hash);
    let pending: Vec<B256> = p.get_filter_changes(pending_filter).await.unwrap();
    assert_eq!(pending, vec![hash]);
    let blocks: Vec<B256> = p.get_filter_changes(block_filter).await.unwrap();
    assert_eq!(blocks, vec![receipt.block_hash.unwrap()]);
    let none: Vec<B256> = p.get_filter_changes(block_filter).await.unwrap();
    assert!(none.is_empty(), "each block is reported once");
    assert!(p.uninstall_filter(block_filter).await.unwrap());
    assert!(!p.uninstall_filter(block_filter).await.unwrap(), "already removed");
    let gone = p.get_filter_changes::<B256>(block_filter).await;
    assert_eq!(error_of(gone).message, "filter not found");
}

/// Sends `raws` as one JSON-RPC batch of `eth_sendRawTransaction`; returns the replies in
/// request order.
async fn send_batch(url: &str, raws: &[alloy_primitives::Bytes]) -> Vec<serde_json::Value> {
    let batch: Vec<_> = raws
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [r]}))
        .collect();
    let (status, body) = support::post(url, serde_json::Value::from(batch).to_string()).await;
    assert_eq!(status, 200, "{body}");
    let mut replies: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    replies.sort_by_key(|r| r["id"].as_u64());
    assert_eq!(replies.len(), raws.len());
    replies
}

/// Waits (up to two minutes) until each of `accounts` has sent `nonce` transactions.
async fn wait_nonces(p: &impl Provider, accounts: &[Address], nonce: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for a in accounts {
        loop {
            let n = p.get_transaction_count(*a).await.unwrap();
            if n == nonce {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{a} at nonce {n} of {nonce} after 120 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_from_few_senders_are_admitted_whole() {
    // The loads of issue #12 that anvil takes whole: 5,000 transfers from 10 accounts at once
    // on 1 s blocks, then 1,000 from one account in one batch.
    let node = DevProc::start(&["--block-time", "1"]);
    let p = ProviderBuilder::new().connect_http(node.http.parse().unwrap());
    let keys: Vec<PrivateKeySigner> = bttc_node::dev_accounts(10)
        .iter()
        .map(|a| PrivateKeySigner::from_bytes(&a.private_key).unwrap())
        .collect();
    let addresses: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let transfer = |key: &PrivateKeySigner, nonce: u64| {
        bttc_bench::client::sign(
            key,
            31_337_199,
            nonce,
            alloy_primitives::TxKind::Call(DEV1),
            21_000,
            Default::default(),
            U256::from(1),
        )
    };
    let mut raws = Vec::new();
    for nonce in 0..500 {
        raws.extend(keys.iter().map(|k| transfer(k, nonce)));
    }
    for chunk in raws.chunks(1000) {
        for r in send_batch(&node.http, chunk).await {
            assert!(r["result"].is_string(), "refused: {r}");
        }
    }
    wait_nonces(&p, &addresses, 500).await;

    let raws: Vec<_> = (500..1500).map(|nonce| transfer(&keys[0], nonce)).collect();
    for r in send_batch(&node.http, &raws).await {
        assert!(r["result"].is_string(), "refused: {r}");
    }
    wait_nonces(&p, &addresses[..1], 1500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fee_cap_below_the_base_fee_is_refused_and_mines_nothing() {
    let node = DevProc::start(&[]);
    let p = ProviderBuilder::new().connect_http(node.http.parse().unwrap());
    let wallet = wallet();
    let tx = |fee: u128| {
        TransactionRequest::default()
            .from(DEV0)
            .to(DEV1)
            .value(U256::from(1))
            .nonce(0)
            .gas_limit(21_000)
            .max_fee_per_gas(fee)
            .max_priority_fee_per_gas(1)
            .with_chain_id(31_337_199)
    };
    let base_fee = u128::from(
        p.get_block_by_number(alloy_eips::BlockNumberOrTag::Latest)
            .await
            .unwrap()
            .unwrap()
            .header
            .base_fee_per_gas
            .unwrap(),
    );
    let e = error_of(p.send_tx_envelope(tx(base_fee / 2).build(&wallet).await.unwrap()).await);
    assert_eq!(e.code, -32000);
    let prefix = format!(
        "max fee per gas less than block base fee: address {DEV0}, maxFeePerGas: {}, baseFee: ",
        base_fee / 2
    );
    assert!(e.message.starts_with(&prefix), "{}", e.message);
    // Automine made no block for it: the next transaction is in block 1.
    let ok = p.send_tx_envelope(tx(10 * GWEI).build(&wallet).await.unwrap()).await.unwrap();
    let receipt = ok.get_receipt().await.unwrap();
    assert_eq!(receipt.block_number, Some(1));
}
