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
    ScopeLevelCounts,
    KeyExpires,
    NarrowKeyOffOrgRoutes,
    NoKeyEscalation,
    JsonContentType,
    ErrorEnvelope,
    PagingComplete,
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
    Prop::ScopeLevelCounts,
    Prop::KeyExpires,
    Prop::NarrowKeyOffOrgRoutes,
    Prop::NoKeyEscalation,
    Prop::JsonContentType,
    Prop::ErrorEnvelope,
    Prop::PagingComplete,
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
        // Scope ignored altogether ignores its level too.
        Fault::KeyScopeIgnored => vec![Prop::AuthorizeScope, Prop::ScopeLevelCounts],
        Fault::KeyPermissionIgnored => vec![Prop::AuthorizePermission],
        Fault::RevokedKeyValid => vec![Prop::RevokeInvalidates],
        Fault::TenantIsolationBroken => vec![Prop::TenantIsolation],
        Fault::AuthNotEnforced => vec![Prop::AuthRequired],
        Fault::ReadonlyKeyCanMutate => vec![Prop::ReadonlyCannotMutate],
        Fault::KeyScopeLevelIgnored => vec![Prop::ScopeLevelCounts],
        Fault::KeyTtlIgnored => vec![Prop::KeyExpires],
        Fault::NarrowKeyOnOrgRoutes => vec![Prop::NarrowKeyOffOrgRoutes],
        Fault::KeyEscalationAllowed => vec![Prop::NoKeyEscalation],
        Fault::JsonContentTypeWrong => vec![Prop::JsonContentType],
        Fault::ErrorEnvelopeNested => vec![Prop::ErrorEnvelope],
        Fault::PagesSkipRow => vec![Prop::PagingComplete],
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

/// The status of a GET of `tail` authenticated by the created API key `key`.
async fn get_with_key(h: &Harness, tail: &str, key: &str) -> u16 {
    h.call(
        Method::GET,
        &Harness::thoth(tail),
        Cred::Key(key.to_string()),
        None,
    )
    .await
    .status
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
        Prop::ScopeLevelCounts => {
            let (id, key) = h.create_key("agent", Some("ag-1"), &["read"]).await;
            let answer = h
                .post(
                    &format!("api-keys/{id}/authorize"),
                    json!({"api_key": key, "permission": "read", "resource_type": "agent", "resource_id": "ag-1"}),
                )
                .await;
            answer.body["scope_allowed"] == true
                && authorize(h, &id, &key, "read", "ag-1").await["scope_allowed"] == false
        }
        Prop::KeyExpires => {
            let answer = h
                .post(
                    "api-keys",
                    json!({"scope_level": "organization", "permissions": ["read"], "ttl_seconds": 60}),
                )
                .await;
            let (id, key) = (
                answer.body["key_id"].as_str().unwrap().to_string(),
                answer.body["api_key"].as_str().unwrap().to_string(),
            );
            let answered = answer.body["expires_at"].is_string();
            let before = get_with_key(h, "settings", &key).await;
            h.mock.state.advance_clock(Duration::from_secs(61));
            let after = get_with_key(h, "settings", &key).await;
            let expired = authorize(h, &id, &key, "read", "e").await["expired"] == true;
            answered && before == 200 && after == 401 && expired
        }
        Prop::NarrowKeyOffOrgRoutes => {
            let (_, key) = h.create_key("endpoint", Some("ep-1"), &["read"]).await;
            let mut refused = true;
            for tail in ["settings", "api-keys", "mdm/providers", "fleets"] {
                refused &= get_with_key(h, tail, &key).await == 403;
            }
            refused
        }
        Prop::NoKeyEscalation => {
            let (_, key) = h.create_key("organization", None, &["read", "write"]).await;
            let body = json!({"scope_level": "organization", "permissions": ["read", "execute"]});
            let answer = h
                .call(
                    Method::POST,
                    &Harness::thoth("api-keys"),
                    Cred::Key(key),
                    Some(body),
                )
                .await;
            answer.status == 403
        }
        Prop::JsonContentType => {
            let answer = h.get("endpoints/stats").await;
            answer
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"))
        }
        Prop::ErrorEnvelope => {
            let answer = h.get("endpoints/no-such-endpoint").await;
            answer.status == 404
                && answer.body["error"].is_string()
                && answer.body["message"].is_string()
        }
        Prop::PagingComplete => {
            for i in 0..5 {
                h.register(&format!("ep-page-{i}"), json!({})).await;
            }
            let mut seen = Vec::new();
            for page in 1..=10 {
                let rows = h
                    .get(&format!("endpoints?page={page}&per_page=2"))
                    .await
                    .body["data"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if rows.is_empty() {
                    break;
                }
                seen.extend(rows.iter().map(|r| r["endpoint_id"].to_string()));
            }
            let total = seen.len();
            seen.sort_unstable();
            seen.dedup();
            total == 5 && seen.len() == 5
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
    key_scope_level_ignored => Fault::KeyScopeLevelIgnored;
    key_ttl_ignored => Fault::KeyTtlIgnored;
    narrow_key_on_org_routes => Fault::NarrowKeyOnOrgRoutes;
    key_escalation_allowed => Fault::KeyEscalationAllowed;
    json_content_type_wrong => Fault::JsonContentTypeWrong;
    error_envelope_nested => Fault::ErrorEnvelopeNested;
    pages_skip_row => Fault::PagesSkipRow;
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
