//! A receipt from before Byzantium (EIP-658) carries the state root after its transaction
//! instead of a status: `eth_getTransactionReceipt` and `eth_getBlockReceipts` answer with
//! `root` and no `status` (geth's shape), and `debug_getRawReceipts` encodes the root.
//! The block is written straight through the storage provider, so the test does not depend
//! on the executor producing such receipts.

use alloy_consensus::{
    Eip658Value, Header, Receipt, ReceiptEnvelope, SignableTransaction, TxLegacy,
};
use alloy_eips::{Decodable2718, eip2718::Encodable2718};
use alloy_network::TxSignerSync;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use bttc_chain::init_genesis;
use bttc_primitives::{Block, BlockBody, TxEnvelope};
use bttc_rpc::{ChainEvents, RpcConfig, RpcContext, rpc_module};
use bttc_storage::{DatabaseEnv, DbOptions};
use bttc_txpool::{PoolConfig, TxPool};
use serde_json::{Value, json};
use std::sync::Arc;

/// A Homestead chain: no EIP-658 status yet.
const GENESIS: &str = r#"{"config": {"chainId": 1, "homesteadBlock": 0},
    "difficulty": "0x1", "gasLimit": "0x1000000", "alloc": {}}"#;

#[tokio::test]
async fn pre_byzantium_receipts_carry_the_state_root() {
    let dir = tempfile::tempdir().unwrap();
    let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
    init_genesis(&db, GENESIS).unwrap();
    let chain = bttc_staking::open_chain(db).unwrap();

    let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap();
    let mut tx = TxLegacy {
        chain_id: None,
        nonce: 0,
        gas_price: 1,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(0x22)),
        value: U256::from(1),
        input: Bytes::new(),
    };
    let sig = signer.sign_transaction_sync(&mut tx).unwrap();
    let tx: TxEnvelope = tx.into_signed(sig).into();
    let tx_hash = *tx.tx_hash();
    let root = B256::repeat_byte(0xab);
    let receipt = ReceiptEnvelope::Legacy(
        Receipt { status: Eip658Value::PostState(root), cumulative_gas_used: 21_000, logs: vec![] }
            .with_bloom(),
    );
    {
        let rw = chain.db().rw().unwrap();
        let (genesis, _) = rw.head_header().unwrap();
        let header = Header { parent_hash: genesis.hash, number: 1, ..Default::default() };
        let block =
            Block { header, body: BlockBody { transactions: vec![tx], ..Default::default() } };
        let hash = block.header.hash_slow();
        rw.write_block(&block, hash, &[signer.address()], std::slice::from_ref(&receipt)).unwrap();
        rw.set_head(1, hash).unwrap();
        rw.commit().unwrap();
    }

    let ctx = RpcContext::new(
        chain,
        Arc::new(TxPool::new(PoolConfig::default())),
        RpcConfig { debug: true, ..Default::default() },
        ChainEvents::default(),
    );
    let module = rpc_module(Arc::new(ctx)).unwrap();
    let call = |method: &str, params: Value| {
        let req = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let module = &module;
        async move {
            let (resp, _) = module.raw_json_request(&req.to_string(), 1).await.unwrap();
            let v: Value = serde_json::from_str(resp.get()).unwrap();
            assert!(v.get("error").is_none(), "{v}");
            v["result"].clone()
        }
    };

    let r = call("eth_getTransactionReceipt", json!([tx_hash])).await;
    assert_eq!(r["root"], json!(root), "{r}");
    assert!(r.get("status").is_none(), "no status before Byzantium: {r}");
    assert_eq!(r["cumulativeGasUsed"], "0x5208");
    let block = call("eth_getBlockReceipts", json!(["0x1"])).await;
    assert_eq!(block[0], r);
    let raw: Vec<Bytes> =
        serde_json::from_value(call("debug_getRawReceipts", json!(["0x1"])).await).unwrap();
    assert_eq!(raw, vec![Bytes::from(receipt.encoded_2718())]);
    let decoded = ReceiptEnvelope::decode_2718(&mut raw[0].as_ref()).unwrap();
    assert_eq!(decoded.as_receipt().unwrap().status, Eip658Value::PostState(root));
}
