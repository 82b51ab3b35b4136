//! Taking back what the ledger holds: every entry not yet undone, newest first, each
//! marked in the ledger as it is done, so running it twice sends nothing the second time.

use serde::{Deserialize, Serialize};

use super::ledger::{Ledger, Replay};
use super::record::tenant_call;
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
        let Some(undo) = &c.undo else {
            entry.outcome = CleanupOutcome::CannotDelete;
            entries.push(entry);
            continue;
        };
        if replay.undone.contains_key(&c.seq) {
            entries.push(entry);
            continue;
        }
        let sent = tenant_call(client, target, &undo.method, &undo.path, undo.body.as_ref()).await;
        let (outcome, status, message) = match sent {
            Ok((status, _)) if undo.accepts(status) => (
                CleanupOutcome::Undone,
                Some(status),
                c.kind.after_undo().map(str::to_owned),
            ),
            Ok((status, body)) => (
                CleanupOutcome::Failed,
                Some(status),
                Some(format!("answered {status}: {}", short(&body))),
            ),
            Err(e) => (CleanupOutcome::Failed, None, Some(e)),
        };
        let mark = match (outcome, status) {
            (CleanupOutcome::Undone, Some(s)) => ledger.mark_undone(c.seq, s),
            _ => ledger.mark_failed(c.seq, status, message.as_deref().unwrap_or("")),
        };
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
    let complete = entries.iter().all(|e| e.outcome != CleanupOutcome::Failed);
    CleanupReport {
        ledger: ledger.path().display().to_string(),
        complete,
        entries,
    }
}

fn short(body: &str) -> String {
    // Redacted before joining lines (which would split a wrapped secret with a space)
    // and again before the cut (which would halve one out of reach).
    let body = crate::redact::cut_redacted(body, usize::MAX, "");
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::redact::cut_redacted(&one_line, 200, "...")
}
