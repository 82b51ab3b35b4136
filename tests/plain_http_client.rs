//! A run whose targets are all plain http never builds a client that trusts the system
//! roots (each such build reads the system CA store: hundreds of file opens per
//! process); the first https request builds one, once. One test in this binary, so the
//! process-wide count is this test's alone.

mod common;

use common::*;
use thoth_conformance::client::{tls_clients_built, ClientOptions, HttpClient, HttpRequest};
use thoth_conformance::outcome::Status;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn plain_http_runs_read_no_ca_store_and_https_builds_one_tls_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/acme/thoth/endpoints/stats"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"total": 0})))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let s = suite(
        "phase: p\ntitle: t\nrunbook: r\ncases:\n  - id: c\n    title: c\n    capability: cap\n    effect: read\n    steps:\n      - request: {method: GET, path: /thoth/endpoints/stats}\n        expect: {status: 200}\n",
    );
    let run = run(&f, vec![s], &quick_opts()).await;
    assert_status(&run, "c", Status::Pass);
    assert_eq!(
        tls_clients_built(),
        0,
        "a plain-http run built a TLS client"
    );

    let client = HttpClient::new(ClientOptions::default()).unwrap();
    let https = HttpRequest {
        method: "GET".into(),
        // Nothing listens there: the request fails, but only after the TLS client exists.
        url: "https://127.0.0.1:9/".into(),
        headers: Vec::new(),
        body: None,
    };
    for _ in 0..2 {
        let (_, result) = client.clone().send(&https).await;
        assert!(result.is_err());
    }
    assert!(client.tls_built());
    assert_eq!(tls_clients_built(), 1, "clones share one TLS client");
}
