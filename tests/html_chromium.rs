//! `report.html` as a person sees it: headless Chromium loads the written file, and the
//! DOM it built (not our string) shows the verdict, the cases and the requirements, no
//! secret, and no element from a hostile string; its screenshot is a real page.
//!
//! Set `THOTH_HTML_SCREENSHOT=<path.png>` to keep the screenshot for a look.

#[allow(dead_code)]
use crate::fixture;
use crate::support;

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

/// The fixture grown to a full run's size: 88 cases over 11 phases, the one failing and
/// the one erroring case of the fixture among them, each with a transcript.
fn full_size_run() -> thoth_conformance::outcome::RunResult {
    let mut run = fixture::run();
    let template = run.cases[0].clone();
    let capabilities = [
        "tenant_settings",
        "scoped_keys",
        "pam_callback",
        "webhook_test",
        "approval_reads",
        "access_control",
    ];
    let mut cases = Vec::new();
    for p in 0..11 {
        for i in 0..8 {
            let mut c = template.clone();
            c.phase = format!("phase_{p:02}");
            c.case_id = format!("case_{i}");
            c.capability = capabilities[(p * 8 + i) % capabilities.len()].into();
            cases.push(c);
        }
    }
    // The failures land in the middle of the run, as they do on a tenant.
    cases.splice(40..42, run.cases.drain(2..4));
    run.cases = cases;
    run
}

/// Prints `report.html` to PDF with headless Chromium; returns the text of each page
/// (pdftotext) in reading order and as laid out, or None when a tool is missing outside
/// CI.
fn print_pages(
    test: &str,
    run: &thoth_conformance::outcome::RunResult,
) -> Option<(Vec<String>, Vec<String>)> {
    let binary = support::required_tool(
        test,
        &[
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ],
        INSTALL,
    )?;
    let pdftotext = support::required_tool(
        test,
        &["pdftotext"],
        "Debian: apt-get install poppler-utils; scripts/test.sh installs it",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let paths = write_reports(
        run,
        &fixture::catalogue(),
        &dir.path().join("reports"),
        &Redactor::new(),
    )
    .unwrap();
    let pdf = dir.path().join("report.pdf");
    let out = chromium(
        &binary,
        &dir.path().join("profile-pdf"),
        &[
            "--no-pdf-header-footer".into(),
            format!("--print-to-pdf={}", pdf.display()),
            format!("file://{}", paths.html.display()),
        ],
    );
    assert!(
        out.status.success() && pdf.is_file(),
        "chromium --print-to-pdf failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Ok(keep) = std::env::var("THOTH_HTML_PDF") {
        std::fs::copy(&pdf, keep).expect("failed to keep the PDF");
    }
    // Reading order (each table cell's text together) and the printed layout.
    let pages_of = |layout: bool| {
        let mut cmd = Command::new(&pdftotext);
        if layout {
            cmd.arg("-layout");
        }
        let text = cmd
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("failed to run pdftotext");
        assert!(text.status.success(), "pdftotext failed");
        // pdftotext ends every page with a form feed.
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
        if pages.last().is_some_and(|p| p.trim().is_empty()) {
            pages.pop();
        }
        pages
    };
    Some((pages_of(false), pages_of(true)))
}

/// Most pages a full run's report may print to. Measured: the 88-case run prints to 16
/// A4 pages failing and 18 passing (folded transcripts of passing cases take little
/// room; unfolded, the same run prints to far more); a third more than that means the
/// layout broke (a transcript unfolded, a table running on).
const MAX_PAGES: usize = 24;

#[test]
fn the_printed_report_puts_the_failures_on_page_one_and_stays_bounded() {
    let test = "the_printed_report_puts_the_failures_on_page_one_and_stays_bounded";
    let Some((pages, laid_out)) = print_pages(test, &full_size_run()) else {
        return;
    };
    assert!(
        pages.len() <= MAX_PAGES,
        "the report prints to {} pages (at most {MAX_PAGES})",
        pages.len()
    );
    // Table cells wrap long names: compare without whitespace.
    let squeezed = |s: &str| s.split_whitespace().collect::<String>();
    let first = &pages[0];
    for seen in [
        "Verdict: FAILED",
        "What this run verified, and what it did not",
        "Failures and errors (2)",
        "scoped_keys::authorize_out_of_scope",
        "RB-P1A-02",
        "expected $.scope_allowed == false, got true",
        "pam::replay_ignored",
        "connection refused",
    ] {
        assert!(
            squeezed(first).contains(&squeezed(seen)),
            "page 1 lacks {seen:?}:\n{first}"
        );
    }
    // The sign-off block is printed whole, on a page of its own start.
    let signoff: Vec<usize> = (0..pages.len())
        .filter(|&i| pages[i].contains("Sign-off"))
        .collect();
    assert_eq!(signoff.len(), 1, "sign-off on pages {signoff:?}");
    let page = &pages[signoff[0]];
    for line in [
        "Decision",
        "Name and role",
        "Date",
        "Signature",
        "Tenant restore and cleanup",
    ] {
        assert!(
            pages.iter().any(|p| p.contains(line)),
            "{line:?} not printed"
        );
    }
    assert!(
        page.contains("Signature"),
        "the sign-off block splits across pages"
    );
    // Tables stay on the paper: no line of the requirements table runs off the right.
    let widest = laid_out
        .iter()
        .flat_map(|p| p.lines())
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(widest < 200, "a printed line is {widest} characters wide");
}

#[test]
fn a_passing_run_prints_its_verdict_and_an_empty_failure_list_on_page_one() {
    let test = "a_passing_run_prints_its_verdict_and_an_empty_failure_list_on_page_one";
    let mut run = full_size_run();
    run.cases
        .retain(|c| c.status == thoth_conformance::outcome::Status::Pass);
    let Some((pages, _)) = print_pages(test, &run) else {
        return;
    };
    assert!(pages.len() <= MAX_PAGES, "{} pages", pages.len());
    assert!(pages[0].contains("Verdict: PASSED"), "{}", pages[0]);
    assert!(
        pages[0].contains("No case failed or errored."),
        "{}",
        pages[0]
    );
}
