//! A withdrawal from bttc to a root chain, end to end with real processes: `bttc devnet`
//! (4 validators, its own root chain, a checkpoint every 2 blocks) with the bridge's root
//! contracts it deploys on its root (`StateSender`, `RootChainManager`, `ERC20Predicate`, a
//! root-side BTT token mapped to bttc's native BTT), then `bttc bridge withdraw --token btt`
//! on bttc, `bttc bridge status` until a checkpoint covers it, and `bttc bridge exit` on the
//! root with the payload the node builds. The root pays the recipient exactly what was
//! withdrawn, the native BTT is locked into bttc's reserve, and a second exit is refused.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_btt_withdrawal_exits_on_the_root_once_with_the_payload_the_node_builds() {
    let dir = tempfile::tempdir().unwrap();
    let (http, p2p, root_port) = (free_ports(4), free_ports(4), free_port());
    let devnet = Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["devnet", "--validators", "4", "--datadir"])
        .arg(dir.path().join("net"))
        .args(["--http.base-port", &http.to_string(), "--p2p.base-port", &p2p.to_string()])
        .args(["--root.port", &root_port.to_string(), "--set", "checkpointInterval=2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Stopped (with its validators and root) however the test ends.
    let _devnet = StopOnDrop(devnet);
    let child = format!("http://127.0.0.1:{http}");
    let root =
        Root { url: format!("http://127.0.0.1:{root_port}"), key: DEV0_KEY.parse().unwrap() };
    support::net::wait_height(&child, 1, T).await.unwrap();
    let roots: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("net").join("roots.json")).unwrap(),
    )
    .unwrap();
    let root_chain: Address = roots[0]["rootChain"].as_str().unwrap().parse().unwrap();

    // The devnet deployed the bridge on its root: a root-side BTT token mapped to bttc's
    // native BTT, its supply held by the predicate (as deposits would have locked it).
    let bridge = &roots[0]["bridge"];
    let addr = |k: &str| -> Address { bridge[k].as_str().unwrap().parse().unwrap() };
    let (manager, predicate, token) =
        (addr("rootChainManager"), addr("erc20Predicate"), addr("btt"));
    assert_eq!(root.view(manager, RCM::rootToChildTokenCall(token)).await, BTT_TOKEN);
    assert_eq!(root.view(manager, RCM::checkpointsCall {}).await, root_chain);
    let supply = root.view(token, TestToken::balanceOfCall(predicate)).await;
    assert_eq!(supply, U256::from(1_000_000_000u64) * U256::from(10u64).pow(U256::from(18)));

    // Withdraw 5 BTT on bttc to RECIPIENT.
    let reserve = |url: String| async move {
        let v = rpc(&url, "eth_getBalance", serde_json::json!([BTT_TOKEN, "latest"])).await;
        v["result"].as_str().unwrap().parse::<U256>().unwrap()
    };
    let before = reserve(child.clone()).await;
    let (ok, out) = bttc(&[
        "bridge",
        "withdraw",
        "--token",
        "btt",
        "--amount",
        "5",
        "--to",
        &RECIPIENT.to_string(),
        "--rpc-url",
        &child,
        "--private-key",
        DEV3_KEY,
    ]);
    assert!(ok, "{out}");
    let tx: B256 = out
        .split_whitespace()
        .skip_while(|w| *w != "withdrawal")
        .nth(1)
        .expect("the withdrawal's hash")
        .parse()
        .unwrap();
    let five = U256::from(5u64) * U256::from(10u64).pow(U256::from(18));
    assert_eq!(reserve(child.clone()).await - before, five, "locked into the reserve");

    // Wait for a checkpoint on the root to cover it.
    let status = |extra: &[&str]| {
        let mut args = vec!["bridge", "status", "--tx"];
        let tx = tx.to_string();
        let (m, r) = (manager.to_string(), root.url.clone());
        let mut a: Vec<String> = args.drain(..).map(String::from).collect();
        a.extend([
            tx,
            "--child-rpc".into(),
            child.clone(),
            "--rpc-url".into(),
            r,
            "--manager".into(),
            m,
        ]);
        a.extend(extra.iter().map(|s| s.to_string()));
        let (ok, out) = bttc(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(ok, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out[out.find('{').unwrap()..]).unwrap();
        v
    };
    let deadline = Instant::now() + T;
    loop {
        let v = status(&[]);
        if v["status"] == "ready to exit" {
            assert_eq!(v["root"], "root", "{v}");
            break;
        }
        assert_eq!(v["status"], "waiting for a checkpoint", "{v}");
        assert!(Instant::now() < deadline, "never checkpointed: {v}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Exit: the recipient gets exactly 5 tokens on the root; the predicate keeps the rest.
    let exit = || {
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
    let (ok, out) = exit();
    assert!(ok, "{out}");
    assert_eq!(root.view(token, TestToken::balanceOfCall(RECIPIENT)).await, five);
    assert_eq!(root.view(token, TestToken::balanceOfCall(predicate)).await, supply - five);
    assert_eq!(status(&[])["status"], "exited");
    // A second exit of the same withdrawal is refused (by the CLI, and by the contract).
    let (ok, out) = exit();
    assert!(!ok && out.contains("already exited"), "{out}");
    // BTT's withdrawTo logs Transfer (0), then WithdrawTo (1).
    let payload = rpc(&child, "bttc_getExitPayload", serde_json::json!([tx, 1])).await;
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
    assert_eq!(root.view(token, TestToken::balanceOfCall(RECIPIENT)).await, five);
}

/// A child process stopped with SIGTERM (then killed) when dropped.
struct StopOnDrop(std::process::Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        support::sigterm_and_wait(&mut self.0, Duration::from_secs(30));
    }
}
