//! `thoth-conformance validate`: check suite files (and their expectations ledger)
//! without running anything.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::expectations::{self, Ledger};
use crate::outcome::ExitCode;
use crate::suite::load::load_project;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Suite directories or files (default: the `--suites` directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub project: super::ProjectArgs,
    /// Also check this expectations ledger (default: `<suites>/expectations.yaml` if
    /// present, for each suites directory checked).
    #[arg(long, value_name = "FILE")]
    pub expectations: Option<PathBuf>,
}

pub(super) fn validate(args: &ValidateArgs) -> i32 {
    let dirs = match args.project.dirs() {
        Ok(d) => d,
        Err(code) => return code,
    };
    let paths = if args.paths.is_empty() {
        vec![dirs.suites.clone()]
    } else {
        args.paths.clone()
    };
    let mut failed = false;
    for path in paths {
        // A single file is validated in the context of its directory (the catalogue and
        // the other phases it may name in `after`), reporting only its own problems.
        let (dir, only) = if path.is_file() {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (dir, Some(path.clone()))
        } else {
            (path.clone(), None)
        };
        match load_project(&dir, &dirs.fixtures) {
            Ok(p) => {
                if let Some(ledger) = expectations::ledger_path(args.expectations.as_deref(), &dir)
                {
                    match Ledger::load(&ledger, &p) {
                        Ok(l) => println!("ok: {} ({} entries)", ledger.display(), l.entries.len()),
                        Err(diags) => {
                            eprintln!("{diags}");
                            failed = true;
                        }
                    }
                }
                let cases: usize = p.suites.iter().map(|s| s.suite.cases.len()).sum();
                println!(
                    "ok: {} ({} suites, {cases} cases)",
                    path.display(),
                    p.suites.len()
                );
            }
            Err(diags) => {
                let shown: Vec<_> = diags
                    .0
                    .iter()
                    .filter(|d| only.as_ref().is_none_or(|f| same_file(&d.file, f)))
                    .collect();
                if shown.is_empty() && only.is_some() {
                    println!("ok: {}", path.display());
                    continue;
                }
                for d in &shown {
                    eprintln!("{d}");
                }
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::ConfigError as i32
    } else {
        0
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}
