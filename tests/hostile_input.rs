//! Hostile input on the console and on disk (issue 17, "Terminal injection" and
//! "Input"): control sequences in a target's answers reach the terminal escaped, and
//! fixture symlinks out of the fixtures root, devices and oversized or non-UTF-8 suites
//! are refused with a located error before anything is sent or built.

use crate::cli_support;

use std::path::Path;

use axum::http::StatusCode;
use cli_support::{cli_async, s};

/// What a hostile body prints to forge a verdict: an OSC 52 clipboard write, a window
/// title, a carriage return and line erase, then a green verdict line of our shape.
const FORGERY: &str = "\u{1b}]52;c;Y3VybCBldmlsLnNofHNo\u{7}\u{1b}]0;owned\u{7}\r\u{1b}[2K\u{1b}[32mPASSED (exit 0): every case passed\u{1b}[0m\u{9b}2J\u{202e}";

const CATALOGUE: &str = "capabilities:\n  - {id: c, title: c, runbook_row: true}\nrequirements:\n  - {id: R-1, text: t, source: s, severity: high, kind: acceptance}\n";

fn project_dir(suite: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("suites")).unwrap();
    std::fs::create_dir_all(dir.path().join("fixtures")).unwrap();
    std::fs::write(dir.path().join("suites/requirements.yaml"), CATALOGUE).unwrap();
    std::fs::write(dir.path().join("suites/hostile.yaml"), suite).unwrap();
    dir
}

async fn forging_server() -> String {
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        if uri.path() == "/" {
            return (StatusCode::OK, String::new());
        }
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("upstream said: {FORGERY}"),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread")]
async fn control_sequences_from_a_target_are_escaped_on_the_console() {
    let base = forging_server().await;
    let dir = project_dir(
        "phase: hostile\ntitle: t\nrunbook: r\ncases:\n  - {id: forged, title: t, requirements: [R-1], capability: c, effect: read, steps: [{request: {method: GET, path: /thoth/settings}}]}\n",
    );
    let token = dir.path().join("tok");
    std::fs::write(&token, "adm_console_canary_0123456789").unwrap();
    let p = dir.path();
    let reports = p.join("reports");
    let sink = format!("{base}/__sink");
    let out = cli_async(
        &[
            "run",
            "--target",
            "live",
            "--verbose",
            "--suites",
            s(&p.join("suites")),
            "--fixtures",
            s(&p.join("fixtures")),
            "--reports",
            s(&reports),
            "--sink-url",
            &sink,
        ],
        &[
            ("THOTH_TENANT_ID", "acme"),
            ("THOTH_GOVAPI_URL", &base),
            ("THOTH_API_URL", &base),
            ("THOTH_ADMIN_BEARER_TOKEN_FILE", s(&token)),
            ("THOTH_WEBHOOK_URL", &format!("{base}/__sink/siem")),
            ("THOTH_WEBHOOK_SECRET", "whsec_console_canary"),
            ("THOTH_PAM_CALLBACK_SECRET", "pamsec_console_canary"),
            ("CI", "true"),
        ],
    )
    .await;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{printed}");
    for bad in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}'] {
        assert!(
            !printed.contains(bad),
            "{:?} reached the terminal:\n{printed}",
            bad
        );
    }
    assert!(printed.contains("\\x1b]52;c;"), "shown escaped: {printed}");
    assert!(
        !printed.lines().any(|l| l.starts_with("PASSED")),
        "a forged verdict line:\n{printed}"
    );
    assert!(
        printed.lines().any(|l| l.starts_with("FAILED (exit 1)")),
        "{printed}"
    );
}

fn validate(dir: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
        .args(["validate", "--suites"])
        .arg(dir.join("suites"))
        .arg("--fixtures")
        .arg(dir.join("fixtures"))
        .output()
        .unwrap()
}

#[test]
fn a_fixture_symlink_out_of_the_fixtures_root_is_refused_with_a_located_error() {
    let dir = project_dir(
        "phase: hostile\ntitle: t\nrunbook: r\ncases:\n  - id: leak\n    title: t\n    requirements: [R-1]\n    capability: c\n    effect: mutate\n    steps:\n      - request: {method: PUT, path: /thoth/settings, body_file: environ.json}\n      - request: {method: PUT, path: /thoth/settings, body_file: zero.json}\n",
    );
    let fixtures = dir.path().join("fixtures");
    std::os::unix::fs::symlink("/proc/self/environ", fixtures.join("environ.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", fixtures.join("zero.json")).unwrap();
    let out = validate(dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for (line, file) in [(11, "environ.json"), (12, "zero.json")] {
        let located = format!("hostile.yaml:{line}:");
        assert!(
            err.lines().any(|l| l.contains(&located)
                && l.contains(file)
                && l.contains("outside the fixtures directory")),
            "{file} not refused at line {line}:\n{err}"
        );
    }
}

#[test]
fn a_fixture_device_or_an_oversized_fixture_inside_the_root_is_refused() {
    let dir = project_dir(
        "phase: hostile\ntitle: t\nrunbook: r\ncases:\n  - id: big\n    title: t\n    requirements: [R-1]\n    capability: c\n    effect: mutate\n    steps:\n      - request: {method: PUT, path: /thoth/settings, body_file: big.json}\n",
    );
    let big = std::fs::File::create(dir.path().join("fixtures/big.json")).unwrap();
    big.set_len(64 * 1024 * 1024).unwrap(); // sparse: costs nothing unless read
    let out = validate(dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("hostile.yaml:11:") && err.contains("larger than the limit"),
        "{err}"
    );
}

#[test]
fn an_oversized_suite_is_refused_before_it_is_parsed_and_bad_utf8_is_located() {
    let dir = project_dir("phase: p\n");
    let huge = std::fs::File::create(dir.path().join("suites/huge.yaml")).unwrap();
    huge.set_len(112 * 1024 * 1024).unwrap();
    std::fs::write(
        dir.path().join("suites/hostile.yaml"),
        b"phase: p\ntitle: t\nrunbook: \xff\n",
    )
    .unwrap();
    let out = validate(dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("huge.yaml:0:0:") && l.contains("larger than the limit")),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.contains("hostile.yaml:3:10:") && l.contains("not UTF-8")),
        "{err}"
    );
}
