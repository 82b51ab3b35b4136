//! Reading a [`Step`]: its action key decides the [`Action`] variant, so "exactly one
//! action" holds by construction instead of being checked over five `Option`s later.
//!
//! Written by hand rather than derived because serde's own ways to say "one of these
//! keys beside common fields" (`flatten` of an enum, an untagged enum) cannot deny
//! unknown fields and lose the field path of the error. Here every error is raised
//! while serde-saphyr and `serde_path_to_error` still know where the reader is, so a
//! second action or a typo is reported at its own key, with its own field path.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::model::{
    Action, Capture, Creates, Eventually, Expect, PamCallback, Request, Retry, SinkWait, Step,
    Thothctl,
};

/// Every key a step may have.
const FIELDS: &[&str] = &[
    "name",
    "request",
    "admin",
    "pam_callback",
    "sink_wait",
    "thothctl",
    "expect",
    "capture",
    "eventually",
    "retry",
    "creates",
];

/// Fails when asked for a value, with `message`: used for a second action key, so that
/// the error is raised at that key's value (its position and field path) instead of at
/// the end of the step.
struct Reject(String);

impl<'de> DeserializeSeed<'de> for Reject {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(self.0))
    }
}

fn action_of<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<Action, A::Error> {
    Ok(match key {
        "request" => Action::Request(map.next_value::<Request>()?),
        "admin" => Action::Admin(map.next_value::<Request>()?),
        "pam_callback" => Action::PamCallback(map.next_value::<PamCallback>()?),
        "sink_wait" => Action::SinkWait(map.next_value::<SinkWait>()?),
        "thothctl" => Action::Thothctl(map.next_value::<Thothctl>()?),
        other => return Err(de::Error::unknown_field(other, FIELDS)),
    })
}

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = Step;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a step (a mapping with one action key)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
        let mut name = None;
        let mut action: Option<Action> = None;
        let mut expect = None;
        let mut capture = None;
        let mut eventually = None;
        let mut retry = None;
        let mut creates = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = Some(map.next_value::<String>()?),
                "expect" => expect = Some(map.next_value::<Expect>()?),
                "capture" => capture = Some(map.next_value::<BTreeMap<String, Capture>>()?),
                "eventually" => eventually = Some(map.next_value::<Eventually>()?),
                "retry" => retry = Some(map.next_value::<Retry>()?),
                "creates" => creates = Some(map.next_value::<Vec<Creates>>()?),
                k if Action::KEYS.contains(&k) => match &action {
                    None => action = Some(action_of(k, &mut map)?),
                    Some(first) => {
                        let first = first.key();
                        map.next_value_seed(Reject(format!(
                            "step sets both `{first}` and `{k}`; a step has exactly one action (split it into two steps)"
                        )))?;
                    }
                },
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        let action = action.ok_or_else(|| {
            de::Error::custom(format!(
                "step has no action; set exactly one of {}",
                Action::KEYS
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        Ok(Step {
            name,
            action,
            expect: expect.unwrap_or_default(),
            capture: capture.unwrap_or_default(),
            eventually,
            retry,
            creates: creates.unwrap_or_default(),
        })
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        d.deserialize_map(StepVisitor)
    }
}

/// The schema's view of a step: every key optional, plus a `oneOf` that says exactly one
/// action key is present (what the loader enforces), so an editor flags the same steps.
#[derive(JsonSchema)]
#[schemars(rename = "Step", deny_unknown_fields)]
#[allow(dead_code)] // only its schema is used
struct StepSchema {
    /// Shown in failure messages and transcripts; defaults to "step N".
    name: Option<String>,
    /// A GovAPI request (`base: govapi`, the default) or a data-plane request
    /// (`base: enforcer`).
    request: Option<Request>,
    /// A request to the bundled mock's admin API (`/__admin/...`); needs `mock_admin`.
    admin: Option<Request>,
    /// A signed PAM approval callback, sent without tenant credentials.
    pam_callback: Option<PamCallback>,
    /// Wait for a SIEM delivery; needs `sink`.
    sink_wait: Option<SinkWait>,
    /// Run `thothctl`; needs `thothctl`.
    thothctl: Option<Thothctl>,
    #[serde(default)]
    expect: Option<Expect>,
    /// Variables taken from the response for later steps and cases.
    #[serde(default)]
    capture: Option<BTreeMap<String, Capture>>,
    /// Poll the action until `expect` holds.
    eventually: Option<Eventually>,
    /// Declared retry on transient statuses; only allowed on idempotent requests.
    retry: Option<Retry>,
    /// What this step leaves on the tenant, recorded in the run's ledger and undone.
    #[serde(default)]
    creates: Option<Vec<Creates>>,
}

impl JsonSchema for Step {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = StepSchema::json_schema(generator);
        let one_of: Vec<serde_json::Value> = Action::KEYS
            .iter()
            .map(|k| serde_json::json!({ "required": [k] }))
            .collect();
        schema.insert("oneOf".into(), serde_json::Value::Array(one_of));
        schema
    }
}
