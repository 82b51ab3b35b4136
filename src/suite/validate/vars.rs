//! Variables: every `{{name}}` is defined before it is used.

use super::Findings;
use crate::suite::model::Suite;

pub(super) fn validate_vars(_suite: &Suite, _f: &mut Findings<'_>) {}
