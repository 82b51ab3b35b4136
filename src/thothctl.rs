//! Which thothctl runs: a real one (`--thothctl PATH`, else `thothctl` on PATH) always
//! wins; else the stand-in `thothctl-sim` built beside the harness, by default on the
//! mock target only; else none, and the thothctl cases say "not run: thothctl not found".

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The stand-in's binary name (the `thothctl-sim` crate).
pub const STAND_IN_NAME: &str = "thothctl-sim";
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// When the stand-in may run (`--thothctl-stand-in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StandInUse {
    /// On the mock target only.
    #[default]
    Auto,
    /// Also on a live target (it sends real requests to the tenant).
    On,
    /// Never: without a real thothctl the thothctl cases are not run.
    Off,
}

/// The thothctl a run uses, as every report names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ThothctlInfo {
    pub path: String,
    /// First line of `--version` (or why it could not be read).
    pub version: String,
    /// The project's stand-in, not the vendor's binary.
    pub stand_in: bool,
    /// How it was found: `--thothctl`, `PATH` or `stand-in`.
    pub found_by: String,
}

impl ThothctlInfo {
    /// One line for consoles and report headers.
    pub fn describe(&self) -> String {
        let what = if self.stand_in {
            "stand-in thothctl-sim, not the vendor's thothctl"
        } else {
            "real thothctl"
        };
        format!(
            "{} ({what}; found by {}; --version: {})",
            self.path, self.found_by, self.version
        )
    }
}

/// The report line for a run's thothctl, or for none.
pub fn describe(info: Option<&ThothctlInfo>) -> String {
    match info {
        Some(i) => i.describe(),
        None => "not found (thothctl cases not run)".into(),
    }
}

/// The binary plus what the run gives it beyond the target's flags.
#[derive(Debug, Clone)]
pub struct ThothctlBin {
    pub path: PathBuf,
    pub info: ThothctlInfo,
    /// Extra environment for every invocation (the kill matrix's stand-in faults).
    pub env: Vec<(String, String)>,
}

impl ThothctlBin {
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `thothctl-sim` next to the running executable, or one directory up when that is
/// cargo's `deps/` (a test binary).
pub fn stand_in_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let name = format!("{STAND_IN_NAME}{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = vec![dir.join(&name)];
    if dir.file_name().is_some_and(|n| n == "deps") {
        candidates.extend(dir.parent().map(|p| p.join(&name)));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// First line of `bin --version`, bounded in time; the child sees no THOTH_* variable.
pub fn version_of(bin: &Path) -> String {
    let mut cmd = Command::new(bin);
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("THOTH_") {
            cmd.env_remove(k);
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return format!("unknown (failed to run --version: {e})"),
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < VERSION_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return format!("unknown (--version did not finish within {VERSION_TIMEOUT:?})");
            }
        }
    }
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        use std::io::Read as _;
        let _ = s.by_ref().take(4096).read_to_string(&mut out);
    }
    match out.lines().next().map(str::trim).filter(|l| !l.is_empty()) {
        Some(line) => line.chars().take(200).collect(),
        None => "unknown (--version printed nothing)".into(),
    }
}

fn found(path: PathBuf, found_by: &str, stand_in: bool) -> ThothctlBin {
    let version = version_of(&path);
    // A stand-in installed as `thothctl` is still the stand-in: its --version says so.
    let stand_in = stand_in || version.starts_with(STAND_IN_NAME);
    ThothctlBin {
        info: ThothctlInfo {
            path: path.display().to_string(),
            version,
            stand_in,
            found_by: found_by.into(),
        },
        path,
        env: Vec::new(),
    }
}

/// The thothctl for a run; `explicit` must exist (the CLI checks it first).
pub fn resolve(
    explicit: Option<&Path>,
    on_mock: bool,
    use_stand_in: StandInUse,
) -> Option<ThothctlBin> {
    if let Some(p) = explicit {
        return p
            .is_file()
            .then(|| found(p.to_path_buf(), "--thothctl", false));
    }
    if let Some(p) = on_path("thothctl") {
        return Some(found(p, "PATH", false));
    }
    let allowed = match use_stand_in {
        StandInUse::Auto => on_mock,
        StandInUse::On => true,
        StandInUse::Off => false,
    };
    if !allowed {
        return None;
    }
    stand_in_path().map(|p| found(p, "stand-in", true))
}

/// The stand-in itself, whatever is on PATH (the kill matrix and tests).
pub fn stand_in() -> Option<ThothctlBin> {
    stand_in_path().map(|p| found(p, "stand-in", true))
}
