//! `creates` checks: each declaration is one the ledger can record and undo as written.
//! (Its placeholders are checked with the other variables, in `vars.rs`.)

use super::{step_lists, Findings, ListKind};
use crate::suite::model::{ResourceKind, Suite};

pub(super) fn validate_creates(suite: &Suite, f: &mut Findings<'_>) {
    for list in step_lists(suite) {
        let cleanup = matches!(list.kind, ListKind::CaseCleanup | ListKind::SuiteCleanup);
        for (i, step) in list.steps.iter().enumerate() {
            for (j, c) in step.creates.iter().enumerate() {
                let base = format!("{}[{i}].creates[{j}]", list.base);
                if cleanup {
                    f.at(&base, "cleanup steps take records back; declare `creates` on the step that creates the record");
                }
                let id = c.id.as_deref();
                match c.kind {
                    ResourceKind::Settings => {
                        if c.undo.is_some() {
                            f.at(&format!("{base}.undo"), "settings are restored from the snapshot taken before the first mutation; remove `undo`");
                        }
                    }
                    ResourceKind::MdmProvider | ResourceKind::BrowserProvider => {
                        // The pre-run snapshot is looked up by this id, before any capture.
                        if id.is_none_or(|s| s.contains("{{")) {
                            f.at(&format!("{base}.id"), "a provider's id must be its literal `provider` key (e.g. `jamf`), so the row as it was before the run can be found");
                        }
                    }
                    _ => {
                        if id.is_none() {
                            f.at(&base, format!("`{}` needs an `id`", c.kind.as_str()));
                        }
                    }
                }
                let needs_undo = !matches!(c.kind, ResourceKind::Settings | ResourceKind::Endpoint);
                if needs_undo && c.undo.is_none() {
                    f.at(
                        &base,
                        format!(
                            "`{}` needs an `undo` request (only endpoints are append-only)",
                            c.kind.as_str()
                        ),
                    );
                }
                if let Some(u) = &c.undo {
                    let extra = u.body_file.is_some()
                        || u.body.is_some()
                        || !u.query.is_empty()
                        || !u.headers.is_empty()
                        || u.auth != crate::suite::model::Auth::Default;
                    if extra {
                        f.at(&format!("{base}.undo"), "an undo request has only `method`, `path` and `json` (it is sent with the target's credential)");
                    }
                    if u.path.starts_with("http://") || u.path.starts_with("https://") {
                        f.at(
                            &format!("{base}.undo.path"),
                            "an undo path is relative to the tenant base",
                        );
                    }
                }
            }
        }
    }
}
