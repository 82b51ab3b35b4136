//! Who owns the tenant's settings: a cooperative lease kept in the settings document
//! itself (GovAPI keeps unknown keys), so one run, or one `prepare` for the shards of a
//! run, owns the original snapshot and its restore however many processes touch it.
//!
//! - The owner (`prepare`, or a `run` without `--lease-group`) reads the settings, refuses
//!   a document that already carries a lease (it is another run's baseline, or a crashed
//!   owner's, never an original), writes the restore to its ledger *before* it sends
//!   anything, then PUTs the original plus the lease, waits, and reads it back: when two
//!   owners raced, the one whose lease is not there lost and leaves (nothing of it is
//!   left: its PUT carried the same original).
//! - Members (`run --lease-group G`, the shards) take no settings snapshot and restore
//!   nothing: they check the tenant carries G's lease and refuse otherwise.
//! - Every settings PUT a step sends carries the lease (stamped here), so the suites'
//!   baseline is marked too and a later run never takes it for the original.
//!
//! Limits (docs/live-safety.md): GovAPI has no conditional PUT, so the read-back after a
//! settle window decides a race; a PUT delayed past it, or a writer that is not the
//! harness, can still interleave. Expiry is judged on the local clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::call::tenant_call;
use super::ledger::{now, Created, Ledger, LedgerError, UndoRequest};
use super::snapshot::{read_settings, LEASE_KEY};
use crate::client::HttpClient;
use crate::suite::model::ResourceKind;
use crate::target::Target;

/// How long a lease holds when the owner does not say (a release gate: prepare, build,
/// shards, restore).
pub const DEFAULT_TTL: Duration = Duration::from_secs(3 * 3600);

/// Floor of the wait between writing the lease and reading it back.
const MIN_SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Lease {
    /// The owning group: `run-<run_id>` for a lone run, the `--lease-group` otherwise.
    pub group: String,
    /// The run that took it (the owner).
    pub run_id: String,
    pub acquired_at: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    pub holder: String,
}

impl Lease {
    pub fn new(group: &str, run_id: &str, ttl: Duration) -> Lease {
        let now = time::OffsetDateTime::now_utc();
        let fmt = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        Lease {
            group: group.to_string(),
            run_id: run_id.to_string(),
            acquired_at: fmt(now),
            expires_at: fmt(now + ttl),
            holder: format!("thoth-conformance {}", env!("CARGO_PKG_VERSION")),
        }
    }

    pub fn expired(&self) -> bool {
        time::OffsetDateTime::parse(
            &self.expires_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|t| t <= time::OffsetDateTime::now_utc())
        // A lease whose expiry cannot be read is treated as held: refusing is the safe side.
        .unwrap_or(false)
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn describe(&self) -> String {
        format!(
            "lease group `{}` (run {}, taken {}, expires {})",
            self.group, self.run_id, self.acquired_at, self.expires_at
        )
    }
}

/// The lease a settings document carries, if any (`Err` when the key is there but is not
/// a lease: still not an original).
pub fn lease_of(doc: &Value) -> Option<Result<Lease, String>> {
    let v = doc.get(LEASE_KEY)?;
    Some(serde_json::from_value::<Lease>(v.clone()).map_err(|_| v.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("failed to take the tenant `{tenant}`: it is held by {} of another run; wait for it to finish (the lease expires then) or give this run that group with --lease-group if it is a shard of it", lease.describe())]
    Held { tenant: String, lease: Box<Lease> },
    #[error("failed to take the tenant `{tenant}`: its settings carry the {} that expired without being released, so they are another run's baseline, not the original; restore them with `thoth-conformance cleanup --ledger <that run's ledger>` (or remove the `{LEASE_KEY}` key by hand once the settings are as they should be)", lease.describe())]
    Expired { tenant: String, lease: Box<Lease> },
    #[error("failed to take the tenant `{tenant}`: its settings carry a `{LEASE_KEY}` key that is not a lease ({raw}); they are not an original this harness can rely on")]
    Malformed { tenant: String, raw: String },
    #[error("failed to take the tenant `{tenant}`: another run took it at the same moment and won ({}); nothing of this run is left on the tenant", lease.describe())]
    Lost { tenant: String, lease: Box<Lease> },
    #[error("failed to take the tenant `{tenant}`: the lease did not read back after the PUT ({message}); the restore in the ledger stays pending for `cleanup --ledger`")]
    NotKept { tenant: String, message: String },
    #[error("failed to join lease group `{group}` on tenant `{tenant}`: {why}; run `thoth-conformance prepare --lease-group {group}` first (and the shards after it)")]
    NotPrepared {
        tenant: String,
        group: String,
        why: String,
    },
    #[error("failed to read the tenant settings before the first mutation: {0}")]
    Read(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

fn refuse_existing(doc: &Value, tenant: &str) -> Result<(), LeaseError> {
    match lease_of(doc) {
        None => Ok(()),
        Some(Err(raw)) => Err(LeaseError::Malformed {
            tenant: tenant.into(),
            raw,
        }),
        Some(Ok(lease)) if lease.expired() => Err(LeaseError::Expired {
            tenant: tenant.into(),
            lease: Box::new(lease),
        }),
        Some(Ok(lease)) => Err(LeaseError::Held {
            tenant: tenant.into(),
            lease: Box::new(lease),
        }),
    }
}

/// Takes the tenant for `lease` as its owner: the original settings are validated,
/// recorded in `ledger` as the restore (before anything is sent), and the lease written
/// and read back. Returns the original document (without `updated_at`).
pub async fn acquire(
    client: &HttpClient,
    target: &Target,
    ledger: &Ledger,
    lease: &Lease,
) -> Result<Value, LeaseError> {
    let tenant = target.tenant.clone();
    let mut original = read_settings(client, target)
        .await
        .map_err(LeaseError::Read)?;
    refuse_existing(&original, &tenant)?;
    if let Some(o) = original.as_object_mut() {
        // Server-managed: PUT sets it anew.
        o.remove("updated_at");
    }
    // In the ledger before the PUT that changes the tenant: a crash from here on leaves
    // the restore for `cleanup --ledger`.
    let entry = ledger.record(Created {
        seq: 0,
        kind: ResourceKind::Settings,
        id: "settings".into(),
        phase: None,
        case: None,
        step: Some(format!("snapshot before the first mutation ({})", lease.group)),
        at: now(),
        undo: Some(UndoRequest {
            method: "PUT".into(),
            path: crate::govapi::SETTINGS.into(),
            body: Some(original.clone()),
            ok_status: vec![200, 204],
        }),
        note: Some(
            "the original settings, owned by this lease; secrets read back masked, omitted or empty, and the restore relies on the server keeping the stored secret for what it showed".into(),
        ),
        lost: None,
    })?;
    let mut leased = original.clone();
    if let Some(o) = leased.as_object_mut() {
        o.insert(LEASE_KEY.into(), lease.to_value());
    }
    let started = std::time::Instant::now();
    let put = tenant_call(
        client,
        target,
        "PUT",
        crate::govapi::SETTINGS,
        Some(&leased),
    )
    .await;
    let rtt = started.elapsed();
    if let Err(message) = match put {
        Ok((s, _)) if (200..300).contains(&s) => Ok(()),
        Ok((s, body)) => Err(format!("PUT answered {s}: {}", one_line(&body))),
        Err(e) => Err(e),
    } {
        return Err(LeaseError::NotKept { tenant, message });
    }
    // Another owner's PUT sent at the same moment lands within about one round trip.
    tokio::time::sleep(MIN_SETTLE.max(rtt * 3)).await;
    let back = read_settings(client, target)
        .await
        .map_err(|message| LeaseError::NotKept {
            tenant: tenant.clone(),
            message,
        })?;
    match lease_of(&back) {
        Some(Ok(l)) if l.group == lease.group && l.run_id == lease.run_id => Ok(original),
        Some(Ok(winner)) => {
            // The winner's PUT carried the same original and its own lease: restoring
            // ours would take its lease away.
            ledger.mark_released(
                entry.seq,
                &format!("lost the lease race to {}", winner.describe()),
            )?;
            Err(LeaseError::Lost {
                tenant,
                lease: Box::new(winner),
            })
        }
        Some(Err(raw)) => Err(LeaseError::NotKept {
            tenant,
            message: format!("it reads back as {raw}"),
        }),
        None => Err(LeaseError::NotKept {
            tenant,
            message: "the settings read back without it".into(),
        }),
    }
}

/// A member's check before its first mutation: the tenant carries `group`'s live lease.
/// Returns that lease (stamped on the member's settings PUTs).
pub async fn join(client: &HttpClient, target: &Target, group: &str) -> Result<Lease, LeaseError> {
    let doc = read_settings(client, target)
        .await
        .map_err(LeaseError::Read)?;
    let not_prepared = |why: String| LeaseError::NotPrepared {
        tenant: target.tenant.clone(),
        group: group.to_string(),
        why,
    };
    match lease_of(&doc) {
        None => Err(not_prepared("the tenant carries no lease".into())),
        Some(Err(raw)) => Err(not_prepared(format!(
            "the tenant's lease is unreadable: {raw}"
        ))),
        Some(Ok(l)) if l.group != group => Err(LeaseError::Held {
            tenant: target.tenant.clone(),
            lease: Box::new(l),
        }),
        Some(Ok(l)) if l.expired() => Err(not_prepared(format!(
            "the group's lease expired at {}",
            l.expires_at
        ))),
        Some(Ok(l)) => Ok(l),
    }
}

/// Puts `lease` into a settings document a step is about to PUT, so the baseline the
/// suites write is marked as not an original (a lease already in the body is replaced).
pub fn stamp(body: &mut Value, lease: &Lease) {
    if let Some(o) = body.as_object_mut() {
        o.insert(LEASE_KEY.into(), lease.to_value());
    }
}

fn one_line(body: &str) -> String {
    let s: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_markers() {
        let live = Lease::new("g", "r1", Duration::from_secs(60));
        assert!(!live.expired());
        let gone = Lease::new("g", "r1", Duration::ZERO);
        assert!(gone.expired());
        let mut doc = serde_json::json!({"compliance_profile": "soc2"});
        assert!(lease_of(&doc).is_none());
        stamp(&mut doc, &live);
        assert_eq!(lease_of(&doc).unwrap().unwrap(), live);
        assert!(matches!(
            refuse_existing(&doc, "acme"),
            Err(LeaseError::Held { .. })
        ));
        doc[LEASE_KEY] = serde_json::json!("tampered");
        assert!(matches!(
            refuse_existing(&doc, "acme"),
            Err(LeaseError::Malformed { .. })
        ));
        stamp(&mut doc, &gone);
        assert!(matches!(
            refuse_existing(&doc, "acme"),
            Err(LeaseError::Expired { .. })
        ));
    }
}
