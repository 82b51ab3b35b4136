//! The plan: for every case, whether it would run, and if not why, decided from the suite
//! files, the filters, the profile and the target's features alone. The runner follows
//! the same rules; `--dry-run` prints the plan and sends nothing.

use std::collections::{BTreeSet, HashMap};

use super::profile::{case_excluded, suite_excluded, Profile};
use crate::suite::filter;
use crate::suite::load::Project;
use crate::suite::model::{Action, Base, ResourceKind, Step, Suite};
use crate::target::Target;
use crate::template::{render, Vars};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Run,
    Disabled(String),
    Skip(String),
}

impl Decision {
    pub fn runs(&self) -> bool {
        matches!(self, Decision::Run)
    }

    /// Not disabled: the runner starts the suite (and its setup) when any case is.
    pub fn selected(&self) -> bool {
        !matches!(self, Decision::Disabled(_))
    }
}

/// The decisions of one suite, in case order.
pub fn suite_plan(
    suite: &Suite,
    filters: &[String],
    profile: Profile,
    target: &Target,
) -> Vec<Decision> {
    let suite_why = suite_excluded(profile, suite);
    let mut by_id: HashMap<&str, bool> = HashMap::new();
    let mut out = Vec::with_capacity(suite.cases.len());
    for c in &suite.cases {
        let d = if !filter::matches(filters, &format!("{}::{}", suite.phase, c.id)) {
            Decision::Disabled("filtered out".into())
        } else if let Some(why) = &suite_why {
            Decision::Disabled(why.clone())
        } else if let Some(why) = case_excluded(profile, c) {
            Decision::Disabled(why)
        } else if let Some(why) = target.missing_feature(c) {
            Decision::Skip(why.into())
        } else if let Some(n) = c
            .needs
            .iter()
            .find(|n| !by_id.get(n.as_str()).copied().unwrap_or(false))
        {
            Decision::Skip(format!("needs `{n}`, which would not run"))
        } else {
            Decision::Run
        };
        by_id.insert(&c.id, d.runs());
        out.push(d);
    }
    out
}

/// Record kinds the runnable part of the project may create or change: what to snapshot
/// before the first mutation.
pub fn planned_kinds(
    project: &Project,
    filters: &[String],
    profile: Profile,
    target: &Target,
) -> BTreeSet<ResourceKind> {
    let mut kinds = BTreeSet::new();
    for s in &project.suites {
        let plan = suite_plan(&s.suite, filters, profile, target);
        if !plan.iter().any(Decision::selected) {
            continue;
        }
        let case_steps = s
            .suite
            .cases
            .iter()
            .zip(&plan)
            .filter(|(_, d)| d.runs())
            .flat_map(|(c, _)| c.steps.iter().chain(&c.cleanup));
        for step in s.suite.setup.iter().chain(case_steps) {
            kinds.extend(step.creates.iter().map(|c| c.kind));
        }
    }
    kinds
}

/// What a step would send, its path templated as far as the known variables allow.
fn describe(step: &Step, vars: &Vars, target: &Target) -> String {
    let path = |p: &str| render(p, vars).unwrap_or_else(|_| p.to_string());
    let mut line = match &step.action {
        Action::Request(r) => match r.base {
            Base::Govapi => format!("{} {}", r.method.as_str(), path(&r.path)),
            Base::Enforcer => format!("enforcer {} {}", r.method.as_str(), path(&r.path)),
        },
        Action::Admin(r) => format!("admin {} {}", r.method.as_str(), path(&r.path)),
        Action::PamCallback(_) => format!(
            "POST {} (signed PAM callback, no tenant credential)",
            target.schemes.pam_callback_path
        ),
        Action::SinkWait(s) => format!("GET sink {} (wait for a delivery)", path(&s.sink)),
        // Unrendered: arguments may carry secrets.
        Action::Thothctl(t) => format!("thothctl {}", t.args.join(" ")),
    };
    for c in &step.creates {
        let undo = match (&c.undo, c.kind) {
            (_, ResourceKind::Settings) => "restored from the snapshot".to_string(),
            (Some(u), kind) => match kind.after_undo() {
                Some(stays) => format!("undo {} {}; {stays}", u.method.as_str(), path(&u.path)),
                None => format!("undo {} {}", u.method.as_str(), path(&u.path)),
            },
            (None, _) => "cannot delete".to_string(),
        };
        line.push_str(&format!("  [creates {}: {undo}]", c.kind.as_str()));
    }
    line
}

/// The `--dry-run` text: every case with its decision and the requests it would send.
pub fn render_plan(
    project: &Project,
    filters: &[String],
    profile: Profile,
    target: &Target,
    run_id: &str,
) -> String {
    let mut out = format!(
        "dry run: profile {}, target {} {} (tenant {}); nothing is sent\n",
        profile.as_str(),
        target.kind.as_str(),
        target.govapi_url,
        target.tenant
    );
    let mut counts = [0usize; 3];
    for s in &project.suites {
        let mut vars = Vars::new();
        for (name, value) in target.template_vars(run_id) {
            vars.set(name, value);
        }
        for (name, text) in &s.suite.vars {
            if let Ok(v) = render(text, &vars) {
                vars.set(name, serde_json::Value::String(v));
            }
        }
        let plan = suite_plan(&s.suite, filters, profile, target);
        out.push_str(&format!("\n{} ({})\n", s.suite.phase, s.path.display()));
        let any = plan.iter().any(Decision::selected);
        if any {
            for st in &s.suite.setup {
                out.push_str(&format!("  setup: {}\n", describe(st, &vars, target)));
            }
        }
        for (c, d) in s.suite.cases.iter().zip(&plan) {
            match d {
                Decision::Run => {
                    counts[0] += 1;
                    out.push_str(&format!("  {}::{}  would run\n", s.suite.phase, c.id));
                    for st in &c.steps {
                        out.push_str(&format!("      {}\n", describe(st, &vars, target)));
                    }
                    for st in c.cleanup.iter().rev() {
                        out.push_str(&format!("      cleanup: {}\n", describe(st, &vars, target)));
                    }
                }
                Decision::Disabled(why) => {
                    counts[1] += 1;
                    out.push_str(&format!("  {}::{}  disabled: {why}\n", s.suite.phase, c.id));
                }
                Decision::Skip(why) => {
                    counts[2] += 1;
                    out.push_str(&format!("  {}::{}  skipped: {why}\n", s.suite.phase, c.id));
                }
            }
        }
        let decides = s.suite.cases.iter().zip(&plan).any(|(c, d)| {
            d.runs()
                && c.steps.iter().any(|st| {
                    matches!(&st.action, Action::Request(r) if r.base == Base::Enforcer && r.method != crate::suite::model::Method::Get)
                })
        });
        if decides {
            out.push_str("  leaves behind: each data-plane decision as a feed event (a BLOCK also as an alert and evidence); append-only, no route deletes them\n");
        }
        if any {
            for st in s.suite.cleanup.iter().rev() {
                if super::profile::cleanup_allowed(profile, st) {
                    out.push_str(&format!(
                        "  suite cleanup: {}\n",
                        describe(st, &vars, target)
                    ));
                }
            }
        }
    }
    out.push_str(&format!(
        "\nplan: {} would run, {} disabled, {} skipped\n",
        counts[0], counts[1], counts[2]
    ));
    out
}
