//! Repeating an action: `eventually` (poll until the expectations hold) and `retry`
//! (resend on a declared transient status). Nothing else in the harness repeats a
//! request: a flaky target must show up as flaky, not be papered over.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::expect::{check, check_json, show, Failure, Observed, StatusKind};
use super::step::{Attempt, StepExec};
use crate::outcome::Exchange;
use crate::suite::duration::parse_duration;
use crate::suite::model::{Eventually, Expect, Retry};
use crate::template::Vars;

/// Exchanges kept per step when an action is repeated: the first and the latest ones.
const KEPT_EXCHANGES: usize = 8;
/// Upper bound on any single wait, whatever a `Retry-After` asks for.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The result of running a step's action as often as its policy says.
pub struct Polled {
    pub attempts: u32,
    pub exchanges: Vec<Exchange>,
    pub result: Result<Observed, Failure>,
}

/// Keeps the first exchange and the most recent ones, so that a long poll does not
/// bloat the reports while the transcript still shows how it started and ended.
pub fn keep_exchanges(all: &mut Vec<Exchange>, new: Vec<Exchange>) {
    all.extend(new);
    if all.len() > KEPT_EXCHANGES {
        let cut = all.len() - (KEPT_EXCHANGES - 1);
        all.drain(1..cut);
    }
}

/// Sleeps unless cancelled; false when cancelled.
pub async fn pause(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = cancel.cancelled() => false,
    }
}

pub fn duration(field: &str, text: &str) -> Result<Duration, Failure> {
    parse_duration(text).map_err(|e| Failure::error(format!("{field}: {e}")))
}

/// Sends once and checks the expectations.
pub async fn once(
    exec: &mut StepExec<'_>,
    expect: &Expect,
    kind: StatusKind,
    vars: &Vars,
) -> Polled {
    let Attempt { exchanges, result } = exec.attempt(vars).await;
    let result = result.and_then(|obs| check(expect, kind, &obs, vars).map(|_| obs));
    Polled {
        attempts: 1,
        exchanges,
        result,
    }
}

/// Polls until `expect` holds, a `fail_if` holds, or the timeout passes.
pub async fn eventually(
    exec: &mut StepExec<'_>,
    policy: &Eventually,
    expect: &Expect,
    kind: StatusKind,
    vars: &Vars,
) -> Polled {
    let mut polled = Polled {
        attempts: 0,
        exchanges: Vec::new(),
        result: Err(Failure::error("eventually: no attempt made")),
    };
    let (timeout, interval) = match (
        duration("eventually.timeout", &policy.timeout),
        duration("eventually.interval", &policy.interval),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            polled.result = Err(e);
            return polled;
        }
    };
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        polled.attempts += 1;
        let Attempt { exchanges, result } = exec.attempt(vars).await;
        keep_exchanges(&mut polled.exchanges, exchanges);
        let last = match result {
            Ok(obs) => {
                if let Some(f) = terminal(policy, &obs, vars) {
                    polled.result = Err(f);
                    return polled;
                }
                match check(expect, kind, &obs, vars) {
                    Ok(()) => {
                        polled.result = Ok(obs);
                        return polled;
                    }
                    // A broken check (bad template, bad JSONPath) will not heal by waiting.
                    Err(f) if f.status == crate::outcome::Status::Error => {
                        polled.result = Err(f);
                        return polled;
                    }
                    Err(f) => f,
                }
            }
            Err(f) => f,
        };
        if exec.cancel.is_cancelled() {
            polled.result = Err(Failure::error("interrupted"));
            return polled;
        }
        if Instant::now() + interval > deadline {
            let mut f = last;
            f.message = format!(
                "{} (still not holding after {} attempt(s) over {:.1}s)",
                f.message,
                polled.attempts,
                started.elapsed().as_secs_f64()
            );
            polled.result = Err(f);
            return polled;
        }
        if !pause(interval, exec.cancel).await {
            polled.result = Err(Failure::error("interrupted"));
            return polled;
        }
    }
}

/// The first `fail_if` that holds, as a failure.
fn terminal(policy: &Eventually, obs: &Observed, vars: &Vars) -> Option<Failure> {
    let doc = obs.json.as_ref()?;
    for cond in &policy.fail_if {
        if check_json(cond, doc, vars).is_ok() {
            let path =
                crate::template::render(&cond.path, vars).unwrap_or_else(|_| cond.path.clone());
            let shown = serde_json_path::JsonPath::parse(&path)
                .ok()
                .and_then(|p| p.query(doc).all().first().map(|v| show(v)))
                .unwrap_or_else(|| "-".into());
            return Some(Failure::fail(format!(
                "fail_if held: {path} (value {shown}); stopped polling"
            )));
        }
    }
    None
}

/// How long a `Retry-After` header asks to wait (delta-seconds form; an HTTP date falls
/// back to the backoff, which is the conservative reading).
pub fn retry_after(obs: &Observed) -> Option<Duration> {
    let v = obs.header("retry-after")?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// Sends, and resends on a declared transient status, up to `attempts` times in total.
/// The caller guarantees the request is idempotent.
pub async fn retry(
    exec: &mut StepExec<'_>,
    policy: &Retry,
    expect: &Expect,
    kind: StatusKind,
    vars: &Vars,
) -> Polled {
    let mut polled = Polled {
        attempts: 0,
        exchanges: Vec::new(),
        result: Err(Failure::error("retry: no attempt made")),
    };
    let backoff = match duration("retry.backoff", &policy.backoff) {
        Ok(b) => b,
        Err(e) => {
            polled.result = Err(e);
            return polled;
        }
    };
    let total = policy.attempts.max(1);
    loop {
        polled.attempts += 1;
        let Attempt { exchanges, result } = exec.attempt(vars).await;
        keep_exchanges(&mut polled.exchanges, exchanges);
        let obs = match result {
            Ok(obs) => obs,
            Err(f) => {
                polled.result = Err(f);
                return polled;
            }
        };
        let transient = policy.on_status.iter().any(|s| i64::from(*s) == obs.status);
        if transient && polled.attempts < total {
            let exp = 2u32.saturating_pow(polled.attempts - 1);
            let wait = retry_after(&obs)
                .unwrap_or_else(|| backoff.saturating_mul(exp))
                .min(MAX_WAIT);
            if !pause(wait, exec.cancel).await {
                polled.result = Err(Failure::error("interrupted"));
                return polled;
            }
            continue;
        }
        polled.result = check(expect, kind, &obs, vars).map(|_| obs);
        if let (Err(f), true) = (&mut polled.result, polled.attempts > 1) {
            f.message = format!("{} (after {} attempts)", f.message, polled.attempts);
        }
        return polled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(n: usize) -> Exchange {
        Exchange {
            request_line: format!("GET /{n}"),
            ..Exchange::default()
        }
    }

    #[test]
    fn long_polls_keep_the_first_and_latest_exchanges() {
        let mut kept = Vec::new();
        for n in 0..50 {
            keep_exchanges(&mut kept, vec![exchange(n)]);
        }
        let lines: Vec<&str> = kept.iter().map(|e| e.request_line.as_str()).collect();
        assert_eq!(lines.len(), KEPT_EXCHANGES);
        assert_eq!(lines[0], "GET /0");
        assert_eq!(lines[1], "GET /43");
        assert_eq!(*lines.last().unwrap(), "GET /49");
    }

    #[test]
    fn retry_after_reads_delta_seconds_only() {
        let with =
            |v: &str| Observed::new(503, vec![("retry-after".into(), v.into())], String::new());
        assert_eq!(retry_after(&with("2")), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&with(" 0 ")), Some(Duration::ZERO));
        assert_eq!(retry_after(&with("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(&Observed::default()), None);
    }
}
