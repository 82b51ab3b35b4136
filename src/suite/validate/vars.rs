//! Variables: every `{{name}}` a suite uses is defined before it is used.
//!
//! Scope, in execution order: target variables and suite `vars` everywhere; a step's
//! captures from the next step on (not in its own `expect`), across later cases too. A
//! case's cleanup sees the case's captures, but what cleanup steps capture is visible to
//! nobody: cleanup runs in reverse and after failures, so such a value may not exist.
//! `env.NAME` is always allowed (the environment is only known at run time).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use serde_json::Value;

use super::{step_lists, Findings, ListKind};
use crate::suite::model::{Action, Auth, Capture, Feature, JsonAssert, Step, Suite};
use crate::template::{is_ident, placeholders, TARGET_VARS};

const OTHER_TENANT: &str = "other_tenant";

pub(super) fn validate_vars(suite: &Suite, fixtures_dir: &Path, f: &mut Findings<'_>) {
    let targets: BTreeSet<&str> = TARGET_VARS.iter().copied().collect();
    let all_need_other_tenant = suite
        .cases
        .iter()
        .all(|c| c.requires.contains(&Feature::OtherTenant));

    for (name, value) in &suite.vars {
        let path = format!("vars.{name}");
        check_name(name, &path, "variable", &targets, f);
        // Suite vars are resolved together when the phase starts, in no defined order,
        // so they may use target variables and the environment but not each other.
        match placeholders(value) {
            Err(e) => f.at(&path, format!("invalid template: {e}")),
            Ok(names) => {
                for n in names {
                    if n == OTHER_TENANT && !all_need_other_tenant {
                        f.at(
                            &path,
                            "`{{other_tenant}}` is only set on targets with a second tenant, so a suite var may use it only if every case requires `other_tenant`",
                        );
                    }
                    if !n.starts_with("env.") && !targets.contains(n.as_str()) {
                        let why = if suite.vars.contains_key(&n) {
                            "suite vars cannot use each other"
                        } else {
                            "suite vars may use only target variables and `env.NAME`"
                        };
                        f.at(&path, format!("`{{{{{n}}}}}` is not available here: {why}"));
                    }
                }
            }
        }
    }

    // Where each name is first captured, to tell "defined later" from "never defined".
    let mut captured_at: BTreeMap<&str, Vec<CapturedAt>> = BTreeMap::new();
    for list in step_lists(suite) {
        let in_cleanup = matches!(list.kind, ListKind::CaseCleanup | ListKind::SuiteCleanup);
        for (i, step) in list.steps.iter().enumerate() {
            for name in step.capture.keys() {
                let path = format!("{}[{i}].capture.{name}", list.base);
                check_name(name, &path, "capture", &targets, f);
                captured_at
                    .entry(name.as_str())
                    .or_default()
                    .push(CapturedAt {
                        step: format!("{}[{i}]", list.base),
                        in_cleanup,
                    });
            }
        }
    }

    let mut scope: BTreeSet<&str> = targets.clone();
    scope.extend(suite.vars.keys().map(String::as_str));
    for list in step_lists(suite) {
        let cleanup = matches!(list.kind, ListKind::CaseCleanup | ListKind::SuiteCleanup);
        // Case vars: resolved when the case starts (from what is known by then) and
        // seen by that case's steps and cleanup only.
        let case_vars = list.case.map(|ci| &suite.cases[ci].vars);
        if let (Some(vars), ListKind::CaseSteps, Some(ci)) = (case_vars, list.kind, list.case) {
            let has_other_tenant = suite.cases[ci].requires.contains(&Feature::OtherTenant);
            let check = Check {
                scope: &scope,
                captured_at: &captured_at,
                step: &format!("cases[{ci}]"),
                has_other_tenant,
            };
            for (name, value) in vars {
                let path = format!("cases[{ci}].vars.{name}");
                check_name(name, &path, "variable", &targets, f);
                check.template(value, &path, f);
            }
        }
        let mut list_scope = scope.clone();
        list_scope.extend(
            case_vars
                .into_iter()
                .flat_map(|v| v.keys().map(String::as_str)),
        );
        for (i, step) in list.steps.iter().enumerate() {
            let base = format!("{}[{i}]", list.base);
            let check = Check {
                scope: &list_scope,
                captured_at: &captured_at,
                step: &base,
                has_other_tenant: match list.case {
                    Some(ci) => suite.cases[ci].requires.contains(&Feature::OtherTenant),
                    None => all_need_other_tenant,
                },
            };
            check_step(step, &base, fixtures_dir, &check, f);
            if !step.creates.is_empty() {
                // Rendered after the step passed, so its own captures are in scope.
                let mut own = list_scope.clone();
                own.extend(step.capture.keys().map(String::as_str));
                let check = Check {
                    scope: &own,
                    ..check
                };
                for (j, cr) in step.creates.iter().enumerate() {
                    let cb = format!("{base}.creates[{j}]");
                    if let Some(id) = &cr.id {
                        check.template(id, &format!("{cb}.id"), f);
                    }
                    if let Some(u) = &cr.undo {
                        check.template(&u.path, &format!("{cb}.undo.path"), f);
                        if let Some(j) = &u.json {
                            check.json(j, &format!("{cb}.undo.json"), f);
                        }
                    }
                }
            }
            if !cleanup {
                scope.extend(step.capture.keys().map(String::as_str));
                list_scope.extend(step.capture.keys().map(String::as_str));
            }
        }
    }
}

fn check_name(name: &str, path: &str, what: &str, targets: &BTreeSet<&str>, f: &mut Findings<'_>) {
    if !is_ident(name) {
        f.at_key(
            path,
            format!("{what} name `{name}` cannot be used as `{{{{{name}}}}}`; use letters, digits and `_`"),
        );
    } else if targets.contains(name) {
        f.at_key(
            path,
            format!("{what} `{name}` would hide the target variable of the same name; pick another name"),
        );
    }
}

struct Check<'a> {
    scope: &'a BTreeSet<&'a str>,
    /// `{{other_tenant}}` is unset on targets without a second tenant, so only cases
    /// that require the feature (and are skipped without it) may use it.
    has_other_tenant: bool,
    captured_at: &'a BTreeMap<&'a str, Vec<CapturedAt>>,
    /// Field path of the step being checked.
    step: &'a str,
}

/// A step that captures some name.
struct CapturedAt {
    step: String,
    in_cleanup: bool,
}

impl Check<'_> {
    fn template(&self, text: &str, path: &str, f: &mut Findings<'_>) {
        self.template_in(text, path, None, f);
    }

    /// `origin` names a fixture file the text came from.
    fn template_in(&self, text: &str, path: &str, origin: Option<&str>, f: &mut Findings<'_>) {
        let place = origin
            .map(|o| format!("in fixture `{o}`: "))
            .unwrap_or_default();
        match placeholders(text) {
            Err(e) => f.at(path, format!("{place}invalid template: {e}")),
            Ok(names) => {
                let mut seen = BTreeSet::new();
                for n in names {
                    if n.starts_with("env.") || !seen.insert(n.clone()) {
                        continue;
                    }
                    if !self.scope.contains(n.as_str()) {
                        f.at(path, format!("{place}{}", self.undefined(&n)));
                    } else if n == OTHER_TENANT && !self.has_other_tenant {
                        f.at(
                            path,
                            format!("{place}`{{{{other_tenant}}}}` is only set on targets with a second tenant; add `other_tenant` to the case's `requires`"),
                        );
                    }
                }
            }
        }
    }

    fn undefined(&self, name: &str) -> String {
        let sites = self.captured_at.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let own = sites.iter().any(|c| c.step == self.step);
        let later = sites.iter().find(|c| !c.in_cleanup);
        match (own, later, sites.first()) {
            (true, _, _) => format!("`{{{{{name}}}}}` is captured by this same step, so only later steps can use it"),
            (false, Some(at), _) => format!("`{{{{{name}}}}}` is not defined yet: it is captured only later, by {}", at.step),
            (false, None, Some(at)) => format!("`{{{{{name}}}}}` is captured only by cleanup step {}, and what cleanup captures is visible to no other step", at.step),
            (false, None, None) => format!(
                "`{{{{{name}}}}}` is not defined (define it in `vars`, capture it in an earlier step, or use a target variable: {})",
                TARGET_VARS.join(", ")
            ),
        }
    }

    fn json(&self, v: &Value, path: &str, f: &mut Findings<'_>) {
        match v {
            Value::String(s) => self.template(s, path, f),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.json(item, &format!("{path}[{i}]"), f);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let p = format!("{path}.{k}");
                    self.template(k, &p, f);
                    self.json(item, &p, f);
                }
            }
            _ => {}
        }
    }

    fn assert(&self, a: &JsonAssert, base: &str, f: &mut Findings<'_>) {
        self.template(&a.path, &format!("{base}.path"), f);
        if let Some(m) = &a.matches {
            self.template(m, &format!("{base}.matches"), f);
        }
        for (field, v) in [
            ("equals", &a.equals),
            ("not_equals", &a.not_equals),
            ("contains", &a.contains),
        ] {
            if let Some(v) = v {
                self.json(v, &format!("{base}.{field}"), f);
            }
        }
        if let Some(vs) = &a.one_of {
            for (i, v) in vs.iter().enumerate() {
                self.json(v, &format!("{base}.one_of[{i}]"), f);
            }
        }
        if let Some(d) = &a.delta {
            if !self.scope.contains(d.var.as_str()) {
                f.at(&format!("{base}.delta.var"), self.undefined(&d.var));
            }
        }
    }
}

fn check_step(step: &Step, base: &str, fixtures_dir: &Path, c: &Check<'_>, f: &mut Findings<'_>) {
    let field = step.action.key();
    match &step.action {
        Action::Request(r) | Action::Admin(r) => {
            let rb = format!("{base}.{field}");
            c.template(&r.path, &format!("{rb}.path"), f);
            for (k, v) in &r.query {
                c.template(v, &format!("{rb}.query.{k}"), f);
            }
            for (k, v) in &r.headers {
                c.template(v, &format!("{rb}.headers.{k}"), f);
            }
            if let Some(j) = &r.json {
                c.json(j, &format!("{rb}.json"), f);
            }
            if let Some(b) = &r.body {
                c.template(b, &format!("{rb}.body"), f);
            }
            if let Some(file) = &r.body_file {
                let p = format!("{rb}.body_file");
                c.template(file, &p, f);
                check_fixture_content(file, &p, fixtures_dir, c, f);
            }
            match &r.auth {
                Auth::ApiKey(k) => c.template(k, &format!("{rb}.auth.api_key"), f),
                Auth::Bearer(t) => c.template(t, &format!("{rb}.auth.bearer"), f),
                Auth::Default | Auth::Admin | Auth::OrgKey | Auth::None | Auth::Both => {}
            }
        }
        Action::PamCallback(p) => {
            let pb = format!("{base}.pam_callback");
            c.template(&p.approval_id, &format!("{pb}.approval_id"), f);
            c.template(&p.request_id, &format!("{pb}.request_id"), f);
            c.template(&p.decision, &format!("{pb}.decision"), f);
            if let Some(s) = &p.secret {
                c.template(s, &format!("{pb}.secret"), f);
            }
        }
        Action::SinkWait(s) => {
            c.template(&s.sink, &format!("{base}.sink_wait.sink"), f);
            if let Some(secret) = &s.secret {
                c.template(secret, &format!("{base}.sink_wait.secret"), f);
            }
        }
        Action::Thothctl(t) => {
            for (i, a) in t.args.iter().enumerate() {
                c.template(a, &format!("{base}.thothctl.args[{i}]"), f);
            }
        }
    }
    for (i, s) in step.expect.body_not_contains.iter().enumerate() {
        c.template(s, &format!("{base}.expect.body_not_contains[{i}]"), f);
    }
    for (k, v) in &step.expect.headers {
        c.template(v, &format!("{base}.expect.headers.{k}"), f);
    }
    for (i, a) in step.expect.json.iter().enumerate() {
        c.assert(a, &format!("{base}.expect.json[{i}]"), f);
    }
    if let Some(ev) = &step.eventually {
        for (i, a) in ev.fail_if.iter().enumerate() {
            c.assert(a, &format!("{base}.eventually.fail_if[{i}]"), f);
        }
    }
    for (name, cap) in &step.capture {
        let p = format!("{base}.capture.{name}");
        match cap {
            Capture::Path(s) => c.template(s, &p, f),
            Capture::Spec(spec) => {
                if let Some(s) = &spec.path {
                    c.template(s, &format!("{p}.path"), f);
                }
            }
        }
    }
}

/// A fixture body is templated too, so its placeholders must be defined as well.
fn check_fixture_content(
    file: &str,
    path: &str,
    fixtures_dir: &Path,
    c: &Check<'_>,
    f: &mut Findings<'_>,
) {
    let rel = Path::new(file);
    // Unsafe or templated names are reported (or resolved) elsewhere.
    if file.contains("{{")
        || rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return;
    }
    let Ok(text) = crate::suite::fixture::read_fixture(fixtures_dir, file) else {
        return; // missing, unsafe or too large: reported by the step checks
    };
    c.template_in(&text, path, Some(file), f);
}
