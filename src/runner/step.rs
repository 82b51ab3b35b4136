//! One step: send its action as its policy says (once, `eventually`, `retry`, or the
//! sink poller), check the expectations, take the captures and record what it created.

use std::time::Instant;

use serde_json::Value;

use super::attempt::{CaseState, StepEnv, StepExec};
use super::expect::{capture, Failure, StatusKind};
use super::poll::{self, Polled};
use crate::outcome::{Status, StepResult};
use crate::suite::model::{Action, Expect, ResourceKind, StatusSet, Step};
use crate::template::Vars;

/// The default name of the n-th (0-based) step.
pub fn step_name(step: &Step, index: usize) -> String {
    step.name
        .clone()
        .unwrap_or_else(|| format!("step {}", index + 1))
}

/// The step's expectations, with a thothctl `exit_code` standing in for an unset
/// `expect.status` (both say which exit code is a success).
fn effective_expect(step: &Step) -> std::borrow::Cow<'_, Expect> {
    match (&step.action, &step.expect.status) {
        (Action::Thothctl(ctl), StatusSet::AnySuccess) => match ctl.exit_code.map(u16::try_from) {
            Some(Ok(code)) => {
                let mut e = step.expect.clone();
                e.status = StatusSet::One(code);
                std::borrow::Cow::Owned(e)
            }
            _ => std::borrow::Cow::Borrowed(&step.expect),
        },
        _ => std::borrow::Cow::Borrowed(&step.expect),
    }
}

/// Runs one step to its verdict; captures land in `vars` only when it passed.
pub async fn run_step(
    env: &StepEnv<'_>,
    step: &Step,
    name: &str,
    state: &mut CaseState,
    vars: &mut Vars,
) -> StepResult {
    let started = Instant::now();
    let kind = match step.action {
        Action::Thothctl(_) => StatusKind::ExitCode,
        Action::Request(_) | Action::Admin(_) | Action::PamCallback(_) | Action::SinkWait(_) => {
            StatusKind::Http
        }
    };
    let expect = effective_expect(step);
    let case_id = state.case_id.clone();
    let mut exec = StepExec::new(env, step, name, state, &expect, kind);
    // A creating step holds the recorder's create guard from before it sends until its
    // record is in the ledger: an abort (second Ctrl-C, SIGTERM) waits for it, so no
    // created record is ever left unrecorded by an interrupt.
    let creating = match env.recorder {
        Some(rec) if !step.creates.is_empty() => Some(rec.creating().await),
        _ => None,
    };
    let polled = if let Action::SinkWait(sink) = &step.action {
        super::sink::sink_wait(&mut exec, sink, vars).await
    } else if let Some(policy) = &step.eventually {
        poll::eventually(&mut exec, policy, &expect, kind, vars).await
    } else if let Some(policy) = &step.retry {
        match step.action.http() {
            Some(r) if r.method.is_idempotent() => {
                poll::retry(&mut exec, policy, &expect, kind, vars).await
            }
            _ => Polled {
                attempts: 0,
                exchanges: Vec::new(),
                result: Err(Failure::error(
                    "retry is only allowed on idempotent requests (GET, PUT, DELETE)",
                )),
            },
        }
    } else {
        poll::once(&mut exec, &expect, kind, vars).await
    };
    if step.creates.iter().any(|c| c.kind == ResourceKind::ApiKey) {
        // Whatever a create answer holds is taken for a secret unless known otherwise,
        // before anything (a failed check, a capture naming the wrong field) can show it.
        for x in &polled.exchanges {
            let ok = x.status.is_some_and(|s| (200..300).contains(&s));
            if let (true, Some(body)) = (ok, &x.response_body) {
                if let Ok(answer) = serde_json::from_str::<Value>(body) {
                    let sent = x.request_body.as_deref().unwrap_or_default();
                    crate::redact::register_create_answer(&answer, sent, env.redactor);
                }
            }
        }
    }
    // An HTTP request the server answered 4xx (and the step expected it) is a refusal:
    // nothing was created. Only for a `request` step: a thothctl command makes several
    // requests, and its last one failing says nothing about the records it made first.
    let refused = matches!(step.action, Action::Request(_))
        && polled
            .exchanges
            .last()
            .and_then(|x| x.status)
            .is_some_and(|s| (400..500).contains(&s));
    let mut record_tried = false;
    let result = polled
        .result
        .and_then(|obs| capture(&step.capture, &obs, vars, env.redactor))
        .and_then(|()| match env.recorder {
            // Recorded before the next step runs, so a crash from here on leaves it in
            // the ledger.
            Some(rec) if !step.creates.is_empty() => {
                record_tried = true;
                rec.record_step(step, name, env.phase, case_id.as_deref(), vars, refused)
                    .map_err(|e| Failure::error(e.to_string()))
            }
            _ => Ok(()),
        });
    let result = match (result, env.recorder) {
        // The server may have created the record although the step failed after it
        // (a renamed id field, a failed expectation): learn its id from the answer, or
        // put it in the ledger as lost, which keeps the cleanup incomplete (exit 6).
        (Err(f), Some(rec)) if !step.creates.is_empty() && !record_tried => {
            match rec.record_after_failure(
                step,
                name,
                env.phase,
                case_id.as_deref(),
                vars,
                &polled.exchanges,
            ) {
                Ok(()) => Err(f),
                Err(e) => Err(Failure {
                    message: format!("{}; {e}", f.message),
                    ..f
                }),
            }
        }
        (r, _) => r,
    };
    drop(creating);
    let (status, message) = match result {
        Ok(()) => (Status::Pass, None),
        Err(f) => (f.status, Some(f.message)),
    };
    StepResult {
        name: name.to_string(),
        status,
        message,
        attempts: polled.attempts,
        exchanges: polled.exchanges,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}
