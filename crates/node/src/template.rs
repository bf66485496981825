//! The mainnet template (`genesis/mainnet-template.json`): a genesis with the seed's
//! economics, 990,000,000,000,000 BTT (990 trillion), allocated in full.
//!
//! | holder | share | BTT |
//! |---|---|---|
//! | 4 genesis validators (self-stake in `StakeManager` at `0x…1000`) | 10% | 24.75 trillion each |
//! | the treasury | 1% | 9.9 trillion |
//! | the bridge's reserve (the BTT wrapper at `0x…1010`) | 89% | 881.1 trillion |
//!
//! The reserve backs BTT that arrives over the bridge from the root chains, where most of the
//! supply lives (as on BTTC). Parameters are the mainnet defaults of
//! [`BttcParams::default`] (2 s blocks, 64-block epochs, at most 100 validators, 6.5%
//! issuance). The validator keys and the treasury address are placeholders derived from
//! public strings: a network made from the template replaces them (and the chain id) before
//! launch. `crates/node/tests/mainnet_template.rs` regenerates the file and checks it.

use crate::dev::{DevGenesisError, dev_genesis_typed};
use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, U256, keccak256};
use bttc_chainspec::{BttcParams, GenesisValidator};

/// The total supply, in whole BTT.
pub const TOTAL_SUPPLY_BTT: u64 = 990_000_000_000_000;
/// Each genesis validator's self-stake, in whole BTT.
pub const TEMPLATE_VALIDATOR_STAKE_BTT: u64 = 24_750_000_000_000;
/// Genesis validators in the template (the mainnet `minValidators`).
pub const TEMPLATE_VALIDATORS: usize = 4;
/// The treasury's balance, in whole BTT.
pub const TREASURY_BTT: u64 = 9_900_000_000_000;
/// The template's chain id (a placeholder: 199 is BTTC's mainnet).
pub const TEMPLATE_CHAIN_ID: u64 = 9_199;
/// The template's block gas limit.
pub const TEMPLATE_GAS_LIMIT: u64 = 30_000_000;

fn wei(btt: u64) -> U256 {
    U256::from(btt) * U256::from(10u64).pow(U256::from(18))
}

/// The placeholder treasury: `keccak256("bttc mainnet template treasury")[12..]`.
pub fn template_treasury() -> Address {
    Address::from_slice(&keccak256(b"bttc mainnet template treasury")[12..])
}

/// Placeholder validator `i`: its key is `keccak256("bttc mainnet template validator <i>")`.
fn template_validator(i: usize) -> GenesisValidator {
    let seed = keccak256(format!("bttc mainnet template validator {i}"));
    let key = k256::ecdsa::SigningKey::from_slice(seed.as_slice())
        .expect("a keccak digest is a valid secp256k1 scalar");
    let public = key.verifying_key();
    GenesisValidator {
        address: bttc_consensus::address_of(public),
        public_key: public.to_encoded_point(true).as_bytes().to_vec().into(),
        stake: TEMPLATE_VALIDATOR_STAKE_BTT,
        operator: None,
    }
}

/// The template genesis as JSON.
pub fn mainnet_template() -> Result<String, DevGenesisError> {
    let bttc = BttcParams {
        validators: (0..TEMPLATE_VALIDATORS).map(template_validator).collect(),
        ..BttcParams::default()
    };
    let mut genesis =
        dev_genesis_typed(TEMPLATE_CHAIN_ID, &[], U256::ZERO, TEMPLATE_GAS_LIMIT, &bttc)?;
    genesis.alloc.extend(bttc_contracts::staking_alloc(TEMPLATE_CHAIN_ID, &bttc)?);
    genesis.alloc.insert(
        template_treasury(),
        GenesisAccount { balance: wei(TREASURY_BTT), ..GenesisAccount::default() },
    );
    let staked = TEMPLATE_VALIDATOR_STAKE_BTT * TEMPLATE_VALIDATORS as u64;
    let reserve = TOTAL_SUPPLY_BTT - staked - TREASURY_BTT;
    genesis
        .alloc
        .insert(bttc_contracts::BTT_TOKEN, bttc_contracts::btt_token_account(wei(reserve)));
    Ok(serde_json::to_string_pretty(&genesis)?)
}
