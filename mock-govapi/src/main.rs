//! `mock-govapi`: the mock GovAPI as a standalone server.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mock_govapi::{Fault, MockConfig, Realism, TenantConfig};

/// Every request allocates and frees its buffers, headers and JSON: under glibc's
/// allocator that was a quarter of the mock's CPU in a fleet load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A stateful mock of the Thoth GovAPI control plane, with named fault modes.
///
/// Without --tenant and credentials it serves the dev tenant `acme` with the built-in
/// dev credentials (printed on stderr). The first stdout line is the base URL.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Also serve on this address, as the enforcer (data plane) base URL the SDKs call
    /// `THOTH_API_URL`; printed as `enforcer listening on URL`.
    #[arg(long, value_name = "ADDR")]
    enforcer_listen: Option<SocketAddr>,
    /// A tenant to serve (repeatable).
    #[arg(long = "tenant", value_name = "ID")]
    tenants: Vec<String>,
    /// Admin bearer token for a tenant (repeatable).
    #[arg(long = "admin-token", value_name = "TENANT=TOKEN")]
    admin_tokens: Vec<String>,
    /// Org API key for a tenant (repeatable).
    #[arg(long = "api-key", value_name = "TENANT=KEY")]
    api_keys: Vec<String>,
    /// Accept requests without credentials (local demos).
    #[arg(long, env = "GOVAPI_SKIP_AUTH")]
    skip_auth: bool,
    /// Switch on a fault mode (repeatable; see --list-faults).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<Fault>,
    /// Print the fault modes and exit.
    #[arg(long)]
    list_faults: bool,
    /// Seed of the realism RNG.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Delay each request by a random 0..=N ms.
    #[arg(long, default_value_t = 0, value_name = "N")]
    latency_jitter_ms: u64,
    /// Check-ins show in lists and stats only N ms after they arrive.
    #[arg(long, default_value_t = 0, value_name = "N")]
    checkin_lag_ms: u64,
    /// Every Nth tenant API request gets 429 with Retry-After: 1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_every: Option<u32>,
    /// Lists return at most N rows per page.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    page_size: Option<u64>,
    /// Sign webhooks twice (`v1=<old>,v1=<current>`), as during a secret rotation.
    #[arg(long)]
    webhook_rotation: bool,
    /// MDM sync jobs take this many ms from queued to succeeded.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    sync_job_ms: u64,
    /// Endpoints that checked in within this many seconds count as online.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    online_window_secs: u64,
    /// How set secrets read back on GET, for every record kind: `mask` ("********"),
    /// `omit` (the key left out) or `empty` (""). Writes that send back what GET showed
    /// keep the stored secret in every mode.
    #[arg(long, default_value = "mask", value_name = "MODE")]
    secret_readback: mock_govapi::secrets::SecretReadback,
    /// Largest accepted request body.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    max_body_bytes: usize,
}

/// Why the arguments do not make a configuration.
#[derive(Debug, thiserror::Error)]
enum ConfigError {
    #[error("parse `{0}`: expected TENANT=VALUE")]
    NotAPair(String),
    #[error("configure tenant `{0}`: it has no --admin-token or --api-key (or pass --skip-auth)")]
    NoCredentials(String),
}

fn split_pair(pair: &str) -> Result<(String, String), ConfigError> {
    match pair.split_once('=') {
        Some((tenant, value)) if !tenant.is_empty() && !value.is_empty() => {
            Ok((tenant.to_string(), value.to_string()))
        }
        _ => Err(ConfigError::NotAPair(
            pair.split('=').next().unwrap_or("").to_string(),
        )),
    }
}

/// The configuration, and whether it is the built-in dev default.
fn config_from(args: &Args) -> Result<(MockConfig, bool), ConfigError> {
    let tokens = args
        .admin_tokens
        .iter()
        .map(|p| split_pair(p))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = args
        .api_keys
        .iter()
        .map(|p| split_pair(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids: Vec<String> = Vec::new();
    for id in args
        .tenants
        .iter()
        .chain(tokens.iter().map(|(t, _)| t))
        .chain(keys.iter().map(|(t, _)| t))
    {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let dev = ids.is_empty();
    let mut config = if dev {
        MockConfig::dev_default()
    } else {
        let tenants = ids
            .into_iter()
            .map(|id| TenantConfig {
                admin_tokens: tokens
                    .iter()
                    .filter(|(t, _)| *t == id)
                    .map(|(_, v)| v.clone())
                    .collect(),
                org_api_keys: keys
                    .iter()
                    .filter(|(t, _)| *t == id)
                    .map(|(_, v)| v.clone())
                    .collect(),
                id,
            })
            .collect::<Vec<_>>();
        if !args.skip_auth {
            if let Some(bare) = tenants
                .iter()
                .find(|t| t.admin_tokens.is_empty() && t.org_api_keys.is_empty())
            {
                return Err(ConfigError::NoCredentials(bare.id.clone()));
            }
        }
        MockConfig::with_tenants(tenants)
    };
    config.skip_auth = args.skip_auth;
    config.faults = args.faults.iter().copied().collect::<BTreeSet<_>>();
    config.realism = Realism {
        seed: args.seed,
        latency_jitter_ms: args.latency_jitter_ms,
        checkin_lag_ms: args.checkin_lag_ms,
        rate_limit_every: args.rate_limit_every,
        page_size: args
            .page_size
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        webhook_rotation: args.webhook_rotation,
    };
    config.sync_job_duration = Duration::from_millis(args.sync_job_ms);
    config.online_window = Duration::from_secs(args.online_window_secs);
    config.max_body_bytes = args.max_body_bytes;
    config.secret_readback = args.secret_readback;
    Ok((config, dev))
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM. Registered when called.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_faults {
        for fault in Fault::ALL {
            println!("{:<34}  {}", fault.name(), fault.description());
        }
        return ExitCode::SUCCESS;
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let (config, dev) = match config_from(&args) {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("error: failed to {err}");
            return ExitCode::from(2);
        }
    };
    // Install the handlers before announcing the URL: a signal that arrives between the
    // announcement and a lazily registered handler would kill the process ungracefully.
    let stop = match shutdown_signal() {
        Ok(stop) => stop,
        Err(err) => {
            eprintln!("error: failed to install the signal handlers: {err}");
            return ExitCode::FAILURE;
        }
    };
    let tenants: Vec<String> = config.tenants.iter().map(|t| t.id.clone()).collect();
    let faults = config.faults.clone();
    let skip_auth = config.skip_auth;
    let running =
        match mock_govapi::spawn_listeners(config, args.listen, args.enforcer_listen).await {
            Ok(running) => running,
            Err(err) => {
                eprintln!("error: failed to listen on {}: {err}", args.listen);
                return ExitCode::FAILURE;
            }
        };
    println!("{}", running.base_url);
    if args.enforcer_listen.is_some() {
        println!("enforcer listening on {}", running.enforcer_url);
    }
    let _ = std::io::stdout().flush();
    eprintln!(
        "mock-govapi serving tenants {} on {}",
        tenants.join(", "),
        running.base_url
    );
    if dev && !skip_auth {
        eprintln!(
            "dev credentials (built-in defaults) for tenant {}: Authorization: Bearer {} | X-Api-Key: {}",
            mock_govapi::DEV_TENANT,
            mock_govapi::DEV_ADMIN_TOKEN,
            mock_govapi::DEV_ORG_API_KEY
        );
    }
    if skip_auth {
        eprintln!("authentication is OFF (--skip-auth)");
    }
    if !running.addr.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}: /__admin and /__sink have no authentication; keep this on a trusted network",
            running.addr
        );
    }
    for fault in &faults {
        eprintln!("fault active: {fault}  ({})", fault.description());
    }
    stop.await;
    eprintln!("shutting down");
    running.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("mock-govapi").chain(argv.iter().copied())).unwrap()
    }

    #[test]
    fn no_tenants_means_dev_default() {
        let (config, dev) = config_from(&parse(&[])).unwrap();
        assert!(dev);
        assert_eq!(config.tenants[0].id, "acme");
    }

    #[test]
    fn tenants_collect_their_credentials() {
        let args = parse(&[
            "--tenant",
            "a",
            "--admin-token",
            "a=t1",
            "--api-key",
            "b=k1",
            "--fault",
            "mdm-sync-stuck",
            "--rate-limit-every",
            "3",
        ]);
        let (config, dev) = config_from(&args).unwrap();
        assert!(!dev);
        let ids: Vec<_> = config.tenants.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(config.tenants[0].admin_tokens, ["t1"]);
        assert_eq!(config.tenants[1].org_api_keys, ["k1"]);
        assert!(config.faults.contains(&Fault::MdmSyncStuck));
        assert_eq!(config.realism.rate_limit_every, Some(3));
    }

    #[test]
    fn tenant_without_credentials_needs_skip_auth() {
        assert!(matches!(
            config_from(&parse(&["--tenant", "x"])),
            Err(ConfigError::NoCredentials(_))
        ));
        assert!(config_from(&parse(&["--tenant", "x", "--skip-auth"])).is_ok());
        assert!(matches!(
            config_from(&parse(&["--admin-token", "novalue"])),
            Err(ConfigError::NotAPair(_))
        ));
        assert!(Args::try_parse_from(["m", "--fault", "nope"]).is_err());
    }
}
