//! SIEM sinks: named receivers on the mock itself (`/__sink/{name}`) that record every
//! delivery and, when given the secret, check its signature. Suites point the tenant's
//! webhook at one and then assert on what arrived.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::signing;

/// One recorded delivery.
#[derive(Debug, Clone, Serialize)]
pub struct SinkDelivery {
    pub seq: u64,
    pub received_at: Timestamp,
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
    /// The raw body, lossily decoded as UTF-8.
    pub body: String,
    /// `null` when the sink has no secret configured.
    pub signature_valid: Option<bool>,
}

/// One named sink.
#[derive(Debug, Clone)]
pub struct Sink {
    /// Status the sink answers deliveries with.
    pub status: u16,
    /// A bounded override of `status`: the next few deliveries (of one event type, when
    /// it names one) get another status. A suite that makes the sink fail one webhook
    /// test needs no cleanup to heal it, so a run killed mid-case does not leave the next
    /// run's deliveries failing, and the other phases' events are not caught by it.
    pub for_next: Option<BoundedStatus>,
    pub secret: Option<String>,
    pub deliveries: Vec<SinkDelivery>,
}

impl Default for Sink {
    fn default() -> Self {
        Sink {
            status: 200,
            for_next: None,
            secret: None,
            deliveries: Vec::new(),
        }
    }
}

/// A status for the next `left` deliveries whose event type is `event_type` (any when
/// `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedStatus {
    pub status: u16,
    pub left: u32,
    pub event_type: Option<String>,
}

/// All sinks by name, plus the delivery counter shared by them.
#[derive(Debug, Default)]
pub struct Sinks {
    pub by_name: BTreeMap<String, Sink>,
    next_seq: u64,
}

/// Oldest deliveries are dropped past this, so a long-running mock stays bounded.
const MAX_DELIVERIES_PER_SINK: usize = 1000;

impl Sinks {
    /// Records a delivery and returns the status to answer with.
    pub fn record(
        &mut self,
        name: &str,
        headers: BTreeMap<String, String>,
        body: &[u8],
        now: Timestamp,
    ) -> u16 {
        self.next_seq += 1;
        let seq = self.next_seq;
        let sink = self.by_name.entry(name.to_string()).or_default();
        let signature_valid = sink.secret.as_ref().map(|secret| {
            signing::verify(
                secret.as_bytes(),
                headers.get(signing::TIMESTAMP_HEADER).map(String::as_str),
                headers.get(signing::SIGNATURE_HEADER).map(String::as_str),
                body,
                now.unix_seconds(),
            )
            .is_ok()
        });
        sink.deliveries.push(SinkDelivery {
            seq,
            received_at: now,
            headers,
            body: String::from_utf8_lossy(body).into_owned(),
            signature_valid,
        });
        if sink.deliveries.len() > MAX_DELIVERIES_PER_SINK {
            sink.deliveries.remove(0);
        }
        let event = sink
            .deliveries
            .last()
            .and_then(|d| d.headers.get(signing::EVENT_HEADER))
            .cloned();
        match sink.for_next.take() {
            Some(b) if b.event_type.is_none() || b.event_type == event => {
                if b.left > 1 {
                    sink.for_next = Some(BoundedStatus {
                        left: b.left - 1,
                        ..b.clone()
                    });
                }
                b.status
            }
            other => {
                sink.for_next = other;
                sink.status
            }
        }
    }

    /// Sets the status for every delivery, or (`bounded`, whose status is used; `status`
    /// is then ignored) only for the next few, after which the sink answers its standing
    /// status again.
    pub fn configure(
        &mut self,
        name: &str,
        status: u16,
        bounded: Option<BoundedStatus>,
        secret: Option<String>,
    ) {
        let sink = self.by_name.entry(name.to_string()).or_default();
        match bounded {
            // A temporary status leaves the standing status and, unless given, the secret.
            Some(b) => {
                sink.for_next = Some(b);
                if secret.is_some() {
                    sink.secret = secret;
                }
            }
            None => {
                sink.status = status;
                sink.for_next = None;
                sink.secret = secret;
            }
        }
    }

    pub fn deliveries(&self, name: &str) -> Vec<SinkDelivery> {
        self.by_name
            .get(name)
            .map(|sink| sink.deliveries.clone())
            .unwrap_or_default()
    }

    /// Forgets the deliveries; the configuration stays.
    pub fn clear(&mut self, name: &str) {
        if let Some(sink) = self.by_name.get_mut(name) {
            sink.deliveries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_for(secret: &[u8], ts: i64, body: &[u8]) -> BTreeMap<String, String> {
        BTreeMap::from([
            (signing::TIMESTAMP_HEADER.to_string(), ts.to_string()),
            (
                signing::SIGNATURE_HEADER.to_string(),
                signing::sign(secret, ts, body),
            ),
        ])
    }

    #[test]
    fn a_bounded_status_heals_by_itself() {
        let now = Timestamp::default();
        let mut sinks = Sinks::default();
        let bounded = |left, event_type: Option<&str>| BoundedStatus {
            status: 500,
            left,
            event_type: event_type.map(str::to_string),
        };
        sinks.configure("a", 200, Some(bounded(2, None)), None);
        let got: Vec<u16> = (0..4)
            .map(|_| sinks.record("a", BTreeMap::new(), b"{}", now))
            .collect();
        assert_eq!(got, vec![500, 500, 200, 200]);
        // Only deliveries of the named event type use it up.
        sinks.configure("a", 200, Some(bounded(1, Some("webhook.test"))), None);
        let of =
            |event: &str| BTreeMap::from([(signing::EVENT_HEADER.to_string(), event.to_string())]);
        let got: Vec<u16> = ["decision", "webhook.test", "webhook.test"]
            .iter()
            .map(|e| sinks.record("a", of(e), b"{}", now))
            .collect();
        assert_eq!(got, vec![200, 500, 200]);
        // A standing status clears a pending bounded one.
        sinks.configure("a", 200, Some(bounded(5, None)), None);
        sinks.configure("a", 202, None, None);
        assert_eq!(sinks.record("a", BTreeMap::new(), b"{}", now), 202);
    }

    #[test]
    fn signature_is_checked_only_with_a_secret() {
        let now = Timestamp::default().plus(std::time::Duration::from_secs(1000));
        let mut sinks = Sinks::default();
        sinks.record("a", headers_for(b"k", 1000, b"{}"), b"{}", now);
        sinks.configure("a", 202, None, Some("k".into()));
        let status = sinks.record("a", headers_for(b"k", 1000, b"{}"), b"{}", now);
        sinks.record("a", headers_for(b"wrong", 1000, b"{}"), b"{}", now);
        let got: Vec<_> = sinks
            .deliveries("a")
            .iter()
            .map(|d| d.signature_valid)
            .collect();
        assert_eq!(status, 202);
        assert_eq!(got, vec![None, Some(true), Some(false)]);
        sinks.clear("a");
        assert!(sinks.deliveries("a").is_empty());
    }
}
