//! Staking on real `bttc node` processes, epochs of 8 blocks:
//! - validator sets from stake: a fifth validator that was not in the genesis joins with
//!   `bttc validator create` and proposes and signs from the next epoch; a delegation
//!   reorders the set; the newcomer's operator undelegates everything, it leaves at the
//!   epoch end and the BTT come back only after unbonding; a full node started last syncs
//!   from genesis across the three set changes, checking every certificate against its own
//!   height's set;
//! - downtime: a stopped validator is jailed and slashed, the rest go on, it rejoins after
//!   `unjail`;
//! - a reported double sign slashes validator and delegator and pays the reporter;
//! - governance changes issuance from the next epoch; a proposal without quorum fails.

mod support;

use alloy_primitives::{Address, U256};
use std::{process::Command, time::Duration};
use support::{
    net::{TestNet, block, head, wait_height},
    rpc,
};

const T: Duration = Duration::from_secs(120);
const EPOCH: u64 = 8;

fn bttc(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bttc")).args(args).output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "bttc {args:?} failed: {text}");
    text
}

fn btt(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// The members of the set that signs block `n` (`bttc_getValidators`), in set order.
async fn members_at(url: &str, n: u64) -> Vec<serde_json::Value> {
    let v = rpc(url, "bttc_getValidators", serde_json::json!([format!("{n:#x}")])).await;
    v["result"]["validators"].as_array().unwrap_or_else(|| panic!("no set at {n}: {v}")).clone()
}

fn signer(m: &serde_json::Value) -> Address {
    m["signer"].as_str().unwrap().parse().unwrap()
}

/// `(signer, power)` of the set that signs block `n`, in set order.
async fn set_at(url: &str, n: u64) -> Vec<(Address, u64)> {
    members_at(url, n).await.iter().map(|m| (signer(m), m["power"].as_u64().unwrap())).collect()
}

/// Waits (block by block) for the first block whose set satisfies `want`; returns it.
async fn wait_for_set(
    url: &str,
    from: u64,
    want: impl Fn(&[(Address, u64)]) -> bool,
) -> (u64, Vec<(Address, u64)>) {
    let deadline = std::time::Instant::now() + T;
    let mut n = from;
    while std::time::Instant::now() < deadline {
        if head(url).await.is_some_and(|h| h >= n) {
            let set = set_at(url, n).await;
            if want(&set) {
                return (n, set);
            }
            n += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    panic!("no block from {from} on had the expected set within {T:?}")
}

/// The signer bitmap of block `n`'s LastCommit (who signed block `n - 1`).
async fn signed_bitmap(url: &str, n: u64) -> U256 {
    let extra: alloy_primitives::Bytes =
        serde_json::from_value(block(url, n).await["extraData"].clone()).unwrap();
    bttc_primitives::LastCommit::decode(&extra).unwrap().map(|c| c.signers).unwrap_or_default()
}

async fn balance(url: &str, who: Address) -> U256 {
    let r = rpc(url, "eth_getBalance", serde_json::json!([who, "latest"])).await;
    r["result"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_follow_stake_epoch_by_epoch_and_a_late_full_node_syncs_across_them() {
    // Four genesis validators of 100 BTT; a fifth key that is not in the genesis.
    let net = TestNet::build(4, 1, &["--epoch-length", "8"]);
    let genesis: Vec<Address> = (0..4).map(|i| net.validators[i].1.parse().unwrap()).collect();
    let v0 = genesis[0];
    let v4: Address = net.validators[4].1.parse().unwrap();
    let mut nodes: Vec<_> = (0..5).map(|i| net.start(i)).collect(); // node 4 follows until elected
    let url = nodes[0].http.clone();
    wait_height(&url, 2, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));
    let set = set_at(&url, 1).await;
    assert_eq!(set.len(), 4);
    assert!(set.iter().all(|m| m.1 == 100 && genesis.contains(&m.0)));

    let accounts = bttc_node::dev_accounts(3);
    let key = |i: usize| accounts[i].private_key.to_string();
    let tx = |args: &[&str], i: usize| {
        let mut a = args.to_vec();
        let k = key(i);
        a.extend(["--rpc-url", url.as_str(), "--private-key", k.as_str()]);
        bttc(&a)
    };

    // 1. The fifth validator joins with 250 BTT (operated by dev account 1): elected at the
    // next epoch end, it proposes and signs in the epochs after. From then on no block is
    // final without it (400 of 650 is not a quorum).
    let keystore = net.validators[4].0.to_str().unwrap().to_string();
    let password = net.password.to_str().unwrap().to_string();
    let from = head(&url).await.unwrap();
    tx(
        &[
            "validator",
            "create",
            "--signer-keystore",
            &keystore,
            "--signer-password-file",
            &password,
            "--stake",
            "250",
        ],
        1,
    );
    let (joined, set) = wait_for_set(&url, from, |s| s.len() == 5).await;
    assert_eq!(set[0], (v4, 250), "{set:?}");
    assert_eq!(joined % EPOCH, 0, "sets change at epoch starts: {joined}");
    wait_height(&url, joined + 2 * EPOCH + 1, T)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", net.log_tail(0), net.log_tail(4)));
    let (mut proposed, mut signed, mut seen) = (0, 0, Vec::new());
    for n in joined..joined + 2 * EPOCH {
        let miner: Address = block(&url, n).await["miner"].as_str().unwrap().parse().unwrap();
        assert!(miner == v4 || genesis.contains(&miner), "block {n} by {miner}");
        proposed += u64::from(miner == v4);
        let bitmap = signed_bitmap(&url, n).await;
        seen.push((n, miner == v4, bitmap));
        if n > joined && bitmap.bit(0) {
            signed += 1;
        }
    }
    let seen = format!("(block, by the newcomer, LastCommit bitmap): {seen:?}");
    assert!(proposed >= 2, "the newcomer proposed {proposed} of {} blocks; {seen}", 2 * EPOCH);
    assert!(
        signed == 2 * EPOCH - 1,
        "the newcomer's precommit is in {signed} LastCommits; {seen}\n{}",
        net.log_tail(4)
    );
    for n in from..joined {
        assert!(signed_bitmap(&url, n).await < U256::from(16), "only the genesis four sign before");
    }

    // 2. Dev account 2 delegates 200 BTT to validator 1 (v0): 300 against 250, it leads the
    // set, and a quorum needs both of them.
    let from = head(&url).await.unwrap();
    tx(&["stake", "delegate", "--validator", "1", "--amount", "200"], 2);
    let (reordered, set) = wait_for_set(&url, from, |s| s.first().is_some_and(|m| m.0 == v0)).await;
    assert_eq!(&set[..2], &[(v0, 300), (v4, 250)]);
    wait_height(&url, reordered + EPOCH, T)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", net.log_tail(0), net.log_tail(4)));
    for n in reordered + 1..reordered + EPOCH {
        let bitmap = signed_bitmap(&url, n).await;
        assert!(bitmap.bit(0) && bitmap.bit(1), "both sign block {}: {bitmap:#x}", n - 1);
    }
    // BTTC's Bor reads: author = proposer, signers = the certificate's, and the set and
    // proposer of the next height as consensus runs them.
    let n = reordered + 2;
    let author = rpc(&url, "bor_getAuthor", serde_json::json!([format!("{n:#x}")])).await;
    assert_eq!(author["result"], block(&url, n).await["miner"]);
    let signers = rpc(&url, "bor_getSigners", serde_json::json!([format!("{n:#x}")])).await;
    let signers: Vec<Address> = serde_json::from_value(signers["result"].clone()).unwrap();
    assert!(signers.contains(&v0) && signers.contains(&v4), "{signers:?}");
    assert!(signers.len() >= 3 && signers.len() <= 5);
    let current = rpc(&url, "bor_getCurrentValidators", serde_json::json!([])).await;
    let current = current["result"].as_array().unwrap_or_else(|| panic!("{current}")).clone();
    assert_eq!(current.len(), 5);
    assert_eq!(current[0]["signer"].as_str().unwrap().parse::<Address>().unwrap(), v0);
    assert_eq!(current[0]["power"], 300);
    assert_eq!(current[0]["ID"], 0);
    let accum: i128 = current.iter().map(|m| m["accum"].as_i64().unwrap() as i128).sum();
    assert!(accum.abs() <= 5, "priorities are centred: {current:?}");
    let proposer = rpc(&url, "bor_getCurrentProposer", serde_json::json!([])).await;
    let proposer: Address = serde_json::from_value(proposer["result"].clone()).unwrap();
    assert!(proposer == v4 || genesis.contains(&proposer));

    // 3. The newcomer's operator undelegates its whole self-stake: out at the epoch end, its
    // 250 BTT back only after unbonding.
    let operator = accounts[1].address;
    let from = head(&url).await.unwrap();
    tx(&["stake", "undelegate", "--validator", "5", "--amount", "all"], 1);
    let (left, set) = wait_for_set(&url, from, |s| s.len() == 4).await;
    assert!(!set.iter().any(|m| m.0 == v4), "{set:?}");
    let stake = rpc(&url, "bttc_getStake", serde_json::json!([operator])).await;
    let release = stake["result"]["unbonding"][0]["releaseAt"].as_u64().expect("a release block");
    let out = Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["stake", "withdraw", "--rpc-url", &url, "--private-key", &key(1)])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ZeroAmount")
            || String::from_utf8_lossy(&out.stdout).contains("ZeroAmount"),
        "nothing matured before block {release}: {out:?}"
    );
    wait_height(&url, release + 1, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));
    let before = balance(&url, operator).await;
    tx(&["stake", "withdraw"], 1);
    let after = balance(&url, operator).await;
    assert!(after > before + btt(249), "250 BTT back (less gas): {before} -> {after}");
    assert!(after <= before + btt(250));

    // 4. A full node syncs from genesis across the three set changes; its chain is the
    // validators' (it verified every certificate and LastCommit on the way).
    let top = head(&url).await.unwrap();
    let full = net.start(5);
    wait_height(&full.http, top, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(5)));
    for n in [1, joined - 1, joined, reordered, left, top] {
        assert_eq!(
            block(&full.http, n).await["hash"],
            block(&url, n).await["hash"],
            "block {n} differs on the full node"
        );
    }
    nodes.push(full);
    drop(nodes);
}

/// The members of the set that signs block `n` with their `jailed` flags.
async fn jailed_at(url: &str, n: u64) -> Vec<(Address, bool)> {
    members_at(url, n).await.iter().map(|m| (signer(m), m["jailed"].as_bool().unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_validator_is_jailed_the_rest_go_on_and_it_rejoins_after_unjail() {
    use alloy_network::EthereumWallet;
    use alloy_provider::{Provider, ProviderBuilder};
    use alloy_rpc_types_eth::TransactionRequest;

    // Four validators of 100 BTT; liveness judged over 16 blocks, jail for 24.
    let net = TestNet::build(
        4,
        0,
        &[
            "--epoch-length",
            "8",
            "--set",
            "signedBlocksWindow=16",
            "--set",
            "downtimeJailBlocks=24",
        ],
    );
    let v3: Address = net.validators[3].1.parse().unwrap();
    let mut nodes: Vec<_> = (0..4).map(|i| Some(net.start(i))).collect();
    let url = nodes[0].as_ref().unwrap().http.clone();
    wait_height(&url, 3, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));

    // The validator's own address operates it: give it gas money for `unjail` later.
    let dev0: alloy_signer_local::PrivateKeySigner = support::DEV0_KEY.parse().unwrap();
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev0))
        .connect_http(url.parse().unwrap());
    let sent =
        p.send_transaction(TransactionRequest::default().to(v3).value(btt(10))).await.unwrap();
    sent.get_receipt().await.unwrap();

    // Stop validator 3: the others (3 of 4) keep finalizing; it misses more than half of
    // the window, is jailed and slashed 1%, and is out of the set at the epoch end.
    nodes[3].take().unwrap().kill9();
    let stopped = head(&url).await.unwrap();
    let (jailed, _) = wait_for_set(&url, stopped, |s| s.len() == 3).await;
    assert!(jailed_at(&url, jailed - 1).await.contains(&(v3, true)), "jailed before it left");
    assert!(jailed - stopped <= 16 + 2 * EPOCH, "out {} blocks after it stopped", jailed - stopped);
    assert_eq!(set_at(&url, jailed).await.iter().map(|m| m.1).sum::<u64>(), 300);
    let stake = rpc(&url, "bttc_getStake", serde_json::json!([v3])).await;
    assert_eq!(stake["result"]["delegations"][0]["value"], serde_json::json!(btt(99)), "{stake}");
    wait_height(&url, jailed + EPOCH, T)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));

    // Restarted and unjailed (refused while the jail time runs), it is elected again at the
    // next epoch end with its slashed power.
    nodes[3] = Some(net.start(3));
    let keystore = net.validators[3].0.to_str().unwrap().to_string();
    let password = net.password.to_str().unwrap().to_string();
    let unjail = || {
        Command::new(env!("CARGO_BIN_EXE_bttc"))
            .args(["validator", "unjail", "--rpc-url", &url, "--keystore", &keystore])
            .args(["--password-file", &password])
            .output()
            .unwrap()
    };
    let deadline = std::time::Instant::now() + T;
    let (mut refused, mut unjailed_at) = (0, None);
    while unjailed_at.is_none() && std::time::Instant::now() < deadline {
        let out = unjail();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            unjailed_at = head(&url).await;
        } else {
            assert!(text.contains("StillJailed"), "{text}");
            refused += 1;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    let unjailed_at = unjailed_at.expect("unjail went through once the jail time was over");
    assert!(refused >= 1, "unjail was refused while the jail time ran");
    let (back, set) = wait_for_set(&url, unjailed_at, |s| s.len() == 4).await;
    assert!(set.contains(&(v3, 99)), "{set:?}");
    assert_eq!(back % EPOCH, 0);
    wait_height(&url, back + EPOCH, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(3)));
    let signed = signed_bitmap(&url, back + EPOCH).await;
    let index = set.iter().position(|m| m.0 == v3).unwrap();
    assert!(signed.bit(index), "the rejoined validator signs again: bitmap {signed:#x}");
    drop(nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_sign_is_slashed_with_its_delegators_tombstoned_and_the_reporter_paid() {
    use alloy_network::EthereumWallet;
    use alloy_primitives::B256;
    use alloy_provider::{Provider, ProviderBuilder};
    use alloy_rpc_types_eth::TransactionRequest;
    use alloy_signer::SignerSync;
    use alloy_sol_types::SolCall;
    use bttc_consensus::{
        BlockHeight, BlockValue, ValidatorAddress,
        core_types::{NilOrVal, Round, VoteType},
        vote_signing_hash,
    };
    use bttc_contracts::stake_manager::StakeManager as SM;

    let net = TestNet::build(4, 0, &["--epoch-length", "8"]);
    let v1: Address = net.validators[1].1.parse().unwrap();
    let nodes: Vec<_> = (0..4).map(|i| net.start(i)).collect();
    let url = nodes[0].http.clone();
    wait_height(&url, 3, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));
    let chain_id = support::net::chain_id(&url).await;

    // A delegator stakes 100 BTT with validator 2 (v1).
    let accounts = bttc_node::dev_accounts(4);
    let (delegator, reporter) = (&accounts[2], &accounts[3]);
    let url_s = url.clone();
    let tx = |args: &[&str], key: String| {
        let mut a = args.to_vec();
        a.extend(["--rpc-url", url_s.as_str(), "--private-key", key.as_str()]);
        bttc(&a)
    };
    tx(
        &["stake", "delegate", "--validator", "2", "--amount", "100"],
        delegator.private_key.to_string(),
    );

    // v1's key signs two different precommits for one height and round: the real block and
    // another value.
    let key = alloy_signer_local::PrivateKeySigner::decrypt_keystore(
        &net.validators[1].0,
        std::fs::read_to_string(&net.password).unwrap().trim(),
    )
    .unwrap();
    assert_eq!(key.address(), v1);
    let height = head(&url).await.unwrap() - 1;
    let real: B256 = block(&url, height).await["hash"].as_str().unwrap().parse().unwrap();
    let vote = |value: B256| {
        let hash = vote_signing_hash(
            chain_id,
            VoteType::Precommit,
            BlockHeight(height),
            Round::new(0),
            &NilOrVal::Val(BlockValue(value)),
            &ValidatorAddress(v1),
        );
        let sig = key.sign_hash_sync(&hash).unwrap();
        SM::Vote {
            voteType: 2,
            height,
            round: 0,
            value,
            nil: false,
            signature: sig.as_bytes().to_vec().into(),
        }
    };
    let evidence =
        SM::submitDoubleSignCall { signer: v1, a: vote(real), b: vote(B256::repeat_byte(0xee)) };

    // A reporter delivers them.
    let stake_of = |who: Address| {
        let url = url.clone();
        async move {
            let s = rpc(&url, "bttc_getStake", serde_json::json!([who])).await;
            serde_json::from_value::<U256>(s["result"]["delegations"][0]["value"].clone())
                .unwrap_or_else(|_| panic!("{s}"))
        }
    };
    assert_eq!(stake_of(v1).await, btt(100));
    assert_eq!(stake_of(delegator.address).await, btt(100));
    let before = balance(&url, reporter.address).await;
    let wallet = EthereumWallet::from(
        alloy_signer_local::PrivateKeySigner::from_bytes(&reporter.private_key).unwrap(),
    );
    let p = ProviderBuilder::new().wallet(wallet).connect_http(url.parse().unwrap());
    let req = TransactionRequest::default()
        .to(bttc_contracts::STAKE_MANAGER)
        .input(evidence.abi_encode().into());
    let receipt = p.send_transaction(req).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status(), "submitDoubleSign reverted");
    let gas = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);

    // 5% of the validator's and its delegator's stake; 10% of the slash to the reporter.
    assert_eq!(stake_of(v1).await, btt(95));
    assert_eq!(stake_of(delegator.address).await, btt(95));
    assert_eq!(balance(&url, reporter.address).await, before - gas + btt(1));
    let v = rpc(&url, "bttc_getValidators", serde_json::json!([])).await;
    let me = v["result"]["validators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["signer"].as_str().unwrap().parse::<Address>().unwrap() == v1)
        .cloned()
        .unwrap();
    assert_eq!(me["tombstoned"], true, "{me}");
    assert_eq!(me["jailed"], true, "{me}");
    // The same evidence again pays nothing more.
    let again = rpc(
        &url,
        "eth_call",
        serde_json::json!([{"from": reporter.address, "to": bttc_contracts::STAKE_MANAGER,
            "data": alloy_primitives::Bytes::from(evidence.abi_encode())}]),
    )
    .await;
    assert!(again["error"].is_object(), "a second report is refused: {again}");

    // Out of the set at the epoch end, for good; the other three go on.
    let from = head(&url).await.unwrap();
    let (out, set) = wait_for_set(&url, from, |s| s.len() == 3).await;
    assert!(!set.iter().any(|m| m.0 == v1));
    wait_height(&url, out + 2 * EPOCH, T)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));
    assert_eq!(set_at(&url, out + 2 * EPOCH).await.len(), 3, "never elected again");
    drop(nodes);
}

/// `StakeManager.totalMinted()` after block `n`.
async fn total_minted(url: &str, n: u64) -> U256 {
    use alloy_sol_types::SolCall;
    use bttc_contracts::stake_manager::StakeManager as SM;
    let data = alloy_primitives::Bytes::from(SM::totalMintedCall {}.abi_encode());
    let r = rpc(
        url,
        "eth_call",
        serde_json::json!([{"to": bttc_contracts::STAKE_MANAGER, "data": data}, format!("{n:#x}")]),
    )
    .await;
    let out: alloy_primitives::Bytes = serde_json::from_value(r["result"].clone()).unwrap();
    SM::totalMintedCall::abi_decode_returns(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_raises_issuance_from_the_next_epoch_and_a_proposal_without_quorum_fails() {
    use alloy_network::EthereumWallet;
    use alloy_provider::{Provider, ProviderBuilder};
    use alloy_rpc_types_eth::TransactionRequest;

    // Four validators of 100 BTT; proposals are open for 12 blocks.
    let net = TestNet::build(4, 0, &["--epoch-length", "8", "--set", "governanceVotingPeriod=12"]);
    let nodes: Vec<_> = (0..4).map(|i| net.start(i)).collect();
    let url = nodes[0].http.clone();
    wait_height(&url, 3, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));

    // The validators' own addresses operate them and vote: gas money for each.
    let dev0: alloy_signer_local::PrivateKeySigner = support::DEV0_KEY.parse().unwrap();
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev0))
        .connect_http(url.parse().unwrap());
    for (_, address) in &net.validators {
        let to: Address = address.parse().unwrap();
        let sent = p.send_transaction(TransactionRequest::default().to(to).value(btt(10))).await;
        sent.unwrap().get_receipt().await.unwrap();
    }
    let accounts = bttc_node::dev_accounts(3);
    let with_key = |args: &[&str], i: usize| {
        let mut a = args.to_vec();
        let k = accounts[i].private_key.to_string();
        a.extend(["--rpc-url", url.as_str(), "--private-key", k.as_str()]);
        bttc(&a)
    };
    let password = net.password.to_str().unwrap().to_string();
    let as_validator = |args: &[&str], v: usize| {
        let mut a = args.to_vec();
        let keystore = net.validators[v].0.to_str().unwrap().to_string();
        a.extend(["--rpc-url", url.as_str(), "--keystore", keystore.as_str()]);
        a.extend(["--password-file", password.as_str()]);
        bttc(&a)
    };

    // Proposal 0 doubles issuance; three of four validators (75% of the stake) vote yes.
    // Proposal 1 cuts it; only one validator (25%, under the 33.34% quorum) votes.
    with_key(&["gov", "propose", "--set", "stakingApyBps=1300", "--description", "double"], 1);
    with_key(&["gov", "propose", "--set", "stakingApyBps=100", "--description", "cut"], 2);
    for v in 0..3 {
        as_validator(&["gov", "vote", "--proposal", "0", "--option", "yes"], v);
    }
    as_validator(&["gov", "vote", "--proposal", "1", "--option", "yes"], 3);
    let proposals = rpc(&url, "bttc_getProposals", serde_json::json!([])).await;
    let ends = proposals["result"][1]["votingEnds"]
        .as_u64()
        .unwrap_or_else(|| panic!("no end block in {proposals}"));
    wait_height(&url, ends + 1, T).await.unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));
    let out = with_key(&["gov", "finalize", "--proposal", "0"], 0);
    let finalized: u64 = out
        .split("included in block ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no block in {out}"));
    with_key(&["gov", "finalize", "--proposal", "1"], 0);
    let proposals = rpc(&url, "bttc_getProposals", serde_json::json!([])).await;
    assert_eq!(proposals["result"][0]["status"], "passed", "{proposals}");
    assert_eq!(proposals["result"][1]["status"], "rejectedBurned", "{proposals}");

    // Issuance per block: unchanged through the epoch of the vote's finalization, twice as
    // much from the first block of the next epoch.
    let next_epoch = (finalized / EPOCH + 1) * EPOCH;
    wait_height(&url, next_epoch + 2, T)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", net.log_tail(0)));
    let minted = |n: u64| {
        let url = url.clone();
        async move { total_minted(&url, n).await - total_minted(&url, n - 1).await }
    };
    let before = minted(finalized).await;
    assert!(!before.is_zero());
    assert_eq!(minted(next_epoch - 1).await, before, "no change before the epoch boundary");
    // stake x rate / BPS / blocksPerYear, rounded down: twice the rate is twice the amount
    // or one wei more.
    let after = minted(next_epoch).await;
    assert!(
        after == before * U256::from(2) || after == before * U256::from(2) + U256::from(1),
        "6.5% -> 13% from block {next_epoch}: {before} -> {after}"
    );
    drop(nodes);
}
