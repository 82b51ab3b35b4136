//! Each fault mode breaks its one property (and only the properties that physically
//! depend on it); the healthy mock keeps every property.

use crate::common;

use std::time::Duration;

use common::{config_with, start_with, Cred, Harness, ADMIN_OTHER};
use mock_govapi::Fault;
use reqwest::Method;
use serde_json::json;

/// Properties of the core routes, one per fault of this half of the mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prop {
    SettingsPersist,
    SecretsRedacted,
    WebhookDelivered,
    WebhookSigned,
    SyncStarts,
    SyncFinishes,
    SyncCountsEnrolled,
    CheckinUpdatesStats,
    StatsCountManaged,
    StatsCountOnline,
    AuthorizeScope,
    AuthorizePermission,
    RevokeInvalidates,
    TenantIsolation,
    AuthRequired,
    ReadonlyCannotMutate,
}

const ALL_PROPS: &[Prop] = &[
    Prop::SettingsPersist,
    Prop::SecretsRedacted,
    Prop::WebhookDelivered,
    Prop::WebhookSigned,
    Prop::SyncStarts,
    Prop::SyncFinishes,
    Prop::SyncCountsEnrolled,
    Prop::CheckinUpdatesStats,
    Prop::StatsCountManaged,
    Prop::StatsCountOnline,
    Prop::AuthorizeScope,
    Prop::AuthorizePermission,
    Prop::RevokeInvalidates,
    Prop::TenantIsolation,
    Prop::AuthRequired,
    Prop::ReadonlyCannotMutate,
];

/// What a fault is expected to break. Settings that are not persisted also leave the
/// webhook unconfigured, so the webhook test cannot deliver: a real dependency.
fn expected_broken(fault: Fault) -> Vec<Prop> {
    match fault {
        Fault::SettingsNotPersisted => vec![Prop::SettingsPersist, Prop::WebhookDelivered],
        Fault::SecretsEchoed => vec![Prop::SecretsRedacted],
        Fault::WebhookNeverDelivered => vec![Prop::WebhookDelivered],
        Fault::WebhookUnsigned => vec![Prop::WebhookSigned],
        // The sink checks freshness as well as the MAC, as any receiver must.
        Fault::WebhookStaleTimestamp => vec![Prop::WebhookSigned],
        Fault::MdmSyncRefused => vec![Prop::SyncStarts],
        Fault::MdmSyncStuck => vec![Prop::SyncFinishes],
        Fault::CheckinIgnoresStats => vec![Prop::CheckinUpdatesStats, Prop::StatsCountOnline],
        Fault::MdmSyncCountsNothing => vec![Prop::SyncCountsEnrolled],
        Fault::StatsManagedUncounted => vec![Prop::StatsCountManaged],
        // A check-in then moves the endpoint from online to stale.
        Fault::StatsOnlineSwapped => vec![Prop::CheckinUpdatesStats, Prop::StatsCountOnline],
        Fault::KeyScopeIgnored => vec![Prop::AuthorizeScope],
        Fault::KeyPermissionIgnored => vec![Prop::AuthorizePermission],
        Fault::RevokedKeyValid => vec![Prop::RevokeInvalidates],
        Fault::TenantIsolationBroken => vec![Prop::TenantIsolation],
        Fault::AuthNotEnforced => vec![Prop::AuthRequired],
        Fault::ReadonlyKeyCanMutate => vec![Prop::ReadonlyCannotMutate],
        // A settings PUT answers 500 (stored all the same): the property checks, whose
        // setups write the settings, stop at that answer. Its effect on the suites is in
        // the kill matrix and `verdicts_cli::exit_6_from_cleanup_still_shows_the_verdict`.
        Fault::SettingsPutAnswers500 => vec![Prop::SettingsPersist],
        // Faults of the governance routes leave these properties alone.
        _ => vec![],
    }
}

async fn authorize(
    h: &Harness,
    key_id: &str,
    key: &str,
    permission: &str,
    endpoint: &str,
) -> serde_json::Value {
    h.post(
        &format!("api-keys/{key_id}/authorize"),
        json!({"api_key": key, "permission": permission, "resource_type": "endpoint", "resource_id": endpoint}),
    )
    .await
    .body
}

async fn holds(h: &Harness, prop: Prop) -> bool {
    h.internal(Method::POST, "/__admin/reset", None).await;
    match prop {
        Prop::SettingsPersist => {
            h.put("settings", json!({"compliance_profile": "financial"}))
                .await;
            h.get("settings").await.body["compliance_profile"] == "financial"
        }
        Prop::SecretsRedacted => {
            h.put(
                "settings",
                json!({"pam": {"callback_secret": "sekrit-value"}}),
            )
            .await;
            !h.get("settings")
                .await
                .body
                .to_string()
                .contains("sekrit-value")
        }
        Prop::WebhookDelivered => {
            h.webhook_to_sink("p-delivered", "s").await;
            let answer = h.post("settings/webhook/test", json!({})).await;
            answer.body["status"] == "delivered" && h.sink("p-delivered").await.len() == 1
        }
        Prop::WebhookSigned => {
            h.webhook_to_sink("p-signed", "s").await;
            h.post("settings/webhook/test", json!({})).await;
            h.sink("p-signed")
                .await
                .iter()
                .all(|d| d["signature_valid"] == true)
        }
        Prop::SyncStarts => {
            h.post("mdm/providers", json!({"provider": "custom"})).await;
            h.post("mdm/providers/custom/sync", json!({})).await.status == 202
        }
        Prop::SyncFinishes => {
            h.post("mdm/providers", json!({"provider": "custom"})).await;
            let job = h.post("mdm/providers/custom/sync", json!({})).await;
            if job.status != 202 {
                return true; // nothing started, nothing to finish
            }
            h.mock.state.advance_clock(Duration::from_secs(1));
            let id = job.body["job_id"].as_str().unwrap();
            h.get(&format!("mdm/sync-jobs/{id}")).await.body["status"] == "succeeded"
        }
        Prop::SyncCountsEnrolled => {
            h.post("mdm/providers", json!({"provider": "custom"})).await;
            h.register("ep-custom", json!({"enrollment": "custom"}))
                .await;
            h.register("ep-manual", json!({})).await;
            let job = h.post("mdm/providers/custom/sync", json!({})).await;
            if job.status != 202 {
                return true; // nothing started, nothing counted
            }
            h.mock.state.advance_clock(Duration::from_secs(1));
            let id = job.body["job_id"].as_str().unwrap();
            let done = h.get(&format!("mdm/sync-jobs/{id}")).await.body;
            // Only a finished job reports what it synced.
            done["status"] != "succeeded" || done["synced_endpoints"] == 1
        }
        Prop::StatsCountManaged => {
            h.register("ep-jamf", json!({"enrollment": "jamf"})).await;
            let stats = h.get("endpoints/stats").await.body;
            stats["managed"] == 1 && stats["unmanaged"] == 0
        }
        Prop::StatsCountOnline => {
            // One seen, two not: a swap of the two counters shows.
            for id in ["ep-seen", "ep-unseen-1", "ep-unseen-2"] {
                h.register(id, json!({})).await;
            }
            h.post("endpoints/ep-seen/checkin", json!({"sessions_today": 1}))
                .await;
            let stats = h.get("endpoints/stats").await.body;
            stats["online"] == 1 && stats["stale"] == 2
        }
        Prop::CheckinUpdatesStats => {
            h.register("ep-p", json!({})).await;
            let before = h.get("endpoints/stats").await.body["online"]
                .as_u64()
                .unwrap();
            h.post("endpoints/ep-p/checkin", json!({"sessions_today": 1}))
                .await;
            let after = h.get("endpoints/stats").await.body["online"]
                .as_u64()
                .unwrap();
            after == before + 1 && h.get("endpoints/ep-p").await.body["last_seen"].is_string()
        }
        Prop::AuthorizeScope => {
            let (id, key) = h.create_key("endpoint", Some("ep-1"), &["read"]).await;
            authorize(h, &id, &key, "read", "ep-1").await["scope_allowed"] == true
                && authorize(h, &id, &key, "read", "ep-2").await["scope_allowed"] == false
        }
        Prop::AuthorizePermission => {
            let (id, key) = h.create_key("organization", None, &["read"]).await;
            authorize(h, &id, &key, "read", "e").await["permission_allowed"] == true
                && authorize(h, &id, &key, "write", "e").await["permission_allowed"] == false
        }
        Prop::RevokeInvalidates => {
            let (id, key) = h.create_key("organization", None, &["read"]).await;
            let revoked = h.delete(&format!("api-keys/{id}")).await.status == 200;
            revoked && authorize(h, &id, &key, "read", "e").await["valid"] == false
        }
        Prop::TenantIsolation => {
            let answer = h
                .call(
                    Method::GET,
                    &Harness::thoth("settings"),
                    Cred::Bearer(ADMIN_OTHER.into()),
                    None,
                )
                .await;
            answer.status == 403
        }
        Prop::AuthRequired => {
            h.call(Method::GET, &Harness::thoth("settings"), Cred::None, None)
                .await
                .status
                == 401
        }
        Prop::ReadonlyCannotMutate => {
            let (_, key) = h.create_key("organization", None, &["read"]).await;
            let body = Some(json!({"compliance_profile": "privacy"}));
            h.call(
                Method::PUT,
                &Harness::thoth("settings"),
                Cred::Key(key),
                body,
            )
            .await
            .status
                == 403
        }
    }
}

async fn broken_under(faults: &[Fault]) -> Vec<Prop> {
    let h = start_with(config_with(faults)).await;
    let mut broken = Vec::new();
    for prop in ALL_PROPS {
        if !holds(&h, *prop).await {
            broken.push(*prop);
        }
    }
    broken
}

#[tokio::test]
async fn healthy_mock_keeps_every_property() {
    assert_eq!(broken_under(&[]).await, vec![]);
}

macro_rules! fault_tests {
    ($($test:ident => $fault:expr;)*) => {$(
        #[tokio::test]
        async fn $test() {
            assert_eq!(broken_under(&[$fault]).await, expected_broken($fault));
        }
    )*};
}

fault_tests! {
    settings_not_persisted => Fault::SettingsNotPersisted;
    secrets_echoed => Fault::SecretsEchoed;
    webhook_never_delivered => Fault::WebhookNeverDelivered;
    webhook_unsigned => Fault::WebhookUnsigned;
    webhook_stale_timestamp => Fault::WebhookStaleTimestamp;
    mdm_sync_refused => Fault::MdmSyncRefused;
    mdm_sync_stuck => Fault::MdmSyncStuck;
    checkin_ignores_stats => Fault::CheckinIgnoresStats;
    mdm_sync_counts_nothing => Fault::MdmSyncCountsNothing;
    stats_managed_uncounted => Fault::StatsManagedUncounted;
    stats_online_swapped => Fault::StatsOnlineSwapped;
    key_scope_ignored => Fault::KeyScopeIgnored;
    key_permission_ignored => Fault::KeyPermissionIgnored;
    revoked_key_valid => Fault::RevokedKeyValid;
    tenant_isolation_broken => Fault::TenantIsolationBroken;
    auth_not_enforced => Fault::AuthNotEnforced;
    readonly_key_can_mutate => Fault::ReadonlyKeyCanMutate;
}

/// During a secret rotation a sender signs with the retired and the current secret in one
/// header; the sink (like any receiver) accepts the delivery when one signature matches.
#[tokio::test]
async fn rotated_webhook_signatures_carry_the_current_secret_too() {
    let mut config = config_with(&[]);
    config.realism.webhook_rotation = true;
    let h = start_with(config).await;
    h.webhook_to_sink("p-rotating", "s").await;
    h.post("settings/webhook/test", json!({})).await;
    let deliveries = h.sink("p-rotating").await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let signature = deliveries[0]["headers"]["x-thoth-signature"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(signature.matches("v1=").count(), 2, "{signature}");
    assert_eq!(deliveries[0]["signature_valid"], true, "{deliveries:?}");
}

#[tokio::test]
async fn governance_faults_leave_core_properties_alone() {
    for fault in Fault::ALL
        .iter()
        .copied()
        .filter(|f| expected_broken(*f).is_empty())
    {
        assert_eq!(broken_under(&[fault]).await, vec![], "{fault}");
    }
}

#[tokio::test]
async fn faults_can_be_switched_at_runtime_through_the_admin_api() {
    let h = start_with(config_with(&[])).await;
    assert!(holds(&h, Prop::AuthRequired).await);
    let set = h
        .internal(
            Method::PUT,
            "/__admin/faults",
            Some(json!({"faults": ["auth-not-enforced"]})),
        )
        .await;
    assert_eq!(set.body, json!({"faults": ["auth-not-enforced"]}));
    assert!(!holds(&h, Prop::AuthRequired).await);
    h.internal(Method::PUT, "/__admin/faults", Some(json!({"faults": []})))
        .await;
    assert!(holds(&h, Prop::AuthRequired).await);
    let bad = h
        .internal(
            Method::PUT,
            "/__admin/faults",
            Some(json!({"faults": ["nope"]})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["error"].as_str()),
        (400, Some("unknown_fault"))
    );
}
