//! `bttc node --config <file.toml>`: the file is the command line's equivalent; flags on the
//! command line win; a bad file is a clear error.

mod support;

use support::DevProc;

#[test]
fn a_toml_file_sets_node_options_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("chain");
    let cfg = dir.path().join("node.toml");
    std::fs::write(
        &cfg,
        format!(
            "datadir = {:?}\naccounts = 3\nchain-id = 4242\n[http]\nport = 1\n[rpc]\nmax-batch = 7\n",
            datadir.display().to_string()
        ),
    )
    .unwrap();
    // `--http.port 0` (added by DevProc) overrides the file's port 1.
    let node = DevProc::start(&["--config", cfg.to_str().unwrap()]);
    assert!(node.banner.contains("Chain ID:          4242"), "{}", node.banner);
    assert!(node.banner.contains(&datadir.display().to_string()), "{}", node.banner);
    assert!(node.banner.contains("(2) ") && !node.banner.contains("(3) "), "{}", node.banner);
    assert!(node.terminate().success());
    assert!(datadir.join("db").exists(), "the file's datadir was used");
}

#[test]
fn a_bad_config_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "http = [ this is not toml").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["node", "--dev", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("TOML"), "{err}");
    std::fs::write(&cfg, "no-such-option = 1\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bttc"))
        .args(["node", "--dev", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-option"));
}
