//! The HTTP client's retry policy against a scripted server (wiremock): transient
//! answers of idempotent requests are retried as the vendor's clients retry them
//! (TF `internal/client/client.go:doJSON`, `isRetryableStatus`), `Retry-After` is
//! honoured, non-idempotent calls are sent once, and the transcript says when a retry
//! happened.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use thoth_conformance::client::{ClientOptions, HttpClient, HttpRequest};
use thoth_conformance::outcome::Status;
use thoth_conformance::redact::Redactor;
use thoth_conformance::report::transcript::case_transcript;
use thoth_conformance::retry::RetryPolicy;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The vendor's policy with a short backoff, so the tests stay quick.
fn fast() -> RetryPolicy {
    RetryPolicy {
        base_backoff: Duration::from_millis(10),
        ..RetryPolicy::default()
    }
}

fn client(retry: RetryPolicy) -> HttpClient {
    HttpClient::new(ClientOptions {
        retry,
        request_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    })
    .unwrap()
}

fn request(method: &str, url: String) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        url,
        headers: Vec::new(),
        body: None,
    }
}

/// `times` answers of `status` (with optional Retry-After), then 200.
async fn flaky(
    server: &MockServer,
    route: &str,
    status: u16,
    retry_after: Option<&str>,
    times: u64,
) {
    let mut first = ResponseTemplate::new(status);
    if let Some(value) = retry_after {
        first = first.insert_header("retry-after", value);
    }
    Mock::given(path(route))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_get_answered_429_is_retried_to_200_and_each_retry_is_noted() {
    let server = MockServer::start().await;
    flaky(&server, "/acme/thoth/settings", 429, None, 2).await;
    let (exchanges, result) = client(fast())
        .send_retrying(
            &request("GET", format!("{}/acme/thoth/settings", server.uri())),
            true,
        )
        .await;
    assert_eq!(result.unwrap().status, 200);
    let statuses: Vec<_> = exchanges.iter().map(|x| x.status).collect();
    assert_eq!(statuses, [Some(429), Some(429), Some(200)]);
    let notes: Vec<_> = exchanges.iter().map(|x| x.note.as_deref()).collect();
    assert!(
        notes[0].is_some_and(|n| n.contains("answered 429") && n.contains("attempt 2 of 4")),
        "{notes:?}"
    );
    assert!(
        notes[1].is_some_and(|n| n.contains("attempt 3 of 4")),
        "{notes:?}"
    );
    assert_eq!(notes[2], None, "the answer that stands needs no note");
}

#[tokio::test]
async fn every_vendor_retryable_status_is_retried_and_others_are_not() {
    let server = MockServer::start().await;
    for status in [429u16, 500, 502, 503, 504] {
        flaky(&server, &format!("/acme/thoth/s{status}"), status, None, 1).await;
    }
    Mock::given(path("/acme/thoth/s501"))
        .respond_with(ResponseTemplate::new(501))
        .mount(&server)
        .await;
    let c = client(fast());
    for status in [429u16, 500, 502, 503, 504] {
        let url = format!("{}/acme/thoth/s{status}", server.uri());
        let (exchanges, result) = c.send_retrying(&request("GET", url), true).await;
        assert_eq!(
            (exchanges.len(), result.unwrap().status),
            (2, 200),
            "{status}"
        );
    }
    let url = format!("{}/acme/thoth/s501", server.uri());
    let (exchanges, result) = c.send_retrying(&request("GET", url), true).await;
    assert_eq!((exchanges.len(), result.unwrap().status), (1, 501));
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_as_an_http_date() {
    let server = MockServer::start().await;
    flaky(&server, "/acme/thoth/endpoints", 503, Some("1"), 1).await;
    let started = Instant::now();
    let (exchanges, result) = client(fast())
        .send_retrying(
            &request("GET", format!("{}/acme/thoth/endpoints", server.uri())),
            true,
        )
        .await;
    assert_eq!(result.unwrap().status, 200);
    // A lower bound, not a speed assertion: the fast backoff alone would be 10 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert!(exchanges[0]
        .note
        .as_deref()
        .unwrap()
        .contains("Retry-After"));

    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    flaky(&server, "/acme/thoth/alerts", 429, Some(&date), 1).await;
    let started = Instant::now();
    let (_, result) = client(fast())
        .send_retrying(
            &request("GET", format!("{}/acme/thoth/alerts", server.uri())),
            true,
        )
        .await;
    assert_eq!(result.unwrap().status, 200);
    // The date has whole-second resolution: at least one second of it is left.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_ends_the_retries_with_a_note() {
    let server = MockServer::start().await;
    flaky(&server, "/acme/thoth/settings", 429, Some("3600"), 1).await;
    let started = Instant::now();
    let (exchanges, result) = client(fast())
        .send_retrying(
            &request("GET", format!("{}/acme/thoth/settings", server.uri())),
            true,
        )
        .await;
    assert_eq!(result.unwrap().status, 429);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(exchanges.len(), 1);
    assert!(exchanges[0]
        .note
        .as_deref()
        .unwrap()
        .contains("not retried"));
}

#[tokio::test]
async fn non_idempotent_posts_are_sent_once_and_vendor_upserts_are_retried() {
    let server = MockServer::start().await;
    for route in [
        "/acme/thoth/settings/webhook/test",
        "/acme/thoth/mdm/providers/jamf/sync",
        "/acme/thoth/endpoints",
        "/acme/thoth/api-keys",
        "/acme/thoth/approvals/a1/resolve",
        "/acme/governance/evidence/thoth/backfill",
        "/acme/thoth/pam/callback",
    ] {
        flaky(&server, route, 503, None, 1).await;
        let url = format!("{}{route}", server.uri());
        let req = request("POST", url.clone());
        let idempotent = thoth_conformance::retry::idempotent("POST", &url);
        let (exchanges, result) = client(fast()).send_retrying(&req, idempotent).await;
        assert_eq!(
            (exchanges.len(), result.unwrap().status),
            (1, 503),
            "{route}"
        );
    }
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 7, "one request per non-idempotent call");

    flaky(&server, "/acme/thoth/browser/enrollments", 502, None, 1).await;
    let url = format!("{}/acme/thoth/browser/enrollments", server.uri());
    assert!(thoth_conformance::retry::idempotent("POST", &url));
    let (exchanges, result) = client(fast())
        .send_retrying(&request("POST", url), true)
        .await;
    assert_eq!((exchanges.len(), result.unwrap().status), (2, 200));
}

#[tokio::test]
async fn four_attempts_then_the_transient_answer_stands() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let (exchanges, result) = client(fast())
        .send_retrying(
            &request("GET", format!("{}/acme/thoth/settings", server.uri())),
            true,
        )
        .await;
    assert_eq!((exchanges.len(), result.unwrap().status), (4, 500));
    assert!(exchanges[3]
        .note
        .as_deref()
        .unwrap()
        .contains("no retry left"));
    let (exchanges, _) = client(RetryPolicy::never())
        .send_retrying(
            &request("GET", format!("{}/acme/thoth/settings", server.uri())),
            true,
        )
        .await;
    assert_eq!(exchanges.len(), 1, "a policy of one attempt never retries");
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (exchanges, result) = client(fast())
        .send_retrying(
            &request(
                "GET",
                format!("http://127.0.0.1:{port}/acme/thoth/settings"),
            ),
            true,
        )
        .await;
    assert!(result.is_err());
    assert_eq!(exchanges.len(), 4);
    assert!(exchanges[0]
        .note
        .as_deref()
        .unwrap()
        .contains("transport error"));
}

#[tokio::test]
async fn a_suite_step_is_retried_implicitly_and_the_transcript_says_so() {
    let server = MockServer::start().await;
    flaky(&server, "/acme/thoth/endpoints/stats", 429, Some("0"), 1).await;
    flaky(&server, "/acme/thoth/api-keys", 429, Some("0"), 1).await;
    let f = target_at(&server.uri());
    let s = suite(
        "phase: p\ntitle: t\nrunbook: r\ncases:\n  - {id: get, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /thoth/endpoints/stats}}]}\n  - {id: post, title: t, capability: c, effect: read, steps: [{request: {method: POST, path: /thoth/api-keys, json: {name: x}}}]}\n",
    );
    let mut opts = quick_opts();
    opts.client.retry = fast();
    let r = run(&f, vec![s], &opts).await;
    assert_status(&r, "get", Status::Pass);
    let transcript = case_transcript(case(&r, "get"), &Redactor::new());
    assert!(
        transcript
            .contains("  ~ answered 429; retried after 0 ms as Retry-After asked (attempt 2 of 4)"),
        "{transcript}"
    );
    let m = assert_status(&r, "post", Status::Fail);
    assert!(m.contains("got 429"), "{m}");
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/acme/thoth/api-keys")
        .count();
    assert_eq!(posts, 1, "a key create is never retried");
}
