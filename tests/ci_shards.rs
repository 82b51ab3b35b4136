//! `run --shard I/N` + `merge` against the real suites and the in-process mock: the
//! merged reports must say what an unsharded run says; `merge` must refuse what cannot
//! be one run; `--rerun-failed` must re-run exactly the failed cases and their needs.

use crate::cli_support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use cli_support::{case_statuses, cli, fixtures, json, s, suites, text};
use serde_json::Value;
use thoth_conformance::suite::load::load_project;

fn run(reports: &Path, extra: &[&str]) -> std::process::Output {
    let (suites, fixtures) = (suites(), fixtures());
    let mut args = vec![
        "run",
        "--suites",
        s(&suites),
        "--fixtures",
        s(&fixtures),
        "--reports",
        s(reports),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    cli(&args, &[])
}

fn merge(out: &Path, inputs: &[&Path], extra: &[&str]) -> std::process::Output {
    let mut args = vec!["merge", "--reports", s(out)];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend_from_slice(extra);
    cli(&args, &[])
}

/// coverage.json without what differs between any two runs: ids, clocks, mock port.
fn coverage_modulo_timing(path: &Path) -> Value {
    let mut v = json(path);
    let run = v["run"].as_object_mut().unwrap();
    for k in [
        "run_id",
        "started_at",
        "finished_at",
        "duration_ms",
        "base_url",
    ] {
        assert!(run.remove(k).is_some(), "coverage.json lost run.{k}");
    }
    v
}

fn junit_names(path: &Path) -> Vec<String> {
    let xml = std::fs::read_to_string(path).unwrap();
    xml.split("<testcase ")
        .skip(1)
        .map(|t| {
            let start = t.find("name=\"").unwrap() + 6;
            t[start..start + t[start..].find('"').unwrap()].to_owned()
        })
        .collect()
}

#[test]
fn two_shards_merged_equal_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, s1, s2, merged) = (
        dir.path().join("whole"),
        dir.path().join("reports-1"),
        dir.path().join("reports-2"),
        dir.path().join("merged"),
    );
    let w = run(&whole, &[]);
    let a = run(&s1, &["--shard", "1/2"]);
    let b = run(&s2, &["--shard", "2/2"]);
    for o in [&w, &a, &b] {
        assert!(o.status.code().is_some(), "{}", text(o));
    }

    let (ra, rb) = (
        json(&s1.join("results.json")),
        json(&s2.join("results.json")),
    );
    assert_eq!(
        ra["run"]["shard"],
        serde_json::json!({"index": 1, "total": 2})
    );
    assert_eq!(
        rb["run"]["shard"],
        serde_json::json!({"index": 2, "total": 2})
    );
    // Whole phases, each in exactly one shard, and no case "disabled" for being elsewhere.
    let phases = |r: &Value| -> BTreeSet<String> {
        case_statuses(r)
            .iter()
            .map(|(n, _)| n.split("::").next().unwrap().to_owned())
            .collect()
    };
    assert!(phases(&ra).is_disjoint(&phases(&rb)));
    assert!(!phases(&ra).is_empty() && !phases(&rb).is_empty());
    let project = load_project(&suites(), &fixtures()).unwrap();
    for (r, shard) in [(&ra, 1), (&rb, 2)] {
        for phase in phases(r) {
            let in_project = project
                .suites
                .iter()
                .find(|x| x.suite.phase == phase)
                .unwrap()
                .suite
                .cases
                .len();
            let in_shard = case_statuses(r)
                .iter()
                .filter(|(n, _)| n.starts_with(&format!("{phase}::")))
                .count();
            assert_eq!(in_shard, in_project, "phase {phase} split in shard {shard}");
        }
        assert!(case_statuses(r).iter().all(|(_, st)| st != "disabled"));
    }

    let m = merge(
        &merged,
        &[&s2.join("results.json"), &s1.join("results.json")],
        &[],
    );
    assert_eq!(m.status.code(), w.status.code(), "{}", text(&m));
    let (rw, rm) = (
        json(&whole.join("results.json")),
        json(&merged.join("results.json")),
    );
    assert_eq!(case_statuses(&rm), case_statuses(&rw));
    assert_eq!(rm["verdict"], rw["verdict"]);
    assert!(rm["run"].get("shard").is_none(), "a merged run is whole");
    assert_eq!(rm["run"]["suites_hash"], rw["run"]["suites_hash"]);
    assert_eq!(
        rm["run"]["run_id"].as_str().unwrap(),
        format!(
            "{}+{}",
            ra["run"]["run_id"].as_str().unwrap(),
            rb["run"]["run_id"].as_str().unwrap()
        )
    );
    assert_eq!(
        coverage_modulo_timing(&merged.join("coverage.json")),
        coverage_modulo_timing(&whole.join("coverage.json"))
    );
    assert_eq!(
        junit_names(&merged.join("junit.xml")),
        junit_names(&whole.join("junit.xml"))
    );
    let md = std::fs::read_to_string(merged.join("coverage.md")).unwrap();
    assert!(md.contains(rm["run"]["run_id"].as_str().unwrap()));
    assert!(merged.join("report.html").is_file());
}

#[test]
fn merge_refuses_mixed_suite_sets_overlaps_and_missing_shards() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2, out) = (
        dir.path().join("s1"),
        dir.path().join("s2"),
        dir.path().join("out"),
    );
    run(&s1, &["--shard", "1/2"]);
    run(&s2, &["--shard", "2/2"]);

    // Another suite set: same file, other hash.
    let mut other = json(&s2.join("results.json"));
    other["run"]["suites_hash"] = Value::String("0".repeat(64));
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let o = merge(&out, &[&s1.join("results.json"), &other_path], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("results of different suite sets never merge"),
        "{}",
        text(&o)
    );
    assert!(
        !out.join("junit.xml").exists(),
        "nothing is written on refusal"
    );

    // The same case twice: two whole runs.
    let mut whole = json(&s1.join("results.json"));
    whole["run"].as_object_mut().unwrap().remove("shard");
    let whole_path = dir.path().join("whole.json");
    std::fs::write(&whole_path, whole.to_string()).unwrap();
    let o = merge(&out, &[&whole_path, &whole_path], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is in both"), "{}", text(&o));

    let o = merge(&out, &[&s1.join("results.json")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("shard(s) 2 of 2 missing"), "{}", text(&o));

    // Suites on disk other than the ones the shards ran.
    let e2e = cli_support::root().join("tests/fixtures/e2e");
    let o = merge(
        &out,
        &[&s1.join("results.json"), &s2.join("results.json")],
        &[
            "--suites",
            s(&e2e.join("suites")),
            "--fixtures",
            s(&e2e.join("fixtures")),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the suites on disk hash to"),
        "{}",
        text(&o)
    );

    let o = merge(&out, &[&dir.path().join("nope.json")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("failed to read results file"),
        "{}",
        text(&o)
    );
}

/// The failed and errored cases of `results`, with their `needs`, transitively.
fn expected_rerun(results: &Value) -> BTreeSet<String> {
    let project = load_project(&suites(), &fixtures()).unwrap();
    let needs: HashMap<String, Vec<String>> = project
        .suites
        .iter()
        .flat_map(|s| {
            s.suite.cases.iter().map(move |c| {
                (
                    format!("{}::{}", s.suite.phase, c.id),
                    c.needs
                        .iter()
                        .map(|n| format!("{}::{n}", s.suite.phase))
                        .collect(),
                )
            })
        })
        .collect();
    let mut todo: Vec<String> = case_statuses(results)
        .into_iter()
        .filter(|(_, st)| st == "fail" || st == "error")
        .map(|(n, _)| n)
        .collect();
    let mut out = BTreeSet::new();
    while let Some(n) = todo.pop() {
        if out.insert(n.clone()) {
            todo.extend(needs[&n].iter().cloned());
        }
    }
    out
}

#[test]
fn rerun_failed_runs_exactly_the_failed_cases_and_their_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (first, again, fixed) = (
        dir.path().join("first"),
        dir.path().join("again"),
        dir.path().join("fixed"),
    );
    let fault = ["--mock-fault", "webhook-never-delivered"];
    let o = run(&first, &fault);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let previous = json(&first.join("results.json"));
    let want = expected_rerun(&previous);
    // The fault fails a case whose needs chain is three deep.
    assert!(want.contains("bootstrap::webhook_delivery_signed_at_sink"));
    assert!(want.contains("bootstrap::settings_upsert"), "{want:?}");
    assert!(want.len() < case_statuses(&previous).len());

    let prev = first.join("results.json");
    let o = run(
        &again,
        &[&fault[..], &["--rerun-failed", s(&prev)]].concat(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rerun = json(&again.join("results.json"));
    let got: BTreeSet<String> = case_statuses(&rerun).into_iter().map(|(n, _)| n).collect();
    assert_eq!(got, want);
    let still_failing: BTreeSet<String> = case_statuses(&rerun)
        .into_iter()
        .filter(|(_, st)| st == "fail")
        .map(|(n, _)| n)
        .collect();
    let failed_before: BTreeSet<String> = case_statuses(&previous)
        .into_iter()
        .filter(|(_, st)| st == "fail")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(still_failing, failed_before);

    // Against a mock without the defect the same selection passes.
    let o = run(&fixed, &["--rerun-failed", s(&prev)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let statuses = case_statuses(&json(&fixed.join("results.json")));
    assert_eq!(statuses.len(), want.len());
    assert!(statuses.iter().all(|(_, st)| st == "pass"), "{statuses:?}");
}
