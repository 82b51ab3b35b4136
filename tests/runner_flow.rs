//! Orchestration: skip reasons, fail-fast, filters, setup and cleanup, Ctrl-C, phase
//! ordering, and thothctl steps (with a stand-in binary).

use crate::common;

use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use thoth_conformance::outcome::Status;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/acme/thoth/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    Mock::given(path("/acme/thoth/bad"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    server
}

fn case(id: &str, extra: &str, steps: &str) -> String {
    format!("  - id: {id}\n    title: {id}\n    capability: cap\n    effect: read\n{extra}    steps:\n{steps}")
}

const OK: &str = "      - request: {method: GET, path: /thoth/ok}\n";
const BAD: &str = "      - request: {method: GET, path: /thoth/bad}\n";

fn suite_of(phase: &str, head: &str, cases: &[String]) -> thoth_conformance::suite::model::Suite {
    suite(&format!(
        "phase: {phase}\ntitle: t\nrunbook: r\n{head}cases:\n{}",
        cases.concat()
    ))
}

#[tokio::test]
async fn needs_and_requires_skip_with_reasons() {
    let s = server().await;
    let f = target_at(&s.uri());
    let suite = suite_of(
        "p",
        "",
        &[
            case("broken", "", BAD),
            case("dependent", "    needs: [broken]\n", OK),
            case(
                "ctl",
                "    surface: thothctl\n",
                "      - thothctl: {args: [settings, get]}\n",
            ),
            case(
                "admin",
                "",
                "      - admin: {method: GET, path: /__admin/faults}\n",
            ),
            case("isolation", "    requires: [other_tenant]\n", OK),
            case("fine", "    needs: [broken_not_yet]\n", OK),
        ],
    );
    let r = run(&f, vec![suite], &quick_opts()).await;
    assert_status(&r, "broken", Status::Fail);
    let m = assert_status(&r, "dependent", Status::Skip);
    assert_eq!(m, "needs `broken`, which did not pass (fail)");
    assert_eq!(
        assert_status(&r, "ctl", Status::Skip),
        "not run: thothctl not found"
    );
    assert_eq!(
        assert_status(&r, "admin", Status::Skip),
        "needs the mock admin API (mock target only)"
    );
    assert!(assert_status(&r, "isolation", Status::Skip).contains("THOTH_OTHER_TENANT_ID"));
    assert_eq!(
        assert_status(&r, "fine", Status::Skip),
        "needs `broken_not_yet`, which has not run"
    );
}

#[tokio::test]
async fn fail_fast_filters_and_progress_callback() {
    let s = server().await;
    let f = target_at(&s.uri());
    let cases = [
        case("a_ok", "", OK),
        case("b_bad", "", BAD),
        case("c_ok", "", OK),
    ];
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut opts = quick_opts();
    opts.fail_fast = true;
    let sink = seen.clone();
    opts.on_case = Some(Arc::new(move |c| sink.lock().unwrap().push(c.full_name())));
    let mut later = suite_of("later", "after: [p]\n", &[case("x", "", OK)]);
    later.after = vec!["p".into()];
    let r = run(&f, vec![suite_of("p", "", &cases), later], &opts).await;
    assert_status(&r, "a_ok", Status::Pass);
    assert_status(&r, "b_bad", Status::Fail);
    assert_eq!(assert_status(&r, "c_ok", Status::Disabled), "fail-fast");
    assert_eq!(assert_status(&r, "x", Status::Disabled), "fail-fast");
    assert_eq!(r.interrupted.as_deref(), Some("fail-fast"));
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["p::a_ok", "p::b_bad", "p::c_ok", "later::x"],
        "one progress call per case"
    );

    let mut opts = quick_opts();
    opts.filters = vec!["p::c_*".into()];
    let r = run(&f, vec![suite_of("p", "", &cases)], &opts).await;
    assert_eq!(assert_status(&r, "a_ok", Status::Disabled), "filtered out");
    assert_eq!(assert_status(&r, "b_bad", Status::Disabled), "filtered out");
    assert_status(&r, "c_ok", Status::Pass);
    let reqs = s.received_requests().await.unwrap();
    assert_eq!(
        reqs.iter()
            .filter(|r| r.url.path() == "/acme/thoth/bad")
            .count(),
        4,
        "b_bad ran once (its GET answered 500 on all 4 attempts of the retry policy)"
    );
}

#[tokio::test]
async fn setup_failure_errors_every_case_and_cleanup_always_runs_in_reverse() {
    let s = server().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&s)
        .await;
    let f = target_at(&s.uri());
    let broken_setup = suite_of(
        "setup_broken",
        &format!("setup:\n{BAD}"),
        &[case("one", "", OK), case("two", "", OK)],
    );
    let cleanup = "    cleanup:\n      - request: {method: DELETE, path: /thoth/first}\n      - request: {method: DELETE, path: /thoth/second}\n";
    let with_cleanup = suite_of(
        "cleanup",
        "cleanup:\n  - request: {method: DELETE, path: /thoth/suite-first}\n  - request: {method: DELETE, path: /thoth/suite-second}\n",
        &[case("failing", cleanup, BAD), case("bad_cleanup", "    cleanup:\n      - request: {method: GET, path: /thoth/bad}\n", OK)],
    );
    let mut opts = quick_opts();
    opts.phases = None;
    let r = run(&f, vec![broken_setup, with_cleanup], &opts).await;
    for id in ["one", "two"] {
        let m = assert_status(&r, id, Status::Error);
        assert!(
            m.starts_with("suite setup failed: step \"step 1\": status: expected 2xx, got 500"),
            "{m}"
        );
    }
    // The failing case's cleanup ran, in reverse order; the verdict is the steps'.
    let failing = common::case(&r, "failing");
    assert_eq!(failing.status, Status::Fail);
    let names: Vec<&str> = failing
        .cleanup
        .iter()
        .map(|c| c.exchanges[0].request_line.as_str())
        .collect();
    assert!(
        names[0].ends_with("/acme/thoth/second") && names[1].ends_with("/acme/thoth/first"),
        "{names:?}"
    );
    // A failing cleanup does not change a passing case's verdict.
    let bad_cleanup = common::case(&r, "bad_cleanup");
    assert_eq!(bad_cleanup.status, Status::Pass);
    assert_eq!(bad_cleanup.cleanup[0].status, Status::Fail);
    // Suite cleanup ran after the last case, reported with it.
    let suite_cleanup: Vec<&str> = bad_cleanup.cleanup[1..]
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        suite_cleanup,
        vec!["suite cleanup: step 2", "suite cleanup: step 1"]
    );
}

#[tokio::test]
async fn cancellation_marks_the_rest_and_still_returns_a_complete_result() {
    let s = server().await;
    let f = target_at(&s.uri());
    let opts = quick_opts();
    opts.cancel.cancel();
    let r = run(
        &f,
        vec![suite_of("p", "", &[case("a", "", OK), case("b", "", OK)])],
        &opts,
    )
    .await;
    assert_eq!(r.cases.len(), 2);
    assert_eq!(
        assert_status(&r, "a", Status::Disabled),
        "interrupted (Ctrl-C)"
    );
    assert_eq!(r.interrupted.as_deref(), Some("interrupted (Ctrl-C)"));
}

#[tokio::test]
async fn after_orders_phases_and_results_keep_file_order() {
    let s = server().await;
    Mock::given(path("/acme/thoth/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(300)))
        .mount(&s)
        .await;
    let f = target_at(&s.uri());
    let first = suite_of(
        "first",
        "",
        &[case(
            "slow",
            "",
            "      - request: {method: GET, path: /thoth/slow}\n",
        )],
    );
    let mut second = suite_of("second", "", &[case("quick", "", OK)]);
    second.after = vec!["first".into()];
    let r = run(&f, vec![second, first], &quick_opts()).await;
    let reqs = s.received_requests().await.unwrap();
    let order: Vec<&str> = reqs
        .iter()
        .map(|r| r.url.path())
        .filter(|p| p.starts_with("/acme"))
        .collect();
    assert_eq!(order, vec!["/acme/thoth/slow", "/acme/thoth/ok"]);
    let ids: Vec<&str> = r.cases.iter().map(|c| c.case_id.as_str()).collect();
    assert_eq!(ids, vec!["quick", "slow"], "results in project order");
}

#[cfg(unix)]
#[tokio::test]
async fn thothctl_steps_get_target_flags_a_private_token_file_and_a_timeout() {
    use std::os::unix::fs::PermissionsExt as _;
    let s = server().await;
    let f = target_at(&s.uri());
    let bin = f.dir.path().join("thothctl");
    // Prints its arguments and facts about the token file as JSON; `sleep` to hang;
    // `fail` to exit 3.
    std::fs::write(
        &bin,
        r#"#!/bin/sh
case "$1" in sleep) exec sleep 30;; fail) echo '{"error":"nope"}'; exit 3;; esac
tok=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--auth-token-file" ]; then tok="$a"; fi
  prev="$a"
done
mode=$(stat -c %a "$tok")
len=$(wc -c < "$tok" | tr -d ' ')
printf 'progress...\n{"args":"%s","mode":"%s","token_len":%s}\n' "$*" "$mode" "$len"
"#,
    )
    .unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Fixture {
        target,
        redactor,
        dir,
    } = f;
    let f = Fixture {
        target: target.with_thothctl(thoth_conformance::thothctl::resolve::resolve(
            Some(&bin),
            thoth_conformance::target::TargetKind::Live,
            thoth_conformance::thothctl::StandInUse::Off,
        )),
        redactor,
        dir,
    };
    let suite = suite_of(
        "ctl",
        "",
        &[
            case(
                "list",
                "    surface: thothctl\n",
                "      - thothctl: {args: [api-keys, list, --name, \"e2e-{{run_id}}\"]}\n        expect: {json: [{path: $.mode, equals: \"600\"}, {path: $.args, matches: '^api-keys list --name e2e-0badc0de --tenant-id acme --govapi-url http://127.0.0.1:[0-9]+ --auth-token-file \\S+ --json$'}]}\n        capture: {token_len: $.token_len}\n",
            ),
            case("exit", "    surface: thothctl\n", "      - thothctl: {args: [fail]}\n        expect: {status: 3, json: [{path: $.error, equals: nope}]}\n"),
            case("nonzero", "    surface: thothctl\n", "      - thothctl: {args: [fail]}\n"),
            case("exit_field", "    surface: thothctl\n", "      - thothctl: {args: [fail], exit_code: 3}\n"),
            case("hang", "    surface: thothctl\n", "      - thothctl: {args: [sleep]}\n"),
        ],
    );
    let mut opts = quick_opts();
    opts.thothctl_timeout = std::time::Duration::from_secs(3);
    let r = run(&f, vec![suite], &opts).await;
    assert_status(&r, "list", Status::Pass);
    assert_status(&r, "exit", Status::Pass);
    assert_status(&r, "exit_field", Status::Pass);
    let m = assert_status(&r, "nonzero", Status::Fail);
    assert!(m.contains("exit code: expected 0, got 3"), "{m}");
    let m = assert_status(&r, "hang", Status::Error);
    assert!(m.contains("did not finish within"), "{m}");
    // The token never appears on the command line shown in transcripts.
    let line = &common::case(&r, "list").steps[0].exchanges[0].request_line;
    assert!(!line.contains(ADMIN_TOKEN), "{line}");
}
