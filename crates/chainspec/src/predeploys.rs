//! The Ethereum system contracts a chain with Cancun/Prague rules needs in its genesis, and
//! the fork schedule of bttc's own chains.

use alloy_eips::{
    eip2935::{HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE},
    eip4788::{BEACON_ROOTS_ADDRESS, BEACON_ROOTS_CODE},
    eip7002::{WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, WITHDRAWAL_REQUEST_PREDEPLOY_CODE},
    eip7251::{CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS, CONSOLIDATION_REQUEST_PREDEPLOY_CODE},
};
use alloy_primitives::{Address, Bytes};

/// Address and runtime code of the EIP-4788 beacon-roots, EIP-2935 block-hash history,
/// EIP-7002 withdrawal-request and EIP-7251 consolidation-request contracts. A Prague
/// chain must have the last two deployed (blocks are invalid otherwise); genesis files made
/// by bttc include all four with nonce 1.
pub fn system_predeploys() -> [(Address, Bytes); 4] {
    [
        (BEACON_ROOTS_ADDRESS, BEACON_ROOTS_CODE.clone()),
        (HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE.clone()),
        (WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, WITHDRAWAL_REQUEST_PREDEPLOY_CODE.clone()),
        (CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS, CONSOLIDATION_REQUEST_PREDEPLOY_CODE.clone()),
    ]
}

/// The predeploys as genesis `alloc` JSON entries (`"0x..": {"balance": "0x0", "nonce": "0x1", "code": "0x.."}`).
pub fn system_predeploys_alloc_json() -> Vec<String> {
    system_predeploys()
        .iter()
        .map(|(a, code)| {
            format!(r#""{a}": {{"balance": "0x0", "nonce": "0x1", "code": "{code}"}}"#)
        })
        .collect()
}

/// A chain config with every fork through Prague active at genesis (block 0 / time 0), the
/// schedule of bttc's dev and network chains. Add the `bttc` section to `extra_fields`.
pub fn all_forks_at_genesis(chain_id: u64) -> alloy_genesis::ChainConfig {
    alloy_genesis::ChainConfig {
        chain_id,
        homestead_block: Some(0),
        eip150_block: Some(0),
        eip155_block: Some(0),
        eip158_block: Some(0),
        byzantium_block: Some(0),
        constantinople_block: Some(0),
        petersburg_block: Some(0),
        istanbul_block: Some(0),
        berlin_block: Some(0),
        london_block: Some(0),
        merge_netsplit_block: Some(0),
        terminal_total_difficulty: Some(alloy_primitives::U256::ZERO),
        terminal_total_difficulty_passed: true,
        shanghai_time: Some(0),
        cancun_time: Some(0),
        prague_time: Some(0),
        ..Default::default()
    }
}
