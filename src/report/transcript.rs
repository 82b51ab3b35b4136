//! A readable, redacted transcript of a case: every exchange of every step, cleanup
//! apart. It goes into JUnit's `system-out`, where CI shows it next to the failure.

use std::fmt::Write as _;

use crate::outcome::{CaseResult, Exchange, StepResult};
use crate::redact::{mask_credential_header, Redactor};

/// Bodies longer than this (after redaction) are cut, with a note saying how much.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The header value as shown: credentials masked (keeping an auth scheme such as
/// `Bearer`, which tells a reader which credential was used), everything else redacted.
pub fn shown_header_value(name: &str, value: &str, redactor: &Redactor) -> String {
    mask_credential_header(name, value).unwrap_or_else(|| redactor.redact(value))
}

/// Redacts, then cuts to [`MAX_BODY_BYTES`] on a character boundary. Redacting first
/// matters: a cut through a secret would otherwise leave its first half unredacted.
pub fn shown_body(body: &str, redactor: &Redactor) -> String {
    let body = redactor.redact(body);
    if body.len() <= MAX_BODY_BYTES {
        return body;
    }
    let mut cut = MAX_BODY_BYTES;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n[... truncated: {} of {} bytes not shown]",
        &body[..cut],
        body.len() - cut,
        body.len()
    )
}

/// The "route" of a case: the request of the step that decided it (method and path,
/// without scheme, host or query), or None when it sent nothing. Every report names it
/// next to a failure, so a reader knows which endpoint answered wrong.
pub fn route(case: &CaseResult) -> Option<String> {
    let step = case
        .steps
        .iter()
        .find(|s| s.status == case.status)
        .or(case.steps.last())?;
    let line = &step.exchanges.last()?.request_line;
    let (method, url) = line.split_once(' ')?;
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    // The query can carry identifiers; the route is what a reader looks up.
    let path = path.split('?').next().unwrap_or(path);
    Some(format!("{method} {path}"))
}

/// The message of the step that decided the verdict (what was expected and what came):
/// the first failing (or erroring) step's, else the case's own message.
pub fn deciding_message(case: &CaseResult) -> Option<&str> {
    case.steps
        .iter()
        .find(|s| s.status == case.status && s.message.is_some())
        .and_then(|s| s.message.as_deref())
        .or(case.message.as_deref())
}

/// `[REQ-1, REQ-2] POST /v1/route: why`, unredacted: the one line every report shows
/// for a failure or error, so each CI viewer names the requirement and the route.
pub fn failure_summary(case: &CaseResult) -> String {
    let reqs = if case.requirements.is_empty() {
        "no requirement".to_string()
    } else {
        case.requirements.join(", ")
    };
    let route = route(case).unwrap_or_else(|| "no request sent".into());
    format!(
        "[{reqs}] {route}: {}",
        case.message.as_deref().unwrap_or("no message")
    )
}

fn push_indented(out: &mut String, prefix: &str, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{prefix}{line}");
    }
}

fn push_exchange(out: &mut String, x: &Exchange, redactor: &Redactor) {
    let _ = writeln!(out, "  > {}", redactor.redact(&x.request_line));
    for (name, value) in &x.request_headers {
        let _ = writeln!(
            out,
            "  > {}: {}",
            redactor.redact(name),
            shown_header_value(name, value, redactor)
        );
    }
    if let Some(body) = &x.request_body {
        out.push_str("  >\n");
        push_indented(out, "    ", &shown_body(body, redactor));
    }
    let is_process = x.request_line.starts_with("thothctl");
    match (x.status, &x.transport_error) {
        (Some(code), Some(e)) => {
            let _ = writeln!(
                out,
                "  < {code}, then transport error after {} ms: {}",
                x.duration_ms,
                redactor.redact(e)
            );
        }
        (None, Some(e)) => {
            let _ = writeln!(
                out,
                "  ! transport error after {} ms: {}",
                x.duration_ms,
                redactor.redact(e)
            );
        }
        (Some(code), None) if is_process => {
            let _ = writeln!(out, "  < exit code {code} ({} ms)", x.duration_ms);
        }
        (Some(code), None) => {
            let _ = writeln!(out, "  < {code} ({} ms)", x.duration_ms);
        }
        (None, None) => {
            let _ = writeln!(out, "  < no response ({} ms)", x.duration_ms);
        }
    }
    for (name, value) in &x.response_headers {
        let _ = writeln!(
            out,
            "  < {}: {}",
            redactor.redact(name),
            shown_header_value(name, value, redactor)
        );
    }
    if let Some(body) = &x.response_body {
        out.push_str("  <\n");
        push_indented(out, "    ", &shown_body(body, redactor));
    }
    if let Some(note) = &x.note {
        let _ = writeln!(out, "  ~ {}", redactor.redact(note));
    }
}

fn push_steps(out: &mut String, steps: &[StepResult], redactor: &Redactor) {
    if steps.is_empty() {
        out.push_str("(none)\n");
    }
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "[{}] {}: {} ({} attempt{}, {} ms)",
            i + 1,
            redactor.redact(&step.name),
            step.status.as_str(),
            step.attempts,
            if step.attempts == 1 { "" } else { "s" },
            step.duration_ms
        );
        if let Some(message) = &step.message {
            push_indented(out, "  ! ", &redactor.redact(message));
        }
        for x in &step.exchanges {
            push_exchange(out, x, redactor);
        }
    }
}

/// The whole case as text; every string redacted.
pub fn case_transcript(case: &CaseResult, redactor: &Redactor) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {}",
        redactor.redact(&case.full_name()),
        redactor.redact(&case.title)
    );
    let _ = writeln!(
        out,
        "status: {} ({} ms), started {}",
        case.status.as_str(),
        case.duration_ms,
        redactor.redact(&case.started_at)
    );
    if let Some(message) = &case.message {
        push_indented(&mut out, "message: ", &redactor.redact(message));
    }
    out.push_str("\n== steps ==\n");
    push_steps(&mut out, &case.steps, redactor);
    out.push_str("\n== cleanup (never changes the verdict) ==\n");
    push_steps(&mut out, &case.cleanup, redactor);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::redact::REDACTED;
    use crate::suite::model::{Effect, Surface};

    fn redactor() -> Redactor {
        let r = Redactor::new();
        r.add_secret("registered-secret").unwrap();
        r
    }

    #[test]
    fn credential_headers_are_masked_even_when_unregistered() {
        let r = redactor();
        assert_eq!(
            shown_header_value("Authorization", "Bearer eyJunregistered", &r),
            "Bearer [REDACTED]"
        );
        assert_eq!(
            shown_header_value("authorization", "Basic dXNlcjpwYXNz", &r),
            "Basic [REDACTED]"
        );
        assert_eq!(
            shown_header_value("X-Api-Key", "thoth_org_key", &r),
            REDACTED
        );
        assert_eq!(
            shown_header_value("X-Thoth-Signature", "v1=abcdef0123", &r),
            REDACTED
        );
        // No scheme to keep: a bare token is masked whole.
        assert_eq!(
            shown_header_value("Authorization", "rawtoken", &r),
            REDACTED
        );
        assert_eq!(
            shown_header_value("X-Trace", "a registered-secret b", &r),
            "a [REDACTED] b"
        );
        assert_eq!(shown_header_value("X-Trace", "plain", &r), "plain");
    }

    #[test]
    fn long_bodies_are_cut_with_a_note() {
        let r = Redactor::new();
        let body = "é".repeat(MAX_BODY_BYTES); // two bytes each: the cut lands mid-character
        let shown = shown_body(&body, &r);
        let (kept, note) = shown.rsplit_once('\n').unwrap();
        assert!(kept.len() <= MAX_BODY_BYTES && kept.len() > MAX_BODY_BYTES - 2);
        assert_eq!(
            note,
            format!(
                "[... truncated: {} of {} bytes not shown]",
                body.len() - kept.len(),
                body.len()
            )
        );
        assert_eq!(shown_body("short", &r), "short");
    }

    #[test]
    fn a_secret_across_the_cut_is_redacted_not_halved() {
        let r = redactor();
        let body = format!("{}registered-secret", "x".repeat(MAX_BODY_BYTES - 5));
        let shown = shown_body(&body, &r);
        assert!(!shown.contains("regis"), "first half of the secret shown");
    }

    fn exchange(line: &str, status: Option<i64>) -> Exchange {
        Exchange {
            request_line: line.into(),
            request_headers: vec![("X-Api-Key".into(), "k-unregistered".into())],
            request_body: Some("{\"k\":\"registered-secret\"}".into()),
            status,
            response_headers: vec![],
            response_body: Some("line one\nline two".into()),
            transport_error: None,
            duration_ms: 3,
            note: None,
            ..Exchange::default()
        }
    }

    #[test]
    fn transcript_shows_steps_then_cleanup_redacted() {
        let step = |name: &str, x: Exchange| StepResult {
            name: name.into(),
            status: Status::Pass,
            message: None,
            attempts: 2,
            exchanges: vec![x],
            duration_ms: 4,
        };
        let case = CaseResult {
            phase: "scoped_keys".into(),
            case_id: "list".into(),
            title: "List keys".into(),
            status: Status::Pass,
            message: None,
            requirements: vec![],
            capability: "scoped_keys".into(),
            surface: Surface::Thothctl,
            effect: Effect::Read,
            steps: vec![step(
                "list",
                exchange("thothctl api-keys list --json", Some(0)),
            )],
            cleanup: vec![step("revoke", exchange("DELETE http://h/k/1", Some(204)))],
            duration_ms: 10,
            started_at: "2026-11-24T13:00:00Z".into(),
            expectation: None,
        };
        let t = case_transcript(&case, &redactor());
        let expected = "\
scoped_keys::list: List keys
status: pass (10 ms), started 2026-11-24T13:00:00Z

== steps ==
[1] list: pass (2 attempts, 4 ms)
  > thothctl api-keys list --json
  > X-Api-Key: [REDACTED]
  >
    {\"k\":\"[REDACTED]\"}
  < exit code 0 (3 ms)
  <
    line one
    line two

== cleanup (never changes the verdict) ==
[1] revoke: pass (2 attempts, 4 ms)
  > DELETE http://h/k/1
  > X-Api-Key: [REDACTED]
  >
    {\"k\":\"[REDACTED]\"}
  < 204 (3 ms)
  <
    line one
    line two
";
        assert_eq!(t, expected);
    }
}
