//! The console of `run`: plain lines when piped, `--quiet`, `--verbose`, and on a
//! terminal (a pseudo-terminal from util-linux `script`) the live status line and
//! colour, with `NO_COLOR` and `CI` honoured.

use crate::cli_support;
use crate::support;

use cli_support::{cli, root, s, stdout, text};

const E2E_CASES: [&str; 3] = [
    "smoke::settings_applied",
    "smoke::key_lifecycle",
    "smoke::webhook_signed",
];

fn e2e_args(reports: &std::path::Path) -> Vec<String> {
    let e2e = root().join("tests/fixtures/e2e");
    [
        "run",
        "--suites",
        s(&e2e.join("suites")),
        "--fixtures",
        s(&e2e.join("fixtures")),
        "--reports",
        s(reports),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

fn run(extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut args = e2e_args(&dir.path().join("reports"));
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cli(&args, env)
}

#[test]
fn piped_output_is_plain_lines_without_colour_or_carriage_returns() {
    let o = run(&[], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    for case in E2E_CASES {
        assert!(
            out.lines()
                .any(|l| l.starts_with("PASS      ") && l.contains(case)),
            "{out}"
        );
    }
    assert!(!out.contains('\x1b') && !out.contains('\r'), "{out:?}");
    assert!(out.contains("PASSED (exit 0)"));
    assert!(out.lines().last().unwrap().starts_with("reports: "));
}

#[test]
fn quiet_prints_only_the_summary_and_the_verdict() {
    let o = run(&["--quiet", "--mock-fault", "key-scope-ignored"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = stdout(&o);
    for case in E2E_CASES {
        assert!(!out.contains(case), "a case line under --quiet: {out}");
    }
    // The summary names the thothctl that ran, then the table.
    assert!(out.starts_with("thothctl: "), "{out}");
    assert!(out.lines().nth(1).unwrap_or("").starts_with('┌'), "{out}");
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("FAILED (exit 1): 1 case(s) failed"),
        "{out}"
    );
    assert!(!out.contains("reports:"));
}

#[test]
fn verbose_adds_the_transcript_of_failing_cases_only() {
    let o = run(&["--verbose", "--mock-fault", "key-scope-ignored"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = stdout(&o);
    // One transcript, right under the failing case's line; passing cases get none.
    assert_eq!(out.matches("== steps ==").count(), 1, "{out}");
    let fail_at = out
        .find("FAIL      smoke::key_lifecycle")
        .expect("fail line");
    let transcript_at = out
        .find("smoke::key_lifecycle: ")
        .expect("transcript header");
    let steps_at = out.find("== steps ==").unwrap();
    assert!(fail_at < transcript_at && transcript_at < steps_at);
    assert!(out[steps_at..].contains("authorize out of scope"), "{out}");
    let next_case = out[fail_at..]
        .find("PASS      smoke::webhook_signed")
        .map(|i| i + fail_at)
        .expect("the next case line");
    assert!(steps_at < next_case, "the transcript follows its own case");
    // Credentials in the transcript are redacted (the run's own secret scan agrees).
    assert!(
        out.contains("<redacted>") || out.contains("[REDACTED]"),
        "{out}"
    );
}

/// Runs the e2e suite on a pseudo-terminal; `None` when `script` is not installed.
fn on_a_tty(test: &str, env: &[(&str, &str)]) -> Option<String> {
    let script = support::required_tool(
        test,
        &["script"],
        "apt-get install bsdutils (util-linux `script`)",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let mut line = vec![env!("CARGO_BIN_EXE_thoth-conformance").to_owned()];
    line.extend(e2e_args(&dir.path().join("reports")));
    let quoted: Vec<String> = line.iter().map(|a| format!("'{a}'")).collect();
    let mut cmd = std::process::Command::new(script);
    cmd.args(["-qec", &quoted.join(" "), "/dev/null"]);
    for k in cli_support::CLEARED_ENV {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    let o = cmd.output().expect("failed to run script");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    Some(stdout(&o))
}

#[test]
fn a_terminal_gets_the_live_line_and_colour() {
    let Some(out) = on_a_tty("a_terminal_gets_the_live_line_and_colour", &[]) else {
        return;
    };
    assert!(out.contains("\r\x1b[2K["), "no status line: {out:?}");
    assert!(out.contains("/3] "), "{out:?}");
    assert!(out.contains("\x1b[32mPASS"), "no colour: {out:?}");
}

#[test]
fn no_color_and_ci_are_honoured_on_a_terminal() {
    let test = "no_color_and_ci_are_honoured_on_a_terminal";
    let Some(out) = on_a_tty(test, &[("NO_COLOR", "1")]) else {
        return;
    };
    assert!(
        !out.contains("\x1b[32m") && !out.contains("\x1b[0m"),
        "{out:?}"
    );
    assert!(out.contains("\r\x1b[2K["), "the live line stays: {out:?}");
    let Some(out) = on_a_tty(test, &[("CI", "true")]) else {
        return;
    };
    assert!(!out.contains("\x1b[2K"), "no live line under CI: {out:?}");
    assert!(out.contains("\x1b[32mPASS"), "{out:?}");
}
