//! Per-step checks: exactly one action, declared features, request bodies and fixtures,
//! durations, JSONPaths, regexes, captures, PAM replays and retries.

use std::collections::HashMap;
use std::path::Path;

use super::asserts::{check_assert, check_capture};
use super::{step_lists, Findings, ListKind, StepList};
use crate::suite::model::{
    Action, Auth, Base, Case, Feature, Method, Request, Retry, Shape, StatusSet, Step, Suite,
    Surface,
};

/// Template variables that hold secrets; a thothctl argument may not use them.
const SECRET_VARS: [&str; 2] = ["{{webhook_secret}}", "{{pam_callback_secret}}"];

/// Highest `retry.attempts`: more would hammer a target that is already struggling.
const MAX_RETRY_ATTEMPTS: u32 = 10;

fn feature_name(f: Feature) -> &'static str {
    match f {
        Feature::MockAdmin => "mock_admin",
        Feature::Sink => "sink",
        Feature::Thothctl => "thothctl",
        Feature::OtherTenant => "other_tenant",
        Feature::Enforcer => "enforcer",
    }
}

pub(super) fn validate_steps(suite: &Suite, fixtures_dir: &Path, f: &mut Findings<'_>) {
    for list in step_lists(suite) {
        let case = list.case.map(|i| &suite.cases[i]);
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, step) in list.steps.iter().enumerate() {
            let base = format!("{}[{i}]", list.base);
            check_features(step, &base, case, &list, suite, f);
            if let Some(name) = &step.name {
                if let Some(first) = names.insert(name, i) {
                    f.at(
                        &format!("{base}.name"),
                        format!("step name `{name}` is already used by {}[{first}] (names identify steps in replays and messages)", list.base),
                    );
                }
            }
            match &step.action {
                Action::Request(r) => {
                    check_request(r, &format!("{base}.request"), false, fixtures_dir, f)
                }
                Action::Admin(r) => {
                    check_request(r, &format!("{base}.admin"), true, fixtures_dir, f)
                }
                Action::PamCallback(p) => {
                    let pb = format!("{base}.pam_callback");
                    if !p.decision.contains("{{")
                        && !matches!(p.decision.as_str(), "approve" | "deny")
                    {
                        f.at(
                            &format!("{pb}.decision"),
                            format!("decision `{}` is neither `approve` nor `deny`", p.decision),
                        );
                    }
                    if let Some(target) = &p.replay_of {
                        check_replay_of(target, &format!("{pb}.replay_of"), &list, i, suite, f);
                    }
                }
                // Its timeout parsed when the file was read.
                Action::SinkWait(_) => {}
                Action::Thothctl(t) => {
                    if t.args.is_empty() {
                        f.at(
                            &format!("{base}.thothctl.args"),
                            "thothctl needs at least one argument (the command)",
                        );
                    }
                    for (n, arg) in t.args.iter().enumerate() {
                        if let Some(var) = SECRET_VARS.iter().find(|v| arg.contains(*v)) {
                            f.at(
                                &format!("{base}.thothctl.args[{n}]"),
                                format!(
                                    "{var} would put a secret on thothctl's command line, which `ps` shows to every local user; the harness gives thothctl its secrets by file and environment"
                                ),
                            );
                        }
                    }
                }
            }
            check_status(
                &step.expect.status,
                step,
                &format!("{base}.expect.status"),
                f,
            );
            if let Some(shape) = step.expect.shape {
                check_shape(shape, step, &format!("{base}.expect.shape"), f);
            }
            check_header_names(
                step.expect.headers.keys(),
                &format!("{base}.expect.headers"),
                f,
            );
            for (j, a) in step.expect.json.iter().enumerate() {
                check_assert(a, &format!("{base}.expect.json[{j}]"), f);
            }
            if let Some(ev) = &step.eventually {
                let eb = format!("{base}.eventually");
                let (timeout, iv) = (ev.timeout.get(), ev.interval.get());
                {
                    if iv.is_zero() {
                        f.at(&format!("{eb}.interval"), "interval must be more than 0");
                    } else if iv > timeout {
                        f.at(
                            &format!("{eb}.interval"),
                            "interval is longer than the timeout, so it would poll only once",
                        );
                    }
                }
                for (j, a) in ev.fail_if.iter().enumerate() {
                    check_assert(a, &format!("{eb}.fail_if[{j}]"), f);
                }
                if matches!(step.action, Action::PamCallback(_)) {
                    f.at(
                        &eb,
                        "`eventually` would resend the PAM callback; poll the approval with a `request` step instead",
                    );
                }
            }
            for (name, cap) in &step.capture {
                check_capture(cap, &format!("{base}.capture.{name}"), f);
            }
            if let Some(r) = &step.retry {
                check_retry(r, step, &format!("{base}.retry"), f);
            }
        }
    }
}

fn check_features(
    step: &Step,
    base: &str,
    case: Option<&Case>,
    list: &StepList<'_>,
    suite: &Suite,
    f: &mut Findings<'_>,
) {
    let action = step.action.key();
    // The enforcer URL is implied by the step itself (`base: enforcer`), not declared:
    // `requires` is for what a case author must think about, and a missing URL skips
    // the case with its reason either way.
    if let Some(feature) = step.action.feature().filter(|f| *f != Feature::Enforcer) {
        let name = feature_name(feature);
        match case {
            Some(case) => {
                if !case.requires.contains(&feature) {
                    f.at(
                        &format!("{base}.{action}"),
                        format!("this `{action}` step needs the `{name}` feature; add `{name}` to the case's `requires`"),
                    );
                }
                if feature == Feature::Thothctl && case.surface != Surface::Thothctl {
                    f.at(
                        &format!("{base}.{action}"),
                        "a case with a `thothctl` step must set `surface: thothctl`",
                    );
                }
            }
            None => {
                // Suite-level steps have no `requires`; they may use a feature only if
                // every case needs it anyway, so a target without it skips the whole phase.
                if !suite.cases.iter().all(|c| c.requires.contains(&feature)) {
                    let which = match list.kind {
                        ListKind::SuiteSetup => "setup",
                        _ => "cleanup",
                    };
                    f.at(
                        &format!("{base}.{action}"),
                        format!("a suite {which} `{action}` step needs the `{name}` feature, so every case of the suite must list `{name}` in `requires`"),
                    );
                }
            }
        }
    }
}

fn check_request(r: &Request, base: &str, admin: bool, fixtures_dir: &Path, f: &mut Findings<'_>) {
    let bodies: Vec<&str> = [
        r.json.as_ref().map(|_| "json"),
        r.body.as_ref().map(|_| "body"),
        r.body_file.as_ref().map(|_| "body_file"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if bodies.len() > 1 {
        f.at(
            &format!("{base}.{}", bodies[1]),
            format!(
                "request sets both `{}` and `{}`; give at most one body",
                bodies[0], bodies[1]
            ),
        );
    }
    let path = r.path.as_str();
    if admin {
        if !(path.starts_with("/__admin/") || path.starts_with("/__sink/")) {
            f.at(
                &format!("{base}.path"),
                format!(
                    "admin path `{path}` is outside the mock's `/__admin/` and `/__sink/` APIs"
                ),
            );
        }
    } else if !(path.starts_with('/') || path.starts_with("{{")) {
        f.at(
            &format!("{base}.path"),
            format!("path `{path}` must start with `/` (it is relative to the tenant base URL)"),
        );
    }
    if let Some(file) = &r.body_file {
        check_fixture(file, &format!("{base}.body_file"), fixtures_dir, f);
    }
    check_header_names(r.headers.keys(), &format!("{base}.headers"), f);
    if r.base == Base::Enforcer {
        if admin {
            f.at(
                &format!("{base}.base"),
                "an `admin` step goes to the mock's admin API; `base: enforcer` belongs on a `request`",
            );
        } else if r.auth == Auth::Default {
            // The admin token is not a data-plane credential; the SDKs send an execute key.
            f.at(
                &format!("{base}.auth"),
                "a data-plane request needs the key the SDK would send: set `auth: { api_key: ... }` (or `bearer:`) to an execute key",
            );
        }
    }
    if let Some(pages) = &r.pages {
        if r.method != Method::Get {
            f.at(
                &format!("{base}.pages"),
                "only a GET list can be paged (each page is another request)",
            );
        }
        if r.query.contains_key("page") || r.query.contains_key("per_page") {
            f.at(
                &format!("{base}.pages"),
                "`pages` sets `page` and `per_page` itself; remove them from `query`",
            );
        }
        if pages.per_page == 0 || pages.max == 0 {
            f.at(
                &format!("{base}.pages"),
                "`per_page` and `max` must be at least 1",
            );
        }
    }
}

/// RFC 9110 token characters; anything else cannot be sent or received as a header name.
fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

fn check_header_names<'a>(
    names: impl Iterator<Item = &'a String>,
    base: &str,
    f: &mut Findings<'_>,
) {
    for name in names {
        if !is_header_name(name) {
            f.at_key(
                &format!("{base}.{name}"),
                format!("`{name}` is not a valid HTTP header name"),
            );
        }
    }
}

fn check_fixture(file: &str, path: &str, fixtures_dir: &Path, f: &mut Findings<'_>) {
    use crate::suite::fixture::{resolve_fixture, FixtureError};
    // The same resolution as the runner's: inside the fixtures root, a regular file,
    // capped in size. A templated name is resolved at run time (the variable check
    // covers its placeholders); only its shape can be checked now.
    match resolve_fixture(fixtures_dir, file) {
        Err(e @ FixtureError::NotRelative { .. }) => f.at(path, e.to_string()),
        Err(_) if file.contains("{{") => {}
        Err(e) => f.at(path, e.to_string()),
        Ok(_) => {}
    }
}

fn check_replay_of(
    target: &str,
    path: &str,
    list: &StepList<'_>,
    index: usize,
    suite: &Suite,
    f: &mut Findings<'_>,
) {
    // Earlier steps of the same list, and for a case's cleanup, all of the case's steps.
    let mut earlier: Vec<&Step> = list.steps[..index].iter().collect();
    if let (ListKind::CaseCleanup, Some(ci)) = (list.kind, list.case) {
        earlier.extend(suite.cases[ci].steps.iter());
    }
    let named: Vec<&&Step> = earlier
        .iter()
        .filter(|s| s.name.as_deref() == Some(target))
        .collect();
    if named.is_empty() {
        // The runner keeps sent callbacks per case, so a replay must live in the case
        // that sent the original; say where the name is if it is elsewhere.
        let has_it = |c: &Case| c.steps.iter().any(|s| s.name.as_deref() == Some(target));
        let later_here = list.steps[index..]
            .iter()
            .any(|s| s.name.as_deref() == Some(target));
        let elsewhere = suite
            .cases
            .iter()
            .enumerate()
            .find(|(i, c)| Some(*i) != list.case && has_it(c))
            .map(|(_, c)| c);
        let message = match elsewhere {
            _ if later_here => format!(
                "replay_of names step `{target}`, which comes later; only an earlier callback can be replayed"
            ),
            Some(c) => format!(
                "replay_of names step `{target}` of case `{}`; a replay must be in the same case as the callback it resends",
                c.id
            ),
            None => format!(
                "replay_of names step `{target}`, but no earlier step of this case has that name"
            ),
        };
        f.at(path, message);
    } else if !named
        .iter()
        .any(|s| matches!(s.action, Action::PamCallback(_)))
    {
        f.at(
            path,
            format!("replay_of names step `{target}`, which is not a `pam_callback` step"),
        );
    }
}

fn check_status(status: &StatusSet, step: &Step, path: &str, f: &mut Findings<'_>) {
    let codes: &[u16] = match status {
        StatusSet::AnySuccess => &[],
        StatusSet::One(c) => std::slice::from_ref(c),
        StatusSet::Many(cs) => cs,
    };
    if matches!(status, StatusSet::Many(cs) if cs.is_empty()) {
        f.at(
            path,
            "status list is empty; omit `status` to accept any 2xx",
        );
    }
    let exit_codes = matches!(step.action, Action::Thothctl(_));
    for c in codes {
        let ok = if exit_codes {
            *c <= 255
        } else {
            (100..=599).contains(c)
        };
        if !ok {
            f.at(
                path,
                if exit_codes {
                    format!("`{c}` is not a process exit code (0..=255)")
                } else {
                    format!("`{c}` is not an HTTP status code (100..=599)")
                },
            );
        }
    }
}

/// `expect.shape` judges an HTTP answer; `error` only one that is an error.
fn check_shape(shape: Shape, step: &Step, path: &str, f: &mut Findings<'_>) {
    if matches!(step.action, Action::Thothctl(_) | Action::SinkWait(_)) {
        f.at(
            path,
            format!(
                "`shape` judges an HTTP answer; a `{}` step has none",
                step.action.key()
            ),
        );
        return;
    }
    let codes: &[u16] = match &step.expect.status {
        StatusSet::AnySuccess => &[200],
        StatusSet::One(c) => std::slice::from_ref(c),
        StatusSet::Many(cs) => cs,
    };
    if shape == Shape::Error && codes.iter().any(|c| *c < 400) {
        f.at(
            path,
            "`shape: error` needs `status` to allow only error codes (400..=599); an answer that succeeds carries no error envelope",
        );
    }
}

fn check_retry(r: &Retry, step: &Step, base: &str, f: &mut Findings<'_>) {
    if !(1..=MAX_RETRY_ATTEMPTS).contains(&r.attempts) {
        f.at(
            &format!("{base}.attempts"),
            format!(
                "attempts must be between 1 and {MAX_RETRY_ATTEMPTS}, not {}",
                r.attempts
            ),
        );
    }
    for (i, s) in r.on_status.iter().enumerate() {
        if !(100..=599).contains(s) {
            f.at(
                &format!("{base}.on_status[{i}]"),
                format!("`{s}` is not an HTTP status code (100..=599)"),
            );
        }
    }
    match &step.action {
        Action::Request(r) | Action::Admin(r) if r.method.is_idempotent() => {}
        Action::Request(r) | Action::Admin(r) => f.at(
            base,
            format!("retry on a {} request could apply it twice; only GET, PUT and DELETE may be retried", r.method.as_str()),
        ),
        Action::PamCallback(_) => f.at(
            base,
            "a PAM callback is never retried: a resend is a replay, which the target must reject",
        ),
        Action::SinkWait(_) | Action::Thothctl(_) => {
            f.at(base, "retry applies only to `request` and `admin` steps")
        }
    }
}
