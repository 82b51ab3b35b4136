//! Repeating an action: `eventually` (poll until the expectations hold) and `retry`
//! (resend on a declared transient status). Nothing else in the harness repeats a
//! request: a flaky target must show up as flaky, not be papered over.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::attempt::{Attempt, StepExec};
use super::expect::{check, check_json, show, Failure, Observed, StatusKind};
use crate::outcome::Exchange;
use crate::suite::model::{Eventually, Expect, Retry};
use crate::template::Vars;

/// Exchanges kept per step when an action is repeated: the first and the latest ones.
const KEPT_EXCHANGES: usize = 8;
/// Upper bound on any single wait, whatever a `Retry-After` asks for.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// First pause of a poll. Most targets settle within a few hundred ms (a sync job, a
/// delivery), so a fixed 250 ms interval overshoots by up to 250 ms per poll on the
/// critical path; starting short finds the state change soon after it happens.
pub const FIRST_POLL_PAUSE: Duration = Duration::from_millis(20);

/// The pause before the next attempt of a poll that has been running for `elapsed`:
/// a tenth of the time waited so far (so the overshoot past the moment the state
/// changed is at most ~10%: a 1 s key TTL is seen by ~1.1 s, where a quarter let it
/// slip to 1.23 s on the live chain), at least [`FIRST_POLL_PAUSE`] and never more than the
/// declared `interval`, which stays the steady-state rate a live tenant sees. A step
/// that declares an interval shorter than 20 ms gets exactly that.
pub fn next_pause(elapsed: Duration, interval: Duration) -> Duration {
    (elapsed / 10).max(FIRST_POLL_PAUSE).min(interval)
}

/// The timeout actually applied to a poll: the declared one, capped by the target (the
/// in-process mock settles within a second, so a 30 s budget there only makes a
/// defect slower to report, never a different verdict).
pub fn effective_timeout(declared: Duration, cap: Option<Duration>) -> Duration {
    cap.map_or(declared, |c| declared.min(c))
}

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

/// The longest a poll waits once an earlier poll of the same phase ran out of time. The
/// target then already had a full timeout to settle and the run is red; giving every
/// later poll its full timeout again only delays the verdict (three 10 s timeouts in a
/// row under one fault). A poll that holds within this still passes.
pub const AFTER_A_TIMEOUT: Duration = Duration::from_secs(1);

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
    let (timeout, interval) = (policy.timeout.get(), policy.interval.get());
    let timeout = effective_timeout(timeout, exec.env.target.poll_timeout_cap);
    let flag = exec.env.poll_timed_out;
    let shortened = flag.is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
        && timeout > AFTER_A_TIMEOUT;
    let timeout = if shortened { AFTER_A_TIMEOUT } else { timeout };
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        polled.attempts += 1;
        // The next attempt is due a pause after this one *started*, not after its
        // answer: a slow answer then does not push every later poll back by its own
        // round trip, so a state that settles at t is seen at most one pause after t.
        let attempt_started = Instant::now();
        let due = attempt_started + next_pause(attempt_started - started, interval);
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
                    // Nor will an answer that lacks the asserted path altogether.
                    Err(mut f) if f.shape => {
                        f.message.push_str(
                            "; stopped polling: the answer's shape is wrong, not a value",
                        );
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
        let wait = due.saturating_duration_since(Instant::now());
        if due.max(Instant::now()) > deadline {
            let mut f = last;
            f.message = format!(
                "{} (still not holding after {} attempt(s) over {:.1}s{})",
                f.message,
                polled.attempts,
                started.elapsed().as_secs_f64(),
                if shortened {
                    "; shortened: an earlier poll of this phase already timed out"
                } else {
                    ""
                }
            );
            if let Some(flag) = flag {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            polled.result = Err(f);
            return polled;
        }
        if !pause(wait, exec.cancel).await {
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
    crate::retry::delta_seconds(obs.header("retry-after")?)
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
    let backoff = policy.backoff.get();
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
    fn poll_pauses_start_short_grow_with_the_wait_and_stop_at_the_interval() {
        let ms = Duration::from_millis;
        let interval = ms(250);
        assert_eq!(next_pause(ms(0), interval), FIRST_POLL_PAUSE);
        assert_eq!(next_pause(ms(150), interval), FIRST_POLL_PAUSE);
        assert_eq!(next_pause(ms(400), interval), ms(40));
        assert_eq!(next_pause(ms(5_000), interval), interval);
        // A declared interval below the first pause is honoured as is.
        assert_eq!(next_pause(ms(0), ms(5)), ms(5));
        // Overshoot past a change stays within a tenth of the wait (or the first
        // pause): the attempts land close after it.
        for change in [ms(300), ms(1_000), ms(2_000)] {
            let mut at = ms(0);
            let mut attempts = 0;
            while at < change {
                at += next_pause(at, interval);
                attempts += 1;
            }
            assert!(
                at - change <= (change / 10).max(FIRST_POLL_PAUSE),
                "first attempt after {change:?} at {at:?}"
            );
            // ... without hammering the target: a 2 s wait is about 30 attempts.
            assert!(attempts <= 40, "{attempts} attempts to see {change:?}");
        }
    }

    #[test]
    fn the_target_caps_poll_timeouts_only_downwards() {
        let s = Duration::from_secs;
        assert_eq!(effective_timeout(s(30), None), s(30));
        assert_eq!(effective_timeout(s(30), Some(s(5))), s(5));
        assert_eq!(effective_timeout(s(2), Some(s(5))), s(2));
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
