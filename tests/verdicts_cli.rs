//! Verdicts a release gate can trust, through the binary against a real mock-govapi
//! server configured the way a tenant answers (auth on, two tenants): nothing green that
//! was not verified, one located message for a misconfigured target, a report that
//! cannot be written keeps its OS error, and the README's exit-code table is the code's.

use crate::cli_support;

use std::path::Path;

use cli_support::{cli, cli_async, json, s, text};
use thoth_conformance::outcome::ExitCode;

const TOKEN: &str = "adm_verdicts_token_0123456789";
const OTHER_TOKEN: &str = "adm_verdicts_other_0123456789";
const PAM_SECRET: &str = "pamsec_verdicts_0123456789";
const WEBHOOK_SECRET: &str = "whsec_verdicts_0123456789";

struct Live {
    mock: mock_govapi::RunningMock,
    base: String,
    dir: tempfile::TempDir,
}

impl Live {
    async fn start() -> Live {
        let config = mock_govapi::MockConfig {
            tenants: vec![
                mock_govapi::TenantConfig {
                    id: "acme".into(),
                    admin_tokens: vec![TOKEN.into()],
                    org_api_keys: vec![],
                },
                mock_govapi::TenantConfig {
                    id: "globex".into(),
                    admin_tokens: vec![OTHER_TOKEN.into()],
                    org_api_keys: vec![],
                },
            ],
            ..mock_govapi::MockConfig::dev_default()
        };
        let mock = mock_govapi::spawn(config).await.expect("mock starts");
        let base = mock.base_url.trim_end_matches('/').to_string();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), TOKEN).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let p = dir.path().join("tok");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Live { mock, base, dir }
    }

    fn reports(&self) -> std::path::PathBuf {
        self.dir.path().join("r")
    }

    /// The live check's environment; `over` replaces (or, with "", unsets) entries.
    fn env(&self, over: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let mut env: Vec<(&'static str, String)> = vec![
            ("THOTH_TENANT_ID", "acme".into()),
            ("THOTH_GOVAPI_URL", self.base.clone()),
            (
                "THOTH_ADMIN_BEARER_TOKEN_FILE",
                s(&self.dir.path().join("tok")).into(),
            ),
            ("THOTH_WEBHOOK_URL", format!("{}/__sink/siem", self.base)),
            ("THOTH_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("THOTH_PAM_CALLBACK_SECRET", PAM_SECRET.into()),
            ("THOTH_OTHER_TENANT_ID", "globex".into()),
            ("CI", "true".into()),
        ];
        for (k, v) in over {
            env.retain(|(name, _)| name != k);
            if !v.is_empty() {
                env.push((k, v.to_string()));
            }
        }
        env
    }

    async fn run(&self, extra: &[&str], over: &[(&'static str, &str)]) -> std::process::Output {
        let reports = self.reports();
        let sink = format!("{}/__sink", self.base);
        let mut args = vec![
            "run",
            "--target",
            "live",
            "--sink-url",
            &sink,
            "--reports",
            s(&reports),
        ];
        args.extend_from_slice(extra);
        let env = self.env(over);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        cli_support::cli_async(&args, &env).await
    }

    /// Every request that could change the tenant the mock has seen (not GET).
    async fn mutations(&self) -> Vec<String> {
        let j: serde_json::Value = reqwest::get(format!("{}/__admin/journal", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        j["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["method"] != "GET")
            .map(|e| format!("{} {}", e["method"], e["path"]))
            .collect()
    }
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().expect("exit code")
}

fn assert_code(o: &std::process::Output, expected: ExitCode) {
    assert_eq!(code(o), expected as i32, "{}", text(o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_run_with_critical_requirements_unverified_is_incomplete_and_names_them() {
    let live = Live::start().await;
    let out = live.run(&[], &[]).await;
    assert_code(&out, ExitCode::Incomplete);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("INCOMPLETE (exit 7): ")
            && stdout.contains("requirement(s) at conformance level `critical` were not verified"),
        "{stdout}"
    );
    assert!(
        stdout.contains("conformance level: critical (the target's default"),
        "{stdout}"
    );
    // Every critical requirement the coverage report does not show as PASS is named,
    // with the state and the cases that did not run.
    let coverage = json(&live.reports().join("coverage.json"));
    let unverified: Vec<&serde_json::Value> = coverage["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["severity"] == "critical" && r["status"] != "pass" && r["total"] != 0)
        .collect();
    assert!(!unverified.is_empty());
    for r in &unverified {
        let id = r["id"].as_str().unwrap();
        assert!(
            stdout.contains(&format!("  {id} (critical): ")),
            "{id} not named:\n{stdout}"
        );
    }
    let results = json(&live.reports().join("results.json"));
    let listed = results["run"]["conformance"]["unverified"]
        .as_array()
        .unwrap();
    assert_eq!(listed.len(), unverified.len());
    assert_eq!(results["verdict"]["status"], "incomplete");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_audit_states_its_level_and_pam_unverified_names_rb_p4_02_to_04() {
    let live = Live::start().await;
    let out = live.run(&["--profile", "read-only"], &[]).await;
    assert_code(&out, ExitCode::ConfigError);
    assert!(
        text(&out).contains("error: --profile read-only: state the conformance level the audit is held to with --require"),
        "{}",
        text(&out)
    );
    assert!(live.mutations().await.is_empty());

    // Held to `critical`, the audit (which sends no PAM callback) cannot be green and
    // says which PAM requirements it did not verify.
    let out = live
        .run(&["--profile", "read-only", "--require", "critical"], &[])
        .await;
    assert_code(&out, ExitCode::Incomplete);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for id in ["RB-P4-02", "RB-P4-03", "RB-P4-04"] {
        assert!(
            stdout.contains(&format!("  {id} (critical): ")),
            "{id}:\n{stdout}"
        );
    }
    assert!(stdout.contains("conformance level: critical\n"), "{stdout}");
    // The same requirement reads the same in every output.
    let coverage = json(&live.reports().join("coverage.json"));
    let p402 = coverage["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "RB-P4-02")
        .unwrap();
    assert_ne!(p402["status"], "pass");
    let junit = std::fs::read_to_string(live.reports().join("junit.xml")).unwrap();
    assert!(
        junit.contains("<property name=\"requirement.RB-P4-02\" value=\"DISABLED 0/"),
        "junit"
    );
    let md = std::fs::read_to_string(live.reports().join("coverage.md")).unwrap();
    assert!(
        md.contains("- **not verified**: RB-P4-02 (critical): DISABLED 0/"),
        "{md}"
    );
    let html = std::fs::read_to_string(live.reports().join("report.html")).unwrap();
    assert!(html.contains("DISABLED 0/"), "html");

    // --require none: the cases alone decide, and some passed.
    let out = live
        .run(&["--profile", "read-only", "--require", "none"], &[])
        .await;
    assert_code(&out, ExitCode::Passed);
    assert!(live.mutations().await.is_empty(), "read-only mutated");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_tenant_is_one_preflight_error_quoting_the_server_and_nothing_changes() {
    let live = Live::start().await;
    let out = live.run(&[], &[("THOTH_TENANT_ID", "acmee")]).await;
    assert_code(&out, ExitCode::ConfigError);
    let expected = format!(
        "error: preflight: tenant `acmee` (THOTH_TENANT_ID / --tenant-id) was not found: \
         GET {}/acmee/thoth/settings answered 404 `tenant_not_found`: unknown tenant `acmee`; \
         nothing was changed on the tenant\n",
        live.base
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), expected);
    assert!(live.mutations().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_credential_is_one_preflight_error_with_the_servers_code() {
    let live = Live::start().await;
    let wrong = live.dir.path().join("wrong");
    std::fs::write(&wrong, "adm_not_the_right_token_42").unwrap();
    let out = live
        .run(&[], &[("THOTH_ADMIN_BEARER_TOKEN_FILE", s(&wrong))])
        .await;
    assert_code(&out, ExitCode::ConfigError);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: preflight: the admin token (THOTH_ADMIN_BEARER_TOKEN_FILE / --auth-token-file) \
             did not authenticate: GET {}/acme/thoth/settings answered 401 `invalid_credentials`: ",
            live.base
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("adm_not_the_right_token_42"), "{stderr}");
    assert!(live.mutations().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unset_variable_is_named_by_its_env_var_before_anything_changes() {
    let live = Live::start().await;
    let out = live.run(&[], &[("THOTH_PAM_CALLBACK_SECRET", "")]).await;
    assert_code(&out, ExitCode::ConfigError);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: preflight: THOTH_PAM_CALLBACK_SECRET is not set, and ")
            && stderr.contains("use `{{pam_callback_secret}}`")
            && stderr.ends_with("set it, or leave those cases out with a filter; nothing was changed on the tenant\n"),
        "{stderr}"
    );
    assert!(live.mutations().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sink_that_does_not_answer_is_exit_3_before_anything_changes() {
    let live = Live::start().await;
    let reports = live.reports();
    let env = live.env(&[]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Port 9 (discard) on loopback: nothing listens there.
    let args = [
        "run",
        "--target",
        "live",
        "--sink-url",
        "http://127.0.0.1:9/__sink",
        "--reports",
        s(&reports),
    ];
    let out = cli_async(&args, &env).await;
    assert_code(&out, ExitCode::TargetUnreachable);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "error: preflight: the sink (--sink-url) `http://127.0.0.1:9/__sink/siem` did not answer: "
        ),
        "{stderr}"
    );
    assert!(live.mutations().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filter_matching_no_case_is_a_usage_error_before_anything_is_sent() {
    let live = Live::start().await;
    let out = live.run(&["scoped_key::revoke_kye"], &[]).await;
    assert_code(&out, ExitCode::ConfigError);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: the filter `scoped_key::revoke_kye` matches no case (`thoth-conformance list` \
         shows them); nothing was sent\n"
    );
    let j: serde_json::Value = reqwest::get(format!("{}/__admin/journal", live.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(j["data"].as_array().unwrap().len(), 0, "{j}");
    drop(live.mock);
}

#[test]
fn a_run_in_which_no_case_passed_is_never_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    // Only thothctl cases, and no thothctl: every case skips.
    let out = cli(
        &[
            "run",
            "--reports",
            s(dir.path()),
            "--thothctl-timeout",
            "1s",
            "--thothctl-stand-in",
            "off",
            "*::thothctl_*",
        ],
        &[("PATH", "/nonexistent")],
    );
    assert_code(&out, ExitCode::Incomplete);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("INCOMPLETE (exit 7): no case passed, so nothing was verified ("),
        "{}",
        text(&out)
    );
}

#[test]
fn an_unwritable_report_keeps_the_os_error_writes_the_rest_scans_and_exits_8() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("r");
    std::fs::create_dir_all(reports.join("junit.xml")).unwrap();
    let out = cli(&["run", "--reports", s(&reports), "scoped_keys"], &[]);
    assert_code(&out, ExitCode::ReportsIncomplete);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: failed to write report `{}`: Is a directory (os error 21)",
            reports.join("junit.xml").display()
        )),
        "{stderr}"
    );
    for name in [
        "coverage.md",
        "coverage.json",
        "results.json",
        "report.html",
    ] {
        assert!(reports.join(name).is_file(), "{name} not written");
    }
    assert!(!stderr.contains("could not be read to scan"), "{stderr}");
}

/// The README's table is the code's map: every code, in order, each row beginning with
/// the code's own meaning; and the precedence line names the order `session` applies.
#[test]
fn the_readme_exit_code_table_matches_the_code() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Verdicts and exit codes")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let rows: Vec<(i32, String)> = section
        .lines()
        .filter_map(|l| {
            let mut cells = l.strip_prefix("| ")?.splitn(2, " | ");
            let code = cells.next()?.trim().parse().ok()?;
            Some((code, cells.next()?.trim_end_matches(" |").to_owned()))
        })
        .collect();
    let codes: Vec<i32> = rows.iter().map(|(c, _)| *c).collect();
    let expected: Vec<i32> = ExitCode::ALL.iter().map(|c| *c as i32).collect();
    assert_eq!(codes, expected, "README exit codes");
    for (code, (_, meaning)) in ExitCode::ALL.iter().zip(&rows) {
        assert!(
            meaning.starts_with(code.meaning()),
            "README row {}: `{meaning}` does not begin with `{}`",
            *code as i32,
            code.meaning()
        );
    }
    assert!(
        section.contains("5 > 6 > 8 > 4 > the run's verdict (1 > 3 > 7 > 0)"),
        "precedence line"
    );
}

/// A settings PUT that is stored but answered 500: the case that PUTs fails, the
/// cleanup restore fails too (exit 6), and the summary still ends with the verdict and
/// its counts, so exit 6 never hides the failing case.
#[test]
fn exit_6_from_cleanup_still_shows_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("r");
    let out = cli(
        &[
            "run",
            "--mock-fault",
            "settings-put-answers-500",
            "--reports",
            s(&reports),
            "-q",
            "bootstrap::settings_upsert",
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(ExitCode::CleanupIncomplete as i32),
        "{all}"
    );
    assert!(all.contains("FAIL"), "{all}");
    assert!(
        all.contains("settings settings: FAILED (PUT /thoth/settings): answered 500"),
        "the cleanup says what it could not restore: {all}"
    );
    let printed = cli_support::stdout(&out);
    let last = printed.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "exit 6 (cleanup incomplete) over the verdict FAILED (exit 1): 1 case(s) failed"
        ),
        "the summary ends with the exit code and the verdict it overrides: {last}\n{all}"
    );
    let results = json(&reports.join("results.json"));
    assert_eq!(results["verdict"]["status"], "failed", "{results}");
}
