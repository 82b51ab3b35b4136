//! Learning what a run creates: the tenant snapshot taken before the first mutation, and
//! the ledger entry written when a step annotated with `creates` passes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::ledger::{now, Created, Ledger, LedgerError, UndoRequest};
use super::plan::Decision;
use super::Profile;
use crate::client::{HttpClient, HttpRequest};
use crate::suite::model::{Creates, ResourceKind, Step, Suite};
use crate::target::Target;
use crate::template::{render, render_json, Vars};

/// Upserted-by-key records the run may overwrite: where they are listed and which
/// field keys them. One that existed before the run is put back as it was read.
fn keyed_list(kind: ResourceKind) -> Option<(&'static str, &'static str)> {
    match kind {
        ResourceKind::MdmProvider => Some(("/thoth/mdm/providers", "provider")),
        ResourceKind::BrowserProvider => Some(("/thoth/browser/providers", "provider")),
        _ => None,
    }
}

/// How GovAPI shows a set secret on GET.
const REDACTED: &str = "\"********\"";

/// Fields of a provider row that its upsert accepts (the rest is server-computed).
const PROVIDER_FIELDS: &[&str] = &["provider", "name", "enabled", "config"];

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("failed to snapshot {what} before the first mutation: {message}")]
    Snapshot { what: String, message: String },
    #[error("failed to record `{kind}` in the ledger: {message}")]
    Render { kind: &'static str, message: String },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// The target's default credential (admin token, else org key), as undo and snapshot
/// requests carry it.
pub fn default_auth(target: &Target) -> Vec<(String, String)> {
    target.default_credential().into_iter().collect()
}

/// One request to a tenant route with the default credential.
pub async fn tenant_call(
    client: &HttpClient,
    target: &Target,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, String), String> {
    let mut headers = default_auth(target);
    if body.is_some() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let req = HttpRequest {
        method: method.into(),
        url: format!("{}{path}", target.tenant_base()),
        headers,
        body: body.map(|b| b.to_string().into_bytes()),
    };
    let (_, result) = client.send(&req).await;
    result
        .map(|r| (r.status, r.text()))
        .map_err(|e| e.to_string())
}

/// The run's ledger plus what was read before the first mutation.
#[derive(Debug)]
pub struct Recorder {
    pub ledger: Ledger,
    /// Rows of keyed records as they were before the run, by (kind, key).
    prior: Mutex<HashMap<(ResourceKind, String), Value>>,
    /// Keyed records already in the ledger: their restore is written once.
    recorded: Mutex<HashSet<(ResourceKind, String)>>,
}

impl Recorder {
    pub fn new(ledger: Ledger) -> Recorder {
        Recorder {
            ledger,
            prior: Mutex::new(HashMap::new()),
            recorded: Mutex::new(HashSet::new()),
        }
    }

    /// Reads what the planned steps may change, before any of them runs: the settings
    /// document (recorded at once as a restore entry) and the keyed lists.
    pub async fn snapshot(
        &self,
        client: &HttpClient,
        target: &Target,
        kinds: &BTreeSet<ResourceKind>,
    ) -> Result<(), RecordError> {
        let get = |what: &'static str, path: &'static str| async move {
            match tenant_call(client, target, "GET", path, None).await {
                Ok((200, text)) => {
                    serde_json::from_str::<Value>(&text).map_err(|e| RecordError::Snapshot {
                        what: what.into(),
                        message: format!("GET {path}: not JSON: {e}"),
                    })
                }
                Ok((status, _)) => Err(RecordError::Snapshot {
                    what: what.into(),
                    message: format!("GET {path} answered {status}"),
                }),
                Err(e) => Err(RecordError::Snapshot {
                    what: what.into(),
                    message: format!("GET {path}: {e}"),
                }),
            }
        };
        if kinds.contains(&ResourceKind::Settings) {
            let mut doc = get("the settings", "/thoth/settings").await?;
            // Server-managed: PUT sets it anew.
            if let Some(o) = doc.as_object_mut() {
                o.remove("updated_at");
            }
            self.recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((ResourceKind::Settings, "settings".into()));
            self.ledger.record(Created {
                seq: 0,
                kind: ResourceKind::Settings,
                id: "settings".into(),
                phase: None,
                case: None,
                step: Some("snapshot before the first mutation".into()),
                at: now(),
                undo: Some(UndoRequest {
                    method: "PUT".into(),
                    path: "/thoth/settings".into(),
                    body: Some(doc),
                    ok_status: vec![200, 204],
                }),
                note: Some(
                    "secrets read back as \"********\"; the restore relies on the server keeping the stored secret for that placeholder".into(),
                ),
            })?;
        }
        for kind in kinds {
            let Some((path, key)) = keyed_list(*kind) else {
                continue;
            };
            let list = get(kind.as_str(), path).await?;
            let rows = list.get("data").and_then(Value::as_array).cloned();
            let mut prior = self.prior.lock().unwrap_or_else(|e| e.into_inner());
            for row in rows.unwrap_or_default() {
                if let Some(id) = row.get(key).and_then(Value::as_str) {
                    prior.insert((*kind, id.to_string()), row.clone());
                }
            }
        }
        Ok(())
    }

    /// Under `staging`, leaves out cases (all of them, when it is the suite setup) that
    /// would overwrite a keyed record the tenant already had whose secrets read back
    /// redacted: the restore could not bring those secrets back.
    pub fn guard(&self, profile: Profile, suite: &Suite, mut plan: Vec<Decision>) -> Vec<Decision> {
        if profile != Profile::Staging {
            return plan;
        }
        let prior = self.prior.lock().unwrap_or_else(|e| e.into_inner());
        let blocked = |steps: &[Step]| {
            steps.iter().flat_map(|s| &s.creates).find_map(|c| {
                let id = c.id.as_deref()?;
                let row = prior.get(&(c.kind, id.to_string()))?;
                row.to_string().contains(REDACTED).then(|| {
                    format!(
                        "profile staging excludes cases that overwrite the tenant's existing {} `{id}`: its secrets read back redacted and could not be restored (use --profile full)",
                        c.kind.as_str()
                    )
                })
            })
        };
        let suite_why = blocked(&suite.setup);
        for (d, c) in plan.iter_mut().zip(&suite.cases) {
            // The setup runs unless every case is disabled, skipped ones included.
            let why = match (&suite_why, &d) {
                (Some(w), d) if d.selected() => Some(w.clone()),
                (None, d) if d.runs() => blocked(&c.steps),
                _ => None,
            };
            if let Some(why) = why {
                *d = Decision::Disabled(why);
            }
        }
        plan
    }

    /// Writes the ledger entries of a step that just passed (its captures are in `vars`).
    pub fn record_step(
        &self,
        step: &Step,
        step_name: &str,
        phase: &str,
        case: Option<&str>,
        vars: &Vars,
    ) -> Result<(), RecordError> {
        for c in &step.creates {
            self.record_one(c, step_name, phase, case, vars)?;
        }
        Ok(())
    }

    fn record_one(
        &self,
        c: &Creates,
        step_name: &str,
        phase: &str,
        case: Option<&str>,
        vars: &Vars,
    ) -> Result<(), RecordError> {
        let fail = |message: String| RecordError::Render {
            kind: c.kind.as_str(),
            message,
        };
        let id = match &c.id {
            Some(t) => render(t, vars).map_err(|e| fail(format!("id: {e}")))?,
            None => c.kind.as_str().to_string(),
        };
        let keyed = matches!(c.kind, ResourceKind::Settings) || keyed_list(c.kind).is_some();
        if keyed
            && !self
                .recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((c.kind, id.clone()))
        {
            // Restored once, to the state before the run, whatever happened since.
            return Ok(());
        }
        let prior = self
            .prior
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(c.kind, id.clone()))
            .cloned();
        let (undo, note) = match (prior, &c.undo) {
            (Some(row), _) => {
                let (path, _) = keyed_list(c.kind).unwrap_or(("", ""));
                let body: Map<String, Value> = PROVIDER_FIELDS
                    .iter()
                    .filter_map(|f| row.get(*f).map(|v| (f.to_string(), v.clone())))
                    .collect();
                let undo = UndoRequest {
                    method: "POST".into(),
                    path: path.into(),
                    body: Some(Value::Object(body)),
                    ok_status: Vec::new(),
                };
                (
                    Some(undo),
                    Some("existed before the run: upserted back as read".into()),
                )
            }
            (None, Some(r)) => {
                let path = render(&r.path, vars).map_err(|e| fail(format!("undo.path: {e}")))?;
                let body = match &r.json {
                    Some(j) => {
                        Some(render_json(j, vars).map_err(|e| fail(format!("undo.json: {e}")))?)
                    }
                    None => None,
                };
                let undo = UndoRequest {
                    method: r.method.as_str().into(),
                    path,
                    body,
                    ok_status: c.undo_status.clone().unwrap_or_default(),
                };
                (Some(undo), None)
            }
            (None, None) => (None, Some("append-only: cannot delete".into())),
        };
        self.ledger.record(Created {
            seq: 0,
            kind: c.kind,
            id,
            phase: Some(phase.to_string()),
            case: case.map(str::to_string),
            step: Some(step_name.to_string()),
            at: now(),
            undo,
            note,
        })?;
        Ok(())
    }
}
