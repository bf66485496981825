//! The bridge end to end with real processes: `bttc devnet` (4 validators, its own root
//! chain, a checkpoint every 2 blocks) with the bridge it deploys (`StateSender`,
//! `RootChainManager`, `ERC20Predicate`, root BTT mapped to bttc's native BTT, a test ERC-20
//! mapped to a `ChildERC20` on bttc). `bttc bridge deposit` of BTT and of the test token on
//! the root, credited on bttc by the validators; a transfer on bttc; `bttc bridge withdraw`
//! of both; `bttc bridge status` until a checkpoint covers them; `bttc bridge exit` on the
//! root with the payloads the node builds. Balances on both chains reconcile to the wei, and
//! a second exit is refused.

mod support;

use alloy_network::TransactionBuilder;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use bttc_contracts::{BTT_TOKEN, bridge::RootChainManager as RCM};
use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};
use support::{DEV0_KEY, net::free_port, net::free_ports, rpc};

const T: Duration = Duration::from_secs(120);
const DEV3_KEY: &str = "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const DEV4_KEY: &str = "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
const RECIPIENT: Address = Address::repeat_byte(0x77);

use bttc_contracts::bridge::DevToken as TestToken;

fn bttc(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bttc")).args(args).output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

struct Root {
    url: String,
    key: PrivateKeySigner,
}

impl Root {
    async fn view<C: SolCall>(&self, to: Address, call: C) -> C::Return {
        let p = ProviderBuilder::new().connect_http(self.url.parse().unwrap());
        let req =
            TransactionRequest::default().with_to(to).with_input(Bytes::from(call.abi_encode()));
        C::abi_decode_returns(&p.call(req).await.unwrap()).unwrap()
    }
}

/// Whole tokens (18 decimals) in wei.
fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// Starts `bttc devnet` (4 validators, its own root, a checkpoint every 2 blocks) in `dir`.
fn devnet(dir: &std::path::Path) -> (StopOnDrop, String, String) {
    devnet_with(dir, &[])
}

/// [`devnet`] with `extra` arguments (`--root-rpc URL` replaces its own root).
fn devnet_with(dir: &std::path::Path, extra: &[&str]) -> (StopOnDrop, String, String) {
    let (http, p2p, root_port) = (free_ports(4), free_ports(4), free_port());
    let devnet = Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["devnet", "--validators", "4", "--datadir"])
        .arg(dir.join("net"))
        .args(["--http.base-port", &http.to_string(), "--p2p.base-port", &p2p.to_string()])
        .args(["--root.port", &root_port.to_string(), "--set", "checkpointInterval=2"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Stopped (with its validators and root) however the test ends.
    (
        StopOnDrop(devnet),
        format!("http://127.0.0.1:{http}"),
        format!("http://127.0.0.1:{root_port}"),
    )
}

/// What `roots.json` says the devnet deployed, once the test token is mapped.
async fn deployed(dir: &std::path::Path) -> serde_json::Value {
    let deadline = Instant::now() + T;
    loop {
        let text = std::fs::read_to_string(dir.join("net").join("roots.json")).unwrap_or_default();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && v[0]["bridge"]["childEther"].is_string()
        {
            return v;
        }
        assert!(Instant::now() < deadline, "the devnet never mapped its test token: {text}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn native(url: &str, who: Address) -> U256 {
    let v = rpc(url, "eth_getBalance", serde_json::json!([who, "latest"])).await;
    v["result"].as_str().unwrap().parse::<U256>().unwrap()
}

/// What `who` paid in gas for the transactions `hashes` on bttc.
async fn gas_paid(url: &str, hashes: &[B256]) -> U256 {
    let mut paid = U256::ZERO;
    for h in hashes {
        let r = rpc(url, "eth_getTransactionReceipt", serde_json::json!([h])).await;
        let q = |k: &str| U256::from_str_radix(&r["result"][k].as_str().unwrap()[2..], 16).unwrap();
        paid += q("gasUsed") * q("effectiveGasPrice");
    }
    paid
}

/// Sends `data` to `to` from `key` on the chain at `url`; waits for a successful receipt.
async fn send(url: &str, key: &PrivateKeySigner, to: Address, data: Vec<u8>) -> B256 {
    let p = ProviderBuilder::new()
        .wallet(alloy_network::EthereumWallet::from(key.clone()))
        .connect_http(url.parse().unwrap());
    let req = TransactionRequest::default().with_to(to).with_input(Bytes::from(data));
    let r = p.send_transaction(req).await.unwrap().get_receipt().await.unwrap();
    assert!(r.status(), "transaction to {to} failed");
    r.transaction_hash
}

/// The transaction hash after `word` in `out` (`sent 0x…`, `withdrawal 0x…`).
fn hash_after(out: &str, word: &str) -> Vec<B256> {
    let words: Vec<&str> = out.split_whitespace().collect();
    words.windows(2).filter(|w| w[0] == word).filter_map(|w| w[1].parse().ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_cross_to_bttc_and_back_and_both_chains_reconcile_to_the_wei() {
    use bttc_contracts::bridge::ChildERC20 as C20;
    let dir = tempfile::tempdir().unwrap();
    let (_devnet, child, root_url) = devnet(dir.path());
    let root = Root { url: root_url, key: DEV0_KEY.parse().unwrap() };
    support::net::wait_height(&child, 1, T).await.unwrap();
    let roots = deployed(dir.path()).await;
    let root_chain: Address = roots[0]["rootChain"].as_str().unwrap().parse().unwrap();
    let bridge = &roots[0]["bridge"];
    let addr = |k: &str| -> Address { bridge[k].as_str().unwrap().parse().unwrap() };
    let (manager, predicate, btt) = (addr("rootChainManager"), addr("erc20Predicate"), addr("btt"));
    let (tst, child_tst, child_eth) =
        (addr("testToken"), addr("childTestToken"), addr("childEther"));
    // The devnet deployed the bridge on its root: root BTT mapped to bttc's native BTT (its
    // locked supply held by the predicate), a test token mapped to a ChildERC20 on bttc.
    assert_eq!(root.view(manager, RCM::rootToChildTokenCall(btt)).await, BTT_TOKEN);
    assert_eq!(root.view(manager, RCM::rootToChildTokenCall(tst)).await, child_tst);
    assert_eq!(root.view(manager, RCM::checkpointsCall {}).await, root_chain);
    let locked_btt = root.view(btt, TestToken::balanceOfCall(predicate)).await;
    assert_eq!(locked_btt, tokens(1_000_000_000));

    // A fresh bttc account receives the deposits (so its balance is exactly what crossed).
    let user = PrivateKeySigner::random();
    let user_key = alloy_primitives::hex::encode(user.to_bytes());
    let depositor: PrivateKeySigner = DEV3_KEY.parse().unwrap();
    let reserve0 = native(&child, BTT_TOKEN).await;
    let dep_btt0 = root.view(btt, TestToken::balanceOfCall(depositor.address())).await;
    let dep_tst0 = root.view(tst, TestToken::balanceOfCall(depositor.address())).await;
    let deposit = |token: String, amount: &str| {
        let (ok, out) = bttc(&[
            "bridge",
            "deposit",
            "--token",
            &token,
            "--amount",
            amount,
            "--to",
            &user.address().to_string(),
            "--manager",
            &manager.to_string(),
            "--rpc-url",
            &root.url,
            "--child-rpc",
            &child,
            "--private-key",
            DEV3_KEY,
        ]);
        assert!(ok && out.contains("credited on bttc"), "{out}");
    };
    let root_native = |who: Address| native(&root.url, who);
    let (predicate_eth0, depositor_eth0) =
        (root_native(predicate).await, root_native(depositor.address()).await);
    deposit("btt".into(), "50");
    deposit(tst.to_string(), "20");
    deposit("eth".into(), "3");
    assert_eq!(root_native(predicate).await - predicate_eth0, tokens(3), "the coin is locked");
    assert!(depositor_eth0 - root_native(depositor.address()).await >= tokens(3));
    // Credited on bttc, exactly; locked on the root, exactly.
    assert_eq!(native(&child, user.address()).await, tokens(50));
    assert_eq!(reserve0 - native(&child, BTT_TOKEN).await, tokens(50), "paid from the reserve");
    let child_view = Root { url: child.clone(), key: user.clone() };
    assert_eq!(child_view.view(child_tst, C20::balanceOfCall(user.address())).await, tokens(20));
    assert_eq!(child_view.view(child_eth, C20::balanceOfCall(user.address())).await, tokens(3));
    assert_eq!(root.view(btt, TestToken::balanceOfCall(predicate)).await, locked_btt + tokens(50));
    assert_eq!(root.view(tst, TestToken::balanceOfCall(predicate)).await, tokens(20));
    assert_eq!(
        root.view(btt, TestToken::balanceOfCall(depositor.address())).await,
        dep_btt0 - tokens(50)
    );
    assert_eq!(
        root.view(tst, TestToken::balanceOfCall(depositor.address())).await,
        dep_tst0 - tokens(20)
    );
    // The deposit's mint is a log like any other: eth_getLogs finds the Transfer from 0x0
    // under Bor's derived state-sync transaction hash.
    let transfer_sig = alloy_primitives::keccak256("Transfer(address,address,uint256)");
    let logs = rpc(
        &child,
        "eth_getLogs",
        serde_json::json!([{"fromBlock": "0x0", "toBlock": "latest", "address": child_tst,
            "topics": [transfer_sig]}]),
    )
    .await;
    let minted = &logs["result"][0];
    assert_eq!(logs["result"].as_array().map(Vec::len), Some(1), "{logs}");
    assert_eq!(
        minted["topics"][2].as_str().unwrap().parse::<B256>().unwrap(),
        B256::left_padding_from(user.address().as_slice()),
        "{minted}"
    );
    let number = u64::from_str_radix(&minted["blockNumber"].as_str().unwrap()[2..], 16).unwrap();
    let hash: B256 = minted["blockHash"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        minted["transactionHash"].as_str().unwrap().parse::<B256>().unwrap(),
        bttc_rpc::state_sync_tx_hash(number, hash)
    );
    // Every validator holds the same credit.
    let base: u16 = child.rsplit(':').next().unwrap().parse().unwrap();
    for i in 0..4u16 {
        let url = format!("http://127.0.0.1:{}", base + i);
        assert_eq!(native(&url, BTT_TOKEN).await, native(&child, BTT_TOKEN).await, "validator {i}");
    }

    // On bttc: a transfer, then withdrawals of 10 TST and 5 BTT to RECIPIENT on the root.
    let mut user_txs = Vec::new();
    let transfer = C20::transferCall { to: Address::repeat_byte(0x88), amount: tokens(5) };
    user_txs.push(send(&child, &user, child_tst, transfer.abi_encode()).await);
    let withdraw = |token: String, amount: &str| {
        let (ok, out) = bttc(&[
            "bridge",
            "withdraw",
            "--token",
            &token,
            "--amount",
            amount,
            "--to",
            &RECIPIENT.to_string(),
            "--rpc-url",
            &child,
            "--private-key",
            &user_key,
        ]);
        assert!(ok, "{out}");
        hash_after(&out, "withdrawal")[0]
    };
    let w_tst = withdraw(child_tst.to_string(), "10");
    let w_btt = withdraw("btt".into(), "5");
    let w_eth = withdraw(child_eth.to_string(), "1");
    user_txs.extend([w_tst, w_btt, w_eth]);
    let w = rpc(&child, "bttc_getWithdrawalStatus", serde_json::json!([w_tst])).await;
    assert!(
        matches!(w["result"]["status"].as_str(), Some("pendingCheckpoint" | "checkpointed")),
        "{w}"
    );
    let not = rpc(&child, "bttc_getWithdrawalStatus", serde_json::json!([user_txs[0]])).await;
    assert!(not["error"]["message"].as_str().unwrap().contains("not a withdrawal"), "{not}");
    assert_eq!(child_view.view(child_tst, C20::totalSupplyCall {}).await, tokens(10), "10 burned");

    // Wait for a checkpoint on the root to cover both, then exit them (DEV4 pays the gas).
    let status = |tx: B256| {
        let (ok, out) = bttc(&[
            "bridge",
            "status",
            "--tx",
            &tx.to_string(),
            "--child-rpc",
            &child,
            "--rpc-url",
            &root.url,
            "--manager",
            &manager.to_string(),
        ]);
        assert!(ok, "{out}");
        serde_json::from_str::<serde_json::Value>(&out[out.find('{').unwrap()..]).unwrap()
    };
    let deadline = Instant::now() + T;
    for tx in [w_tst, w_btt, w_eth] {
        loop {
            let v = status(tx);
            if v["status"] == "ready to exit" {
                assert_eq!(v["root"], "root", "{v}");
                break;
            }
            assert_eq!(v["status"], "waiting for a checkpoint", "{v}");
            assert!(Instant::now() < deadline, "never checkpointed: {v}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let exit = |tx: B256| {
        bttc(&[
            "bridge",
            "exit",
            "--tx",
            &tx.to_string(),
            "--child-rpc",
            &child,
            "--manager",
            &manager.to_string(),
            "--rpc-url",
            &root.url,
            "--private-key",
            DEV4_KEY,
        ])
    };
    // The node says so too.
    let w = rpc(&child, "bttc_getWithdrawalStatus", serde_json::json!([w_btt])).await;
    assert_eq!(w["result"]["status"], "checkpointed", "{w}");
    assert_eq!(w["result"]["root"], "root", "{w}");
    assert_eq!(w["result"]["logIndex"], "0x1", "{w}");
    let sync = rpc(&child, "bttc_getStateSyncStatus", serde_json::json!([])).await;
    let sync = &sync["result"][0];
    assert_eq!((sync["rootId"].as_u64(), sync["name"].as_str()), (Some(31_337), Some("root")));
    assert_eq!(sync["delivered"], sync["lastId"], "{sync}");
    assert_eq!(sync["delivered"].as_u64(), Some(6), "three mappings, three deposits: {sync}");
    for tx in [w_tst, w_btt, w_eth] {
        let (ok, out) = exit(tx);
        assert!(ok, "{out}");
        assert_eq!(status(tx)["status"], "exited");
    }
    // The node reads the root's exits too (final root blocks, polled every second).
    let deadline = Instant::now() + T;
    loop {
        let w = rpc(&child, "bttc_getWithdrawalStatus", serde_json::json!([w_eth])).await;
        if w["result"]["status"] == "exited" {
            break;
        }
        assert_eq!(w["result"]["status"], "checkpointed", "{w}");
        assert!(Instant::now() < deadline, "the node never saw the exit: {w}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Both chains reconcile to the wei.
    assert_eq!(root.view(tst, TestToken::balanceOfCall(RECIPIENT)).await, tokens(10));
    assert_eq!(root.view(btt, TestToken::balanceOfCall(RECIPIENT)).await, tokens(5));
    assert_eq!(root_native(RECIPIENT).await, tokens(1), "the coin, released");
    assert_eq!(root_native(predicate).await - predicate_eth0, tokens(2));
    assert_eq!(child_view.view(child_eth, C20::totalSupplyCall {}).await, tokens(2));
    let tst_locked = root.view(tst, TestToken::balanceOfCall(predicate)).await;
    assert_eq!(tst_locked, tokens(10), "20 locked - 10 exited");
    assert_eq!(
        tst_locked,
        child_view.view(child_tst, C20::totalSupplyCall {}).await,
        "root TST locked = TST on bttc"
    );
    assert_eq!(child_view.view(child_tst, C20::balanceOfCall(user.address())).await, tokens(5));
    assert_eq!(
        child_view.view(child_tst, C20::balanceOfCall(Address::repeat_byte(0x88))).await,
        tokens(5)
    );
    assert_eq!(
        root.view(btt, TestToken::balanceOfCall(predicate)).await,
        locked_btt + tokens(50) - tokens(5)
    );
    assert_eq!(reserve0 - native(&child, BTT_TOKEN).await, tokens(45), "50 out, 5 back in");
    let gas = gas_paid(&child, &user_txs).await;
    assert_eq!(native(&child, user.address()).await, tokens(45) - gas, "50 in, 5 out, gas");
    assert_eq!(child_view.view(child_eth, C20::balanceOfCall(user.address())).await, tokens(2));

    // A second exit of the same burn is refused (by the CLI, and by the contract).
    let (ok, out) = exit(w_btt);
    assert!(!ok && out.contains("already exited"), "{out}");
    // BTT's withdrawTo logs Transfer (0), then WithdrawTo (1).
    let payload = rpc(&child, "bttc_getExitPayload", serde_json::json!([w_btt, 1])).await;
    let payload: Bytes = payload["result"]["payload"].as_str().unwrap().parse().unwrap();
    let call = RCM::exitCall { payload }.abi_encode();
    let again = rpc(
        &root.url,
        "eth_call",
        serde_json::json!([{"from": root.key.address(), "to": manager, "data": Bytes::from(call)}, "latest"]),
    )
    .await;
    let data = again["error"]["data"].as_str().unwrap_or_default().to_string();
    assert!(
        data.starts_with(&alloy_primitives::hex::encode_prefixed(
            <RCM::ExitAlreadyProcessed as alloy_sol_types::SolError>::SELECTOR
        )),
        "{again}"
    );
    assert_eq!(root.view(btt, TestToken::balanceOfCall(RECIPIENT)).await, tokens(5));
}

/// A child process stopped with SIGTERM (then killed) when dropped.
struct StopOnDrop(std::process::Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        support::sigterm_and_wait(&mut self.0, Duration::from_secs(30));
    }
}

/// The pid and command line of the process whose command line holds `fragment`.
fn find_process(fragment: &str) -> (i32, Vec<String>) {
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a == fragment) && args.iter().any(|a| a == "node") {
            return (pid, args);
        }
    }
    panic!("no process with {fragment} in its command line");
}

/// kill -9 of the devnet's process running with `datadir`; returns its command line.
fn kill9(datadir: &std::path::Path) -> Vec<String> {
    let (pid, args) = find_process(&datadir.display().to_string());
    // SAFETY: kill(2) on a pid read from /proc.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
        && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
    {
        assert!(Instant::now() < deadline, "process {pid} did not die");
        std::thread::sleep(Duration::from_millis(50));
    }
    args
}

/// Starts `args` again (stopped when the guard drops), logging to `log`.
fn restart(args: &[String], log: &std::path::Path) -> StopOnDrop {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let child = Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    StopOnDrop(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_streamed_through_validator_and_root_crashes_are_credited_once_in_order() {
    use bttc_contracts::STATE_RECEIVER;
    const N: u64 = 16;
    let dir = tempfile::tempdir().unwrap();
    let (_devnet, child, root_url) = devnet(dir.path());
    let root = Root { url: root_url, key: DEV4_KEY.parse().unwrap() };
    support::net::wait_height(&child, 1, T).await.unwrap();
    let roots = deployed(dir.path()).await;
    let bridge = &roots[0]["bridge"];
    let addr = |k: &str| -> Address { bridge[k].as_str().unwrap().parse().unwrap() };
    let (manager, predicate, btt) = (addr("rootChainManager"), addr("erc20Predicate"), addr("btt"));
    let approve = TestToken::approveCall { spender: predicate, amount: U256::MAX };
    send(&root.url, &root.key, btt, approve.abi_encode()).await;
    let recipient = |i: u64| Address::left_padding_from(&[0xd0, i as u8]);
    let amount = |i: u64| tokens(i) + U256::from(i); // distinct to the wei

    // Deposit i of N to recipient i; a validator is killed -9 after the 4th and restarted
    // after the 7th, the root is killed -9 after the 10th and restarted 8 s later.
    let mut guards = Vec::new();
    let (mut validator, mut root_args) = (None, None);
    let net = dir.path().join("net");
    for i in 1..=N {
        let data = Bytes::from(alloy_sol_types::SolValue::abi_encode(&amount(i)));
        let call = RCM::depositForCall { user: recipient(i), rootToken: btt, depositData: data };
        send(&root.url, &root.key, manager, call.abi_encode()).await;
        match i {
            4 => validator = Some(kill9(&net.join("node-1"))),
            7 => guards.push(restart(&validator.take().unwrap(), &net.join("node-1/node.log"))),
            10 => root_args = Some(kill9(&net.join("root-chain"))),
            _ => {}
        }
        if i == 10 {
            tokio::time::sleep(Duration::from_secs(8)).await;
            guards.push(restart(&root_args.take().unwrap(), &net.join("root-chain/node.log")));
            support::net::wait_height(&root.url, 1, T).await.unwrap();
        }
    }
    // Ids: 1 to 3 mapped BTT, the test token and the root's coin at start, then one per deposit.
    let last = 3 + N;
    let slot = U256::from_be_bytes(bttc_contracts::state_sync::last_state_id_slot(31_337).0);
    let base: u16 = child.rsplit(':').next().unwrap().parse().unwrap();
    let deadline = Instant::now() + T;
    for i in 0..4u16 {
        let url = format!("http://127.0.0.1:{}", base + i);
        loop {
            let v =
                rpc(&url, "eth_getStorageAt", serde_json::json!([STATE_RECEIVER, slot, "latest"]))
                    .await;
            let got = v["result"].as_str().and_then(|s| U256::from_str_radix(&s[2..], 16).ok());
            if got == Some(U256::from(last)) {
                break;
            }
            assert!(Instant::now() < deadline, "validator {i} delivered {got:?} of {last}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for d in 1..=N {
            assert_eq!(native(&url, recipient(d)).await, amount(d), "deposit {d} on validator {i}");
        }
        // The blocks carried every id once, in order (system calls leave no receipts, so
        // the records are read from the blocks' LastCommits).
        let head = support::net::head(&url).await.unwrap();
        let mut ids = Vec::new();
        for n in 1..=head {
            let b = support::net::block(&url, n).await;
            let extra: Bytes = b["extraData"].as_str().unwrap().parse().unwrap();
            let commit = bttc_primitives::LastCommit::decode(&extra).unwrap().unwrap_or_default();
            ids.extend(commit.state_syncs.iter().map(|r| (r.id, r.root_id == 31_337)));
        }
        let want: Vec<(u64, bool)> = (1..=last).map(|id| (id, true)).collect();
        assert_eq!(ids, want, "validator {i}");
    }
    drop(guards);
}

/// The last state-sync id of root `root_id` bttc at `url` has delivered.
async fn delivered(url: &str, root_id: u64) -> u64 {
    let slot = U256::from_be_bytes(bttc_contracts::state_sync::last_state_id_slot(root_id).0);
    let v = rpc(
        url,
        "eth_getStorageAt",
        serde_json::json!([bttc_contracts::STATE_RECEIVER, slot, "latest"]),
    )
    .await;
    u64::from_str_radix(&v["result"].as_str().unwrap()[2..], 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_in_root_blocks_that_reorganise_away_is_never_credited() {
    let Some(anvil) = support::net::anvil() else { return };
    let anvil_url = anvil.url.clone();
    support::net::wait_height(&anvil_url, 1, T).await.unwrap();
    // Deposits count once 5 anvil blocks deep.
    let dir = tempfile::tempdir().unwrap();
    let (_devnet, child, _) =
        devnet_with(dir.path(), &["--root-rpc", &anvil_url, "--root.sync-confirmations", "5"]);
    support::net::wait_height(&child, 1, T).await.unwrap();
    let roots = deployed(dir.path()).await;
    let bridge = &roots[0]["bridge"];
    let addr = |k: &str| -> Address { bridge[k].as_str().unwrap().parse().unwrap() };
    let (manager, predicate, btt) = (addr("rootChainManager"), addr("erc20Predicate"), addr("btt"));
    let root = Root { url: anvil_url.clone(), key: DEV4_KEY.parse().unwrap() };
    let approve = TestToken::approveCall { spender: predicate, amount: U256::MAX };
    send(&root.url, &root.key, btt, approve.abi_encode()).await;
    // The three mappings are delivered first.
    let deadline = Instant::now() + T;
    while delivered(&child, 31_337).await < 3 {
        assert!(Instant::now() < deadline, "the mappings never arrived");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let deposit = |to: Address, n: u64| {
        let data = Bytes::from(alloy_sol_types::SolValue::abi_encode(&tokens(n)));
        RCM::depositForCall { user: to, rootToken: btt, depositData: data }.abi_encode()
    };
    let (lost, kept) = (Address::repeat_byte(0xe1), Address::repeat_byte(0xe2));

    // Deposit 7 BTT to `lost`, then reorganise anvil back before it (under 5 blocks deep).
    let snap = rpc(&anvil_url, "evm_snapshot", serde_json::json!([])).await["result"].clone();
    send(&root.url, &root.key, manager, deposit(lost, 7)).await;
    let reverted = rpc(&anvil_url, "evm_revert", serde_json::json!([snap])).await;
    assert_eq!(reverted["result"], true, "{reverted}");
    // The same record id now holds 9 BTT to `kept`.
    send(&root.url, &root.key, manager, deposit(kept, 9)).await;
    let deadline = Instant::now() + T;
    while delivered(&child, 31_337).await < 4 {
        assert!(Instant::now() < deadline, "the deposit never arrived");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Past the next bttc blocks, on every validator: 9 to `kept`, nothing to `lost`.
    let base: u16 = child.rsplit(':').next().unwrap().parse().unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..4u16 {
        let url = format!("http://127.0.0.1:{}", base + i);
        assert_eq!(native(&url, kept).await, tokens(9), "validator {i}");
        assert_eq!(native(&url, lost).await, U256::ZERO, "validator {i}");
        assert_eq!(delivered(&url, 31_337).await, 4, "validator {i}");
    }
}
