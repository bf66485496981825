//! `genesis/mainnet-template.json` is what `bttc_node::mainnet_template` builds (set
//! `BTTC_WRITE_TEMPLATE=1` to rewrite it after a deliberate change), its balances add up to
//! exactly 990 trillion BTT, and a node initialises from it with the four validators staked
//! and elected for epoch 0.

use alloy_genesis::Genesis;
use alloy_primitives::U256;
use bttc_consensus::{BlockHeight, ValidatorSetProvider};

fn wei(btt: u64) -> U256 {
    U256::from(btt) * U256::from(10u64).pow(U256::from(18))
}

#[test]
fn the_mainnet_template_allocates_990_trillion_btt_and_initialises() {
    let built = bttc_node::mainnet_template().unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../genesis/mainnet-template.json");
    if std::env::var_os("BTTC_WRITE_TEMPLATE").is_some() {
        std::fs::write(&path, format!("{built}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (BTTC_WRITE_TEMPLATE=1 writes it)", path.display()));
    assert_eq!(committed.trim_end(), built, "the committed template is stale");

    let g: Genesis = serde_json::from_str(&built).unwrap();
    let total: U256 = g.alloc.values().map(|a| a.balance).sum();
    assert_eq!(total, wei(bttc_node::TOTAL_SUPPLY_BTT), "the whole supply, to the wei");
    let staked = wei(bttc_node::TEMPLATE_VALIDATOR_STAKE_BTT * 4);
    assert_eq!(g.alloc[&bttc_contracts::STAKE_MANAGER].balance, staked);
    assert_eq!(g.alloc[&bttc_node::template_treasury()].balance, wei(bttc_node::TREASURY_BTT));
    assert_eq!(
        g.alloc[&bttc_contracts::BTT_TOKEN].balance,
        wei(bttc_node::TOTAL_SUPPLY_BTT) - staked - wei(bttc_node::TREASURY_BTT)
    );

    let dir = tempfile::tempdir().unwrap();
    let db = bttc_storage::DatabaseEnv::open(dir.path(), Default::default()).unwrap();
    bttc_chain::init_genesis(&db, &built).unwrap();
    let sets = bttc_staking::StakeValidators::open(db, bttc_node::TEMPLATE_CHAIN_ID)
        .unwrap()
        .expect("StakeManager is deployed");
    let set = sets.validator_set(BlockHeight(1)).unwrap();
    assert_eq!(set.validators().len(), bttc_node::TEMPLATE_VALIDATORS);
    assert!(
        set.validators().iter().all(|v| v.voting_power == bttc_node::TEMPLATE_VALIDATOR_STAKE_BTT)
    );
}
