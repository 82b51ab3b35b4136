//! The command line: `run`, `list`, `validate`. Thin: it parses flags, builds the target,
//! calls the library, prints through the redactor and chooses the exit code.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::client::ClientOptions;
use crate::outcome::ExitCode;
use crate::redact::{scan_for_secrets, Redactor};
use crate::report::{console, write_reports};
use crate::runner::{run_project, RunOptions};
use crate::signing::Schemes;
use crate::suite::duration::parse_duration;
use crate::suite::load::{load_project, Project};
use crate::target::{find_thothctl, known_faults, LiveOptions, MockOptions, Target};

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

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Suite directories or files (default: the `--suites` directory).
    pub paths: Vec<PathBuf>,
    #[arg(long, default_value = "suites")]
    pub suites: PathBuf,
    #[arg(long, default_value = "fixtures")]
    pub fixtures: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Where junit.xml, coverage.md, coverage.json and results.json are written.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// `mock` starts the bundled mock in-process; `live` uses the THOTH_* env vars or flags.
    #[arg(long, value_enum, default_value = "mock")]
    pub target: TargetArg,
    /// Start the mock with this defect mode (repeatable).
    #[arg(long = "mock-fault", value_name = "NAME")]
    pub mock_faults: Vec<String>,
    /// Run only cases whose `phase::case` contains this (or matches this glob).
    #[arg(value_name = "FILTER")]
    pub filter_args: Vec<String>,
    /// Same as the positional FILTER (repeatable).
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Stop after the first fail or error; the rest is reported as disabled.
    #[arg(long)]
    pub fail_fast: bool,
    /// Independent phases (no `after` between them) run at once, at most this many;
    /// 0 = the number of cores.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub jobs: usize,
    /// The thothctl binary (default: found on PATH).
    #[arg(long, value_name = "PATH")]
    pub thothctl: Option<PathBuf>,
    /// Per HTTP request, connect to last body byte (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub request_timeout: String,
    /// Per thothctl invocation; the process is killed after it.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub thothctl_timeout: String,
    /// Extra root certificate (PEM) for a tenant behind a private CA.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// YAML with the PAM and webhook signature schemes (see src/signing.rs).
    #[arg(long, value_name = "FILE")]
    pub target_config: Option<PathBuf>,
    /// Live: tenant id (else THOTH_TENANT_ID).
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Live: apex domain, for https://grid.<tenant>.<apex> (else THOTH_APEX_DOMAIN).
    #[arg(long)]
    pub apex_domain: Option<String>,
    /// Live: GovAPI base URL, https unless loopback (else THOTH_GOVAPI_URL).
    #[arg(long)]
    pub govapi_url: Option<String>,
    /// Live: file holding the admin bearer token (else THOTH_ADMIN_BEARER_TOKEN_FILE).
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Live: org API key (else THOTH_API_KEY or THOTH_ORG_API_KEY; prefer the env var).
    #[arg(long)]
    pub org_api_key: Option<String>,
    /// Live: a second tenant for isolation cases (else THOTH_OTHER_TENANT_ID).
    #[arg(long)]
    pub other_tenant_id: Option<String>,
    /// Base URL of a SIEM sink whose deliveries can be read (`GET <url>/<name>`).
    #[arg(long, value_name = "URL")]
    pub sink_url: Option<String>,
    /// Name of the sink behind THOTH_WEBHOOK_URL (default `siem`).
    #[arg(long, value_name = "NAME")]
    pub sink_name: Option<String>,
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
        Command::Run(args) => run(&args).await,
        Command::List(args) => list(&args),
        Command::Validate(args) => validate(&args),
        Command::Load(args) => crate::load::cli::load(&args).await,
        Command::Bench(args) => crate::bench::cli::bench(&args).await,
    }
}

fn config_error(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    ExitCode::ConfigError as i32
}

fn load(args: &ProjectArgs) -> Result<Project, i32> {
    load_project(&args.suites, &args.fixtures).map_err(|diags| {
        eprintln!("{diags}");
        eprintln!("error: failed to load suites: {} problem(s)", diags.0.len());
        ExitCode::ConfigError as i32
    })
}

fn list(args: &ProjectArgs) -> i32 {
    let project = match load(args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    println!("{}", list_table(&project));
    0
}

/// The `list` table.
pub fn list_table(project: &Project) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record([
        "phase",
        "case",
        "capability",
        "surface",
        "effect",
        "requirements",
    ]);
    for s in &project.suites {
        for c in &s.suite.cases {
            b.push_record([
                s.suite.phase.clone(),
                c.id.clone(),
                c.capability.clone(),
                crate::report::junit::surface_name(c.surface).to_string(),
                crate::report::junit::effect_name(c.effect).to_string(),
                c.requirements.join(", "),
            ]);
        }
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::psql());
    table.to_string()
}

fn validate(args: &ValidateArgs) -> i32 {
    let paths = if args.paths.is_empty() {
        vec![args.suites.clone()]
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
        match load_project(&dir, &args.fixtures) {
            Ok(p) => {
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

async fn build_target(args: &RunArgs, redactor: &Redactor) -> Result<Target, i32> {
    let schemes = match &args.target_config {
        Some(path) => Schemes::load(path).map_err(config_error)?,
        None => Schemes::default(),
    };
    let target = match args.target {
        TargetArg::Mock => {
            let opts = MockOptions {
                faults: args.mock_faults.clone(),
            };
            Target::start_mock(&opts, redactor).await.map_err(|e| {
                if matches!(e, crate::target::TargetError::UnknownFault { .. }) {
                    eprintln!("known faults: {}", known_faults().join(", "));
                }
                config_error(e)
            })?
        }
        TargetArg::Live => {
            if !args.mock_faults.is_empty() {
                return Err(config_error("--mock-fault only applies to --target mock"));
            }
            let opts = LiveOptions {
                tenant_id: args.tenant_id.clone(),
                apex_domain: args.apex_domain.clone(),
                govapi_url: args.govapi_url.clone(),
                auth_token_file: args.auth_token_file.clone(),
                org_api_key: args.org_api_key.clone(),
                other_tenant_id: args.other_tenant_id.clone(),
                sink_url: args.sink_url.clone(),
                sink_name: args.sink_name.clone(),
                ..LiveOptions::default()
            };
            Target::live(&opts, &|k| std::env::var(k).ok(), redactor).map_err(config_error)?
        }
    };
    if let Some(p) = &args.thothctl {
        if !p.is_file() {
            target.shutdown().await;
            return Err(config_error(format!(
                "--thothctl {}: no such file",
                p.display()
            )));
        }
    }
    Ok(target
        .with_schemes(schemes)
        .with_thothctl(find_thothctl(args.thothctl.as_deref())))
}

async fn run(args: &RunArgs) -> i32 {
    let parse = |flag: &str, v: &str| {
        parse_duration(v).map_err(|e| config_error(format!("{flag} {v}: {e}")))
    };
    let (request_timeout, thothctl_timeout) = match (
        parse("--request-timeout", &args.request_timeout),
        parse("--thothctl-timeout", &args.thothctl_timeout),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let project = match load(&args.project) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let client = ClientOptions {
        request_timeout,
        ca_cert: args.ca_cert.clone(),
        ..ClientOptions::default()
    };
    if let Err(e) = crate::runner::check_client(&client) {
        return config_error(e);
    }
    let redactor = Redactor::new();
    let target = match build_target(args, &redactor).await {
        Ok(t) => t,
        Err(code) => return code,
    };

    let color = std::io::stdout().is_terminal();
    let console_text = Arc::new(Mutex::new(String::new()));
    let cancel = tokio_util::sync::CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        // Registered before the run starts, so an early Ctrl-C is never lost.
        let mut interrupts = match Interrupts::new() {
            Ok(i) => i,
            Err(e) => return config_error(format!("failed to listen for Ctrl-C: {e}")),
        };
        tokio::spawn(async move {
            if interrupts.recv().await {
                eprintln!("interrupted: stopping, the reports will still be written (Ctrl-C again to abort now)");
                cancel.cancel();
            }
            // Cleanup still runs after the first Ctrl-C; a second one means "now".
            if interrupts.recv().await {
                eprintln!("aborted: no reports written");
                std::process::exit(130);
            }
        })
    };
    let on_case = {
        let redactor = redactor.clone();
        let console_text = console_text.clone();
        Arc::new(move |case: &crate::outcome::CaseResult| {
            let line = redactor.redact(&console::case_line(case, color));
            println!("{line}");
            let mut buf = console_text.lock().unwrap_or_else(|e| e.into_inner());
            buf.push_str(&line);
            buf.push('\n');
        })
    };
    let opts = RunOptions {
        filters: args
            .filter_args
            .iter()
            .chain(&args.filters)
            .cloned()
            .collect(),
        fail_fast: args.fail_fast,
        client,
        thothctl_timeout,
        cancel,
        on_case: Some(on_case),
        run_id: None,
        phases: None,
        jobs: args.jobs,
    };
    let result = run_project(&project, &target, &opts, &redactor).await;
    ctrl_c.abort();
    target.shutdown().await;

    let mut console_out = console_text
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let summary = redactor.redact(&console::summary_table(&result, color));
    println!("{summary}");
    console_out.push_str(&summary);
    console_out.push('\n');
    // The summary table already ends with the verdict line.
    let verdict = crate::verdict::verdict(&result);

    let paths = match write_reports(&result, &project.catalogue, &args.reports, &redactor) {
        Ok(p) => p,
        Err(e) => return config_error(redactor.redact(&format!("failed to write reports: {e}"))),
    };
    let reports_line = redactor.redact(&format!("reports: {}", args.reports.display()));
    println!("{reports_line}");
    console_out.push_str(&reports_line);
    let hits = scan_for_secrets(&paths.all(), &[console_out.as_str()], &redactor);
    if !hits.is_empty() {
        for h in &hits {
            eprintln!("secret leak: {h}");
        }
        return ExitCode::SecretLeaked as i32;
    }
    verdict.exit_code
}

/// Ctrl-C as a stream. On Unix the handler is installed when this is created (not when
/// first awaited), so a signal that arrives while the run starts up is not lost.
struct Interrupts {
    #[cfg(unix)]
    inner: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            let inner = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
            Ok(Interrupts { inner })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupts {})
        }
    }

    async fn recv(&mut self) -> bool {
        #[cfg(unix)]
        {
            self.inner.recv().await.is_some()
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}
