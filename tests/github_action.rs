//! The composite action (`action.yml`), run step by step as the runner would: each
//! `run:` step's script and `env:` are taken from action.yml (not re-typed), `${{ }}`
//! expressions are evaluated for the few forms the action uses, `uses:` steps (cache,
//! upload) are stood in for, and GITHUB_PATH / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY are
//! temp files. Against a standalone mock as the tenant it passes; with a mock defect it
//! fails with the failing case's requirement, route and suite line in the summary and
//! in an `::error file=…,line=…::` annotation.

use crate::safety_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use safety_support::*;
use serde_json::Value;

fn action() -> Value {
    let text = std::fs::read_to_string(project_root().join("action.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

struct Runner {
    dir: tempfile::TempDir,
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
    path: Vec<PathBuf>,
}

impl Runner {
    fn new(inputs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for f in ["path", "output", "summary", "env"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let spec = action();
        let mut all = BTreeMap::new();
        for (name, def) in spec["inputs"].as_object().unwrap() {
            let default = def.get("default").and_then(Value::as_str).unwrap_or("");
            all.insert(name.clone(), default.to_string());
        }
        for (k, v) in inputs {
            assert!(all.contains_key(*k), "action.yml has no input {k}");
            all.insert(k.to_string(), v.to_string());
        }
        // A cache hit: the binary the install step would build is already there.
        let bin = dir
            .path()
            .join("tool_cache/thoth-conformance/v-test/bin/thoth-conformance");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_thoth-conformance"), &bin).unwrap();
        crate::support::wait_until_executable(&bin);
        std::fs::create_dir(dir.path().join("workspace")).unwrap();
        Runner {
            dir,
            inputs: all,
            outputs: BTreeMap::new(),
            path: Vec::new(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The value of one `${{ … }}` expression, for the forms action.yml uses.
    fn eval(&self, expr: &str) -> String {
        let e = expr.trim();
        if let Some(name) = e.strip_prefix("inputs.") {
            return self
                .inputs
                .get(name)
                .unwrap_or_else(|| panic!("no input {name}"))
                .clone();
        }
        if let Some(name) = e.strip_prefix("steps.run.outputs.") {
            return self.outputs.get(name).cloned().unwrap_or_default();
        }
        match e {
            "github.action_path" => project_root().display().to_string(),
            "runner.tool_cache" => self.file("tool_cache").display().to_string(),
            "github.action_ref || github.sha" => "v-test".into(),
            other => panic!("the test does not know the expression `{other}`"),
        }
    }

    fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${{") {
            out.push_str(&rest[..i]);
            let j = rest[i..].find("}}").expect("closed expression") + i;
            out.push_str(&self.eval(&rest[i + 3..j]));
            rest = &rest[j + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Whether a step's `if:` holds: the forms action.yml uses (clauses joined by
    /// `&&`), with a cache hit.
    fn condition(&self, cond: Option<&str>) -> bool {
        let Some(cond) = cond else {
            return true;
        };
        let cond = cond.trim();
        let cond = cond
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(cond);
        cond.split("&&").all(|clause| match clause.trim() {
            "!cancelled()" => true,
            "steps.cache.outputs.cache-hit != 'true'" => false,
            other => match other
                .strip_prefix("inputs.")
                .and_then(|c| c.strip_suffix(" != 'true'"))
            {
                Some(input) => self.eval(&format!("inputs.{input}")) != "true",
                None => panic!("the test does not know the condition `{other}`"),
            },
        })
    }

    /// Runs every step; returns (exit code of the last step, stdout of every step).
    fn run(&mut self, extra_env: &[(&str, String)]) -> (i32, String) {
        let spec = action();
        let steps = spec["runs"]["steps"].as_array().unwrap().clone();
        let mut stdout = String::new();
        let mut last = 0;
        for step in &steps {
            let name = step["name"].as_str().unwrap_or("?");
            if !self.condition(step.get("if").and_then(Value::as_str)) {
                continue;
            }
            if let Some(uses) = step.get("uses").and_then(Value::as_str) {
                // The cache is a hit (above); the upload is checked by its inputs.
                if uses.starts_with("actions/upload-artifact@") {
                    let path = self.substitute(step["with"]["path"].as_str().unwrap());
                    assert!(
                        self.file("workspace")
                            .join(&path)
                            .join("junit.xml")
                            .is_file(),
                        "nothing to upload at {path}"
                    );
                }
                continue;
            }
            let script = step["run"].as_str().unwrap();
            assert!(
                !script.contains("${{"),
                "step `{name}`: an expression inside a script"
            );
            assert_eq!(step["shell"].as_str(), Some("bash"), "step `{name}`");
            let script_file = self.file("step.sh");
            std::fs::write(&script_file, script).unwrap();
            let mut cmd = Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script_file)
                .current_dir(self.file("workspace"))
                .env_clear()
                .env("HOME", self.dir.path())
                .env("GITHUB_PATH", self.file("path"))
                .env("GITHUB_OUTPUT", self.file("output"))
                .env("GITHUB_STEP_SUMMARY", self.file("summary"))
                .env("GITHUB_ENV", self.file("env"))
                .env("RUNNER_TEMP", self.dir.path())
                .env("TMPDIR", self.dir.path());
            let mut path: Vec<String> = self.path.iter().map(|p| p.display().to_string()).collect();
            path.push(std::env::var("PATH").unwrap_or_default());
            cmd.env("PATH", path.join(":"));
            if let Some(env) = step.get("env").and_then(Value::as_object) {
                for (k, v) in env {
                    cmd.env(k, self.substitute(v.as_str().unwrap()));
                }
            }
            cmd.envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())));
            let out = cmd.output().unwrap();
            stdout.push_str(&String::from_utf8_lossy(&out.stdout));
            last = out.status.code().unwrap_or(-1);
            // The runner reads these files after every step.
            self.path = std::fs::read_to_string(self.file("path"))
                .unwrap()
                .lines()
                .rev()
                .map(PathBuf::from)
                .collect();
            for line in std::fs::read_to_string(self.file("output"))
                .unwrap()
                .lines()
            {
                if let Some((k, v)) = line.split_once('=') {
                    self.outputs.insert(k.into(), v.into());
                }
            }
            let is_gate = name.starts_with("Gate");
            if !is_gate {
                assert_eq!(
                    last,
                    0,
                    "step `{name}` failed:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        (last, stdout)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_passes_against_a_tenant_and_summarises_the_run() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    // `--require none`: no thothctl runs here, so the live default (`critical`) would end
    // INCOMPLETE; the conformance level has its own tests (tests/verdicts_cli.rs), this
    // one is about the action's plumbing.
    let sink = format!("--sink-url {base}/__sink --require none");
    let webhook = format!("{base}/__sink/siem");
    let mut r = Runner::new(&[
        ("thoth_tenant_id", TENANT),
        ("thoth_govapi_url", &base),
        ("thoth_api_url", &base),
        ("thoth_admin_bearer_token", TOKEN),
        ("thoth_webhook_url", &webhook),
        ("thoth_webhook_secret", WEBHOOK_SECRET),
        ("thoth_pam_callback_secret", PAM_SECRET),
        ("args", &sink),
    ]);
    let (code, stdout) = tokio::task::spawn_blocking(move || {
        let out = r.run(&[]);
        (out, r)
    })
    .await
    .map(|((c, s), r)| {
        let summary = std::fs::read_to_string(r.file("summary")).unwrap();
        assert!(summary.contains("| bootstrap |"), "{summary}");
        assert!(!summary.contains("Failures"), "{summary}");
        assert!(!std::fs::read_to_string(r.file("summary"))
            .unwrap()
            .contains(TOKEN));
        // The token file the run step wrote is gone.
        assert!(!r.dir.path().join("thoth_admin_jwt").exists());
        (c, s)
    })
    .unwrap();
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("::error"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_case_is_annotated_at_its_line_with_requirement_and_route() {
    let mut r = Runner::new(&[
        ("target", "mock"),
        ("args", "--mock-fault key-scope-ignored"),
    ]);
    let (code, stdout, summary) = tokio::task::spawn_blocking(move || {
        let (c, s) = r.run(&[]);
        (c, s, std::fs::read_to_string(r.file("summary")).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{stdout}\n{summary}");
    assert!(summary.contains("### Failures and errors"), "{summary}");
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert!(!errors.is_empty(), "{stdout}");
    for e in &errors {
        // ::error file=suites/<phase>.yaml,line=N,title=…::… [REQ] METHOD /path: why
        let file = e.split("file=").nth(1).unwrap().split(',').next().unwrap();
        let line: usize = e
            .split("line=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            file.starts_with("suites/") && file.ends_with(".yaml"),
            "{e}"
        );
        let text = std::fs::read_to_string(project_root().join(file)).unwrap();
        let at = text.lines().nth(line - 1).unwrap();
        let case = e
            .split("title=")
            .nth(1)
            .unwrap()
            .split("%3A%3A")
            .nth(1)
            .unwrap();
        let case = case.split('%').next().unwrap();
        assert!(
            at.contains(&format!("id: {case}")),
            "{e}: line {line} is `{at}`"
        );
        // Properties escape `:`, so the first `::` after `::error` ends them.
        let message = e[2..].split_once("::").unwrap().1;
        assert!(
            message.contains("[RB-") || message.contains("[SEC-"),
            "no requirement in {e}"
        );
        assert!(
            [" GET /", " POST /", " PUT /", " PATCH /", " DELETE /"]
                .iter()
                .any(|m| message.contains(m)),
            "no route in {e}"
        );
        assert!(summary.contains(&format!("`{file}:{line}`")), "{summary}");
    }
}

/// `install_only: true` (how the release-gate example installs the harness in each
/// job): the harness is on PATH afterwards, and nothing runs, uploads or gates.
#[test]
fn install_only_puts_the_harness_on_path_and_runs_nothing() {
    let mut r = Runner::new(&[("install_only", "true")]);
    let (code, stdout) = r.run(&[]);
    assert_eq!(code, 0, "{stdout}");
    let bin = r
        .path
        .iter()
        .map(|p| p.join("thoth-conformance"))
        .find(|b| b.is_file())
        .expect("the harness on PATH");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert!(version.status.success(), "{version:?}");
    assert_eq!(std::fs::read_to_string(r.file("summary")).unwrap(), "");
    assert!(
        !r.file("workspace")
            .join("thoth-conformance-reports")
            .exists(),
        "install_only ran the suites"
    );
    assert!(!r.outputs.contains_key("exit_code"), "{:?}", r.outputs);
}
