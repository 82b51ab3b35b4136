//! `thoth-conformance bench`: flags, the measurements in order, the printed figures.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::bench::floor::{floor, longest_chain, work_as_run, Chain};
use crate::bench::live::{live_run_once, LiveMock};
use crate::bench::process::{run_timed, scale_suites, ProcRun};
use crate::bench::{harness_once, median, missing_tools, request_cost, run_script_once, Timed};
use crate::outcome::{ExitCode, Status};
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
    /// Also run every suite as whole `run --target live` processes against this
    /// `mock-govapi` binary, started fresh for each with bearer auth and two tenants as
    /// a tenant answers (so the cases that need the mock admin API or thothctl skip), and
    /// print their floor and ratio. Default: the `mock-govapi` beside this executable,
    /// when there is one.
    #[arg(long, value_name = "PATH")]
    pub mock_binary: Option<PathBuf>,
    #[command(flatten)]
    pub project: super::ProjectArgs,
}

/// The mock binary the live runs use: the flag's, or the one built beside this one.
fn mock_binary(flag: Option<&PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = flag {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let beside = exe.with_file_name(format!("mock-govapi{}", std::env::consts::EXE_SUFFIX));
    if beside.is_file() {
        Ok(beside)
    } else {
        Err(format!(
            "no mock-govapi beside {} (build it with `cargo build -p mock-govapi`, or pass --mock-binary)",
            exe.display()
        ))
    }
}

/// "longest chain A -> B = S steps x RTT round trip + ...; floor F": how the floor
/// was worked out, for the in-process and the live runs alike.
fn floor_text(chain: &Chain, rtt: Duration, job: Duration, jobs: usize, floor: Duration) -> String {
    format!(
        "longest chain {} = {} steps x {} round trip + {} sync job(s) x {} + {} of TTL expiry; all phases {} steps over {jobs} slot(s); floor {}",
        chain.phases.join(" -> "),
        chain.work.steps,
        us(rtt),
        chain.work.job_waits,
        ms(job),
        ms(chain.work.ttl_waits),
        chain.total.steps,
        ms(floor)
    )
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
    // What the in-process runs did (every run does the same cases): the floor's work.
    let mut harness_cases = Vec::new();
    for _ in 0..args.iterations {
        match harness_once(&project).await {
            Ok((t, cases)) => {
                all_passed &= t.passed;
                harness.push(t);
                harness_cases = cases;
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
    let chain = longest_chain(&project, rtt, job, &work_as_run(&harness_cases));
    let floor = floor(&chain, rtt, job, jobs);
    println!("floor: {}", floor_text(&chain, rtt, job, jobs, floor));
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

    match mock_binary(args.mock_binary.as_ref()) {
        Ok(binary) => match live_runs(&project, &binary, args, tmp.path()).await {
            Ok(passed) => all_passed &= passed,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::TargetUnreachable as i32;
            }
        },
        Err(why) => println!("live: skipped: {why}"),
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

/// The live side: the round trip to a mock binary, `iterations` whole `run --target
/// live` processes (each against a fresh mock), the floor of the work they did, and the
/// ratios. False when a live run had a failing or erroring case.
async fn live_runs(
    project: &crate::suite::load::Project,
    binary: &std::path::Path,
    args: &BenchArgs,
    tmp: &std::path::Path,
) -> Result<bool, crate::bench::BenchError> {
    let exe = std::env::current_exe()
        .map_err(|e| crate::bench::BenchError::Live(format!("find this executable: {e}")))?;
    let job = MOCK_SYNC_JOB_DURATION;
    let rtt = {
        let mock = LiveMock::start(binary, job).await?;
        let rtt = mock.round_trip(args.requests).await;
        mock.stop().await;
        rtt?
    };
    let mut runs = Vec::new();
    for i in 0..args.iterations {
        let reports = tmp.join(format!("live-{i}"));
        runs.push(live_run_once(&exe, binary, job, &reports).await?);
    }
    let mut whole: Vec<Duration> = runs.iter().map(|r| r.process.wall).collect();
    let mut run_only: Vec<Duration> = runs
        .iter()
        .map(|r| Duration::from_millis(r.result.duration_ms))
        .collect();
    whole.sort();
    run_only.sort();
    let mid = |v: &[Duration]| v[v.len().saturating_sub(1) / 2];
    let (whole_median, run_median) = (mid(&whole), mid(&run_only));
    let last = &runs[runs.len() - 1];
    let cases = &last.result.cases;
    let count = |f: &dyn Fn(Status) -> bool| cases.iter().filter(|c| f(c.status)).count();
    let ran = count(&|s| matches!(s, Status::Pass | Status::Fail | Status::Error));
    let broken = count(&|s| matches!(s, Status::Fail | Status::Error));
    let peak = runs.iter().filter_map(|r| r.process.peak_rss_bytes).max();
    println!(
        "live (`run --target live` against {}, bearer auth, {} sync jobs, a fresh mock each): {}; median {} (exit {:?}, peak RSS {}); run only {}; outside the run {}; ran {ran} of {} cases, {broken} failed or errored",
        binary.display(),
        ms(job),
        whole.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", "),
        ms(whole_median),
        last.process.exit,
        mb(peak),
        ms(run_median),
        ms(whole_median.saturating_sub(run_median)),
        cases.len(),
    );
    let jobs = crate::runner::effective_jobs(0);
    let chain = longest_chain(project, rtt, job, &work_as_run(cases));
    let floor = floor(&chain, rtt, job, jobs);
    println!("live floor: {}", floor_text(&chain, rtt, job, jobs, floor));
    let x = |d: Duration| d.as_secs_f64() / floor.as_secs_f64().max(1e-9);
    println!(
        "ratio: live run only {:.2}x the floor, whole process {:.2}x ({} and {} vs {})",
        x(run_median),
        x(whole_median),
        ms(run_median),
        ms(whole_median),
        ms(floor)
    );
    // The reports go with the temporary directory: name what broke here.
    for c in cases
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
    {
        println!(
            "  live {} {}::{}: {}",
            c.status.as_str(),
            c.phase,
            c.case_id,
            c.message.as_deref().unwrap_or("")
        );
    }
    Ok(broken == 0)
}
