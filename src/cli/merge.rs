//! The `merge` subcommand: read the shards' `results.json`, merge them, and write every
//! report as `run` would have, exiting with the merged run's verdict.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::Args;

use crate::ci::merge::merge_runs;
use crate::outcome::ExitCode;
use crate::redact::Redactor;
use crate::report::junit::{JunitDialect, JunitOptions};
use crate::report::{console, read_results, write_reports_with, ReportOptions};
use crate::suite::load::suites_hash;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' results.json files (e.g. reports-*/results.json).
    #[arg(required = true, value_name = "RESULTS")]
    pub results: Vec<PathBuf>,
    /// Where the merged junit.xml, coverage.md/json, report.html and results.json go.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// junit.xml's shape: `jenkins` validates against Jenkins' junit-10.xsd; `github`
    /// adds file/line (and properties) on each testcase for the GitHub JUnit actions.
    #[arg(long, value_enum, default_value_t = JunitDialect::Jenkins)]
    pub junit_dialect: JunitDialect,
    /// The suites the shards ran (their catalogue fills the coverage report).
    #[command(flatten)]
    pub project: super::ProjectArgs,
}

fn config_error(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    ExitCode::ConfigError as i32
}

/// Runs `merge`; returns the exit code (2 when the results cannot be merged).
pub fn merge(args: &MergeArgs) -> i32 {
    let project = match args.project.load() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut inputs = Vec::new();
    for path in &args.results {
        match read_results(path) {
            Ok(run) => inputs.push((path.clone(), run)),
            Err(e) => return config_error(format!("failed to {e}")),
        }
    }
    // The shards' level (they share one command line); re-judged over all the cases.
    let level = inputs
        .iter()
        .find_map(|(_, r)| r.conformance.as_ref().map(|c| (c.level, c.explicit)));
    let mut merged = match merge_runs(&project, &suites_hash(&project), inputs) {
        Ok(m) => m,
        Err(e) => return config_error(format!("failed to {e}")),
    };
    if let Some((level, explicit)) = level {
        merged.conformance = Some(crate::conformance::assess(
            &merged,
            &project.catalogue,
            level,
            explicit,
            &[],
        ));
    }
    // The inputs were redacted when their shards wrote them; nothing secret is known here.
    let redactor = Redactor::new();
    let color = crate::report::progress::ConsoleMode::detect(
        std::io::stdout().is_terminal(),
        &|k| std::env::var(k).ok(),
        crate::report::progress::Verbosity::Normal,
    )
    .color;
    println!("{}", console::summary_table(&merged, color));
    // The shards' profile and tenant restore are in their own logs and the cleanup
    // job's; the page says so rather than guessing.
    let options = ReportOptions {
        junit: JunitOptions {
            dialect: args.junit_dialect,
            locations: crate::suite::locate::case_locations(&project),
        },
        sign_off: Default::default(),
        cleanup: None,
    };
    if let Err(e) = write_reports_with(
        &merged,
        &project.catalogue,
        &args.reports,
        &redactor,
        &options,
    ) {
        return config_error(format!("failed to write reports: {e}"));
    }
    println!(
        "merged {} results file(s) into {}",
        args.results.len(),
        args.reports.display()
    );
    crate::verdict::verdict(&merged).exit_code
}
