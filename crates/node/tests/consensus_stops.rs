//! A validator that cannot go on stops loudly instead of hanging: a one-validator chain whose
//! validator set is known up to height 3 only decides blocks 1 to 3, then `BftNode::stopped`
//! reports the height without parameters (rather than the engine waiting forever for an
//! answer), and the chain is left at block 3.

use alloy_primitives::U256;
use bttc_consensus::{
    BlockHeight, StaticValidators, ValidatorSet, ValidatorSetError, ValidatorSetProvider,
};
use bttc_node::{
    NodeError,
    bft::{BftNode, BftNodeConfig, ConsensusError},
    dev_accounts, network_genesis,
};
use k256::ecdsa::SigningKey;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use support::{block_number, free_port};

mod support;

/// The genesis validators up to a height; nothing is known above it.
#[derive(Debug)]
struct KnownUpTo(StaticValidators, u64);

impl ValidatorSetProvider for KnownUpTo {
    fn validator_set(&self, height: BlockHeight) -> Result<ValidatorSet, ValidatorSetError> {
        if height.0 > self.1 {
            return Err(ValidatorSetError::Empty);
        }
        self.0.validator_set(height)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_without_the_next_heights_parameters_stops_with_the_cause() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "bttc=info,warn".into()),
        )
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_slice(&[0x51; 32]).unwrap();
    let validator = bttc_chainspec::GenesisValidator {
        address: bttc_consensus::address_of(key.verifying_key()),
        public_key: key.verifying_key().to_encoded_point(true).as_bytes().to_vec().into(),
        stake: 100,
        operator: None,
    };
    let genesis = network_genesis(
        4444,
        &dev_accounts(1),
        U256::from(10u64).pow(U256::from(20u64)),
        30_000_000,
        std::slice::from_ref(&validator),
        1000,
    )
    .unwrap();
    let set = StaticValidators::from_genesis(&[validator]).unwrap();
    let mut config = BftNodeConfig::new(dir.path().to_path_buf());
    config.genesis = Some(genesis);
    config.validator_key = Some(key);
    config.p2p_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.rpc.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.validator_sets = Some(Arc::new(KnownUpTo(set, 3)));
    let mut node = BftNode::start(config).await.unwrap();

    let failure = tokio::time::timeout(Duration::from_secs(120), node.stopped())
        .await
        .expect("the node hangs at a height without parameters");
    match &failure {
        NodeError::Consensus(e)
            if matches!(**e, ConsensusError::HeightParams { height: 4, .. }) => {}
        other => panic!("expected no parameters for height 4, got {other}"),
    }
    // The chain stopped at the last height it could decide (the RPC server keeps serving
    // until the node is stopped).
    let rpc = node.rpc_addr;
    assert_eq!(tokio::task::spawn_blocking(move || block_number(rpc)).await.unwrap(), 3);
    node.stop().await;
}
