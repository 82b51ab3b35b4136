//! `github-report`: a run's results as GitHub Actions reads them: a Markdown job summary
//! (verdict, matrix, failures with requirement and route) appended to
//! `$GITHUB_STEP_SUMMARY`, and one `::error file=…,line=…::` workflow command per failed
//! or errored case, at the line of the case's `id` in its suite file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::outcome::{CaseResult, RunResult, Status};
use crate::suite::locate::Location;
use crate::verdict::{verdict, Counts};

pub use crate::report::transcript::route;

/// Fails and errors the run is judged by (known failures are not).
fn judged_failures(run: &RunResult) -> impl Iterator<Item = &CaseResult> {
    run.cases.iter().filter(|c| {
        (c.status == Status::Fail && !c.is_expected_failure()) || c.status == Status::Error
    })
}

/// One line: the case, its status, requirement(s), route and why.
fn failure_text(c: &CaseResult) -> String {
    format!(
        "{} {} {}",
        c.full_name(),
        c.status.as_str().to_uppercase(),
        crate::report::transcript::failure_summary(c)
    )
}

/// The Markdown job summary.
pub fn summary(run: &RunResult, locations: &BTreeMap<String, Location>) -> String {
    let v = verdict(run);
    let mut s = String::new();
    let _ = writeln!(s, "## thoth-conformance: {}\n", md(&v.message));
    let _ = writeln!(
        s,
        "Target `{}` ({}), run `{}`, suites `{}`.\n",
        md(&run.target.base_url),
        md(&run.target.kind),
        md(&run.run_id),
        md(&run.suites_hash)
    );
    let _ = writeln!(
        s,
        "| phase | pass | fail | error | skip (not verified) | disabled |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    let mut phases: Vec<&str> = Vec::new();
    for c in &run.cases {
        if !phases.contains(&c.phase.as_str()) {
            phases.push(&c.phase);
        }
    }
    for p in phases {
        let n = Counts::of(run.cases.iter().filter(|c| c.phase == p));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            md(p),
            n.pass,
            n.fail,
            n.error,
            n.skip,
            n.disabled
        );
    }
    let failures: Vec<&CaseResult> = judged_failures(run).collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "\n### Failures and errors\n");
        for c in failures {
            let at = locations
                .get(&c.full_name())
                .map(|l| format!(" (`{}:{}`)", md(&l.file), l.line))
                .unwrap_or_default();
            let _ = writeln!(s, "- {}{at}", md(&failure_text(c)));
        }
    }
    s
}

/// `::error` workflow commands, one per judged failure.
pub fn annotations(run: &RunResult, locations: &BTreeMap<String, Location>) -> Vec<String> {
    judged_failures(run)
        .map(|c| {
            let title = format!("{}: {}", c.full_name(), c.title);
            let place = match locations.get(&c.full_name()) {
                Some(l) => format!("file={},line={},", property(&l.file), l.line),
                None => String::new(),
            };
            format!(
                "::error {place}title={}::{}",
                property(&title),
                data(&failure_text(c))
            )
        })
        .collect()
}

/// Escaping of a workflow command's message (GitHub's `escapeData`).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a workflow command's property (GitHub's `escapeProperty`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text inside a Markdown table or list: no pipes, no line breaks, no HTML.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
        .replace(['\r', '\n'], " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping_keeps_one_command_per_line() {
        // A message that tried to end the command and start another.
        let msg = "bad\n::error file=x,line=1::forged 100%";
        assert_eq!(data(msg), "bad%0A::error file=x,line=1::forged 100%25");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(md("a|b\n<script>"), "a\\|b &lt;script&gt;");
    }
}
