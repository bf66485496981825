//! The devnet's root chain: a `bttc node --dev` process with 1 s blocks (or an external
//! chain given with `--root-rpc`, such as anvil), `RootChain` deployed on it for the genesis
//! set, and one submitter account per validator (dev accounts 1..N of the shared mnemonic,
//! funded on the dev root and on anvil alike, kept in encrypted keystores).
//!
//! The bridge's root contracts are deployed beside `RootChain` (`StateSender`,
//! `RootChainManager`, `ERC20Predicate`, and a root-side BTT token mapped to bttc's native
//! BTT whose supply the predicate holds), so `bttc bridge withdraw` and `exit` work at once.
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
    /// The bridge's root contracts on it (roots recorded before the bridge have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) bridge: Option<BridgeRecord>,
}

/// The bridge's contracts on a devnet root.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BridgeRecord {
    /// `StateSender`.
    pub(crate) state_sender: Address,
    /// `RootChainManager`.
    pub(crate) root_chain_manager: Address,
    /// `ERC20Predicate`.
    pub(crate) erc20_predicate: Address,
    /// The root-side BTT token, mapped to bttc's native BTT.
    pub(crate) btt: Address,
    /// A test ERC-20 on the root (anyone may mint), mapped to `child_test_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) test_token: Option<Address>,
    /// Its `ChildERC20` on bttc, once deployed and mapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) child_test_token: Option<Address>,
    /// The `ChildERC20` on bttc mapped to the root's native coin (`depositEtherFor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) child_ether: Option<Address>,
}

/// The account that deploys the bridge's child tokens on a devnet's bttc: dev account 10 of
/// the mnemonic, funded in the devnet genesis and not among the accounts the banner hands
/// out, so its nonces never race a user's.
pub(crate) fn bttc_deployer() -> bttc_node::DevAccount {
    bttc_node::dev_accounts(11).swap_remove(10)
}

/// pos-portal's stand-in address for a root chain's native coin.
pub(crate) const ETHER_ADDRESS: Address =
    alloy_primitives::address!("0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE");

/// Dev accounts that hold root BTT and test tokens on the devnet's root.
const FUNDED_ON_ROOT: u32 = 10;
/// Root BTT and root test tokens each funded account gets.
const ROOT_TOKENS_EACH: u64 = 100_000;

/// Whole tokens to wei.
fn tokens(n: u64) -> alloy_primitives::U256 {
    alloy_primitives::U256::from(n)
        * alloy_primitives::U256::from(10u64).pow(alloy_primitives::U256::from(18))
}

/// The BTT wrapper's bridge reserve in a devnet genesis: the root BTT the dev accounts hold
/// on the devnet's root, so every root BTT can be deposited.
pub(crate) fn bridge_reserve() -> alloy_primitives::U256 {
    tokens(ROOT_TOKENS_EACH) * alloy_primitives::U256::from(FUNDED_ON_ROOT)
}

/// Root BTT the devnet's predicate holds at start (what bttc users can withdraw to the root).
const ROOT_BTT_LOCKED: u64 = 1_000_000_000;

/// Deploys the bridge on the root (by `deployer`): `StateSender`, `RootChainManager`,
/// `ERC20Predicate` and a root-side BTT token mapped to bttc's native BTT, with
/// [`ROOT_BTT_LOCKED`] of it held by the predicate and [`ROOT_TOKENS_EACH`] by each of the
/// first [`FUNDED_ON_ROOT`] dev accounts; and a test ERC-20 with as much for each (mapped
/// to bttc once bttc runs, [`ensure_test_token`]).
async fn deploy_bridge(
    url: &str,
    deployer: alloy_signer_local::PrivateKeySigner,
    root_chain: Address,
) -> eyre::Result<BridgeRecord> {
    use alloy_network::{EthereumWallet, TransactionBuilder};
    use alloy_primitives::{Bytes, U256};
    use alloy_rpc_types_eth::TransactionRequest;
    use alloy_sol_types::{SolCall, SolConstructor};
    use bttc_contracts::{
        BTT_TOKEN, CHILD_CHAIN_MANAGER,
        bridge::{DevToken, ERC20Predicate as PRED, RootChainManager as RCM},
        state_sync::StateSender as SS,
    };
    let from = deployer.address();
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(deployer))
        .connect_http(crate::stake_cmd::rpc_url(url)?);
    let deploy = |init: Vec<u8>, what: &'static str| {
        let p = &p;
        async move {
            let req = TransactionRequest::default().with_from(from).with_deploy_code(init);
            let r = p.send_transaction(req).await?.get_receipt().await?;
            match (r.status(), r.contract_address) {
                (true, Some(a)) => eyre::Ok(a),
                _ => eyre::bail!("deploying {what} on the root failed"),
            }
        }
    };
    let send = |to: Address, data: Vec<u8>, what: &'static str| {
        let p = &p;
        async move {
            let req = TransactionRequest::default()
                .with_from(from)
                .with_to(to)
                .with_input(Bytes::from(data));
            let r = p.send_transaction(req).await?.get_receipt().await?;
            eyre::ensure!(r.status(), "{what} on the root failed");
            eyre::Ok(())
        }
    };
    let with = |code: &Bytes, args: Vec<u8>| [code.to_vec(), args].concat();
    let state_sender = deploy(SS::BYTECODE.to_vec(), "StateSender").await?;
    let manager = deploy(
        with(
            &RCM::BYTECODE,
            RCM::constructorCall {
                owner_: from,
                checkpoints_: root_chain,
                stateSender_: state_sender,
                childChainManager_: CHILD_CHAIN_MANAGER,
            }
            .abi_encode(),
        ),
        "RootChainManager",
    )
    .await?;
    let predicate = deploy(
        with(&PRED::BYTECODE, PRED::constructorCall { manager_: manager }.abi_encode()),
        "ERC20Predicate",
    )
    .await?;
    let btt = deploy(DevToken::BYTECODE.to_vec(), "the root BTT token").await?;
    let register = SS::registerCall { sender: manager, receiver: CHILD_CHAIN_MANAGER };
    send(state_sender, register.abi_encode(), "StateSender.register").await?;
    let set = RCM::setPredicateCall { predicate_: predicate };
    send(manager, set.abi_encode(), "RootChainManager.setPredicate").await?;
    let map = RCM::mapTokenCall { rootToken: btt, childToken: BTT_TOKEN };
    send(manager, map.abi_encode(), "RootChainManager.mapToken").await?;
    let locked = U256::from(ROOT_BTT_LOCKED) * U256::from(10u64).pow(U256::from(18));
    let mint = DevToken::mintCall { to: predicate, amount: locked };
    send(btt, mint.abi_encode(), "minting the predicate's root BTT").await?;
    let test_token = deploy(DevToken::BYTECODE.to_vec(), "the root test token").await?;
    for acc in bttc_node::dev_accounts(FUNDED_ON_ROOT) {
        for token in [btt, test_token] {
            let mint = DevToken::mintCall { to: acc.address, amount: tokens(ROOT_TOKENS_EACH) };
            send(token, mint.abi_encode(), "minting dev accounts' root tokens").await?;
        }
    }
    Ok(BridgeRecord {
        state_sender,
        root_chain_manager: manager,
        erc20_predicate: predicate,
        btt,
        test_token: Some(test_token),
        child_test_token: None,
        child_ether: None,
    })
}

/// Maps the root's test token and its native coin each to a `ChildERC20` on bttc (deployed
/// by [`bttc_deployer`] through `bttc_url`; mapped on the root by dev account 0, the
/// manager's owner) unless that is done; records them in `roots.json`.
pub(crate) async fn ensure_child_tokens(
    l: &RootLayout<'_>,
    record: &mut RootRecord,
    bttc_url: &str,
) -> eyre::Result<()> {
    use alloy_network::{EthereumWallet, TransactionBuilder};
    use alloy_primitives::Bytes;
    use alloy_rpc_types_eth::TransactionRequest;
    use alloy_sol_types::{SolCall, SolConstructor};
    use bttc_contracts::{
        CHILD_CHAIN_MANAGER,
        bridge::{ChildERC20 as C20, RootChainManager as RCM},
    };
    let Some(bridge) = record.bridge.as_mut() else { return Ok(()) };
    let on_bttc = alloy_signer_local::PrivateKeySigner::from_bytes(&bttc_deployer().private_key)?;
    // The root's RootChainManager is owned by dev account 0, which deployed it.
    let owner = alloy_signer_local::PrivateKeySigner::from_bytes(
        &bttc_node::dev_accounts(1)[0].private_key,
    )?;
    let (deployer, from) = (on_bttc.address(), owner.address());
    let bttc = ProviderBuilder::new()
        .wallet(EthereumWallet::from(on_bttc))
        .connect_http(crate::stake_cmd::rpc_url(bttc_url)?);
    let root = ProviderBuilder::new()
        .wallet(EthereumWallet::from(owner))
        .connect_http(crate::stake_cmd::rpc_url(&record.rpc_url)?);
    let wanted = [
        (bridge.test_token, bridge.child_test_token, "Test Token", "TST"),
        (Some(ETHER_ADDRESS), bridge.child_ether, "Root chain ETH", "ETH"),
    ];
    let mut mapped = Vec::new();
    for (root_token, child, name, symbol) in wanted {
        let (Some(root_token), None) = (root_token, child) else {
            mapped.push(child);
            continue;
        };
        // Mapped by a run stopped before it recorded so: keep that mapping.
        let call = RCM::rootToChildTokenCall(root_token);
        let req = TransactionRequest::default()
            .with_to(bridge.root_chain_manager)
            .with_input(Bytes::from(call.abi_encode()));
        let known = RCM::rootToChildTokenCall::abi_decode_returns(&root.call(req).await?)?;
        if !known.is_zero() {
            mapped.push(Some(known));
            continue;
        }
        let args = C20::constructorCall {
            name_: name.into(),
            symbol_: symbol.into(),
            decimals_: 18,
            childChainManager_: CHILD_CHAIN_MANAGER,
        };
        let init = [C20::BYTECODE.to_vec(), args.abi_encode()].concat();
        let req = TransactionRequest::default().with_from(deployer).with_deploy_code(init);
        let r = bttc.send_transaction(req).await?.get_receipt().await?;
        let child = match (r.status(), r.contract_address) {
            (true, Some(a)) => a,
            _ => eyre::bail!("deploying the ChildERC20 for {symbol} on bttc failed"),
        };
        let map = RCM::mapTokenCall { rootToken: root_token, childToken: child };
        let req = TransactionRequest::default()
            .with_from(from)
            .with_to(bridge.root_chain_manager)
            .with_input(Bytes::from(map.abi_encode()));
        let r = root.send_transaction(req).await?.get_receipt().await?;
        eyre::ensure!(r.status(), "RootChainManager.mapToken for {symbol} failed on the root");
        mapped.push(Some(child));
    }
    bridge.child_test_token = mapped[0];
    bridge.child_ether = mapped[1];
    let mut records: Vec<RootRecord> = std::fs::read_to_string(l.record())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    for r in records.iter_mut().filter(|r| r.rpc_url == record.rpc_url) {
        r.bridge = record.bridge.clone();
    }
    std::fs::write(l.record(), serde_json::to_string_pretty(&records)?)?;
    Ok(())
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
    let d = crate::root_cmd::deploy(url, deployer.clone(), spec.chain_id(), &members, 1).await?;
    let bridge = deploy_bridge(url, deployer, d.address).await?;
    let record = RootRecord {
        name: name.to_string(),
        rpc_url: url.to_string(),
        chain_id,
        root_chain: d.address,
        bridge: Some(bridge),
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
