//! Per-case evidence events for a SIEM: `--evidence-jsonl FILE` writes one JSON line
//! per finished case, `--evidence-webhook URL` POSTs each one, signed like the target's
//! own webhooks, so the acceptance run itself shows up next to the events it checks.
//!
//! An event (`"event": "conformance.case"`) carries: `run_id`, `tenant`, `target`
//! (mock/live), `harness_version`, `suites_hash`, `shard` (`I/N` or null), `phase`,
//! `case`, `title`, `requirements`, `verdict` (pass/fail/error/skip/disabled),
//! `message`, `started_at`, `duration_ms` and `time` (when the verdict was reached,
//! RFC 3339). Every string passes through the redactor before it is written or sent.
//!
//! Webhook deliveries carry `X-Thoth-Event: conformance.case` and the timestamp and
//! signature headers of the target's webhook scheme ([`SignatureScheme`]), signed with
//! the webhook secret. They are sent one at a time, in case completion order, from a
//! task of their own, so a slow receiver never slows the run. A delivery that fails
//! is recorded (stderr and `results.json`), never retried and never changes a verdict;
//! after [`GIVE_UP_AFTER`] failures in a row the rest are not sent (a dead receiver
//! must not add a timeout per case to the run).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::client::{ClientOptions, HttpClient, HttpRequest};
use crate::outcome::{CaseResult, EvidenceDelivery};
use crate::redact::Redactor;
use crate::signing::SignatureScheme;
use crate::stamp::now_rfc3339;
use crate::suite::load::suites_hash;
use crate::suite::load::Project;
use crate::target::{require_secure, Target};

/// The `event` field and the `X-Thoth-Event` header.
pub const EVENT_TYPE: &str = "conformance.case";
/// Consecutive failed deliveries after which the remaining events are not sent.
pub const GIVE_UP_AFTER: usize = 3;

/// One case's evidence event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CaseEvent {
    pub event: String,
    pub run_id: String,
    pub tenant: String,
    pub target: String,
    pub harness_version: String,
    pub suites_hash: String,
    pub shard: Option<String>,
    pub phase: String,
    pub case: String,
    pub title: String,
    pub requirements: Vec<String>,
    pub verdict: String,
    pub message: Option<String>,
    pub started_at: String,
    pub duration_ms: u64,
    pub time: String,
}

/// What every event of a run shares.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    pub tenant: String,
    pub target_kind: String,
    pub harness_version: String,
    pub suites_hash: String,
    pub shard: Option<String>,
}

impl CaseEvent {
    pub fn new(ctx: &RunContext, case: &CaseResult, time: String) -> Self {
        CaseEvent {
            event: EVENT_TYPE.to_owned(),
            run_id: ctx.run_id.clone(),
            tenant: ctx.tenant.clone(),
            target: ctx.target_kind.clone(),
            harness_version: ctx.harness_version.clone(),
            suites_hash: ctx.suites_hash.clone(),
            shard: ctx.shard.clone(),
            phase: case.phase.clone(),
            case: case.case_id.clone(),
            title: case.title.clone(),
            requirements: case.requirements.clone(),
            verdict: case.status.as_str().to_owned(),
            message: case.message.clone(),
            started_at: case.started_at.clone(),
            duration_ms: case.duration_ms,
            time,
        }
    }
}

/// Where and how to POST events.
pub struct WebhookConfig {
    pub url: String,
    pub secret: String,
    pub scheme: SignatureScheme,
    pub client: HttpClient,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("failed to create evidence file `{}`: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to configure --evidence-webhook: {0}")]
    Webhook(String),
    #[error("failed to configure --evidence-webhook: it needs the webhook secret (THOTH_WEBHOOK_SECRET)")]
    NoSecret,
}

/// `run`'s evidence flags.
#[derive(Debug, Clone, Default)]
pub struct EvidenceOptions {
    pub jsonl: Option<PathBuf>,
    pub webhook: Option<String>,
    /// `I/N` when the run is a shard.
    pub shard: Option<String>,
}

/// The sink for a run against `target`, or `None` when no evidence flag is set.
pub fn open_for_run(
    opts: &EvidenceOptions,
    target: &Target,
    project: &Project,
    run_id: &str,
    client: &ClientOptions,
    redactor: &Redactor,
) -> Result<Option<EvidenceSink>, EvidenceError> {
    if opts.jsonl.is_none() && opts.webhook.is_none() {
        return Ok(None);
    }
    let webhook = match &opts.webhook {
        None => None,
        Some(url) => {
            require_secure("the evidence webhook", url).map_err(|e| {
                EvidenceError::Webhook(match e {
                    crate::target::TargetError::Insecure(_) => format!(
                        "{} must use https (plain http only for loopback hosts)",
                        shown_url(url)
                    ),
                    _ => "it is not a valid http(s) URL".to_owned(),
                })
            })?;
            let secret = crate::target::exposed(&target.webhook_secret)
                .map(str::to_owned)
                .ok_or(EvidenceError::NoSecret)?;
            let client = HttpClient::new(client.clone())
                .map_err(|e| EvidenceError::Webhook(e.to_string()))?;
            Some(WebhookConfig {
                url: url.clone(),
                secret,
                scheme: target.schemes.webhook.clone(),
                client,
            })
        }
    };
    let ctx = RunContext {
        run_id: run_id.to_owned(),
        tenant: target.tenant.clone(),
        target_kind: target.kind.as_str().to_owned(),
        harness_version: env!("CARGO_PKG_VERSION").to_owned(),
        suites_hash: suites_hash(project),
        shard: opts.shard.clone(),
    };
    EvidenceSink::open(ctx, opts.jsonl.as_deref(), webhook, redactor).map(Some)
}

/// The URL as shown in messages and results.json: origin only, since a webhook URL's
/// path or query may itself carry a token (Slack-style hooks, `?token=`).
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}/…", u.origin().ascii_serialization()),
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

/// The signed request for one event body (also used by tests to check the scheme).
pub fn signed_request(cfg: &WebhookConfig, body: Vec<u8>, ts: &str) -> HttpRequest {
    let signature = cfg.scheme.sign(cfg.secret.as_bytes(), ts, &body);
    HttpRequest {
        method: "POST".into(),
        url: cfg.url.clone(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Thoth-Event".into(), EVENT_TYPE.into()),
            (cfg.scheme.timestamp_header.clone(), ts.to_owned()),
            (cfg.scheme.signature_header.clone(), signature),
        ],
        body: Some(body),
    }
}

struct Outbound {
    name: String,
    body: Vec<u8>,
}

/// Receives finished cases (from the runner's `on_case`, synchronously) and turns them
/// into events; [`EvidenceSink::finish`] waits for the last delivery.
pub struct EvidenceSink {
    ctx: RunContext,
    redactor: Redactor,
    jsonl: Option<Mutex<std::fs::File>>,
    tx: Option<mpsc::UnboundedSender<Outbound>>,
    task: Option<tokio::task::JoinHandle<(usize, Vec<String>)>>,
    summary: Mutex<EvidenceDelivery>,
    order: Mutex<()>,
}

impl EvidenceSink {
    /// Creates (truncates) the JSONL file and starts the delivery task. Must be called
    /// inside a tokio runtime when `webhook` is set.
    pub fn open(
        ctx: RunContext,
        jsonl: Option<&Path>,
        webhook: Option<WebhookConfig>,
        redactor: &Redactor,
    ) -> Result<EvidenceSink, EvidenceError> {
        let file = match jsonl {
            Some(path) => {
                let err = |source| EvidenceError::Create {
                    path: path.to_owned(),
                    source,
                };
                // Usually inside the reports directory, which the run creates only later.
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                Some(std::fs::File::create(path).map_err(err)?)
            }
            None => None,
        };
        let summary = EvidenceDelivery {
            jsonl: jsonl.map(|p| redactor.redact(&p.display().to_string())),
            webhook: webhook
                .as_ref()
                .map(|w| redactor.redact(&shown_url(&w.url))),
            ..EvidenceDelivery::default()
        };
        let (tx, task) = match webhook {
            Some(cfg) => {
                let (tx, rx) = mpsc::unbounded_channel();
                let task = tokio::spawn(deliver_all(cfg, rx, redactor.clone()));
                (Some(tx), Some(task))
            }
            None => (None, None),
        };
        Ok(EvidenceSink {
            ctx,
            redactor: redactor.clone(),
            jsonl: file.map(Mutex::new),
            tx,
            task,
            summary: Mutex::new(summary),
            order: Mutex::new(()),
        })
    }

    /// Records one finished case: a JSONL line and/or a queued delivery.
    pub fn record(&self, case: &CaseResult) {
        let event = CaseEvent::new(&self.ctx, case, now_rfc3339());
        let value = match serde_json::to_value(&event) {
            Ok(v) => self.redactor.redact_json(&v),
            Err(e) => {
                self.failure(format!(
                    "failed to encode the event of {}: {e}",
                    case.full_name()
                ));
                return;
            }
        };
        let body = value.to_string();
        self.summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .events += 1;
        // One lock over the line and the queue, so phases finishing at once appear in
        // the same order in the file and at the receiver.
        let _order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = &self.jsonl {
            let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
            // One write per line, flushed: a run cut short still leaves whole lines.
            let line = format!("{body}\n");
            if let Err(e) = f.write_all(line.as_bytes()).and_then(|_| f.flush()) {
                drop(f);
                self.failure(format!(
                    "failed to write the event of {} to the evidence file: {e}",
                    case.full_name()
                ));
            }
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(Outbound {
                name: self.redactor.redact(&case.full_name()),
                body: body.into_bytes(),
            });
        }
    }

    fn failure(&self, line: String) {
        let line = self.redactor.redact(&line);
        self.summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failures
            .push(line);
    }

    /// Waits for every queued delivery and returns what happened.
    pub async fn finish(mut self) -> EvidenceDelivery {
        drop(self.tx.take());
        let mut summary = self
            .summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(task) = self.task.take() {
            match task.await {
                Ok((delivered, failures)) => {
                    summary.delivered = delivered;
                    summary.failures.extend(failures);
                }
                Err(e) => summary
                    .failures
                    .push(format!("failed to finish the webhook deliveries: {e}")),
            }
        }
        summary
    }
}

async fn deliver_all(
    cfg: WebhookConfig,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    redactor: Redactor,
) -> (usize, Vec<String>) {
    let mut delivered = 0;
    let mut failures = Vec::new();
    let mut in_a_row = 0;
    let mut not_sent = 0;
    while let Some(out) = rx.recv().await {
        if in_a_row >= GIVE_UP_AFTER {
            not_sent += 1;
            continue;
        }
        let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let req = signed_request(&cfg, out.body, &ts);
        let (_, result) = cfg.client.send(&req).await;
        let problem = match result {
            Ok(resp) if (200..300).contains(&resp.status) => None,
            Ok(resp) => Some(format!("HTTP {}", resp.status)),
            Err(e) => Some(e.to_string()),
        };
        match problem {
            None => {
                delivered += 1;
                in_a_row = 0;
            }
            Some(why) => {
                in_a_row += 1;
                failures.push(redactor.redact(&format!(
                    "failed to deliver the evidence event of {} to {}: {why}",
                    out.name,
                    shown_url(&cfg.url)
                )));
            }
        }
    }
    if not_sent > 0 {
        failures.push(redactor.redact(&format!(
            "failed to deliver {not_sent} more evidence event(s) to {}: not sent after {GIVE_UP_AFTER} failed deliveries in a row",
            shown_url(&cfg.url)
        )));
    }
    (delivered, failures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::suite::model::{Effect, Surface};

    fn ctx() -> RunContext {
        RunContext {
            run_id: "0badc0de".into(),
            tenant: "acme".into(),
            target_kind: "live".into(),
            harness_version: "0.1.0".into(),
            suites_hash: "abc".into(),
            shard: Some("1/2".into()),
        }
    }

    fn failed_case(message: &str) -> CaseResult {
        CaseResult {
            phase: "pam_callback".into(),
            case_id: "replay_ignored".into(),
            title: "Replayed callback is ignored".into(),
            status: Status::Fail,
            message: Some(message.into()),
            requirements: vec!["RB-P4-02".into()],
            capability: "pam".into(),
            surface: Surface::Api,
            effect: Effect::Mutate,
            steps: vec![],
            cleanup: vec![],
            duration_ms: 42,
            started_at: "2026-11-24T13:00:00Z".into(),
            expectation: None,
        }
    }

    #[test]
    fn jsonl_lines_are_redacted_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/events.jsonl");
        let redactor = Redactor::new();
        redactor.add_secret("pam_super_secret_value").unwrap();
        let sink = EvidenceSink::open(ctx(), Some(&path), None, &redactor).unwrap();
        sink.record(&failed_case(
            "expected 409, body echoed pam_super_secret_value",
        ));
        let summary = futures::executor::block_on(sink.finish());
        assert_eq!(summary.events, 1);
        assert!(summary.failures.is_empty());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("pam_super_secret_value"), "{text}");
        let event: CaseEvent = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(event.event, EVENT_TYPE);
        assert_eq!(event.verdict, "fail");
        assert_eq!(event.shard.as_deref(), Some("1/2"));
        assert_eq!(event.requirements, ["RB-P4-02"]);
        assert_eq!(event.duration_ms, 42);
        assert!(event.message.unwrap().contains("[REDACTED]"));
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn the_request_is_signed_with_the_scheme_over_the_exact_body() {
        let cfg = WebhookConfig {
            url: "https://siem.example.com/hooks/thoth?token=abc".into(),
            secret: "whsec_0123456789".into(),
            scheme: SignatureScheme::default(),
            client: HttpClient::new(ClientOptions::default()).unwrap(),
        };
        let req = signed_request(&cfg, b"{\"a\":1}".to_vec(), "1700000000");
        assert_eq!(req.method, "POST");
        let h = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(h("X-Thoth-Event"), "conformance.case");
        assert_eq!(h("X-Thoth-Timestamp"), "1700000000");
        cfg.scheme
            .verify_headers(b"whsec_0123456789", &req.headers, b"{\"a\":1}")
            .unwrap();
        assert_eq!(shown_url(&cfg.url), "https://siem.example.com/…");
    }
}
