//! `junit.xml` validates against the JUnit XSD that CI test views are built against
//! (`tests/schemas/junit.xsd`), with `xmllint`, and carries what GitLab, Jenkins and
//! GitHub's JUnit reporters read: unique names, a classname, failure text in the body.

#[allow(dead_code)]
use crate::fixture;
use crate::support;

use std::path::{Path, PathBuf};

use thoth_conformance::redact::Redactor;
use thoth_conformance::report::junit::render_junit;

const INSTALL: &str = "Debian: apt-get install libxml2-utils; scripts/test.sh installs it";

fn xsd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit.xsd")
}

fn validate(xmllint: &Path, xml: &str) -> Result<(), String> {
    support::xmllint_validate(xmllint, &xsd(), xml)
}

fn xmllint(test: &str) -> Option<PathBuf> {
    support::required_tool(test, &["xmllint"], INSTALL)
}

#[test]
fn junit_report_validates_against_the_xsd() {
    let Some(xmllint) = xmllint("junit_report_validates_against_the_xsd") else {
        return;
    };
    let xml = render_junit(&fixture::run(), &Redactor::new()).unwrap();
    validate(&xmllint, &xml).unwrap_or_else(|e| panic!("junit.xml is not valid:\n{e}"));
}

#[test]
fn hostile_strings_and_redaction_keep_the_report_valid() {
    let Some(xmllint) = xmllint("hostile_strings_and_redaction_keep_the_report_valid") else {
        return;
    };
    let redactor = Redactor::new();
    redactor.add_secret("tok-XSD-secret-1").unwrap();
    let mut run = fixture::run();
    let case = &mut run.cases[2];
    case.title = "]]><x>&\"'</x>".into();
    case.message = Some("tok-XSD-secret-1 <failure/> \u{7f} ]]>".into());
    case.steps[1].message = Some("body <![CDATA[ x ]]> &amp;".into());
    case.steps[1].exchanges[0].response_body = Some("\u{1b}[31mred\u{1b}[0m </system-out>".into());
    let xml = render_junit(&run, &redactor).unwrap();
    validate(&xmllint, &xml).unwrap_or_else(|e| panic!("junit.xml is not valid:\n{e}"));
}

#[test]
fn the_xsd_rejects_what_ci_views_cannot_use() {
    // Negative controls: the schema is strict where consumers are.
    let Some(xmllint) = xmllint("the_xsd_rejects_what_ci_views_cannot_use") else {
        return;
    };
    let xml = render_junit(&fixture::run(), &Redactor::new()).unwrap();
    let no_classname = xml.replacen(" classname=\"bootstrap\"", "", 1);
    assert_ne!(no_classname, xml);
    let duplicate = xml.replacen(
        "name=\"bootstrap::bootstrap_flags\"",
        "name=\"bootstrap::settings_upsert_api\"",
        1,
    );
    assert_ne!(duplicate, xml);
    let empty_failure = without_failure_text(&xml);
    let bad_count = xml.replacen("tests=\"2\"", "tests=\"two\"", 1);
    for (what, bad) in [
        ("a testcase without classname", no_classname),
        ("two testcases with one name", duplicate),
        ("a failure without text", empty_failure),
        ("a non-numeric test count", bad_count),
    ] {
        assert!(validate(&xmllint, &bad).is_err(), "the XSD accepted {what}");
    }
}

/// The report with the failure element's text removed.
fn without_failure_text(xml: &str) -> String {
    let start = xml.find("<failure ").expect("a failure element");
    let open_end = start + xml[start..].find('>').unwrap() + 1;
    let close = start + xml[start..].find("</failure>").unwrap();
    format!("{}{}", &xml[..open_end], &xml[close..])
}

#[test]
fn failures_carry_their_text_in_the_element_body() {
    // GitLab shows the element text as the failure's details, Jenkins as the stack
    // trace, mikepenz/action-junit-report as the annotation body: the reason must be
    // there, not only in the message attribute.
    // The body names the requirement (with its run-wide tally) and the route too.
    let xml = render_junit(&fixture::run(), &Redactor::new()).unwrap();
    for (element, text) in [
        (
            "failure",
            "expected $.scope_allowed == false, got true\nrequirements: RB-P1A-02 (FAIL: \
             scoped_keys::authorize_out_of_scope)\nroute: POST /conformance/thoth/api-keys/k1/authorize",
        ),
        (
            "error",
            "connection refused\nrequirements: RB-P4-02 (ERROR 0/1)\nroute: \
             POST /conformance/thoth/pam/callback",
        ),
    ] {
        let open = format!("<{element} ");
        let start = xml.find(&open).unwrap_or_else(|| panic!("no <{element}>"));
        let body_start = start + xml[start..].find('>').unwrap() + 1;
        let body_end = start + xml[start..].find(&format!("</{element}>")).unwrap();
        assert_eq!(&xml[body_start..body_end], text, "<{element}> body");
    }
    // Every testcase names its classname (the phase), which GitLab and Jenkins group by.
    let cases = xml.matches("<testcase ").count();
    assert_eq!(cases, fixture::run().cases.len());
    assert_eq!(xml.matches("<testcase name=\"").count(), cases);
    assert_eq!(
        xml.matches("\" classname=\"").count(),
        cases,
        "a testcase without classname"
    );
}
