//! Request pacing for live tenants (`--rate`: one global budget shared by every worker)
//! and the retry policy per operation.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::latency::Op;

/// Upper bound on one `Retry-After` wait, whatever the server asks.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Wait after a 429 without a usable `Retry-After`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// First backoff after a 502/503/504 on an idempotent operation; doubles per attempt.
pub const TRANSIENT_BACKOFF: Duration = Duration::from_millis(200);

/// A global request rate: each request takes the next free slot, `1/rate` apart.
#[derive(Debug)]
pub struct Pace {
    interval: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

impl Pace {
    /// `rate` requests per second; None or non-positive = unlimited.
    pub fn new(rate: Option<f64>) -> Pace {
        let interval = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        Pace {
            interval,
            next: Mutex::new(None),
        }
    }

    /// The instant this request may go; reserves it.
    pub fn reserve(&self) -> Option<Instant> {
        let interval = self.interval?;
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + interval);
        Some(slot)
    }

    /// Waits for this request's slot.
    pub async fn wait(&self) {
        if let Some(slot) = self.reserve() {
            tokio::time::sleep_until(slot).await;
        }
    }
}

/// What to do after an answer with this status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Done,
    RetryIn(Duration),
}

/// The retry decision for `op` after `status` on attempt `attempt` (1-based).
///
/// - 429 is retried for every operation after `Retry-After`: the server refused the
///   request before acting on it (RFC 6585), so resending cannot apply anything twice,
///   not even a check-in, which is a POST.
/// - 502/503/504 are retried only for idempotent operations: the register upsert (keyed
///   by `endpoint_id`) and the reads. A check-in is not resent after them: the server may
///   have recorded it, and a duplicate check-in is a different request stream than the
///   fleet sends (the vendor clients do not retry non-idempotent calls either).
pub fn after(op: Op, status: u16, retry_after: Option<&str>, attempt: u32) -> After {
    match status {
        429 => After::RetryIn(
            retry_after
                .and_then(crate::retry::delta_seconds)
                .unwrap_or(DEFAULT_RETRY_AFTER)
                .min(MAX_RETRY_AFTER),
        ),
        502..=504 if op != Op::Checkin => {
            After::RetryIn(TRANSIENT_BACKOFF.saturating_mul(2u32.saturating_pow(attempt - 1)))
        }
        _ => After::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_hands_out_slots_one_interval_apart() {
        let pace = Pace::new(Some(100.0));
        let a = pace.reserve().unwrap();
        let b = pace.reserve().unwrap();
        let c = pace.reserve().unwrap();
        assert_eq!(b - a, Duration::from_millis(10));
        assert_eq!(c - b, Duration::from_millis(10));
        assert!(Pace::new(None).reserve().is_none());
        assert!(Pace::new(Some(0.0)).reserve().is_none());
    }

    #[test]
    fn retry_policy_per_operation() {
        assert_eq!(
            after(Op::Checkin, 429, Some("2"), 1),
            After::RetryIn(Duration::from_secs(2))
        );
        assert_eq!(
            after(Op::Register, 429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), 1),
            After::RetryIn(DEFAULT_RETRY_AFTER)
        );
        assert_eq!(
            after(Op::Register, 429, Some("3600"), 1),
            After::RetryIn(MAX_RETRY_AFTER)
        );
        assert_eq!(
            after(Op::Register, 503, None, 2),
            After::RetryIn(Duration::from_millis(400))
        );
        assert_eq!(after(Op::Checkin, 503, None, 1), After::Done);
        assert_eq!(after(Op::Stats, 500, None, 1), After::Done);
        assert_eq!(after(Op::List, 201, None, 1), After::Done);
    }
}
