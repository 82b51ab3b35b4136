//! `report.html`: its exact content, that it is self-contained, that hostile strings
//! stay text, and that no form of a secret reaches it.

use thoth_conformance::outcome::Status;
use thoth_conformance::redact::{secret_forms, Redactor, REDACTED};
use thoth_conformance::report::html::render_html;

use crate::fixture;

/// Every element the page is allowed to contain: nothing that loads or runs anything.
const ALLOWED_TAGS: &[&str] = &[
    "!doctype", "html", "head", "meta", "title", "style", "body", "header", "footer", "h1", "h2",
    "h3", "h4", "p", "section", "article", "div", "span", "b", "strong", "code", "pre", "table",
    "tr", "th", "td", "dl", "dt", "dd", "ul", "li", "a", "details", "summary", "colgroup", "col",
    "br",
];

/// The opening and closing tags of a page, as (name, attribute text). Text content is
/// escaped, so every raw `<` starts a tag: this is exactly what a browser would parse.
fn tags(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').expect("every tag is closed");
        let inner = after[..end].trim_start_matches('/');
        let (name, attrs) = inner.split_once([' ', '\n']).unwrap_or((inner, ""));
        out.push((name.to_ascii_lowercase(), attrs.to_owned()));
        rest = &after[end + 1..];
    }
    out
}

/// The values of `attr="..."` in a tag's attribute text.
fn attr_values<'a>(attrs: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!("{attr}=");
    let mut out = Vec::new();
    let mut rest = attrs;
    while let Some(at) = rest.find(&needle) {
        let preceded_by_space = at == 0 || rest.as_bytes()[at - 1].is_ascii_whitespace();
        let value = &rest[at + needle.len()..];
        rest = value;
        if !preceded_by_space {
            continue;
        }
        let value = value.trim_start_matches('"');
        out.push(value.split(['"', ' ']).next().unwrap_or(""));
    }
    out
}

fn assert_self_contained(html: &str) {
    for (name, attrs) in tags(html) {
        assert!(
            ALLOWED_TAGS.contains(&name.as_str()),
            "element <{name}> in the page"
        );
        assert!(
            attr_values(&attrs, "src").is_empty(),
            "src= on <{name} {attrs}>"
        );
        for href in attr_values(&attrs, "href") {
            assert!(
                href.starts_with('#'),
                "<{name}> links outside the page: {href}"
            );
        }
        assert!(
            !attrs
                .split_whitespace()
                .any(|a| a.to_ascii_lowercase().starts_with("on") && a.contains('=')),
            "event handler attribute on <{name} {attrs}>"
        );
    }
    let lower = html.to_ascii_lowercase();
    for banned in [
        "@import", "url(", "<script", "<link", "<img", "<iframe", "<object",
    ] {
        assert!(!lower.contains(banned), "`{banned}` in the page");
    }
    assert!(
        html.contains("Content-Security-Policy\" content=\"default-src 'none'"),
        "no CSP that forbids loading"
    );
}

#[test]
fn html_snapshot() {
    let html = render_html(&fixture::run(), &fixture::catalogue(), &Redactor::new());
    insta::assert_snapshot!("report.html", html);
}

#[test]
fn the_page_loads_nothing_from_outside_and_links_only_to_itself() {
    let html = render_html(&fixture::run(), &fixture::catalogue(), &Redactor::new());
    assert_self_contained(&html);
    // The base URL is shown as text, never as a link or an asset.
    assert!(html.contains("<td>http://127.0.0.1:4010</td>"));
    // Internal links land: every #case-N and #req-N has its target.
    for (_, attrs) in tags(&html) {
        for href in attr_values(&attrs, "href") {
            let id = &href[1..];
            assert!(
                html.contains(&format!("id=\"{id}\"")),
                "dangling link {href}"
            );
        }
    }
}

#[test]
fn the_scanner_sees_an_external_reference() {
    // Positive control for the checks above: they do fire.
    let bad = r#"<html><body><a href="https://example.org/x">x</a></body></html>"#;
    let result = std::panic::catch_unwind(|| assert_self_contained(bad));
    assert!(result.is_err(), "an external href passed the check");
    let bad = r#"<html><body><div src="x"></div></body></html>"#;
    assert!(std::panic::catch_unwind(|| assert_self_contained(bad)).is_err());
}

#[test]
fn hostile_strings_stay_text() {
    let mut run = fixture::run();
    let case = &mut run.cases[2];
    case.title = "<script>alert(\"title\")</script>".into();
    case.message = Some("\"><img src=x onerror=alert(1)>".into());
    case.capability = "cap'<b>bold</b>".into();
    case.requirements.push("REQ<iframe>".into());
    case.steps[1].exchanges[0].response_body =
        Some("</pre></details><script>alert('body')</script>".into());
    run.target.tenant = "acme\" onload=\"alert(3)".into();
    let mut catalogue = fixture::catalogue();
    catalogue.requirements[0].text = "<object data=x></object> & more".into();

    let html = render_html(&run, &catalogue, &Redactor::new());
    assert_self_contained(&html);
    assert!(html.contains("&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    // maud escapes `&<>"`; a `'` in text content cannot end anything.
    assert!(html.contains("cap'&lt;b&gt;bold&lt;/b&gt;"));
    assert!(html.contains("REQ&lt;iframe&gt;"));
    assert!(html.contains("&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;alert('body')"));
    assert!(html.contains("acme&quot; onload=&quot;alert(3)"));
    assert!(html.contains("&lt;object data=x&gt;&lt;/object&gt; &amp; more"));
}

#[test]
fn verdict_counts_and_evidence_are_on_the_page() {
    let html = render_html(&fixture::run(), &fixture::catalogue(), &Redactor::new());
    assert!(html.contains("class=\"verdict v-failed\""));
    assert!(html.contains("Verdict: FAILED"));
    assert!(html.contains("1 case(s) failed: the target broke a requirement (exit code 1)"));
    assert!(html.contains("<div class=\"tile\"><b>5</b>total</div>"));
    for meta in [
        "sha256:feedface",
        "0badc0de",
        "scope-ignored",
        "conformance",
        "2026-11-24T13:00:02Z",
    ] {
        assert!(html.contains(meta), "{meta} not shown");
    }
    // The failing case's transcript is open; the passing one's is folded.
    assert!(html.contains(
        "<details open><summary>Transcript: 2 step(s), 1 cleanup step(s), 3 exchange(s)"
    ));
    assert!(
        html.contains("<details><summary>Transcript: 1 step(s), 0 cleanup step(s), 1 exchange(s)")
    );
    assert!(html.contains("not run: thothctl not found"));
    assert!(html.contains("GAP: no case"));

    let mut passed = fixture::run();
    passed.cases.retain(|c| c.status == Status::Pass);
    passed.interrupted = Some("interrupted by Ctrl-C".into());
    let html = render_html(&passed, &fixture::catalogue(), &Redactor::new());
    assert!(html.contains("class=\"verdict v-passed\""));
    assert!(html.contains("Verdict: PASSED"));
    assert!(html.contains("Run cut short: interrupted by Ctrl-C."));
}

#[test]
fn no_form_of_a_secret_reaches_the_page() {
    const TOKEN: &str = "tok-HTML-CANARY-51a2";
    const QUOTED: &str = r#"q"u'o<t>e&d-secret"#;
    let redactor = Redactor::new();
    redactor.add_secret(TOKEN).unwrap();
    redactor.add_secret(QUOTED).unwrap();
    let mut run = fixture::run();
    run.run_id = format!("run-{TOKEN}");
    run.target.base_url = format!("http://127.0.0.1:4010/?k={TOKEN}");
    run.target.mock_faults.push(QUOTED.into());
    run.interrupted = Some(format!("stopped at {QUOTED}"));
    for case in &mut run.cases {
        case.title = format!("{} {TOKEN}", case.title);
        case.message = Some(format!("saw {QUOTED}"));
        case.requirements.push(format!("REQ-{TOKEN}"));
    }
    let x = &mut run.cases[2].steps[1].exchanges[0];
    x.request_headers
        .push(("X-Api-Key".into(), "never-registered-key-2".into()));
    x.request_body = Some(serde_json::json!({ "secret": QUOTED }).to_string());
    x.response_body = Some(format!("{{\"token\":\"{TOKEN}\"}}"));
    let mut catalogue = fixture::catalogue();
    catalogue.requirements[6].gap = Some(format!("needs {QUOTED}"));
    catalogue.capabilities[0].title = format!("title {TOKEN}");

    let html = render_html(&run, &catalogue, &redactor);
    for secret in [TOKEN, QUOTED] {
        for (form, encoded) in secret_forms(secret) {
            assert!(
                !html.contains(&encoded),
                "{form} form of a secret in the page"
            );
        }
    }
    // HTML-only spellings of the quotes, which no other report uses.
    assert!(!html.contains("q&quot;u&#39;o") && !html.contains("q&quot;u&#x27;o"));
    assert!(!html.contains("never-registered-key-2"));
    assert!(!html.contains("dev-admin-token"));
    assert!(html.contains("Authorization: Bearer [REDACTED]"));
    assert!(html.matches(REDACTED).count() > 10, "redaction not visible");
}
