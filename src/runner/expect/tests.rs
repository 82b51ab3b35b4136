//! Every assertion kind, holding and not holding, with its exact message.

use super::*;
use serde_json::json;

fn assert_from(yaml: &str) -> JsonAssert {
    serde_saphyr::from_str(yaml).unwrap()
}

fn vars() -> Vars {
    let mut v = Vars::new();
    v.set("total_before", json!(5));
    v.set("key_id", json!("k-1"));
    v.set("count_text", json!("7"));
    v
}

fn doc() -> Value {
    json!({
        "scope_allowed": false,
        "name": "rightway-endpoint-e2e",
        "total": 6,
        "ratio": 0.5,
        "permissions": ["read", "execute"],
        "data": [{"key_id": "k-1", "active": true}, {"key_id": "k-2", "active": false}],
        "count": 1.0
    })
}

/// Runs the assertion and returns its failure message (None when it holds).
fn run(yaml: &str) -> Option<String> {
    check_json(&assert_from(yaml), &doc(), &vars())
        .err()
        .map(|f| {
            assert_eq!(f.status, Status::Fail, "{}", f.message);
            f.message
        })
}

#[test]
fn equals_and_not_equals() {
    assert_eq!(run("{path: $.scope_allowed, equals: false}"), None);
    assert_eq!(
        run("{path: $.scope_allowed, equals: true}").unwrap(),
        "$.scope_allowed: expected true, got false"
    );
    assert_eq!(run("{path: $.count, equals: 1}"), None, "1 == 1.0");
    assert_eq!(
        run("{path: \"$.data[?@.key_id == '{{key_id}}'].active\", equals: true}"),
        None
    );
    assert_eq!(run("{path: $.name, not_equals: other}"), None);
    assert_eq!(
        run("{path: $.name, not_equals: rightway-endpoint-e2e}").unwrap(),
        "$.name: expected anything but \"rightway-endpoint-e2e\", got \"rightway-endpoint-e2e\""
    );
}

#[test]
fn exists_absent_count() {
    assert_eq!(run("{path: $.name, exists: true}"), None);
    assert_eq!(run("{path: $.nope, exists: false}"), None);
    assert_eq!(run("{path: $.nope, absent: true}"), None);
    assert_eq!(
        run("{path: $.nope, exists: true}").unwrap(),
        "$.nope: expected to exist, but the JSON answer has no `nope` in `$` (keys there: count, data, name, permissions, ratio, scope_allowed, total)"
    );
    assert_eq!(
        run("{path: $.name, absent: true}").unwrap(),
        "$.name: expected no node, got 1 (first: \"rightway-endpoint-e2e\")"
    );
    assert_eq!(run("{path: '$.data[*]', count: 2}"), None);
    assert_eq!(
        run("{path: '$.data[*]', count: 3}").unwrap(),
        "$.data[*]: expected 3 node(s), got 2"
    );
}

#[test]
fn matches_one_of_contains() {
    assert_eq!(run("{path: $.name, matches: '^rightway-'}"), None);
    assert_eq!(
        run("{path: $.name, matches: '^left'}").unwrap(),
        "$.name: expected to match /^left/, got \"rightway-endpoint-e2e\""
    );
    assert_eq!(
        run("{path: $.total, matches: '6'}").unwrap(),
        "$.total: expected a string matching /6/, got 6"
    );
    assert_eq!(run("{path: $.total, one_of: [5, 6]}"), None);
    assert_eq!(
        run("{path: $.total, one_of: [1, 2]}").unwrap(),
        "$.total: expected one of [1,2], got 6"
    );
    assert_eq!(run("{path: $.permissions, contains: execute}"), None);
    assert_eq!(run("{path: $.name, contains: endpoint}"), None);
    assert_eq!(
        run("{path: $.permissions, contains: write}").unwrap(),
        "$.permissions: expected to contain \"write\", got [\"read\",\"execute\"]"
    );
}

#[test]
fn numeric_bounds() {
    assert_eq!(run("{path: $.total, gt: 5, gte: 6, lt: 7, lte: 6}"), None);
    assert_eq!(
        run("{path: $.total, gt: 6}").unwrap(),
        "$.total: expected > 6, got 6"
    );
    assert_eq!(
        run("{path: $.total, gte: 7}").unwrap(),
        "$.total: expected >= 7, got 6"
    );
    assert_eq!(
        run("{path: $.total, lt: 6}").unwrap(),
        "$.total: expected < 6, got 6"
    );
    assert_eq!(
        run("{path: $.ratio, lte: 0.25}").unwrap(),
        "$.ratio: expected <= 0.25, got 0.5"
    );
    assert_eq!(
        run("{path: $.name, gt: 1}").unwrap(),
        "$.name: >: expected a number, got \"rightway-endpoint-e2e\""
    );
}

#[test]
fn delta_against_a_captured_number() {
    assert_eq!(
        run("{path: $.total, delta: {var: total_before, by: 1}}"),
        None
    );
    assert_eq!(
        run("{path: $.total, delta: {var: total_before, by: 2}}").unwrap(),
        "$.total: expected 7 (total_before 5 +2), got 6"
    );
    // A captured numeric string counts as a number.
    assert_eq!(
        run("{path: $.total, delta: {var: count_text, by: -1}}"),
        None
    );
    let err = check_json(
        &assert_from("{path: $.total, delta: {var: missing, by: 1}}"),
        &doc(),
        &vars(),
    )
    .unwrap_err();
    assert_eq!(err.status, Status::Error);
}

#[test]
fn value_checks_need_exactly_one_node() {
    assert_eq!(
        run("{path: '$.data[*].key_id', equals: k-1}").unwrap(),
        "$.data[*].key_id: expected exactly one node, got 2"
    );
    assert_eq!(
        run("{path: $.nope, equals: 1}").unwrap(),
        "$.nope: expected a value, but the JSON answer has no `nope` in `$` (keys there: count, data, name, permissions, ratio, scope_allowed, total)"
    );
}

#[test]
fn a_plain_path_missing_from_the_answer_is_a_shape_failure_naming_the_keys() {
    let f = check_json(&assert_from("{path: $.totl, equals: 6}"), &doc(), &vars()).unwrap_err();
    assert!(f.shape, "{}", f.message);
    assert_eq!(
        f.message,
        "$.totl: expected a value, but the JSON answer has no `totl` in `$` (keys there: count, data, name, permissions, ratio, scope_allowed, total)"
    );
    // Filters and indices may select nothing *yet*: not a shape failure.
    let f = check_json(
        &assert_from("{path: \"$.data[?@.key_id == 'k-9'].active\", equals: true}"),
        &doc(),
        &vars(),
    )
    .unwrap_err();
    assert!(!f.shape, "{}", f.message);
    assert!(f.message.ends_with("got no node"), "{}", f.message);
}

#[test]
fn broken_path_regex_or_template_is_an_error_not_a_fail() {
    for yaml in [
        "{path: '$.[', exists: true}",
        "{path: $.name, matches: '('}",
        "{path: '$.{{undefined_var}}', exists: true}",
    ] {
        let f = check_json(&assert_from(yaml), &doc(), &vars()).unwrap_err();
        assert_eq!(f.status, Status::Error, "{yaml}: {}", f.message);
    }
}

#[test]
fn long_actual_values_are_cut() {
    let long = json!({"v": "x".repeat(1000)});
    let f = check_json(&assert_from("{path: $.v, equals: y}"), &long, &vars()).unwrap_err();
    assert!(f.message.len() < 400, "{}", f.message);
    assert!(f.message.ends_with('…'));
}

#[test]
fn status_headers_body_and_non_json() {
    let expect: Expect = serde_saphyr::from_str(
        "{status: [200, 201], headers: {x-thoth-event: settings.updated}, body_not_contains: ['{{key_id}}'], json: [{path: $.ok, equals: true}]}",
    )
    .unwrap();
    let ok = Observed::new(
        201,
        vec![("x-thoth-event".into(), "settings.updated".into())],
        r#"{"ok":true}"#.into(),
    );
    assert_eq!(check(&expect, StatusKind::Http, &ok, &vars()), Ok(()));
    let bad_status = Observed::new(500, vec![], r#"{"error":"boom"}"#.into());
    assert_eq!(
        check(&expect, StatusKind::Http, &bad_status, &vars())
            .unwrap_err()
            .message,
        "status: expected one of 200, 201, got 500 (body: {\"error\":\"boom\"})"
    );
    let no_header = Observed::new(200, vec![], r#"{"ok":true}"#.into());
    assert_eq!(
        check(&expect, StatusKind::Http, &no_header, &vars())
            .unwrap_err()
            .message,
        "header x-thoth-event: expected \"settings.updated\", got no such header"
    );
    let leaks = Observed::new(200, ok.headers.clone(), r#"{"ok":true,"id":"k-1"}"#.into());
    assert_eq!(
        check(&expect, StatusKind::Http, &leaks, &vars())
            .unwrap_err()
            .message,
        "body_not_contains: the response body contains the value of `{{key_id}}` at byte 17 of 22"
    );
    // A target variable is named by the env var behind it: the value itself is redacted.
    let mut v = vars();
    v.set("pam_callback_secret", json!("pam_s3cret_value"));
    let pam_expect: Expect =
        serde_saphyr::from_str("{status: 200, body_not_contains: ['{{pam_callback_secret}}']}")
            .unwrap();
    let leak = Observed::new(200, vec![], r#"{"secret":"pam_s3cret_value"}"#.into());
    assert_eq!(
        check(&pam_expect, StatusKind::Http, &leak, &v)
            .unwrap_err()
            .message,
        "body_not_contains: the response body contains the value of `{{pam_callback_secret}}` \
         (THOTH_PAM_CALLBACK_SECRET) at byte 11 of 29"
    );
    let garbage = Observed::new(200, ok.headers.clone(), "<html>oops</html>".into());
    let f = check(&expect, StatusKind::Http, &garbage, &vars()).unwrap_err();
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.message, "response is not JSON (body: <html>oops</html>)");
    // Exit codes default to 0.
    let ctl = Observed::new(0, vec![], "{}".into());
    assert_eq!(
        check(&Expect::default(), StatusKind::ExitCode, &ctl, &vars()),
        Ok(())
    );
    let ctl_bad = Observed::new(2, vec![], String::new());
    assert_eq!(
        check(&Expect::default(), StatusKind::ExitCode, &ctl_bad, &vars())
            .unwrap_err()
            .message,
        "exit code: expected 0, got 2"
    );
}

#[test]
fn captures_keep_types_and_register_secrets() {
    let caps: std::collections::BTreeMap<String, Capture> = serde_saphyr::from_str(
        "{key_id: $.key_id, total: $.total, api_key: {path: $.api_key, secret: true}, req: {header: x-request-id}}",
    )
    .unwrap();
    let obs = Observed::new(
        201,
        vec![("x-request-id".into(), "r-9".into())],
        r#"{"key_id":"k-7","total":3,"api_key":"thoth_plaintext_once"}"#.into(),
    );
    let mut v = Vars::new();
    let r = Redactor::new();
    capture(&caps, &obs, &mut v, &r).unwrap();
    assert_eq!(v.get("key_id"), Some(json!("k-7")));
    assert_eq!(v.get("total"), Some(json!(3)), "numbers stay numbers");
    assert_eq!(v.get("req"), Some(json!("r-9")));
    assert_eq!(r.secrets(), vec!["thoth_plaintext_once".to_string()]);
    // Typed substitution: a body string that is only `{{total}}` becomes the number.
    let body = render_json(&json!({"n": "{{total}}", "s": "id={{key_id}}"}), &v).unwrap();
    assert_eq!(body, json!({"n": 3, "s": "id=k-7"}));

    let missing: std::collections::BTreeMap<String, Capture> =
        serde_saphyr::from_str("{x: $.nope}").unwrap();
    let f = capture(&missing, &obs, &mut v, &r).unwrap_err();
    assert_eq!(f.message, "capture `x`: $.nope selected no node");
}

/// `expect.shape` on an answer with this Content-Type and body: its failure message.
fn shape_of(shape: &str, content_type: Option<&str>, body: &str) -> Option<String> {
    let expect: Expect = serde_saphyr::from_str(&format!("{{status: [200, 404], shape: {shape}}}"))
        .expect("an expect block");
    let headers = content_type
        .map(|ct| vec![("content-type".to_owned(), ct.to_owned())])
        .unwrap_or_default();
    let obs = Observed::new(404, headers, body.to_owned());
    check(&expect, StatusKind::Http, &obs, &vars())
        .err()
        .map(|f| {
            assert!(
                f.shape,
                "a framing failure is a shape failure: {}",
                f.message
            );
            f.message
        })
}

#[test]
fn shape_json_needs_a_json_content_type_and_body() {
    let body = r#"{"total": 1}"#;
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
    ] {
        assert_eq!(shape_of("json", Some(ct), body), None, "{ct}");
    }
    assert_eq!(
        shape_of("json", Some("text/plain; charset=utf-8"), body).unwrap(),
        "shape json: Content-Type is \"text/plain; charset=utf-8\", not JSON"
    );
    assert_eq!(
        shape_of("json", None, body).unwrap(),
        "shape json: the answer has no Content-Type"
    );
    assert_eq!(
        shape_of("json", Some("application/json"), "not json").unwrap(),
        "shape json: the body is not JSON (body: not json)"
    );
    assert!(!is_json_media_type("application/jsonx"));
    assert!(!is_json_media_type("text/json"));
}

#[test]
fn shape_error_needs_the_envelope() {
    let ct = Some("application/json");
    assert_eq!(
        shape_of("error", ct, r#"{"error":"scope_denied","message":"no"}"#),
        None
    );
    assert_eq!(
        shape_of(
            "error",
            ct,
            r#"{"error":"invalid_grant","error_description":"no"}"#
        ),
        None,
        "the vendor clients' message fallback"
    );
    for bad in [
        r#"{"error":{"code":"scope_denied","message":"no"}}"#,
        r#"{"error":"scope_denied"}"#,
        r#"{"error":"Scope Denied","message":"no"}"#,
        r#"{"detail":"no"}"#,
        r#"["scope_denied"]"#,
    ] {
        let message = shape_of("error", ct, bad).unwrap_or_else(|| panic!("{bad} passed"));
        assert!(
            message.starts_with("shape error: expected the error envelope"),
            "{message}"
        );
    }
    assert!(shape_of("error", Some("text/html"), r#"{"error":"x","message":"y"}"#).is_some());
}

#[test]
fn count_captures_count_the_nodes_zero_included() {
    let caps: std::collections::BTreeMap<String, Capture> = serde_saphyr::from_str(
        "{jamf: {path: \"$.data[?@.enrollment == 'jamf']\", count: true}, none: {path: \"$.data[?@.enrollment == 'kandji']\", count: true}}",
    )
    .unwrap();
    let obs = Observed::new(
        200,
        vec![],
        r#"{"data":[{"enrollment":"jamf"},{"enrollment":"manual"},{"enrollment":"jamf"}]}"#.into(),
    );
    let mut v = Vars::new();
    capture(&caps, &obs, &mut v, &Redactor::new()).unwrap();
    assert_eq!(v.get("jamf"), Some(json!(2)));
    assert_eq!(
        v.get("none"),
        Some(json!(0)),
        "no node is a count of 0, not a failure"
    );
}
