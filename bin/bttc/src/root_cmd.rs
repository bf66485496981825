//! `bttc root deploy`: puts `RootChain` (contracts/root/) on a root chain, trusting the bttc
//! chain's current validator set, and prints where it is.

use crate::stake_cmd::{TxArgs, rpc_url, runtime};
use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{Address, B256, U256};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_sol_types::{SolConstructor, SolValue};
use bttc_contracts::root_chain::RootChain as RC;
use clap::Subcommand;
use eyre::WrapErr;

/// `bttc root …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RootCommand {
    /// Deploy RootChain on a root chain (`--rpc-url`, signed by `--keystore` or
    /// `--private-key`), trusting the validator set of the bttc chain at `--child-rpc`.
    Deploy {
        #[command(flatten)]
        tx: TxArgs,
        /// JSON-RPC endpoint of a node of the bttc chain to checkpoint.
        #[arg(long = "child-rpc", default_value = "http://127.0.0.1:8545")]
        child_rpc: String,
        /// The first bttc block the first checkpoint covers: the first block of a checkpoint
        /// (default: right after the child's latest checkpoint, or 1 before the first).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        start: Option<u64>,
    },
}

/// The validator set as the root keeps it: `(signer, power)` ascending by signer, and its
/// hash `keccak256(abi.encode(signers, powers))`.
pub(crate) fn root_set(members: &[(Address, u64)]) -> (Vec<Address>, Vec<U256>, B256) {
    let mut sorted = members.to_vec();
    sorted.sort_by_key(|m| m.0);
    let signers: Vec<Address> = sorted.iter().map(|m| m.0).collect();
    let powers: Vec<U256> = sorted.iter().map(|m| U256::from(m.1)).collect();
    let hash = alloy_primitives::keccak256((signers.clone(), powers.clone()).abi_encode_params());
    (signers, powers, hash)
}

/// One `--root` value: `name=…,rpc_url=…,root_chain=…[,keystore=…[,password_file=…]]
/// [,confirmations=N][,takeover_secs=N][,history=N][,state_sender=…[,sync_confirmations=N]
/// [,sync_from=BLOCK][,root_chain_manager=…]]` (without a keystore: watch only). With
/// `state_sender=` the node also reads the root's deposits (state sync), up to the root's
/// `finalized` block or, with `sync_confirmations=N`, `N` blocks deep; with
/// `root_chain_manager=`, the exits processed there too.
pub(crate) fn root_config(
    spec: &str,
    index: usize,
    default_password: Option<&std::path::Path>,
    allow_insecure: bool,
) -> eyre::Result<(bttc_checkpoint::RootConfig, Option<bttc_bridge::WatchConfig>)> {
    let mut fields = std::collections::BTreeMap::new();
    for pair in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| eyre::eyre!("--root {spec:?}: {pair:?} is not key=value"))?;
        if fields.insert(k.trim().to_string(), v.trim().to_string()).is_some() {
            eyre::bail!("--root {spec:?}: {k} given twice");
        }
    }
    let mut take = |k: &str| fields.remove(k);
    let name = take("name").unwrap_or_else(|| format!("root{index}"));
    let need = |v: Option<String>, k: &str| {
        v.ok_or_else(|| eyre::eyre!("--root {name}: {k}= is missing (in {spec:?})"))
    };
    let rpc_url = need(take("rpc_url"), "rpc_url")?;
    rpc_url
        .parse::<reqwest::Url>()
        .wrap_err_with(|| format!("--root {name}: rpc_url {rpc_url:?}"))?;
    let root_chain: Address = need(take("root_chain"), "root_chain")?
        .parse()
        .wrap_err_with(|| format!("--root {name}: root_chain is not an address"))?;
    // Without a keystore the root is watched only (checkpoint status, exit payloads).
    let password_file = take("password_file").map(std::path::PathBuf::from);
    let signer = match take("keystore").map(std::path::PathBuf::from) {
        Some(keystore) => {
            let pw = crate::keys_cmd::password(password_file.as_deref().or(default_password))?;
            Some(crate::keys_cmd::load_key(&keystore, &pw, allow_insecure)?)
        }
        None => None,
    };
    let mut config = bttc_checkpoint::RootConfig::new(name.clone(), rpc_url, root_chain, signer);
    if let Some(c) = take("confirmations") {
        config.confirmations = c.parse::<u64>().ok().filter(|c| *c >= 1).ok_or_else(|| {
            eyre::eyre!("--root {name}: confirmations must be at least 1, got {c:?}")
        })?;
    }
    if let Some(t) = take("takeover_secs") {
        let secs: u64 = t
            .parse()
            .map_err(|_| eyre::eyre!("--root {name}: takeover_secs {t:?} is not a number"))?;
        config.takeover = std::time::Duration::from_secs(secs);
    }
    if let Some(h) = take("history") {
        config.history =
            h.parse::<usize>().ok().filter(|h| *h >= 1).ok_or_else(|| {
                eyre::eyre!("--root {name}: history must be at least 1, got {h:?}")
            })?;
    }
    let number = |k: &str, v: String| {
        v.parse::<u64>().map_err(|_| eyre::eyre!("--root {name}: {k} {v:?} is not a block count"))
    };
    let sync_confirmations = take("sync_confirmations")
        .map(|c| number("sync_confirmations", c))
        .transpose()?
        .map(|c| c.max(1));
    let sync_from = take("sync_from").map(|c| number("sync_from", c)).transpose()?;
    let manager = take("root_chain_manager")
        .map(|a| {
            a.parse::<Address>()
                .wrap_err_with(|| format!("--root {name}: root_chain_manager is not an address"))
        })
        .transpose()?;
    let watch = match take("state_sender") {
        Some(a) => Some(bttc_bridge::WatchConfig {
            name: name.clone(),
            rpc_url: config.rpc_url.clone(),
            state_sender: a
                .parse()
                .wrap_err_with(|| format!("--root {name}: state_sender is not an address"))?,
            confirmations: sync_confirmations,
            manager,
            from_block: sync_from.unwrap_or_default(),
            poll: std::time::Duration::from_secs(1),
        }),
        None if sync_confirmations.is_some() || sync_from.is_some() || manager.is_some() => {
            eyre::bail!(
                "--root {name}: sync_confirmations, sync_from and root_chain_manager need state_sender="
            )
        }
        None => None,
    };
    if let Some(unknown) = fields.keys().next() {
        eyre::bail!(
            "--root {name}: unknown key {unknown:?} (known: name, rpc_url, root_chain, keystore, password_file, confirmations, takeover_secs, history, state_sender, sync_confirmations, sync_from, root_chain_manager)"
        );
    }
    Ok((config, watch))
}

/// A `RootChain` on a root chain.
pub(crate) struct Deployed {
    pub(crate) address: Address,
    pub(crate) root_chain_id: u64,
    pub(crate) set_hash: B256,
    pub(crate) signers: Vec<Address>,
    pub(crate) powers: Vec<U256>,
}

/// Deploys `RootChain` on the root at `root_url` (paid by `signer`) for `child_chain_id`,
/// trusting `members`, its first checkpoint starting at `start`; waits for the receipt.
pub(crate) async fn deploy(
    root_url: &str,
    signer: alloy_signer_local::PrivateKeySigner,
    child_chain_id: u64,
    members: &[(Address, u64)],
    start: u64,
) -> eyre::Result<Deployed> {
    eyre::ensure!(!members.is_empty(), "an empty validator set cannot sign checkpoints");
    let (signers, powers, set_hash) = root_set(members);
    let from = signer.address();
    let root = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(rpc_url(root_url)?);
    let root_chain_id =
        root.get_chain_id().await.wrap_err_with(|| format!("root {root_url}: eth_chainId"))?;
    let args = RC::constructorCall {
        childChainId_: U256::from(child_chain_id),
        setHash: set_hash,
        lastChildBlock: U256::from(start - 1),
    };
    let mut init = RC::BYTECODE.to_vec();
    init.extend_from_slice(&args.abi_encode());
    let req = TransactionRequest::default().with_from(from).with_deploy_code(init);
    let pending = root.send_transaction(req).await.wrap_err("sending the deployment")?;
    let hash = *pending.tx_hash();
    println!("sent {hash} from {from} to root chain {root_chain_id}");
    let receipt = pending.get_receipt().await.wrap_err("waiting for the receipt")?;
    let address = match (receipt.status(), receipt.contract_address) {
        (true, Some(a)) => a,
        _ => eyre::bail!("the deployment {hash} failed in block {:?}", receipt.block_number),
    };
    println!("included in block {}", receipt.block_number.unwrap_or_default());
    Ok(Deployed { address, root_chain_id, set_hash, signers, powers })
}

pub(crate) fn run(cmd: RootCommand) -> eyre::Result<()> {
    let RootCommand::Deploy { tx, child_rpc, start } = cmd;
    runtime()?.block_on(async move {
        let child = ProviderBuilder::new().connect_http(rpc_url(&child_rpc)?);
        let child_chain_id = child.get_chain_id().await.wrap_err("--child-rpc: eth_chainId")?;
        let current: serde_json::Value = child
            .raw_request("bor_getCurrentValidators".into(), serde_json::json!([]))
            .await
            .wrap_err(
                "--child-rpc: bor_getCurrentValidators (is it a bttc validator or full node?)",
            )?;
        let mut members = Vec::new();
        for m in current.as_array().into_iter().flatten() {
            let signer: Address = serde_json::from_value(m["signer"].clone())
                .wrap_err_with(|| format!("a member without a signer: {m}"))?;
            let power =
                m["power"].as_u64().ok_or_else(|| eyre::eyre!("a member without power: {m}"))?;
            members.push((signer, power));
        }
        eyre::ensure!(!members.is_empty(), "--child-rpc reports an empty validator set");
        let start = match start {
            Some(s) => s,
            None => {
                let latest: serde_json::Value = child
                    .raw_request("bttc_getCheckpoint".into(), serde_json::json!(["latest"]))
                    .await
                    .wrap_err("--child-rpc: bttc_getCheckpoint")?;
                match latest["end"].as_str() {
                    Some(end) => {
                        u64::from_str_radix(end.trim_start_matches("0x"), 16)
                            .wrap_err_with(|| format!("checkpoint end {end:?}"))?
                            + 1
                    }
                    None => 1,
                }
            }
        };
        let d = deploy(&tx.rpc_url, tx.signer()?, child_chain_id, &members, start).await?;
        let summary = serde_json::json!({
            "rootChain": d.address,
            "rootChainId": d.root_chain_id,
            "childChainId": child_chain_id,
            "firstCheckpointStart": start,
            "validatorSetHash": d.set_hash,
            "validators": d.signers
                .iter()
                .zip(&d.powers)
                .map(|(s, p)| serde_json::json!({"signer": s, "power": p.saturating_to::<u64>()}))
                .collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::root_config;

    fn keystore(dir: &std::path::Path) -> std::path::PathBuf {
        let (_, path) =
            crate::keys_cmd::import_key(&dir.join("keys"), "root.json", &[7u8; 32], "pw").unwrap();
        std::fs::write(dir.join("pw"), "pw\n").unwrap();
        path
    }

    #[test]
    fn a_root_spec_is_read_with_defaults_and_its_mistakes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let ks = keystore(dir.path());
        let pw = dir.path().join("pw");
        let rc = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let spec =
            format!("rpc_url=http://127.0.0.1:8645,root_chain={rc},keystore={}", ks.display());
        let (c, watch) = root_config(&spec, 2, Some(&pw), false).unwrap();
        assert!(watch.is_none(), "no state_sender: no deposits read");
        assert_eq!((c.name.as_str(), c.confirmations), ("root2", 1));
        assert_eq!(c.root_chain, rc.parse::<alloy_primitives::Address>().unwrap());
        let signer = alloy_signer_local::PrivateKeySigner::from_slice(&[7u8; 32]).unwrap();
        assert_eq!(c.signer.as_ref().map(|s| s.address()), Some(signer.address()));
        let (c, watch) = root_config(
            &format!(
                "name=eth,{spec},confirmations=12,takeover_secs=3,state_sender={rc},sync_from=77,root_chain_manager={rc}"
            ),
            0,
            Some(&pw),
            false,
        )
        .unwrap();
        assert_eq!((c.name.as_str(), c.confirmations, c.takeover.as_secs()), ("eth", 12, 3));
        let watch = watch.expect("state_sender: deposits read");
        assert_eq!((watch.name.as_str(), watch.from_block, watch.confirmations), ("eth", 77, None));
        assert_eq!(watch.rpc_url, "http://127.0.0.1:8645");
        assert_eq!(watch.manager, Some(c.root_chain));

        let err = |s: &str| root_config(s, 0, Some(&pw), false).unwrap_err().to_string();
        assert!(
            err(&format!("root_chain={rc},keystore={}", ks.display()))
                .contains("rpc_url= is missing")
        );
        let watch = root_config(&format!("rpc_url=http://x,root_chain={rc}"), 0, None, false);
        assert!(watch.unwrap().0.signer.is_none(), "no keystore: watch only");
        assert!(err(&format!("{spec},sync_from=3")).contains("need state_sender="));
        assert!(err(&format!("{spec},root_chain_manager={rc}")).contains("need state_sender="));
        assert!(err(&format!("{spec},state_sender=0x1")).contains("not an address"));
        let (_, w) = root_config(
            &format!("{spec},state_sender={rc},sync_confirmations=0"),
            0,
            Some(&pw),
            false,
        )
        .unwrap();
        assert_eq!(w.unwrap().confirmations, Some(1), "at least the block itself");
        assert!(err(&format!("{spec},confirmations=0")).contains("at least 1"));
        assert!(err(&format!("{spec},colour=blue")).contains("unknown key \"colour\""));
        assert!(err(&format!("{spec},name=a,name=b")).contains("given twice"));
        assert!(err("rpc_url=http://x,root_chain=0x12,keystore=k").contains("not an address"));
        let wrong = dir.path().join("wrong");
        std::fs::write(&wrong, "nope\n").unwrap();
        let e = root_config(&spec, 0, Some(&wrong), false).unwrap_err().to_string();
        assert!(e.contains("cannot decrypt"), "{e}");
    }
}
