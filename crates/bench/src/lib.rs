//! Synthetic chains for benchmarks and demos.
//!
//! [`SyntheticChain`] describes a chain of blocks full of ETH transfers or ERC-20-style token
//! transfers between many funded accounts. [`generate`] builds it through the real block
//! builder and insertion path (so every root is right) and returns the blocks, which
//! benchmarks then re-import or hand to raw revm for comparison ([`revm_baseline`]).

pub mod client;
pub mod root;
pub mod staking;

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use bttc_chain::{BlockAttributes, init_genesis};
use bttc_primitives::{Block, Transaction};
use bttc_storage::{DatabaseEnv, DbOptions};
use std::path::Path;

/// Chain id of synthetic chains (not a BTTC network id).
pub const CHAIN_ID: u64 = 31_337_199;
/// Address of the token contract in token chains.
pub const TOKEN: Address = address!("00000000000000000000000000000000000070c3");
/// Runtime code of the token: any call is `transfer(to, amount)`; balances are stored at
/// slot = holder address; emits an ERC-20 `Transfer` event and returns true.
pub const TOKEN_CODE: &str = "6024356004353354828110604f57829003335580548201815581600052337fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef60206000a350600160005260206000f35b600080fd";

/// What the blocks contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Plain ETH transfers (21,000 gas each).
    Eth,
    /// Token transfers through [`TOKEN`] (two storage writes and a log each).
    Erc20,
}

/// A synthetic chain's shape.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticChain {
    /// Workload.
    pub workload: Workload,
    /// Number of funded sender accounts.
    pub senders: usize,
    /// Blocks to build.
    pub blocks: usize,
    /// Transactions per block.
    pub txs_per_block: usize,
}

/// The private key of sender `i`.
pub fn sender_key(i: usize) -> PrivateKeySigner {
    let mut k = [0u8; 32];
    k[0] = 0x42;
    k[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    PrivateKeySigner::from_bytes(&B256::from(k)).expect("valid key")
}

fn recipient(i: usize) -> Address {
    let mut a = [0u8; 20];
    a[0] = 0xee;
    a[12..].copy_from_slice(&(i as u64).to_be_bytes());
    Address::from(a)
}

impl SyntheticChain {
    /// Genesis JSON: all forks through Prague at 0, senders funded, the token deployed.
    pub fn genesis_json(&self, senders: &[Address]) -> String {
        let mut alloc: Vec<String> = senders
            .iter()
            .map(|a| format!(r#""{a}": {{"balance": "0xd3c21bcecceda1000000"}}"#))
            .collect();
        alloc.extend(bttc_chainspec::system_predeploys_alloc_json());
        if self.workload == Workload::Erc20 {
            let storage: Vec<String> = senders
                .iter()
                .map(|a| {
                    format!(
                        r#""{}": "0x{:064x}""#,
                        B256::left_padding_from(a.as_slice()),
                        1u128 << 100
                    )
                })
                .collect();
            alloc.push(format!(
                r#""{TOKEN}": {{"balance": "0x0", "code": "0x{TOKEN_CODE}", "storage": {{ {} }} }}"#,
                storage.join(",")
            ));
        }
        format!(
            r#"{{"config": {{"chainId": {CHAIN_ID}, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
            "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0,
            "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0, "mergeNetsplitBlock": 0,
            "terminalTotalDifficulty": 0, "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0}},
            "gasLimit": "0x11e1a300", "difficulty": "0x0", "timestamp": "0x0", "baseFeePerGas": "0x7",
            "alloc": {{ {} }} }}"#,
            alloc.join(",")
        )
    }

    fn transaction(&self, key: &PrivateKeySigner, nonce: u64, to_index: usize) -> Transaction {
        let (to, gas_limit, input, value) = match self.workload {
            Workload::Eth => (recipient(to_index), 21_000, Bytes::new(), U256::from(1_000u64)),
            Workload::Erc20 => {
                let mut data = vec![0xa9, 0x05, 0x9c, 0xbb];
                data.extend_from_slice(
                    B256::left_padding_from(recipient(to_index).as_slice()).as_slice(),
                );
                data.extend_from_slice(&U256::from(1u64).to_be_bytes::<32>());
                (TOKEN, 60_000, Bytes::from(data), U256::ZERO)
            }
        };
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input,
        };
        let sig = key.sign_hash_sync(&tx.signature_hash()).expect("signing");
        tx.into_signed(sig).into()
    }
}

/// A generated chain: its genesis JSON and its blocks.
#[derive(Debug)]
pub struct Generated {
    /// Genesis JSON.
    pub genesis: String,
    /// Blocks 1..=n.
    pub blocks: Vec<Block>,
}

/// Builds the chain in a scratch database under `scratch`.
pub fn generate(shape: &SyntheticChain, scratch: &Path) -> eyre::Result<Generated> {
    let keys: Vec<PrivateKeySigner> = (0..shape.senders).map(sender_key).collect();
    let addrs: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let genesis = shape.genesis_json(&addrs);
    let db = DatabaseEnv::open(scratch, DbOptions::ephemeral())?;
    init_genesis(&db, &genesis)?;
    let chain = bttc_staking::open_chain(db)?;
    let mut nonces = vec![0u64; keys.len()];
    let mut next_sender = 0;
    let mut blocks = Vec::with_capacity(shape.blocks);
    let mut rw = chain.db().rw()?;
    for b in 0..shape.blocks {
        let mut txs = Vec::with_capacity(shape.txs_per_block);
        for t in 0..shape.txs_per_block {
            let s = next_sender % keys.len();
            next_sender += 1;
            txs.push(shape.transaction(&keys[s], nonces[s], b * shape.txs_per_block + t));
            nonces[s] += 1;
        }
        let attrs = BlockAttributes {
            timestamp: 1 + b as u64,
            beneficiary: address!("00000000000000000000000000000000000c0ffe"),
            ..Default::default()
        };
        let block = chain.build_block(&rw, txs, &attrs)?;
        chain.insert_block(&rw, &block)?;
        blocks.push(block);
        if b % 200 == 199 {
            rw.commit()?;
            rw = chain.db().rw()?;
        }
    }
    rw.commit()?;
    Ok(Generated { genesis, blocks })
}

/// Concatenated RLP of the blocks (`bttc import` format).
pub fn to_rlp(blocks: &[Block]) -> Vec<u8> {
    use alloy_rlp::Encodable;
    let mut out = Vec::new();
    for b in blocks {
        b.encode(&mut out);
    }
    out
}

/// Executes the blocks' transactions with raw revm on an in-memory database seeded from the
/// genesis (no state root, no storage): the baseline bttc's import is compared against.
/// What the raw revm baseline did.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    /// Gas executed.
    pub gas: u64,
    /// Time to recover all senders (same parallel recovery as bttc's import).
    pub recover: std::time::Duration,
    /// Time to execute all transactions in memory.
    pub execute: std::time::Duration,
}

/// Returns the gas executed and the time recovery and execution took.
pub fn revm_baseline(genesis_json: &str, blocks: &[Block]) -> eyre::Result<Baseline> {
    use alloy_evm::{Evm, EvmEnv, EvmFactory, FromRecoveredTx, eth::EthEvmFactory};
    use revm::{
        bytecode::Bytecode,
        context::TxEnv,
        database::{CacheDB, EmptyDB},
        state::AccountInfo,
    };
    let spec = bttc_chainspec::ChainSpec::from_json(genesis_json)?;
    let mut db = CacheDB::new(EmptyDB::default());
    for (addr, acc) in &spec.genesis().alloc {
        let code = acc.code.clone().map(Bytecode::new_raw);
        let info = AccountInfo {
            balance: acc.balance,
            nonce: acc.nonce.unwrap_or(0),
            code_hash: code.as_ref().map_or(bttc_primitives::KECCAK_EMPTY, |c| c.hash_slow()),
            code,
            ..Default::default()
        };
        db.insert_account_info(*addr, info);
        for (k, v) in acc.storage.iter().flatten() {
            db.insert_account_storage(*addr, (*k).into(), (*v).into())?;
        }
    }
    // Senders are recovered the way bttc does (all cores) and timed separately, so the
    // baseline can be reported with and without signature recovery.
    let recover_start = std::time::Instant::now();
    let senders: Vec<Vec<Address>> =
        blocks.iter().map(bttc_chain::recover_senders).collect::<Result<_, _>>()?;
    let recover = recover_start.elapsed();
    let start = std::time::Instant::now();
    let mut gas = 0;
    for (block, senders) in blocks.iter().zip(&senders) {
        let env = EvmEnv::for_eth_block(
            &block.header,
            &spec,
            spec.chain_id(),
            spec.blob_params_at(block.header.timestamp),
        );
        let mut evm = EthEvmFactory::default().create_evm(&mut db, env);
        for (tx, sender) in block.body.transactions.iter().zip(senders) {
            let res = evm
                .transact_commit(TxEnv::from_recovered_tx(tx, *sender))
                .map_err(|e| eyre::eyre!("{e:?}"))?;
            gas += res.tx_gas_used();
        }
    }
    Ok(Baseline { gas, recover, execute: start.elapsed() })
}
