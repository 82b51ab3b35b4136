//! `thoth-conformance list`: every case of the suites as one table.

use super::{load, ProjectArgs};
use crate::suite::load::Project;

pub(super) fn list(args: &ProjectArgs) -> i32 {
    let project = match load(args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    println!("{}", list_table(&project));
    0
}

/// The `list` table.
pub fn list_table(project: &Project) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record([
        "phase",
        "case",
        "capability",
        "surface",
        "effect",
        "requirements",
    ]);
    for s in &project.suites {
        for c in &s.suite.cases {
            b.push_record([
                s.suite.phase.clone(),
                c.id.clone(),
                c.capability.clone(),
                crate::report::junit::surface_name(c.surface).to_string(),
                crate::report::junit::effect_name(c.effect).to_string(),
                c.requirements.join(", "),
            ]);
        }
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::psql());
    table.to_string()
}
