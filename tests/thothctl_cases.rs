//! The thothctl column: which thothctl runs (a real one on PATH wins, else the stand-in
//! on the mock, else none), what every report says about it, and that no secret ever
//! reaches a thothctl command line, where `ps` shows it to every local user.

#![cfg(unix)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli_support;
use crate::stand_in;

use cli_support::{json, root, s};

const BIN: &str = env!("CARGO_BIN_EXE_thoth-conformance");

/// A fake `thothctl` that records, per invocation, its argv (one per line), its
/// environment, and the content of the file after `--auth-token-file`, then prints `{}`.
const RECORDER: &str = r#"#!/bin/sh
log="$FAKE_LOG/$$"
: > "$log.argv"
for a in "$@"; do printf '%s\n' "$a" >> "$log.argv"; done
env > "$log.env"
prev=""
for a in "$@"; do
  if [ "$prev" = "--auth-token-file" ]; then cat "$a" > "$log.token"; fi
  prev="$a"
done
case "$1" in --version) echo "fake-thothctl 9.9.9";; *) echo '{}';; esac
"#;

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, body).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// PATH without any directory that holds a `thothctl`, so the test decides.
fn path_without_thothctl() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| !d.join("thothctl").exists())
        .collect();
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

fn run_mock(
    reports: &Path,
    path: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--target", "mock", "--reports", s(reports)])
        .args(["--suites", s(&root().join("suites"))])
        .args(["--fixtures", s(&root().join("fixtures"))])
        .args(extra)
        .env("PATH", path)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .current_dir(root());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn thothctl_statuses(results: &Value) -> Vec<(String, String, String)> {
    results["run"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["surface"] == "thothctl")
        .map(|c| {
            (
                format!(
                    "{}::{}",
                    c["phase"].as_str().unwrap(),
                    c["case_id"].as_str().unwrap()
                ),
                c["status"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_mock_target_runs_every_thothctl_case_with_the_stand_in_and_says_so() {
    let sim = stand_in::stand_in();
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("r");
    let out = run_mock(&reports, &path_without_thothctl(), &[], &[]);
    let console =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{console}");

    let results = json(&reports.join("results.json"));
    let info = &results["run"]["target"]["thothctl"];
    assert_eq!(info["stand_in"], true, "{info}");
    assert_eq!(info["path"], sim.path.display().to_string());
    assert!(
        info["version"]
            .as_str()
            .unwrap()
            .starts_with("thothctl-sim "),
        "{info}"
    );
    let cases = thothctl_statuses(&results);
    assert!(cases.len() >= 14, "{cases:?}");
    for (name, status, message) in &cases {
        assert_eq!(status, "pass", "{name}: {message}");
    }

    // Every report names the stand-in; the matrix cells say "stand-in".
    assert!(
        console.contains("thothctl: ") && console.contains("stand-in thothctl-sim"),
        "{console}"
    );
    let md = fs::read_to_string(reports.join("coverage.md")).unwrap();
    assert!(
        md.contains("stand-in thothctl-sim, not the vendor's thothctl"),
        "{md}"
    );
    let coverage = json(&reports.join("coverage.json"));
    assert_eq!(coverage["run"]["thothctl"]["stand_in"], true);
    let thothctl_cells: Vec<&Value> = coverage["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["thothctl"])
        .filter(|c| c["status"] == "pass")
        .collect();
    assert!(!thothctl_cells.is_empty());
    for cell in thothctl_cells {
        assert_eq!(cell["note"], "stand-in", "{cell}");
    }
    let junit = fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"name="thothctl_stand_in" value="true""#),
        "junit lacks the stand-in property"
    );
    assert!(junit.contains("stand-in thothctl-sim"));
    let html = fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(html.contains("stand-in thothctl-sim"));
}

#[test]
fn without_a_real_thothctl_or_the_stand_in_the_cases_say_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("r");
    let out = run_mock(
        &reports,
        &path_without_thothctl(),
        &[
            "--thothctl-stand-in",
            "off",
            "--filter",
            "mdm::thothctl_mdm_list",
        ],
        &[],
    );
    assert!(out.status.code().is_some());
    let results = json(&reports.join("results.json"));
    assert!(results["run"]["target"]["thothctl"].is_null());
    let ran: Vec<_> = thothctl_statuses(&results)
        .into_iter()
        .filter(|(_, status, _)| status != "disabled") // filtered out
        .collect();
    assert_eq!(ran.len(), 1, "{ran:?}");
    for (name, status, message) in ran {
        assert_eq!(status, "skip", "{name}");
        assert!(message.contains("thothctl not found"), "{name}: {message}");
    }
    let md = fs::read_to_string(reports.join("coverage.md")).unwrap();
    assert!(md.contains("not found (thothctl cells not run)"), "{md}");
}

/// Every value of `name=value` lines that looks like one of our secrets.
fn env_value(env: &str, name: &str) -> Option<String> {
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .map(str::to_string)
}

#[test]
fn a_real_thothctl_on_path_wins_and_never_gets_a_secret_on_its_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let log = dir.path().join("log");
    fs::create_dir_all(&bin).unwrap();
    fs::create_dir_all(&log).unwrap();
    script(&bin, "thothctl", RECORDER);
    let path = format!("{}:{}", bin.display(), path_without_thothctl());
    let reports = dir.path().join("r");
    let out = run_mock(&reports, &path, &[], &[("FAKE_LOG", s(&log))]);
    assert!(out.status.code().is_some());

    let results = json(&reports.join("results.json"));
    let info = &results["run"]["target"]["thothctl"];
    assert_eq!(info["stand_in"], false, "{info}");
    assert_eq!(info["found_by"], "PATH");
    assert_eq!(info["version"], "fake-thothctl 9.9.9");
    // It ran every thothctl case (and `{}` fails them: a verdict, not "not found").
    let cases = thothctl_statuses(&results);
    assert!(cases.len() >= 14);
    for (name, status, message) in &cases {
        assert!(!message.contains("not found"), "{name}: {status} {message}");
    }

    // The secrets, as the fake received them by file and environment.
    let mut secrets = BTreeSet::new();
    let mut argvs = Vec::new();
    let mut commands = BTreeSet::new();
    for entry in fs::read_dir(&log).unwrap().flatten() {
        let p = entry.path();
        let text = fs::read_to_string(&p).unwrap();
        match p.extension().and_then(|e| e.to_str()) {
            Some("token") => {
                secrets.insert(text.trim().to_string());
            }
            Some("env") => {
                for name in [
                    "THOTH_WEBHOOK_SECRET",
                    "THOTH_PAM_CALLBACK_SECRET",
                    "THOTH_API_KEY",
                ] {
                    secrets.extend(env_value(&text, name));
                }
            }
            Some("argv") => {
                commands.insert(text.lines().next().unwrap_or("").to_string());
                argvs.push(text);
            }
            _ => {}
        }
    }
    let names: BTreeSet<&str> = commands.iter().map(String::as_str).collect();
    for cmd in ["bootstrap", "pam", "api-keys", "browser", "mdm"] {
        assert!(
            names.contains(cmd),
            "no `{cmd}` invocation recorded: {names:?}"
        );
    }
    // bootstrap's webhook secret and pam's callback secret came by environment.
    assert!(
        secrets.len() >= 3,
        "expected token, webhook and PAM secrets: {}",
        secrets.len()
    );
    assert!(secrets.iter().all(|s| s.len() >= 16));
    for argv in &argvs {
        for secret in &secrets {
            assert!(
                !argv.contains(secret.as_str()),
                "a secret is on a thothctl command line:\n{argv}"
            );
        }
        assert!(!argv
            .lines()
            .any(|a| a == "--webhook-secret" || a == "--org-api-key" || a == "--auth-token"));
    }
    // The token file lived in the private directory only for the invocation.
    let token_paths: Vec<String> = argvs
        .iter()
        .filter_map(|a| {
            let lines: Vec<&str> = a.lines().collect();
            lines
                .iter()
                .position(|l| *l == "--auth-token-file")
                .map(|i| lines[i + 1].to_string())
        })
        .collect();
    assert!(!token_paths.is_empty());
    for p in token_paths {
        assert!(p.contains("thoth-conformance-"), "{p}");
        assert!(
            !Path::new(&p).exists(),
            "token file {p} outlived its invocation"
        );
    }
}

fn alive(pid: i32) -> bool {
    // A zombie (no reaper in a container) counts as dead: it runs nothing.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn after_a_sigkill_the_next_run_ends_the_orphan_and_deletes_the_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let bin = dir.path().join("bin");
    fs::create_dir_all(&tmp).unwrap();
    fs::create_dir_all(&bin).unwrap();
    let pid_file = dir.path().join("pid");
    let sleeper = script(
        &bin,
        "thothctl",
        &format!(
            // Written whole, then renamed: the test reads the file as soon as it exists.
            "#!/bin/sh\ncase \"$1\" in --version) echo sleeper; exit 0;; esac\necho $$ > {p}.part && mv {p}.part {p}\nsleep 60\n",
            p = pid_file.display()
        ),
    );
    let harness = |reports: &Path| {
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--target", "mock", "--reports", s(reports)])
            .args(["--suites", s(&root().join("suites"))])
            .args(["--fixtures", s(&root().join("fixtures"))])
            .args([
                "--thothctl",
                s(&sleeper),
                "--filter",
                "mdm::thothctl_mdm_list",
            ])
            .env("TMPDIR", &tmp)
            .env("CI", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir(root());
        cmd
    };
    let mut first = harness(&dir.path().join("r1")).spawn().unwrap();
    let started = Instant::now();
    while !pid_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the fake thothctl never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let orphan: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    first.kill().unwrap(); // SIGKILL: no handler runs
    first.wait().unwrap();

    let base = fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("thoth-conformance-")
        })
        .expect("the private directory");
    let left: Vec<PathBuf> = walk(&base)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("thoth-token-")
        })
        .collect();
    assert_eq!(left.len(), 1, "the killed run's token file: {left:?}");
    assert!(
        alive(orphan),
        "the thothctl child should be orphaned, still running"
    );

    fs::remove_file(&pid_file).unwrap();
    let mut second = harness(&dir.path().join("r2")).spawn().unwrap();
    let started = Instant::now();
    while !pid_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the second run never started thothctl"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !left[0].exists(),
        "the next run left the dead run's token file"
    );
    assert!(
        !alive(orphan),
        "the next run left the orphaned thothctl running"
    );
    second.kill().unwrap();
    second.wait().unwrap();
    // Whatever the second run left behind goes too (the test's own orphan).
    let next: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    if alive(next) {
        let _ = Command::new("kill")
            .args(["-9", &next.to_string()])
            .status();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
