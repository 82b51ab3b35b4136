//! Semantic checks that serde cannot express: ids unique and well-formed, references
//! (phases, cases, requirements, capabilities, fixtures, variables, steps) that resolve,
//! exactly one action per step, declared features, durations, JSONPaths and regexes that
//! parse, and retries only where repeating a request is safe.
//!
//! Every finding is collected (not just the first) and points at the field it is about.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::diag::{Diagnostic, Diagnostics};
use super::model::{Step, Suite};
use super::source_index::Parsed;
use crate::catalogue::Catalogue;

mod asserts;
mod creates;
mod steps;
mod vars;

/// Which step list of a suite a step is in; they run in the order of this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    SuiteSetup,
    CaseSteps,
    CaseCleanup,
    SuiteCleanup,
}

pub(crate) struct StepList<'a> {
    /// Field path of the list, e.g. `cases[2].cleanup`.
    pub(crate) base: String,
    pub(crate) steps: &'a [Step],
    /// Index of the case the list belongs to, if any.
    pub(crate) case: Option<usize>,
    pub(crate) kind: ListKind,
}

/// Every step list of a suite, in execution order.
pub(crate) fn step_lists(suite: &Suite) -> Vec<StepList<'_>> {
    let mut lists = vec![StepList {
        base: "setup".into(),
        steps: &suite.setup,
        case: None,
        kind: ListKind::SuiteSetup,
    }];
    for (i, case) in suite.cases.iter().enumerate() {
        lists.push(StepList {
            base: format!("cases[{i}].steps"),
            steps: &case.steps,
            case: Some(i),
            kind: ListKind::CaseSteps,
        });
        lists.push(StepList {
            base: format!("cases[{i}].cleanup"),
            steps: &case.cleanup,
            case: Some(i),
            kind: ListKind::CaseCleanup,
        });
    }
    lists.push(StepList {
        base: "cleanup".into(),
        steps: &suite.cleanup,
        case: None,
        kind: ListKind::SuiteCleanup,
    });
    lists
}

/// Collects findings for one file.
pub(crate) struct Findings<'a> {
    parsed_path: &'a Path,
    index: &'a super::source_index::SourceIndex,
    out: &'a mut Diagnostics,
}

impl Findings<'_> {
    /// A finding about the value at `field_path`.
    pub(crate) fn at(&mut self, field_path: &str, message: impl Into<String>) {
        let pos = self.index.locate(field_path);
        self.push(pos, field_path, message.into());
    }

    /// A finding about the key that names `field_path` (e.g. a badly chosen name).
    pub(crate) fn at_key(&mut self, field_path: &str, message: impl Into<String>) {
        let pos = self
            .index
            .key_pos(field_path)
            .unwrap_or_else(|| self.index.locate(field_path));
        self.push(pos, field_path, message.into());
    }

    fn push(&mut self, pos: super::source_index::Pos, field_path: &str, message: String) {
        let (field_path, message) = self.index.explain(field_path, message);
        self.out.push(Diagnostic {
            file: self.parsed_path.to_path_buf(),
            line: pos.line,
            column: pos.column,
            field_path,
            message,
        });
    }
}

pub(crate) fn is_snake_case(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.ends_with('_')
        && !s.contains("__")
}

/// Requirement and capability ids unique and well-formed.
pub fn validate_catalogue(c: &Parsed<Catalogue>) -> Diagnostics {
    let mut out = Diagnostics::default();
    let mut f = Findings {
        parsed_path: &c.path,
        index: &c.index,
        out: &mut out,
    };
    let mut caps: HashMap<&str, usize> = HashMap::new();
    for (i, cap) in c.value.capabilities.iter().enumerate() {
        let path = format!("capabilities[{i}].id");
        if !is_snake_case(&cap.id) {
            f.at(
                &path,
                format!("capability id `{}` is not snake_case", cap.id),
            );
        }
        if let Some(first) = caps.insert(&cap.id, i) {
            f.at(
                &path,
                format!(
                    "capability id `{}` is already used by capabilities[{first}]",
                    cap.id
                ),
            );
        }
    }
    let mut reqs: HashMap<&str, usize> = HashMap::new();
    for (i, req) in c.value.requirements.iter().enumerate() {
        let path = format!("requirements[{i}].id");
        if !is_requirement_id(&req.id) {
            f.at(
                &path,
                format!(
                    "requirement id `{}` is malformed (expected upper-case letters, digits and `-`, e.g. `RB-P4-02`)",
                    req.id
                ),
            );
        }
        if let Some(first) = reqs.insert(&req.id, i) {
            f.at(
                &path,
                format!(
                    "requirement id `{}` is already used by requirements[{first}]",
                    req.id
                ),
            );
        }
        if req.text.trim().is_empty() {
            f.at(
                &format!("requirements[{i}].text"),
                "requirement text is empty",
            );
        }
    }
    out
}

fn is_requirement_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Every check on the suites, across files. `catalogue` is `None` when it failed to
/// load; reference checks against it are then skipped (its own error is reported).
/// `complete` is false when some suite file failed to parse: an `after` naming an
/// unknown phase may then name that file's phase, so it is not reported.
pub fn validate_suites(
    suites: &[Parsed<Suite>],
    catalogue: Option<&Parsed<Catalogue>>,
    fixtures_dir: &Path,
    complete: bool,
) -> Diagnostics {
    let mut out = Diagnostics::default();
    validate_phases(suites, complete, &mut out);
    let known = catalogue.map(|c| Known {
        requirements: c.value.requirements.iter().map(|r| r.id.as_str()).collect(),
        capabilities: c.value.capabilities.iter().map(|c| c.id.as_str()).collect(),
    });
    for s in suites {
        let mut f = Findings {
            parsed_path: &s.path,
            index: &s.index,
            out: &mut out,
        };
        validate_suite(&s.value, known.as_ref(), fixtures_dir, &mut f);
    }
    out
}

pub(crate) struct Known<'a> {
    pub(crate) requirements: BTreeSet<&'a str>,
    pub(crate) capabilities: BTreeSet<&'a str>,
}

/// Phase ids unique across files and snake_case; `after` resolves and has no cycle.
fn validate_phases(suites: &[Parsed<Suite>], complete: bool, out: &mut Diagnostics) {
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, s) in suites.iter().enumerate() {
        let mut f = Findings {
            parsed_path: &s.path,
            index: &s.index,
            out,
        };
        let phase = s.value.phase.as_str();
        if !is_snake_case(phase) {
            f.at("phase", format!("phase id `{phase}` is not snake_case"));
        }
        match by_id.get(phase) {
            Some(&first) => f.at(
                "phase",
                format!(
                    "phase id `{phase}` is already used by {}",
                    suites[first].path.display()
                ),
            ),
            None => {
                by_id.insert(phase, n);
            }
        }
    }
    for s in suites {
        let mut f = Findings {
            parsed_path: &s.path,
            index: &s.index,
            out,
        };
        for (i, a) in s.value.after.iter().enumerate() {
            if a == &s.value.phase {
                f.at(
                    &format!("after[{i}]"),
                    format!("phase `{a}` cannot come after itself"),
                );
            } else if complete && !by_id.contains_key(a.as_str()) {
                f.at(
                    &format!("after[{i}]"),
                    format!("`after` names phase `{a}`, which no suite defines"),
                );
            }
        }
    }
    // Cycles: depth-first search over `after` edges; report each cycle once, at the
    // edge that closes it.
    let mut state: BTreeMap<&str, Visit> = BTreeMap::new();
    let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
    for &start in by_id.keys() {
        let mut stack: Vec<&str> = Vec::new();
        find_cycles(
            start,
            suites,
            &by_id,
            &mut state,
            &mut stack,
            &mut reported,
            out,
        );
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    InProgress,
    Done,
}

fn find_cycles<'a>(
    node: &'a str,
    suites: &'a [Parsed<Suite>],
    by_id: &BTreeMap<&'a str, usize>,
    state: &mut BTreeMap<&'a str, Visit>,
    stack: &mut Vec<&'a str>,
    reported: &mut BTreeSet<Vec<&'a str>>,
    out: &mut Diagnostics,
) {
    if state.contains_key(node) {
        return;
    }
    state.insert(node, Visit::InProgress);
    stack.push(node);
    let s = &suites[by_id[node]];
    for (i, next) in s.value.after.iter().enumerate() {
        let next = next.as_str();
        if next == node || !by_id.contains_key(next) {
            continue; // reported above
        }
        if state.get(next) == Some(&Visit::InProgress) {
            let from = stack.iter().position(|p| *p == next).unwrap_or(0);
            let cycle: Vec<&str> = stack[from..].to_vec();
            let mut key = cycle.clone();
            key.sort();
            if reported.insert(key) {
                let steps: Vec<String> = cycle
                    .iter()
                    .zip(cycle.iter().skip(1).chain(std::iter::once(&next)))
                    .map(|(a, b)| format!("`{a}` after `{b}`"))
                    .collect();
                let mut f = Findings {
                    parsed_path: &s.path,
                    index: &s.index,
                    out,
                };
                f.at(
                    &format!("after[{i}]"),
                    format!(
                        "`after` forms a cycle: {}; these phases would wait for each other forever",
                        steps.join(", ")
                    ),
                );
            }
        } else {
            find_cycles(next, suites, by_id, state, stack, reported, out);
        }
    }
    stack.pop();
    state.insert(node, Visit::Done);
}

fn validate_suite(
    suite: &Suite,
    known: Option<&Known<'_>>,
    fixtures_dir: &Path,
    f: &mut Findings<'_>,
) {
    let mut case_ids: HashMap<&str, usize> = HashMap::new();
    for (ci, case) in suite.cases.iter().enumerate() {
        let base = format!("cases[{ci}]");
        let id_path = format!("{base}.id");
        if !is_snake_case(&case.id) {
            f.at(&id_path, format!("case id `{}` is not snake_case", case.id));
        }
        if let Some(first) = case_ids.get(case.id.as_str()) {
            f.at(
                &id_path,
                format!("case id `{}` is already used by cases[{first}]", case.id),
            );
        }
        for (ni, need) in case.needs.iter().enumerate() {
            let p = format!("{base}.needs[{ni}]");
            if need == &case.id {
                f.at(&p, format!("case `{need}` cannot need itself"));
            } else if !case_ids.contains_key(need.as_str()) {
                let later = suite.cases.iter().any(|c| &c.id == need);
                f.at(
                    &p,
                    if later {
                        format!("`needs` names case `{need}`, which comes later in the file (cases run in file order, so only earlier cases can be needed)")
                    } else {
                        format!("`needs` names case `{need}`, which this suite does not define")
                    },
                );
            }
        }
        case_ids.entry(&case.id).or_insert(ci);

        if case.requirements.is_empty() {
            f.at(
                &base,
                "case names no requirement (list the catalogue ids it checks in `requirements`)",
            );
        }
        if let Some(k) = known {
            for (ri, r) in case.requirements.iter().enumerate() {
                if !k.requirements.contains(r.as_str()) {
                    f.at(
                        &format!("{base}.requirements[{ri}]"),
                        format!("requirement `{r}` is not in the catalogue"),
                    );
                }
            }
            if !k.capabilities.contains(case.capability.as_str()) {
                f.at(
                    &format!("{base}.capability"),
                    format!(
                        "capability `{}` is not in the catalogue's `capabilities`",
                        case.capability
                    ),
                );
            }
        }
        if case.steps.is_empty() {
            f.at(&format!("{base}.steps"), "case has no steps");
        }
    }
    steps::validate_steps(suite, fixtures_dir, f);
    vars::validate_vars(suite, fixtures_dir, f);
    creates::validate_creates(suite, f);
}
