//! [`ChainSpec`]: fork schedule and genesis of one chain.

use crate::BttcParams;
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header, constants::EMPTY_ROOT_HASH};
use alloy_eips::{
    eip1559::INITIAL_BASE_FEE, eip7685::EMPTY_REQUESTS_HASH, eip7840::BlobParams,
    eip7892::BlobScheduleBlobParams,
};
use alloy_evm::eth::spec::EthExecutorSpec;
use alloy_genesis::Genesis;
use alloy_hardforks::{EthereumChainHardforks, EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_primitives::{Address, B256, U256};
use revm::primitives::hardfork::SpecId;

/// The genesis file does not describe a chain we can run.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
    /// Not valid JSON or not geth's genesis format.
    #[error("genesis is not valid geth genesis JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The `config.bttc` section is malformed.
    #[error("genesis config.bttc section is invalid: {0}")]
    Bttc(String),
    /// A proof-of-work to proof-of-stake transition we cannot place.
    #[error(
        "terminalTotalDifficulty is {ttd} but mergeNetsplitBlock is not set: the merge block \
         cannot be determined without proof-of-work difficulty tracking; set mergeNetsplitBlock"
    )]
    UnplaceableMerge {
        /// The configured terminal total difficulty.
        ttd: U256,
    },
    /// Forks out of order.
    #[error("fork {later} is scheduled before {earlier}")]
    ForkOrder {
        /// The fork that must come first.
        earlier: &'static str,
        /// The fork that is scheduled too early.
        later: &'static str,
    },
}

/// Fork schedule, blob schedule and parameters of one chain, derived from its genesis.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    genesis: Genesis,
    hardforks: EthereumChainHardforks,
    blob_schedule: BlobScheduleBlobParams,
    bttc: Option<BttcParams>,
}

impl ChainSpec {
    /// Parses a geth genesis JSON document.
    pub fn from_json(json: &str) -> Result<Self, ChainSpecError> {
        Self::from_genesis(serde_json::from_str(json)?)
    }

    /// Builds the spec from a parsed genesis.
    pub fn from_genesis(genesis: Genesis) -> Result<Self, ChainSpecError> {
        let c = &genesis.config;
        let block = |b: Option<u64>| b.map(ForkCondition::Block);
        let time = |t: Option<u64>| t.map(ForkCondition::Timestamp);
        let paris = match (c.terminal_total_difficulty, c.merge_netsplit_block) {
            (_, Some(n)) => Some(ForkCondition::Block(n)),
            (Some(ttd), None) if ttd.is_zero() => Some(ForkCondition::Block(0)),
            (Some(ttd), None) => return Err(ChainSpecError::UnplaceableMerge { ttd }),
            (None, None) => None,
        };
        let dao = if c.dao_fork_support { block(c.dao_fork_block) } else { None };
        let list: Vec<(EthereumHardfork, Option<ForkCondition>)> = vec![
            (EthereumHardfork::Frontier, Some(ForkCondition::Block(0))),
            (EthereumHardfork::Homestead, block(c.homestead_block)),
            (EthereumHardfork::Dao, dao),
            (EthereumHardfork::Tangerine, block(c.eip150_block)),
            (EthereumHardfork::SpuriousDragon, block(c.eip158_block.or(c.eip155_block))),
            (EthereumHardfork::Byzantium, block(c.byzantium_block)),
            (EthereumHardfork::Constantinople, block(c.constantinople_block)),
            (EthereumHardfork::Petersburg, block(c.petersburg_block)),
            (EthereumHardfork::Istanbul, block(c.istanbul_block)),
            (EthereumHardfork::MuirGlacier, block(c.muir_glacier_block)),
            (EthereumHardfork::Berlin, block(c.berlin_block)),
            (EthereumHardfork::London, block(c.london_block)),
            (EthereumHardfork::ArrowGlacier, block(c.arrow_glacier_block)),
            (EthereumHardfork::GrayGlacier, block(c.gray_glacier_block)),
            (EthereumHardfork::Paris, paris),
            (EthereumHardfork::Shanghai, time(c.shanghai_time)),
            (EthereumHardfork::Cancun, time(c.cancun_time)),
            (EthereumHardfork::Prague, time(c.prague_time)),
            (EthereumHardfork::Osaka, time(c.osaka_time)),
            (EthereumHardfork::Bpo1, time(c.bpo1_time)),
            (EthereumHardfork::Bpo2, time(c.bpo2_time)),
            (EthereumHardfork::Bpo3, time(c.bpo3_time)),
            (EthereumHardfork::Bpo4, time(c.bpo4_time)),
            (EthereumHardfork::Bpo5, time(c.bpo5_time)),
        ];
        check_order(&list)?;
        let hardforks = EthereumChainHardforks::new(
            list.into_iter().filter_map(|(f, cond)| cond.map(|cond| (f, cond))),
        );
        let blob_schedule = c.blob_schedule_blob_params();
        let bttc = match c.extra_fields.get("bttc") {
            None => None,
            Some(v) => Some(
                serde_json::from_value::<BttcParams>(v.clone())
                    .map_err(|e| ChainSpecError::Bttc(e.to_string()))?,
            ),
        };
        Ok(Self { genesis, hardforks, blob_schedule, bttc })
    }

    /// The genesis this spec was built from.
    pub const fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// EIP-155 chain id.
    pub const fn chain_id(&self) -> u64 {
        self.genesis.config.chain_id
    }

    /// bttc parameters, if this is a bttc chain.
    pub const fn bttc(&self) -> Option<&BttcParams> {
        self.bttc.as_ref()
    }

    /// Whether the genesis carries a `bttc` section. bttc chains reject blob transactions.
    pub const fn is_bttc(&self) -> bool {
        self.bttc.is_some()
    }

    /// The largest RLP-encoded block allowed at `timestamp`: EIP-7934's cap from Osaka on,
    /// and always on bttc chains; `None` (no cap) on Ethereum chains before Osaka.
    pub fn max_rlp_block_size(&self, timestamp: u64) -> Option<usize> {
        (self.is_bttc() || self.is_osaka_active_at_timestamp(timestamp))
            .then_some(bttc_primitives::MAX_RLP_BLOCK_SIZE)
    }

    /// The revm spec for a block.
    pub fn spec_id(&self, number: u64, timestamp: u64) -> SpecId {
        alloy_evm::spec_by_timestamp_and_block_number(self, timestamp, number)
    }

    /// Blob parameters in force at `timestamp`, `None` before Cancun.
    pub fn blob_params_at(&self, timestamp: u64) -> Option<BlobParams> {
        if let Some((_, p)) =
            self.blob_schedule.scheduled.iter().rev().find(|(t, _)| *t <= timestamp)
        {
            return Some(*p);
        }
        if self.is_osaka_active_at_timestamp(timestamp) {
            Some(self.blob_schedule.osaka)
        } else if self.is_prague_active_at_timestamp(timestamp) {
            Some(self.blob_schedule.prague)
        } else if self.is_cancun_active_at_timestamp(timestamp) {
            Some(self.blob_schedule.cancun)
        } else {
            None
        }
    }

    /// The genesis block header for the given genesis state root.
    pub fn genesis_header(&self, state_root: B256) -> Header {
        let g = &self.genesis;
        let ts = g.timestamp;
        let london = self.is_london_active_at_block(0);
        let cancun = self.is_cancun_active_at_timestamp(ts);
        Header {
            parent_hash: g.parent_hash.unwrap_or_default(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: g.coinbase,
            state_root,
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            logs_bloom: Default::default(),
            difficulty: g.difficulty,
            number: g.number.unwrap_or(0),
            gas_limit: g.gas_limit,
            gas_used: 0,
            timestamp: ts,
            extra_data: g.extra_data.clone(),
            mix_hash: g.mix_hash,
            nonce: g.nonce.into(),
            base_fee_per_gas: london
                .then(|| g.base_fee_per_gas.map(|b| b as u64).unwrap_or(INITIAL_BASE_FEE)),
            withdrawals_root: self.is_shanghai_active_at_timestamp(ts).then_some(EMPTY_ROOT_HASH),
            blob_gas_used: cancun.then(|| g.blob_gas_used.unwrap_or(0)),
            excess_blob_gas: cancun.then(|| g.excess_blob_gas.unwrap_or(0)),
            parent_beacon_block_root: cancun.then_some(B256::ZERO),
            requests_hash: self.is_prague_active_at_timestamp(ts).then_some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        }
    }
}

fn check_order(list: &[(EthereumHardfork, Option<ForkCondition>)]) -> Result<(), ChainSpecError> {
    let mut last_block: Option<(u64, EthereumHardfork)> = None;
    let mut last_time: Option<(u64, EthereumHardfork)> = None;
    for (fork, cond) in list {
        match cond {
            Some(ForkCondition::Block(b)) => {
                if let Some((prev, pf)) = last_block
                    && *b < prev
                {
                    return Err(ChainSpecError::ForkOrder {
                        earlier: pf.name(),
                        later: fork.name(),
                    });
                }
                last_block = Some((*b, *fork));
            }
            Some(ForkCondition::Timestamp(t)) => {
                if let Some((prev, pf)) = last_time
                    && *t < prev
                {
                    return Err(ChainSpecError::ForkOrder {
                        earlier: pf.name(),
                        later: fork.name(),
                    });
                }
                last_time = Some((*t, *fork));
            }
            _ => {}
        }
    }
    Ok(())
}

impl EthereumHardforks for ChainSpec {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        self.hardforks.ethereum_fork_activation(fork)
    }
}

impl EthExecutorSpec for ChainSpec {
    fn deposit_contract_address(&self) -> Option<Address> {
        self.genesis.config.deposit_contract_address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANCUN_AT_15K: &str = r#"{
        "config": {"chainId": 7, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
          "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0,
          "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0, "mergeNetsplitBlock": 0,
          "terminalTotalDifficulty": 0, "shanghaiTime": 0, "cancunTime": 15000,
          "blobSchedule": {"cancun": {"target": 3, "max": 6, "baseFeeUpdateFraction": 3338477}}},
        "gasLimit": "0x1c9c380", "difficulty": "0x0", "alloc": {}
    }"#;

    #[test]
    fn fork_schedule_maps_to_spec_ids() {
        let spec = ChainSpec::from_json(CANCUN_AT_15K).unwrap();
        assert_eq!(spec.spec_id(1, 14_999), SpecId::SHANGHAI);
        assert_eq!(spec.spec_id(2, 15_000), SpecId::CANCUN);
        assert!(spec.blob_params_at(14_999).is_none());
        assert_eq!(spec.blob_params_at(15_000).unwrap().max_blob_count, 6);
        assert!(!spec.is_bttc());
        let h = spec.genesis_header(EMPTY_ROOT_HASH);
        assert_eq!(h.withdrawals_root, Some(EMPTY_ROOT_HASH));
        assert_eq!(h.excess_blob_gas, None);
        assert_eq!(h.base_fee_per_gas, Some(INITIAL_BASE_FEE));
    }

    #[test]
    fn osaka_and_bpo_forks_change_blob_parameters() {
        let json = r#"{"config": {"chainId": 7, "londonBlock": 0, "mergeNetsplitBlock": 0,
            "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0, "osakaTime": 100,
            "bpo1Time": 200, "bpo2Time": 300,
            "blobSchedule": {
              "cancun": {"target": 3, "max": 6, "baseFeeUpdateFraction": 3338477},
              "prague": {"target": 6, "max": 9, "baseFeeUpdateFraction": 5007716},
              "osaka": {"target": 6, "max": 9, "baseFeeUpdateFraction": 5007716},
              "bpo1": {"target": 10, "max": 15, "baseFeeUpdateFraction": 8346193},
              "bpo2": {"target": 14, "max": 21, "baseFeeUpdateFraction": 11684671}}},
            "gasLimit": "0x1c9c380", "difficulty": "0x0", "alloc": {}}"#;
        let spec = ChainSpec::from_json(json).unwrap();
        assert_eq!(spec.spec_id(1, 99), SpecId::PRAGUE);
        assert_eq!(spec.spec_id(1, 100), SpecId::OSAKA);
        assert_eq!(spec.blob_params_at(50).unwrap().max_blob_count, 9);
        assert_eq!(spec.blob_params_at(150).unwrap().max_blob_count, 9);
        assert_eq!(spec.blob_params_at(250).unwrap().max_blob_count, 15);
        assert_eq!(spec.blob_params_at(300).unwrap().max_blob_count, 21);
        assert_eq!(spec.blob_params_at(300).unwrap().target_blob_count, 14);
        // Osaka caps blobs per transaction (EIP-7594).
        assert_eq!(spec.blob_params_at(250).unwrap().max_blobs_per_tx, 6);
    }

    #[test]
    fn pre_merge_chain_by_block_numbers() {
        let json = r#"{"config": {"chainId": 1, "homesteadBlock": 5, "eip150Block": 10,
            "eip155Block": 10, "eip158Block": 10, "byzantiumBlock": 20},
            "gasLimit": "0x1000000", "difficulty": "0x20000", "alloc": {}}"#;
        let spec = ChainSpec::from_json(json).unwrap();
        assert_eq!(spec.spec_id(0, 0), SpecId::FRONTIER);
        assert_eq!(spec.spec_id(5, 0), SpecId::HOMESTEAD);
        assert_eq!(spec.spec_id(19, 0), SpecId::SPURIOUS_DRAGON);
        assert_eq!(spec.spec_id(20, 0), SpecId::BYZANTIUM);
        assert_eq!(spec.genesis_header(EMPTY_ROOT_HASH).base_fee_per_gas, None);
    }

    #[test]
    fn bttc_section_and_errors() {
        let json = r#"{"config": {"chainId": 9, "londonBlock": 0, "bttc": {"epochLength": 32}},
            "gasLimit": "0x1000000", "difficulty": "0x0", "alloc": {}}"#;
        let spec = ChainSpec::from_json(json).unwrap();
        assert_eq!(spec.bttc().unwrap().epoch_length, 32);
        assert_eq!(spec.bttc().unwrap().checkpoint_interval, 256);

        let bad = r#"{"config": {"chainId": 9, "bttc": {"epochLength": "x"}}, "alloc": {}}"#;
        assert!(matches!(ChainSpec::from_json(bad), Err(ChainSpecError::Bttc(_))));
        let ttd = r#"{"config": {"chainId": 9, "terminalTotalDifficulty": 100}, "alloc": {}}"#;
        assert!(matches!(ChainSpec::from_json(ttd), Err(ChainSpecError::UnplaceableMerge { .. })));
        let order =
            r#"{"config": {"chainId": 9, "shanghaiTime": 10, "cancunTime": 5}, "alloc": {}}"#;
        assert!(matches!(ChainSpec::from_json(order), Err(ChainSpecError::ForkOrder { .. })));
    }
}
