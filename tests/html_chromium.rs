//! `report.html` as a person sees it: headless Chromium loads the written file, and the
//! DOM it built (not our string) shows the verdict, the cases and the requirements, no
//! secret, and no element from a hostile string; its screenshot is a real page.
//!
//! Set `THOTH_HTML_SCREENSHOT=<path.png>` to keep the screenshot for a look.

#[allow(dead_code)]
#[path = "reports/fixture.rs"]
mod fixture;
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use thoth_conformance::redact::{secret_forms, Redactor};
use thoth_conformance::report::write_reports;

const INSTALL: &str = "Debian: apt-get install chromium; scripts/test.sh installs it";
const SECRET: &str = "tok-CHROMIUM-canary-77e1";
/// A hang guard, not a speed assertion: a browser that never exits must not hang CI.
const GIVE_UP_AFTER: Duration = Duration::from_secs(180);

fn chromium(binary: &Path, profile: &Path, extra: &[String]) -> Output {
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to start chromium");
    let started = Instant::now();
    // Drain the pipes on threads, or a large DOM dump fills the pipe and deadlocks.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).ok();
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("failed to wait for chromium") {
            break status;
        }
        if started.elapsed() > GIVE_UP_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            panic!("failed to get an answer from chromium within {GIVE_UP_AFTER:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The text a person reads: the dumped DOM without its style element and tags, with
/// the entities the serializer writes turned back into characters.
fn visible_text(dom: &str) -> String {
    let mut text = String::with_capacity(dom.len());
    let mut rest = dom;
    if let (Some(a), Some(b)) = (rest.find("<style>"), rest.find("</style>")) {
        text.push_str(&rest[..a]);
        rest = &rest[b + "</style>".len()..];
    }
    let mut in_tag = false;
    let mut cleaned = String::new();
    for c in text.chars().chain(rest.chars()) {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                cleaned.push(' ');
            }
            c if !in_tag => cleaned.push(c),
            _ => {}
        }
    }
    cleaned
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

#[test]
fn chromium_shows_the_report_as_a_person_reads_it() {
    let Some(binary) = support::required_tool(
        "chromium_shows_the_report_as_a_person_reads_it",
        &[
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ],
        INSTALL,
    ) else {
        return;
    };
    let redactor = Redactor::new();
    redactor.add_secret(SECRET).unwrap();
    let mut run = fixture::run();
    run.cases[2].message = Some(format!("expected scope_allowed false; key was {SECRET}"));
    run.cases[2].steps[1].exchanges[0].response_body =
        Some(format!("{{\"api_key\":\"{SECRET}\"}}"));
    run.cases[0].title = "<script>document.title='owned'</script> settings".into();

    let dir = tempfile::tempdir().unwrap();
    let paths = write_reports(
        &run,
        &fixture::catalogue(),
        &dir.path().join("reports"),
        &redactor,
    )
    .unwrap();
    let url = format!("file://{}", paths.html.display());

    let dump = chromium(
        &binary,
        &dir.path().join("profile-dom"),
        &["--dump-dom".into(), url.clone()],
    );
    assert!(
        dump.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dom = String::from_utf8(dump.stdout).expect("DOM is UTF-8");
    let text = visible_text(&dom);
    for seen in [
        "Verdict: FAILED",
        "1 case(s) failed: the target broke a requirement (exit code 1)",
        "scoped_keys::authorize_out_of_scope",
        "RB-P1A-02",
        "RB-P4-02",
        "Command coverage matrix",
        "Scoped key create/authorize/revoke",
        "not run: thothctl not found",
        "expected scope_allowed false; key was [REDACTED]",
        "<script>document.title='owned'</script> settings",
    ] {
        assert!(
            text.contains(seen),
            "a person does not see {seen:?} in:\n{text}"
        );
    }
    // The hostile title stayed text: the browser built no script element from it.
    assert!(
        !dom.to_ascii_lowercase().contains("<script"),
        "a script element in the DOM"
    );
    assert!(dom.contains("<title>Thoth conformance: FAILED (run 0badc0de)</title>"));
    for (form, encoded) in secret_forms(SECRET) {
        assert!(
            !dom.contains(&encoded),
            "{form} form of the secret in the DOM"
        );
    }

    let png = dir.path().join("report.png");
    let shot = chromium(
        &binary,
        &dir.path().join("profile-png"),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".into(),
            url,
        ],
    );
    assert!(
        shot.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).expect("failed to read the screenshot");
    if let Ok(keep) = std::env::var("THOTH_HTML_SCREENSHOT") {
        std::fs::write(&keep, &bytes).expect("failed to keep the screenshot");
    }
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2000), "screenshot size");
    // An empty white 1280x2000 page compresses to a few KiB; text, tables and coloured
    // badges take far more.
    assert!(
        bytes.len() > 40 * 1024,
        "screenshot is nearly empty ({} bytes)",
        bytes.len()
    );
}
