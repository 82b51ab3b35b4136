//! The release-gate workflow, executed: its own `run:` lines, taken from the YAML (not
//! re-typed), against a `mock-govapi` binary with latency jitter standing in for the
//! staging tenant. Jobs run in the workflow's order (prepare, the shards at once with a
//! stagger, restore), with the `uses:` steps emulated (the harness's own action with
//! `install_only` = this build of the harness put on PATH, which no job has before it,
//! artifacts = directories) and `${{ ... }}` filled from test secrets.
//!
//! Issue 12's repro: the tenant's settings (a `healthcare` profile and a marker key the
//! harness knows nothing about) are byte-identical after the gate, across 20 rounds with
//! random stagger and a SIGKILL of one shard in 5 of them.

use crate::mock_bin::mock_binary;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Value};

const TENANT: &str = "acme";
const TOKEN: &str = "adm_release_gate_0123456789abcdef";
const WEBHOOK_SECRET: &str = "whsec_release_gate_tenant_own";
const PAM_SECRET: &str = "pamsec_release_gate_tenant_own";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_thoth-conformance"))
        .parent()
        .unwrap()
        .to_path_buf()
}

struct Mock {
    child: Child,
    base: String,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_mock(jitter_ms: u64) -> Mock {
    let mut child = Command::new(mock_binary())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tenant",
            TENANT,
            "--tenant",
            "globex",
        ])
        .arg("--admin-token")
        .arg(format!("{TENANT}={TOKEN}"))
        .args(["--admin-token", "globex=adm_other_tenant"])
        .args(["--latency-jitter-ms", &jitter_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = String::new();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let url = regex::Regex::new(r"http://127\.0\.0\.1:[0-9]+").unwrap();
    let base = loop {
        let n = out.read(&mut buf).unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(m) = url.find(&seen) {
            break m.as_str().to_string();
        }
        assert!(
            n > 0 && started.elapsed() < Duration::from_secs(10),
            "the mock did not start: {seen}"
        );
    };
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Mock { child, base }
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Puts the SIEM sink back to answering 200 to every delivery (the mock's sink admin).
fn heal_sink(base: &str) {
    let status = block(async {
        reqwest::Client::new()
            .put(format!("{base}/__sink/siem/config"))
            .json(&json!({"status": 200}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "the sink refused its reset: {status}");
}

/// The tenant's stored settings (the admin API shows them raw), without `updated_at`.
fn stored_settings(base: &str) -> Value {
    let state: Value = block(async {
        reqwest::get(format!("{base}/__admin/tenants/{TENANT}/state"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let mut s = state["settings"].clone();
    s.as_object_mut().unwrap().remove("updated_at");
    s
}

/// A production-like tenant: its own profile, secrets and a key the harness does not know.
fn seed(base: &str) -> Value {
    let doc = json!({
        "compliance_profile": "healthcare",
        "secops_marker": {"owner": "secops", "ticket": "SEC-1234"},
        "shadow_policy": {"low": "allow", "medium": "allow", "high": "step_up", "critical": "block"},
        "webhook": {"enabled": true, "url": format!("{base}/__sink/siem"), "secret": WEBHOOK_SECRET},
        "pam": {"enabled": false, "provider": "custom", "callback_secret": PAM_SECRET},
    });
    let status = block(async {
        reqwest::Client::new()
            .put(format!("{base}/{TENANT}/thoth/settings"))
            .bearer_auth(TOKEN)
            .json(&doc)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success());
    stored_settings(base)
}

fn workflow() -> Value {
    let text = std::fs::read_to_string(root().join(".github/workflows/release-gate.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// What `${{ ... }}` expands to in the test.
struct Context {
    secrets: BTreeMap<&'static str, String>,
    vars: BTreeMap<&'static str, String>,
    run_id: String,
    /// Where uploaded artifacts live (one directory per artifact name).
    artifacts: PathBuf,
    /// What the harness's action (`install_only`) puts on PATH: a directory holding
    /// `thoth-conformance`.
    harness: PathBuf,
}

impl Context {
    fn new(base: &str, run_id: u64, artifacts: PathBuf, harness: PathBuf) -> Context {
        let mut secrets = BTreeMap::from([
            ("THOTH_TENANT_ID", TENANT.to_string()),
            ("THOTH_APEX_DOMAIN", String::new()),
            ("THOTH_API_KEY", String::new()),
            ("THOTH_ADMIN_BEARER_TOKEN", TOKEN.to_string()),
            ("THOTH_WEBHOOK_URL", format!("{base}/__sink/siem")),
            ("THOTH_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
            ("THOTH_PAM_CALLBACK_SECRET", PAM_SECRET.to_string()),
        ]);
        let vars = BTreeMap::from([
            ("THOTH_GOVAPI_URL", base.to_string()),
            ("THOTH_API_URL", base.to_string()),
            ("THOTH_SINK_URL", format!("{base}/__sink")),
            ("THOTH_SINK_NAME", "siem".to_string()),
            ("THOTH_OTHER_TENANT_ID", "globex".to_string()),
            // No thothctl here: the live default level (`critical`) would end
            // INCOMPLETE; this test is about the tenant's state, not the level.
            ("THOTH_REQUIRE", "none".to_string()),
        ]);
        // The workflow reads its optional settings as repository secrets too (every job
        // can read those).
        secrets.extend(vars.clone());
        Context {
            secrets,
            vars,
            run_id: run_id.to_string(),
            artifacts,
            harness,
        }
    }

    fn expand(&self, text: &str, shard: Option<u64>, env: &BTreeMap<String, String>) -> String {
        let re = regex::Regex::new(r"\$\{\{\s*([^}]+?)\s*\}\}").unwrap();
        re.replace_all(text, |c: &regex::Captures| {
            let e = &c[1];
            let lookup = |prefix: &str| e.strip_prefix(prefix).map(str::to_string);
            if let Some(k) = lookup("secrets.") {
                self.secrets.get(k.as_str()).cloned().unwrap_or_default()
            } else if let Some(k) = lookup("vars.") {
                self.vars.get(k.as_str()).cloned().unwrap_or_default()
            } else if let Some(k) = lookup("env.") {
                env.get(&k).cloned().unwrap_or_default()
            } else if e == "matrix.shard" {
                shard.map(|s| s.to_string()).unwrap_or_default()
            } else if e == "github.run_id" {
                self.run_id.clone()
            } else if e == "github.repository" {
                "example/app".into()
            } else {
                panic!("the test does not know the expression `{e}`")
            }
        })
        .into_owned()
    }
}

fn env_map(
    v: &Value,
    ctx: &Context,
    shard: Option<u64>,
    base: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(m) = v.as_object() {
        for (k, val) in m {
            let text = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(k.clone(), ctx.expand(&text, shard, base));
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A glob with `*` only, as the artifact patterns use.
fn glob_match(pattern: &str, name: &str) -> bool {
    let re = format!("^{}$", regex::escape(pattern).replace(r"\*", ".*"));
    regex::Regex::new(&re).unwrap().is_match(name)
}

/// The job's log of one stream, appended to by each of its steps.
fn log_file(dir: &Path, stream: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("job.{stream}")))
        .unwrap()
}

/// The last lines of a job's logs, for a failure message.
fn job_logs(dir: &Path) -> String {
    let tail = |stream: &str| {
        let text = std::fs::read_to_string(dir.join(format!("job.{stream}"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    };
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        tail("stdout"),
        tail("stderr")
    )
}

/// Runs one job of the workflow in `dir` (its workspace); `kill_after` SIGKILLs the
/// process group of the job's `thoth-conformance run` step that long after it starts.
fn run_job(
    wf: &Value,
    job: &str,
    shard: Option<u64>,
    ctx: &Context,
    dir: &Path,
    kill_after: Option<Duration>,
) -> bool {
    let artifacts = ctx.artifacts.as_path();
    // The harness is on PATH only once the job's install step ran.
    let mut installed = false;
    std::fs::create_dir_all(dir).unwrap();
    let runner_temp = dir.join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let mut env = env_map(&wf["env"], ctx, shard, &BTreeMap::new());
    let job_env = env_map(&wf["jobs"][job]["env"], ctx, shard, &env);
    env.extend(job_env);
    let github_env = dir.join("github-env");
    let mut ok = true;
    for step in wf["jobs"][job]["steps"].as_array().unwrap() {
        let cond = step["if"].as_str().unwrap_or("");
        let runs = if cond.is_empty() {
            ok
        } else if cond.contains("always()")
            || (cond.contains("!cancelled()") && !cond.contains("needs."))
        {
            true
        } else {
            panic!("the test does not evaluate the condition `{cond}` of job {job}");
        };
        if !runs {
            continue;
        }
        if let Some(uses) = step["uses"].as_str() {
            let with = &step["with"];
            let expand = |k: &str| ctx.expand(with[k].as_str().unwrap_or(""), shard, &env);
            if uses.contains("/thoth-conformance@") {
                assert_eq!(
                    with["install_only"].as_str(),
                    Some("true"),
                    "job {job}: the harness action is used to install only"
                );
                installed = true;
            } else if uses.starts_with("actions/upload-artifact@") {
                let from = dir.join(expand("path"));
                if from.is_dir() {
                    copy_dir(&from, &artifacts.join(expand("name")));
                }
            } else if uses.starts_with("actions/download-artifact@") {
                let pattern = expand("pattern");
                let to = dir.join(expand("path"));
                for e in std::fs::read_dir(artifacts).unwrap() {
                    let e = e.unwrap();
                    let name = e.file_name().to_string_lossy().to_string();
                    if glob_match(&pattern, &name) {
                        copy_dir(&e.path(), &to.join(&name));
                    }
                }
            } else {
                panic!("the test does not emulate `{uses}`");
            }
            continue;
        }
        let script = step["run"].as_str().expect("a step runs or uses");
        assert!(
            !script.contains("rustup ") && !script.contains("cargo build"),
            "job {job} builds the harness itself instead of installing it with the action"
        );
        let mut step_env = env.clone();
        if let Ok(text) = std::fs::read_to_string(&github_env) {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    step_env.insert(k.into(), v.into());
                }
            }
        }
        step_env.extend(env_map(&step["env"], ctx, shard, &env));
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(match step["working-directory"].as_str() {
                Some(w) => dir.join(w),
                None => dir.to_path_buf(),
            })
            .env_clear()
            .envs(&step_env)
            .env(
                "PATH",
                match installed {
                    true => format!(
                        "{}:{}",
                        ctx.harness.display(),
                        std::env::var("PATH").unwrap_or_default()
                    ),
                    false => std::env::var("PATH").unwrap_or_default(),
                },
            )
            .env("HOME", dir)
            .env("CI", "true")
            .env("RUNNER_TEMP", &runner_temp)
            .env("GITHUB_ENV", &github_env)
            .env("GITHUB_RUN_ID", &ctx.run_id)
            // Kept in the job's directory: a failing round prints them.
            .stdout(log_file(dir, "stdout"))
            .stderr(log_file(dir, "stderr"));
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().unwrap();
        let is_run = script.contains("thoth-conformance run");
        let kill_at = kill_after.filter(|_| is_run).map(|d| Instant::now() + d);
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if kill_at.is_some_and(|t| Instant::now() >= t) {
                // The runner dies: SIGKILL to the whole step, no handler runs.
                let pgid = child.id() as i32;
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pgid}")])
                    .status();
                let _ = child.wait();
                break None;
            }
            assert!(Instant::now() < deadline, "job {job} step hung: {script}");
            std::thread::sleep(Duration::from_millis(20));
        };
        if status.is_none_or(|s| !s.success()) {
            ok = false;
        }
    }
    ok
}

/// Shard job names: the matrix of the `conformance` job.
fn shards(wf: &Value) -> Vec<u64> {
    wf["jobs"]["conformance"]["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// The harness the action installs: this build, on PATH from a directory of its own.
/// With `suites`, a build whose built-in suites are only these phases (a round stays a
/// few seconds): `run` and `merge` read the suite files from a directory holding just
/// them, the fixtures from this checkout.
fn harness_dir(dir: &Path, suites: Option<&[&str]>) -> PathBuf {
    let bin = dir.join("harness-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = bin_dir().join("thoth-conformance");
    let Some(suites) = suites else {
        std::os::unix::fs::symlink(&real, bin.join("thoth-conformance")).unwrap();
        return bin;
    };
    let only = dir.join("suites");
    std::fs::create_dir_all(&only).unwrap();
    for e in std::fs::read_dir(root().join("suites")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        let phase = name.trim_end_matches(".yaml");
        if !name.ends_with(".yaml")
            || suites.contains(&phase)
            || phase == "requirements"
            || phase == "expectations"
        {
            std::os::unix::fs::symlink(e.path(), only.join(&name)).unwrap();
        }
    }
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n  run|merge) sub=$1; shift; exec '{real}' \"$sub\" --suites '{only}' --fixtures '{fixtures}' \"$@\" ;;\nesac\nexec '{real}' \"$@\"\n",
        real = real.display(),
        only = only.display(),
        fixtures = root().join("fixtures").display(),
    );
    let wrapper = bin.join("thoth-conformance");
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    bin
}

/// What one gate did: whether each shard job and the restore job succeeded.
struct Gate {
    shards_ok: Vec<bool>,
    restored: bool,
    /// The tails of the shard jobs' logs, in shard order.
    shard_logs: Vec<String>,
    restore_log: String,
    /// Kept until the round is judged, so the logs are readable.
    _work: tempfile::TempDir,
}

/// One gate against `base`: prepare, the shards staggered by `delays` (one SIGKILLed
/// when `kill` says so), then restore.
fn one_gate(
    wf: &Value,
    base: &str,
    round: u64,
    delays: &[Duration],
    kill: Option<(usize, Duration)>,
    suites: Option<&[&str]>,
) -> Gate {
    let work = tempfile::tempdir().unwrap();
    let artifacts = work.path().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let harness = harness_dir(work.path(), suites);
    let ctx = Context::new(base, 9_000_000 + round, artifacts, harness);
    let job_dir = |name: &str| work.path().join(name);
    assert!(
        run_job(wf, "prepare", None, &ctx, &job_dir("prepare"), None),
        "round {round}: prepare failed"
    );
    let shards_ok = std::thread::scope(|s| {
        let handles: Vec<_> = shards(wf)
            .into_iter()
            .enumerate()
            .map(|(i, shard)| {
                let delay = delays[i];
                let (ctx, dir) = (&ctx, job_dir(&format!("shard-{shard}")));
                let kill_after = kill.filter(|(k, _)| *k == i).map(|(_, d)| d);
                s.spawn(move || {
                    std::thread::sleep(delay);
                    run_job(wf, "conformance", Some(shard), ctx, &dir, kill_after)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let restored = run_job(wf, "restore", None, &ctx, &job_dir("restore"), None);
    let shard_logs = shards(wf)
        .into_iter()
        .map(|shard| job_logs(&job_dir(&format!("shard-{shard}"))))
        .collect();
    let restore_log = job_logs(&job_dir("restore"));
    Gate {
        shards_ok,
        restored,
        shard_logs,
        restore_log,
        _work: work,
    }
}

/// The phases of the repeated rounds: every suite that writes the settings or keys,
/// so a round stays a few seconds.
const ROUND_SUITES: &[&str] = &["bootstrap", "secret_broker", "scoped_keys"];

#[test]
fn the_gate_leaves_the_tenant_settings_byte_identical_across_staggered_and_killed_shards() {
    let wf = workflow();
    let mock = start_mock(40);
    let before = seed(&mock.base);
    let rounds: u64 = std::env::var("THOTH_GATE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    // Kill a shard in rounds 1, 5, 9, 13, 17 (5 of 20) at a random point of its run.
    let mut killed = 0;
    let started = Instant::now();
    for round in 0..rounds {
        let delays: Vec<Duration> = (0..shards(&wf).len())
            .map(|_| Duration::from_millis(rng.random_range(0..=2000)))
            .collect();
        let kill = (round % 4 == 1).then(|| {
            killed += 1;
            (
                rng.random_range(0..shards(&wf).len()),
                Duration::from_millis(rng.random_range(50..=1500)),
            )
        });
        let t = Instant::now();
        // Round 0 runs every shipped suite: the workflow passes every variable they need.
        let suites = (round > 0).then_some(ROUND_SUITES);
        let gate = one_gate(&wf, &mock.base, round, &delays, kill, suites);
        let after = stored_settings(&mock.base);
        assert_eq!(
            after, before,
            "round {round} (delays {delays:?}, kill {kill:?}): the tenant settings changed"
        );
        if kill.is_some() {
            // `bootstrap::webhook_test_reports_unreachable_destination` arms the mock's
            // SIEM sink to answer 500 to the next webhook test and disarms it in its
            // cleanup. A shard killed between the arming and its own webhook test leaves
            // the arm for the next round's `webhook_test_delivered` (seen when round 13's
            // kill landed there). The sink is this test's stand-in, not the tenant: the
            // ledger restores the tenant, and an operator would find a real SIEM healthy.
            heal_sink(&mock.base);
        }
        assert!(
            gate.restored,
            "round {round}: the restore job failed\n{}",
            gate.restore_log
        );
        for (i, ok) in gate.shards_ok.iter().enumerate() {
            if kill.is_none_or(|(k, _)| k != i) {
                assert!(
                    ok,
                    "round {round}: shard {} failed (delays {delays:?})\n{}",
                    i + 1,
                    gate.shard_logs[i]
                );
            }
        }
        eprintln!(
            "round {round}: {:?} (delays {delays:?}, kill {kill:?})",
            t.elapsed()
        );
    }
    eprintln!(
        "{rounds} rounds, {killed} with a SIGKILL, in {:?}",
        started.elapsed()
    );
}

/// Two independent full runs (two gates, or a gate and a SecOps run) against one tenant,
/// started together: one owns the tenant and passes; the other refuses before changing
/// anything (exit 2, saying who holds it); the tenant ends as found.
#[test]
fn two_concurrent_full_runs_one_refuses_before_changing_anything() {
    let mock = start_mock(40);
    let before = seed(&mock.base);
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("tok");
    std::fs::write(&token, TOKEN).unwrap();
    let run = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
            .args([
                "run",
                "--target",
                "live",
                "-q",
                "--require",
                "none",
                "--reports",
            ])
            .arg(dir.path().join(name))
            .args(["--suites", "suites", "--fixtures", "fixtures"])
            .args(["--sink-url", &format!("{}/__sink", mock.base)])
            .current_dir(root())
            .env("THOTH_TENANT_ID", TENANT)
            .env("THOTH_GOVAPI_URL", &mock.base)
            .env("THOTH_API_URL", &mock.base)
            .env("THOTH_ADMIN_BEARER_TOKEN_FILE", &token)
            .env("THOTH_WEBHOOK_URL", format!("{}/__sink/siem", mock.base))
            .env("THOTH_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("THOTH_PAM_CALLBACK_SECRET", PAM_SECRET)
            .env("THOTH_OTHER_TENANT_ID", "globex")
            .env_remove("THOTH_API_KEY")
            .env_remove("THOTH_LEASE_GROUP")
            .env("CI", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (run("a"), run("b"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    let (winner, loser) = if codes[0] == Some(0) {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert_eq!(
        winner.status.code(),
        Some(0),
        "one run owns the tenant and passes: {codes:?}\n{}",
        String::from_utf8_lossy(&winner.stdout)
    );
    let why = String::from_utf8_lossy(&loser.stderr);
    assert_eq!(loser.status.code(), Some(2), "{codes:?}: {why}");
    assert!(
        why.contains("held by lease group") || why.contains("took it at the same moment"),
        "the refusal says why: {why}"
    );
    assert_eq!(
        stored_settings(&mock.base),
        before,
        "the tenant ends as found"
    );
}
