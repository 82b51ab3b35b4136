//! `thoth-conformance bench`: flags, the measurements in order, the printed figures.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::bench::floor::{floor, longest_chain};
use crate::bench::process::{run_timed, scale_suites, ProcRun};
use crate::bench::{harness_once, median, missing_tools, request_cost, run_script_once, Timed};
use crate::outcome::ExitCode;
use crate::target::MOCK_SYNC_JOB_DURATION;

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
    /// Also time the growth: the suites copied N times (phases renamed), each size run
    /// as a whole `run --target mock` process; prints wall, peak memory, results.json.
    #[arg(long, value_name = "N")]
    pub scale: Option<usize>,
    #[command(flatten)]
    pub project: super::ProjectArgs,
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "?".into(), |b| format!("{:.1} MB", b as f64 / 1e6))
}

/// The project flags a child `run` needs to load what this bench loaded.
fn project_flags(project: &super::ProjectArgs) -> Vec<std::ffi::OsString> {
    let mut flags = Vec::new();
    if let Some(s) = &project.suites {
        flags.extend(["--suites".into(), s.clone().into_os_string()]);
    }
    if let Some(f) = &project.fixtures {
        flags.extend(["--fixtures".into(), f.clone().into_os_string()]);
    }
    flags
}

/// `thoth-conformance run --target mock` as a child process: the whole process a user
/// starts (loading, the run, reports, the final scan).
async fn whole_run(
    flags: &[std::ffi::OsString],
    reports: &std::path::Path,
) -> Result<ProcRun, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = tokio::process::Command::new(exe);
    // The stand-in off: the in-process runs above have no thothctl either, so both
    // sides do the same work.
    cmd.args([
        "run",
        "--target",
        "mock",
        "--thothctl-stand-in",
        "off",
        "--reports",
    ])
    .arg(reports)
    .args(flags)
    .env("CI", "true");
    run_timed(&mut cmd).await.map_err(|e| e.to_string())
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

    let rtt = match request_cost(args.requests).await {
        Ok(c) => {
            println!(
                "per request ({} sequential GETs): raw reqwest round trip {}, through the engine {}, harness overhead {}",
                c.requests,
                us(c.raw),
                us(c.engine),
                us(c.overhead())
            );
            c.raw
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::TargetUnreachable as i32;
        }
    };

    let job = MOCK_SYNC_JOB_DURATION;
    let jobs = crate::runner::effective_jobs(0);
    let chain = longest_chain(&project, rtt, job);
    let floor = floor(&chain, rtt, job, jobs);
    println!(
        "floor: longest chain {} = {} steps x {} round trip + {} sync job(s) x {} + {} of TTL expiry; all phases {} steps over {jobs} slot(s); floor {}",
        chain.phases.join(" -> "),
        chain.work.steps,
        us(rtt),
        chain.work.job_waits,
        ms(job),
        ms(chain.work.ttl_waits),
        chain.total.steps,
        ms(floor)
    );
    if let Some(h) = harness_median {
        println!(
            "ratio: harness run {:.2}x the floor ({} vs {})",
            h.wall.as_secs_f64() / floor.as_secs_f64().max(1e-9),
            ms(h.wall),
            ms(floor)
        );
    }

    let flags = project_flags(&args.project);
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: failed to make a temporary directory: {e}");
            return ExitCode::ConfigError as i32;
        }
    };
    let mut whole = Vec::new();
    for i in 0..args.iterations {
        match whole_run(&flags, &tmp.path().join(format!("whole-{i}"))).await {
            Ok(r) => whole.push(r),
            Err(e) => {
                eprintln!("error: failed to start `run --target mock`: {e}");
                return ExitCode::ConfigError as i32;
            }
        }
    }
    whole.sort_by_key(|r| r.wall);
    if let (Some(w), Some(h)) = (whole.get(whole.len().saturating_sub(1) / 2), harness_median) {
        println!(
            "whole process (`run --target mock --thothctl-stand-in off`, reports written): {}; median {} (exit {:?}, peak RSS {}); run only {}; outside the run {}",
            whole.iter().map(|r| ms(r.wall)).collect::<Vec<_>>().join(", "),
            ms(w.wall),
            w.exit,
            mb(w.peak_rss_bytes),
            ms(h.wall),
            ms(w.wall.saturating_sub(h.wall))
        );
    }

    if let Some(n) = args.scale.filter(|n| *n > 1) {
        let dirs = match args.project.dirs() {
            Ok(d) => d,
            Err(code) => return code,
        };
        let cases: usize = project.suites.iter().map(|s| s.suite.cases.len()).sum();
        println!("growth (suites copied, one `run --target mock` process each):");
        println!("| copies | cases | wall | wall / x1 | peak RSS | results.json | exit |");
        println!("|---|---|---|---|---|---|---|");
        let mut base: Option<std::time::Duration> = None;
        let mut failed_rows = Vec::new();
        for k in [1, n] {
            let suites = tmp.path().join(format!("suites-x{k}"));
            if let Err(e) = scale_suites(&dirs.suites, &suites, k) {
                eprintln!("error: failed to write the suite copies: {e}");
                return ExitCode::ConfigError as i32;
            }
            let reports = tmp.path().join(format!("reports-x{k}"));
            let flags: Vec<std::ffi::OsString> = vec![
                "--suites".into(),
                suites.into_os_string(),
                "--fixtures".into(),
                dirs.fixtures.clone().into_os_string(),
            ];
            let r = match whole_run(&flags, &reports).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: failed to start `run --target mock`: {e}");
                    return ExitCode::ConfigError as i32;
                }
            };
            let size = std::fs::metadata(reports.join("results.json"))
                .ok()
                .map(|m| m.len());
            let ratio = base.map_or(1.0, |b| r.wall.as_secs_f64() / b.as_secs_f64().max(1e-9));
            base.get_or_insert(r.wall);
            println!(
                "| x{k} | {} | {} | {ratio:.1}x | {} | {} | {:?} |",
                cases * k,
                ms(r.wall),
                mb(r.peak_rss_bytes),
                mb(size),
                r.exit
            );
            if r.exit != Some(0) {
                // A run that failed did different work (it stopped waiting, skipped
                // dependants): its time is no point on the growth curve.
                failed_rows.push(format!("x{k} (exit {:?})", r.exit));
            }
        }
        if !failed_rows.is_empty() {
            println!(
                "growth: not comparable, a copied run did not pass: {}; see its reports",
                failed_rows.join(", ")
            );
            all_passed = false;
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
