//! `bttc genesis new`: a genesis for a list of validators with their stakes and the
//! prefunded test-mnemonic accounts.

use alloy_primitives::{Bytes, U256};
use bttc_chainspec::{BttcParams, GenesisValidator};
use bttc_consensus::address_of;
use bttc_node::{DEV_CHAIN_ID, DEV_GAS_LIMIT, dev_accounts, network_genesis_with};
use clap::Args;
use eyre::WrapErr;
use std::path::PathBuf;

/// Options of `bttc genesis new`.
#[derive(Debug, Args)]
pub(crate) struct GenesisArgs {
    /// A validator: its secp256k1 public key (hex, as `bttc keys new` prints it), optionally
    /// `:<stake in whole BTT>` (default 10000). Repeat for each validator.
    #[arg(long = "validator", required = true)]
    validators: Vec<String>,
    /// Chain id (never 199 or 1029, BTTC's own).
    #[arg(long = "chain-id", default_value_t = DEV_CHAIN_ID)]
    chain_id: u64,
    /// Number of prefunded test-mnemonic accounts.
    #[arg(long, default_value_t = 10)]
    accounts: u32,
    /// Balance of each prefunded account, in whole BTT.
    #[arg(long, default_value_t = 10_000)]
    balance: u64,
    /// Block gas limit.
    #[arg(long = "gas-limit", default_value_t = DEV_GAS_LIMIT)]
    gas_limit: u64,
    /// Target block time in milliseconds.
    #[arg(long = "block-time-ms", default_value_t = 1000)]
    block_time_ms: u64,
    /// Blocks per staking epoch (the validator set can change at each epoch's end); the
    /// unbonding period is 3 epochs and evidence may be 2 epochs old.
    #[arg(long = "epoch-length", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    epoch_length: u64,
    /// Sets a `config.bttc` parameter, e.g. `--set signedBlocksWindow=20` (repeatable; the
    /// names are those of docs/staking.md).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Where to write the genesis (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Parses `<pubkey hex>[:<stake>]`.
pub(crate) fn parse_validator(s: &str) -> eyre::Result<GenesisValidator> {
    let (key, stake) = match s.split_once(':') {
        Some((k, st)) => (
            k,
            st.parse::<u64>()
                .wrap_err_with(|| format!("validator {s:?}: stake {st:?} is not a whole number"))?,
        ),
        None => (s, 10_000),
    };
    let bytes = alloy_primitives::hex::decode(key.trim())
        .wrap_err_with(|| format!("validator {s:?}: public key is not hex"))?;
    let vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes).map_err(|_| {
        eyre::eyre!("validator {s:?}: not a secp256k1 public key (33 or 65 bytes SEC1)")
    })?;
    if stake == 0 {
        eyre::bail!("validator {s:?}: stake must be at least 1 BTT");
    }
    Ok(GenesisValidator {
        address: address_of(&vk),
        public_key: Bytes::from(bytes),
        stake,
        operator: None,
    })
}

/// `params` with each `name=value` of `set` applied (a whole number, a `config.bttc` field).
pub(crate) fn with_overrides(params: BttcParams, set: &[String]) -> eyre::Result<BttcParams> {
    if set.is_empty() {
        return Ok(params);
    }
    let mut json = serde_json::to_value(&params)?;
    let fields = json.as_object_mut().expect("BttcParams is a JSON object");
    for item in set {
        let (name, value) = item
            .split_once('=')
            .ok_or_else(|| eyre::eyre!("--set {item:?}: expected NAME=VALUE"))?;
        let (name, value) = (name.trim(), value.trim());
        if name == "validators" || !fields.contains_key(name) {
            let known: Vec<&str> =
                fields.keys().map(String::as_str).filter(|k| *k != "validators").collect();
            eyre::bail!("--set {item:?}: unknown parameter {name:?} (known: {})", known.join(", "));
        }
        let number: u64 = value
            .parse()
            .map_err(|_| eyre::eyre!("--set {item:?}: {value:?} is not a whole number"))?;
        fields.insert(name.to_string(), serde_json::json!(number));
    }
    serde_json::from_value(json).map_err(|e| eyre::eyre!("--set: {e}"))
}

/// Devnet parameters for `validators` with a block time, an epoch length and `--set`
/// overrides.
pub(crate) fn devnet_params(
    validators: &[GenesisValidator],
    block_time_ms: u64,
    epoch_length: u64,
    set: &[String],
) -> eyre::Result<BttcParams> {
    let bttc = BttcParams {
        validators: validators.to_vec(),
        block_time_ms,
        ..BttcParams::devnet_with_epoch(epoch_length)
    };
    with_overrides(bttc, set)
}

/// Builds the genesis JSON: `accounts` dev accounts with `balance_btt` each.
pub(crate) fn make(
    chain_id: u64,
    accounts: u32,
    balance_btt: u64,
    gas_limit: u64,
    bttc: BttcParams,
) -> eyre::Result<String> {
    let balance = U256::from(balance_btt) * U256::from(10u64).pow(U256::from(18u64));
    network_genesis_with(chain_id, &dev_accounts(accounts), balance, gas_limit, bttc)
        .map_err(|e| eyre::eyre!(e))
}

pub(crate) fn run(a: GenesisArgs) -> eyre::Result<()> {
    if a.block_time_ms < 1000 {
        eyre::bail!(
            "--block-time-ms must be at least 1000: block timestamps are whole seconds and must increase"
        );
    }
    let validators =
        a.validators.iter().map(|v| parse_validator(v)).collect::<eyre::Result<Vec<_>>>()?;
    let bttc = devnet_params(&validators, a.block_time_ms, a.epoch_length, &a.set)?;
    let json = make(a.chain_id, a.accounts, a.balance, a.gas_limit, bttc)?;
    match a.out {
        Some(p) => {
            std::fs::write(&p, json).wrap_err_with(|| format!("cannot write {}", p.display()))?;
            eprintln!("genesis with {} validators written to {}", validators.len(), p.display());
        }
        None => println!("{json}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_overrides_named_parameters_and_refuses_the_rest_with_the_value() {
        let base = BttcParams::devnet();
        let set = |items: &[&str]| {
            with_overrides(base.clone(), &items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let p = set(&["signedBlocksWindow=20", " downtimeJailBlocks = 30 "]).unwrap();
        assert_eq!((p.signed_blocks_window, p.downtime_jail_blocks), (20, 30));
        assert_eq!(p.epoch_length, base.epoch_length, "the rest unchanged");
        let err = |items: &[&str]| set(items).unwrap_err().to_string();
        assert!(err(&["fooBps=1"]).contains("unknown parameter \"fooBps\""));
        assert!(err(&["validators=1"]).contains("unknown parameter"));
        assert!(err(&["epochLength"]).contains("expected NAME=VALUE"));
        assert!(err(&["epochLength=-3"]).contains("\"-3\" is not a whole number"));
        assert!(err(&["stakingApyBps=70000"]).contains("70000"), "u16 overflow names the value");
    }
}
