//! The private directory thothctl invocations work in, and what a killed run left there.
//!
//! Token files live in `<tmp>/thoth-conformance-<uid>/<pid>/` (0700), and each running
//! thothctl child is recorded there by its process group. The directory holds a lock
//! for as long as its harness process lives. A SIGKILLed harness cannot delete its
//! token file or end its child, so every harness that starts thothctl first sweeps the
//! directories whose lock is free: it kills the recorded process groups that still run
//! the recorded binary, and deletes the directory with the token files in it.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkdirError {
    #[error("set up the private thothctl directory {path}: {message}")]
    Setup { path: String, message: String },
}

pub struct Workdir {
    pub dir: PathBuf,
    /// Held (locked) for the life of the process: a free lock means a dead owner.
    _lock: File,
}

static WORKDIR: OnceLock<Result<Workdir, WorkdirError>> = OnceLock::new();

fn setup_err(path: &Path, e: impl std::fmt::Display) -> WorkdirError {
    WorkdirError::Setup {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(unix)]
fn uid() -> u32 {
    rustix::process::getuid().as_raw()
}
#[cfg(not(unix))]
fn uid() -> u32 {
    0
}

/// `<tmp>/thoth-conformance-<uid>`, created 0700; refused if another user owns it or
/// others can enter it (someone could plant or read token files there).
pub fn base_dir() -> Result<PathBuf, WorkdirError> {
    let base = std::env::temp_dir().join(format!("thoth-conformance-{}", uid()));
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    match builder.create(&base) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(setup_err(&base, e)),
    }
    let meta = fs::symlink_metadata(&base).map_err(|e| setup_err(&base, e))?;
    if !meta.is_dir() {
        return Err(setup_err(&base, "it is not a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        if meta.uid() != uid() {
            return Err(setup_err(&base, "another user owns it"));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(setup_err(&base, "others can enter it (expected mode 700)"));
        }
    }
    Ok(base)
}

impl Workdir {
    /// This process's directory, created (after a sweep of dead ones) on first use.
    pub fn get() -> Result<&'static Workdir, WorkdirError> {
        WORKDIR
            .get_or_init(|| {
                let base = base_dir()?;
                sweep(&base);
                Workdir::create(&base)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn create(base: &Path) -> Result<Workdir, WorkdirError> {
        let dir = base.join(std::process::id().to_string());
        // A directory of a dead process with our pid was swept above unless locked by
        // a live one, which cannot have our pid.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| setup_err(&dir, e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(|e| setup_err(&dir, e))?;
        lock.try_lock().map_err(|e| setup_err(&dir, e))?;
        Ok(Workdir { dir, _lock: lock })
    }

    /// Records a running child's process group and binary, for a sweep after SIGKILL.
    pub fn record_child(&self, pgid: u32, bin: &Path) -> PathBuf {
        let path = self.dir.join(format!("child-{pgid}"));
        let exe = fs::canonicalize(bin).unwrap_or_else(|_| bin.to_path_buf());
        let _ = fs::write(&path, format!("{}\n{}\n", exe.display(), bin.display()));
        path
    }
}

/// Removes directories whose owner died, ending the thothctl children they recorded.
/// Returns the number of directories removed.
pub fn sweep(base: &Path) -> usize {
    let Ok(entries) = fs::read_dir(base) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        match OpenOptions::new().write(true).open(dir.join("lock")) {
            Ok(f) if f.try_lock().is_err() => continue, // a live harness
            Ok(_) => {}
            // No lock yet: a harness may be creating it this instant; only an old one
            // is abandoned.
            Err(_) if !older_than_a_minute(&dir) => continue,
            Err(_) => {}
        }
        end_recorded_children(&dir);
        if fs::remove_dir_all(&dir).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn older_than_a_minute(dir: &Path) -> bool {
    fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 60)
}

fn end_recorded_children(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pgid) = name
            .strip_prefix("child-")
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let recorded = fs::read_to_string(entry.path()).unwrap_or_default();
        if runs(pgid, &recorded) {
            kill_group(pgid);
        }
    }
}

/// Whether process `pid` still runs one of the recorded paths (its executable, or the
/// script an interpreter runs): a reused pid must never be killed.
#[cfg(target_os = "linux")]
fn runs(pid: i32, recorded: &str) -> bool {
    let paths: Vec<&str> = recorded.lines().filter(|l| !l.is_empty()).collect();
    if paths.is_empty() {
        return false;
    }
    let exe = fs::read_link(format!("/proc/{pid}/exe")).map(|p| p.display().to_string());
    if exe.is_ok_and(|e| paths.contains(&e.as_str())) {
        return true;
    }
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .take(2)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    args.iter().any(|a| paths.contains(&a.as_str()))
}
#[cfg(not(target_os = "linux"))]
fn runs(_pid: i32, _recorded: &str) -> bool {
    // Without /proc there is no safe way to tell a reused pid apart.
    false
}

/// SIGKILL to a whole process group (thothctl and anything it started).
#[cfg(unix)]
pub fn kill_group(pgid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}
#[cfg(not(unix))]
pub fn kill_group(_pgid: i32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keeps_live_directories_and_removes_dead_ones() {
        let base = tempfile::tempdir().unwrap();
        let live = base.path().join("live");
        let dead = base.path().join("dead");
        for d in [&live, &dead] {
            fs::create_dir(d).unwrap();
            fs::write(d.join("thoth-token-x"), "tok").unwrap();
        }
        let held = File::create(live.join("lock")).unwrap();
        held.try_lock().unwrap();
        File::create(dead.join("lock")).unwrap();
        // A record of a pid that does not run the recorded binary is left alone.
        fs::write(
            dead.join(format!("child-{}", std::process::id())),
            "/nonexistent",
        )
        .unwrap();
        assert_eq!(sweep(base.path()), 1);
        assert!(live.join("thoth-token-x").exists());
        assert!(!dead.exists());
    }
}
