//! The run's reports: `junit.xml`, `coverage.md`, `coverage.json`, `results.json` and
//! `report.html`, each a view of one [`RunResult`], every string redacted on the way out.
//!
//! Files are written to a temporary sibling and renamed into place, so an interrupted
//! run (Ctrl-C between two reports) leaves each file either whole or as it was before,
//! never half written.

pub mod console;
pub mod coverage;
pub mod html;
pub mod junit;
pub mod progress;
pub mod redacted;
pub mod results;
pub mod transcript;

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::catalogue::Catalogue;
use crate::outcome::RunResult;
use crate::redact::Redactor;

pub use results::read_results;

/// Where [`write_reports`] put each file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    pub junit: PathBuf,
    pub coverage_md: PathBuf,
    pub coverage_json: PathBuf,
    pub results: PathBuf,
    /// The self-contained evidence page for a sign-off.
    pub html: PathBuf,
}

impl ReportPaths {
    /// The standard file names inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        ReportPaths {
            junit: dir.join("junit.xml"),
            coverage_md: dir.join("coverage.md"),
            coverage_json: dir.join("coverage.json"),
            results: dir.join("results.json"),
            html: dir.join("report.html"),
        }
    }

    /// Every file, for the final secret scan.
    pub fn all(&self) -> Vec<PathBuf> {
        vec![
            self.junit.clone(),
            self.coverage_md.clone(),
            self.coverage_json.clone(),
            self.results.clone(),
            self.html.clone(),
        ]
    }
}

/// Why the reports could not be written or read. Messages read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("create report directory `{}`", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("write report `{}`", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("render JUnit XML")]
    Junit(#[source] quick_junit::SerializeError),
    #[error("render `{name}` as JSON")]
    Json {
        name: &'static str,
        source: serde_json::Error,
    },
    #[error("read results file `{}`", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("parse results file `{}`", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "read results file `{}`: its schema is `{found}`, this harness reads `{expected}`",
        path.display()
    )]
    Schema {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
}

/// What the reports need beyond the run's results: junit.xml's shape and the cases'
/// places in their suite files, and the facts report.html states for a sign-off.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    pub junit: junit::JunitOptions,
    pub sign_off: html::SignOffFacts,
    /// What the ledger undid after the run: `results.json`'s `cleanup` block, rendered
    /// with the rest (it was a second render and write of the whole file).
    pub cleanup: Option<crate::safety::CleanupReport>,
}

/// Writes every report into `dir` (created if missing) and returns where; junit.xml in
/// the default dialect without the cases' places in their suite files.
pub fn write_reports(
    run: &RunResult,
    project_catalogue: &Catalogue,
    dir: &Path,
    redactor: &Redactor,
) -> Result<ReportPaths, ReportError> {
    write_reports_with(
        run,
        project_catalogue,
        dir,
        redactor,
        &ReportOptions::default(),
    )
}

/// [`write_reports`] with the reports rendered as `options` say.
pub fn write_reports_with(
    run: &RunResult,
    project_catalogue: &Catalogue,
    dir: &Path,
    redactor: &Redactor,
    options: &ReportOptions,
) -> Result<ReportPaths, ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;
    let paths = ReportPaths::in_dir(dir);
    // Render everything first, so a rendering error leaves the previous reports intact.
    let junit = junit::render_junit_with(run, redactor, &options.junit)?;
    let coverage = coverage::build_coverage(run, project_catalogue, redactor);
    let coverage_md = coverage::render_markdown(&coverage);
    let coverage_json = coverage::render_json(&coverage)?;
    let results = results::render_results_with_cleanup(run, options.cleanup.as_ref(), redactor)?;
    let html = html::render(&coverage, run, redactor, &options.sign_off);

    write_atomic(&paths.results, results.as_bytes())?;
    write_atomic(&paths.junit, junit.as_bytes())?;
    write_atomic(&paths.coverage_json, coverage_json.as_bytes())?;
    write_atomic(&paths.coverage_md, coverage_md.as_bytes())?;
    write_atomic(&paths.html, html.as_bytes())?;
    Ok(paths)
}

/// Writes every report that can be written into `dir`: one that cannot be rendered or
/// written is listed with its path and the whole cause chain (the OS error included),
/// and the others are still written.
pub fn write_reports_each(
    run: &RunResult,
    project_catalogue: &Catalogue,
    dir: &Path,
    redactor: &Redactor,
    options: &ReportOptions,
) -> (ReportPaths, Vec<(PathBuf, String)>) {
    let paths = ReportPaths::in_dir(dir);
    let mut errors = Vec::new();
    let with_cause = |e: &ReportError| {
        let mut text = format!("failed to {e}");
        let mut cur = std::error::Error::source(e);
        while let Some(s) = cur {
            text.push_str(&format!(": {s}"));
            cur = s.source();
        }
        text
    };
    if let Err(e) = fs::create_dir_all(dir) {
        let e = ReportError::CreateDir {
            path: dir.to_owned(),
            source: e,
        };
        let text = with_cause(&e);
        for p in paths.all() {
            errors.push((p, text.clone()));
        }
        return (paths, errors);
    }
    let coverage = coverage::build_coverage(run, project_catalogue, redactor);
    // Each report is a pass over the whole run with its own redaction: rendered side by
    // side, the reports cost about the slowest of them, not their sum.
    let rendered: [(&PathBuf, Result<String, ReportError>); 5] = std::thread::scope(|s| {
        let joined = |h: std::thread::ScopedJoinHandle<'_, _>| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        let results = s.spawn(|| {
            results::render_results_with_cleanup(run, options.cleanup.as_ref(), redactor)
        });
        let junit = s.spawn(|| junit::render_junit_with(run, redactor, &options.junit));
        let html = s.spawn(|| Ok(html::render(&coverage, run, redactor, &options.sign_off)));
        let coverage_json = coverage::render_json(&coverage);
        let coverage_md = coverage::render_markdown(&coverage);
        [
            (&paths.results, joined(results)),
            (&paths.junit, joined(junit)),
            (&paths.coverage_json, coverage_json),
            (&paths.coverage_md, Ok(coverage_md)),
            (&paths.html, joined(html)),
        ]
    });
    for (path, text) in rendered {
        if let Err(e) = text.and_then(|t| write_atomic(path, t.as_bytes())) {
            errors.push((path.clone(), with_cause(&e)));
        }
    }
    (paths, errors)
}

/// Writes `contents` to a temporary file next to `path`, then renames it over `path`.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| err(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(contents)?;
        // Flushed to disk before the rename, so the rename never exposes an empty file.
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err(source));
    }
    Ok(())
}
