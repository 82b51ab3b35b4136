//! `github-report`: writes a run's Markdown job summary to `$GITHUB_STEP_SUMMARY` and
//! prints one workflow command per failed case (the text comes from [`crate::ci::github`]).

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use crate::ci::github::{annotations, summary};
use crate::suite::locate::case_locations;

#[derive(Debug, Args)]
pub struct GithubReportArgs {
    /// The run's results.json.
    #[arg(long, value_name = "RESULTS", default_value = "reports/results.json")]
    pub results: PathBuf,
    /// Append the Markdown summary here (GitHub sets GITHUB_STEP_SUMMARY).
    #[arg(long, env = "GITHUB_STEP_SUMMARY", value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// The suites the run used (for the file and line of each case).
    #[command(flatten)]
    pub project: super::ProjectArgs,
}

/// Runs `github-report`; 2 when the results or suites cannot be read.
pub fn github_report(args: &GithubReportArgs) -> i32 {
    let run = match crate::report::read_results(&args.results) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: failed to {e}");
            return 2;
        }
    };
    let project = match args.project.load() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let locations = case_locations(&project);
    if let Some(path) = &args.summary {
        let text = summary(&run, &locations);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            eprintln!("error: failed to append to {}: {e}", path.display());
            return 2;
        }
    }
    for a in annotations(&run, &locations) {
        println!("{a}");
    }
    0
}
