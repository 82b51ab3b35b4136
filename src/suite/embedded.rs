//! The suites, fixtures and requirements catalogue built into the binary (see `build.rs`),
//! so the harness runs from any directory. `--suites`/`--fixtures` directories override
//! them; `thoth-conformance suites export DIR` writes them out to customise.
//!
//! The loader, the validator and the runner all read files (fixtures are read per
//! request), so the embedded tree is written once per process into a private temporary
//! directory and loaded from there like any other: one code path for embedded and
//! on-disk suites. The directory is removed when the CLI exits ([`cleanup`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

include!(concat!(env!("OUT_DIR"), "/embedded_files.rs"));

/// Where the embedded tree was written for this process, once.
static EXTRACTED: Mutex<Option<tempfile::TempDir>> = Mutex::new(None);

/// The directories a command loads: given ones, or the embedded ones written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub suites: PathBuf,
    pub fixtures: PathBuf,
    /// The suites came from the binary; their files are shown as `suites/<name>`.
    pub embedded_suites: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("write the built-in suites to {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("export into {path}: it already holds {existing}; choose an empty or new directory")]
    NotEmpty { path: PathBuf, existing: PathBuf },
}

/// `suites` and `fixtures` when given, else the built-in copies.
pub fn resolve(suites: Option<&Path>, fixtures: Option<&Path>) -> Result<Dirs, EmbeddedError> {
    let root = match (suites, fixtures) {
        (Some(_), Some(_)) => None,
        _ => Some(extracted_root()?),
    };
    let pick = |given: Option<&Path>, name: &str| match given {
        Some(p) => p.to_path_buf(),
        None => root
            .as_ref()
            .expect("extracted when one is missing")
            .join(name),
    };
    Ok(Dirs {
        suites: pick(suites, "suites"),
        fixtures: pick(fixtures, "fixtures"),
        embedded_suites: suites.is_none(),
    })
}

/// Writes every embedded file under `dir` (`dir/suites/…`, `dir/fixtures/…`); refuses
/// to overwrite a file already there, so a customised copy is never clobbered.
pub fn export(dir: &Path) -> Result<usize, EmbeddedError> {
    for (rel, _) in FILES {
        let path = dir.join(rel);
        if path.exists() {
            return Err(EmbeddedError::NotEmpty {
                path: dir.to_path_buf(),
                existing: path,
            });
        }
    }
    write_all(dir)?;
    Ok(FILES.len())
}

fn write_all(dir: &Path) -> Result<(), EmbeddedError> {
    for (rel, bytes) in FILES {
        let path = dir.join(rel);
        let write = |p: &Path| -> io::Result<()> {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, bytes)
        };
        write(&path).map_err(|source| EmbeddedError::Write { path, source })?;
    }
    Ok(())
}

fn extracted_root() -> Result<PathBuf, EmbeddedError> {
    let mut slot = EXTRACTED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(dir) = slot.as_ref() {
        return Ok(dir.path().to_path_buf());
    }
    // A fresh directory only this user can write, never a shared well-known path that
    // another user could fill with suites of their own.
    let dir = tempfile::Builder::new()
        .prefix("thoth-conformance-suites-")
        .tempdir()
        .map_err(|source| EmbeddedError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
    write_all(dir.path())?;
    let root = dir.path().to_path_buf();
    *slot = Some(dir);
    Ok(root)
}

/// Removes the directory [`resolve`] wrote, if any. Statics are never dropped, so the
/// CLI calls this on its way out.
pub fn cleanup() {
    let mut slot = EXTRACTED.lock().unwrap_or_else(|p| p.into_inner());
    slot.take();
}

/// The path a report shows for a suite file: `suites/<name>` for a built-in one (the
/// repository path, where annotations and links point), else as given.
pub fn shown_path(dirs: &Dirs, path: &Path) -> PathBuf {
    match (dirs.embedded_suites, path.file_name()) {
        (true, Some(name)) => Path::new("suites").join(name),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_and_fixture_of_the_checkout_is_embedded_byte_for_byte() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk = Vec::new();
        for top in ["suites", "fixtures"] {
            walk(&root.join(top), &mut on_disk);
        }
        let mut on_disk: Vec<String> = on_disk
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = FILES.iter().map(|(r, _)| r.to_string()).collect();
        assert_eq!(embedded, on_disk);
        for (rel, bytes) in FILES {
            assert_eq!(&std::fs::read(root.join(rel)).unwrap(), bytes, "{rel}");
        }
        assert!(embedded.contains(&"suites/requirements.yaml".to_string()));
    }

    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().unwrap().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    #[test]
    fn export_refuses_to_overwrite_a_customised_copy() {
        let dir = tempfile::tempdir().unwrap();
        let n = export(dir.path()).unwrap();
        assert_eq!(n, FILES.len());
        let err = export(dir.path()).unwrap_err();
        assert!(matches!(err, EmbeddedError::NotEmpty { .. }), "{err}");
    }
}
