//! Which requests the harness sends again after a transient failure, and how long it
//! waits first.
//!
//! The policy is the vendor's own. Its Terraform provider (`internal/client/client.go:
//! doJSON`, `isRetryableStatus`, and the `retryable` argument of each client method)
//! and its Kubernetes operator (`internal/thoth/client.go`) retry 429, 500, 502, 503
//! and 504 and network errors, up to 4 attempts with a backoff of 300 ms doubling, on
//! every GET, the settings PUT, the MDM and browser upserts and the key DELETE; and
//! never on the webhook test, an MDM sync start, endpoint registration, key
//! create/authorize, approval resolve or the backfills. A harness that gave up sooner
//! would fail a case on a busy tenant where the vendor's own tools succeed.
//!
//! Two things are the harness's own choice [C]: it honours `Retry-After` (the vendor
//! clients ignore it; a server that says how long to wait should be believed), and it
//! refuses to wait longer than [`RetryPolicy::max_retry_after`] for one retry, so a
//! target asking for an hour ends the exchange instead of stalling the run.

use std::time::{Duration, SystemTime};

/// The statuses retried, as in the vendor's `isRetryableStatus`.
pub const RETRYABLE_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Sends in total, the first included; 1 = never retry.
    pub attempts: u32,
    /// Wait before the first retry; doubles for each further one.
    pub base_backoff: Duration,
    /// Upper bound of the doubling backoff (the vendor's 5 s).
    pub max_backoff: Duration,
    /// The longest `Retry-After` the harness waits; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_backoff: Duration::from_millis(300),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Send once, whatever comes back.
    pub fn never() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before retry number `retry` (1-based): base × 2^(retry-1), capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Whether a request is safe to send again by default: GET, HEAD, PUT and DELETE by
/// their HTTP meaning, and the POST upserts keyed by the body
/// ([`crate::govapi::upsert_collections`], which the vendor marks retryable; matched
/// against the end of the URL path, after `/<tenant>`). Every other POST
/// (and PATCH) is sent once: a second webhook test, sync start, key create, resolve,
/// backfill or PAM callback would be a second action on the tenant.
pub fn idempotent(method: &str, url: &str) -> bool {
    match method.to_ascii_uppercase().as_str() {
        "GET" | "HEAD" | "PUT" | "DELETE" => true,
        "POST" => {
            let path = reqwest::Url::parse(url)
                .map(|u| u.path().trim_end_matches('/').to_string())
                .unwrap_or_default();
            crate::govapi::upsert_collections().any(|route| path.ends_with(route))
        }
        _ => false,
    }
}

/// A `Retry-After` value in its delta-seconds form only; None for an HTTP date or
/// garbage. Declared step retries and the load mode's pacing read it so: an HTTP date
/// falls back to their own backoff, the conservative reading.
pub fn delta_seconds(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// How long a `Retry-After` value asks to wait: delta-seconds or an HTTP date
/// (RFC 9110 §10.2.3); a date in the past means "now". None for anything else.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What to do after one answer (or transport failure) of an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Done: the answer stands (success, a non-transient status, or no retry left).
    Stop,
    /// Wait this long, then send again; `why` goes into the transcript.
    RetryIn { wait: Duration, why: String },
    /// A transient answer, but the retry is not made; `why` goes into the transcript.
    GiveUp { why: String },
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1-based). `status` is None for a
    /// transport failure worth retrying; `retry_after` is the header, if any.
    pub fn next(
        &self,
        attempt: u32,
        status: Option<u16>,
        retry_after_header: Option<&str>,
        now: SystemTime,
    ) -> Next {
        let what = match status {
            Some(s) if RETRYABLE_STATUSES.contains(&s) => format!("answered {s}"),
            Some(_) => return Next::Stop,
            None => "transport error".to_string(),
        };
        if attempt >= self.attempts {
            return if self.attempts > 1 {
                Next::GiveUp {
                    why: format!(
                        "{what} on attempt {attempt} of {}; no retry left",
                        self.attempts
                    ),
                }
            } else {
                Next::Stop
            };
        }
        let asked = retry_after_header.and_then(|v| retry_after(v, now));
        match asked {
            Some(wait) if wait > self.max_retry_after => Next::GiveUp {
                why: format!(
                    "{what}; Retry-After asks for {} s, more than the {} s the harness waits, so not retried",
                    wait.as_secs(),
                    self.max_retry_after.as_secs()
                ),
            },
            Some(wait) => Next::RetryIn {
                wait,
                why: format!(
                    "{what}; retried after {} ms as Retry-After asked (attempt {} of {})",
                    wait.as_millis(),
                    attempt + 1,
                    self.attempts
                ),
            },
            None => {
                let wait = self.backoff(attempt);
                Next::RetryIn {
                    wait,
                    why: format!(
                        "{what}; retried after {} ms backoff (attempt {} of {})",
                        wait.as_millis(),
                        attempt + 1,
                        self.attempts
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00 UTC

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + NOW
    }

    #[test]
    fn idempotent_requests_are_the_vendors_retryable_ones() {
        for (method, url) in [
            ("GET", "https://g.example/acme/thoth/settings"),
            ("PUT", "https://g.example/acme/thoth/settings"),
            ("DELETE", "https://g.example/acme/thoth/api-keys/k1"),
            ("POST", "https://g.example/acme/thoth/mdm/providers"),
            ("POST", "https://g.example/acme/thoth/browser/enrollments/"),
        ] {
            assert!(idempotent(method, url), "{method} {url}");
        }
        for (method, url) in [
            ("POST", "https://g.example/acme/thoth/settings/webhook/test"),
            (
                "POST",
                "https://g.example/acme/thoth/mdm/providers/jamf/sync",
            ),
            ("POST", "https://g.example/acme/thoth/endpoints"),
            ("POST", "https://g.example/acme/thoth/api-keys"),
            ("POST", "https://g.example/acme/thoth/api-keys/k1/authorize"),
            ("POST", "https://g.example/acme/thoth/approvals/a1/resolve"),
            (
                "POST",
                "https://g.example/acme/governance/evidence/thoth/backfill",
            ),
            (
                "POST",
                "https://g.example/acme/thoth/governance/backfill-decision-fields",
            ),
            ("POST", "https://g.example/acme/thoth/pam/callback"),
            ("PATCH", "https://g.example/acme/thoth/settings"),
        ] {
            assert!(!idempotent(method, url), "{method} {url}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after("2", now()), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:07 GMT", now()),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now()),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after("soon", now()), None);
        assert_eq!(retry_after("-1", now()), None);
    }

    #[test]
    fn backoff_doubles_from_300ms_up_to_5s() {
        let p = RetryPolicy::default();
        let ms = Duration::from_millis;
        assert_eq!(
            [1, 2, 3].map(|n| p.backoff(n)),
            [ms(300), ms(600), ms(1200)]
        );
        assert_eq!(p.backoff(10), Duration::from_secs(5));
    }

    #[test]
    fn next_retries_transient_answers_and_stops_otherwise() {
        let p = RetryPolicy::default();
        for status in RETRYABLE_STATUSES {
            assert!(
                matches!(p.next(1, Some(status), None, now()), Next::RetryIn { .. }),
                "{status}"
            );
        }
        assert!(matches!(p.next(1, None, None, now()), Next::RetryIn { .. }));
        for status in [200, 201, 400, 401, 404, 409, 501] {
            assert_eq!(p.next(1, Some(status), None, now()), Next::Stop, "{status}");
        }
        match p.next(1, Some(429), Some("2"), now()) {
            Next::RetryIn { wait, why } => {
                assert_eq!(wait, Duration::from_secs(2));
                assert!(
                    why.contains("Retry-After") && why.contains("attempt 2 of 4"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
        match p.next(1, Some(429), Some("3600"), now()) {
            Next::GiveUp { why } => assert!(why.contains("3600 s"), "{why}"),
            other => panic!("{other:?}"),
        }
        match p.next(4, Some(503), None, now()) {
            Next::GiveUp { why } => assert!(why.contains("no retry left"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            RetryPolicy::never().next(1, Some(503), None, now()),
            Next::Stop
        );
    }
}
