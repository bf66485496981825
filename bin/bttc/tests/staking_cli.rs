//! `bttc stake …` and `bttc validator …` against a one-validator devnet (a separate process):
//! delegations, a refusal reported with the contract's error, unbonding, and a new validator
//! registered with its consensus key from `bttc keys new`.

mod support;

use std::{
    process::{Command, Output, Stdio},
    time::Duration,
};

const T: Duration = Duration::from_secs(90);

fn bttc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bttc")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn wei(btt: u64) -> serde_json::Value {
    let v = alloy_primitives::U256::from(btt)
        * alloy_primitives::U256::from(10u64).pow(alloy_primitives::U256::from(18));
    serde_json::json!(v)
}

#[tokio::test(flavor = "multi_thread")]
async fn delegators_and_a_new_validator_use_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (http, p2p) = (support::net::free_ports(1), support::net::free_ports(1));
    let mut devnet = Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["devnet", "--validators", "1", "--datadir"])
        .arg(dir.path().join("net"))
        .args(["--http.base-port", &http.to_string(), "--p2p.base-port", &p2p.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{http}");
    support::net::wait_height(&url, 2, T).await.unwrap();
    let accounts = bttc_node::dev_accounts(2);
    let (dev0, dev1) = (&accounts[0], &accounts[1]);
    let key0 = dev0.private_key.to_string();
    let with = |args: &[&str], key: &str| {
        let mut a = args.to_vec();
        a.extend(["--rpc-url", url.as_str(), "--private-key", key]);
        bttc(&a)
    };

    // Every block after the first carries its parent's commit: here the one validator signed.
    let block = support::rpc(&url, "eth_getBlockByNumber", serde_json::json!(["0x2", false])).await;
    let extra: alloy_primitives::Bytes =
        serde_json::from_value(block["result"]["extraData"].clone()).unwrap();
    let commit = bttc_primitives::LastCommit::decode(&extra).unwrap().expect("a LastCommit");
    assert_eq!(commit.signers, alloy_primitives::U256::from(1));

    // Delegate 25 BTT to validator 1.
    let out = with(&["stake", "delegate", "--validator", "1", "--amount", "25"], &key0);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("included in block"), "{}", text(&out));
    let stake = support::rpc(&url, "bttc_getStake", serde_json::json!([dev0.address])).await;
    assert_eq!(stake["result"]["delegations"][0]["value"], wei(25), "{stake}");

    // Under the minimum delegation: refused with the contract's error, nothing sent.
    let out = with(&["stake", "delegate", "--validator", "1", "--amount", "0.5"], &key0);
    assert!(!out.status.success());
    assert!(text(&out).contains("StakeTooLow"), "{}", text(&out));
    let out = with(&["stake", "delegate", "--validator", "1", "--amount", "lots"], &key0);
    assert!(text(&out).contains("is not a number of BTT"), "{}", text(&out));

    // Undelegate 10: an unbonding entry, paid only after the unbonding period.
    let out = with(&["stake", "undelegate", "--validator", "1", "--amount", "10"], &key0);
    assert!(out.status.success(), "{}", text(&out));
    let stake = support::rpc(&url, "bttc_getStake", serde_json::json!([dev0.address])).await;
    assert_eq!(stake["result"]["unbonding"][0]["amount"], wei(10), "{stake}");
    assert_eq!(stake["result"]["delegations"][0]["value"], wei(15));
    let out = with(&["stake", "withdraw"], &key0);
    assert!(text(&out).contains("ZeroAmount"), "nothing matured yet: {}", text(&out));

    // A new validator: its consensus key from `bttc keys new`, operated by dev account 1.
    let keys = dir.path().join("keys");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "secret\n").unwrap();
    let out = bttc(&[
        "keys",
        "new",
        "--keystore-dir",
        keys.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let keystore = std::fs::read_dir(&keys).unwrap().next().unwrap().unwrap().path();
    let key1 = dev1.private_key.to_string();
    let out = with(
        &[
            "validator",
            "create",
            "--signer-keystore",
            keystore.to_str().unwrap(),
            "--signer-password-file",
            pw.to_str().unwrap(),
            "--stake",
            "500",
            "--commission-bps",
            "700",
        ],
        &key1,
    );
    assert!(out.status.success(), "{}", text(&out));
    let stake = support::rpc(&url, "bttc_getStake", serde_json::json!([dev1.address])).await;
    assert_eq!(stake["result"]["operatedValidator"], 2, "{stake}");
    assert_eq!(stake["result"]["delegations"][0]["value"], wei(500));
    // The same consensus key again: refused.
    let out = with(
        &[
            "validator",
            "create",
            "--signer-keystore",
            keystore.to_str().unwrap(),
            "--signer-password-file",
            pw.to_str().unwrap(),
            "--stake",
            "500",
        ],
        &key0,
    );
    assert!(text(&out).contains("SignerInUse"), "{}", text(&out));

    let out = bttc(&["validator", "info", "--rpc-url", &url]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("\"validators\""), "{}", text(&out));

    // Governance: a proposal to raise issuance, a delegator's vote, an early finalize refused.
    let out = with(
        &["gov", "propose", "--set", "stakingApyBps=1300", "--description", "raise issuance"],
        &key0,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = with(&["gov", "propose", "--set", "stakingApyBps"], &key0);
    assert!(text(&out).contains("expected name=value"), "{}", text(&out));
    let out = with(&["gov", "propose", "--set", "fooBps=1"], &key0);
    assert!(text(&out).contains("unknown parameter"), "{}", text(&out));
    let out = with(&["gov", "vote", "--proposal", "0", "--option", "yes"], &key0);
    assert!(out.status.success(), "{}", text(&out));
    let out = with(&["gov", "finalize", "--proposal", "0"], &key0);
    assert!(text(&out).contains("VotingOpen"), "{}", text(&out));
    let proposals = support::rpc(&url, "bttc_getProposals", serde_json::json!([])).await;
    let p = &proposals["result"][0];
    assert_eq!(p["status"], "voting", "{proposals}");
    assert_eq!(p["description"], "raise issuance");
    assert_eq!(p["params"]["stakingApyBps"], 1300);
    assert_eq!(p["params"]["epochLength"], 64, "the other parameters are the current ones");
    support::sigterm_and_wait(&mut devnet, Duration::from_secs(30));
}
