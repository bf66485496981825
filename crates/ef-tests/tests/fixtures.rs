//! Runs slices of the shared Ethereum fixtures (both sets) through the runner library, and
//! checks that the runner notices a tampered fixture and a rejection of the wrong kind.
//! Without `../shared` the tests say so and pass, unless `BTTC_REQUIRE_FIXTURES` is set (CI
//! sets it), in which case missing fixtures fail them.

use bttc_ef_tests::{TestOutcome, run_test, runner};
use std::path::{Path, PathBuf};

/// Extracts `patterns` of `../shared/fixtures/<set>.tar.gz` into a fresh directory and
/// returns `<dir>/<set>`.
fn extract(set: &str, patterns: &[&str]) -> Option<PathBuf> {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../../shared/fixtures/{set}.tar.gz"));
    if !tarball.exists() {
        assert!(
            std::env::var_os("BTTC_REQUIRE_FIXTURES").is_none(),
            "{} not found and BTTC_REQUIRE_FIXTURES is set",
            tarball.display()
        );
        eprintln!("skipping: {} not found (../shared is absent)", tarball.display());
        return None;
    }
    let dir = std::env::temp_dir().join(format!("bttc-ef-{set}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .arg("--wildcards")
        .args(patterns.iter().map(|p| format!("{set}/{p}")))
        .status()
        .expect("tar");
    assert!(status.success(), "tar failed");
    Some(dir.join(set))
}

fn known_failures() -> std::collections::BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("known-failures.txt"))
            .unwrap();
    runner::parse_known_failures(&text)
}

/// Runs every fixture under `root`: no failure outside the known list, and at least
/// `min_passed` passes.
fn run_slice(root: &Path, min_passed: usize) -> Vec<PathBuf> {
    let files = runner::fixture_files(root).unwrap();
    assert!(files.len() > 10, "expected fixture files, found {}", files.len());
    let results = runner::run_files(root, &files, 2, None);
    let (_, totals) = runner::summarize(&results);
    let (unexpected, fixed) = runner::compare_known(&results, &known_failures());
    assert!(unexpected.is_empty(), "failures: {unexpected:#?}");
    assert!(fixed.is_empty(), "known failures that pass: {fixed:#?}");
    assert!(totals.passed >= min_passed, "{totals:?}");
    files
}

#[test]
fn pre_byzantium_forks_pass_with_post_state_receipts() {
    // Frontier and Homestead blocks: every receipt carries the state root after its
    // transaction, and difficulty follows each fork's rule.
    let Some(root) = extract(
        "blockchain-tests-forks",
        &[
            "eest-v5.4.0/blockchain_tests/frontier/opcodes/*",
            "eest-v5.4.0/blockchain_tests/frontier/validation/*",
            "eest-v5.4.0/blockchain_tests/homestead/*",
            "eest-v5.4.0/blockchain_tests/byzantium/*",
        ],
    ) else {
        return;
    };
    run_slice(&root, 100);
    std::fs::remove_dir_all(root.parent().unwrap()).ok();
}

#[test]
fn fixture_slice_passes_and_tampering_is_detected() {
    let Some(root) = extract(
        "blockchain-tests",
        &[
            "eest-v5.4.0/blockchain_tests/cancun/eip1153_tstore/*",
            "ethereum-tests-legacy/BlockchainTests/InvalidBlocks/bcInvalidHeaderTest/*",
            "eest-v5.4.0/blockchain_tests/prague/eip7002_el_triggerable_withdrawals/*",
        ],
    ) else {
        return;
    };
    let files = run_slice(&root, 100);
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

    // A block refused for a reason of another class than the one expected must be reported:
    // a missing system contract (an execution failure) relabelled as a bad state root.
    let file = files
        .iter()
        .find(|f| f.to_string_lossy().contains("test_system_contract_deployment"))
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let (name, test) = json
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, t)| {
            t["blocks"].as_array().unwrap().iter().any(|b| {
                b.get("expectException").and_then(|e| e.as_str())
                    == Some("BlockException.SYSTEM_CONTRACT_EMPTY")
            })
        })
        .expect("a test expecting SYSTEM_CONTRACT_EMPTY");
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(run_test(test, tmp.path()), TestOutcome::Passed, "{name}");
    let mut relabelled = test.clone();
    for b in relabelled["blocks"].as_array_mut().unwrap() {
        if b.get("expectException").is_some() {
            b["expectException"] = serde_json::json!("BlockException.INVALID_STATE_ROOT");
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let outcome = run_test(&relabelled, tmp.path());
    assert!(
        matches!(&outcome, TestOutcome::Failed(m) if m.contains("rejected as Some(Execution)")),
        "{outcome:?}"
    );
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
