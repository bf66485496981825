//! `bttc devnet`: N validators as separate `bttc node` processes on 127.0.0.1, each with its
//! own datadir, keystore and ports, sharing one genesis, and a root chain they checkpoint to
//! (`crate::devnet_root`). Running it again resumes the same chain; `--fresh` starts over.

use crate::{genesis_cmd, keys_cmd};
use bttc_node::{DEV_CHAIN_ID, DEV_GAS_LIMIT, DEV_MNEMONIC, dev_accounts, key_file};
use clap::Args;
use eyre::WrapErr;
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Options of `bttc devnet`.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    validators: u16,
    /// Where the network lives (genesis, keystores, one datadir per validator).
    #[arg(long, default_value = "bttc-devnet")]
    datadir: PathBuf,
    /// Validator i serves JSON-RPC on this port + i.
    #[arg(long = "http.base-port", default_value_t = 8545)]
    http_base_port: u16,
    /// Validator i listens for peers on this port + i.
    #[arg(long = "p2p.base-port", default_value_t = 30301)]
    p2p_base_port: u16,
    /// Target block time in seconds, at least 1 (a new network only; kept in its genesis).
    #[arg(long = "block-time", default_value_t = 1.0)]
    block_time: f64,
    /// Blocks per staking epoch of a new network (the validator set can change at each
    /// epoch's end; unbonding lasts 3 epochs).
    #[arg(long = "epoch-length", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    epoch_length: u64,
    /// Sets a `config.bttc` parameter of a new network, e.g. `--set signedBlocksWindow=20`
    /// (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Chain id of a new network.
    #[arg(long = "chain-id", default_value_t = DEV_CHAIN_ID)]
    chain_id: u64,
    /// Delete the network in --datadir and start a new one.
    #[arg(long)]
    fresh: bool,
    /// Checkpoint to this root chain (anvil, a testnet) instead of starting one (repeatable:
    /// each root gets its own RootChain and checkpoint sequence); dev accounts 0 (deployer)
    /// and 1..=N (submitters) of the dev mnemonic must be funded there.
    #[arg(long = "root-rpc", conflicts_with = "no_root")]
    root_rpc: Vec<String>,
    /// How deep a `--root-rpc` root's block must be before its deposits count as final
    /// (1: once mined; the devnet's own root is final at its head).
    #[arg(long = "root.sync-confirmations", default_value_t = 1, requires = "root_rpc")]
    root_sync_confirmations: u64,
    /// Port of the devnet's own root chain (a `bttc node --dev`, chain id 31337).
    #[arg(long = "root.port", default_value_t = 8645)]
    root_port: u16,
    /// Run without a root chain (no checkpoints are posted anywhere).
    #[arg(long = "no-root")]
    no_root: bool,
}

/// Prints to stdout; a closed stdout (the terminal went away) must not kill the supervisor
/// and orphan its validators.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// [`say`] for stderr.
macro_rules! warn {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// Log filter of the validators unless RUST_LOG says otherwise: bttc at info, the engine's
/// per-vote chatter at warn (its warning at every height after a checkpoint, where vote
/// extensions are switched off again as intended, at error).
const NODE_LOG: &str = "info,arc_malachitebft_core_consensus=warn,\
                        arc_malachitebft_core_consensus::state=error,arc_malachitebft_engine=warn,\
                        arc_malachitebft_network=warn,arc_malachitebft_sync=warn,libp2p=warn";

struct Layout {
    root: PathBuf,
}

impl Layout {
    fn genesis(&self) -> PathBuf {
        self.root.join("genesis.json")
    }
    fn password(&self) -> PathBuf {
        self.root.join("password")
    }
    fn keystore(&self, i: u16) -> PathBuf {
        self.root.join("keys").join(format!("validator-{i}.json"))
    }
    fn node_dir(&self, i: u16) -> PathBuf {
        self.root.join(format!("node-{i}"))
    }
}

fn create_network(l: &Layout, a: &DevnetArgs) -> eyre::Result<()> {
    std::fs::create_dir_all(&l.root)
        .wrap_err_with(|| format!("cannot create {}", l.root.display()))?;
    let password = format!("{:x}", rand08::random::<u128>());
    if l.password().exists() {
        // Left by a creation that did not finish (there is no genesis yet).
        std::fs::remove_file(l.password())?;
    }
    key_file::write_private_file(&l.password(), password.as_bytes())?;
    let mut validators = Vec::new();
    for i in 0..a.validators {
        let name = format!("validator-{i}.json");
        let (signer, _) = keys_cmd::new_key(&l.root.join("keys"), Some(&name), &password)?;
        validators.push(genesis_cmd::parse_validator(&format!(
            "{}:10000",
            keys_cmd::public_key_hex(&signer)
        ))?);
    }
    let block_time_ms = (a.block_time * 1000.0).round() as u64;
    let bttc = genesis_cmd::devnet_params(&validators, block_time_ms, a.epoch_length, &a.set)?;
    let json = genesis_cmd::make(a.chain_id, 10, 10_000, DEV_GAS_LIMIT, bttc)?;
    // The BTT wrapper's bridge reserve: what deposits of the root's BTT are paid from (the
    // same amount of root BTT is handed to the dev accounts on the devnet's root).
    let mut genesis: alloy_genesis::Genesis = serde_json::from_str(&json)?;
    genesis.alloc.insert(
        bttc_contracts::BTT_TOKEN,
        bttc_contracts::btt_token_account(crate::devnet_root::bridge_reserve()),
    );
    // The account that deploys the bridge's child tokens (not handed out to users).
    genesis.alloc.insert(
        crate::devnet_root::bttc_deployer().address,
        alloy_genesis::GenesisAccount {
            balance: alloy_primitives::U256::from(1_000u64)
                * alloy_primitives::U256::from(10u64).pow(alloy_primitives::U256::from(18)),
            ..Default::default()
        },
    );
    std::fs::write(l.genesis(), serde_json::to_string_pretty(&genesis)?)?;
    Ok(())
}

/// A network made before key files were private: make its own keystores and password
/// readable by the owner only (the nodes refuse them otherwise).
fn tighten_permissions(l: &Layout, validators: u16) -> eyre::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut paths: Vec<(PathBuf, u32)> = vec![(l.root.join("keys"), 0o700)];
        paths.push((l.password(), 0o600));
        paths.extend((0..validators).map(|i| (l.keystore(i), 0o600)));
        for (path, mode) in paths {
            let now = std::fs::metadata(&path)?.permissions().mode() & 0o7777;
            if now & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .wrap_err_with(|| format!("cannot restrict {}", path.display()))?;
                warn!("{}: mode {now:04o} -> {mode:04o} (key files are private)", path.display());
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (l, validators);
    Ok(())
}

fn spawn_node(
    l: &Layout,
    a: &DevnetArgs,
    i: u16,
    roots: &[crate::devnet_root::RootRecord],
) -> eyre::Result<Child> {
    let dir = l.node_dir(i);
    std::fs::create_dir_all(&dir)?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("node.log"))?;
    let bootnodes: Vec<String> = (0..a.validators)
        .filter(|j| *j != i)
        .map(|j| format!("/ip4/127.0.0.1/tcp/{}", a.p2p_base_port + j))
        .collect();
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.arg("node")
        .arg("--datadir")
        .arg(&dir)
        .arg("--genesis")
        .arg(l.genesis())
        .arg("--validator-key")
        .arg(l.keystore(i))
        .arg("--password-file")
        .arg(l.password())
        .args(["--p2p.addr", "127.0.0.1"])
        .args(["--p2p-port", &(a.p2p_base_port + i).to_string()])
        .args(["--http.port", &(a.http_base_port + i).to_string()])
        .args(["--moniker", &format!("validator-{i}")])
        .args(["--rpc.io-threads", "2"])
        // A local network for dApp development: pages on this machine may call, as on a
        // dev node.
        .args(["--http.corsdomain", "localhost,127.0.0.1", "--ws.origins", "localhost,127.0.0.1"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if !bootnodes.is_empty() {
        cmd.arg("--bootnodes").arg(bootnodes.join(","));
    }
    let bridge_root = roots.iter().find(|r| r.bridge.is_some()).map(|r| &r.rpc_url);
    for r in roots {
        let key = crate::devnet_root::RootLayout { root: &l.root }.submitter_key(i);
        let mut spec = format!(
            "name={},rpc_url={},root_chain={},keystore={},takeover_secs=5",
            r.name,
            r.rpc_url,
            r.root_chain,
            key.display()
        );
        if let Some(b) = r.bridge.as_ref().filter(|_| Some(&r.rpc_url) == bridge_root) {
            // Deposits (from the first root only: devnet roots share chain id 31337, and
            // record ids are per chain id): the devnet's own root is final at its head;
            // other roots (anvil) after `--root.sync-confirmations` blocks.
            spec.push_str(&format!(
                ",state_sender={},root_chain_manager={}",
                b.state_sender, b.root_chain_manager
            ));
            if !a.root_rpc.is_empty() {
                spec.push_str(&format!(",sync_confirmations={}", a.root_sync_confirmations));
            }
        }
        cmd.arg("--root").arg(spec);
    }
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", NODE_LOG);
    }
    cmd.spawn().wrap_err_with(|| format!("cannot start validator {i}"))
}

/// The index the root chain's process has among the children.
const ROOT_PROCESS: u16 = u16::MAX;

fn process_name(i: u16) -> String {
    if i == ROOT_PROCESS { "the root chain".into() } else { format!("validator {i}") }
}

fn terminate(children: &mut [(u16, Child)]) {
    for (_, c) in children.iter() {
        #[cfg(unix)]
        // SAFETY: plain kill(2) on a child's pid.
        unsafe {
            libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (i, c) in children.iter_mut() {
        loop {
            match c.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    warn!("{} did not stop in time; killing it", process_name(*i));
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
            }
        }
    }
}

pub(crate) fn run(a: DevnetArgs) -> eyre::Result<()> {
    if a.validators == 0 {
        eyre::bail!("--validators must be at least 1");
    }
    if a.chain_id == 199 || a.chain_id == 1029 {
        eyre::bail!("chain id {} belongs to a BTTC network; pick another for a devnet", a.chain_id);
    }
    if !(1.0..=3600.0).contains(&a.block_time) {
        eyre::bail!(
            "--block-time must be between 1 and 3600 seconds (block timestamps are whole seconds and must increase), got {}",
            a.block_time
        );
    }
    let l = Layout { root: a.datadir.clone() };
    if a.fresh && l.root.exists() {
        std::fs::remove_dir_all(&l.root)
            .wrap_err_with(|| format!("cannot remove {}", l.root.display()))?;
    }
    let resumed = l.genesis().exists();
    if resumed {
        let have = (0..).take_while(|i| l.keystore(*i).exists()).count();
        if have != a.validators as usize {
            eyre::bail!(
                "{} holds a network of {have} validators, not {}: pass --validators {have} or --fresh",
                l.root.display(),
                a.validators
            );
        }
        tighten_permissions(&l, a.validators)?;
    } else {
        create_network(&l, &a)?;
    }
    let mut children = Vec::new();
    let mut root_process = None;
    let mut roots = Vec::new();
    if !a.no_root {
        let rl = crate::devnet_root::RootLayout { root: &l.root };
        let urls: Vec<(String, String)> = if a.root_rpc.is_empty() {
            root_process = Some(crate::devnet_root::spawn_root(&rl, a.root_port)?);
            vec![("root".into(), format!("http://127.0.0.1:{}", a.root_port))]
        } else if a.root_rpc.len() == 1 {
            vec![("root".into(), a.root_rpc[0].clone())]
        } else {
            a.root_rpc.iter().enumerate().map(|(i, u)| (format!("root{i}"), u.clone())).collect()
        };
        let setup = (|| -> eyre::Result<_> {
            let pw = std::fs::read_to_string(l.password())?;
            crate::devnet_root::submitter_keys(&rl, a.validators, pw.trim_end())?;
            let rt = crate::stake_cmd::runtime()?;
            let mut out = Vec::new();
            for (name, url) in &urls {
                out.push(rt.block_on(crate::devnet_root::ensure_root_chain(
                    &rl,
                    name,
                    url,
                    &l.genesis(),
                ))?);
            }
            Ok(out)
        })();
        match setup {
            Ok(records) => {
                for (record, fresh) in records {
                    if fresh {
                        say!(
                            "RootChain deployed at {} on root chain {} ({})",
                            record.root_chain,
                            record.chain_id,
                            record.rpc_url
                        );
                    }
                    roots.push(record);
                }
            }
            Err(e) => {
                if let Some(mut c) = root_process {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Err(e.wrap_err(format!(
                    "setting up the root chain (see {}; --no-root runs without one)",
                    rl.log().display()
                )));
            }
        }
    }
    if let Some(c) = root_process {
        children.push((ROOT_PROCESS, c));
    }
    for i in 0..a.validators {
        match spawn_node(&l, &a, i, &roots) {
            Ok(c) => children.push((i, c)),
            Err(e) => {
                terminate(&mut children);
                return Err(e);
            }
        }
    }
    // Signals are caught from here on: the validators run (a stop during the setup below
    // still stops them cleanly), and the banner tells anyone the network is up.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (installed, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            rt.block_on(async {
                let shutdown = crate::node_cmd::Shutdown::install();
                let _ = installed.send(());
                shutdown.wait().await;
            });
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let _ = ready.recv();
    }
    // The bridge's test token and the root's coin: ChildERC20s on bttc, mapped on the (first)
    // bridge root.
    if let Some(record) = roots.iter_mut().find(|r| r.bridge.is_some()) {
        let rl = crate::devnet_root::RootLayout { root: &l.root };
        let url = format!("http://127.0.0.1:{}", a.http_base_port);
        let mapped = crate::stake_cmd::runtime().and_then(|rt| {
            rt.block_on(async {
                crate::devnet_root::wait_for_root(&url, Duration::from_secs(60)).await?;
                tokio::time::timeout(
                    Duration::from_secs(60),
                    crate::devnet_root::ensure_child_tokens(&rl, record, &url),
                )
                .await
                .map_err(|_| {
                    eyre::eyre!("bttc did not include the child tokens' deployment in 60 s")
                })?
            })
        });
        // A devnet without these mappings still runs (BTT deposits work): say so, go on.
        if let Err(e) = mapped {
            warn!(
                "the bridge's test token and root coin are not mapped ({e:#}); deposits of them wait until a later start maps them"
            );
        }
    }
    say!(
        "bttc devnet v{}: {} validators{}",
        env!("CARGO_PKG_VERSION"),
        a.validators,
        if resumed { " (resumed)" } else { "" }
    );
    say!("\nValidators\n==================");
    for i in 0..a.validators {
        say!(
            "({i}) http://127.0.0.1:{}  p2p /ip4/127.0.0.1/tcp/{}  log {}",
            a.http_base_port + i,
            a.p2p_base_port + i,
            l.node_dir(i).join("node.log").display()
        );
    }
    if roots.is_empty() {
        say!("\nNo root chain (--no-root): no checkpoints are posted");
    } else {
        say!("\nRoot chains\n==================");
        for r in &roots {
            say!(
                "{}: RPC {}  chain id {}  RootChain {}",
                r.name,
                r.rpc_url,
                r.chain_id,
                r.root_chain
            );
            if let Some(b) = &r.bridge {
                say!(
                    "    bridge: RootChainManager {}  StateSender {}  root BTT {} (mapped to 0x…1010)",
                    b.root_chain_manager,
                    b.state_sender,
                    b.btt
                );
                if let (Some(t), Some(c)) = (b.test_token, b.child_test_token) {
                    say!("    test token TST: root {t}  bttc {c}");
                }
                if let Some(c) = b.child_ether {
                    say!("    the root's coin (--token eth): bttc {c}");
                }
                say!(
                    "    deposit: bttc bridge deposit --token btt --amount 5 --manager {} --rpc-url {} --child-rpc http://127.0.0.1:{} --private-key <dev key>",
                    b.root_chain_manager,
                    r.rpc_url,
                    a.http_base_port
                );
            }
        }
        if a.root_rpc.is_empty() {
            say!("log {}", crate::devnet_root::RootLayout { root: &l.root }.log().display());
        }
        say!("Checkpoints: bttc_getCheckpoint(\"latest\") on any validator");
    }
    say!("\nFunded accounts (10000 BTT each)\n==================");
    for (i, acc) in dev_accounts(10).iter().enumerate() {
        say!("({i}) {}  key {}", acc.address, acc.private_key);
    }
    say!("\nMnemonic:          {DEV_MNEMONIC}");
    say!("Datadir:           {}", l.root.display());
    say!("\nCtrl-C stops the network; run the same command again to resume it.");
    let mut reported = vec![false; children.len()];
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        for (k, (i, c)) in children.iter_mut().enumerate() {
            if !reported[k]
                && let Ok(Some(status)) = c.try_wait()
            {
                let log = if *i == ROOT_PROCESS {
                    crate::devnet_root::RootLayout { root: &l.root }.log()
                } else {
                    l.node_dir(*i).join("node.log")
                };
                warn!("{} exited ({status}); see {}", process_name(*i), log.display());
                reported[k] = true;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    warn!("stopping {} validators", children.len());
    terminate(&mut children);
    Ok(())
}
