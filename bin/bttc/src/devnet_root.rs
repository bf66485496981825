//! The devnet's root chain: a `bttc node --dev` process with 1 s blocks (or an external
//! chain given with `--root-rpc`, such as anvil), `RootChain` deployed on it for the genesis
//! set, and one submitter account per validator (dev accounts 1..N of the shared mnemonic,
//! funded on the dev root and on anvil alike, kept in encrypted keystores).
//!
//! What was deployed is kept in `<datadir>/roots.json`, so a resumed devnet keeps
//! checkpointing to the same contracts. Several `--root-rpc` roots each get their own
//! `RootChain` and their own checkpoint sequence.

use alloy_primitives::Address;
use alloy_provider::{Provider, ProviderBuilder};
use eyre::WrapErr;
use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The chain id of the devnet's own root chain (anvil's default, so tools treat it alike).
pub(crate) const ROOT_CHAIN_ID: u64 = 31_337;

/// What `root.json` records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RootRecord {
    /// Its name in the validators' `--root` settings and in `bttc_getCheckpoint`.
    pub(crate) name: String,
    /// The root's JSON-RPC endpoint.
    pub(crate) rpc_url: String,
    /// Its chain id.
    pub(crate) chain_id: u64,
    /// `RootChain` on it.
    pub(crate) root_chain: Address,
}

/// Where the root's files are.
pub(crate) struct RootLayout<'a> {
    pub(crate) root: &'a Path,
}

impl RootLayout<'_> {
    pub(crate) fn record(&self) -> PathBuf {
        self.root.join("roots.json")
    }
    pub(crate) fn datadir(&self) -> PathBuf {
        self.root.join("root-chain")
    }
    pub(crate) fn log(&self) -> PathBuf {
        self.datadir().join("node.log")
    }
    pub(crate) fn submitter_key(&self, i: u16) -> PathBuf {
        self.root.join("keys").join(format!("root-submitter-{i}.json"))
    }
}

/// Starts the devnet's own root chain on `port`.
pub(crate) fn spawn_root(l: &RootLayout<'_>, port: u16) -> eyre::Result<Child> {
    std::fs::create_dir_all(l.datadir())?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(l.log())?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["node", "--dev", "--block-time", "1", "--accounts", "32"])
        .args(["--chain-id", &ROOT_CHAIN_ID.to_string()])
        .arg("--datadir")
        .arg(l.datadir())
        .args(["--http.port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "warn");
    }
    cmd.spawn().wrap_err("cannot start the root chain")
}

/// Waits until the root at `url` answers `eth_chainId` (at most `within`).
pub(crate) async fn wait_for_root(url: &str, within: Duration) -> eyre::Result<u64> {
    let p = ProviderBuilder::new().connect_http(crate::stake_cmd::rpc_url(url)?);
    let deadline = Instant::now() + within;
    loop {
        match p.get_chain_id().await {
            Ok(id) => return Ok(id),
            Err(e) if Instant::now() > deadline => {
                return Err(eyre::eyre!("root chain {url} did not answer in {within:?}: {e}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Whether `address` holds code on the root at `url`.
pub(crate) async fn has_code(url: &str, address: Address) -> eyre::Result<bool> {
    let p = ProviderBuilder::new().connect_http(crate::stake_cmd::rpc_url(url)?);
    Ok(!p.get_code_at(address).await.wrap_err("root eth_getCode")?.is_empty())
}

/// `RootChain` for the devnet in `genesis` on the root at `url`: the one in `root.json` if
/// it is there and on that root, else a new deployment (by dev account 0) trusting the
/// genesis set from block 1.
pub(crate) async fn ensure_root_chain(
    l: &RootLayout<'_>,
    name: &str,
    url: &str,
    genesis: &Path,
) -> eyre::Result<(RootRecord, bool)> {
    let chain_id = wait_for_root(url, Duration::from_secs(30)).await?;
    let mut records: Vec<RootRecord> = std::fs::read_to_string(l.record())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if let Some(r) = records.iter().find(|r| r.rpc_url == url && r.chain_id == chain_id) {
        if has_code(url, r.root_chain).await? {
            return Ok((RootRecord { name: name.to_string(), ..r.clone() }, false));
        }
        eprintln!(
            "RootChain {} is gone from {url} (a root restarted from scratch?); deploying a new one from block 1",
            r.root_chain
        );
    }
    let text = std::fs::read_to_string(genesis)
        .wrap_err_with(|| format!("cannot read {}", genesis.display()))?;
    let spec = bttc_chainspec::ChainSpec::from_json(&text)
        .wrap_err_with(|| format!("{} is not a bttc genesis", genesis.display()))?;
    let params = spec.bttc().ok_or_else(|| eyre::eyre!("genesis without config.bttc"))?;
    let members: Vec<(Address, u64)> =
        params.validators.iter().map(|v| (v.address, v.stake)).collect();
    let deployer = alloy_signer_local::PrivateKeySigner::from_bytes(
        &bttc_node::dev_accounts(1)[0].private_key,
    )?;
    let d = crate::root_cmd::deploy(url, deployer, spec.chain_id(), &members, 1).await?;
    let record = RootRecord {
        name: name.to_string(),
        rpc_url: url.to_string(),
        chain_id,
        root_chain: d.address,
    };
    records.retain(|r| r.rpc_url != url);
    records.push(record.clone());
    std::fs::write(l.record(), serde_json::to_string_pretty(&records)?)?;
    Ok((record, true))
}

/// The submitter keystores of validators `0..n` (dev accounts 1..=n), written if missing.
pub(crate) fn submitter_keys(l: &RootLayout<'_>, n: u16, password: &str) -> eyre::Result<()> {
    let accounts = bttc_node::dev_accounts(u32::from(n) + 1);
    for i in 0..n {
        let path = l.submitter_key(i);
        if path.exists() {
            continue;
        }
        let key = accounts[usize::from(i) + 1].private_key;
        let name = path.file_name().and_then(|f| f.to_str()).expect("a file name");
        crate::keys_cmd::import_key(
            path.parent().expect("keys dir"),
            name,
            key.as_slice(),
            password,
        )?;
    }
    Ok(())
}
