//! Plant secrets everywhere a run can carry them, write every report, and prove that no
//! form of any secret reaches a file while every file still parses.

use base64::Engine as _;
use thoth_conformance::outcome::Status;
use thoth_conformance::redact::{scan_for_secrets, secret_forms, Redactor, REDACTED};
use thoth_conformance::report::{read_results, write_reports};

use crate::fixture;

const TOKEN: &str = "tok-CANARY-3f9a8b7c";
const QUOTED: &str = r#"s3cr"et\with'quotes<&>"#;
const SPACED: &str = "pass word/+=?&canary";

#[test]
fn no_secret_form_reaches_any_report_and_every_report_still_parses() {
    let redactor = Redactor::new();
    for s in [TOKEN, QUOTED, SPACED] {
        redactor.add_secret(s).unwrap();
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let b64url = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let form = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };

    let mut run = fixture::run();
    run.target.base_url = format!("http://127.0.0.1:4010/?k={}", form(SPACED));
    run.interrupted = Some(format!("stopped while sending {TOKEN}"));
    let case = &mut run.cases[2]; // the failing case
    case.title = format!("title with {QUOTED}");
    case.message = Some(format!("expected {TOKEN}, got {}", b64url(QUOTED)));
    let step = &mut case.steps[1];
    step.message = Some(format!("header was {}", b64(TOKEN)));
    let x = &mut step.exchanges[0];
    x.request_line = format!("GET http://127.0.0.1:4010/x?secret={}", form(SPACED));
    x.request_headers.push(("X-Custom".into(), TOKEN.into()));
    x.request_headers
        .push(("X-Api-Key".into(), "never-registered-key-1".into()));
    x.request_body = Some(serde_json::json!({ "secret": QUOTED, "token": TOKEN }).to_string());
    x.response_body = Some(format!(
        r#"{{"echo":"{}","b64":"{}"}}"#,
        b64(SPACED),
        b64(QUOTED)
    ));
    case.cleanup[0].message = Some(format!("cleanup saw {SPACED}"));
    run.cases[3].steps[0].exchanges[0].transport_error = Some(format!("tls: {QUOTED}"));
    assert_eq!(run.cases[2].status, Status::Fail);
    let mut catalogue = fixture::catalogue();
    catalogue.requirements[6].gap = Some(format!("needs the key {TOKEN}"));

    let dir = tempfile::tempdir().unwrap();
    let paths = write_reports(&run, &catalogue, dir.path(), &redactor).unwrap();

    for path in paths.all() {
        let text = std::fs::read_to_string(&path).unwrap();
        for secret in [TOKEN, QUOTED, SPACED] {
            for (form, encoded) in secret_forms(secret) {
                assert!(
                    !text.contains(&encoded),
                    "{} form of a secret in {}",
                    form,
                    path.display()
                );
            }
        }
        assert!(
            text.contains(REDACTED),
            "{} shows no redaction",
            path.display()
        );
    }
    assert!(scan_for_secrets(&paths.all(), &[], &redactor).is_empty());

    // Credential headers are masked even though this key was never registered.
    let junit = std::fs::read_to_string(&paths.junit).unwrap();
    assert!(!junit.contains("never-registered-key-1"));
    assert!(!junit.contains("dev-admin-token"));
    assert!(junit.contains("Authorization: Bearer [REDACTED]"));

    // Every file still parses.
    let mut reader = quick_xml::Reader::from_str(&junit);
    while !matches!(
        reader.read_event().expect("valid XML"),
        quick_xml::events::Event::Eof
    ) {}
    for json in [&paths.results, &paths.coverage_json] {
        let text = std::fs::read_to_string(json).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
    }
    let back = read_results(&paths.results).unwrap();
    assert_eq!(back.cases.len(), run.cases.len());
    assert_eq!(back.cases[2].title, format!("title with {REDACTED}"));
}

#[test]
fn the_scan_catches_a_planted_leak() {
    // The positive control for the test above: the same scan does see a leak.
    let redactor = Redactor::new();
    redactor.add_secret(QUOTED).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let leaked = dir.path().join("results.json");
    std::fs::write(&leaked, serde_json::json!({ "x": QUOTED }).to_string()).unwrap();
    let hits = scan_for_secrets(&[leaked], &[], &redactor);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0].to_string().contains("json-escaped"), "{}", hits[0]);
}
