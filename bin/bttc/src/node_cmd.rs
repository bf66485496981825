//! `bttc node`: a dev node (`--dev`, with its anvil-style banner), a validator
//! (`--validator-key`) or a full node of a bttc chain.

use crate::args::{seconds, seconds_or_off};
use alloy_primitives::U256;
use bttc_node::{
    DEV_CHAIN_ID, DEV_GAS_LIMIT, DEV_MNEMONIC, DevNode, DevNodeConfig, MiningMode, PoolConfig,
    bft::{BftNode, BftNodeConfig},
};
use bttc_rpc::{OriginRules, RpcConfig, VirtualHosts};
use clap::Args;
use eyre::WrapErr;
use std::{io::Write, net::IpAddr, path::PathBuf, time::Duration};

/// Options of `bttc node`.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// A TOML file of these options (keys are the flag names without `--`; nested tables join
    /// with `.`, e.g. `[http] port = 8545`). Flags on the command line win over the file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run a single-node development chain with prefunded, unlocked accounts (like anvil).
    #[arg(long)]
    dev: bool,
    /// Data directory; without it a dev chain lives in a temporary directory removed on exit.
    #[arg(long)]
    datadir: Option<PathBuf>,
    /// Address JSON-RPC (HTTP and WebSocket) listens on.
    #[arg(long = "http.addr", default_value = "127.0.0.1")]
    http_addr: IpAddr,
    /// Port JSON-RPC (HTTP and WebSocket) listens on; 0 picks a free one.
    #[arg(long = "http.port", default_value_t = 8545)]
    http_port: u16,
    /// Make a block every N seconds instead of automining.
    #[arg(long = "block-time", conflicts_with = "no_mining", value_parser = seconds(0.001, 86_400.0))]
    block_time: Option<Duration>,
    /// Make no blocks: serve the chain as it is.
    #[arg(long = "no-mining")]
    no_mining: bool,
    /// Chain id of a new dev chain (never 199 or 1029, BTTC's own).
    #[arg(long = "chain-id", default_value_t = DEV_CHAIN_ID)]
    chain_id: u64,
    /// Number of dev accounts.
    #[arg(long, default_value_t = 10)]
    accounts: u32,
    /// Balance of each dev account, in whole BTT.
    #[arg(long, default_value_t = 10_000)]
    balance: u64,
    /// Block gas limit of a new dev chain.
    #[arg(long = "gas-limit", default_value_t = DEV_GAS_LIMIT)]
    gas_limit: u64,
    /// Serve the `debug_` namespace (on by default in dev mode).
    #[arg(long = "http.debug", default_value_t = true, action = clap::ArgAction::Set)]
    debug: bool,
    /// Largest request body, bytes.
    #[arg(long = "rpc.max-request-size", default_value_t = RpcConfig::default().max_request_body)]
    max_request: u32,
    /// Most calls in one batch.
    #[arg(long = "rpc.max-batch", default_value_t = RpcConfig::default().max_batch)]
    max_batch: u32,
    /// Most open connections.
    #[arg(long = "rpc.max-connections", default_value_t = RpcConfig::default().max_connections)]
    max_connections: u32,
    /// Most subscriptions on one WebSocket connection.
    #[arg(long = "rpc.max-subscriptions", default_value_t = RpcConfig::default().max_subscriptions_per_connection)]
    max_subscriptions: u32,
    /// Widest eth_getLogs block range.
    #[arg(long = "rpc.max-logs-range", default_value_t = RpcConfig::default().max_logs_block_range)]
    max_logs_range: u64,
    /// Most logs one eth_getLogs returns.
    #[arg(long = "rpc.max-logs", default_value_t = RpcConfig::default().max_logs_results)]
    max_logs: usize,
    /// Gas cap of eth_call and eth_estimateGas.
    #[arg(long = "rpc.gas-cap", default_value_t = RpcConfig::default().gas_cap)]
    gas_cap: u64,
    /// Threads serving network I/O and cheap reads (default: half the cores, at least one);
    /// executions, traces, transaction admission and block production run on their own
    /// threads.
    #[arg(long = "rpc.io-threads")]
    io_threads: Option<usize>,
    /// Microseconds the I/O thread keeps polling for the next HTTP request before it sleeps
    /// (default 100 with one I/O thread, else 0 = off; it needs a single I/O thread).
    #[arg(long = "rpc.busy-poll", value_parser = clap::value_parser!(u64).range(0..=MAX_BUSY_POLL_US))]
    busy_poll_us: Option<u64>,
    /// Time limit of eth_call, eth_estimateGas, traces and log scans, in seconds; the EVM
    /// stops there.
    #[arg(long = "rpc.call-timeout", default_value = "5", value_parser = seconds(0.001, 3600.0))]
    call_timeout: Duration,
    /// Threads of the execution lane (calls, estimates, traces, log scans) and, separately,
    /// of the transaction admission lane (default: one per core each).
    #[arg(long = "rpc.exec-threads", default_value_t = 0, hide_default_value = true)]
    exec_threads: usize,
    /// Calls that may wait for an execution thread (and, separately, transactions for an
    /// admission thread); more are refused with -32005.
    #[arg(long = "rpc.max-queued", default_value_t = RpcConfig::default().max_queued)]
    max_queued: usize,
    /// Most addresses, and most topics per position, in a log query, filter or subscription.
    #[arg(long = "rpc.log-query-limit", default_value_t = RpcConfig::default().log_query_limit)]
    log_query_limit: usize,
    /// Browser origins allowed to call over HTTP (CORS), comma-separated; `*` allows all
    /// (default: localhost,127.0.0.1 on a dev node, none otherwise).
    #[arg(long = "http.corsdomain", value_delimiter = ',')]
    cors_domains: Option<Vec<String>>,
    /// Host names HTTP requests may be addressed to, comma-separated; `*` allows all
    /// (IP addresses always pass).
    #[arg(long = "http.vhosts", value_delimiter = ',', default_value = "localhost")]
    vhosts: Vec<String>,
    /// Browser origins allowed to open a WebSocket, comma-separated; `*` allows all
    /// (default: localhost,127.0.0.1 on a dev node, none otherwise).
    #[arg(long = "ws.origins", value_delimiter = ',')]
    ws_origins: Option<Vec<String>>,
    /// Seconds between WebSocket pings (0: no pings); a peer silent for two intervals is
    /// dropped.
    #[arg(long = "ws.ping-interval", default_value = "30", value_parser = seconds_or_off(0.1, 3600.0))]
    ws_ping_interval: Duration,
    /// Close a WebSocket connection with no call and no subscription for this many seconds
    /// (0: never).
    #[arg(long = "ws.idle-timeout", default_value = "300", value_parser = seconds_or_off(1.0, 604_800.0))]
    ws_idle_timeout: Duration,
    /// Genesis file to initialise a new datadir with (a BFT node; `bttc genesis new` makes one).
    #[arg(long, conflicts_with = "dev")]
    genesis: Option<PathBuf>,
    /// Validator keystore (Ethereum keystore v3); without it the node is a full node.
    #[arg(long = "validator-key", conflicts_with = "dev")]
    validator_key: Option<PathBuf>,
    /// File holding the keystore password (else the BTTC_PASSWORD environment variable).
    #[arg(long = "password-file")]
    password_file: Option<PathBuf>,
    /// Use a validator keystore or `node.key` that group or others can access (refused by
    /// default: `chmod 600` it instead).
    #[arg(long = "insecure-key-permissions")]
    insecure_key_permissions: bool,
    /// Address the consensus network (libp2p, TCP) listens on.
    #[arg(long = "p2p.addr", default_value = "127.0.0.1")]
    p2p_addr: IpAddr,
    /// Port the consensus network listens on.
    #[arg(long = "p2p-port", alias = "p2p.port", default_value_t = 30301)]
    p2p_port: u16,
    /// Peers to connect to, comma-separated multiaddrs (`/ip4/127.0.0.1/tcp/30302`).
    #[arg(long, value_delimiter = ',')]
    bootnodes: Vec<String>,
    /// A root chain to post checkpoints to (repeatable; `[[root]]` tables in a config file):
    /// `name=NAME,rpc_url=URL,root_chain=ADDRESS[,keystore=FILE[,password_file=FILE]]
    /// [,confirmations=N]` (the password file defaults to --password-file; without a
    /// keystore the root is only watched, for checkpoint status and exit payloads).
    #[arg(long = "root", value_name = "SPEC")]
    roots: Vec<String>,
    /// BFT round timeout for the proposal, seconds (grows by half of it per round).
    #[arg(long = "timeout.propose", default_value_t = 2.0)]
    timeout_propose: f64,
    /// BFT round timeout for prevotes and precommits, seconds (grows by half of it per round).
    #[arg(long = "timeout.vote", default_value_t = 1.0)]
    timeout_vote: f64,
    /// Name of this node in logs.
    #[arg(long, default_value = "bttc")]
    moniker: String,
    /// Pool slots for executable transactions (a slot per started 32 KiB of a transaction).
    #[arg(long = "txpool.globalslots", default_value_t = PoolConfig::default().pending_slots)]
    txpool_global_slots: usize,
    /// Pool slots for transactions waiting for a nonce gap (or funds).
    #[arg(long = "txpool.globalqueue", default_value_t = PoolConfig::default().queued_slots)]
    txpool_global_queue: usize,
    /// Executable slots each sender keeps when the pool is full (a minimum, not a cap).
    #[arg(long = "txpool.accountslots", default_value_t = PoolConfig::default().account_slots)]
    txpool_account_slots: usize,
    /// Most waiting transactions per sender, and the widest nonce gap one may leave.
    #[arg(long = "txpool.accountqueue", default_value_t = PoolConfig::default().account_queue)]
    txpool_account_queue: usize,
    /// Seconds a sender's waiting transactions stay without one of its transactions
    /// becoming executable.
    #[arg(long = "txpool.lifetime", default_value_t = PoolConfig::default().queued_lifetime.as_secs())]
    txpool_lifetime: u64,
    /// Percent a replacement must raise both fee cap and tip by.
    #[arg(long = "txpool.pricebump", default_value_t = PoolConfig::default().price_bump_percent)]
    txpool_price_bump: u128,
}

/// Runs the node until Ctrl-C or SIGTERM.
pub(crate) fn run(args: NodeArgs) -> eyre::Result<()> {
    if let Some(file) = &args.config {
        return run(with_config_file(file)?);
    }
    if !args.dev {
        return run_bft(args);
    }
    if args.chain_id == 199 || args.chain_id == 1029 {
        eyre::bail!(
            "chain id {} belongs to a BTTC network; pick another for a dev chain",
            args.chain_id
        );
    }
    let mining = match (args.no_mining, args.block_time) {
        (true, _) => MiningMode::Off,
        (false, Some(d)) => MiningMode::Interval(d),
        (false, None) => MiningMode::Auto,
    };
    let rpc = rpc_config(&args)?;
    let config = DevNodeConfig {
        chain_id: args.chain_id,
        accounts: args.accounts,
        balance: U256::from(args.balance) * U256::from(10u64).pow(U256::from(18u64)),
        gas_limit: args.gas_limit,
        mining,
        datadir: args.datadir.clone(),
        rpc,
        pool: pool_config(&args)?,
    };
    let runtime = runtime(&args)?;
    runtime.block_on(async move {
        let shutdown = Shutdown::install();
        let node = DevNode::start(config).await?;
        print_banner(&node, mining, args.balance);
        shutdown.wait().await;
        eprintln!("shutting down");
        node.stop().await;
        Ok(())
    })
}

#[derive(Debug, clap::Parser)]
#[command(name = "bttc node", args_override_self = true)]
struct NodeOnly {
    #[command(flatten)]
    args: NodeArgs,
}

/// The file's options as flags, then the command line's own flags (which override them).
fn with_config_file(file: &std::path::Path) -> eyre::Result<NodeArgs> {
    let text = std::fs::read_to_string(file)
        .wrap_err_with(|| format!("cannot read config file {}", file.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .wrap_err_with(|| format!("config file {} is not valid TOML", file.display()))?;
    let mut argv: Vec<std::ffi::OsString> = vec!["bttc node".into()];
    flatten_config(&table, "", &mut argv)?;
    // The command line after `node`, minus `--config <file>`.
    let cli: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let start = cli.iter().position(|a| a == "node").map_or(cli.len(), |i| i + 1);
    let mut rest = cli[start..].iter();
    while let Some(a) = rest.next() {
        if a == "--config" {
            rest.next();
        } else if !a.to_string_lossy().starts_with("--config=") {
            argv.push(a.clone());
        }
    }
    let parsed = <NodeOnly as clap::Parser>::try_parse_from(argv)
        .map_err(|e| eyre::eyre!("config file {}: {e}", file.display()))?;
    Ok(parsed.args)
}

fn flatten_config(
    table: &toml::Table,
    prefix: &str,
    argv: &mut Vec<std::ffi::OsString>,
) -> eyre::Result<()> {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if key == "config" {
            eyre::bail!("a config file cannot name another config file");
        }
        match v {
            toml::Value::Table(t) => flatten_config(t, &key, argv)?,
            toml::Value::Boolean(true)
                if matches!(key.as_str(), "dev" | "no-mining" | "insecure-key-permissions") =>
            {
                argv.push(format!("--{key}").into())
            }
            toml::Value::Boolean(false)
                if matches!(key.as_str(), "dev" | "no-mining" | "insecure-key-permissions") => {}
            // `[[root]]` tables: one `--root k=v,k=v` each.
            toml::Value::Array(items) if items.iter().all(|i| i.is_table()) => {
                for item in items {
                    let t = item.as_table().expect("checked");
                    let pairs: Vec<String> = t
                        .iter()
                        .map(|(k, v)| Ok(format!("{k}={}", scalar(v)?)))
                        .collect::<eyre::Result<_>>()?;
                    argv.push(format!("--{key}").into());
                    argv.push(pairs.join(",").into());
                }
            }
            toml::Value::Array(items) => {
                let joined: Vec<String> = items.iter().map(scalar).collect::<eyre::Result<_>>()?;
                argv.push(format!("--{key}").into());
                argv.push(joined.join(",").into());
            }
            other => {
                argv.push(format!("--{key}").into());
                argv.push(scalar(other)?.into());
            }
        }
    }
    Ok(())
}

fn scalar(v: &toml::Value) -> eyre::Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => eyre::bail!("unsupported config value {other}"),
    })
}

/// The pool limits from the flags; zero limits are refused.
fn pool_config(args: &NodeArgs) -> eyre::Result<PoolConfig> {
    for (name, v) in [
        ("--txpool.globalslots", args.txpool_global_slots as u64),
        ("--txpool.globalqueue", args.txpool_global_queue as u64),
        ("--txpool.accountslots", args.txpool_account_slots as u64),
        ("--txpool.accountqueue", args.txpool_account_queue as u64),
        ("--txpool.lifetime", args.txpool_lifetime),
        ("--txpool.pricebump", args.txpool_price_bump.min(u128::from(u64::MAX)) as u64),
    ] {
        if v == 0 {
            eyre::bail!("{name} must be at least 1");
        }
    }
    if args.txpool_global_slots < 4 {
        eyre::bail!("--txpool.globalslots must be at least 4 (a 128 KiB transaction takes 4)");
    }
    Ok(PoolConfig {
        pending_slots: args.txpool_global_slots,
        queued_slots: args.txpool_global_queue,
        account_slots: args.txpool_account_slots,
        account_queue: args.txpool_account_queue,
        queued_lifetime: Duration::from_secs(args.txpool_lifetime),
        price_bump_percent: args.txpool_price_bump,
        ..PoolConfig::default()
    })
}

/// The server's configuration from the flags; origin lists default to pages on this
/// machine on a dev node and to none on a validator or full node.
fn rpc_config(args: &NodeArgs) -> eyre::Result<RpcConfig> {
    let origins = |list: &Option<Vec<String>>, flag: &str| -> eyre::Result<OriginRules> {
        match list {
            Some(l) => OriginRules::parse(l).wrap_err_with(|| format!("--{flag}")),
            None if args.dev => Ok(OriginRules::local()),
            None => Ok(OriginRules::none()),
        }
    };
    Ok(RpcConfig {
        addr: (args.http_addr, args.http_port).into(),
        max_request_body: args.max_request,
        max_batch: args.max_batch,
        max_connections: args.max_connections,
        max_subscriptions_per_connection: args.max_subscriptions,
        max_logs_block_range: args.max_logs_range.max(1),
        max_logs_results: args.max_logs,
        gas_cap: args.gas_cap,
        call_timeout: args.call_timeout,
        exec_threads: args.exec_threads,
        max_queued: args.max_queued,
        log_query_limit: args.log_query_limit,
        cors_domains: origins(&args.cors_domains, "http.corsdomain")?,
        vhosts: VirtualHosts::parse(&args.vhosts).wrap_err("--http.vhosts")?,
        ws_origins: origins(&args.ws_origins, "ws.origins")?,
        ws_ping_interval: Some(args.ws_ping_interval).filter(|d| !d.is_zero()),
        ws_idle_timeout: Some(args.ws_idle_timeout).filter(|d| !d.is_zero()),
        debug: args.debug,
        busy_poll: busy_poll(args),
        ..Default::default()
    })
}

/// I/O worker threads: `--rpc.io-threads`, else half the cores (at least one), so that a
/// flood of cheap reads leaves the other half to execution, block production and consensus.
fn io_threads(args: &NodeArgs) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    args.io_threads.unwrap_or(cores / 2).max(1)
}

/// The busy-poll window: on by default with one I/O thread, refused with several (another
/// worker may own the I/O driver while the spinning one burns its core).
fn busy_poll(args: &NodeArgs) -> Option<Duration> {
    let threads = io_threads(args);
    let us = args.busy_poll_us.unwrap_or(if threads == 1 { DEFAULT_BUSY_POLL_US } else { 0 });
    if us > 0 && threads > 1 {
        eprintln!(
            "warning: --rpc.busy-poll needs one I/O thread (--rpc.io-threads 1, got {threads}); \
             busy polling is off"
        );
        return None;
    }
    (us > 0).then(|| Duration::from_micros(us))
}

/// Default busy-poll window: longer than a local client's round trip (~40 µs), short enough
/// that a pause costs little CPU.
const DEFAULT_BUSY_POLL_US: u64 = 100;

/// Longest busy-poll window, µs: past this the I/O thread would spin for a noticeable time
/// after every request.
const MAX_BUSY_POLL_US: u64 = 100_000;

fn runtime(args: &NodeArgs) -> eyre::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(io_threads(args))
        .max_blocking_threads(64)
        .enable_all()
        .build()?)
}

/// A validator or full node of a bttc chain.
fn run_bft(args: NodeArgs) -> eyre::Result<()> {
    let Some(datadir) = args.datadir.clone() else {
        eyre::bail!(
            "a validator or full node needs --datadir (or run `bttc node --dev` for a dev chain)"
        );
    };
    let genesis = match &args.genesis {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .wrap_err_with(|| format!("cannot read genesis {}", p.display()))?,
        ),
        None => None,
    };
    if genesis.is_none() && !datadir.join("db").join("mdbx.dat").exists() {
        eyre::bail!(
            "{} holds no chain: pass --genesis <file> (see `bttc genesis new`)",
            datadir.display()
        );
    }
    let validator_key = match &args.validator_key {
        Some(ks) => {
            let pw = crate::keys_cmd::password(args.password_file.as_deref())?;
            Some(
                crate::keys_cmd::load_key(ks, &pw, args.insecure_key_permissions)?
                    .credential()
                    .clone(),
            )
        }
        None => None,
    };
    let mut config = BftNodeConfig::new(datadir);
    config.genesis = genesis;
    config.validator_key = validator_key;
    config.p2p_addr = (args.p2p_addr, args.p2p_port).into();
    config.bootnodes = args.bootnodes.iter().filter(|b| !b.is_empty()).cloned().collect();
    config.rpc = RpcConfig { debug: false, ..rpc_config(&args)? };
    config.moniker = args.moniker.clone();
    config.insecure_key_permissions = args.insecure_key_permissions;
    config.pool = pool_config(&args)?;
    for (i, spec) in args.roots.iter().enumerate() {
        let (root, watch) = crate::root_cmd::root_config(
            spec,
            i,
            args.password_file.as_deref(),
            args.insecure_key_permissions,
        )?;
        config.roots.push(root);
        config.state_syncs.extend(watch);
    }
    if let Some(d) = args.block_time {
        if d < Duration::from_secs(1) {
            eyre::bail!(
                "--block-time must be at least 1 second on a BFT chain (timestamps are whole seconds), got {}",
                d.as_secs_f64()
            );
        }
        config.block_time = Some(d);
    }
    for (name, v) in
        [("--timeout.propose", args.timeout_propose), ("--timeout.vote", args.timeout_vote)]
    {
        if !(0.05..=600.0).contains(&v) {
            eyre::bail!("{name} must be between 0.05 and 600 seconds, got {v}");
        }
    }
    let (propose, vote) =
        (Duration::from_secs_f64(args.timeout_propose), Duration::from_secs_f64(args.timeout_vote));
    config.timeouts.propose = propose;
    config.timeouts.propose_delta = propose / 2;
    config.timeouts.prevote = vote;
    config.timeouts.prevote_delta = vote / 2;
    config.timeouts.precommit = vote;
    config.timeouts.precommit_delta = vote / 2;
    config.timeouts.rebroadcast = propose + vote * 2;
    let runtime = runtime(&args)?;
    runtime.block_on(async move {
        let shutdown = Shutdown::install();
        let mut node = BftNode::start(config).await?;
        println!("bttc node v{}", env!("CARGO_PKG_VERSION"));
        println!("Chain ID:          {}", node.chain_id);
        match &node.validator {
            Some(a) => println!("Validator:         {a}"),
            None => println!("Validator:         none (full node)"),
        }
        println!("Peer ID:           {}", node.peer_id);
        println!("P2P:               /ip4/{}/tcp/{}", args.p2p_addr, args.p2p_port);
        println!("Listening on {}", node.rpc_addr);
        let _ = std::io::stdout().flush();
        // A validator that cannot commit what was decided stops here, non-zero, with the
        // cause (already logged by `bttc::consensus`); a restart recovers from the database
        // and the WAL.
        let failure = tokio::select! {
            _ = shutdown.wait() => None,
            e = node.stopped() => Some(e),
        };
        eprintln!("shutting down");
        node.stop().await;
        match failure {
            None => Ok(()),
            Some(e) => Err(eyre::Report::new(e).wrap_err("the node cannot go on")),
        }
    })
}

/// SIGINT and SIGTERM, caught from the moment this is made: made before the banner, a signal
/// sent as soon as "Listening on" is read is not lost to the default action (which would
/// kill the process without a clean shutdown).
pub(crate) struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Starts catching the signals (inside a tokio runtime).
    pub(crate) fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                term: signal(SignalKind::terminate()).expect("SIGTERM handler"),
                int: signal(SignalKind::interrupt()).expect("SIGINT handler"),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves at the first signal.
    pub(crate) async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn print_banner(node: &DevNode, mining: MiningMode, balance: u64) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "bttc dev node v{}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out);
    if node.created {
        let _ = writeln!(out, "Available Accounts\n==================");
        for (i, a) in node.accounts.iter().enumerate() {
            let _ = writeln!(out, "({i}) {} ({balance} BTT)", a.address);
        }
        let _ = writeln!(out, "\nPrivate Keys\n==================");
        for (i, a) in node.accounts.iter().enumerate() {
            let _ = writeln!(out, "({i}) {}", a.private_key);
        }
        let _ = writeln!(out, "\nWallet\n==================");
        let _ = writeln!(out, "Mnemonic:          {DEV_MNEMONIC}");
        let _ = writeln!(out, "Derivation path:   m/44'/60'/0'/0/");
    } else {
        let _ = writeln!(out, "Unlocked accounts (test mnemonic: {DEV_MNEMONIC})");
        for (i, a) in node.accounts.iter().enumerate() {
            let _ = writeln!(out, "({i}) {}  key {}", a.address, a.private_key);
        }
        let _ = writeln!(out, "\nResumed chain at block #{}", node.head_at_start);
    }
    let _ = writeln!(out, "\nChain ID:          {}", node.chain_id);
    let _ = writeln!(
        out,
        "Mining:            {}",
        match mining {
            MiningMode::Auto => "automine".to_string(),
            MiningMode::Interval(d) => format!("every {:.3}s", d.as_secs_f64()),
            MiningMode::Off => "off".to_string(),
        }
    );
    let _ = writeln!(out, "Datadir:           {}", node.datadir.display());
    let _ = writeln!(out, "\nListening on {}", node.rpc_addr);
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc_of(extra: &[&str]) -> RpcConfig {
        let argv = ["bttc node", "--dev"].iter().chain(extra);
        rpc_config(&<NodeOnly as clap::Parser>::try_parse_from(argv).unwrap().args).unwrap()
    }

    fn pool_of(extra: &[&str]) -> eyre::Result<PoolConfig> {
        let argv = ["bttc node", "--dev"].iter().chain(extra);
        pool_config(&<NodeOnly as clap::Parser>::try_parse_from(argv).unwrap().args)
    }

    #[test]
    fn root_tables_of_a_config_file_become_one_root_flag_each() {
        let table: toml::Table = toml::from_str(
            "[[root]]\nname = \"eth\"\nrpc_url = \"http://a\"\nconfirmations = 12\n\
             [[root]]\nname = \"bsc\"\nrpc_url = \"http://b\"\n",
        )
        .unwrap();
        let mut argv = Vec::new();
        flatten_config(&table, "", &mut argv).unwrap();
        let argv: Vec<String> = argv.into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(
            argv,
            [
                "--root",
                "confirmations=12,name=eth,rpc_url=http://a",
                "--root",
                "name=bsc,rpc_url=http://b"
            ]
        );
        let args = <NodeOnly as clap::Parser>::try_parse_from(
            ["bttc node"].into_iter().chain(argv.iter().map(String::as_str)),
        )
        .unwrap()
        .args;
        assert_eq!(args.roots.len(), 2);
    }

    #[test]
    fn pool_limits_come_from_the_txpool_flags() {
        let c = pool_of(&[]).unwrap();
        let d = PoolConfig::default();
        assert_eq!((c.pending_slots, c.queued_slots, c.account_slots), (8192, 2048, 16));
        assert_eq!(
            (c.account_queue, c.queued_lifetime, c.price_bump_percent),
            (64, d.queued_lifetime, 10)
        );
        let c = pool_of(&[
            "--txpool.globalslots",
            "20000",
            "--txpool.globalqueue",
            "100",
            "--txpool.accountslots",
            "4",
            "--txpool.accountqueue",
            "8",
            "--txpool.lifetime",
            "60",
            "--txpool.pricebump",
            "25",
        ])
        .unwrap();
        assert_eq!((c.pending_slots, c.queued_slots, c.account_slots), (20000, 100, 4));
        assert_eq!(c.account_queue, 8);
        assert_eq!(c.queued_lifetime, Duration::from_secs(60));
        assert_eq!(c.price_bump_percent, 25);
        let e = pool_of(&["--txpool.globalqueue", "0"]).unwrap_err();
        assert_eq!(e.to_string(), "--txpool.globalqueue must be at least 1");
    }

    #[test]
    fn busy_polling_is_on_with_one_io_thread_only() {
        let us = Duration::from_micros;
        assert_eq!(rpc_of(&["--rpc.io-threads", "1"]).busy_poll, Some(us(DEFAULT_BUSY_POLL_US)));
        assert_eq!(
            rpc_of(&["--rpc.io-threads", "1", "--rpc.busy-poll", "250"]).busy_poll,
            Some(us(250))
        );
        assert_eq!(rpc_of(&["--rpc.io-threads", "1", "--rpc.busy-poll", "0"]).busy_poll, None);
        assert_eq!(rpc_of(&["--rpc.io-threads", "2"]).busy_poll, None);
        assert_eq!(rpc_of(&["--rpc.io-threads", "2", "--rpc.busy-poll", "50"]).busy_poll, None);
    }

    fn parse(argv: &[&str]) -> Result<NodeArgs, String> {
        let argv = ["bttc node"].iter().chain(argv);
        <NodeOnly as clap::Parser>::try_parse_from(argv).map(|p| p.args).map_err(|e| e.to_string())
    }

    #[test]
    fn durations_refuse_inf_nan_negative_and_absurd_values() {
        for bad in ["inf", "NaN", "-1", "0", "1e300", "3601"] {
            let e = parse(&["--dev", &format!("--rpc.call-timeout={bad}")]).unwrap_err();
            assert!(e.contains("--rpc.call-timeout") && e.contains("seconds"), "{bad}: {e}");
        }
        for bad in ["inf", "-1", "1e300"] {
            for flag in ["--block-time", "--ws.idle-timeout", "--ws.ping-interval"] {
                let e = parse(&["--dev", &format!("{flag}={bad}")]).unwrap_err();
                assert!(e.contains(flag) && e.contains("seconds"), "{flag} {bad}: {e}");
            }
        }
        assert!(parse(&["--dev", "--rpc.busy-poll", "18446744073709551615"]).is_err());
        let a = parse(&["--dev", "--rpc.call-timeout", "0.25", "--ws.ping-interval", "0"]).unwrap();
        let rpc = rpc_config(&a).unwrap();
        assert_eq!(rpc.call_timeout, Duration::from_millis(250));
        assert_eq!(
            (rpc.ws_ping_interval, rpc.ws_idle_timeout),
            (None, Some(Duration::from_secs(300)))
        );
    }

    #[test]
    fn browser_origins_default_to_this_machine_on_a_dev_node_only() {
        let dev = rpc_config(&parse(&["--dev"]).unwrap()).unwrap();
        assert_eq!(
            (dev.cors_domains.clone(), dev.ws_origins.clone()),
            (OriginRules::local(), OriginRules::local())
        );
        assert_eq!(dev.vhosts, VirtualHosts::default());
        let full = rpc_config(&parse(&["--datadir", "x"]).unwrap()).unwrap();
        assert_eq!(
            (full.cors_domains, full.ws_origins),
            (OriginRules::none(), OriginRules::none())
        );
        let set = rpc_config(
            &parse(&[
                "--dev",
                "--http.corsdomain",
                "https://app.example.com,http://localhost:3000",
                "--ws.origins",
                "*",
                "--http.vhosts",
                "node.example.com,localhost",
            ])
            .unwrap(),
        )
        .unwrap();
        assert!(set.cors_domains.allows("https://app.example.com"));
        assert!(!set.cors_domains.allows("http://localhost:5173"), "the list replaces the default");
        assert!(set.ws_origins.allows_any());
        assert_eq!(set.vhosts.to_string(), "node.example.com,localhost");
        let e = rpc_config(&parse(&["--dev", "--ws.origins", "http://a/b"]).unwrap()).unwrap_err();
        assert!(format!("{e:#}").contains("--ws.origins"), "{e:#}");
    }
}
