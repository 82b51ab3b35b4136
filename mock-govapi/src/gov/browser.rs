//! Browser governance records (`T/browser/providers|policies|enrollments`): which
//! managed browsers exist, the policy bundles for them, and which device/user is
//! enrolled for which browser.
//!
//! The bodies are the ones the vendor's Terraform provider sends
//! (`internal/resources/browser_{provider,policy,enrollment}_resource.go:upsert`):
//! every optional field it sets is accepted and read back. Unknown fields are still
//! refused, so a typo in a suite fixture fails loudly instead of being dropped.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{keep_redacted, new_id, redact_secrets, GovError};

pub const PROVIDERS: [&str; 4] = ["chrome", "firefox", "safari", "island"];
pub const ENFORCEMENT_MODES: [&str; 2] = ["monitor", "enforce"];
/// Enrollment statuses, as the vendor documents them (TF `browser_enrollment_resource.go`
/// schema: "Enrollment status (active, pending, disabled)"); its Delete sends `disabled`.
pub const ENROLLMENT_STATUSES: [&str; 3] = ["active", "pending", "disabled"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowserProvider {
    pub provider: String,
    pub name: String,
    pub enabled: bool,
    /// Free text the vendor's provider resource sets and reads back [C: not checked].
    pub status: Option<String>,
    pub last_error: Option<String>,
    pub config: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl BrowserProvider {
    /// The provider as GET shows it: secrets in its config redacted.
    pub fn view(&self) -> Value {
        let mut shown = serde_json::to_value(self).unwrap_or(Value::Null);
        shown["config"] = redact_secrets(&self.config);
        shown
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowserPolicy {
    pub policy_id: String,
    pub provider: String,
    pub name: String,
    pub enforcement_mode: String,
    pub policy: Value,
    pub active: bool,
    pub version: u64,
    pub metadata: Option<Value>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowserEnrollment {
    pub enrollment_id: String,
    pub device_id: String,
    pub user_id: String,
    pub provider: String,
    pub browser_profile: Option<String>,
    pub status: String,
    pub metadata: Option<Value>,
    pub last_seen_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderBody {
    provider: String,
    name: Option<String>,
    enabled: Option<bool>,
    status: Option<String>,
    last_error: Option<String>,
    config: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    policy_id: Option<String>,
    provider: String,
    name: String,
    enforcement_mode: Option<String>,
    policy: Option<Value>,
    active: Option<bool>,
    version: Option<u64>,
    metadata: Option<Value>,
    created_by: Option<String>,
    updated_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollmentBody {
    enrollment_id: Option<String>,
    device_id: String,
    user_id: String,
    provider: String,
    browser_profile: Option<String>,
    status: Option<String>,
    metadata: Option<Value>,
    last_seen_at: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct BrowserState {
    pub providers: Vec<BrowserProvider>,
    pub policies: Vec<BrowserPolicy>,
    pub enrollments: Vec<BrowserEnrollment>,
}

fn read<T: for<'de> Deserialize<'de>>(what: &str, body: Value) -> Result<T, GovError> {
    serde_json::from_value(body)
        .map_err(|e| GovError::bad_request("invalid_request", format!("read {what}: {e}")))
}

fn required(what: &str, field: &str, value: &str) -> Result<(), GovError> {
    if value.trim().is_empty() {
        return Err(GovError::bad_request(
            "invalid_request",
            format!("read {what}: {field} must not be empty"),
        ));
    }
    Ok(())
}

fn object(what: &str, field: &str, value: Option<Value>) -> Result<Value, GovError> {
    match value.unwrap_or_else(|| Value::Object(Default::default())) {
        object @ Value::Object(_) => Ok(object),
        _ => Err(GovError::bad_request(
            "invalid_request",
            format!("read {what}: {field} must be a JSON object"),
        )),
    }
}

fn known_provider(what: &str, provider: &str) -> Result<(), GovError> {
    if PROVIDERS.contains(&provider) {
        return Ok(());
    }
    Err(GovError::bad_request(
        "invalid_provider",
        format!("read {what}: unknown browser provider {provider:?} (expected chrome, firefox, safari or island)"),
    ))
}

/// An optional `metadata` object: absent or `null` stays absent, anything but an
/// object is refused.
fn optional_object(
    what: &str,
    field: &str,
    value: Option<Value>,
) -> Result<Option<Value>, GovError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(object @ Value::Object(_)) => Ok(Some(object)),
        Some(_) => Err(GovError::bad_request(
            "invalid_request",
            format!("read {what}: {field} must be a JSON object"),
        )),
    }
}

fn optional_timestamp(
    what: &str,
    field: &str,
    value: Option<String>,
) -> Result<Option<Timestamp>, GovError> {
    match value {
        None => Ok(None),
        Some(text) => super::parse_rfc3339(&text).map(Some).ok_or_else(|| {
            GovError::bad_request(
                "invalid_request",
                format!("read {what}: {field} {text:?} is not an RFC 3339 timestamp"),
            )
        }),
    }
}

/// Which rows a list returns: the vendor's data sources pass `?provider=` (policies,
/// enrollments) and `?status=` (enrollments); an absent or empty filter matches all.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct BrowserFilter {
    pub provider: Option<String>,
    pub status: Option<String>,
}

impl BrowserFilter {
    fn admits(wanted: &Option<String>, actual: &str) -> bool {
        wanted
            .as_deref()
            .is_none_or(|w| w.is_empty() || w == actual)
    }

    pub fn policies<'a>(
        &'a self,
        state: &'a BrowserState,
    ) -> impl Iterator<Item = &'a BrowserPolicy> {
        state
            .policies
            .iter()
            .filter(|p| Self::admits(&self.provider, &p.provider))
    }

    pub fn enrollments<'a>(
        &'a self,
        state: &'a BrowserState,
    ) -> impl Iterator<Item = &'a BrowserEnrollment> {
        state.enrollments.iter().filter(|e| {
            Self::admits(&self.provider, &e.provider) && Self::admits(&self.status, &e.status)
        })
    }
}

impl BrowserState {
    fn registered(&self, what: &str, provider: &str) -> Result<(), GovError> {
        known_provider(what, provider)?;
        if self.providers.iter().any(|p| p.provider == provider) {
            return Ok(());
        }
        Err(GovError::conflict(
            "provider_not_registered",
            format!(
                "upsert {what}: browser provider {provider:?} is not registered; upsert it first"
            ),
        ))
    }

    /// Upserts by `provider`; returns the stored record and whether it was created.
    pub fn upsert_provider(
        &mut self,
        body: Value,
        now: Timestamp,
    ) -> Result<(BrowserProvider, bool), GovError> {
        const WHAT: &str = "browser provider";
        let body: ProviderBody = read(WHAT, body)?;
        known_provider(WHAT, &body.provider)?;
        let mut config = object(WHAT, "config", body.config)?;
        if let Some(existing) = self
            .providers
            .iter_mut()
            .find(|p| p.provider == body.provider)
        {
            keep_redacted(&mut config, &existing.config);
            existing.config = config;
            if let Some(name) = body.name {
                existing.name = name;
            }
            if let Some(enabled) = body.enabled {
                existing.enabled = enabled;
            }
            if body.status.is_some() {
                existing.status = body.status;
            }
            if body.last_error.is_some() {
                existing.last_error = body.last_error;
            }
            existing.updated_at = now;
            return Ok((existing.clone(), false));
        }
        let record = BrowserProvider {
            name: body.name.unwrap_or_else(|| body.provider.clone()),
            provider: body.provider,
            enabled: body.enabled.unwrap_or(true),
            status: body.status,
            last_error: body.last_error,
            config,
            created_at: now,
            updated_at: now,
        };
        self.providers.push(record.clone());
        Ok((record, true))
    }

    /// Upserts by `policy_id`, or by (provider, name) when no id is given, which is
    /// how `thothctl browser policies upsert --provider --name` addresses a policy.
    /// An explicit `version` is kept as sent (TF "Optional explicit policy version");
    /// without one every update counts the version up.
    pub fn upsert_policy(
        &mut self,
        body: Value,
        now: Timestamp,
    ) -> Result<(BrowserPolicy, bool), GovError> {
        const WHAT: &str = "browser policy";
        let body: PolicyBody = read(WHAT, body)?;
        required(WHAT, "name", &body.name)?;
        self.registered(WHAT, &body.provider)?;
        if let Some(mode) = &body.enforcement_mode {
            if !ENFORCEMENT_MODES.contains(&mode.as_str()) {
                return Err(GovError::bad_request(
                    "invalid_enforcement_mode",
                    format!(
                        "read {WHAT}: unknown enforcement_mode {mode:?} (expected monitor or enforce)"
                    ),
                ));
            }
        }
        let policy = object(WHAT, "policy", body.policy)?;
        let metadata = optional_object(WHAT, "metadata", body.metadata)?;
        let existing = self.policies.iter_mut().find(|p| match &body.policy_id {
            Some(id) => &p.policy_id == id,
            None => p.provider == body.provider && p.name == body.name,
        });
        if let Some(existing) = existing {
            existing.provider = body.provider;
            existing.name = body.name;
            // TF's Delete sends no enforcement_mode: an absent mode keeps the stored one.
            if let Some(mode) = body.enforcement_mode {
                existing.enforcement_mode = mode;
            }
            existing.policy = policy;
            existing.active = body.active.unwrap_or(existing.active);
            existing.version = body.version.unwrap_or(existing.version + 1);
            if metadata.is_some() {
                existing.metadata = metadata;
            }
            if body.updated_by.is_some() {
                existing.updated_by = body.updated_by;
            }
            existing.updated_at = now;
            return Ok((existing.clone(), false));
        }
        let record = BrowserPolicy {
            policy_id: body.policy_id.unwrap_or_else(|| new_id("bpol")),
            provider: body.provider,
            name: body.name,
            enforcement_mode: body
                .enforcement_mode
                .unwrap_or_else(|| "monitor".to_owned()),
            policy,
            active: body.active.unwrap_or(true),
            version: body.version.unwrap_or(1),
            metadata,
            updated_by: body.updated_by.or_else(|| body.created_by.clone()),
            created_by: body.created_by,
            created_at: now,
            updated_at: now,
        };
        self.policies.push(record.clone());
        Ok((record, true))
    }

    /// Upserts by `enrollment_id`, or by (device, provider) when no id is given: a
    /// device has one enrollment per browser. Which policy applies is the server's
    /// business (seed 003: `browser sync` "picks the effective active policy per
    /// provider"), so an enrollment names no policy.
    pub fn upsert_enrollment(
        &mut self,
        body: Value,
        now: Timestamp,
    ) -> Result<(BrowserEnrollment, bool), GovError> {
        const WHAT: &str = "browser enrollment";
        let body: EnrollmentBody = read(WHAT, body)?;
        required(WHAT, "device_id", &body.device_id)?;
        required(WHAT, "user_id", &body.user_id)?;
        self.registered(WHAT, &body.provider)?;
        if let Some(status) = &body.status {
            if !ENROLLMENT_STATUSES.contains(&status.as_str()) {
                return Err(GovError::bad_request(
                    "invalid_request",
                    format!(
                        "read {WHAT}: unknown status {status:?} (expected active, pending or disabled)"
                    ),
                ));
            }
        }
        let metadata = optional_object(WHAT, "metadata", body.metadata)?;
        let last_seen_at = optional_timestamp(WHAT, "last_seen_at", body.last_seen_at)?;
        let existing = self
            .enrollments
            .iter_mut()
            .find(|e| match &body.enrollment_id {
                Some(id) => &e.enrollment_id == id,
                None => e.device_id == body.device_id && e.provider == body.provider,
            });
        if let Some(existing) = existing {
            existing.device_id = body.device_id;
            existing.user_id = body.user_id;
            existing.provider = body.provider;
            if let Some(status) = body.status {
                existing.status = status;
            }
            if body.browser_profile.is_some() {
                existing.browser_profile = body.browser_profile;
            }
            if metadata.is_some() {
                existing.metadata = metadata;
            }
            if last_seen_at.is_some() {
                existing.last_seen_at = last_seen_at;
            }
            existing.updated_at = now;
            return Ok((existing.clone(), false));
        }
        let record = BrowserEnrollment {
            enrollment_id: body.enrollment_id.unwrap_or_else(|| new_id("benr")),
            device_id: body.device_id,
            user_id: body.user_id,
            provider: body.provider,
            browser_profile: body.browser_profile,
            status: body.status.unwrap_or_else(|| "active".to_owned()),
            metadata,
            last_seen_at,
            created_at: now,
            updated_at: now,
        };
        self.enrollments.push(record.clone());
        Ok((record, true))
    }
}
#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 12:00 UTC));

    fn with_chrome() -> BrowserState {
        let mut state = BrowserState::default();
        state
            .upsert_provider(json!({"provider": "chrome", "name": "Chrome Enterprise", "config": {"enrollment_token": "tok"}}), NOW)
            .unwrap();
        state
    }

    #[test]
    fn providers_upsert_by_name_and_hide_secrets() {
        let mut state = with_chrome();
        let (updated, created) = state
            .upsert_provider(json!({"provider": "chrome", "config": {"enrollment_token": super::super::REDACTED, "ou": "eng"}}), NOW)
            .unwrap();
        assert!(!created);
        assert_eq!(updated.name, "Chrome Enterprise");
        assert_eq!(
            updated.config["enrollment_token"], "tok",
            "redacted echo keeps the secret"
        );
        assert_eq!(state.providers.len(), 1);
        assert_eq!(
            updated.view()["config"]["enrollment_token"],
            super::super::REDACTED
        );
        let err = state
            .upsert_provider(json!({"provider": "edge"}), NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_provider"));
        assert_eq!(
            state
                .upsert_provider(json!({"name": "x"}), NOW)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn policies_need_a_registered_provider_and_a_known_mode() {
        let mut state = with_chrome();
        let body = json!({"provider": "chrome", "name": "chrome-baseline-v1", "enforcement_mode": "enforce", "policy": {"ExtensionSettings": {}}});
        let (first, created) = state.upsert_policy(body.clone(), NOW).unwrap();
        assert!(created);
        let (second, created) = state.upsert_policy(body, NOW).unwrap();
        assert!(!created);
        assert_eq!((second.policy_id, second.version), (first.policy_id, 2));

        let err = state
            .upsert_policy(json!({"provider": "firefox", "name": "p"}), NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (409, "provider_not_registered"));
        let err = state
            .upsert_policy(json!({"provider": "opera", "name": "p"}), NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_provider"));
        let err = state
            .upsert_policy(
                json!({"provider": "chrome", "name": "p", "enforcement_mode": "block"}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.code, "invalid_enforcement_mode");
        let err = state
            .upsert_policy(
                json!({"provider": "chrome", "name": "p", "policy": []}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(state.policies.len(), 1);
    }

    #[test]
    fn enrollments_use_the_vendor_status_vocabulary_and_name_no_policy() {
        let mut state = with_chrome();
        let body =
            json!({"device_id": "tim-mac-01", "user_id": "tim@example.com", "provider": "chrome"});
        let (first, created) = state.upsert_enrollment(body.clone(), NOW).unwrap();
        assert!(created);
        assert_eq!(first.status, "active");
        let (again, created) = state.upsert_enrollment(body, NOW).unwrap();
        assert!(!created, "same device and browser is the same enrollment");
        assert_eq!(again.enrollment_id, first.enrollment_id);

        for status in ENROLLMENT_STATUSES {
            let (row, _) = state
                .upsert_enrollment(json!({"enrollment_id": first.enrollment_id, "device_id": "tim-mac-01", "user_id": "tim@example.com", "provider": "chrome", "status": status}), NOW)
                .unwrap();
            assert_eq!(row.status, status);
        }
        let err = state
            .upsert_enrollment(json!({"device_id": "d", "user_id": "u", "provider": "chrome", "status": "revoked"}), NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_request"));
        let err = state
            .upsert_enrollment(
                json!({"device_id": "d", "user_id": "u", "provider": "chrome", "policy_id": "p"}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.status, 400, "policy_id is no enrollment field");
        let err = state
            .upsert_enrollment(json!({"device_id": "d", "user_id": "u", "provider": "chrome", "last_seen_at": "yesterday"}), NOW)
            .unwrap_err();
        assert!(err.message.contains("last_seen_at"), "{}", err.message);
        let err = state
            .upsert_enrollment(
                json!({"device_id": "d", "user_id": "u", "provider": "safari"}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.code, "provider_not_registered");
        let err = state
            .upsert_enrollment(
                json!({"device_id": "", "user_id": "u", "provider": "chrome"}),
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(state.enrollments.len(), 1);
    }
}
