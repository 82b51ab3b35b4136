//! Issue 17, "The tenant": a target that answers oddly, an operator who shares a ledger
//! path, and a local attacker who edits a ledger must not make the harness damage the
//! tenant. Each test is a row of docs/live-safety.md ("Hostile answers and ledgers").
//! Hostile answers come from a small wiremock server standing in for GovAPI; the rest
//! runs against the mock.

use crate::safety_support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use thoth_conformance::client::{ClientOptions, HttpClient};
use thoth_conformance::outcome::Exchange;
use thoth_conformance::redact::Redactor;
use thoth_conformance::safety::ledger::{Created, LedgerError, UndoRequest};
use thoth_conformance::safety::session::{cleanup_ledger, start_ledger, SessionError};
use thoth_conformance::safety::undo::CleanupOutcome;
use thoth_conformance::safety::{Recorder, Replay};
use thoth_conformance::suite::model::ResourceKind;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use safety_support::*;

fn client() -> HttpClient {
    HttpClient::new(ClientOptions::default()).unwrap()
}

async fn hostile() -> MockServer {
    MockServer::start().await
}

async fn answer(server: &MockServer, m: &str, p: &str, status: u16, body: Value) {
    Mock::given(method(m))
        .and(path(format!("/{TENANT}{p}")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

/// Requests the hostile server got that change something.
async fn writes_to(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

/// A live target at `base` and a recorder with a fresh ledger in `dir`.
fn live_recorder(
    base: &str,
    dir: &std::path::Path,
    run_id: &str,
) -> (thoth_conformance::target::Target, Recorder) {
    let target = live_target(base, dir, &Redactor::new());
    let ledger = start_ledger(&dir.join("ledger.jsonl"), &target, run_id).unwrap();
    (target, Recorder::new(ledger))
}

fn kinds(k: &[ResourceKind]) -> BTreeSet<ResourceKind> {
    k.iter().copied().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn bare_provider_lists_are_refused_before_any_mutation() {
    let server = hostile().await;
    answer(
        &server,
        "GET",
        "/thoth/settings",
        200,
        json!({"compliance_profile": "soc2", "updated_at": null}),
    )
    .await;
    answer(&server, "PUT", "/thoth/settings", 200, json!({})).await;
    // The production Jamf provider, as a bare array: not a shape the vendor clients read.
    answer(
        &server,
        "GET",
        "/thoth/mdm/providers",
        200,
        json!([{"provider": "jamf", "enabled": true, "config": {"client_secret": "********"}}]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (target, recorder) = live_recorder(&server.uri(), dir.path(), "ba4e1157");
    let err = recorder
        .snapshot(&client(), &target, &kinds(&[ResourceKind::MdmProvider]))
        .await
        .expect_err("a bare array must not read as `no providers`");
    assert!(err.to_string().contains("bare array"), "{err}");
    // Rows under another name are refused too.
    server.reset().await;
    answer(
        &server,
        "GET",
        "/thoth/browser/providers",
        200,
        json!({"providers": [{"provider": "chrome"}]}),
    )
    .await;
    let err = recorder
        .snapshot(&client(), &target, &kinds(&[ResourceKind::BrowserProvider]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`providers`"), "{err}");
    assert!(writes_to(&server).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_that_is_not_this_tenants_settings_is_never_relied_on() {
    for wrong in [
        json!({"ok": true}),
        json!([]),
        json!({"data": [], "total": 0}),
        json!({"tenant_id": "globex", "compliance_profile": "soc2"}),
    ] {
        let server = hostile().await;
        answer(&server, "GET", "/thoth/settings", 200, wrong.clone()).await;
        answer(&server, "PUT", "/thoth/settings", 200, json!({})).await;
        let dir = tempfile::tempdir().unwrap();
        let (target, recorder) = live_recorder(&server.uri(), dir.path(), "5a5a0001");
        let err = recorder
            .snapshot(&client(), &target, &kinds(&[ResourceKind::Settings]))
            .await
            .expect_err("a wrong snapshot answer must be refused");
        assert!(err.to_string().contains("settings"), "{wrong}: {err}");
        assert!(
            writes_to(&server).await.is_empty(),
            "{wrong}: something was sent"
        );
        let replay = Replay::read(&dir.path().join("ledger.jsonl")).unwrap();
        assert!(replay.created.is_empty(), "{wrong}: recorded as a restore");
    }
}

fn created(kind: ResourceKind, id: &str, undo: UndoRequest) -> Created {
    Created {
        seq: 0,
        kind,
        id: id.into(),
        phase: Some("p".into()),
        case: None,
        step: None,
        at: "x".into(),
        undo: Some(undo),
        note: None,
        lost: None,
    }
}

fn delete_key(id: &str) -> Created {
    created(
        ResourceKind::ApiKey,
        id,
        UndoRequest {
            method: "DELETE".into(),
            path: format!("/thoth/api-keys/{id}"),
            body: None,
            ok_status: Vec::new(),
        },
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undo_counts_only_when_the_record_reads_back_undone() {
    let server = hostile().await;
    // 200 with a garbage body, and the key still listed active.
    answer(
        &server,
        "DELETE",
        "/thoth/api-keys/key_1",
        200,
        json!("garbage"),
    )
    .await;
    answer(
        &server,
        "GET",
        "/thoth/api-keys",
        200,
        json!({"api_keys": [{"key_id": "key_1", "active": true}]}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let target = live_target(&server.uri(), dir.path(), &Redactor::new());
    let path = dir.path().join("ledger.jsonl");
    let ledger = start_ledger(&path, &target, "2cc00001").unwrap();
    ledger.record(delete_key("key_1")).unwrap();
    drop(ledger);
    let report = cleanup_ledger(&path, &target, &client()).await.unwrap();
    assert!(!report.complete, "{report:?}");
    let e = &report.entries[0];
    assert_eq!(e.outcome, CleanupOutcome::Failed);
    assert!(
        e.message
            .as_deref()
            .unwrap()
            .contains("still reads back active"),
        "{e:?}"
    );
    assert_eq!(
        Replay::read(&path).unwrap().pending().len(),
        1,
        "still pending"
    );

    // Once the key reads back revoked, the same undo counts.
    server.reset().await;
    answer(&server, "DELETE", "/thoth/api-keys/key_1", 200, json!({})).await;
    answer(
        &server,
        "GET",
        "/thoth/api-keys",
        200,
        json!({"api_keys": [{"key_id": "key_1", "active": false}]}),
    )
    .await;
    let report = cleanup_ledger(&path, &target, &client()).await.unwrap();
    assert!(report.complete, "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_ledger_sends_nothing_outside_the_harness_own_undos() {
    let mock = standalone_mock().await;
    let base = mock.base_url.trim_end_matches('/').to_string();
    let dir = tempfile::tempdir().unwrap();
    let target = live_target(&base, dir.path(), &Redactor::new());
    let path = dir.path().join("ledger.jsonl");
    let ledger = start_ledger(&path, &target, "7a3b0001").unwrap();
    let undo = |m: &str, p: &str, body: Option<Value>| UndoRequest {
        method: m.into(),
        path: p.into(),
        body,
        ok_status: Vec::new(),
    };
    for c in [
        created(
            ResourceKind::ApiKey,
            "x",
            undo("POST", "/../../__admin/reset", None),
        ),
        created(
            ResourceKind::ApiKey,
            "k",
            undo("DELETE", "/../globex/thoth/api-keys/k", None),
        ),
        created(
            ResourceKind::MdmProvider,
            "jamf",
            undo(
                "POST",
                "/thoth/mdm/providers/../../../__admin/reset",
                Some(json!({"provider": "jamf"})),
            ),
        ),
        created(
            ResourceKind::Settings,
            "settings",
            undo("PUT", "/thoth/settings", Some(json!({"ok": true}))),
        ),
    ] {
        ledger.record(c).unwrap();
    }
    drop(ledger);
    reqwest::Client::new()
        .delete(format!("{base}/__admin/journal"))
        .send()
        .await
        .unwrap();
    let report = cleanup_ledger(&path, &target, &client()).await.unwrap();
    assert!(!report.complete);
    for e in &report.entries {
        assert_eq!(e.outcome, CleanupOutcome::Failed, "{e:?}");
        assert!(
            e.message.as_deref().unwrap().starts_with("refused"),
            "{e:?}"
        );
    }
    assert!(journal(&base).await.is_empty(), "a tampered undo was sent");
    mock.shutdown().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_is_private_locked_and_never_overwritten_while_it_says_something() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let target = live_target("http://127.0.0.1:9", dir.path(), &Redactor::new());
    let path = dir.path().join("ledger.jsonl");
    // A pre-existing world-readable file is made 0600 when opened.
    std::fs::write(&path, "").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ledger = start_ledger(&path, &target, "0600aaaa").unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A second run on the same path is refused while the first has it open.
    match start_ledger(&path, &target, "0600bbbb") {
        Err(SessionError::Ledger(LedgerError::InUse { .. })) => {}
        other => panic!("a shared ledger path must be refused: {other:?}"),
    }
    ledger.record(delete_key("key_9")).unwrap();
    drop(ledger);
    // Pending records: not overwritten; a broken file: not overwritten either.
    assert!(matches!(
        start_ledger(&path, &target, "0600cccc"),
        Err(SessionError::Unfinished { pending: 1, .. })
    ));
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, "{\"op\":\"begin\"\nnot json\n{}\n").unwrap();
    assert!(matches!(
        start_ledger(&broken, &target, "0600dddd"),
        Err(SessionError::Unreadable { .. })
    ));
    assert!(std::fs::read_to_string(&broken)
        .unwrap()
        .contains("not json"));
    // cleanup reopens it 0600 too.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _ = thoth_conformance::safety::Ledger::open_append(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

fn exchange(status: i64, body: Value) -> Exchange {
    Exchange {
        request_line: "POST http://x/acme/thoth/api-keys".into(),
        status: Some(status),
        response_body: Some(body.to_string()),
        ..Exchange::default()
    }
}

fn key_step() -> thoth_conformance::suite::model::Step {
    let yaml = r#"
name: create key
request: { method: POST, path: /thoth/api-keys, json: { name: k } }
capture: { key_id: "$.key_id" }
creates:
  - kind: api_key
    id: "{{key_id}}"
    undo: { method: DELETE, path: "/thoth/api-keys/{{key_id}}" }
"#;
    serde_saphyr::from_str(yaml).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_created_key_is_recorded_whatever_its_id_field_or_the_cleanup_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let target = live_target("http://127.0.0.1:9", dir.path(), &Redactor::new());
    let path = dir.path().join("ledger.jsonl");
    let recorder = Recorder::new(start_ledger(&path, &target, "4e7f0001").unwrap());
    let step = key_step();
    let vars = thoth_conformance::template::Vars::new();
    // The capture `$.key_id` failed: the answer names it `id` (and the key `key`).
    recorder
        .record_after_failure(
            &step,
            "create key",
            "p",
            None,
            &vars,
            &[exchange(
                201,
                json!({"id": "key_renamed", "key": "thoth_secret"}),
            )],
        )
        .unwrap();
    let replay = Replay::read(&path).unwrap();
    let c = replay.created.values().next().unwrap();
    assert_eq!(c.id, "key_renamed");
    assert_eq!(c.undo.as_ref().unwrap().path, "/thoth/api-keys/key_renamed");

    // No id anywhere: a `lost` entry, pending, which keeps the cleanup incomplete.
    recorder
        .record_after_failure(
            &step,
            "create key",
            "p",
            None,
            &vars,
            &[exchange(201, json!({"key": "thoth_secret"}))],
        )
        .unwrap();
    // A refused create (4xx) created nothing: nothing recorded.
    recorder
        .record_after_failure(
            &step,
            "create key",
            "p",
            None,
            &vars,
            &[exchange(400, json!({"error": "x"}))],
        )
        .unwrap();
    let replay = Replay::read(&path).unwrap();
    assert_eq!(replay.created.len(), 2);
    let lost = replay.created.values().find(|c| c.lost.is_some()).unwrap();
    assert!(
        lost.lost.as_deref().unwrap().contains("could not be read"),
        "{lost:?}"
    );
    assert!(!lost.lost.as_deref().unwrap().contains("thoth_secret"));
    // A live tenant's ledger: each record waited for the disk, and the undo's marks
    // wait once, at its end.
    let synced = recorder.ledger.syncs();
    assert_eq!(synced, 3, "the begin line and the two records");
    let report =
        thoth_conformance::safety::undo_pending(&recorder.ledger, &replay, &target, &client())
            .await;
    assert_eq!(
        recorder.ledger.syncs(),
        synced + 1,
        "one sync for the marks"
    );
    assert!(
        !report.complete,
        "an unrecorded creation must fail the cleanup (exit 6)"
    );
    let failed = report
        .entries
        .iter()
        .find(|e| e.outcome == CleanupOutcome::Failed)
        .unwrap();
    assert!(
        failed
            .message
            .as_deref()
            .unwrap()
            .starts_with("not recorded"),
        "{failed:?}"
    );
}

/// A GovAPI stand-in whose list GETs answer only once `together` of them are in flight
/// at once (503 after 5 s otherwise, so a run that reads one after another ends instead
/// of hanging): a snapshot that reads its lists one at a time cannot pass it.
async fn answers_only_side_by_side(together: usize) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(together));
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let wait = tokio::time::timeout(std::time::Duration::from_secs(5), barrier.wait());
                let (status, body) = match wait.await {
                    Ok(_) => ("200 OK", r#"{"data": [], "total": 0}"#),
                    Err(_) => ("503 Service Unavailable", r#"{"error": "alone"}"#),
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread")]
async fn the_snapshot_reads_its_lists_side_by_side() {
    // The kinds whose rows the restore keys (the providers): each read as a list.
    let kinds = kinds(&[ResourceKind::MdmProvider, ResourceKind::BrowserProvider]);
    let base = answers_only_side_by_side(kinds.len()).await;
    let dir = tempfile::tempdir().unwrap();
    let (target, recorder) = live_recorder(&base, dir.path(), "51de0001");
    recorder
        .snapshot(&client(), &target, &kinds)
        .await
        .expect("every list read at once");
}
