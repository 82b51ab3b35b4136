//! External programs some tests drive (chromium, xmllint, actionlint), found on PATH.
//!
//! Policy: on a developer machine without the program the test says it is skipped and
//! passes; under CI (`CI` set, as every CI service and `.ci/run` do) a missing program
//! fails the test, so CI can never go green by silently skipping the check.

use std::path::{Path, PathBuf};

/// The first of `names` found as an executable file on PATH.
pub fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// True when running under CI.
pub fn in_ci() -> bool {
    matches!(std::env::var("CI"), Ok(v) if !v.is_empty() && v != "false" && v != "0")
}

/// The program, or `None` after printing why the calling test is skipped; panics
/// under CI. `install` tells a person how to get it.
pub fn required_tool(test: &str, names: &[&str], install: &str) -> Option<PathBuf> {
    if let Some(found) = find_on_path(names) {
        return Some(found);
    }
    let wanted = names.join(" or ");
    assert!(
        !in_ci(),
        "failed to find {wanted} on PATH, which `{test}` needs; CI is set, so this is a \
         failure rather than a skip ({install})"
    );
    skipped(test, &format!("{wanted} not found on PATH ({install})"));
    None
}

/// Says a test is skipped where a person sees it: straight to stderr, because the test
/// harness captures `eprintln!` of passing tests.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// A file some install step of scripts/test.sh puts under the workspace (a schema, a
/// venv's interpreter, an npm package), or `None` after printing why the calling test
/// is skipped; panics under CI, where scripts/test.sh has installed it.
#[allow(dead_code)] // not every test binary that includes this module calls it
pub fn required_file(test: &str, relative: &str, install: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !in_ci(),
        "failed to find {relative}, which `{test}` needs; CI is set, so this is a failure \
         rather than a skip ({install})"
    );
    skipped(test, &format!("{relative} not found ({install})"));
    None
}

/// `xmllint --schema xsd` on `xml`: Ok on a valid document, Err(xmllint's complaints).
#[allow(dead_code)]
pub fn xmllint_validate(xmllint: &Path, xsd: &Path, xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new(xmllint)
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd)
        .arg(&file)
        .output()
        .expect("failed to run xmllint");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Waits until a freshly copied executable can be run. A child that another test
/// thread spawns while the copy is open for writing holds that descriptor until its own
/// exec, and until then exec of the copy fails with ETXTBSY ("Text file busy"). Once
/// one exec worked, no writer is left.
pub fn wait_until_executable(bin: &Path) {
    let started = std::time::Instant::now();
    loop {
        match std::process::Command::new(bin).arg("--version").output() {
            Err(e)
                if e.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && started.elapsed() < std::time::Duration::from_secs(10) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("failed to run the copied binary {}: {e}", bin.display()),
            Ok(_) => return,
        }
    }
}
