//! Taking back what the ledger holds: every entry not yet undone, newest first, each
//! marked in the ledger as it is done, so running it twice sends nothing the second time.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::call::tenant_call;
use super::lease::lease_of;
use super::ledger::{Created, Ledger, Replay, UndoRequest};
use super::snapshot::{comparable, read_list, read_settings};
use crate::client::HttpClient;
use crate::redact::Redactor;
use crate::suite::model::ResourceKind;
use crate::target::Target;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupOutcome {
    /// Undone now.
    Undone,
    /// Undone earlier (by the run, or a previous cleanup).
    AlreadyUndone,
    /// Append-only: no route deletes it; left on the tenant, as documented.
    CannotDelete,
    /// The undo request failed; the entry stays pending for `cleanup --ledger`.
    Failed,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CleanupEntry {
    pub seq: u64,
    pub kind: ResourceKind,
    pub id: String,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub case: Option<String>,
    pub outcome: CleanupOutcome,
    /// "DELETE /thoth/api-keys/key_1".
    #[serde(default)]
    pub request: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The `cleanup` block of results.json and the console's cleanup section.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CleanupReport {
    pub ledger: String,
    /// Every entry that needed undoing is undone (append-only ones do not count).
    pub complete: bool,
    pub entries: Vec<CleanupEntry>,
}

impl CleanupReport {
    pub fn count(&self, outcome: CleanupOutcome) -> usize {
        self.entries.iter().filter(|e| e.outcome == outcome).count()
    }

    /// The console section, redacted.
    pub fn render(&self, redactor: &Redactor) -> String {
        let mut out = format!(
            "cleanup ({}): {} undone, {} already undone, {} kept (cannot delete), {} failed\n",
            self.ledger,
            self.count(CleanupOutcome::Undone),
            self.count(CleanupOutcome::AlreadyUndone),
            self.count(CleanupOutcome::CannotDelete),
            self.count(CleanupOutcome::Failed),
        );
        for e in &self.entries {
            if e.outcome == CleanupOutcome::AlreadyUndone {
                continue;
            }
            let what = match e.outcome {
                CleanupOutcome::Undone => "undone",
                CleanupOutcome::AlreadyUndone => "already undone",
                CleanupOutcome::CannotDelete => "kept: cannot delete",
                CleanupOutcome::Failed => "FAILED",
            };
            out.push_str(&format!(
                "  #{} {} {}: {what}{}{}\n",
                e.seq,
                e.kind.as_str(),
                e.id,
                e.request
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                e.message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default(),
            ));
        }
        if !self.complete {
            out.push_str(&format!(
                "cleanup incomplete: finish it with `thoth-conformance cleanup --ledger {}` and the same target flags\n",
                self.ledger
            ));
        }
        redactor.redact(&out)
    }
}

/// Undoes every pending entry of `replay` (read from `ledger`'s file), newest first.
pub async fn undo_pending(
    ledger: &Ledger,
    replay: &Replay,
    target: &Target,
    client: &HttpClient,
) -> CleanupReport {
    let mut entries = Vec::new();
    for c in replay.created.values().rev() {
        let mut entry = CleanupEntry {
            seq: c.seq,
            kind: c.kind,
            id: c.id.clone(),
            phase: c.phase.clone(),
            case: c.case.clone(),
            outcome: CleanupOutcome::AlreadyUndone,
            request: c.undo.as_ref().map(|u| format!("{} {}", u.method, u.path)),
            status: replay.undone.get(&c.seq).copied(),
            message: None,
        };
        if replay.undone.contains_key(&c.seq) {
            entries.push(entry);
            continue;
        }
        if let Some(lost) = &c.lost {
            // Nothing can be sent for it; it stays pending and says what to remove.
            entry.outcome = CleanupOutcome::Failed;
            entry.message = Some(format!("not recorded: {lost}"));
            entries.push(entry);
            continue;
        }
        let Some(undo) = &c.undo else {
            entry.outcome = CleanupOutcome::CannotDelete;
            entries.push(entry);
            continue;
        };
        if let Some(why) = super::allowed::refuse(c, undo, &target.tenant) {
            // Never sent: a ledger is a file anyone with the reports can edit.
            let message = format!("refused: not an undo this harness produces ({why})");
            let _ = ledger.mark_failed(c.seq, None, &message);
            entry.outcome = CleanupOutcome::Failed;
            entry.message = Some(message);
            entries.push(entry);
            continue;
        }
        let sent = tenant_call(client, target, &undo.method, &undo.path, undo.body.as_ref()).await;
        let (outcome, status, message) = match sent {
            Ok((status, _)) if undo.accepts(status) => {
                // A 2xx says little about a hostile or odd server: read the record back.
                match verify(c, undo, ledger.run_id(), replay, target, client).await {
                    Ok(()) => (
                        CleanupOutcome::Undone,
                        Some(status),
                        c.kind.after_undo().map(str::to_owned),
                    ),
                    Err(why) => (
                        CleanupOutcome::Failed,
                        Some(status),
                        Some(format!("answered {status} but {why}")),
                    ),
                }
            }
            Ok((status, body)) => (
                CleanupOutcome::Failed,
                Some(status),
                Some(format!("answered {status}: {}", short(&body))),
            ),
            Err(e) => (CleanupOutcome::Failed, None, Some(e)),
        };
        let mut mark = match (outcome, status) {
            (CleanupOutcome::Undone, Some(s)) => ledger.mark_undone(c.seq, s),
            _ => ledger.mark_failed(c.seq, status, message.as_deref().unwrap_or("")),
        };
        if c.kind == ResourceKind::Settings {
            // Sent again by a later cleanup, a restore would put this snapshot over what
            // another run has set since: its mark is on the disk before anything else.
            mark = mark.and_then(|()| ledger.sync());
        }
        entry.outcome = outcome;
        entry.status = status;
        entry.message = match mark {
            Ok(()) => message,
            // The tenant is tidy but the file does not say so: a later cleanup repeats an
            // idempotent undo, which is harmless; say it anyway.
            Err(e) => Some(format!(
                "{}{e}",
                message.map(|m| m + "; ").unwrap_or_default()
            )),
        };
        entries.push(entry);
    }
    if let Err(e) = ledger.sync() {
        // The tenant is tidy but the file may not say so after a crash: said where a
        // mark that could not be written is, on the entry.
        if let Some(last) = entries.last_mut() {
            last.message = Some(format!(
                "{}{e}",
                last.message.take().map(|m| m + "; ").unwrap_or_default()
            ));
        }
    }
    let complete = entries.iter().all(|e| e.outcome != CleanupOutcome::Failed);
    CleanupReport {
        ledger: ledger.path().display().to_string(),
        complete,
        entries,
    }
}

/// Where a kind's records are listed, under which envelope, keyed by which field (None:
/// the quarantined canary, the resolved approval and the settings are checked by the
/// undo's own status: their rows stay, in a state the read-back would not judge).
fn listed(c: &Created) -> Option<(&'static str, &'static str, &'static str)> {
    let r = crate::govapi::routes(c.kind);
    r.listed_under
        .map(|envelope| (r.collection, envelope, r.key))
}

/// A read answered 404 or 405: the tenant has no read for it, so the undo's own status
/// is all there is to go by.
fn no_read(message: &str) -> bool {
    message.contains(" answered 404") || message.contains(" answered 405")
}

/// Whether an undo body retires the record (rather than putting a prior one back).
fn retires(body: Option<&Value>) -> bool {
    body.is_some_and(|b| {
        b.get("enabled") == Some(&Value::Bool(false))
            || b.get("active") == Some(&Value::Bool(false))
            || b.get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| matches!(s, "disabled" | "revoked"))
    })
}

/// Reads the record back after its undo was accepted: `Err` says what is still wrong.
async fn verify(
    c: &Created,
    undo: &UndoRequest,
    run_id: &str,
    replay: &Replay,
    target: &Target,
    client: &HttpClient,
) -> Result<(), String> {
    if c.kind == ResourceKind::Settings {
        let back = match read_settings(client, target).await {
            Ok(b) => b,
            Err(e) if no_read(&e) => return Ok(()),
            Err(e) => return Err(format!("the settings could not be read back: {e}")),
        };
        if let Some(Ok(l)) = lease_of(&back) {
            if l.run_id == run_id || l.run_id == replay.begin.run_id {
                return Err("the settings still carry this run's lease".into());
            }
        }
        let want = undo.body.as_ref().map(comparable).unwrap_or(Value::Null);
        if comparable(&back) != want {
            return Err("the settings read back differ from the snapshot (secrets aside)".into());
        }
        return Ok(());
    }
    let Some((path, envelope, key)) = listed(c) else {
        return Ok(());
    };
    let rows = match read_list(client, target, path, envelope).await {
        Ok(r) => r,
        Err(e) if no_read(&e) => return Ok(()),
        Err(e) => return Err(format!("the record could not be read back: {e}")),
    };
    let row = rows
        .iter()
        .find(|r| r.get(key).and_then(Value::as_str) == Some(c.id.as_str()));
    // A deleted fleet must be gone from the list.
    if c.kind == ResourceKind::Fleet {
        return match row {
            None => Ok(()),
            Some(_) => Err(format!("fleet `{}` is still listed after its delete", c.id)),
        };
    }
    if c.kind == ResourceKind::ApiKey {
        return match row {
            None => Ok(()),
            Some(r)
                if r.get("active") == Some(&Value::Bool(false))
                    || r.get("revoked_at").is_some_and(|v| !v.is_null())
                    || r.get("revoked") == Some(&Value::Bool(true)) =>
            {
                Ok(())
            }
            Some(_) => Err(format!("key `{}` still reads back active", c.id)),
        };
    }
    let Some(row) = row else {
        return if retires(undo.body.as_ref()) {
            Ok(())
        } else {
            Err(format!("`{}` is gone instead of restored", c.id))
        };
    };
    let Some(Value::Object(body)) = &undo.body else {
        return Ok(());
    };
    for (k, want) in body {
        if super::snapshot::is_secret_key(k) {
            continue;
        }
        let got = row.get(k).unwrap_or(&Value::Null);
        if comparable(got) != comparable(want) {
            return Err(format!("`{}` reads back with {k} {got}, not {want}", c.id));
        }
    }
    Ok(())
}

fn short(body: &str) -> String {
    // Redacted before joining lines (which would split a wrapped secret with a space)
    // and again before the cut (which would halve one out of reach).
    let body = crate::redact::cut_redacted(body, usize::MAX, "");
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::redact::cut_redacted(&one_line, 200, "...")
}
