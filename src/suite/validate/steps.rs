//! Per-step checks: one action, declared features, fixtures, durations, JSONPaths,
//! regexes, retries.

use std::path::Path;

use super::Findings;
use crate::suite::model::Suite;

pub(super) fn validate_steps(_suite: &Suite, _fixtures_dir: &Path, _f: &mut Findings<'_>) {}
