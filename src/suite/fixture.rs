//! Fixture files named by `body_file`: resolved inside the fixtures root, and read with
//! a size cap. Validation and the runner both go through [`read_fixture`], so a fixture
//! `validate` accepts is exactly one a run can send.
//!
//! A `body_file` is a relative path, but the file may be a symlink: resolving it
//! (`canonicalize`) and requiring the result to lie under the canonical fixtures root
//! keeps `/proc/self/environ` or `~/.ssh/id_rsa` from being sent to a tenant (and
//! written into the reports) through a planted link. Only regular files are read, and
//! at most [`MAX_FIXTURE_BYTES`] of them, so a link to `/dev/zero` or a FIFO cannot make
//! `validate` read without end.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// The largest fixture file read: far above any request body a suite sends.
pub const MAX_FIXTURE_BYTES: u64 = 1024 * 1024;

/// Why a fixture was not read; the messages read after "failed to".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixtureError {
    #[error("read body_file `{file}`: it must be a plain relative path inside the fixtures directory (no `..`, no absolute path)")]
    NotRelative { file: String },
    #[error("read body_file `{file}`: it does not exist under the fixtures directory ({reason})")]
    Missing { file: String, reason: String },
    #[error("read body_file `{file}`: it resolves to {resolved}, outside the fixtures directory {root} (a symlink out of it is refused)")]
    Escapes {
        file: String,
        resolved: String,
        root: String,
    },
    #[error("read body_file `{file}`: it is not a regular file (a device, FIFO or directory is refused)")]
    NotAFile { file: String },
    #[error("read body_file `{file}`: it is larger than the limit of {max} bytes")]
    TooLarge { file: String, max: u64 },
    #[error("read body_file `{file}`: {reason}")]
    Unreadable { file: String, reason: String },
}

/// The canonical path of fixture `file` under `root`, checked to stay inside it and to
/// be a regular file no larger than [`MAX_FIXTURE_BYTES`].
pub fn resolve_fixture(root: &Path, file: &str) -> Result<PathBuf, FixtureError> {
    let rel = Path::new(file);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(FixtureError::NotRelative { file: file.into() });
    }
    let missing = |e: std::io::Error| FixtureError::Missing {
        file: file.into(),
        reason: e.to_string(),
    };
    let root = root.canonicalize().map_err(missing)?;
    let resolved = root.join(rel).canonicalize().map_err(missing)?;
    if !resolved.starts_with(&root) {
        return Err(FixtureError::Escapes {
            file: file.into(),
            resolved: resolved.display().to_string(),
            root: root.display().to_string(),
        });
    }
    let meta = resolved.metadata().map_err(missing)?;
    if !meta.is_file() {
        return Err(FixtureError::NotAFile { file: file.into() });
    }
    if meta.len() > MAX_FIXTURE_BYTES {
        return Err(FixtureError::TooLarge {
            file: file.into(),
            max: MAX_FIXTURE_BYTES,
        });
    }
    Ok(resolved)
}

/// The text of fixture `file` under `root` (see [`resolve_fixture`]). The cap holds
/// while reading too: a file growing after the check is cut off, not read on.
pub fn read_fixture(root: &Path, file: &str) -> Result<String, FixtureError> {
    let path = resolve_fixture(root, file)?;
    let unreadable = |reason: String| FixtureError::Unreadable {
        file: file.into(),
        reason,
    };
    let f = std::fs::File::open(&path).map_err(|e| unreadable(e.to_string()))?;
    let mut bytes = Vec::new();
    f.take(MAX_FIXTURE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() as u64 > MAX_FIXTURE_BYTES {
        return Err(FixtureError::TooLarge {
            file: file.into(),
            max: MAX_FIXTURE_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| unreadable(format!("not UTF-8 ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_resolve_inside_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fixtures");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/ok.json"), "{}").unwrap();
        std::fs::write(dir.path().join("outside.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("out.json")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join("zero.json")).unwrap();
        std::os::unix::fs::symlink("sub/ok.json", root.join("inner.json")).unwrap();
        std::fs::write(
            root.join("big.json"),
            vec![b' '; MAX_FIXTURE_BYTES as usize + 1],
        )
        .unwrap();

        assert_eq!(read_fixture(&root, "sub/ok.json").unwrap(), "{}");
        assert_eq!(read_fixture(&root, "inner.json").unwrap(), "{}");
        assert!(matches!(
            read_fixture(&root, "out.json"),
            Err(FixtureError::Escapes { .. })
        ));
        assert!(matches!(
            read_fixture(&root, "zero.json"),
            Err(FixtureError::Escapes { .. })
        ));
        assert!(matches!(
            read_fixture(&root, "big.json"),
            Err(FixtureError::TooLarge { .. })
        ));
        assert!(matches!(
            read_fixture(&root, "../outside.txt"),
            Err(FixtureError::NotRelative { .. })
        ));
        assert!(matches!(
            read_fixture(&root, "nope.json"),
            Err(FixtureError::Missing { .. })
        ));
        // A device inside the root (a link from inside to inside resolving to one).
        std::os::unix::fs::symlink(&root, root.join("dir.json")).unwrap();
        assert!(matches!(
            read_fixture(&root, "dir.json"),
            Err(FixtureError::NotAFile { .. })
        ));
    }
}
