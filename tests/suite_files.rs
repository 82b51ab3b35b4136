//! The shipped `suites/`, `fixtures/` and `tests/kill_matrix.yaml`, checked as a whole.
//!
//! The loader (`load_project`) already rejects unknown fields, undefined placeholders,
//! bad JSONPath, dangling `needs` and unknown requirement or capability IDs. What only
//! the project as a whole can say is checked here: the catalogue is fully accounted for
//! (every requirement is checked by a case or carries a gap saying why not, and never
//! both), the coverage matrix has the runbook's ten rows and each row has a case, the
//! files `thothctl` is pointed at exist, JSON fixtures stay JSON once templated, and
//! the kill matrix names real cases.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use thoth_conformance::suite::load::{load_project, Project};
use thoth_conformance::suite::model::{Action, Step};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn project() -> Project {
    load_project(&root().join("suites"), &root().join("fixtures"))
        .unwrap_or_else(|d| panic!("failed to load the shipped suites:\n{d}"))
}

fn all_steps(project: &Project) -> Vec<(&str, &Step)> {
    let mut steps = Vec::new();
    for loaded in &project.suites {
        let s = &loaded.suite;
        let phase = s.phase.as_str();
        steps.extend(s.setup.iter().chain(&s.cleanup).map(|st| (phase, st)));
        for case in &s.cases {
            steps.extend(case.steps.iter().chain(&case.cleanup).map(|st| (phase, st)));
        }
    }
    steps
}

/// Replaces every `{{name}}` with a plain word, as a run would with some value.
fn untemplated(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push('x');
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn every_requirement_has_a_case_or_an_explained_gap() {
    let project = project();
    let mut checked_by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for loaded in &project.suites {
        for case in &loaded.suite.cases {
            assert!(
                !case.requirements.is_empty(),
                "{}::{} names no requirement",
                loaded.suite.phase,
                case.id
            );
            for r in &case.requirements {
                checked_by
                    .entry(r.as_str())
                    .or_default()
                    .push(format!("{}::{}", loaded.suite.phase, case.id));
            }
        }
    }
    let mut ids = BTreeSet::new();
    for r in &project.catalogue.requirements {
        assert!(ids.insert(r.id.as_str()), "duplicate requirement {}", r.id);
        match (&r.gap, checked_by.get(r.id.as_str())) {
            (None, None) => panic!("requirement {} has no case and no gap", r.id),
            (Some(_), Some(cases)) => {
                panic!("requirement {} claims a gap but {cases:?} check it", r.id)
            }
            (Some(gap), None) => assert!(!gap.trim().is_empty(), "{}: empty gap", r.id),
            (None, Some(_)) => {}
        }
    }
}

#[test]
fn coverage_matrix_has_the_runbook_rows_and_each_row_has_a_case() {
    let project = project();
    let rows: Vec<&str> = project
        .catalogue
        .capabilities
        .iter()
        .filter(|c| c.runbook_row)
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(
        rows,
        [
            "Tenant settings upsert",
            "Webhook test trigger",
            "MDM provider upsert",
            "MDM sync trigger",
            "Scoped key create/authorize/revoke",
            "Endpoint list/stats verification",
            "Explicit endpoint check-in assertions",
            "PAM callback correlation and replay tests",
            "Approval queue reads",
            "Audit feed and deep evidence checks",
        ],
        "the runbook's command coverage matrix, in its order and words"
    );
    let used: BTreeSet<&str> = project
        .suites
        .iter()
        .flat_map(|l| l.suite.cases.iter().map(|c| c.capability.as_str()))
        .collect();
    for c in &project.catalogue.capabilities {
        assert!(
            used.contains(c.id.as_str()),
            "capability {} has no case",
            c.id
        );
    }
}

#[test]
fn json_fixtures_stay_json_once_templated() {
    let project = project();
    for (phase, step) in all_steps(&project) {
        let Some(file) = step
            .action
            .http()
            .and_then(|r| r.body_file.as_ref())
            .filter(|f| f.ends_with(".json"))
        else {
            continue;
        };
        let text = fs::read_to_string(root().join("fixtures").join(file))
            .unwrap_or_else(|e| panic!("{phase}: failed to read fixture {file}: {e}"));
        serde_json::from_str::<serde_json::Value>(&untemplated(&text))
            .unwrap_or_else(|e| panic!("{phase}: fixture {file} is not JSON: {e}"));
    }
}

#[test]
fn thothctl_file_arguments_name_shipped_fixtures() {
    let project = project();
    for (phase, step) in all_steps(&project) {
        let Action::Thothctl(t) = &step.action else {
            continue;
        };
        for arg in t.args.iter().filter(|a| a.starts_with("fixtures/")) {
            let path = root().join(arg);
            assert!(
                path.is_file(),
                "{phase}: thothctl argument {arg} is not a file"
            );
            if arg.ends_with(".json") {
                // thothctl reads these itself, without the harness's templating.
                let text = fs::read_to_string(&path).expect("failed to read fixture");
                serde_json::from_str::<serde_json::Value>(&text)
                    .unwrap_or_else(|e| panic!("{phase}: {arg} is not JSON: {e}"));
            }
        }
    }
}

#[test]
fn kill_matrix_names_real_cases_for_every_mock_fault() {
    let matrix = crate::kill_matrix::reviewed_matrix();
    let project = project();
    let cases: BTreeSet<String> = project
        .suites
        .iter()
        .flat_map(|l| {
            l.suite
                .cases
                .iter()
                .map(move |c| format!("{}::{}", l.suite.phase, c.id))
        })
        .collect();
    for (fault, killed) in matrix.faults.iter().chain(&matrix.stand_in_faults) {
        assert!(
            !killed.why.trim().is_empty(),
            "{fault}: say why it is caught"
        );
        assert!(
            !killed.fails.is_empty() || killed.awaiting.is_some(),
            "{fault} is caught by no case (and says nothing under `awaiting`)"
        );
        for name in killed
            .fails
            .iter()
            .chain(&killed.errors)
            .chain(&killed.may_fail)
        {
            assert!(cases.contains(name), "{fault}: unknown case {name}");
        }
    }
    let known: BTreeSet<&str> = mock_govapi::Fault::ALL.iter().map(|f| f.name()).collect();
    let listed: BTreeSet<&str> = matrix.faults.keys().map(String::as_str).collect();
    assert_eq!(
        listed, known,
        "the kill matrix must list exactly the mock's fault modes"
    );
}

/// One example of `docs/suite-format.md`: the marker line
/// `<!-- example: suites/FILE.yaml#WHERE -->` and the fenced block after it.
struct DocExample {
    doc_line: usize,
    file: String,
    at: String,
    lines: Vec<String>,
}

fn doc_examples(doc: &str) -> Vec<DocExample> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(marker) = line
            .strip_prefix("<!-- example: ")
            .and_then(|m| m.strip_suffix(" -->"))
        else {
            continue;
        };
        let (file, at) = marker
            .split_once('#')
            .unwrap_or_else(|| panic!("docs/suite-format.md:{}: marker without #", i + 1));
        assert_eq!(
            lines.get(i + 1).copied(),
            Some("```yaml"),
            "docs/suite-format.md:{}: an example marker must be followed by a ```yaml block",
            i + 1
        );
        let body: Vec<String> = lines[i + 2..]
            .iter()
            .take_while(|l| **l != "```")
            .map(|l| l.to_string())
            .collect();
        assert!(
            !body.is_empty(),
            "docs/suite-format.md:{}: empty example",
            i + 1
        );
        out.push(DocExample {
            doc_line: i + 1,
            file: file.to_owned(),
            at: at.to_owned(),
            lines: body,
        });
    }
    out
}

/// The lines of `file` that `at` names: a top-level key (`setup`, `templates`, ...; the
/// mapping from `phase` to the first other key for `phase`) up to the next top-level
/// key, or a case (`- id: at`, or the `- for_each:` entry with a row `- id: at`) up to
/// the next case.
fn region(text: &str, at: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let top_level = |l: &str| l.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let case_start = |l: &str| {
        l.starts_with("  - ")
            && (l.trim_start().starts_with("- id: ") || l.trim_start() == "- for_each:")
    };
    let id_line = |l: &&str| l.trim_start() == format!("- id: {at}");
    let start = if at == "phase" {
        0
    } else {
        lines
            .iter()
            .position(|l| *l == format!("{at}:") || id_line(l) && case_start(l))
            .or_else(|| {
                let row = lines.iter().position(id_line)?;
                lines[..row].iter().rposition(|l| case_start(l))
            })?
    };
    let is_case = at != "phase" && case_start(lines[start]);
    let end = lines[start + 1..]
        .iter()
        .position(|l| {
            if at == "phase" {
                top_level(l)
                    && !["phase:", "title:", "runbook:", "after:"]
                        .iter()
                        .any(|k| l.starts_with(k))
            } else if is_case {
                case_start(l) || top_level(l)
            } else {
                top_level(l)
            }
        })
        .map_or(lines.len(), |p| start + 1 + p);
    Some((start, end))
}

/// The example's lines appear in order, one after the other, in the region, each with
/// the same extra indentation (the doc may show a nested block unindented).
fn appears_in(example: &[String], lines: &[&str]) -> bool {
    let first = example[0].as_str();
    (0..lines.len()).any(|k| {
        let Some(indent) = lines[k].strip_suffix(first).filter(|p| p.trim().is_empty()) else {
            return false;
        };
        example.iter().enumerate().all(|(j, want)| {
            lines.get(k + j).is_some_and(|have| {
                if want.is_empty() {
                    have.trim().is_empty()
                } else {
                    *have == format!("{indent}{want}")
                }
            })
        })
    })
}

/// Every example in docs/suite-format.md is text of the suite file and case (or key) its
/// marker names, so the reference shows the format as the shipped suites use it.
#[test]
fn suite_format_examples_are_taken_from_the_suites() {
    let doc = fs::read_to_string(root().join("docs/suite-format.md")).unwrap();
    let examples = doc_examples(&doc);
    assert!(examples.len() >= 10, "only {} examples", examples.len());
    let mut kinds = BTreeSet::new();
    for ex in &examples {
        let text = fs::read_to_string(root().join(&ex.file)).unwrap_or_else(|e| {
            panic!(
                "docs/suite-format.md:{}: read {}: {e}",
                ex.doc_line, ex.file
            )
        });
        let (start, end) = region(&text, &ex.at).unwrap_or_else(|| {
            panic!(
                "docs/suite-format.md:{}: {} has no case or top-level key `{}`",
                ex.doc_line, ex.file, ex.at
            )
        });
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            appears_in(&ex.lines, &lines[start..end]),
            "docs/suite-format.md:{}: this example is not (or no longer) in {} at `{}`:\n{}",
            ex.doc_line,
            ex.file,
            ex.at,
            ex.lines.join("\n")
        );
        for kind in Action::KEYS {
            if ex.lines.iter().any(|l| {
                l.trim_start()
                    .trim_start_matches("- ")
                    .starts_with(&format!("{kind}:"))
            }) {
                kinds.insert(kind);
            }
        }
    }
    // The reference shows every step kind the loader accepts.
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        {
            let mut all = Action::KEYS.to_vec();
            all.sort();
            all
        },
        "docs/suite-format.md lacks an example of a step kind"
    );
}

/// The commands the guide in docs/suite-format.md gives name test targets that exist
/// (a `[[test]]` of the manifest) and, for `--test integration NAME::`, a module that
/// target links, so "the commands that prove it" still run.
#[test]
fn suite_format_guide_commands_name_real_tests() {
    let doc = fs::read_to_string(root().join("docs/suite-format.md")).unwrap();
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let targets: Vec<&str> = manifest
        .split("[[test]]")
        .skip(1)
        .filter_map(|t| t.lines().find_map(|l| l.strip_prefix("name = ")))
        .map(|n| n.trim_matches('"'))
        .collect();
    let integration = fs::read_to_string(root().join("tests/integration.rs")).unwrap();
    let mut named = 0;
    for (i, line) in doc.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (j, w) in words.windows(2).enumerate() {
            let name = w[1].trim_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'));
            if w[0] == "--test" {
                assert!(
                    targets.contains(&name),
                    "docs/suite-format.md:{}: `cargo test --test {name}`: no such test target (the manifest has {targets:?})",
                    i + 1
                );
                if let Some(module) = words
                    .get(j + 2)
                    .and_then(|m| m.trim_matches('`').strip_suffix("::"))
                {
                    assert!(
                        integration.contains(&format!("mod {module};")),
                        "docs/suite-format.md:{}: `--test {name} {module}::`: tests/integration.rs links no module `{module}`",
                        i + 1
                    );
                }
                named += 1;
            }
            if w[0] == "-p" {
                assert!(
                    root().join(name).join("Cargo.toml").is_file(),
                    "docs/suite-format.md:{}: `-p {name}`: no such workspace member",
                    i + 1
                );
            }
        }
    }
    assert!(named >= 3, "the guide names {named} test targets");
}

/// What the `for_each` entries of the shipped suites expand to, one line per case: its
/// id, requirements, step names and a digest of the whole case as the runner gets it.
/// Written when the signature lab and the authorize checks became `for_each` entries,
/// from the hand-written cases they replaced (the full dump of every suite was equal
/// before and after), so an entry that expands differently fails here.
#[test]
fn for_each_entries_expand_to_the_cases_they_replaced() {
    use sha2::Digest as _;
    let project = thoth_conformance::suite::load::load_project(
        &root().join("suites"),
        &root().join("fixtures"),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let mut out = String::new();
    for s in &project.suites {
        let text = fs::read_to_string(&s.path).unwrap();
        let index = thoth_conformance::suite::load::suite_source_index(&s.path, &text);
        for (k, case) in s.suite.cases.iter().enumerate() {
            let written = index.source_path(&format!("cases[{k}]"));
            if !written.ends_with(".case") {
                continue;
            }
            let json = serde_json::to_string(case).unwrap();
            let digest = hex::encode(sha2::Sha256::digest(json.as_bytes()));
            let steps: Vec<&str> = case
                .steps
                .iter()
                .map(|st| st.name.as_deref().unwrap_or("-"))
                .collect();
            out.push_str(&format!(
                "{}::{} ({written}) {:?}\n  steps: {}\n  sha256: {}\n",
                s.suite.phase,
                case.id,
                case.requirements,
                steps.join(" | "),
                &digest[..16]
            ));
        }
    }
    assert!(
        out.contains("pam_callback::bad_signature_rejected"),
        "the signature lab is no longer a for_each entry:\n{out}"
    );
    insta::assert_snapshot!(out);
}
