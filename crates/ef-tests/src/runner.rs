//! Walking a fixtures directory, running every test on all cores, reporting per folder.

use crate::{TestOutcome, run_test};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

/// One test's result, named `relative/path.json::test name`.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// `relative/path.json::test name`.
    pub id: String,
    /// Folder of the fixture file, relative to the root.
    pub folder: String,
    /// What happened.
    pub outcome: TestOutcome,
}

/// Totals of a run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests that were skipped.
    pub skipped: usize,
}

impl Totals {
    /// Adds one outcome.
    pub fn add(&mut self, o: &TestOutcome) {
        match o {
            TestOutcome::Passed => self.passed += 1,
            TestOutcome::Failed(_) => self.failed += 1,
            TestOutcome::Skipped(_) => self.skipped += 1,
        }
    }
}

/// All `*.json` files under `root`, sorted.
pub fn fixture_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Runs every test of `files` on `threads` threads. `filter` keeps tests whose id contains it.
pub fn run_files(
    root: &Path,
    files: &[PathBuf],
    threads: usize,
    filter: Option<&str>,
) -> Vec<TestResult> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let rel = file.strip_prefix(root).unwrap_or(file).display().to_string();
                    let folder = Path::new(&rel)
                        .parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    let local = run_file(file, &rel, &folder, filter);
                    results.lock().expect("results lock").extend(local);
                }
            });
        }
    });
    let mut results = results.into_inner().expect("results lock");
    results.sort_by(|a, b| a.id.cmp(&b.id));
    results
}

fn run_file(file: &Path, rel: &str, folder: &str, filter: Option<&str>) -> Vec<TestResult> {
    let result = |id: String, outcome| TestResult { id, folder: folder.to_string(), outcome };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return vec![result(rel.to_string(), TestOutcome::Failed(format!("read: {e}")))],
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return vec![result(
                rel.to_string(),
                TestOutcome::Skipped(format!("not a JSON fixture: {e}")),
            )];
        }
    };
    let Some(tests) = json.as_object() else {
        return vec![result(rel.to_string(), TestOutcome::Skipped("not a fixture object".into()))];
    };
    let mut out = Vec::new();
    for (name, test) in tests {
        let id = format!("{rel}::{name}");
        if filter.is_some_and(|f| !id.contains(f)) {
            continue;
        }
        if test.get("blocks").is_none() {
            out.push(result(id, TestOutcome::Skipped("not a BlockchainTest".into())));
            continue;
        }
        let outcome = match tempfile::tempdir() {
            Ok(dir) => {
                let o = run_test(test, dir.path());
                drop(dir);
                o
            }
            Err(e) => TestOutcome::Failed(format!("tempdir: {e}")),
        };
        out.push(result(id, outcome));
    }
    out
}

/// Known failures: `id<TAB>reason` per line; `#` starts a comment.
pub fn parse_known_failures(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| match l.split_once('\t') {
            Some((id, reason)) => (id.to_string(), reason.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// Per-folder totals and the overall totals.
pub fn summarize(results: &[TestResult]) -> (BTreeMap<String, Totals>, Totals) {
    let mut per = BTreeMap::<String, Totals>::new();
    let mut all = Totals::default();
    for r in results {
        per.entry(r.folder.clone()).or_default().add(&r.outcome);
        all.add(&r.outcome);
    }
    (per, all)
}

/// Failures not in `known`, and known entries that did not fail.
pub fn compare_known(
    results: &[TestResult],
    known: &BTreeMap<String, String>,
) -> (Vec<String>, Vec<String>) {
    let failed: BTreeSet<&str> = results
        .iter()
        .filter(|r| matches!(r.outcome, TestOutcome::Failed(_)))
        .map(|r| r.id.as_str())
        .collect();
    let ran: BTreeSet<&str> = results.iter().map(|r| r.id.as_str()).collect();
    let unexpected =
        failed.iter().filter(|id| !known.contains_key(**id)).map(|s| s.to_string()).collect();
    let fixed = known
        .keys()
        .filter(|id| ran.contains(id.as_str()) && !failed.contains(id.as_str()))
        .cloned()
        .collect();
    (unexpected, fixed)
}
