//! Timestamps as the API shows them (RFC 3339, UTC), and the mock's adjustable clock.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A UTC instant, serialised as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub OffsetDateTime);

impl Timestamp {
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// `self + duration`, saturating instead of overflowing on absurd inputs.
    pub fn plus(&self, duration: std::time::Duration) -> Timestamp {
        let delta = time::Duration::try_from(duration).unwrap_or(time::Duration::MAX);
        Timestamp(self.0.checked_add(delta).unwrap_or(self.0))
    }

    /// Time from `earlier` to `self`; zero when `earlier` is later.
    pub fn since(&self, earlier: Timestamp) -> std::time::Duration {
        std::time::Duration::try_from(self.0 - earlier.0).unwrap_or_default()
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp(OffsetDateTime::UNIX_EPOCH)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "{}", self.0.unix_timestamp()),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(Timestamp)
            .map_err(serde::de::Error::custom)
    }
}

/// Wall clock plus an offset that tests move forward, so time-dependent behaviour
/// (sync job progress, the online window, check-in lag) is tested without sleeping.
#[derive(Debug, Default)]
pub struct Clock {
    offset: std::sync::Mutex<std::time::Duration>,
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        Timestamp(OffsetDateTime::now_utc()).plus(offset)
    }

    pub fn advance(&self, by: std::time::Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset = offset.saturating_add(by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_rfc3339_and_parses_back() {
        let ts = Timestamp(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        let json = serde_json::to_string(&ts).unwrap();
        assert_eq!(json, "\"2023-11-14T22:13:20Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), ts);
    }

    #[test]
    fn advancing_moves_now_forward() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(std::time::Duration::from_secs(3600));
        assert!(clock.now().since(before) >= std::time::Duration::from_secs(3600));
    }
}
