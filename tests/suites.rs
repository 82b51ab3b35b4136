//! One test per case of every suite in `suites/`, run against one shared in-process mock.
//!
//! `cargo test --test suites -- scoped_keys` runs the phases that hold a matching case
//! (plus the phases they come `after`) once, then each trial reports its own case. Cases
//! that need something the mock target lacks (a `thothctl` binary) are listed as ignored.
//!
//! Environment: `CONFORMANCE_SUITES_DIR` / `CONFORMANCE_FIXTURES_DIR` point at another
//! suite directory; `CONFORMANCE_MOCK_FAULTS` (comma-separated) starts the mock faulted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use libtest_mimic::{Arguments, Failed, Trial};
use thoth_conformance::outcome::{RunResult, Status};
use thoth_conformance::redact::Redactor;
use thoth_conformance::report::transcript::case_transcript;
use thoth_conformance::session::{self, Outcome, SessionOptions};
use thoth_conformance::suite::load::{load_project, Project, CATALOGUE_FILE};
use thoth_conformance::suite::model::Feature;
use thoth_conformance::target::{MockOptions, Target};
use thoth_conformance::thothctl::{resolve, StandInUse, ThothctlBin};

mod stand_in;

/// A real thothctl on PATH wins; else the stand-in, built for this test binary.
fn thothctl() -> Option<ThothctlBin> {
    resolve(None, true, StandInUse::Off).or_else(|| Some(stand_in::stand_in()))
}

fn dir_from_env(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(default))
}

/// True when the directory holds at least one suite file.
fn has_suites(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".yaml") && name != CATALOGUE_FILE
        })
    })
}

/// Whether libtest would run a trial of this name under the given arguments.
fn selected(args: &Arguments, name: &str) -> bool {
    let hit = |f: &str| {
        if args.exact {
            name == f
        } else {
            name.contains(f)
        }
    };
    args.filter.as_deref().is_none_or(hit) && !args.skip.iter().any(|s| hit(s))
}

/// The phases holding a selected case, plus every phase they run `after`.
fn needed_phases(project: &Project, args: &Arguments) -> BTreeSet<String> {
    let mut needed: BTreeSet<String> = project
        .suites
        .iter()
        .filter(|s| {
            s.suite
                .cases
                .iter()
                .any(|c| selected(args, &format!("{}::{}", s.suite.phase, c.id)))
        })
        .map(|s| s.suite.phase.clone())
        .collect();
    loop {
        let more: Vec<String> = project
            .suites
            .iter()
            .filter(|s| needed.contains(&s.suite.phase))
            .flat_map(|s| s.suite.after.iter().cloned())
            .filter(|p| !needed.contains(p))
            .collect();
        if more.is_empty() {
            return needed;
        }
        needed.extend(more);
    }
}

struct Shared {
    project: Project,
    phases: BTreeSet<String>,
    run: OnceLock<(Outcome, Redactor)>,
}

impl Shared {
    /// Runs the needed phases once, on the first trial that asks.
    fn run(&self) -> &(Outcome, Redactor) {
        self.run.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("start a tokio runtime");
            rt.block_on(async {
                let redactor = Redactor::new();
                let faults = std::env::var("CONFORMANCE_MOCK_FAULTS")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let target = Target::start_mock(
                    &MockOptions {
                        faults,
                        ..MockOptions::default()
                    },
                    &redactor,
                )
                .await
                .expect("start the in-process mock")
                .with_thothctl(thothctl());
                let reports = tempfile::tempdir().expect("a reports directory");
                let opts = SessionOptions {
                    phases: Some(self.phases.clone()),
                    ..SessionOptions::new(reports.path().to_path_buf())
                };
                let outcome = session::run(&self.project, &target, &opts, &redactor, None)
                    .await
                    .unwrap_or_else(|e| panic!("the run did not start: {e}"));
                target.shutdown().await;
                (outcome, redactor)
            })
        })
    }
}

fn trial_for(shared: &Arc<Shared>, phase: &str, case_id: &str) -> Result<(), Failed> {
    let (outcome, redactor) = shared.run();
    let run: &RunResult = &outcome.result;
    let case = run
        .cases
        .iter()
        .find(|c| c.phase == phase && c.case_id == case_id)
        .ok_or_else(|| Failed::from(format!("{phase}::{case_id} was not run")))?;
    match case.status {
        Status::Pass | Status::Skip | Status::Disabled => Ok(()),
        Status::Fail | Status::Error => Err(Failed::from(redactor.redact(&format!(
            "{}: {}\n{}",
            case.status.as_str(),
            case.message.clone().unwrap_or_default(),
            case_transcript(case, redactor)
        )))),
    }
}

fn trials(args: &Arguments) -> Vec<Trial> {
    let suites_dir = dir_from_env("CONFORMANCE_SUITES_DIR", "suites");
    let fixtures_dir = dir_from_env("CONFORMANCE_FIXTURES_DIR", "fixtures");
    if !has_suites(&suites_dir) {
        return Vec::new();
    }
    let project = match load_project(&suites_dir, &fixtures_dir) {
        Ok(p) => p,
        Err(diags) => {
            let msg = diags.to_string();
            return vec![Trial::test("load_suites", move || Err(msg.into()))];
        }
    };
    let have_thothctl = thothctl().is_some();
    let phases = needed_phases(&project, args);
    let names: Vec<(String, String, bool)> = project
        .suites
        .iter()
        .flat_map(|s| {
            s.suite.cases.iter().map(|c| {
                // The mock target has every feature except, perhaps, a thothctl binary.
                let ignored = !have_thothctl && c.required_features().contains(&Feature::Thothctl);
                (s.suite.phase.clone(), c.id.clone(), ignored)
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        project,
        phases,
        run: OnceLock::new(),
    });
    let mut trials: Vec<Trial> = names
        .into_iter()
        .map(|(phase, id, ignored)| {
            let shared = shared.clone();
            let name = format!("{phase}::{id}");
            Trial::test(name, move || trial_for(&shared, &phase, &id)).with_ignored_flag(ignored)
        })
        .collect();
    // What the CLI adds to the cases, checked once for the run the trials share.
    if !shared.phases.is_empty() {
        trials.push(Trial::test(
            "session::reports_cleanup_and_secret_scan",
            move || session_trial(&shared),
        ));
    }
    trials
}

/// The shared run's reports were all written, the final scan found no secret in them,
/// and everything the run created was undone.
fn session_trial(shared: &Arc<Shared>) -> Result<(), Failed> {
    let (outcome, _) = shared.run();
    let mut problems: Vec<String> = outcome.report_errors.clone();
    problems.extend(outcome.leaks.iter().map(|h| format!("secret leak: {h}")));
    match &outcome.cleanup {
        Ok(c) if c.complete => {}
        Ok(_) => problems.push("cleanup left records on the mock".into()),
        Err(e) => problems.push(format!("cleanup failed: {e}")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let trials = trials(&args);
    libtest_mimic::run(&args, trials).exit();
}
