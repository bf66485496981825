//! Dev accounts and the dev genesis.

use alloy_genesis::{ChainConfig, Genesis, GenesisAccount};
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};
use bttc_chainspec::BttcParams;
use std::collections::BTreeMap;

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

/// A dev or network genesis could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DevGenesisError {
    /// The gas limit is under the protocol minimum.
    #[error("gas limit {got} is below the minimum of {min}")]
    GasLimit {
        /// Asked for.
        got: u64,
        /// The minimum.
        min: u64,
    },
    /// BTTC's own chain ids are refused.
    #[error("chain id {0} belongs to a BTTC network; pick another for a dev chain")]
    ReservedChainId(u64),
    /// A network genesis without validators.
    #[error("a network genesis needs at least one validator")]
    NoValidators,
    /// The staking contracts' genesis state could not be made.
    #[error(transparent)]
    Staking(#[from] bttc_contracts::GenesisError),
    /// The genesis could not be serialized.
    #[error("genesis JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The fork schedule of bttc's dev and network chains: every fork through Prague at genesis.
fn dev_chain_config(chain_id: u64, bttc: &BttcParams) -> Result<ChainConfig, DevGenesisError> {
    let mut c = bttc_chainspec::all_forks_at_genesis(chain_id);
    c.extra_fields.insert("bttc".into(), serde_json::to_value(bttc)?);
    Ok(c)
}

/// A dev genesis: `chain_id` (refused if it is BTTC's 199 or 1029), the accounts funded with
/// `balance` wei each, a 30M gas limit, every fork through Prague at genesis.
pub fn dev_genesis(
    chain_id: u64,
    accounts: &[DevAccount],
    balance: U256,
) -> Result<String, DevGenesisError> {
    dev_genesis_with_gas_limit(chain_id, accounts, balance, DEV_GAS_LIMIT)
}

/// [`dev_genesis`] with another block gas limit.
pub fn dev_genesis_with_gas_limit(
    chain_id: u64,
    accounts: &[DevAccount],
    balance: U256,
    gas_limit: u64,
) -> Result<String, DevGenesisError> {
    let genesis = dev_genesis_typed(chain_id, accounts, balance, gas_limit, &BttcParams::devnet())?;
    Ok(serde_json::to_string(&genesis)?)
}

pub(crate) fn dev_genesis_typed(
    chain_id: u64,
    accounts: &[DevAccount],
    balance: U256,
    gas_limit: u64,
    bttc: &BttcParams,
) -> Result<Genesis, DevGenesisError> {
    const MIN_GAS_LIMIT: u64 = 5000;
    if gas_limit < MIN_GAS_LIMIT {
        return Err(DevGenesisError::GasLimit { got: gas_limit, min: MIN_GAS_LIMIT });
    }
    if chain_id == 199 || chain_id == 1029 {
        return Err(DevGenesisError::ReservedChainId(chain_id));
    }
    let mut alloc: BTreeMap<Address, GenesisAccount> = accounts
        .iter()
        .map(|a| (a.address, GenesisAccount { balance, ..GenesisAccount::default() }))
        .collect();
    for (address, code) in bttc_chainspec::system_predeploys() {
        alloc.insert(
            address,
            GenesisAccount { nonce: Some(1), code: Some(code), ..GenesisAccount::default() },
        );
    }
    alloc.insert(bttc_contracts::BTT_TOKEN, bttc_contracts::btt_token_account(U256::ZERO));
    Ok(Genesis {
        config: dev_chain_config(chain_id, bttc)?,
        gas_limit,
        difficulty: U256::ZERO,
        timestamp: 0,
        base_fee_per_gas: Some(1_000_000_000),
        alloc,
        ..Genesis::default()
    })
}

/// A genesis for a BFT network: the dev accounts funded, devnet staking parameters
/// ([`BttcParams::devnet`]), `validators` as the genesis validator set and a block time. The
/// staking contract at `0x…1000` holds each validator's stake (operated by the validator's own
/// address unless it names an operator), and the BTT wrapper sits at `0x…1010`.
pub fn network_genesis(
    chain_id: u64,
    accounts: &[DevAccount],
    balance: U256,
    gas_limit: u64,
    validators: &[bttc_chainspec::GenesisValidator],
    block_time_ms: u64,
) -> Result<String, DevGenesisError> {
    let bttc =
        BttcParams { validators: validators.to_vec(), block_time_ms, ..BttcParams::devnet() };
    network_genesis_with(chain_id, accounts, balance, gas_limit, bttc)
}

/// [`network_genesis`] with every chain parameter given (`bttc.validators` included).
pub fn network_genesis_with(
    chain_id: u64,
    accounts: &[DevAccount],
    balance: U256,
    gas_limit: u64,
    bttc: BttcParams,
) -> Result<String, DevGenesisError> {
    if bttc.validators.is_empty() {
        return Err(DevGenesisError::NoValidators);
    }
    let mut genesis = dev_genesis_typed(chain_id, accounts, balance, gas_limit, &bttc)?;
    genesis.alloc.extend(bttc_contracts::staking_alloc(chain_id, &bttc)?);
    Ok(serde_json::to_string_pretty(&genesis)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bttc_chainspec::GenesisValidator;

    fn validator() -> GenesisValidator {
        let key = k256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap();
        GenesisValidator {
            address: bttc_consensus::address_of(key.verifying_key()),
            public_key: key.verifying_key().to_encoded_point(true).as_bytes().to_vec().into(),
            stake: 100,
            operator: None,
        }
    }

    #[test]
    fn a_network_genesis_stakes_its_validators_in_the_staking_contract() {
        let json = network_genesis(
            9_999,
            &dev_accounts(2),
            U256::from(5),
            30_000_000,
            &[validator()],
            1000,
        )
        .unwrap();
        let g: Genesis = serde_json::from_str(&json).unwrap();
        let stake = &g.alloc[&bttc_contracts::STAKE_MANAGER];
        assert_eq!(stake.balance, U256::from(100) * U256::from(10u64).pow(U256::from(18)));
        assert!(stake.storage.as_ref().is_some_and(|s| !s.is_empty()));
        assert!(g.alloc[&bttc_contracts::BTT_TOKEN].code.as_ref().is_some_and(|c| !c.is_empty()));
        let spec = bttc_chainspec::ChainSpec::from_genesis(g).unwrap();
        let bttc = spec.bttc().unwrap();
        assert_eq!(bttc.validators.len(), 1);
        assert_eq!(bttc.signed_blocks_window, BttcParams::devnet().signed_blocks_window);
        assert_eq!(spec.chain_id(), 9_999);
    }

    #[test]
    fn a_dev_genesis_has_the_wrapper_and_refuses_bad_input_with_the_values() {
        let g: Genesis =
            serde_json::from_str(&dev_genesis(9_999, &dev_accounts(1), U256::from(1)).unwrap())
                .unwrap();
        assert!(g.alloc.contains_key(&bttc_contracts::BTT_TOKEN));
        assert!(!g.alloc.contains_key(&bttc_contracts::STAKE_MANAGER), "no validators, no staking");
        let err = dev_genesis_with_gas_limit(9, &[], U256::ZERO, 10).unwrap_err();
        assert_eq!(err.to_string(), "gas limit 10 is below the minimum of 5000");
        let err = dev_genesis(199, &[], U256::ZERO).unwrap_err();
        assert!(err.to_string().contains("chain id 199 belongs to a BTTC network"));
        let err = network_genesis(9, &[], U256::ZERO, 30_000_000, &[], 1000).unwrap_err();
        assert!(matches!(err, DevGenesisError::NoValidators));
    }
}
