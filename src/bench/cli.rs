//! `thoth-conformance bench`: flags, the measurements in order, the printed figures.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{harness_once, median, missing_tools, request_cost, run_script_once, Timed};
use crate::outcome::ExitCode;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Full runs of each side; the medians are compared.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub iterations: usize,
    /// The runbook as curl + jq calls (skipped when curl, jq or openssl is missing).
    #[arg(long, default_value = "scripts/runbook-curl.sh", value_name = "PATH")]
    pub script: PathBuf,
    /// GETs in the per-request cost loops (raw reqwest, and through the engine).
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub requests: usize,
    #[command(flatten)]
    pub project: crate::cli::ProjectArgs,
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

fn us(d: Duration) -> String {
    format!("{:.0} us", d.as_secs_f64() * 1e6)
}

/// "<wall>, <wall>, ...; median <wall>, <n> requests, <r> requests/s".
fn line(runs: &[Timed]) -> (String, Option<Timed>) {
    let walls: Vec<String> = runs.iter().map(|t| ms(t.wall)).collect();
    let med = median(runs);
    let text = match med {
        Some(m) => format!(
            "{}; median {}, {} requests, {:.0} requests/s",
            walls.join(", "),
            ms(m.wall),
            m.requests,
            m.requests_per_second()
        ),
        None => "no run".into(),
    };
    (text, med)
}

pub async fn bench(args: &BenchArgs) -> i32 {
    if args.iterations == 0 || args.requests == 0 {
        eprintln!("error: --iterations and --requests must be at least 1");
        return ExitCode::ConfigError as i32;
    }
    let project = match args.project.load() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "bench: {} iteration(s), {cores} core(s), {build} build",
        args.iterations
    );
    let mut all_passed = true;

    let mut harness = Vec::new();
    for _ in 0..args.iterations {
        match harness_once(&project).await {
            Ok(t) => {
                all_passed &= t.passed;
                harness.push(t);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::TargetUnreachable as i32;
            }
        }
    }
    let (text, harness_median) = line(&harness);
    println!("harness (every suite, in-process mock): {text}");
    if harness.iter().any(|t| !t.passed) {
        println!(
            "  note: a harness run had failing cases (run `thoth-conformance run` to see them)"
        );
    }

    let missing = missing_tools();
    let mut script_median = None;
    if !missing.is_empty() {
        println!(
            "curl script: skipped: {} not found (install them to compare with the runbook's way)",
            missing.join(", ")
        );
    } else if !args.script.is_file() {
        println!("curl script: skipped: {} not found", args.script.display());
    } else {
        let mut runs = Vec::new();
        for _ in 0..args.iterations {
            match run_script_once(&args.script, &[]).await {
                Ok(r) => {
                    if !r.timed.passed {
                        all_passed = false;
                        println!(
                            "  curl script failed (exit {:?}):\n{}",
                            r.exit_code, r.stderr_tail
                        );
                    }
                    runs.push(r.timed);
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::TargetUnreachable as i32;
                }
            }
        }
        let (text, med) = line(&runs);
        println!("curl script ({}): {text}", args.script.display());
        script_median = med;
    }

    match request_cost(args.requests).await {
        Ok(c) => println!(
            "per request ({} sequential GETs): raw reqwest round trip {}, through the engine {}, harness overhead {}",
            c.requests,
            us(c.raw),
            us(c.engine),
            us(c.overhead())
        ),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::TargetUnreachable as i32;
        }
    }

    if let (Some(h), Some(s)) = (harness_median, script_median) {
        println!(
            "ratio: harness {:.1}x faster than the curl script (median wall {} vs {}), {:.1}x the requests/s",
            s.wall.as_secs_f64() / h.wall.as_secs_f64().max(1e-9),
            ms(h.wall),
            ms(s.wall),
            h.requests_per_second() / s.requests_per_second().max(1e-9)
        );
    }
    if all_passed {
        ExitCode::Passed as i32
    } else {
        ExitCode::RequirementFailed as i32
    }
}
