//! One test per row of docs/hostile-targets.md: a target that misbehaves at the
//! transport or HTTP level ends each case as a clear `error` (or `fail` where it broke a
//! requirement), the run finishes inside its budget, the reports are complete, and the
//! exit code is the documented one. Rows already proved in tests/runner_http.rs are named
//! there; the table test at the bottom checks that every row names a test that exists.

use crate::common;

use std::future::Future;
use std::time::Duration;

use common::*;
use thoth_conformance::outcome::{RunResult, Status};
use thoth_conformance::runner::{RunOptions, BUDGET_EXHAUSTED};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn one_case(steps: &str) -> String {
    format!(
        "phase: p\ntitle: t\nrunbook: r\ncases:\n  - id: c\n    title: c\n    capability: cap\n    effect: read\n    steps:\n{steps}"
    )
}

const GET_STATS: &str = "      - request: {method: GET, path: /thoth/endpoints/stats}\n";

/// Options with a generous run budget: a hostile target must not keep the run past it.
fn opts() -> RunOptions {
    let mut o = quick_opts();
    o.client.request_timeout = Duration::from_secs(1);
    o.run_timeout = Some(Duration::from_secs(60));
    o
}

/// Writes every report of `r` and returns the run's exit code; asserts the run ended
/// on its own (inside the budget) and that every report file is there.
fn reports_and_exit(f: &Fixture, r: &RunResult) -> i32 {
    let out = tempfile::tempdir().unwrap();
    let paths = thoth_conformance::report::write_reports(
        r,
        &project(vec![], f.dir.path()).catalogue,
        out.path(),
        &f.redactor,
    )
    .unwrap();
    for p in paths.all() {
        assert!(p.is_file(), "{} missing", p.display());
    }
    thoth_conformance::verdict::verdict(r).exit_code
}

/// A raw TCP server: the reachability probe (`GET /`) gets an empty 200, every other
/// request is handed to `misbehave` with the socket.
async fn raw_server<F, Fut>(misbehave: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + Copy + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                if head.starts_with("GET / ") {
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    return;
                }
                misbehave(sock).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn tls_handshake_failure() {
    // https spoken to a plain-HTTP server: the TLS handshake cannot complete.
    let server = MockServer::start().await;
    let https = server.uri().replacen("http://", "https://", 1);
    let f = target_at(&https);
    let r = run(&f, vec![suite(&one_case(GET_STATS))], &opts()).await;
    let m = assert_status(&r, "c", Status::Error);
    assert!(
        m.starts_with("target unreachable: connect to 127.0.0.1:"),
        "{m}"
    );
    assert!(r.interrupted.is_some());
    assert_eq!(reports_and_exit(&f, &r), 3);
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no request got through"
    );
}

/// A real TLS server on 127.0.0.1 with a fresh self-signed certificate (no CA anyone
/// trusts) answering `{}` to everything; returns its https URL and the certificate PEM.
async fn self_signed_tls_server() -> (String, String) {
    use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let _ = tls.read(&mut buf).await;
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://{addr}"), pem)
}

#[tokio::test]
async fn untrusted_self_signed_certificate() {
    let (base, pem) = self_signed_tls_server().await;
    let f = target_at(&base);
    let r = run(&f, vec![suite(&one_case(GET_STATS))], &opts()).await;
    let m = assert_status(&r, "c", Status::Error);
    assert!(
        m.starts_with("target unreachable: connect to 127.0.0.1:"),
        "{m}"
    );
    assert!(m.to_lowercase().contains("certificate"), "{m}");
    assert_eq!(reports_and_exit(&f, &r), 3);

    // The same server, its certificate given as the private CA: the run goes through.
    let ca = f.dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let mut o = opts();
    o.client.ca_cert = Some(ca);
    let r = run(&f, vec![suite(&one_case(GET_STATS))], &o).await;
    assert_status(&r, "c", Status::Pass);
}

#[tokio::test]
async fn connection_reset_mid_response() {
    let base = raw_server(|mut sock: TcpStream| async move {
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"total\":")
            .await;
        let _ = sock.flush().await;
        // Linger 0: closing sends RST instead of FIN, a reset rather than an end.
        #[allow(deprecated)]
        let _ = sock.set_linger(Some(Duration::ZERO));
        drop(sock);
    })
    .await;
    let f = target_at(&base);
    let r = run(&f, vec![suite(&one_case(GET_STATS))], &opts()).await;
    let m = assert_status(&r, "c", Status::Error);
    assert!(m.contains("read response body"), "{m}");
    assert!(r.interrupted.is_none(), "{:?}", r.interrupted);
    assert_eq!(reports_and_exit(&f, &r), 1);
}

#[tokio::test]
async fn stall_mid_body() {
    // Headers arrive, then the body never finishes: the per-request timeout ends it.
    let base = raw_server(|mut sock: TcpStream| async move {
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"to")
            .await;
        let _ = sock.flush().await;
        tokio::time::sleep(Duration::from_secs(300)).await;
    })
    .await;
    let f = target_at(&base);
    let r = run(&f, vec![suite(&one_case(GET_STATS))], &opts()).await;
    let m = assert_status(&r, "c", Status::Error);
    assert!(
        m.contains("no complete response within 1s (request timeout)"),
        "{m}"
    );
    assert!(r.interrupted.is_none(), "{:?}", r.interrupted);
    assert_eq!(reports_and_exit(&f, &r), 1);
}

#[tokio::test]
async fn not_http_at_all() {
    // Something else listens on the port (an SSH banner): no HTTP answer, even to the
    // probe, so the target is unreachable.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        }
    });
    let f = target_at(&format!("http://{addr}"));
    let r = run(&f, vec![suite(&one_case(GET_STATS))], &opts()).await;
    let m = assert_status(&r, "c", Status::Error);
    assert!(m.starts_with("target unreachable: "), "{m}");
    assert_eq!(reports_and_exit(&f, &r), 3);
}

#[tokio::test]
async fn five_xx_storm() {
    // Every request, the probe included, answers 503 without Retry-After.
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream overloaded"))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let s = suite(
        "phase: p\ntitle: t\nrunbook: r\ncases:\n  - {id: plain, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /thoth/settings}}]}\n  - {id: retried, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /thoth/endpoints}, retry: {attempts: 3, backoff: 10ms}}]}\n  - {id: json, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /thoth/endpoints/stats}, expect: {status: 200, json: [{path: $.total, exists: true}]}}]}\n",
    );
    let mut o = opts();
    o.client.retry.base_backoff = Duration::from_millis(10);
    let r = run(&f, vec![s], &o).await;
    let m = assert_status(&r, "plain", Status::Fail);
    assert!(m.contains("expected 2xx, got 503"), "{m}");
    let m = assert_status(&r, "retried", Status::Fail);
    assert!(
        m.contains("got 503") && m.ends_with("(after 3 attempts)"),
        "{m}"
    );
    assert_status(&r, "json", Status::Fail);
    let reqs = server.received_requests().await.unwrap();
    // 1 probe + 4 (the client's policy: GETs are retried, 4 attempts) + 3 (declared:
    // the step owns its repetition, the client sends each once) + 4.
    assert_eq!(reqs.len(), 12);
    let plain = &case(&r, "plain").steps[0].exchanges;
    assert!(plain[3].note.as_deref().unwrap().contains("no retry left"));
    assert_eq!(reports_and_exit(&f, &r), 1);
}

#[tokio::test]
async fn rate_limited_429_with_retry_after() {
    let server = MockServer::start().await;
    for p in ["/acme/thoth/endpoints/stats", "/acme/thoth/endpoints"] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
            .with_priority(2)
            .mount(&server)
            .await;
    }
    let f = target_at(&server.uri());
    let s = suite(
        "phase: p\ntitle: t\nrunbook: r\ncases:\n  - {id: declared, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /thoth/endpoints/stats}, retry: {attempts: 2, backoff: 10ms}}]}\n  - {id: undeclared, title: t, capability: c, effect: read, steps: [{request: {method: GET, path: /thoth/endpoints}}]}\n",
    );
    let r = run(&f, vec![s], &opts()).await;
    assert_status(&r, "declared", Status::Pass);
    let declared = case(&r, "declared");
    assert_eq!(declared.steps[0].attempts, 2);
    // Retry-After: 1 was honoured (a lower bound, not a speed assertion).
    assert!(declared.steps[0].duration_ms >= 950);
    // Undeclared: the client retries a GET on 429 as the vendor's clients do, and
    // waits as Retry-After asks.
    assert_status(&r, "undeclared", Status::Pass);
    let undeclared = case(&r, "undeclared");
    assert!(undeclared.steps[0].duration_ms >= 950);
    assert!(undeclared.steps[0].exchanges[0]
        .note
        .as_deref()
        .unwrap()
        .contains("Retry-After"));
    let reqs = server.received_requests().await.unwrap();
    let undeclared = reqs
        .iter()
        .filter(|r| r.url.path() == "/acme/thoth/endpoints")
        .count();
    assert_eq!(undeclared, 2, "one implicit retry");
    assert_eq!(reports_and_exit(&f, &r), 0);
}

#[tokio::test]
async fn oversized_chunked_body() {
    // No content-length to refuse up front: the cap must hold while streaming.
    let base = raw_server(|mut sock: TcpStream| async move {
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("400\r\n{}\r\n", "x".repeat(1024));
        for _ in 0..10_000 {
            if sock.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let f = target_at(&base);
    let mut o = opts();
    o.client.max_body_bytes = 64 * 1024;
    let r = run(&f, vec![suite(&one_case(GET_STATS))], &o).await;
    let m = assert_status(&r, "c", Status::Error);
    assert!(m.contains("response body larger than 65536 bytes"), "{m}");
    assert_eq!(reports_and_exit(&f, &r), 1);
}

#[tokio::test]
async fn run_time_budget_exhausted() {
    // A target that asks for an hour's patience: the declared retry waits (capped), the
    // run's budget cuts it, and the case after it is never reached.
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let f = target_at(&server.uri());
    let mut first = suite(&one_case(
        "      - request: {method: GET, path: /thoth/endpoints/stats}\n        retry: {attempts: 5}\n",
    ));
    first.phase = "first".into();
    let mut second = suite(&one_case(GET_STATS));
    second.phase = "second".into();
    second.after = vec!["first".into()];
    let mut o = opts();
    o.run_timeout = Some(Duration::from_secs(1));
    let r = run(&f, vec![first, second], &o).await;
    assert_eq!(r.interrupted.as_deref(), Some(BUDGET_EXHAUSTED));
    let waiting = r.cases.iter().find(|c| c.phase == "first").unwrap();
    assert_eq!(waiting.status, Status::Error);
    assert!(
        waiting
            .message
            .as_deref()
            .unwrap()
            .ends_with("interrupted (run time budget exhausted)"),
        "{:?}",
        waiting.message
    );
    let never = r.cases.iter().find(|c| c.phase == "second").unwrap();
    assert_eq!(never.status, Status::Error);
    assert_eq!(never.message.as_deref(), Some(BUDGET_EXHAUSTED));
    assert_eq!(reports_and_exit(&f, &r), 1);
}

#[test]
fn run_timeout_flag_through_the_cli() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let reports = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
        .arg("run")
        .arg("--suites")
        .arg(root.join("suites"))
        .arg("--fixtures")
        .arg(root.join("fixtures"))
        .arg("--reports")
        .arg(reports.path())
        .args(["--run-timeout", "1ms"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.path().join("results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["run"]["interrupted"], BUDGET_EXHAUSTED);
    let cases = results["run"]["cases"].as_array().unwrap();
    assert!(cases.len() > 10);
    assert!(cases.iter().any(|c| c["message"] == BUDGET_EXHAUSTED));
    assert!(
        cases.iter().all(|c| c["status"] != "disabled"),
        "none silently dropped"
    );
    assert!(
        shown.contains("run cut short: run time budget exhausted"),
        "{shown}"
    );

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_thoth-conformance"))
        .args(["run", "--run-timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// Every row of the table in docs/hostile-targets.md names `file::test`, and that test
/// exists: the documented behaviour cannot lose its proof silently.
#[test]
fn every_row_of_the_hostile_targets_table_names_an_existing_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/hostile-targets.md")).unwrap();
    let rows: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with('|') && l.contains("::"))
        .collect();
    assert!(rows.len() >= 12, "{} rows", rows.len());
    for row in rows {
        let cell = row
            .trim_end_matches('|')
            .rsplit('|')
            .next()
            .unwrap()
            .trim()
            .trim_matches('`');
        let (file, test) = cell
            .split_once("::")
            .unwrap_or_else(|| panic!("row without `file::test`: {row}"));
        let source = std::fs::read_to_string(root.join("tests").join(format!("{file}.rs")))
            .unwrap_or_else(|e| panic!("{row}: tests/{file}.rs: {e}"));
        assert!(
            source.contains(&format!("async fn {test}()"))
                || source.contains(&format!("fn {test}()")),
            "{row}: no test `{test}` in tests/{file}.rs"
        );
    }
}
