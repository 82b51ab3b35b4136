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
    pub secret: Option<String>,
    pub deliveries: Vec<SinkDelivery>,
}

impl Default for Sink {
    fn default() -> Self {
        Sink {
            status: 200,
            secret: None,
            deliveries: Vec::new(),
        }
    }
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
        sink.status
    }

    pub fn configure(&mut self, name: &str, status: u16, secret: Option<String>) {
        let sink = self.by_name.entry(name.to_string()).or_default();
        sink.status = status;
        sink.secret = secret;
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
    fn signature_is_checked_only_with_a_secret() {
        let now = Timestamp::default().plus(std::time::Duration::from_secs(1000));
        let mut sinks = Sinks::default();
        sinks.record("a", headers_for(b"k", 1000, b"{}"), b"{}", now);
        sinks.configure("a", 202, Some("k".into()));
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
