//! Browser governance records (`T/browser/providers|policies|enrollments`): which
//! managed browsers exist, the policy bundles for them, and which device/user is
//! enrolled for which browser.
//!
//! The bodies are the ones the vendor's Terraform provider sends
//! (`internal/resources/browser_{provider,policy,enrollment}_resource.go:upsert`):
//! every optional field it sets is accepted and read back. Unknown fields are still
//! refused, so a typo in a suite fixture fails loudly instead of being dropped.

use crate::clock::Timestamp;
use crate::secrets::{keep_config, SecretReadback, Secrets};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::book::{Book, Record};
use super::{new_id, GovError, GovState};

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
    /// The provider as GET shows it: secrets in its config hidden.
    pub fn view(&self) -> Value {
        let mut shown = serde_json::to_value(self).unwrap_or(Value::Null);
        shown["config"] = Secrets::Named.hide(&self.config, SecretReadback::Mask);
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
pub struct ProviderBody {
    provider: String,
    name: Option<String>,
    enabled: Option<bool>,
    status: Option<String>,
    last_error: Option<String>,
    config: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
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
pub struct EnrollmentBody {
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
    pub providers: Book<BrowserProvider>,
    pub policies: Book<BrowserPolicy>,
    pub enrollments: Book<BrowserEnrollment>,
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

fn admits(wanted: &Option<String>, actual: &str) -> bool {
    wanted
        .as_deref()
        .is_none_or(|w| w.is_empty() || w == actual)
}

impl BrowserState {
    fn registered(&self, what: &str, provider: &str) -> Result<(), GovError> {
        known_provider(what, provider)?;
        if self.providers.rows().iter().any(|p| p.provider == provider) {
            return Ok(());
        }
        Err(GovError::conflict(
            "provider_not_registered",
            format!(
                "upsert {what}: browser provider {provider:?} is not registered; upsert it first"
            ),
        ))
    }
}

/// Upserted by `provider`.
impl Record for BrowserProvider {
    type Filter = super::book::NoFilter;
    /// The body, and its config as an object.
    type Input = (ProviderBody, Value);

    fn book(gov: &mut GovState) -> &mut Book<Self> {
        &mut gov.browser.providers
    }

    fn read(body: Value, _: &GovState) -> Result<Self::Input, GovError> {
        const WHAT: &str = "browser provider";
        let body: ProviderBody = read(WHAT, body)?;
        known_provider(WHAT, &body.provider)?;
        let config = object(WHAT, "config", body.config.clone())?;
        Ok((body, config))
    }

    fn addressed_by(&self, (body, _): &Self::Input) -> bool {
        self.provider == body.provider
    }

    fn update(
        &mut self,
        (body, mut config): Self::Input,
        now: Timestamp,
        secrets: SecretReadback,
    ) -> Result<(), GovError> {
        keep_config(&mut config, body.config.is_some(), &self.config, secrets);
        self.config = config;
        if let Some(name) = body.name {
            self.name = name;
        }
        if let Some(enabled) = body.enabled {
            self.enabled = enabled;
        }
        if body.status.is_some() {
            self.status = body.status;
        }
        if body.last_error.is_some() {
            self.last_error = body.last_error;
        }
        self.updated_at = now;
        Ok(())
    }

    fn create((body, config): Self::Input, now: Timestamp) -> Self {
        BrowserProvider {
            name: body.name.unwrap_or_else(|| body.provider.clone()),
            provider: body.provider,
            enabled: body.enabled.unwrap_or(true),
            status: body.status,
            last_error: body.last_error,
            config,
            created_at: now,
            updated_at: now,
        }
    }

    fn view(&self) -> Value {
        BrowserProvider::view(self)
    }
}

/// Upserted by `policy_id`, or by (provider, name) when no id is given, which is how
/// `thothctl browser policies upsert --provider --name` addresses a policy. An explicit
/// `version` is kept as sent (TF "Optional explicit policy version"); without one every
/// update counts the version up.
impl Record for BrowserPolicy {
    type Filter = BrowserFilter;
    /// The body, its `policy` and `metadata` objects.
    type Input = (PolicyBody, Value, Option<Value>);

    fn book(gov: &mut GovState) -> &mut Book<Self> {
        &mut gov.browser.policies
    }

    fn read(body: Value, gov: &GovState) -> Result<Self::Input, GovError> {
        const WHAT: &str = "browser policy";
        let body: PolicyBody = read(WHAT, body)?;
        required(WHAT, "name", &body.name)?;
        gov.browser.registered(WHAT, &body.provider)?;
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
        let policy = object(WHAT, "policy", body.policy.clone())?;
        let metadata = optional_object(WHAT, "metadata", body.metadata.clone())?;
        Ok((body, policy, metadata))
    }

    fn addressed_by(&self, (body, ..): &Self::Input) -> bool {
        match &body.policy_id {
            Some(id) => &self.policy_id == id,
            None => self.provider == body.provider && self.name == body.name,
        }
    }

    fn update(
        &mut self,
        (body, policy, metadata): Self::Input,
        now: Timestamp,
        _: SecretReadback,
    ) -> Result<(), GovError> {
        self.provider = body.provider;
        self.name = body.name;
        // TF's Delete sends no enforcement_mode: an absent mode keeps the stored one.
        if let Some(mode) = body.enforcement_mode {
            self.enforcement_mode = mode;
        }
        self.policy = policy;
        self.active = body.active.unwrap_or(self.active);
        self.version = body.version.unwrap_or(self.version + 1);
        if metadata.is_some() {
            self.metadata = metadata;
        }
        if body.updated_by.is_some() {
            self.updated_by = body.updated_by;
        }
        self.updated_at = now;
        Ok(())
    }

    fn create((body, policy, metadata): Self::Input, now: Timestamp) -> Self {
        BrowserPolicy {
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
        }
    }

    fn admits(&self, filter: &BrowserFilter) -> bool {
        admits(&filter.provider, &self.provider)
    }
}

/// Upserted by `enrollment_id`, or by (device, provider) when no id is given: a device
/// has one enrollment per browser. Which policy applies is the server's business (seed
/// 003: `browser sync` "picks the effective active policy per provider"), so an
/// enrollment names no policy.
impl Record for BrowserEnrollment {
    type Filter = BrowserFilter;
    /// The body, its `metadata` and `last_seen_at`.
    type Input = (EnrollmentBody, Option<Value>, Option<Timestamp>);

    fn book(gov: &mut GovState) -> &mut Book<Self> {
        &mut gov.browser.enrollments
    }

    fn read(body: Value, gov: &GovState) -> Result<Self::Input, GovError> {
        const WHAT: &str = "browser enrollment";
        let body: EnrollmentBody = read(WHAT, body)?;
        required(WHAT, "device_id", &body.device_id)?;
        required(WHAT, "user_id", &body.user_id)?;
        gov.browser.registered(WHAT, &body.provider)?;
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
        let metadata = optional_object(WHAT, "metadata", body.metadata.clone())?;
        let last_seen_at = optional_timestamp(WHAT, "last_seen_at", body.last_seen_at.clone())?;
        Ok((body, metadata, last_seen_at))
    }

    fn addressed_by(&self, (body, ..): &Self::Input) -> bool {
        match &body.enrollment_id {
            Some(id) => &self.enrollment_id == id,
            None => self.device_id == body.device_id && self.provider == body.provider,
        }
    }

    fn update(
        &mut self,
        (body, metadata, last_seen_at): Self::Input,
        now: Timestamp,
        _: SecretReadback,
    ) -> Result<(), GovError> {
        self.device_id = body.device_id;
        self.user_id = body.user_id;
        self.provider = body.provider;
        if let Some(status) = body.status {
            self.status = status;
        }
        if body.browser_profile.is_some() {
            self.browser_profile = body.browser_profile;
        }
        if metadata.is_some() {
            self.metadata = metadata;
        }
        if last_seen_at.is_some() {
            self.last_seen_at = last_seen_at;
        }
        self.updated_at = now;
        Ok(())
    }

    fn create((body, metadata, last_seen_at): Self::Input, now: Timestamp) -> Self {
        BrowserEnrollment {
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
        }
    }

    fn admits(&self, filter: &BrowserFilter) -> bool {
        admits(&filter.provider, &self.provider) && admits(&filter.status, &self.status)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::gov::book::upsert;

    fn up<R: Record>(gov: &mut GovState, body: Value) -> Result<(R, bool), GovError> {
        upsert::<R>(gov, body, NOW, SecretReadback::Mask)
    }

    const NOW: Timestamp = Timestamp(datetime!(2026-11-24 12:00 UTC));

    fn with_chrome() -> GovState {
        let mut state = GovState::default();
        up::<BrowserProvider>(&mut state, json!({"provider": "chrome", "name": "Chrome Enterprise", "config": {"enrollment_token": "tok"}}))
            .unwrap();
        state
    }

    #[test]
    fn providers_upsert_by_name_and_hide_secrets() {
        let mut state = with_chrome();
        let (updated, created) = up::<BrowserProvider>(&mut state, json!({"provider": "chrome", "config": {"enrollment_token": crate::secrets::MASK, "ou": "eng"}}))
            .unwrap();
        assert!(!created);
        assert_eq!(updated.name, "Chrome Enterprise");
        assert_eq!(
            updated.config["enrollment_token"], "tok",
            "redacted echo keeps the secret"
        );
        assert_eq!(state.browser.providers.len(), 1);
        assert_eq!(
            updated.view()["config"]["enrollment_token"],
            crate::secrets::MASK
        );
        let err = up::<BrowserProvider>(&mut state, json!({"provider": "edge"})).unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_provider"));
        assert_eq!(
            up::<BrowserProvider>(&mut state, json!({"name": "x"}))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn policies_need_a_registered_provider_and_a_known_mode() {
        let mut state = with_chrome();
        let body = json!({"provider": "chrome", "name": "chrome-baseline-v1", "enforcement_mode": "enforce", "policy": {"ExtensionSettings": {}}});
        let (first, created) = up::<BrowserPolicy>(&mut state, body.clone()).unwrap();
        assert!(created);
        let (second, created) = up::<BrowserPolicy>(&mut state, body).unwrap();
        assert!(!created);
        assert_eq!((second.policy_id, second.version), (first.policy_id, 2));

        let err = up::<BrowserPolicy>(&mut state, json!({"provider": "firefox", "name": "p"}))
            .unwrap_err();
        assert_eq!((err.status, err.code), (409, "provider_not_registered"));
        let err =
            up::<BrowserPolicy>(&mut state, json!({"provider": "opera", "name": "p"})).unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_provider"));
        let err = up::<BrowserPolicy>(
            &mut state,
            json!({"provider": "chrome", "name": "p", "enforcement_mode": "block"}),
        )
        .unwrap_err();
        assert_eq!(err.code, "invalid_enforcement_mode");
        let err = up::<BrowserPolicy>(
            &mut state,
            json!({"provider": "chrome", "name": "p", "policy": []}),
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(state.browser.policies.len(), 1);
    }

    #[test]
    fn enrollments_use_the_vendor_status_vocabulary_and_name_no_policy() {
        let mut state = with_chrome();
        let body =
            json!({"device_id": "tim-mac-01", "user_id": "tim@example.com", "provider": "chrome"});
        let (first, created) = up::<BrowserEnrollment>(&mut state, body.clone()).unwrap();
        assert!(created);
        assert_eq!(first.status, "active");
        let (again, created) = up::<BrowserEnrollment>(&mut state, body).unwrap();
        assert!(!created, "same device and browser is the same enrollment");
        assert_eq!(again.enrollment_id, first.enrollment_id);

        for status in ENROLLMENT_STATUSES {
            let (row, _) = up::<BrowserEnrollment>(&mut state, json!({"enrollment_id": first.enrollment_id, "device_id": "tim-mac-01", "user_id": "tim@example.com", "provider": "chrome", "status": status}))
                .unwrap();
            assert_eq!(row.status, status);
        }
        let err = up::<BrowserEnrollment>(
            &mut state,
            json!({"device_id": "d", "user_id": "u", "provider": "chrome", "status": "revoked"}),
        )
        .unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_request"));
        let err = up::<BrowserEnrollment>(
            &mut state,
            json!({"device_id": "d", "user_id": "u", "provider": "chrome", "policy_id": "p"}),
        )
        .unwrap_err();
        assert_eq!(err.status, 400, "policy_id is no enrollment field");
        let err = up::<BrowserEnrollment>(&mut state, json!({"device_id": "d", "user_id": "u", "provider": "chrome", "last_seen_at": "yesterday"}))
            .unwrap_err();
        assert!(err.message.contains("last_seen_at"), "{}", err.message);
        let err = up::<BrowserEnrollment>(
            &mut state,
            json!({"device_id": "d", "user_id": "u", "provider": "safari"}),
        )
        .unwrap_err();
        assert_eq!(err.code, "provider_not_registered");
        let err = up::<BrowserEnrollment>(
            &mut state,
            json!({"device_id": "", "user_id": "u", "provider": "chrome"}),
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(state.browser.enrollments.len(), 1);
    }
}
