//! `{{name}}` placeholders in suite strings.
//!
//! Placeholders are `{{ name }}` (whitespace inside the braces allowed) where `name` is an
//! identifier (`[A-Za-z_][A-Za-z0-9_]*`) or `env.NAME` for the process environment. There
//! is no escaping and no expression language on purpose: suites are data, and anything
//! smarter belongs in a capture or in the runner.

use std::collections::BTreeMap;

use serde_json::Value;
use thiserror::Error;

/// Variables the engine defines for every run (see docs/interfaces.md §3).
pub const TARGET_VARS: &[&str] = &[
    "run_id",
    "tenant",
    "other_tenant",
    "govapi_url",
    "api_url",
    "sole_writer",
    "webhook_url",
    "webhook_secret",
    "webhook_sink",
    "pam_callback_secret",
];

/// True on targets where the run is the tenant's only writer (the in-process mock), so
/// `shared` deltas are exact there and "at least" elsewhere.
pub const SOLE_WRITER_VAR: &str = "sole_writer";

const ENV_PREFIX: &str = "env.";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("resolve `{{{{{name}}}}}`: no variable of that name is defined")]
    UnknownVar { name: String },
    #[error("resolve `{{{{env.{name}}}}}`: environment variable `{name}` is not set")]
    UnsetEnv { name: String },
    #[error("parse template: `{{{{` at byte {offset} is never closed with `}}}}`")]
    Unterminated { offset: usize },
    #[error("parse template: `{{{{{name}}}}}` is not a variable name (expected letters, digits and `_`, or `env.NAME`)")]
    InvalidName { name: String },
}

/// Values placeholders resolve to: captures, suite vars and target vars by name; `env.NAME`
/// from the process environment unless set explicitly (tests pin it that way).
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, Value>,
}

impl Vars {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, name: &str, v: Value) {
        self.values.insert(name.to_string(), v);
    }

    /// Sets `name` and returns what it held before, for [`Vars::restore`].
    pub fn replace(&mut self, name: &str, v: Value) -> Option<Value> {
        self.values.insert(name.to_string(), v)
    }

    /// Puts back what [`Vars::replace`] returned (None: the name was unset).
    pub fn restore(&mut self, name: &str, old: Option<Value>) {
        match old {
            Some(v) => self.set(name, v),
            None => {
                self.values.remove(name);
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        let env_name = name.strip_prefix(ENV_PREFIX)?;
        std::env::var(env_name).ok().map(Value::String)
    }

    /// True when `name` is set explicitly (the environment is not consulted).
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Explicitly set names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    fn lookup(&self, name: &str) -> Result<Value, TemplateError> {
        self.get(name)
            .ok_or_else(|| match name.strip_prefix(ENV_PREFIX) {
                Some(env) => TemplateError::UnsetEnv {
                    name: env.to_string(),
                },
                None => TemplateError::UnknownVar {
                    name: name.to_string(),
                },
            })
    }
}

/// A piece of a parsed template.
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// A name usable as `{{name}}`: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_var_name(s: &str) -> bool {
    match s.strip_prefix(ENV_PREFIX) {
        Some(env) => is_ident(env),
        None => is_ident(s),
    }
}

fn parse(s: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = s;
    let mut consumed = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after_open = &rest[open + 2..];
        let close = after_open.find("}}").ok_or(TemplateError::Unterminated {
            offset: consumed + open,
        })?;
        let name = after_open[..close].trim();
        if !is_var_name(name) {
            return Err(TemplateError::InvalidName {
                name: name.to_string(),
            });
        }
        pieces.push(Piece::Var(name));
        let advance = open + 2 + close + 2;
        consumed += advance;
        rest = &rest[advance..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// The variable names `s` refers to, in order of appearance (duplicates kept).
pub fn placeholders(s: &str) -> Result<Vec<String>, TemplateError> {
    Ok(parse(s)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(n) => Some(n.to_string()),
            Piece::Text(_) => None,
        })
        .collect())
}

/// How a value reads inside a larger string: strings as they are, everything else as
/// compact JSON (`42`, `true`, `{"a":1}`).
fn interpolated(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replaces every placeholder in `s` with its value.
pub fn render(s: &str, vars: &Vars) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(s.len());
    for piece in parse(s)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name) => out.push_str(&interpolated(&vars.lookup(name)?)),
        }
    }
    Ok(out)
}

/// The variable name when `s` is exactly one placeholder and nothing else.
fn sole_placeholder(s: &str) -> Option<&str> {
    match parse(s).ok()?.as_slice() {
        [Piece::Var(name)] => Some(name),
        _ => None,
    }
}

/// Renders every string (keys included) of a JSON value. A string that is exactly one
/// placeholder becomes the variable's value with its JSON type, so a captured number
/// stays a number in a request body.
pub fn render_json(v: &Value, vars: &Vars) -> Result<Value, TemplateError> {
    Ok(match v {
        Value::String(s) => match sole_placeholder(s) {
            Some(name) => vars.lookup(name)?,
            None => Value::String(render(s, vars)?),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_json(i, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((render(k, vars)?, render_json(v, vars)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.set("tenant", json!("acme"));
        v.set("total", json!(41));
        v.set("ok", json!(true));
        v.set("obj", json!({"a": [1, 2]}));
        v.set("env.PINNED", json!("from-test"));
        v
    }

    #[test]
    fn renders_names_with_and_without_whitespace() {
        let v = vars();
        assert_eq!(
            render("/{{tenant}}/x/{{ tenant }}", &v).unwrap(),
            "/acme/x/acme"
        );
        assert_eq!(render("{{  tenant\t}}", &v).unwrap(), "acme");
    }

    #[test]
    fn stringifies_non_strings_compactly() {
        let v = vars();
        assert_eq!(
            render("n={{total}} b={{ok}} o={{obj}}", &v).unwrap(),
            r#"n=41 b=true o={"a":[1,2]}"#
        );
    }

    #[test]
    fn env_vars_come_from_explicit_values_then_the_process() {
        let v = vars();
        assert_eq!(render("{{env.PINNED}}", &v).unwrap(), "from-test");
        let path = std::env::var("PATH").expect("PATH is set in test environments");
        assert_eq!(render("{{ env.PATH }}", &v).unwrap(), path);
        assert_eq!(
            render("{{env.THOTH_SURELY_UNSET_FOR_TESTS_9F2}}", &v).unwrap_err(),
            TemplateError::UnsetEnv {
                name: "THOTH_SURELY_UNSET_FOR_TESTS_9F2".into()
            }
        );
    }

    #[test]
    fn unknown_variable_is_named() {
        let err = render("a {{missing}} b", &vars()).unwrap_err();
        assert_eq!(
            err,
            TemplateError::UnknownVar {
                name: "missing".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "resolve `{{missing}}`: no variable of that name is defined"
        );
    }

    #[test]
    fn unterminated_and_invalid_names_are_errors() {
        assert_eq!(
            render("ab{{tenant", &vars()).unwrap_err(),
            TemplateError::Unterminated { offset: 2 }
        );
        assert_eq!(
            placeholders("{{x}} {{y").unwrap_err(),
            TemplateError::Unterminated { offset: 6 }
        );
        for bad in [
            "{{}}",
            "{{ a b }}",
            "{{1x}}",
            "{{env.}}",
            "{{a-b}}",
            "{{x.y}}",
        ] {
            assert!(
                matches!(placeholders(bad), Err(TemplateError::InvalidName { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn placeholders_lists_names_in_order() {
        assert_eq!(
            placeholders("{{a}}-{{ env.B }}-{{a}}").unwrap(),
            vec!["a", "env.B", "a"]
        );
        assert!(placeholders("no vars, single { braces }")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn render_json_keeps_types_for_sole_placeholders() {
        let v = vars();
        let input = json!({
            "count": "{{total}}",
            "flag": "{{ ok }}",
            "nested": ["{{obj}}", "t={{tenant}}", 3, null],
            "{{tenant}}_key": "n{{total}}",
        });
        assert_eq!(
            render_json(&input, &v).unwrap(),
            json!({
                "count": 41,
                "flag": true,
                "nested": [{"a": [1, 2]}, "t=acme", 3, null],
                "acme_key": "n41",
            })
        );
    }

    #[test]
    fn render_json_reports_unknown_variables() {
        assert_eq!(
            render_json(&json!({"a": ["{{nope}}"]}), &vars()).unwrap_err(),
            TemplateError::UnknownVar {
                name: "nope".into()
            }
        );
    }

    proptest! {
        #[test]
        fn render_never_panics(s in ".*") {
            let _ = render(&s, &vars());
            let _ = placeholders(&s);
            let _ = render_json(&Value::String(s), &vars());
        }

        #[test]
        fn brace_heavy_text_never_panics(s in "[{} a-z_.]{0,40}") {
            let _ = render(&s, &vars());
            let _ = placeholders(&s);
            let _ = render_json(&Value::String(s), &vars());
        }

        #[test]
        fn text_without_braces_renders_unchanged(s in "[^{]*") {
            prop_assert_eq!(render(&s, &vars()).unwrap(), s);
        }

        #[test]
        fn defined_names_always_resolve(prefix in "[^{]*", suffix in "[^{]*") {
            let s = format!("{prefix}{{{{ tenant }}}}{suffix}");
            prop_assert_eq!(render(&s, &vars()).unwrap(), format!("{prefix}acme{suffix}"));
        }
    }
}
