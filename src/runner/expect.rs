//! Checking a step's `expect` against what came back, and taking its captures.
//!
//! Every failure message names the check, the expected and the actual value (cut to a
//! readable length), so that a CI log line alone says what the target did wrong.

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::outcome::Status;
use crate::redact::Redactor;
use crate::suite::model::{Capture, Expect, JsonAssert, Shape, StatusSet};
use crate::template::{render, render_json, Vars};

/// Longest rendering of an actual value in a message.
const SHOWN_VALUE_CHARS: usize = 160;

/// Why a step did not pass: `Fail` is a verdict on the target, `Error` is the harness's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: Status,
    pub message: String,
    /// The answer lacks the path asserted on (its shape is wrong, not a value): waiting
    /// will not change that, so polling stops.
    pub shape: bool,
}

impl Failure {
    pub fn fail(message: impl Into<String>) -> Self {
        Failure {
            status: Status::Fail,
            message: message.into(),
            shape: false,
        }
    }
    pub fn error(message: impl Into<String>) -> Self {
        Failure {
            status: Status::Error,
            message: message.into(),
            shape: false,
        }
    }
    /// Prefixes the message with `context: `.
    pub fn within(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl From<crate::template::TemplateError> for Failure {
    fn from(e: crate::template::TemplateError) -> Self {
        Failure::error(e.to_string())
    }
}

/// What one action produced, in the shape expectations are checked against.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// HTTP status, or thothctl's exit code.
    pub status: i64,
    /// Names lowercase.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl Observed {
    pub fn new(status: i64, headers: Vec<(String, String)>, body: String) -> Self {
        let json = serde_json::from_str(body.trim()).ok();
        Observed {
            status,
            headers,
            body,
            json,
        }
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A value as shown in messages: compact JSON, cut after [`SHOWN_VALUE_CHARS`].
pub fn show(v: &Value) -> String {
    cut(&v.to_string())
}

/// `s` cut after [`SHOWN_VALUE_CHARS`], redacted first so that a cut cannot halve a
/// secret (the rest of the message is redacted on output like all text).
pub fn cut(s: &str) -> String {
    crate::redact::cut_redacted(s, SHOWN_VALUE_CHARS, "…")
}

/// How the status of an action is judged: HTTP statuses default to 2xx, exit codes to 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Http,
    ExitCode,
}

pub fn status_allowed(set: &StatusSet, kind: StatusKind, status: i64) -> bool {
    match set {
        StatusSet::AnySuccess => match kind {
            StatusKind::Http => (200..300).contains(&status),
            StatusKind::ExitCode => status == 0,
        },
        StatusSet::One(s) => i64::from(*s) == status,
        StatusSet::Many(v) => v.iter().any(|s| i64::from(*s) == status),
    }
}

fn describe_status_set(set: &StatusSet, kind: StatusKind) -> String {
    match (set, kind) {
        (StatusSet::AnySuccess, StatusKind::Http) => "2xx".into(),
        (StatusSet::AnySuccess, StatusKind::ExitCode) => "0".into(),
        (StatusSet::One(s), _) => s.to_string(),
        (StatusSet::Many(v), _) => {
            let parts: Vec<String> = v.iter().map(u16::to_string).collect();
            format!("one of {}", parts.join(", "))
        }
    }
}

/// Checks everything `expect` lists; the first check that does not hold is returned.
pub fn check(
    expect: &Expect,
    kind: StatusKind,
    obs: &Observed,
    vars: &Vars,
) -> Result<(), Failure> {
    if !status_allowed(&expect.status, kind, obs.status) {
        let what = match kind {
            StatusKind::Http => "status",
            StatusKind::ExitCode => "exit code",
        };
        let body = obs.body.trim();
        let tail = if body.is_empty() {
            String::new()
        } else {
            format!(" (body: {})", cut(body))
        };
        return Err(Failure::fail(format!(
            "{what}: expected {}, got {}{tail}",
            describe_status_set(&expect.status, kind),
            obs.status
        )));
    }
    if let Some(shape) = expect.shape {
        check_shape(shape, obs)?;
    }
    for (name, want) in &expect.headers {
        let want = render(want, vars)?;
        match obs.header(name) {
            Some(got) if got == want => {}
            Some(got) => {
                return Err(Failure::fail(format!(
                    "header {name}: expected {want:?}, got {:?}",
                    cut(got)
                )))
            }
            None => {
                return Err(Failure::fail(format!(
                    "header {name}: expected {want:?}, got no such header"
                )))
            }
        }
    }
    for raw in &expect.body_not_contains {
        let needle = render(raw, vars)?;
        // Decoded and normalised forms count: a target returning the secret with `\/`
        // or `\u00e9` escapes, or upper-cased, still returns it.
        if crate::redact::contains_any_form(&obs.body, &needle) {
            // Where the plain form stands, when it does (an encoded form has no offset).
            let at = obs.body.find(&needle).map_or_else(
                || "in an encoded form".to_owned(),
                |at| format!("at byte {at}"),
            );
            // The needle may be a secret, which the output redacts: so the message names
            // it by its template (and the env var behind it) and says where it is.
            let named = if raw == &needle {
                format!("{needle:?}")
            } else {
                let source = crate::template::placeholders(raw)
                    .ok()
                    .and_then(|names| {
                        names
                            .iter()
                            .find_map(|n| crate::target::variable_source(n))
                            .map(|s| format!(" ({s})"))
                    })
                    .unwrap_or_default();
                format!("the value of `{raw}`{source}")
            };
            return Err(Failure::fail(format!(
                "body_not_contains: the response body contains {named} {at} of {}",
                obs.body.len()
            )));
        }
    }
    if !expect.json.is_empty() {
        let Some(json) = &obs.json else {
            return Err(Failure::fail(format!(
                "response is not JSON (body: {})",
                cut(obs.body.trim())
            )));
        };
        for assertion in &expect.json {
            check_json(assertion, json, vars)?;
        }
    }
    Ok(())
}

/// Is this `Content-Type` value JSON (`application/json`, `application/problem+json`,
/// with or without parameters)?
pub fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// `expect.shape`: the answer's framing (a shape failure: polling will not change it).
fn check_shape(shape: Shape, obs: &Observed) -> Result<(), Failure> {
    let shape_failure = |message: String| Failure {
        shape: true,
        ..Failure::fail(format!("shape {}: {message}", shape.as_str()))
    };
    match obs.header("content-type") {
        Some(ct) if is_json_media_type(ct) => {}
        Some(ct) => {
            return Err(shape_failure(format!(
                "Content-Type is {:?}, not JSON",
                cut(ct)
            )))
        }
        None => return Err(shape_failure("the answer has no Content-Type".into())),
    }
    let Some(json) = &obs.json else {
        return Err(shape_failure(format!(
            "the body is not JSON (body: {})",
            cut(obs.body.trim())
        )));
    };
    if shape == Shape::Error {
        let code = json.get("error").and_then(Value::as_str);
        let message = json
            .get("message")
            .or_else(|| json.get("error_description"))
            .and_then(Value::as_str);
        let snake = code.is_some_and(|c| {
            c.starts_with(|ch: char| ch.is_ascii_lowercase())
                && c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        });
        if !snake || message.is_none() {
            return Err(shape_failure(format!(
                "expected the error envelope {{\"error\": \"<snake_case code>\", \"message\": \"<text>\"}}, got {}",
                show(json)
            )));
        }
    }
    Ok(())
}

/// Numbers compare by value (1 == 1.0); everything else structurally.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

fn number(v: &Value, path: &str, check: &str) -> Result<f64, Failure> {
    v.as_f64().ok_or_else(|| {
        Failure::fail(format!(
            "{path}: {check}: expected a number, got {}",
            show(v)
        ))
    })
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        x.to_string()
    }
}

/// Evaluates one JSONPath assertion against a document.
/// For a plain member path (`$.a.b`, `$['a']`) that selects nothing: which member is
/// missing where, and the keys that are there. None for paths with filters, wildcards or
/// indices, where "no node" can mean "not yet" (the data a poll waits for).
fn missing_member(path: &str, doc: &Value) -> Option<String> {
    let rest = path.strip_prefix('$')?;
    let mut names = Vec::new();
    let mut r = rest;
    while !r.is_empty() {
        if let Some(t) = r.strip_prefix("['") {
            let end = t.find("']")?;
            names.push(&t[..end]);
            r = &t[end + 2..];
        } else if let Some(t) = r.strip_prefix('.') {
            let end = t.find(['.', '[']).unwrap_or(t.len());
            let name = &t[..end];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return None;
            }
            names.push(name);
            r = &t[end..];
        } else {
            return None;
        }
    }
    let mut at = doc;
    let mut shown = String::from("$");
    for name in names {
        let obj = at.as_object()?;
        match obj.get(name) {
            Some(v) => {
                at = v;
                shown.push('.');
                shown.push_str(name);
            }
            None => {
                let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
                keys.sort_unstable();
                let keys = if keys.is_empty() {
                    "none".to_owned()
                } else {
                    cut(&keys.join(", "))
                };
                return Some(format!(
                    "the JSON answer has no `{name}` in `{shown}` (keys there: {keys})"
                ));
            }
        }
    }
    None
}

/// "no node" for `p`: a shape failure naming the missing member when the path is plain.
fn no_node(p: &str, doc: &Value, what: &str) -> Failure {
    match missing_member(p, doc) {
        Some(why) => Failure {
            status: Status::Fail,
            message: format!("{p}: {what}, but {why}"),
            shape: true,
        },
        None => Failure::fail(format!("{p}: {what}, got no node")),
    }
}

pub fn check_json(a: &JsonAssert, doc: &Value, vars: &Vars) -> Result<(), Failure> {
    let path_text = render(&a.path, vars)?;
    let path = JsonPath::parse(&path_text)
        .map_err(|e| Failure::error(format!("{path_text}: invalid JSONPath: {e}")))?;
    let nodes = path.query(doc).all();
    let p = path_text.as_str();

    let want_exists = match (a.exists, a.absent) {
        (Some(e), _) => Some(e),
        (None, Some(absent)) => Some(!absent),
        (None, None) => None,
    };
    match want_exists {
        Some(true) if nodes.is_empty() => return Err(no_node(p, doc, "expected to exist")),
        Some(false) if !nodes.is_empty() => {
            return Err(Failure::fail(format!(
                "{p}: expected no node, got {} (first: {})",
                nodes.len(),
                show(nodes[0])
            )))
        }
        _ => {}
    }
    if let Some(n) = a.count {
        if nodes.len() != n {
            return Err(Failure::fail(format!(
                "{p}: expected {n} node(s), got {}",
                nodes.len()
            )));
        }
    }
    let needs_one = a.operators().any(|o| o.needs_one_node);
    if !needs_one {
        return Ok(());
    }
    let node = match nodes.as_slice() {
        [one] => *one,
        [] => return Err(no_node(p, doc, "expected a value")),
        many => {
            return Err(Failure::fail(format!(
                "{p}: expected exactly one node, got {}",
                many.len()
            )))
        }
    };
    if let Some(want) = &a.equals {
        let want = render_json(want, vars)?;
        if !values_equal(node, &want) {
            return Err(Failure::fail(format!(
                "{p}: expected {}, got {}",
                show(&want),
                show(node)
            )));
        }
    }
    if let Some(unwanted) = &a.not_equals {
        let unwanted = render_json(unwanted, vars)?;
        if values_equal(node, &unwanted) {
            return Err(Failure::fail(format!(
                "{p}: expected anything but {}, got {}",
                show(&unwanted),
                show(node)
            )));
        }
    }
    if let Some(pattern) = &a.matches {
        let pattern = render(pattern, vars)?;
        let re = regex::Regex::new(&pattern)
            .map_err(|e| Failure::error(format!("{p}: invalid regex /{pattern}/: {e}")))?;
        match node.as_str() {
            Some(s) if re.is_match(s) => {}
            Some(s) => {
                return Err(Failure::fail(format!(
                    "{p}: expected to match /{pattern}/, got {}",
                    show(&Value::String(s.into()))
                )))
            }
            None => {
                return Err(Failure::fail(format!(
                    "{p}: expected a string matching /{pattern}/, got {}",
                    show(node)
                )))
            }
        }
    }
    if let Some(options) = &a.one_of {
        let options = options
            .iter()
            .map(|o| render_json(o, vars))
            .collect::<Result<Vec<_>, _>>()?;
        if !options.iter().any(|o| values_equal(node, o)) {
            return Err(Failure::fail(format!(
                "{p}: expected one of {}, got {}",
                show(&Value::Array(options)),
                show(node)
            )));
        }
    }
    if let Some(item) = &a.contains {
        let item = render_json(item, vars)?;
        let holds = match (node, &item) {
            (Value::String(s), Value::String(sub)) => s.contains(sub.as_str()),
            (Value::Array(items), _) => items.iter().any(|i| values_equal(i, &item)),
            _ => false,
        };
        if !holds {
            return Err(Failure::fail(format!(
                "{p}: expected to contain {}, got {}",
                show(&item),
                show(node)
            )));
        }
    }
    let bounds = [
        (a.gt, ">", (|x: f64, b: f64| x > b) as fn(f64, f64) -> bool),
        (a.gte, ">=", |x, b| x >= b),
        (a.lt, "<", |x, b| x < b),
        (a.lte, "<=", |x, b| x <= b),
    ];
    for (bound, op, holds) in bounds {
        if let Some(b) = bound {
            let x = number(node, p, op)?;
            if !holds(x, b) {
                return Err(Failure::fail(format!(
                    "{p}: expected {op} {}, got {}",
                    fmt_num(b),
                    show(node)
                )));
            }
        }
    }
    if let Some(want) = a.is {
        let got = crate::suite::model::JsonType::of(node);
        if got != want {
            return Err(Failure {
                shape: true,
                ..Failure::fail(format!(
                    "{p}: expected a JSON {}, got {} {}",
                    want.as_str(),
                    got.as_str(),
                    show(node)
                ))
            });
        }
    }
    if let Some(parts) = &a.sum_of {
        let x = number(node, p, "sum_of")?;
        let mut sum = 0.0;
        let mut shown = Vec::new();
        for part in parts {
            let part_text = render(part, vars)?;
            let part_path = JsonPath::parse(&part_text)
                .map_err(|e| Failure::error(format!("{part_text}: invalid JSONPath: {e}")))?;
            let found = part_path.query(doc).all();
            let [one] = found.as_slice() else {
                return Err(no_node(
                    &part_text,
                    doc,
                    "sum_of: expected exactly one node",
                ));
            };
            let v = number(one, &part_text, "sum_of")?;
            shown.push(format!("{part_text} {}", fmt_num(v)));
            sum += v;
        }
        if (x - sum).abs() > 1e-9 {
            return Err(Failure::fail(format!(
                "{p}: expected the sum of {} = {}, got {}",
                shown.join(" + "),
                fmt_num(sum),
                show(node)
            )));
        }
    }
    if let Some(delta) = &a.delta {
        let base = vars.get(&delta.var).ok_or_else(|| {
            Failure::error(format!("{p}: delta: no captured variable `{}`", delta.var))
        })?;
        let base = base
            .as_f64()
            .or_else(|| base.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| {
                Failure::error(format!(
                    "{p}: delta: `{}` is not a number ({})",
                    delta.var,
                    show(&base)
                ))
            })?;
        let want = base + delta.by;
        let x = number(node, p, "delta")?;
        // `shared`: exact only where the run is the tenant's only writer.
        let at_least = delta.shared
            && vars
                .get(crate::template::SOLE_WRITER_VAR)
                .and_then(|v| v.as_bool())
                != Some(true);
        if at_least && x + 1e-9 >= want {
            return Ok(());
        }
        if at_least {
            return Err(Failure::fail(format!(
                "{p}: expected at least {} ({} {} {:+}), got {}",
                fmt_num(want),
                delta.var,
                fmt_num(base),
                delta.by,
                show(node)
            )));
        }
        if (x - want).abs() > 1e-9 {
            return Err(Failure::fail(format!(
                "{p}: expected {} ({} {} {:+}), got {}",
                fmt_num(want),
                delta.var,
                fmt_num(base),
                delta.by,
                show(node)
            )));
        }
    }
    Ok(())
}

/// Takes the step's captures into `vars`; secret ones are registered for redaction first.
pub fn capture(
    captures: &std::collections::BTreeMap<String, Capture>,
    obs: &Observed,
    vars: &mut Vars,
    redactor: &Redactor,
) -> Result<(), Failure> {
    for (name, cap) in captures {
        let (path, header, secret, optional, count) = match cap {
            Capture::Path(p) => (Some(p.as_str()), None, false, false, false),
            Capture::Spec(s) => (
                s.path.as_deref(),
                s.header.as_deref(),
                s.secret,
                s.optional,
                s.count,
            ),
        };
        let value = match (path, header) {
            (Some(path), None) => {
                let path_text = render(path, vars)?;
                let jp = JsonPath::parse(&path_text).map_err(|e| {
                    Failure::error(format!(
                        "capture `{name}`: invalid JSONPath {path_text}: {e}"
                    ))
                })?;
                let Some(doc) = &obs.json else {
                    return Err(Failure::fail(format!(
                        "capture `{name}`: response is not JSON"
                    )));
                };
                match jp.query(doc).all().as_slice() {
                    nodes if count => Value::from(nodes.len()),
                    [one] => (*one).clone(),
                    [] if optional => continue,
                    [] => {
                        return Err(Failure::fail(format!(
                            "capture `{name}`: {path_text} selected no node"
                        )))
                    }
                    many => {
                        return Err(Failure::fail(format!(
                            "capture `{name}`: {path_text} selected {} nodes, expected one",
                            many.len()
                        )))
                    }
                }
            }
            (None, Some(header)) => match obs.header(header) {
                Some(v) => Value::String(v.to_string()),
                None => {
                    return Err(Failure::fail(format!(
                        "capture `{name}`: no `{header}` header in the response"
                    )))
                }
            },
            _ => {
                return Err(Failure::error(format!(
                    "capture `{name}`: give exactly one of `path` and `header`"
                )))
            }
        };
        if secret {
            let text = match &value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            // A secret the redactor refuses would show up in the reports: stop here.
            redactor
                .add_secret(&text)
                .map_err(|e| Failure::error(format!("capture `{name}`: {e}")))?;
        }
        vars.set(name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
