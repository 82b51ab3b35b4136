//! Credentials at the CLI: a token file others can read is warned about (without the
//! token), and the final secret scan's findings decide exit 5 over every other code.
//!
//! Exit 5 is tested at the decision function with real scan findings, not end to end:
//! every path that writes or prints passes through the redactor, so an honest run cannot
//! leak on purpose; forcing one would need a test-only backdoor in the binary.

use std::process::Command;

use thoth_conformance::expectations::{Stale, StaleWhy};
use thoth_conformance::outcome::{ExitCode, ExpectationKind};
use thoth_conformance::redact::{scan_for_secrets, Redactor};
use thoth_conformance::session::exit_code as session_exit;
use thoth_conformance::verdict::{Counts, RunStatus, Verdict};

fn exit(code: ExitCode) -> i32 {
    code as i32
}

const TOKEN: &str = "eyJ.group-readable-admin-token.sig";

#[cfg(unix)]
#[test]
fn a_group_readable_token_file_is_warned_about_on_stderr_without_the_token() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("jwt");
    std::fs::write(&token, TOKEN).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o640)).unwrap();
    // Nothing listens here: the run ends unreachable, after the warning.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
        .arg("run")
        .args(["--target", "live", "--tenant-id", "acme"])
        .arg("--govapi-url")
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--auth-token-file")
        .arg(&token)
        .arg("--suites")
        .arg(root.join("suites"))
        .arg("--fixtures")
        .arg(root.join("fixtures"))
        .arg("--reports")
        .arg(dir.path().join("reports"))
        .env_remove("THOTH_API_KEY")
        .env_remove("THOTH_ORG_API_KEY")
        .env_remove("THOTH_ADMIN_BEARER_TOKEN_FILE")
        // Every variable the suites use, so the preflight lets the run reach the target.
        .env("THOTH_WEBHOOK_URL", "https://siem.example.com/hook")
        .env("THOTH_WEBHOOK_SECRET", "whsec_credentials_cli_0123456789")
        .env(
            "THOTH_PAM_CALLBACK_SECRET",
            "pam_credentials_cli_0123456789",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains("is readable by its group or others (mode 640)"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN) && !stdout.contains(TOKEN));
}

fn verdict(code: ExitCode) -> Verdict {
    Verdict {
        status: match code {
            ExitCode::Passed => RunStatus::Passed,
            ExitCode::TargetUnreachable => RunStatus::Unreachable,
            _ => RunStatus::Failed,
        },
        exit_code: code as i32,
        message: String::new(),
        counts: Counts::default(),
    }
}

fn stale() -> Stale {
    Stale {
        path: "expectations.yaml".into(),
        line: 2,
        case: "p::c".into(),
        kind: ExpectationKind::KnownFailure,
        owner: "qa".into(),
        why: StaleWhy::Passed,
    }
}

#[test]
fn a_secret_found_by_the_final_scan_exits_5_over_every_other_code() {
    let redactor = Redactor::new();
    redactor.add_secret("thoth_leaky_org_key_42").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("junit.xml");
    let leaky = dir.path().join("results.json");
    std::fs::write(&clean, "<testsuites/>").unwrap();
    // The base64 form counts as much as the plain one.
    std::fs::write(&leaky, "{\"x\": \"dGhvdGhfbGVha3lfb3JnX2tleV80Mg==\"}").unwrap();

    let none = scan_for_secrets(std::slice::from_ref(&clean), &["all good"], &redactor);
    assert!(none.is_empty());
    for code in [
        ExitCode::Passed,
        ExitCode::RequirementFailed,
        ExitCode::TargetUnreachable,
    ] {
        assert_eq!(
            exit(session_exit(&verdict(code), &[], &none, true, false)),
            code as i32
        );
    }

    let in_file = scan_for_secrets(&[clean.clone(), leaky], &[], &redactor);
    assert_eq!(in_file.len(), 1, "{in_file:?}");
    assert!(in_file[0].to_string().contains("base64"), "{}", in_file[0]);
    let on_console = scan_for_secrets(&[clean], &["key: thoth_leaky_org_key_42"], &redactor);
    assert_eq!(on_console.len(), 1);
    for hits in [&in_file, &on_console] {
        for code in [
            ExitCode::Passed,
            ExitCode::RequirementFailed,
            ExitCode::TargetUnreachable,
        ] {
            assert_eq!(
                exit(session_exit(&verdict(code), &[stale()], hits, true, false)),
                5
            );
        }
    }
}

#[test]
fn a_stale_expectation_exits_4_over_the_verdict() {
    for code in [
        ExitCode::Passed,
        ExitCode::RequirementFailed,
        ExitCode::TargetUnreachable,
    ] {
        assert_eq!(
            exit(session_exit(&verdict(code), &[stale()], &[], true, false)),
            4
        );
    }
}

#[test]
fn a_report_not_written_exits_8_under_a_leak_and_cleanup_but_over_stale_and_verdict() {
    for code in [ExitCode::Passed, ExitCode::RequirementFailed] {
        assert_eq!(
            exit(session_exit(&verdict(code), &[stale()], &[], true, true)),
            8
        );
        assert_eq!(exit(session_exit(&verdict(code), &[], &[], false, true)), 6);
    }
}

#[test]
fn incomplete_cleanup_exits_6_over_a_stale_expectation_but_not_over_a_leak() {
    assert_eq!(
        exit(session_exit(
            &verdict(ExitCode::Passed),
            &[stale()],
            &[],
            false,
            false
        )),
        6
    );
    assert_eq!(
        exit(session_exit(
            &verdict(ExitCode::RequirementFailed),
            &[],
            &[],
            false,
            false
        )),
        6
    );
}
