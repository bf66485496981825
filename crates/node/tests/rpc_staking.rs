//! `bttc_getValidators` and `bttc_getStake` over a real chain on a temp dir whose genesis
//! stakes two validators (the network genesis): the set, a delegation, an unbonding entry,
//! and `null` on a dev chain without the staking contract.

use alloy_primitives::{Address, U256, address};
use alloy_sol_types::SolCall;
use bttc_chain::init_genesis;
use bttc_chainspec::GenesisValidator;
use bttc_contracts::{STAKE_MANAGER, stake_manager::StakeManager as SM};
use bttc_node::{DevProducer, dev_accounts, dev_genesis, network_genesis};
use bttc_rpc::{ChainEvents, RpcConfig, RpcContext, rpc_module};
use bttc_storage::{DatabaseEnv, DbOptions};
use bttc_txpool::{PoolConfig, TxPool};
use jsonrpsee::RpcModule;
use serde_json::{Value, json};
use std::sync::Arc;

const ETH: u128 = 1_000_000_000_000_000_000;
const DEV0: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

fn validator(seed: u8, stake: u64) -> GenesisValidator {
    let key = k256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap();
    GenesisValidator {
        address: bttc_consensus::address_of(key.verifying_key()),
        public_key: key.verifying_key().to_encoded_point(true).as_bytes().to_vec().into(),
        stake,
        operator: None,
    }
}

struct Env {
    _dir: tempfile::TempDir,
    module: RpcModule<Arc<RpcContext>>,
    producer: DevProducer,
    time: std::cell::Cell<u64>,
}

impl Env {
    fn new(genesis: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = DatabaseEnv::open(dir.path(), DbOptions::ephemeral()).unwrap();
        init_genesis(&db, genesis).unwrap();
        let chain = bttc_staking::open_chain(db).unwrap();
        let pool = Arc::new(TxPool::new(PoolConfig::default()));
        let signers = dev_accounts(1)
            .iter()
            .map(|a| alloy_signer_local::PrivateKeySigner::from_bytes(&a.private_key).unwrap())
            .collect::<Vec<_>>();
        let ctx = RpcContext::new(
            chain.clone(),
            pool.clone(),
            RpcConfig::default(),
            ChainEvents::default(),
        )
        .with_signers(signers);
        let module = rpc_module(Arc::new(ctx)).unwrap();
        let producer = DevProducer::new(chain, pool, Address::ZERO);
        Self { _dir: dir, module, producer, time: 1_000.into() }
    }

    async fn ok(&self, method: &str, params: Value) -> Value {
        let req = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (resp, _) = self.module.raw_json_request(&req.to_string(), 1).await.unwrap();
        let v: Value = serde_json::from_str(resp.get()).unwrap();
        assert!(v.get("error").is_none(), "{method}: {v}");
        v["result"].clone()
    }

    /// Sends a call to StakeManager from DEV0 with `value` wei and mines it.
    async fn stake_tx(&self, data: Vec<u8>, value: U256) {
        let tx = json!({"from": DEV0, "to": STAKE_MANAGER, "data": format!("0x{}", alloy_primitives::hex::encode(data)), "value": value});
        let hash = self.ok("eth_sendTransaction", json!([tx])).await;
        self.time.set(self.time.get() + 1);
        self.producer.mine(self.time.get()).unwrap();
        let receipt = self.ok("eth_getTransactionReceipt", json!([hash])).await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
    }
}

fn wei(btt: u64) -> U256 {
    U256::from(btt) * U256::from(ETH)
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_and_stake_are_read_from_the_staking_contract() {
    let (v1, v2) = (validator(3, 700), validator(4, 1_200));
    let genesis = network_genesis(
        4_343,
        &dev_accounts(1),
        U256::from(10_000 * ETH),
        30_000_000,
        &[v1.clone(), v2.clone()],
        1000,
    )
    .unwrap();
    let env = Env::new(&genesis);

    let set = env.ok("bttc_getValidators", json!(["latest"])).await;
    assert_eq!(set["epoch"], 0);
    let vals = set["validators"].as_array().unwrap();
    assert_eq!(vals.len(), 2);
    assert_eq!(vals[0]["signer"], json!(v2.address), "the larger stake first");
    assert_eq!(vals[0]["power"], 1_200);
    assert_eq!(vals[0]["operator"], json!(v2.address), "operated by its own address");
    assert_eq!(vals[1]["power"], 700);
    assert_eq!(vals[1]["stake"], json!(wei(700)));
    assert_eq!(vals[1]["jailed"], false);
    assert_eq!(vals[1]["signedBlocksWindow"], 100);
    assert_eq!(vals[0]["publicKey"].as_str().unwrap().len(), 2 + 128, "64-byte key");

    // DEV0 delegates 50 BTT to validator 2 (id 2: the second in the genesis list) and starts
    // to take 20 back.
    env.stake_tx(SM::delegateCall { id: 2 }.abi_encode(), wei(50)).await;
    env.stake_tx(SM::undelegateCall { id: 2, amount: wei(20) }.abi_encode(), U256::ZERO).await;
    let stake = env.ok("bttc_getStake", json!([DEV0, "latest"])).await;
    assert_eq!(stake["operatedValidator"], Value::Null);
    let d = &stake["delegations"][0];
    assert_eq!(d["validatorId"], 2);
    assert_eq!(d["value"], json!(wei(30)));
    let u = &stake["unbonding"][0];
    assert_eq!(u["amount"], json!(wei(20)));
    assert_eq!(u["releaseAt"].as_u64().unwrap(), u["createdAt"].as_u64().unwrap() + 192);
    // At the genesis block DEV0 had nothing staked.
    let before = env.ok("bttc_getStake", json!([DEV0, "0x0"])).await;
    assert_eq!(before["delegations"], json!([]));
    // A validator's operator sees its validator.
    let op = env.ok("bttc_getStake", json!([v1.address, "latest"])).await;
    assert_eq!(op["operatedValidator"], 1);
    assert_eq!(op["delegations"][0]["value"], json!(wei(700)));
    assert_eq!(env.ok("bttc_getProposals", json!(["latest"])).await, json!([]), "none yet");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_without_the_staking_contract_answers_null() {
    let env = Env::new(&dev_genesis(4_343, &dev_accounts(1), U256::from(ETH)).unwrap());
    assert_eq!(env.ok("bttc_getValidators", json!([])).await, Value::Null);
    assert_eq!(env.ok("bttc_getStake", json!([DEV0])).await, Value::Null);
    assert_eq!(env.ok("bttc_getProposals", json!([])).await, Value::Null);
}
