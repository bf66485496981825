//! Key files through the real binary: keystores and `node.key` are created private (0600 in
//! 0700 directories) even under a permissive umask, key files others can access are refused
//! with the fix in the message (unless `--insecure-key-permissions`), and `keys new` refuses
//! an empty password unless asked.

mod support;

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};
use support::net::TestNet;

/// Makes new files group- and world-readable unless their creator says otherwise (a common
/// default), so that only bttc's own modes keep key files private. Every test here sets
/// the same value; children inherit it.
fn permissive_umask() {
    // SAFETY: umask(2) only swaps the process's file mode mask.
    unsafe { libc::umask(0o022) };
}

fn bttc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bttc")).args(args).output().expect("run bttc")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `cmd` until it exits (it is expected to refuse to start); kills it and panics if it
/// is still running after a minute.
fn run_to_exit(mut cmd: Command) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after 60 s (it should have refused to start): {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn keys_new_writes_private_files_and_refuses_an_empty_password() {
    permissive_umask();
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "secret\n").unwrap();
    let keys = dir.path().join("keys");
    let (keys_s, pw_s) = (keys.to_str().unwrap(), pw.to_str().unwrap());
    let new = ["keys", "new", "--keystore-dir", keys_s, "--password-file", pw_s];

    let out = bttc(&[&new[..], &["--name", "v.json"]].concat());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(mode(&keys), 0o700, "keystore directory");
    assert_eq!(mode(&keys.join("v.json")), 0o600, "keystore");
    // An existing keystore is never overwritten.
    let before = std::fs::read(keys.join("v.json")).unwrap();
    let out = bttc(&[&new[..], &["--name", "v.json"]].concat());
    assert!(!out.status.success() && text(&out).contains("v.json"), "{}", text(&out));
    assert_eq!(std::fs::read(keys.join("v.json")).unwrap(), before);
    // The default (UUID) file name is private too.
    let out = bttc(&new);
    assert!(out.status.success(), "{}", text(&out));
    let path =
        text(&out).lines().find_map(|l| l.strip_prefix("keystore:")).unwrap().trim().to_string();
    assert_eq!(mode(Path::new(&path)), 0o600, "{path}");
    let out = bttc(&["keys", "inspect", &path, "--password-file", pw_s]);
    assert!(out.status.success(), "{}", text(&out));

    // An empty password only when asked for.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let other = dir.path().join("other");
    let (other_s, empty_s) = (other.to_str().unwrap(), empty.to_str().unwrap());
    let new_empty = ["keys", "new", "--keystore-dir", other_s, "--password-file", empty_s];
    let out = bttc(&new_empty);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("empty password") && text(&out).contains("--allow-empty-password"),
        "{}",
        text(&out)
    );
    assert!(!other.exists() || std::fs::read_dir(&other).unwrap().next().is_none());
    let out = bttc(&[&new_empty[..], &["--allow-empty-password"]].concat());
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_validator_keystore_others_can_read_is_refused() {
    permissive_umask();
    let net = TestNet::new(1);
    let (key, _) = &net.validators[0];
    assert_eq!(mode(key), 0o600);
    chmod(key, 0o644);
    let (key_s, pw_s) = (key.to_str().unwrap(), net.password.to_str().unwrap());
    let out = bttc(&["keys", "inspect", key_s, "--password-file", pw_s]);
    assert!(!out.status.success(), "{}", text(&out));
    for part in [key_s, "0644", &format!("chmod 600 {key_s}"), "--insecure-key-permissions"] {
        assert!(text(&out).contains(part), "no {part:?} in: {}", text(&out));
    }
    let out =
        bttc(&["keys", "inspect", key_s, "--password-file", pw_s, "--insecure-key-permissions"]);
    assert!(out.status.success() && text(&out).contains("address:"), "{}", text(&out));

    // The node refuses it before it starts anything.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bttc"));
    cmd.arg("node")
        .arg("--datadir")
        .arg(net.node_dir(0))
        .arg("--genesis")
        .arg(&net.genesis)
        .args(["--validator-key", key_s, "--password-file", pw_s])
        .args(["--p2p-port", &net.p2p[0].to_string(), "--http.port", "0"]);
    let out = run_to_exit(cmd);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("chmod 600 {key_s}")), "{}", text(&out));
}

#[test]
fn node_key_is_created_private_and_refused_once_others_can_read_it() {
    permissive_umask();
    let net = TestNet::new(1);
    // Node 1 is a full node: its libp2p identity is <datadir>/node.key, made on first start.
    let node = net.start(1);
    drop(node);
    let node_key = net.node_dir(1).join("node.key");
    assert_eq!(mode(&node_key), 0o600);

    chmod(&node_key, 0o640);
    let start = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bttc"));
        cmd.arg("node").arg("--datadir").arg(net.node_dir(1)).args([
            "--p2p-port",
            &net.p2p[1].to_string(),
            "--http.port",
            "0",
        ]);
        cmd
    };
    let out = run_to_exit(start());
    assert!(!out.status.success(), "{}", text(&out));
    let shown = node_key.display().to_string();
    for part in [shown.as_str(), "0640", &format!("chmod 600 {shown}")] {
        assert!(text(&out).contains(part), "no {part:?} in: {}", text(&out));
    }
    // The operator may insist.
    let mut cmd = start();
    cmd.arg("--insecure-key-permissions").stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    support::net::wait_listening(&mut child, "full node with --insecure-key-permissions");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_node_key_that_is_not_a_key_and_a_bad_bootnode_are_named() {
    let net = TestNet::new(1);
    let dir = net.node_dir(1);
    std::fs::create_dir_all(&dir).unwrap();
    let node_key = dir.join("node.key");
    {
        use std::{io::Write, os::unix::fs::OpenOptionsExt};
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&node_key)
            .unwrap();
        f.write_all(&[0u8; 32]).unwrap(); // zero is not a secp256k1 scalar
    }
    let start = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bttc"));
        cmd.arg("node").arg("--datadir").arg(&dir).arg("--genesis").arg(&net.genesis);
        cmd.args(["--p2p-port", &net.p2p[1].to_string(), "--http.port", "0"]).args(extra);
        run_to_exit(cmd)
    };
    let out = start(&[]);
    assert!(!out.status.success(), "{}", text(&out));
    let shown = node_key.display().to_string();
    for part in ["node key", shown.as_str(), "not a secp256k1 key"] {
        assert!(text(&out).contains(part), "no {part:?} in: {}", text(&out));
    }
    std::fs::remove_file(&node_key).unwrap();
    let out = start(&["--bootnodes", "not-an-address"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("bootnode \"not-an-address\" cannot be used"), "{}", text(&out));
}
