//! Runs a slice of the shared Ethereum fixtures through the runner library, and checks that
//! the runner notices a tampered fixture. Skips (with a message) when `../shared` is absent.

use bttc_ef_tests::{TestOutcome, run_test, runner};
use std::path::{Path, PathBuf};

fn fixtures() -> Option<PathBuf> {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/blockchain-tests.tar.gz");
    if !tarball.exists() {
        eprintln!("skipping: {} not found (../shared is absent)", tarball.display());
        return None;
    }
    let dir = std::env::temp_dir().join(format!("bttc-ef-slice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .arg("--wildcards")
        .arg("blockchain-tests/eest-v5.4.0/blockchain_tests/cancun/eip1153_tstore/*")
        .arg("blockchain-tests/ethereum-tests-legacy/BlockchainTests/InvalidBlocks/bcInvalidHeaderTest/*")
        .arg("blockchain-tests/eest-v5.4.0/blockchain_tests/prague/eip7002_el_triggerable_withdrawals/*")
        .status()
        .expect("tar");
    assert!(status.success(), "tar failed");
    Some(dir.join("blockchain-tests"))
}

#[test]
fn fixture_slice_passes_and_tampering_is_detected() {
    let Some(root) = fixtures() else { return };
    let files = runner::fixture_files(&root).unwrap();
    assert!(files.len() > 20, "expected fixture files, found {}", files.len());
    let results = runner::run_files(&root, &files, 2, None);
    let (_, totals) = runner::summarize(&results);
    let failed: Vec<_> =
        results.iter().filter(|r| matches!(r.outcome, TestOutcome::Failed(_))).collect();
    assert!(failed.is_empty(), "failures: {failed:#?}");
    assert!(totals.passed > 100, "{totals:?}");

    // Tamper with one test's expected post state: the runner must report a failure.
    let file = files.iter().find(|f| f.to_string_lossy().contains("eip1153_tstore")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let (_, test) =
        json.as_object().unwrap().iter().find(|(_, t)| t.get("postState").is_some()).unwrap();
    let mut bad = test.clone();
    let post = bad["postState"].as_object_mut().unwrap();
    let first = post.keys().next().unwrap().clone();
    post[&first]["balance"] = serde_json::json!("0x1234567");
    let tmp = tempfile::tempdir().unwrap();
    assert!(
        matches!(run_test(&bad, tmp.path()), TestOutcome::Failed(m) if m.contains("post state"))
    );

    // A block expected to fail that is flipped to "valid" must be reported.
    let mut flipped = test.clone();
    flipped["lastblockhash"] = serde_json::json!(format!("0x{}", "11".repeat(32)));
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(run_test(&flipped, tmp.path()), TestOutcome::Failed(m) if m.contains("head")));
    std::fs::remove_dir_all(root.parent().unwrap()).ok();
}

#[test]
fn known_failures_file_is_well_formed() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("known-failures.txt"))
            .unwrap();
    let known = runner::parse_known_failures(&text);
    assert!(!known.is_empty());
    for (id, reason) in &known {
        assert!(id.contains(".json::"), "bad id {id}");
        assert!(reason.len() > 20, "every known failure needs a reason: {id}");
    }
}
