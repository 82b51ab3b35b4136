//! Remembers which signed callbacks were already applied, so that each one takes effect
//! at most once.
//!
//! A callback is identified by what its sender signed: the timestamp, the signature and
//! the body. Two deliveries with the same three are the same callback, however many times
//! a PAM system retries or an attacker replays it.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::pam_verify::TOLERANCE_SECS;

/// Identity of one signed callback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplayKey {
    timestamp: i64,
    signature: String,
    body_sha256: [u8; 32],
}

impl ReplayKey {
    pub fn new(timestamp: i64, signature: &str, body: &[u8]) -> Self {
        let digest = Sha256::digest(body);
        let mut body_sha256 = [0u8; 32];
        body_sha256.copy_from_slice(digest.as_slice());
        ReplayKey {
            timestamp,
            // Hex is case-insensitive; "AB" and "ab" are the same signature.
            signature: signature.to_ascii_lowercase(),
            body_sha256,
        }
    }
}

/// Applied callbacks by key. Callers hold it under the same lock as the approvals it
/// guards, so "not seen yet → apply → remember" is one atomic step.
#[derive(Debug, Default, Clone)]
pub struct ReplayCache {
    seen: HashMap<ReplayKey, i64>,
}

impl ReplayCache {
    /// Entries older than this can be forgotten: a callback that old is refused as stale
    /// before the cache is consulted. Twice the window leaves room for clock skew.
    pub const RETENTION_SECS: i64 = 2 * TOLERANCE_SECS;

    pub fn contains(&self, key: &ReplayKey) -> bool {
        self.seen.contains_key(key)
    }

    /// Remembers a key; returns false if it was already there. Forgets keys whose
    /// timestamp fell out of the retention window, which keeps memory bounded.
    pub fn remember(&mut self, key: ReplayKey, now_unix: i64) -> bool {
        let horizon = now_unix.saturating_sub(Self::RETENTION_SECS);
        self.seen.retain(|k, _| k.timestamp >= horizon);
        self.seen.insert(key, now_unix).is_none()
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier, Mutex};

    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn the_same_callback_is_remembered_once() {
        let mut cache = ReplayCache::default();
        let key = ReplayKey::new(NOW, "ab12", b"{}");
        assert!(!cache.contains(&key));
        assert!(cache.remember(key.clone(), NOW));
        assert!(cache.contains(&key));
        assert!(!cache.remember(key, NOW + 1));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn any_difference_in_timestamp_signature_or_body_is_another_callback() {
        let mut cache = ReplayCache::default();
        assert!(cache.remember(ReplayKey::new(NOW, "ab12", b"{}"), NOW));
        assert!(cache.remember(ReplayKey::new(NOW + 1, "ab12", b"{}"), NOW));
        assert!(cache.remember(ReplayKey::new(NOW, "ab13", b"{}"), NOW));
        assert!(cache.remember(ReplayKey::new(NOW, "ab12", b"{ }"), NOW));
        assert!(!cache.remember(ReplayKey::new(NOW, "AB12", b"{}"), NOW));
    }

    #[test]
    fn keys_past_retention_are_forgotten_but_recent_ones_kept() {
        let mut cache = ReplayCache::default();
        cache.remember(ReplayKey::new(NOW, "old", b"{}"), NOW);
        cache.remember(ReplayKey::new(NOW + 500, "recent", b"{}"), NOW + 500);
        cache.remember(ReplayKey::new(NOW + 700, "new", b"{}"), NOW + 700);
        assert!(!cache.contains(&ReplayKey::new(NOW, "old", b"{}")));
        assert!(cache.contains(&ReplayKey::new(NOW + 500, "recent", b"{}")));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn concurrent_claims_of_one_callback_admit_exactly_one() {
        let cache = Arc::new(Mutex::new(ReplayCache::default()));
        let threads = 16;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let cache = Arc::clone(&cache);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    let key = ReplayKey::new(NOW, "ab12", b"{}");
                    cache.lock().unwrap().remember(key, NOW)
                })
            })
            .collect();
        let admitted = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|first| *first)
            .count();
        assert_eq!(admitted, 1);
    }
}
