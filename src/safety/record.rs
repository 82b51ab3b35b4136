//! Learning what a run creates: the tenant snapshot taken before the first mutation, and
//! the ledger entry written when a step annotated with `creates` passes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::lease::{self, Lease, LeaseError};
use super::ledger::{now, Created, Ledger, LedgerError, UndoRequest};
use super::plan::Decision;
use super::snapshot::{read_list, read_settings};
use super::Profile;
use crate::client::{HttpClient, HttpRequest};
use crate::suite::model::{Creates, ResourceKind, Step, Suite};
use crate::target::Target;
use crate::template::{render, render_json, Vars};

/// Upserted-by-key records the run may overwrite: where they are listed, which field
/// keys them and which fields their upsert takes. One that existed before the run is
/// put back as it was read.
fn keyed_list(kind: ResourceKind) -> Option<crate::govapi::KindRoutes> {
    let r = crate::govapi::routes(kind);
    (!r.restore_fields.is_empty()).then_some(r)
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("failed to snapshot {what} before the first mutation: {message}")]
    Snapshot { what: String, message: String },
    #[error("failed to record `{kind}` in the ledger: {message}")]
    Render { kind: &'static str, message: String },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
}

/// Who restores the tenant's settings (see `lease.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsRole {
    /// This run owns them: it takes the lease (group `run-<run_id>`, or the given one for
    /// `prepare`), snapshots them and restores them at the end.
    Owner {
        group: Option<String>,
        ttl: std::time::Duration,
    },
    /// A shard of a prepared group: checks the group's lease, restores nothing.
    Member { group: String },
    /// The in-process mock: dies with the run, no other run can touch it; snapshot only.
    Private,
}

/// The run's ledger plus what was read before the first mutation.
#[derive(Debug)]
pub struct Recorder {
    pub ledger: Ledger,
    /// Rows of keyed records as they were before the run, by (kind, key).
    prior: Mutex<HashMap<(ResourceKind, String), Value>>,
    /// Keyed records already in the ledger: their restore is written once.
    recorded: Mutex<HashSet<(ResourceKind, String)>>,
    role: SettingsRole,
    /// The lease held or joined, stamped on every settings PUT the steps send.
    lease: Mutex<Option<Lease>>,
    /// Settings taken care of (snapshot recorded, or owned by the group's prepare).
    settings_taken: Mutex<bool>,
    /// Read-held by a creating step from before it sends until its record is written;
    /// an abort takes it for writing, so it waits for those records (`quiesce`).
    creates: tokio::sync::RwLock<()>,
}

impl Recorder {
    /// A recorder whose settings role follows the target: owner on a live tenant,
    /// private on the in-process mock.
    pub fn new(ledger: Ledger) -> Recorder {
        Recorder::with_role(
            ledger,
            SettingsRole::Owner {
                group: None,
                ttl: lease::DEFAULT_TTL,
            },
        )
    }

    pub fn with_role(ledger: Ledger, role: SettingsRole) -> Recorder {
        Recorder {
            ledger,
            prior: Mutex::new(HashMap::new()),
            recorded: Mutex::new(HashSet::new()),
            role,
            lease: Mutex::new(None),
            settings_taken: Mutex::new(false),
            creates: tokio::sync::RwLock::new(()),
        }
    }

    /// Held by a creating step while its request is out and until its record is in the
    /// ledger.
    pub async fn creating(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.creates.read().await
    }

    /// Waits (at most `limit`) until no creating step is between its request and its
    /// record, and holds off new ones: the abort path calls it before it exits.
    pub async fn quiesce(
        &self,
        limit: std::time::Duration,
    ) -> Option<tokio::sync::RwLockWriteGuard<'_, ()>> {
        tokio::time::timeout(limit, self.creates.write()).await.ok()
    }

    pub fn lease(&self) -> Option<Lease> {
        self.lease.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes care of the settings before the first mutation, by role: the owner takes
    /// the lease (which records the restore), a member checks its group's lease, the
    /// mock's run only snapshots. Idempotent: the CLI calls it before the run (to refuse
    /// with exit 2), the runner again before its first mutation.
    pub async fn take_settings(
        &self,
        client: &HttpClient,
        target: &Target,
    ) -> Result<(), RecordError> {
        if *self
            .settings_taken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
        {
            return Ok(());
        }
        let role = match (&self.role, target.kind) {
            (_, crate::target::TargetKind::Mock) => SettingsRole::Private,
            (r, _) => r.clone(),
        };
        match role {
            SettingsRole::Owner { group, ttl } => {
                let run_id = self.ledger.run_id().to_string();
                let group = group.unwrap_or_else(|| format!("run-{run_id}"));
                let l = Lease::new(&group, &run_id, ttl);
                lease::acquire(client, target, &self.ledger, &l).await?;
                *self.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(l);
            }
            SettingsRole::Member { group } => {
                let l = lease::join(client, target, &group).await?;
                *self.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(l);
            }
            SettingsRole::Private => {
                let mut doc = read_settings(client, target).await.map_err(|message| {
                    RecordError::Snapshot {
                        what: "the settings".into(),
                        message,
                    }
                })?;
                if let Some(o) = doc.as_object_mut() {
                    o.remove("updated_at");
                }
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
                        path: crate::govapi::SETTINGS.into(),
                        body: Some(doc),
                        ok_status: vec![200, 204],
                    }),
                    note: Some(
                        "secrets read back masked, omitted or empty; the restore relies on the server keeping the stored secret for what it showed".into(),
                    ),
                    lost: None,
                })?;
            }
        }
        self.recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((ResourceKind::Settings, "settings".into()));
        *self
            .settings_taken
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = true;
        Ok(())
    }

    /// Stamps the lease into a settings PUT a step is about to send (see `lease::stamp`).
    pub fn stamp_request(&self, req: &mut HttpRequest, tenant_base: &str) {
        let Some(l) = self.lease() else {
            return;
        };
        if !req.method.eq_ignore_ascii_case("PUT")
            || req.url.trim_end_matches('/') != format!("{tenant_base}{}", crate::govapi::SETTINGS)
        {
            return;
        }
        let Some(mut body) = req
            .body
            .as_deref()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        else {
            return;
        };
        lease::stamp(&mut body, &l);
        req.body = Some(body.to_string().into_bytes());
    }

    /// Reads what the planned steps may change, before any of them runs: the settings
    /// document (by role, see `take_settings`) and the keyed lists, whole and in a shape
    /// the vendor clients read, or the run refuses to mutate.
    pub async fn snapshot(
        &self,
        client: &HttpClient,
        target: &Target,
        kinds: &BTreeSet<ResourceKind>,
    ) -> Result<(), RecordError> {
        if kinds.contains(&ResourceKind::Settings) {
            self.take_settings(client, target).await?;
        }
        // The lists are read side by side: on a tenant 50 ms away, eight kinds read one
        // after another held the first case back 400 ms. A failure is still reported
        // for the first kind in order, whichever answered first.
        let keyed: Vec<(ResourceKind, &str, &str)> = kinds
            .iter()
            .filter_map(|kind| keyed_list(*kind).map(|r| (*kind, r.collection, r.key)))
            .collect();
        let read = futures::future::join_all(
            keyed
                .iter()
                .map(|(_, path, _)| read_list(client, target, path, "data")),
        )
        .await;
        let mut prior = self.prior.lock().unwrap_or_else(|e| e.into_inner());
        for ((kind, path, key), rows) in keyed.into_iter().zip(read) {
            let rows = rows.map_err(|message| RecordError::Snapshot {
                what: kind.as_str().into(),
                message,
            })?;
            for row in rows {
                match row.get(key).and_then(Value::as_str) {
                    Some(id) => {
                        prior.insert((kind, id.to_string()), row.clone());
                    }
                    // A row the restore could not key: refuse rather than guess.
                    None => {
                        return Err(RecordError::Snapshot {
                            what: kind.as_str().into(),
                            message: format!("GET {path}: a row without a string `{key}`"),
                        })
                    }
                }
            }
        }
        Ok(())
    }

    /// Under `staging`, leaves out cases (all of them, when it is the suite setup) that
    /// would overwrite a keyed record the tenant already had: whatever secrets it holds
    /// read back masked, empty or not at all, so the restore could not bring them back
    /// (and under "omit" nothing in the row says it has any).
    pub fn guard(&self, profile: Profile, suite: &Suite, mut plan: Vec<Decision>) -> Vec<Decision> {
        if profile != Profile::Staging {
            return plan;
        }
        let prior = self.prior.lock().unwrap_or_else(|e| e.into_inner());
        let blocked = |steps: &[Step]| {
            steps.iter().flat_map(|s| &s.creates).find_map(|c| {
                let id = c.id.as_deref()?;
                prior.get(&(c.kind, id.to_string()))?;
                Some(format!(
                    "profile staging excludes cases that overwrite the tenant's existing {} `{id}`: its secrets cannot be read back, so the restore could not bring them back (use --profile full)",
                    c.kind.as_str()
                ))
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
    /// `refused`: the step passed because the server refused the request (a 4xx the
    /// case expected), so it created nothing; only the settings entry, which stands for
    /// the snapshot rather than for a record, is still written. A case that expects a
    /// create to be refused declares `creates` for the server that wrongly accepts it
    /// (the step then fails, and `record_after_failure` learns the id from the answer).
    pub fn record_step(
        &self,
        step: &Step,
        step_name: &str,
        phase: &str,
        case: Option<&str>,
        vars: &Vars,
        refused: bool,
    ) -> Result<(), RecordError> {
        for c in &step.creates {
            if refused && c.kind != ResourceKind::Settings {
                continue;
            }
            self.record_one(c, step_name, phase, case, vars)?;
        }
        Ok(())
    }

    /// A creating step failed after its request: when the server answered 2xx it may
    /// have created the record. Its id is taken from the answer whatever field carries it
    /// (the step's own capture may be what failed); failing that, a `lost` entry says
    /// what could not be recorded, and the cleanup stays incomplete (exit 6).
    pub fn record_after_failure(
        &self,
        step: &Step,
        step_name: &str,
        phase: &str,
        case: Option<&str>,
        vars: &Vars,
        exchanges: &[crate::outcome::Exchange],
    ) -> Result<(), RecordError> {
        let Some(ex) = exchanges
            .iter()
            .rev()
            .find(|e| e.status.is_some_and(|s| (200..300).contains(&s)))
        else {
            return Ok(());
        };
        if ex.request_line.starts_with("GET ") {
            return Ok(());
        }
        let answer: Option<Value> = ex
            .response_body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok());
        for c in &step.creates {
            if matches!(c.kind, ResourceKind::Settings) {
                continue; // restored from the snapshot whatever happened
            }
            if c.id.as_deref().is_none_or(|t| render(t, vars).is_ok()) {
                self.record_one(c, step_name, phase, case, vars)?;
                continue;
            }
            match answer.as_ref().and_then(|a| created_id(c.kind, a)) {
                Some(id) => {
                    // Fill what the failed captures (or, for a create the case expected
                    // to be refused, the id template itself) left unset, for this entry
                    // only.
                    let mut filled = vars.clone();
                    let template_names =
                        c.id.as_deref()
                            .and_then(|t| crate::template::placeholders(t).ok())
                            .unwrap_or_default();
                    for name in step.capture.keys().chain(template_names.iter()) {
                        if vars.get(name).is_none() {
                            filled.set(name, Value::String(id.clone()));
                        }
                    }
                    self.record_one(c, step_name, phase, case, &filled)?;
                }
                None => {
                    let what = format!(
                        "{} answered {} but the created {}'s id could not be read from the answer (looked for {}); remove it from the tenant by hand",
                        ex.request_line.split(" http").next().unwrap_or(&ex.request_line),
                        ex.status.unwrap_or_default(),
                        c.kind.as_str(),
                        id_fields(c.kind).join(", ")
                    );
                    self.ledger.record(Created {
                        seq: 0,
                        kind: c.kind,
                        id: "(unknown)".into(),
                        phase: Some(phase.to_string()),
                        case: case.map(str::to_string),
                        step: Some(step_name.to_string()),
                        at: now(),
                        undo: None,
                        note: None,
                        lost: Some(what),
                    })?;
                }
            }
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
                let routes = keyed_list(c.kind).unwrap_or(crate::govapi::routes(c.kind));
                let path = routes.collection;
                let body: Map<String, Value> = routes
                    .restore_fields
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
            lost: None,
        })?;
        Ok(())
    }
}

/// Fields a create answer may carry its record's id in, most specific first.
fn id_fields(kind: ResourceKind) -> &'static [&'static str] {
    match kind {
        ResourceKind::ApiKey => &["key_id", "api_key_id", "id"],
        ResourceKind::MdmProvider | ResourceKind::BrowserProvider => &["provider"],
        ResourceKind::BrowserPolicy => &["policy_id", "id"],
        ResourceKind::BrowserEnrollment => &["enrollment_id", "id"],
        ResourceKind::Endpoint => &["endpoint_id", "id"],
        ResourceKind::Approval => &["approval_id", "id"],
        ResourceKind::Fleet => &["fleet_id", "id"],
        ResourceKind::Settings => &[],
    }
}

/// The created record's id in a create answer (top level or under `data`), if one of
/// the kind's id fields holds a plain id.
fn created_id(kind: ResourceKind, answer: &Value) -> Option<String> {
    let scopes = [Some(answer), answer.get("data")];
    scopes.into_iter().flatten().find_map(|obj| {
        id_fields(kind).iter().find_map(|f| {
            obj.get(*f)
                .and_then(Value::as_str)
                .filter(|id| super::allowed::is_plain_id(id))
                .map(str::to_string)
        })
    })
}
