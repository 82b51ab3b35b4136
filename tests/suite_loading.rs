//! The suite loader end to end: a valid project loads, and every kind of broken suite is
//! reported with file, line, column and field path (snapshots of the exact text).

use std::path::{Path, PathBuf};

use thoth_conformance::suite::diag::Diagnostics;
use thoth_conformance::suite::load::{load_files, load_project, Project};

const VALID: &str = "tests/fixtures/valid";

fn valid_catalogue() -> PathBuf {
    Path::new(VALID).join("suites/requirements.yaml")
}

fn valid_fixtures() -> PathBuf {
    Path::new(VALID).join("fixtures")
}

fn load(files: &[&str]) -> Result<Project, Diagnostics> {
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    load_files(&files, &valid_catalogue(), &valid_fixtures())
}

#[test]
fn valid_project_loads() {
    let project = load_project(&Path::new(VALID).join("suites"), &valid_fixtures())
        .unwrap_or_else(|d| panic!("valid project failed to load:\n{d}"));
    let phases: Vec<&str> = project
        .suites
        .iter()
        .map(|s| s.suite.phase.as_str())
        .collect();
    assert_eq!(phases, ["scoped_keys", "pam_approvals"]);
    assert_eq!(project.catalogue.requirements.len(), 3);
    assert_eq!(
        project.suites[0].path,
        Path::new(VALID).join("suites/keys.yaml")
    );
}

/// Every `tests/fixtures/broken/*.yaml`, sorted.
fn broken_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/broken")
        .expect("broken corpus exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_broken_suite_is_rejected_with_stable_diagnostics() {
    let files = broken_files();
    assert!(files.len() >= 20, "corpus shrank to {}", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# broken: "),
            "{} must start with a `# broken: <what is wrong>` comment",
            file.display()
        );
        let diags = match load_files(
            std::slice::from_ref(&file),
            &valid_catalogue(),
            &valid_fixtures(),
        ) {
            Ok(_) => panic!("{} loaded although it is broken", file.display()),
            Err(d) => d,
        };
        for d in &diags {
            assert_eq!(d.file, file, "diagnostic names another file: {d}");
        }
        let stem = file.file_stem().unwrap().to_str().unwrap().to_string();
        insta::assert_snapshot!(
            format!("broken__{stem}"),
            diags.to_string(),
            text.lines().next().unwrap()
        );
    }
}

#[test]
fn phase_cycles_and_duplicate_phases_across_files() {
    let dir = Path::new("tests/fixtures/broken/cycle");
    let files: Vec<PathBuf> = ["a.yaml", "b.yaml", "c.yaml", "d.yaml"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    let diags = load_files(&files, &valid_catalogue(), &valid_fixtures()).unwrap_err();
    insta::assert_snapshot!(diags.to_string());
}

/// The text at a diagnostic's line and column (1-based), to the end of the line.
fn text_at(file: &Path, line: u64, column: u64) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let l = text.lines().nth(line as usize - 1).expect("line exists");
    l.chars().skip(column as usize - 1).collect()
}

#[test]
fn line_and_column_point_at_the_offending_token() {
    // (file, field path, what the source must show at the reported position)
    let cases = [
        ("bad_enum", "cases[1].steps[0].request.method", "GETT"),
        ("unknown_field", "cases[0].steps[0].request.methd", "methd:"),
        (
            "duplicate_key",
            "cases[0].steps[0].request.path",
            "path: /y",
        ),
        (
            "unknown_requirement",
            "cases[0].requirements[1]",
            "RB-P9-99]",
        ),
        ("unknown_requirement", "cases[0].capability", "teleport"),
        ("needs_later_case", "cases[0].needs[0]", "second]"),
        // Raised while reading the second action, so at its value.
        ("two_actions", "cases[0].steps[0].admin", "{method: POST"),
        // Durations are parsed while the file is read: the first bad one is the
        // file's parse error.
        (
            "bad_duration",
            "cases[0].steps[0].eventually.timeout",
            "10 seconds}",
        ),
        ("no_action", "cases[0].steps[1]", "expect:"),
        (
            "bad_regex",
            "cases[0].steps[0].expect.json[0].matches",
            "\"^(key_",
        ),
        (
            "undefined_variable",
            "cases[0].steps[0].request.path",
            "\"/api-keys/{{key_id}}\"",
        ),
        (
            "unknown_fixture",
            "cases[0].steps[0].request.body_file",
            "missing.json}",
        ),
        ("retry_on_post", "cases[0].steps[1].retry.attempts", "20}"),
        ("missing_field", "cases[0]", "id: c"),
        // A `for_each` problem points into the entry as written: the use of a name a
        // row lacks, the row whose id is taken, the row value of the wrong type.
        (
            "for_each_missing_key",
            "cases[0].case.steps[0].request.path",
            "\"{{each.path}}\"",
        ),
        (
            "for_each_duplicate_id",
            "cases[1].for_each[1].id",
            "read_x,",
        ),
        (
            "for_each_wrong_type",
            "cases[0].for_each[1].status",
            "many }",
        ),
        ("for_each_shape", "cases[0].for_each", "for_each: {"),
    ];
    for (stem, field_path, token) in cases {
        let file = PathBuf::from(format!("tests/fixtures/broken/{stem}.yaml"));
        let diags = load(&[file.to_str().unwrap()]).unwrap_err();
        let d = diags
            .iter()
            .find(|d| d.field_path == field_path)
            .unwrap_or_else(|| panic!("{stem}: no diagnostic for {field_path} in:\n{diags}"));
        let at = text_at(&file, d.line, d.column);
        assert!(
            at.starts_with(token),
            "{stem}: {field_path} reported at {}:{}, which shows {at:?}, not {token:?}",
            d.line,
            d.column
        );
    }
}

#[test]
fn broken_catalogue_reports_every_problem() {
    let diags = thoth_conformance::suite::load::load_catalogue(Path::new(
        "tests/fixtures/broken_catalogue/requirements.yaml",
    ))
    .unwrap_err();
    insta::assert_snapshot!("catalogue__duplicates_and_malformed_ids", diags.to_string());
    let diags = thoth_conformance::suite::load::load_catalogue(Path::new(
        "tests/fixtures/broken_catalogue/bad_severity.yaml",
    ))
    .unwrap_err();
    insta::assert_snapshot!("catalogue__bad_severity", diags.to_string());
}

#[test]
fn valid_catalogue_loads_alone() {
    let c = thoth_conformance::suite::load::load_catalogue(&valid_catalogue()).unwrap();
    assert_eq!(c.capabilities.len(), 2);
    assert_eq!(
        c.requirements[2].gap.as_deref(),
        Some("needs a real endpoint with the thoth runtime")
    );
}

#[test]
fn every_broken_file_of_a_project_is_reported_in_one_run() {
    let diags = load(&[
        "tests/fixtures/broken/bad_enum.yaml",
        "tests/fixtures/broken/unknown_field.yaml",
        "tests/fixtures/broken/needs_later_case.yaml",
        "tests/fixtures/valid/suites/keys.yaml",
    ])
    .unwrap_err();
    let files: std::collections::BTreeSet<String> =
        diags.iter().map(|d| d.file.display().to_string()).collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        [
            "tests/fixtures/broken/bad_enum.yaml",
            "tests/fixtures/broken/needs_later_case.yaml",
            "tests/fixtures/broken/unknown_field.yaml",
        ]
    );
    // Two semantic findings in one file are both reported.
    assert_eq!(
        diags
            .iter()
            .filter(|d| d.file.ends_with("needs_later_case.yaml"))
            .count(),
        2
    );
}

#[test]
fn project_directory_problems_are_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    let suites = dir.path().join("suites");

    let d = load_project(&suites, &fixtures).unwrap_err();
    assert!(d.to_string().contains("read suites directory"), "{d}");

    std::fs::create_dir(&suites).unwrap();
    std::fs::copy(valid_catalogue(), suites.join("requirements.yaml")).unwrap();
    let d = load_project(&suites, &fixtures).unwrap_err();
    assert!(d.to_string().contains("no `*.yaml` files"), "{d}");

    std::fs::write(suites.join("phase.yml"), "phase: p\n").unwrap();
    let d = load_project(&suites, &fixtures).unwrap_err();
    assert!(
        d.to_string()
            .contains("phase.yml:0:0: find suites: suite files must end in `.yaml`"),
        "{d}"
    );
    std::fs::remove_file(suites.join("phase.yml")).unwrap();

    std::fs::remove_file(suites.join("requirements.yaml")).unwrap();
    std::fs::copy(
        "tests/fixtures/broken/self_after.yaml",
        suites.join("phase.yaml"),
    )
    .unwrap();
    let d = load_project(&suites, &fixtures).unwrap_err();
    let text = d.to_string();
    assert!(
        text.contains("requirements.yaml:0:0: read file:"),
        "missing catalogue not reported: {text}"
    );
    // Without a catalogue the suite's own problems are still reported.
    assert!(text.contains("cannot come after itself"), "{text}");
}

#[test]
fn non_utf8_file_is_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latin1.yaml");
    std::fs::write(&file, b"phase: caf\xe9\n").unwrap();
    let d = load_files(&[file], &valid_catalogue(), &valid_fixtures()).unwrap_err();
    assert!(d.to_string().contains("not UTF-8"), "{d}");
}

#[test]
fn a_file_that_fails_to_parse_causes_no_follow_up_errors_elsewhere() {
    // pam.yaml runs `after: [scoped_keys]`; when the file defining that phase is broken,
    // only its own error is reported, not "no suite defines scoped_keys".
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("keys.yaml");
    let text = std::fs::read_to_string("tests/fixtures/valid/suites/keys.yaml").unwrap();
    std::fs::write(&broken, text.replace("effect: mutate", "effect: explode")).unwrap();
    let diags = load_files(
        &[
            broken,
            PathBuf::from("tests/fixtures/valid/suites/pam.yaml"),
        ],
        &valid_catalogue(),
        &valid_fixtures(),
    )
    .unwrap_err();
    assert_eq!(diags.len(), 1, "{diags}");
    assert!(
        diags.to_string().contains("unknown value `explode`"),
        "{diags}"
    );
}
