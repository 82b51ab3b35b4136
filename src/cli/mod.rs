//! The command line. Thin: it parses flags, builds the target, calls the library, prints
//! through the redactor and chooses the exit code. One file per command (`run`, `list`,
//! `validate`, `merge`, `github`, `load`, `bench`, `bundle`, `safety` for `prepare` and
//! `cleanup`). Every front end lives here and nothing below imports this module, so the
//! dependencies point one way: cli -> session -> runner/report/safety -> suite, target,
//! client (tests/repo_hygiene.rs fails on a cycle).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::outcome::ExitCode;
use crate::suite::embedded::{self, Dirs};
use crate::suite::load::{load_project, Project};

pub mod bench;
pub mod bundle;
pub mod github;
mod list;
mod live_args;
pub mod load;
pub mod merge;
mod run;
pub mod safety;
mod validate;

pub use list::list_table;
pub use live_args::LiveArgs;
pub use run::RunArgs;
pub use validate::ValidateArgs;

#[derive(Debug, Parser)]
#[command(
    name = "thoth-conformance",
    version,
    about = "End-to-end conformance harness for the Thoth headless control plane (GovAPI)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the suites against the bundled mock or a live tenant and write the reports.
    Run(Box<RunArgs>),
    /// List every case: phase, case, capability, surface, effect, requirements.
    List(ProjectArgs),
    /// Check suite files without running anything (exit 2 on any diagnostic).
    Validate(ValidateArgs),
    /// Undo what a crashed run left in its ledger (exit 6 while anything is left).
    Cleanup(Box<safety::CleanupArgs>),
    /// Take a live tenant for the shards of one run (`run --lease-group GROUP`): one
    /// owner of the original settings; `cleanup --ledger` restores them after the shards.
    Prepare(Box<safety::PrepareArgs>),
    /// Merge shard results (`run --shard I/N`) into the reports of one whole run.
    Merge(merge::MergeArgs),
    /// Register and check in N run-unique endpoints, then verify stats and list counts.
    Load(Box<load::LoadArgs>),
    /// Time the full suite against the in-process mock, the curl runbook script and a raw
    /// request loop, in one run.
    Bench(bench::BenchArgs),
    /// Check an evidence bundle (`run --bundle`) offline: manifest, signature, required
    /// cases, failures, secrets, waivers (exit codes in the README).
    VerifyBundle(bundle::VerifyBundleArgs),
    /// A run's results for GitHub Actions: job summary and `::error` annotations at the
    /// failing case's line.
    GithubReport(github::GithubReportArgs),
    /// The suites, fixtures and catalogue built into this binary.
    #[command(subcommand)]
    Suites(SuitesCommand),
}

#[derive(Debug, Subcommand)]
pub enum SuitesCommand {
    /// Write the built-in `suites/` and `fixtures/` into DIR, to customise them and run
    /// with `--suites DIR/suites --fixtures DIR/fixtures` (refuses to overwrite a file).
    Export {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Mock,
    Live,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ProjectArgs {
    /// Directory of suite files (one per phase) and `requirements.yaml` [default: the
    /// suites built into this binary; `suites export DIR` writes them out].
    #[arg(long, value_name = "DIR")]
    pub suites: Option<PathBuf>,
    /// Directory of request bodies the suites name in `body_file` [default: built in].
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
}

impl ProjectArgs {
    /// The directories to load: the given ones, else the built-in copies.
    pub fn dirs(&self) -> Result<Dirs, i32> {
        embedded::resolve(self.suites.as_deref(), self.fixtures.as_deref()).map_err(config_error)
    }

    /// Loads and validates the suites (exit 2 with every diagnostic on failure).
    pub fn load(&self) -> Result<Project, i32> {
        let dirs = self.dirs()?;
        let mut project = load_project(&dirs.suites, &dirs.fixtures).map_err(|diags| {
            eprintln!("{diags}");
            eprintln!("error: failed to load suites: {} problem(s)", diags.0.len());
            ExitCode::ConfigError as i32
        })?;
        for s in &mut project.suites {
            s.path = embedded::shown_path(&dirs, &s.path);
        }
        Ok(project)
    }
}

/// Entry point of the binary.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return std::process::ExitCode::from(ExitCode::ConfigError as u8);
        }
    };
    let code = runtime.block_on(dispatch(cli));
    drop(runtime);
    embedded::cleanup();
    std::process::ExitCode::from(code as u8)
}

pub async fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => run::run(&args).await,
        Command::List(args) => list::list(&args),
        Command::Validate(args) => validate::validate(&args),
        Command::Cleanup(args) => safety::cleanup(&args).await,
        Command::Prepare(args) => safety::prepare(&args).await,
        Command::Merge(args) => merge::merge(&args),
        Command::Load(args) => load::load(&args).await,
        Command::Bench(args) => bench::bench(&args).await,
        Command::GithubReport(args) => github::github_report(&args),
        Command::VerifyBundle(args) => bundle::verify_bundle(&args),
        Command::Suites(SuitesCommand::Export { dir }) => match embedded::export(&dir) {
            Ok(n) => {
                println!(
                    "wrote {n} files under {}; run with --suites {} --fixtures {}",
                    dir.display(),
                    dir.join("suites").display(),
                    dir.join("fixtures").display()
                );
                ExitCode::Passed as i32
            }
            Err(e) => config_error(format!("failed to {e}")),
        },
    }
}

fn config_error(msg: impl std::fmt::Display) -> i32 {
    // A configuration error may quote what a target answered.
    let msg = msg.to_string();
    eprintln!("error: {}", crate::report::console::terminal_safe(&msg));
    ExitCode::ConfigError as i32
}

fn load(args: &ProjectArgs) -> Result<Project, i32> {
    args.load()
}
