//! `results.json`: the whole run, redacted, with its verdict, in a form the harness reads
//! back ([`read_results`]) to merge shards and re-run failures.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::redacted::redact_run;
use super::ReportError;
use crate::outcome::RunResult;
use crate::redact::Redactor;
use crate::verdict::{verdict, Verdict};

/// The `schema` field of `results.json`; bumped on any incompatible change.
pub const RESULTS_SCHEMA: &str = "thoth-conformance/results/v1";

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ResultsFile {
    pub schema: String,
    pub verdict: Verdict,
    pub run: RunResult,
    /// What the ledger undid after the run (absent when the run kept no ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<crate::safety::CleanupReport>,
}

/// The results file as pretty JSON, every string redacted (see [`redact_run`] for why
/// the typed values are redacted rather than the JSON text).
pub fn render_results(run: &RunResult, redactor: &Redactor) -> Result<String, ReportError> {
    render_results_with_cleanup(run, None, redactor)
}

/// [`render_results`] plus the `cleanup` block (reported apart from the case verdicts).
pub fn render_results_with_cleanup(
    run: &RunResult,
    cleanup: Option<&crate::safety::CleanupReport>,
    redactor: &Redactor,
) -> Result<String, ReportError> {
    let mut v = verdict(run);
    v.message = redactor.redact(&v.message);
    let cleanup = match cleanup {
        Some(c) => {
            let raw = serde_json::to_value(c).map_err(|source| ReportError::Json {
                name: "results.json",
                source,
            })?;
            Some(
                serde_json::from_value(redactor.redact_json(&raw)).map_err(|source| {
                    ReportError::Json {
                        name: "results.json",
                        source,
                    }
                })?,
            )
        }
        None => None,
    };
    let file = ResultsFile {
        schema: RESULTS_SCHEMA.to_owned(),
        verdict: v,
        run: redact_run(run, redactor),
        cleanup,
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(|source| ReportError::Json {
        name: "results.json",
        source,
    })?;
    text.push('\n');
    Ok(text)
}

/// Reads a `results.json` written by [`render_results`] back into the run it holds.
pub fn read_results(path: &Path) -> Result<RunResult, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
    })?;
    // Check the schema first, so a file from another version says so instead of failing
    // on whichever field happened to change.
    #[derive(Deserialize)]
    struct Header {
        schema: String,
    }
    let header: Header = serde_json::from_str(&text).map_err(|source| ReportError::Parse {
        path: path.to_owned(),
        source,
    })?;
    if header.schema != RESULTS_SCHEMA {
        return Err(ReportError::Schema {
            path: path.to_owned(),
            found: header.schema,
            expected: RESULTS_SCHEMA,
        });
    }
    let file: ResultsFile = serde_json::from_str(&text).map_err(|source| ReportError::Parse {
        path: path.to_owned(),
        source,
    })?;
    Ok(file.run)
}
