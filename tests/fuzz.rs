//! Property-based fuzzing of everything that reads untrusted text: the suite loader, the
//! template layer, JSONPath assertions and the redactor. `cargo fuzz` needs a nightly
//! toolchain; proptest runs on stable in CI. Each property runs a bounded number of cases
//! (256) so the suite stays fast; set `PROPTEST_CASES` for a longer local hunt.
//!
//! The properties: no input makes any of them panic; a suite that does not load is
//! explained by diagnostics that name a file and (when the text was read) a 1-based line;
//! a redacted text never holds a registered secret in any form.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Value};
use thoth_conformance::redact::{scan_for_secrets, Redactor, REDACTED};
use thoth_conformance::runner::expect::check_json;
use thoth_conformance::suite::diag::Diagnostics;
use thoth_conformance::suite::load::{load_files, parse_str};
use thoth_conformance::suite::model::{JsonAssert, Suite};
use thoth_conformance::template::{placeholders, render, render_json, Vars};

/// Cases per property; `PROPTEST_CASES` raises it for a longer local hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped suite files' texts, the seeds of the mutation fuzzers.
fn seeds() -> &'static Vec<String> {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("suites"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "yaml")
                    && p.file_name().is_some_and(|n| n != "requirements.yaml")
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    })
}

/// Diagnostics that come without a position are those about the file as a whole (not
/// readable, not UTF-8, empty); every other one points at a 1-based line and column.
fn assert_well_formed(diags: &Diagnostics, file: &Path) {
    assert!(!diags.is_empty(), "a failed load must say why");
    for d in diags {
        assert!(!d.file.as_os_str().is_empty(), "no file: {d}");
        let whole_file =
            d.message.starts_with("read file") || d.message.starts_with("parse file: it is empty");
        if d.file == file && !whole_file {
            assert!(d.line >= 1 && d.column >= 1, "no position: {d}");
        }
        assert!(!d.message.is_empty(), "no message: {d}");
        // Messages quote the author's text; what reaches the terminal must not carry
        // control characters (escape sequences could forge lines).
        let shown = d.to_string();
        assert!(
            !shown.chars().any(char::is_control),
            "control characters in: {shown:?}"
        );
    }
}

/// Loads `bytes` as the only suite file, against the shipped catalogue and fixtures:
/// the whole pipeline (parse, then every semantic check).
fn load_as_suite(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fuzzed.yaml");
    std::fs::write(&file, bytes).unwrap();
    let result = load_files(
        std::slice::from_ref(&file),
        &root().join("suites/requirements.yaml"),
        &root().join("fixtures"),
    );
    if let Err(diags) = result {
        assert_well_formed(&diags, &file);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    ReplaceByte { at: usize, byte: u8 },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (
            any::<usize>(),
            prop_oneof![
                Just("{{".to_string()),
                Just("}}".to_string()),
                Just("\n  - ".to_string()),
                Just(": ".to_string()),
                Just("&a ".to_string()),
                Just("*a".to_string()),
                Just("$[?@.x == 1]".to_string()),
                Just("\t".to_string()),
                Just("\u{feff}".to_string()),
                ".{0,12}",
            ]
        )
            .prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::ReplaceByte { at, byte }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(text: &str, muts: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for m in muts {
        let n = bytes.len().max(1);
        match m {
            Mutation::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Mutation::Insert { at, text } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, text.bytes());
            }
            Mutation::ReplaceByte { at, byte } => {
                if !bytes.is_empty() {
                    bytes[at % n] = *byte;
                }
            }
            Mutation::DuplicateLine { line } | Mutation::SwapLines { a: line, .. }
                if bytes.is_empty() =>
            {
                let _ = line;
            }
            Mutation::DuplicateLine { line } => {
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let i = line % lines.len();
                lines.insert(i, lines[i].clone());
                bytes = lines.join(&b'\n');
            }
            Mutation::SwapLines { a, b } => {
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let len = lines.len();
                lines.swap(a % len, b % len);
                bytes = lines.join(&b'\n');
            }
            Mutation::Truncate { at } => bytes.truncate(at % n),
        }
    }
    bytes
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z{}$@. '\"\\\\]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,4}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSONPath-ish text: mostly near-valid paths, with templates and filter expressions.
fn json_path() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\$(\\.[a-z_]{1,4}|\\[[0-9-]{1,3}\\]|\\[\\*\\]|\\.\\.[a-z]{1,3}|\\[\\?@\\.[a-z]{1,3} ?(==|<|>=|!=) ?('[a-z]{0,3}'|[0-9]{1,3}|true|null)\\]|\\{\\{ ?[a-z_]{1,6} ?\\}\\}){0,5}",
        ".{0,24}",
    ]
}

fn assertion() -> impl Strategy<Value = JsonAssert> {
    (
        json_path(),
        0usize..11,
        json_value(),
        any::<f64>(),
        ".{0,12}",
    )
        .prop_map(|(path, op, value, number, text)| {
            let mut a = JsonAssert {
                path,
                ..JsonAssert::default()
            };
            match op {
                0 => a.equals = Some(value),
                1 => a.not_equals = Some(value),
                2 => a.exists = Some(value.is_null()),
                3 => a.absent = Some(!value.is_null()),
                4 => a.count = Some(number.abs() as usize % 5),
                5 => a.matches = Some(text),
                6 => a.one_of = Some(vec![value, Value::Null]),
                7 => a.contains = Some(value),
                8 => a.gt = Some(number),
                9 => a.lte = Some(number),
                _ => {
                    a.delta = Some(
                        serde_json::from_value(json!({"var": text, "by": 1.0})).expect("a delta"),
                    )
                }
            }
            a
        })
}

fn vars_from(pairs: &[(String, Value)]) -> Vars {
    let mut vars = Vars::new();
    for (k, v) in pairs {
        vars.set(k, v.clone());
    }
    vars
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn loader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        load_as_suite(&bytes);
    }

    #[test]
    fn loader_survives_mutated_valid_suites(
        seed in any::<prop::sample::Index>(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        let text = &seeds[seed.index(seeds.len())];
        load_as_suite(&apply(text, &muts));
    }

    #[test]
    fn parse_errors_point_at_a_line(text in "([a-z_]{1,8}: ?(\\[|\\{|-|\"|'|[a-z0-9]{1,4}|\\}|\\]|,|\\|)?\n?( {0,4}|\t)){0,20}") {
        if let Err(d) = parse_str::<Suite>(Path::new("t.yaml"), &text) {
            if !d.message.starts_with("parse file: it is empty") {
                prop_assert!(d.line >= 1 && d.column >= 1, "{}", d);
            }
        }
    }

    #[test]
    fn templates_never_panic(
        text in "(\\{\\{|\\}\\}| |[a-z_.]{1,6}|env\\.[A-Z]{1,4}|\\{|\\}|.){0,24}",
        pairs in prop::collection::vec(("[a-z_]{1,6}", json_value()), 0..5),
    ) {
        let vars = vars_from(&pairs);
        let _ = placeholders(&text);
        let rendered = render(&text, &vars);
        if !text.contains('{') {
            prop_assert_eq!(rendered.ok(), Some(text.clone()));
        }
        let _ = render_json(&json!({"k": text, "a": [text.clone(), 1]}), &vars);
    }

    #[test]
    fn json_assertions_never_panic(
        a in assertion(),
        doc in json_value(),
        pairs in prop::collection::vec(("[a-z_]{1,6}", json_value()), 0..4),
    ) {
        let _ = check_json(&a, &doc, &vars_from(&pairs));
    }

    #[test]
    fn redaction_leaves_no_registered_secret(
        secrets in prop::collection::vec(".{0,16}", 1..4),
        parts in prop::collection::vec(".{0,12}", 0..4),
    ) {
        let redactor = Redactor::new();
        let accepted: Vec<String> = secrets
            .iter()
            .filter(|s| redactor.add_secret(s).is_ok())
            .map(|s| s.trim().to_string())
            .collect();
        // Each secret embedded plain, and the text between them arbitrary.
        let mut text = String::new();
        for (i, p) in parts.iter().enumerate() {
            text.push_str(p);
            if let Some(s) = accepted.get(i % accepted.len().max(1)) {
                text.push_str(s);
            }
        }
        let redacted = redactor.redact(&text);
        for s in &accepted {
            prop_assert!(!redacted.contains(s.as_str()), "{:?} in {:?}", s, redacted);
        }
        prop_assert!(
            scan_for_secrets(&[], &[redacted.as_str()], &redactor).is_empty(),
            "a form survived in {:?}", redacted
        );
        if accepted.is_empty() {
            prop_assert_eq!(&redacted, &text);
        } else if text.contains(accepted[0].as_str()) {
            prop_assert!(redacted.contains(REDACTED));
        }
        let v = redactor.redact_json(&json!({ text.clone(): [text.clone()] }));
        prop_assert!(scan_for_secrets(&[], &[v.to_string().as_str()], &redactor).is_empty());
    }
}
