//! The staking genesis made from a chain spec's `config.bttc` section, and the BTT wrapper.

mod support;

use alloy_primitives::{Address, Bytes, U256};
use bttc_chainspec::{BttcParams, GenesisValidator};
use bttc_contracts::{
    BTT_TOKEN, STAKE_MANAGER, btt::BTT, params_from, stake_manager::StakeManager as SM,
    staking_alloc,
};
use support::*;

fn genesis_validator(keys: &Keys, stake: u64, operator: Option<Address>) -> GenesisValidator {
    GenesisValidator {
        address: keys.signer(),
        // Compressed SEC1, as `bttc keys new` prints keys.
        public_key: Bytes::copy_from_slice(
            keys.consensus.verifying_key().to_encoded_point(true).as_bytes(),
        ),
        stake,
        operator,
    }
}

fn devnet_chain() -> (Chain, BttcParams, Keys, Keys) {
    let (a, b) = (Keys::new(1), Keys::new(2));
    let bttc = BttcParams {
        validators: vec![
            genesis_validator(&a, 500, None),
            genesis_validator(&b, 700, Some(b.operator)),
        ],
        ..BttcParams::devnet()
    };
    let chain = Chain::from_alloc(staking_alloc(CHAIN_ID, &bttc).unwrap());
    (chain, bttc, a, b)
}

#[test]
fn the_staking_genesis_follows_config_bttc() {
    let (mut chain, bttc, a, b) = devnet_chain();
    let p = chain.view(SM::paramsCall {});
    let want = params_from(&bttc).unwrap();
    assert_eq!(p.epochLength, 64);
    assert_eq!(p.unbondingEpochs, 3, "192 blocks of unbonding = 3 epochs of 64");
    assert_eq!(p.blocksPerYear, 31_536_000, "1 s blocks");
    assert_eq!(p.signedBlocksWindow, want.signedBlocksWindow);
    assert_eq!(p.minSelfStake, btt(1));
    assert_eq!(p.evidenceMaxAge, 128);
    let set = chain.current_set();
    assert_eq!(set.len(), 2);
    assert_eq!((set[0].signer, set[0].power), (b.signer(), 700));
    assert_eq!((set[1].signer, set[1].power), (a.signer(), 500));
    assert_eq!(set[0].pubkey, b.pubkey(), "the compressed key is stored as x || y");
    assert_eq!(set[0].operator, b.operator, "an operator named in config.bttc");
    assert_eq!(set[1].operator, a.signer(), "no operator named: the validator's own address");
    assert_eq!(chain.balance(STAKE_MANAGER), btt(1_200));
}

#[test]
fn out_of_range_parameters_are_refused_with_the_field_named() {
    let a = Keys::new(1);
    let bttc = BttcParams {
        max_validators: 300,
        validators: vec![genesis_validator(&a, 5, None)],
        ..BttcParams::devnet()
    };
    let err = staking_alloc(CHAIN_ID, &bttc).unwrap_err();
    assert_eq!(err.to_string(), "config.bttc.maxValidators = 300 does not fit (at most 256)");
    let mut bad = genesis_validator(&a, 5, None);
    bad.public_key = Bytes::from(vec![5u8; 33]);
    let bttc = BttcParams { validators: vec![bad], ..BttcParams::devnet() };
    let err = staking_alloc(CHAIN_ID, &bttc).unwrap_err();
    assert!(err.to_string().contains("public key is not a valid secp256k1 key"), "{err}");
    let bttc = BttcParams {
        unbonding_period: 64,
        validators: vec![genesis_validator(&a, 5, None)],
        ..BttcParams::devnet()
    };
    let err = staking_alloc(CHAIN_ID, &bttc).unwrap_err();
    assert!(err.to_string().contains("unbonding must outlast evidenceMaxAge"), "{err}");
}

#[test]
fn btt_wraps_the_native_balance() {
    let (mut chain, _bttc, _a, _b) = devnet_chain();
    let alice = Address::repeat_byte(0xa1);
    let bob = Address::repeat_byte(0xb0);
    chain.fund(alice, btt(10));
    let bal = chain
        .send_to(Address::ZERO, BTT_TOKEN, BTT::balanceOfCall { account: alice }, U256::ZERO)
        .unwrap();
    assert_eq!(bal, btt(10));
    assert_eq!(
        chain.send_to(Address::ZERO, BTT_TOKEN, BTT::symbolCall {}, U256::ZERO).unwrap(),
        "BTT"
    );
    assert_eq!(
        chain.send_to(Address::ZERO, BTT_TOKEN, BTT::decimalsCall {}, U256::ZERO).unwrap(),
        18
    );
    // `value` must be the BTT sent along.
    let err = chain
        .send_to(alice, BTT_TOKEN, BTT::transferCall { to: bob, value: btt(3) }, btt(2))
        .failed();
    assert!(err.reason.contains("ValueMismatch"), "{}", err.reason);
    assert!(
        chain
            .send_to(alice, BTT_TOKEN, BTT::transferCall { to: bob, value: btt(3) }, btt(3))
            .unwrap()
    );
    assert_eq!(chain.balance(bob), btt(3));
    assert_eq!(chain.balance(alice), btt(7));
    assert_eq!(chain.balance(BTT_TOKEN), U256::ZERO, "nothing stays in the wrapper");
    // Supply: the genesis 990 trillion plus what staking has issued.
    let supply0 =
        chain.send_to(Address::ZERO, BTT_TOKEN, BTT::totalSupplyCall {}, U256::ZERO).unwrap();
    assert_eq!(supply0, btt(990_000_000_000_000));
    let minted = chain.next_block(U256::ZERO).unwrap();
    assert!(minted > U256::ZERO);
    let supply1 =
        chain.send_to(Address::ZERO, BTT_TOKEN, BTT::totalSupplyCall {}, U256::ZERO).unwrap();
    assert_eq!(supply1, supply0 + minted);
}
