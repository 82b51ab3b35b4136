//! The command line: `run`, `list`, `validate`, `merge`. Thin: it parses flags, builds the target,
//! calls the library, prints through the redactor and chooses the exit code. One file per
//! command (`run`, `list`, `validate`); the others live with their concern (`ci`, `load`,
//! `safety`, `bench`) and are only wired in here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::outcome::ExitCode;
use crate::suite::load::{load_project, Project};

mod list;
mod live_args;
mod run;
mod validate;

pub use list::list_table;
pub use live_args::LiveArgs;
pub use run::{final_exit_code, RunArgs};
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
    Cleanup(Box<crate::safety::cli::CleanupArgs>),
    /// Merge shard results (`run --shard I/N`) into the reports of one whole run.
    Merge(crate::ci::command::MergeArgs),
    /// Register and check in N run-unique endpoints, then verify stats and list counts.
    Load(Box<crate::load::cli::LoadArgs>),
    /// Time the full suite against the in-process mock, the curl runbook script and a raw
    /// request loop, in one run.
    Bench(crate::bench::cli::BenchArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Mock,
    Live,
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// Directory of suite files (one per phase) and `requirements.yaml`.
    #[arg(long, default_value = "suites")]
    pub suites: PathBuf,
    /// Directory of request bodies the suites name in `body_file`.
    #[arg(long, default_value = "fixtures")]
    pub fixtures: PathBuf,
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
    std::process::ExitCode::from(code as u8)
}

pub async fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => run::run(&args).await,
        Command::List(args) => list::list(&args),
        Command::Validate(args) => validate::validate(&args),
        Command::Cleanup(args) => crate::safety::cli::cleanup(&args).await,
        Command::Merge(args) => crate::ci::command::merge(&args),
        Command::Load(args) => crate::load::cli::load(&args).await,
        Command::Bench(args) => crate::bench::cli::bench(&args).await,
    }
}

fn config_error(msg: impl std::fmt::Display) -> i32 {
    // A configuration error may quote what a target answered.
    let msg = msg.to_string();
    eprintln!("error: {}", crate::report::console::terminal_safe(&msg));
    ExitCode::ConfigError as i32
}

fn load(args: &ProjectArgs) -> Result<Project, i32> {
    load_project(&args.suites, &args.fixtures).map_err(|diags| {
        eprintln!("{diags}");
        eprintln!("error: failed to load suites: {} problem(s)", diags.0.len());
        ExitCode::ConfigError as i32
    })
}
