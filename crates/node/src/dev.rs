//! Dev accounts and the dev genesis.

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};

/// The test mnemonic every Ethereum dev tool uses (anvil, hardhat, foundry).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Default chain id of a dev chain. Not BTTC mainnet (199) or testnet (1029).
pub const DEV_CHAIN_ID: u64 = 31_337_199;

/// A prefunded dev account.
#[derive(Debug, Clone)]
pub struct DevAccount {
    /// Its address.
    pub address: Address,
    /// Its private key (dev only: printed at start, like anvil does).
    pub private_key: B256,
}

/// The first `n` accounts of [`DEV_MNEMONIC`] (BIP-44 path `m/44'/60'/0'/0/i`).
pub fn dev_accounts(n: u32) -> Vec<DevAccount> {
    (0..n)
        .map(|i| {
            let signer = MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(i)
                .expect("valid derivation index")
                .build()
                .expect("the dev mnemonic is valid");
            DevAccount {
                address: signer.address(),
                private_key: B256::from_slice(&signer.to_bytes()[..]),
            }
        })
        .collect()
}

/// Block gas limit of a dev chain unless told otherwise.
pub const DEV_GAS_LIMIT: u64 = 30_000_000;

/// A dev genesis: `chain_id` (refused if it is BTTC's 199 or 1029), the accounts funded with
/// `balance` wei each, a 30M gas limit, every fork through Prague at genesis.
pub fn dev_genesis(
    chain_id: u64,
    accounts: &[DevAccount],
    balance: U256,
) -> Result<String, String> {
    dev_genesis_with_gas_limit(chain_id, accounts, balance, DEV_GAS_LIMIT)
}

/// [`dev_genesis`] with another block gas limit.
pub fn dev_genesis_with_gas_limit(
    chain_id: u64,
    accounts: &[DevAccount],
    balance: U256,
    gas_limit: u64,
) -> Result<String, String> {
    if gas_limit < 5000 {
        return Err(format!("gas limit {gas_limit} is below the minimum of 5000"));
    }
    if chain_id == 199 || chain_id == 1029 {
        return Err(format!(
            "chain id {chain_id} belongs to a BTTC network; pick another for a dev chain"
        ));
    }
    let mut alloc: Vec<String> = accounts
        .iter()
        .map(|a| format!(r#""{}": {{"balance": "{balance:#x}"}}"#, a.address))
        .collect();
    alloc.extend(bttc_chainspec::system_predeploys_alloc_json());
    Ok(format!(
        r#"{{"config": {{"chainId": {chain_id}, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
        "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0,
        "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0, "mergeNetsplitBlock": 0,
        "terminalTotalDifficulty": 0, "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0,
        "bttc": {{"blockTimeMs": 1000, "checkpointInterval": 32, "unbondingPeriod": 64}}}},
        "gasLimit": "{gas_limit:#x}", "difficulty": "0x0", "timestamp": "0x0", "baseFeePerGas": "0x3b9aca00",
        "alloc": {{ {} }} }}"#,
        alloc.join(",")
    ))
}

/// A genesis for a BFT network: [`dev_genesis_with_gas_limit`] (the dev accounts funded, a
/// `bttc` section) with `validators` as the genesis validator set and a block time.
pub fn network_genesis(
    chain_id: u64,
    accounts: &[DevAccount],
    balance: U256,
    gas_limit: u64,
    validators: &[bttc_chainspec::GenesisValidator],
    block_time_ms: u64,
) -> Result<String, String> {
    if validators.is_empty() {
        return Err("a network genesis needs at least one validator".into());
    }
    let base = dev_genesis_with_gas_limit(chain_id, accounts, balance, gas_limit)?;
    let mut v: serde_json::Value = serde_json::from_str(&base).map_err(|e| e.to_string())?;
    let bttc = &mut v["config"]["bttc"];
    bttc["validators"] = serde_json::to_value(validators).map_err(|e| e.to_string())?;
    bttc["blockTimeMs"] = block_time_ms.into();
    serde_json::to_string_pretty(&v).map_err(|e| e.to_string())
}
