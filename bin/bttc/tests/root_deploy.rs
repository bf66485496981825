//! `bttc root deploy` against real processes: a two-validator bttc network as the child, a
//! `bttc node --dev` as the root. The deployed `RootChain` trusts the child's current set; a
//! checkpoint of the child's blocks 1..=8 with the root hash from `bor_getRootHash`, signed by
//! both validators' keys, is accepted, and one signature of two is refused.

mod support;

use alloy_network::EthereumWallet;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer::SignerSync;
use alloy_sol_types::{SolCall, SolValue};
use bttc_contracts::root_chain::RootChain as RC;
use std::time::Duration;
use support::{
    DEV0_KEY, DevProc,
    net::{TestNet, wait_height},
    rpc,
};

const T: Duration = Duration::from_secs(90);

async fn call<C: SolCall>(url: &str, to: Address, c: C) -> Result<C::Return, serde_json::Value> {
    let data = Bytes::from(c.abi_encode());
    let r = rpc(url, "eth_call", serde_json::json!([{"to": to, "data": data}, "latest"])).await;
    match r["result"].as_str() {
        Some(out) => Ok(C::abi_decode_returns(&out.parse::<Bytes>().unwrap()).unwrap()),
        None => Err(r["error"].clone()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_root_chain_takes_the_childs_signed_checkpoint() {
    let net = TestNet::new(2);
    let nodes: Vec<_> = (0..2).map(|i| net.start(i)).collect();
    let child = nodes[0].http.clone();
    wait_height(&child, 8, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));
    let root = DevProc::start(&[]);

    let address = support::deploy_root_chain(&root.http, &child);

    // The set the root trusts is the child's: both validators, 100 each, ascending.
    let mut signers: Vec<Address> = net.validators.iter().map(|v| v.1.parse().unwrap()).collect();
    signers.sort();
    let powers = vec![U256::from(100); 2];
    let set_hash = keccak256((signers.clone(), powers.clone()).abi_encode_params());
    assert_eq!(call(&root.http, address, RC::validatorSetHashCall {}).await.unwrap(), set_hash);
    let chain_id = support::net::chain_id(&child).await;
    assert_eq!(
        call(&root.http, address, RC::childChainIdCall {}).await.unwrap(),
        U256::from(chain_id)
    );
    assert_eq!(call(&root.http, address, RC::getLastChildBlockCall {}).await.unwrap(), U256::ZERO);

    // Blocks 1..=8 of the child, signed by both validators.
    let hex = rpc(&child, "bor_getRootHash", serde_json::json!([1, 8])).await;
    let root_hash: B256 = format!("0x{}", hex["result"].as_str().unwrap()).parse().unwrap();
    let mut digest = vec![0x01u8];
    digest.extend_from_slice(
        &(U256::from(chain_id), U256::from(1), U256::from(8), root_hash, set_hash, set_hash)
            .abi_encode_params(),
    );
    let digest = keccak256(digest);
    let password = std::fs::read_to_string(&net.password).unwrap();
    let mut sigs: Vec<(Address, Bytes)> = net
        .validators
        .iter()
        .map(|(keystore, _)| {
            let key =
                alloy_signer_local::PrivateKeySigner::decrypt_keystore(keystore, password.trim())
                    .unwrap();
            (key.address(), key.sign_hash_sync(&digest).unwrap().as_bytes().to_vec().into())
        })
        .collect();
    sigs.sort_by_key(|s| s.0);
    let submit = |start: u64, end: u64, root: B256, sigs: Vec<Bytes>| RC::submitCheckpointCall {
        chainId: U256::from(chain_id),
        start: U256::from(start),
        end: U256::from(end),
        root,
        nextSetHash: set_hash,
        signers: signers.clone(),
        powers: powers.clone(),
        sigs,
    };
    // One of two (half the stake): refused.
    let one = submit(1, 8, root_hash, vec![sigs[0].1.clone()]);
    let refused = call(&root.http, address, one).await.unwrap_err();
    let data: Bytes = serde_json::from_value(refused["data"].clone()).unwrap_or_default();
    assert!(bttc_contracts::decode_revert(&data).contains("NotEnoughPower"), "{refused}");
    // Both: accepted as header block 10,000 with the child's root hash.
    let dev0: alloy_signer_local::PrivateKeySigner = DEV0_KEY.parse().unwrap();
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev0))
        .connect_http(root.http.parse().unwrap());
    let both = submit(1, 8, root_hash, sigs.iter().map(|s| s.1.clone()).collect());
    let req = TransactionRequest::default().to(address).input(both.abi_encode().into());
    let receipt = p.send_transaction(req).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    let hb = call(&root.http, address, RC::headerBlocksCall(U256::from(10_000))).await.unwrap();
    assert_eq!((hb.root, hb.start, hb.end), (root_hash, U256::from(1), U256::from(8)));
    assert_eq!(
        call(&root.http, address, RC::getLastChildBlockCall {}).await.unwrap(),
        U256::from(8)
    );
    drop(nodes);
}
