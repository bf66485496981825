//! `eth_config` (EIP-7910): the fork rules in force now, at the next scheduled fork and at
//! the last one, as geth reports them: activation time, blob schedule, chain id, EIP-2124
//! fork id, active precompiles and system contracts.
//!
//! Only timestamp-scheduled forks (Shanghai and later) are described; on a chain whose head
//! is before Shanghai `current` is `null`, and `next` and `last` are `null` when no later
//! fork is scheduled.

use crate::{RpcContext, RpcResult};
use alloy_eips::{
    eip2935::HISTORY_STORAGE_ADDRESS, eip4788::BEACON_ROOTS_ADDRESS,
    eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
    eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
};
use alloy_primitives::{Address, B256, Bytes, U64};
use bttc_chainspec::ChainSpec;
use revm::precompile::{PrecompileSpecId, Precompiles};
use serde::Serialize;
use std::collections::BTreeMap;

/// The answer of `eth_config`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConfigResponse {
    current: Option<ForkConfig>,
    next: Option<ForkConfig>,
    last: Option<ForkConfig>,
}

/// The rules of one fork.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ForkConfig {
    /// When the fork activates (0 when at or before genesis).
    activation_time: u64,
    /// Blob parameters (`null` before Cancun).
    blob_schedule: Option<BlobSchedule>,
    chain_id: U64,
    /// EIP-2124 fork id of the chain with this fork active: CRC32, 4 bytes.
    fork_id: Bytes,
    /// Active precompiles by their name in EIP-7910.
    precompiles: BTreeMap<&'static str, Address>,
    /// System contracts by their name in EIP-7910.
    system_contracts: BTreeMap<&'static str, Address>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
struct BlobSchedule {
    target: u64,
    max: u64,
    base_fee_update_fraction: u128,
}

/// Timestamp-scheduled forks in order, with their activation times (`None`: not scheduled).
fn timed_forks(spec: &ChainSpec) -> [(Fork, Option<u64>); 9] {
    let c = &spec.genesis().config;
    [
        (Fork::Shanghai, c.shanghai_time),
        (Fork::Cancun, c.cancun_time),
        (Fork::Prague, c.prague_time),
        (Fork::Osaka, c.osaka_time),
        (Fork::Bpo, c.bpo1_time),
        (Fork::Bpo, c.bpo2_time),
        (Fork::Bpo, c.bpo3_time),
        (Fork::Bpo, c.bpo4_time),
        (Fork::Bpo, c.bpo5_time),
    ]
}

/// What a fork brings that `eth_config` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fork {
    Shanghai,
    Cancun,
    Prague,
    Osaka,
    Bpo,
}

impl RpcContext {
    /// `eth_config`.
    pub(crate) fn fork_config(&self) -> RpcResult<ConfigResponse> {
        let ro = self.ro()?;
        let (_, head) = ro.head_header()?;
        let genesis_hash = ro.canonical_hash(0)?.unwrap_or_default();
        let spec = self.chain.spec();
        let forks = timed_forks(spec);
        // The last fork active at `t`, as an index into `forks`.
        let active_at = |t: u64| forks.iter().rposition(|(_, at)| at.is_some_and(|at| at <= t));
        let describe = |i: usize| -> Option<ForkConfig> {
            let (fork, at) = forks.get(i)?;
            Some(fork_config(spec, genesis_hash, *fork, (*at)?))
        };
        let current = active_at(head.timestamp);
        let next_index = current.map_or(0, |i| i + 1);
        let next = describe(next_index);
        let last = next.as_ref().and_then(|_| active_at(u64::MAX).and_then(describe));
        Ok(ConfigResponse { current: current.and_then(describe), next, last })
    }
}

fn fork_config(spec: &ChainSpec, genesis_hash: B256, fork: Fork, at: u64) -> ForkConfig {
    let genesis_time = spec.genesis().timestamp;
    let spec_id = spec.spec_id(u64::MAX, at);
    let precompiles = Precompiles::new(PrecompileSpecId::from_spec_id(spec_id))
        .addresses()
        .filter_map(|a| precompile_name(a).map(|name| (name, *a)))
        .collect();
    let mut system_contracts = BTreeMap::new();
    if fork >= Fork::Cancun {
        system_contracts.insert("BEACON_ROOTS_ADDRESS", BEACON_ROOTS_ADDRESS);
    }
    if fork >= Fork::Prague {
        let deposit = spec.genesis().config.deposit_contract_address.unwrap_or_default();
        system_contracts.insert(
            "CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS",
            CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
        );
        system_contracts.insert("DEPOSIT_CONTRACT_ADDRESS", deposit);
        system_contracts.insert("HISTORY_STORAGE_ADDRESS", HISTORY_STORAGE_ADDRESS);
        system_contracts
            .insert("WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS", WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS);
    }
    ForkConfig {
        activation_time: if at <= genesis_time { 0 } else { at },
        blob_schedule: (fork >= Fork::Cancun).then(|| spec.blob_params_at(at)).flatten().map(|p| {
            BlobSchedule {
                target: p.target_blob_count,
                max: p.max_blob_count,
                base_fee_update_fraction: p.update_fraction,
            }
        }),
        chain_id: U64::from(spec.chain_id()),
        fork_id: fork_id(spec, genesis_hash, at).to_vec().into(),
        precompiles,
        system_contracts,
    }
}

/// EIP-7910's name of a precompile.
fn precompile_name(address: &Address) -> Option<&'static str> {
    let id = u16::from_be_bytes([address[18], address[19]]);
    if address[..18].iter().any(|b| *b != 0) {
        return None;
    }
    Some(match id {
        0x01 => "ECREC",
        0x02 => "SHA256",
        0x03 => "RIPEMD160",
        0x04 => "ID",
        0x05 => "MODEXP",
        0x06 => "BN254_ADD",
        0x07 => "BN254_MUL",
        0x08 => "BN254_PAIRING",
        0x09 => "BLAKE2F",
        0x0a => "KZG_POINT_EVALUATION",
        0x0b => "BLS12_G1ADD",
        0x0c => "BLS12_G1MSM",
        0x0d => "BLS12_G2ADD",
        0x0e => "BLS12_G2MSM",
        0x0f => "BLS12_PAIRING_CHECK",
        0x10 => "BLS12_MAP_FP_TO_G1",
        0x11 => "BLS12_MAP_FP2_TO_G2",
        0x100 => "P256VERIFY",
        _ => return None,
    })
}

/// The EIP-2124 fork hash of the chain with every block-numbered fork passed and every
/// timestamp-scheduled fork up to `time` active (geth's `forkid.NewID(config, genesis,
/// MaxUint64, time)`): CRC32 of the genesis hash, updated with each fork's block number or
/// time, big-endian, in order, without repeats, block 0 and times at or before genesis.
fn fork_id(spec: &ChainSpec, genesis_hash: B256, time: u64) -> [u8; 4] {
    let c = &spec.genesis().config;
    let mut blocks: Vec<u64> = [
        c.homestead_block,
        c.dao_fork_block,
        c.eip150_block,
        c.eip155_block,
        c.eip158_block,
        c.byzantium_block,
        c.constantinople_block,
        c.petersburg_block,
        c.istanbul_block,
        c.muir_glacier_block,
        c.berlin_block,
        c.london_block,
        c.arrow_glacier_block,
        c.gray_glacier_block,
        c.merge_netsplit_block,
    ]
    .into_iter()
    .flatten()
    .filter(|b| *b != 0)
    .collect();
    let mut times: Vec<u64> = [
        c.shanghai_time,
        c.cancun_time,
        c.prague_time,
        c.osaka_time,
        c.bpo1_time,
        c.bpo2_time,
        c.bpo3_time,
        c.bpo4_time,
        c.bpo5_time,
        c.amsterdam_time,
        c.bogota_time,
    ]
    .into_iter()
    .flatten()
    .filter(|t| *t > spec.genesis().timestamp && *t <= time)
    .collect();
    blocks.sort_unstable();
    blocks.dedup();
    times.sort_unstable();
    times.dedup();
    let mut hash = crc32(0, genesis_hash.as_slice());
    for fork in blocks.into_iter().chain(times) {
        hash = crc32(hash, &fork.to_be_bytes());
    }
    hash.to_be_bytes()
}

/// CRC-32 (IEEE 802.3, as Go's `crc32.ChecksumIEEE` / `crc32.Update`) of `data`, continuing
/// from `crc`.
fn crc32(crc: u32, data: &[u8]) -> u32 {
    let mut crc = !crc;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_is_ieee() {
        assert_eq!(crc32(0, b"123456789"), 0xCBF4_3926);
        // Mainnet's genesis fork hash (EIP-2124): 0xfc64ec04.
        let genesis = alloy_primitives::b256!(
            "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"
        );
        assert_eq!(crc32(0, genesis.as_slice()).to_be_bytes(), [0xfc, 0x64, 0xec, 0x04]);
    }
}
