//! The `bttc` binary driven as a user would: init, import, db stats, bad input, kill -9.

use bttc_bench::{SyntheticChain, Workload, generate, to_rlp};
use bttc_chain::verify::full_state_root;
use bttc_storage::{DatabaseEnv, DbOptions};
use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

fn bttc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bttc")).args(args).output().expect("run bttc")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

struct Fixture {
    dir: tempfile::TempDir,
    blocks: usize,
}

impl Fixture {
    fn new(blocks: usize, txs: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let shape =
            SyntheticChain { workload: Workload::Erc20, senders: 64, blocks, txs_per_block: txs };
        let generated = generate(&shape, &dir.path().join("scratch")).unwrap();
        std::fs::write(dir.path().join("genesis.json"), &generated.genesis).unwrap();
        std::fs::write(dir.path().join("chain.rlp"), to_rlp(&generated.blocks)).unwrap();
        Self { dir, blocks }
    }
    fn path(&self, p: &str) -> String {
        self.dir.path().join(p).display().to_string()
    }
}

/// The head of a datadir must be fully consistent: its header's state root equals both the
/// stored trie root and a from-scratch root of the plain state.
fn assert_consistent(datadir: &str) -> u64 {
    let db = DatabaseEnv::open(&Path::new(datadir).join("db"), DbOptions::default()).unwrap();
    let ro = db.ro().unwrap();
    let head = ro.head().unwrap().unwrap();
    let header = ro.header(head.number).unwrap().unwrap();
    assert_eq!(header.hash_slow(), head.hash);
    assert_eq!(full_state_root(&ro, None).unwrap(), header.state_root, "plain state vs head root");
    assert_eq!(bttc_trie::stored_root(&ro).unwrap(), header.state_root, "trie vs head root");
    head.number
}

#[test]
fn init_import_stats_and_resume() {
    let f = Fixture::new(40, 20);
    let data = f.path("data");
    let out = bttc(&["init", "--genesis", &f.path("genesis.json"), "--datadir", &data]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("genesis written"));

    let out = bttc(&["import", "--datadir", &data, &f.path("chain.rlp")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("head: #40 0x"), "{}", text(&out));
    assert_eq!(assert_consistent(&data), 40);

    let out = bttc(&["import", "--datadir", &data, &f.path("chain.rlp")]);
    assert!(text(&out).contains("imported 0 blocks (40 already present)"), "{}", text(&out));

    let out = bttc(&["db", "verify-root", "--datadir", &data]);
    assert!(out.status.success() && text(&out).contains("ok: all three agree"), "{}", text(&out));

    let out = bttc(&["db", "stats", "--datadir", &data]);
    assert!(out.status.success(), "{}", text(&out));
    let stats = text(&out);
    let line = stats.lines().find(|l| l.starts_with("Headers ")).expect("Headers row");
    assert!(line.split_whitespace().nth(1) == Some("41"), "{line}");

    // Same genesis again: nothing to do; a different one: refused.
    let out = bttc(&["init", "--genesis", &f.path("genesis.json"), "--datadir", &data]);
    assert!(out.status.success() && text(&out).contains("nothing to do"), "{}", text(&out));
    let other = f.path("other.json");
    let g =
        std::fs::read_to_string(f.path("genesis.json")).unwrap().replace("31337199", "31337200");
    std::fs::write(&other, g).unwrap();
    let out = bttc(&["init", "--genesis", &other, "--datadir", &data]);
    assert!(!out.status.success());
    assert!(text(&out).contains("Refusing to overwrite"), "{}", text(&out));

    // Tamper with the plain state behind the trie's back: verify-root must notice.
    {
        let db = DatabaseEnv::open(&Path::new(&data).join("db"), DbOptions::default()).unwrap();
        let rw = db.rw().unwrap();
        let change = bttc_storage::AccountChange {
            address: alloy_primitives::Address::repeat_byte(0x42),
            original: None,
            new: Some(bttc_storage::Account { nonce: 1, ..Default::default() }),
            wiped: false,
            storage: vec![],
        };
        rw.write_state(
            1_000,
            &bttc_storage::StateChanges { accounts: vec![change], codes: vec![] },
        )
        .unwrap();
        rw.commit().unwrap();
    }
    let out = bttc(&["db", "verify-root", "--datadir", &data]);
    assert!(!out.status.success() && text(&out).contains("disagree"), "{}", text(&out));
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let f = Fixture::new(5, 3);
    let data = f.path("data");
    assert!(
        bttc(&["init", "--genesis", &f.path("genesis.json"), "--datadir", &data]).status.success()
    );

    let mut rlp = std::fs::read(f.path("chain.rlp")).unwrap();
    rlp.truncate(rlp.len() - 10);
    std::fs::write(f.path("broken.rlp"), &rlp).unwrap();
    let out = bttc(&["import", "--datadir", &data, &f.path("broken.rlp")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("block #4"), "{}", text(&out));
    assert!(text(&out).contains("nothing was imported"), "{}", text(&out));
    assert_eq!(assert_consistent(&data), 0);

    std::fs::write(f.path("garbage.rlp"), b"this is not rlp at all").unwrap();
    let out = bttc(&["import", "--datadir", &data, &f.path("garbage.rlp")]);
    assert!(!out.status.success() && text(&out).contains("block #0"), "{}", text(&out));

    let out = bttc(&["import", "--datadir", &f.path("nowhere"), &f.path("chain.rlp")]);
    assert!(!out.status.success() && text(&out).contains("bttc init"), "{}", text(&out));

    std::fs::write(f.path("bad-genesis.json"), b"{\"config\": 5}").unwrap();
    let out = bttc(&["init", "--genesis", &f.path("bad-genesis.json"), "--datadir", &f.path("d2")]);
    assert!(!out.status.success() && text(&out).contains("invalid genesis"), "{}", text(&out));
    assert!(!Path::new(&f.path("d2")).exists(), "a bad genesis must not leave a datadir behind");
}

#[test]
fn a_dev_node_on_a_port_in_use_says_so_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = bttc(&["node", "--dev", "--http.port", &port]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let what = format!("cannot listen on 127.0.0.1:{port}");
    assert_eq!(err.matches(&what).count(), 1, "{err}");
    assert!(!err.contains("internal error"), "{err}");
}

#[test]
fn kill_9_mid_import_leaves_a_consistent_head_and_a_rerun_finishes() {
    let f = Fixture::new(150, 40);
    let data = f.path("data");
    assert!(
        bttc(&["init", "--genesis", &f.path("genesis.json"), "--datadir", &data]).status.success()
    );
    let mut last = 0;
    for delay_ms in [150u64, 400, 700] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bttc"))
            .args(["import", "--batch", "1", "--datadir", &data, &f.path("chain.rlp")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let head = assert_consistent(&data);
        assert!(head >= last, "head went backwards: {head} < {last}");
        last = head;
    }
    let start = Instant::now();
    let out = bttc(&["import", "--datadir", &data, &f.path("chain.rlp")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("head: #{} ", f.blocks)), "{}", text(&out));
    assert_eq!(assert_consistent(&data), f.blocks as u64);
    assert!(start.elapsed() < Duration::from_secs(120));
}

#[test]
fn absurd_durations_are_refused_with_a_message_not_a_panic() {
    for (flag, value) in [
        ("--rpc.call-timeout", "inf"),
        ("--rpc.call-timeout", "NaN"),
        ("--rpc.call-timeout", "-1"),
        ("--rpc.call-timeout", "1e300"),
        ("--block-time", "1e300"),
        ("--ws.idle-timeout", "inf"),
    ] {
        let out = bttc(&["node", "--dev", "--http.port", "0", &format!("{flag}={value}")]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {t}");
        assert!(t.contains(flag) && t.contains("seconds") && !t.contains("panicked"), "{t}");
    }
}
