//! Checks on what a step asserts and captures: JSONPaths that parse (placeholders
//! included), regexes that compile, assertions that can fail, captures with one source.

use regex::Regex;
use serde_json_path::JsonPath;

use super::Findings;
use crate::suite::model::{Capture, JsonAssert};
use crate::template::placeholders;

/// Replaces placeholders with a literal that keeps the surrounding syntax valid: `x`
/// inside a quoted string, `0` elsewhere (`$.items[{{i}}]`). None when the template
/// itself is broken (the variable check reports that).
fn with_dummies(s: &str) -> Option<String> {
    placeholders(s).ok()?;
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut rest = s;
    while !rest.is_empty() {
        if rest.starts_with("{{") {
            let close = rest.find("}}")?;
            out.push_str(if quote.is_some() { "x" } else { "0" });
            rest = &rest[close + 2..];
            continue;
        }
        let c = rest.chars().next()?;
        match (quote, c) {
            (Some(_), '\\') if !escaped => escaped = true,
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            _ => escaped = false,
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

fn check_jsonpath(s: &str, path: &str, f: &mut Findings<'_>) {
    let Some(concrete) = with_dummies(s) else {
        return;
    };
    if let Err(e) = JsonPath::parse(&concrete) {
        let hint = if concrete.starts_with('$') {
            ""
        } else {
            " (a JSONPath starts with `$`, e.g. `$.data[0].id`)"
        };
        f.at(path, format!("invalid JSONPath `{s}`: {e}{hint}"));
    }
}

pub(super) fn check_assert(a: &JsonAssert, base: &str, f: &mut Findings<'_>) {
    check_jsonpath(&a.path, &format!("{base}.path"), f);
    let has_check = a.operators().next().is_some();
    if !has_check {
        f.at(
            base,
            "assertion has only a `path` and checks nothing; add e.g. `exists: true` or `equals:`",
        );
    }
    if let (Some(e), Some(ab)) = (a.exists, a.absent) {
        if e == ab {
            f.at(
                &format!("{base}.absent"),
                format!("`exists: {e}` and `absent: {ab}` contradict each other"),
            );
        }
    }
    if let Some(re) = &a.matches {
        if let Some(concrete) = with_dummies(re) {
            if let Err(e) = Regex::new(&concrete) {
                // The regex crate's message spans lines (it draws a caret); keep the last.
                let msg = e.to_string();
                let last = msg.lines().last().unwrap_or(&msg).trim();
                let reason = last.strip_prefix("error: ").unwrap_or(last);
                f.at(
                    &format!("{base}.matches"),
                    format!("invalid regex `{re}`: {reason}"),
                );
            }
        }
    }
    if let Some(d) = &a.delta {
        if !d.by.is_finite() {
            f.at(
                &format!("{base}.delta.by"),
                "delta `by` must be a finite number",
            );
        }
    }
}

pub(super) fn check_capture(cap: &Capture, base: &str, f: &mut Findings<'_>) {
    match cap {
        Capture::Path(p) => check_jsonpath(p, base, f),
        Capture::Spec(spec) => match (&spec.path, &spec.header) {
            (Some(p), None) => {
                check_jsonpath(p, &format!("{base}.path"), f);
                if spec.count && spec.optional {
                    f.at(
                        &format!("{base}.optional"),
                        "a `count` capture is always set (0 when nothing matches); drop `optional`",
                    );
                }
            }
            (None, Some(_)) if spec.count => f.at(
                &format!("{base}.count"),
                "`count` counts the nodes of a `path`; a header is one value",
            ),
            (None, Some(_)) => {}
            (Some(_), Some(_)) => f.at(
                &format!("{base}.header"),
                "capture sets both `path` and `header`; give exactly one",
            ),
            (None, None) => f.at(base, "capture needs a `path` or a `header`"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::with_dummies;

    #[test]
    fn dummies_keep_jsonpath_syntax_valid() {
        assert_eq!(
            with_dummies("$.data[?@.key_id == '{{key_id}}']").as_deref(),
            Some("$.data[?@.key_id == 'x']")
        );
        assert_eq!(
            with_dummies("$.items[{{i}}].a").as_deref(),
            Some("$.items[0].a")
        );
        assert_eq!(
            with_dummies(r#"$[?@.a == "q\"{{v}}"]"#).as_deref(),
            Some(r#"$[?@.a == "q\"x"]"#)
        );
        assert_eq!(with_dummies("$.a{{"), None);
    }
}
