//! Console output: one line per finished case, and the summary table at the end.
//!
//! These functions do not redact: the caller prints through `Redactor::redact`, like
//! everything else that leaves the process. Colour only when the caller asks for it.
//!
//! They do make target-supplied text safe for a terminal ([`terminal_safe`]): every
//! name, message and note they interpolate is escaped, so the only control sequences in
//! what they return are their own colours.

use std::borrow::Cow;
use std::fmt::Write as _;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::outcome::{CaseResult, ExpectationOutcome, Level, RunResult, Status};
use crate::verdict::{verdict, Counts, RunStatus};

const RESET: &str = "\x1b[0m";

/// Whether `c` may not reach a terminal as it is: C0 and C1 control characters (ESC
/// starts cursor movement, line erasure, OSC 52 clipboard writes and window titles;
/// CR returns to the start of a line to overwrite it; BEL, backspace), DEL, and the
/// invisible Unicode characters that reorder or hide text (bidirectional overrides and
/// isolates, zero-width characters, line and paragraph separators).
fn unsafe_for_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `text` with every character a target could use to rewrite the terminal (see
/// [`unsafe_for_terminal`]) shown as an escape (`\x1b`, `\u{202e}`), newlines kept.
/// Every console output of target-supplied text goes through this one function, so a
/// body cannot forge a green `PASSED (exit 0)` line, write the clipboard or set the
/// window title.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !unsafe_for_terminal(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn colour(status: Status) -> &'static str {
    match status {
        Status::Pass => "\x1b[32m",
        Status::Fail => "\x1b[1;31m",
        Status::Error => "\x1b[1;33m",
        Status::Skip => "\x1b[36m",
        Status::Disabled => "\x1b[2m",
    }
}

fn label(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
        Status::Skip => "SKIP",
        Status::Disabled => "DISABLED",
    }
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

/// `PASS      scoped_keys::authorize_in_scope  (12 ms)`; for fail and error the message
/// follows on indented lines, for skip the reason.
pub fn case_line(case: &CaseResult, color: bool) -> String {
    // An expected failure reads apart from a real one at a glance.
    let (text, code) = if case.is_expected_failure() {
        ("XFAIL", colour(Status::Skip))
    } else {
        (label(case.status), colour(case.status))
    };
    let padded = format!("{text:<8}");
    let mut line = format!(
        "{}  {}  ({} ms)",
        paint(&padded, code, color),
        terminal_safe(&case.full_name()),
        case.duration_ms
    );
    if let Some(note) = &case.expectation {
        let said = match note.outcome {
            ExpectationOutcome::ExpectedFailure => "expected failure",
            ExpectationOutcome::UnexpectedPass => "known failure PASSED: the ledger entry is stale",
            ExpectationOutcome::Waived => "waived",
            ExpectationOutcome::Inconclusive => "known failure, neither passed nor failed",
        };
        let _ = write!(
            line,
            "\n          {said}: {} (owner {}, until {}{})",
            terminal_safe(&note.reason),
            terminal_safe(&note.owner),
            terminal_safe(&note.expires),
            if note.expired { ", EXPIRED" } else { "" }
        );
    }
    if matches!(case.status, Status::Fail | Status::Error | Status::Skip) {
        if let Some(message) = &case.message {
            // Every line of it indented: a message line can never pass for one of ours.
            for l in terminal_safe(message).lines() {
                let _ = write!(line, "\n          {l}");
            }
        }
    }
    line
}

/// Counts per phase and status, a total row, and the verdict line under the table.
pub fn summary_table(run: &RunResult, color: bool) -> String {
    let mut phases: Vec<&str> = Vec::new();
    for case in &run.cases {
        if !phases.contains(&case.phase.as_str()) {
            phases.push(&case.phase);
        }
    }
    let statuses = [
        Status::Pass,
        Status::Fail,
        Status::Error,
        Status::Skip,
        Status::Disabled,
    ];
    let mut b = Builder::default();
    let mut header = vec!["phase".to_owned()];
    header.extend(statuses.iter().map(|s| s.as_str().to_owned()));
    header.push("total".to_owned());
    b.push_record(header);
    let row = |name: &str, counts: Counts| {
        let mut r = vec![name.to_owned()];
        r.extend(statuses.iter().map(|s| counts.get(*s).to_string()));
        r.push(counts.total.to_string());
        r
    };
    for phase in &phases {
        let counts = Counts::of(run.cases.iter().filter(|c| c.phase == *phase));
        b.push_record(row(&terminal_safe(phase), counts));
    }
    let v = verdict(run);
    b.push_record(row("total", v.counts));
    let table = b.build().with(Style::sharp()).to_string();
    let verdict_colour = match v.status {
        RunStatus::Passed => colour(Status::Pass),
        RunStatus::Failed => colour(Status::Fail),
        RunStatus::Errored | RunStatus::Unreachable | RunStatus::Incomplete => {
            colour(Status::Error)
        }
    };
    let verdict_line = paint(
        &format!(
            "{} (exit {}): {}",
            v.status.as_str().to_uppercase(),
            v.exit_code,
            terminal_safe(&v.message)
        ),
        verdict_colour,
        color,
    );
    let thothctl = crate::thothctl::describe(run.target.thothctl.as_ref());
    let mut out = format!("thothctl: {thothctl}\n{table}");
    // Which requirements the level left unverified, and why (the verdict names only IDs);
    // above the verdict, which stays the last line. Silent at an implicit `none`.
    if let Some(c) = run
        .conformance
        .as_ref()
        .filter(|c| c.explicit || c.level != Level::None)
    {
        out.push_str(&format!("\nconformance level: {}", c.level));
        if !c.explicit {
            out.push_str(" (the target's default; set it with --require)");
        }
        for line in c.lines() {
            out.push_str(&format!("\n  {line}"));
        }
    }
    format!("{out}\n{verdict_line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::TargetInfo;
    use crate::suite::model::{Effect, Surface};

    fn case(phase: &str, id: &str, status: Status, message: Option<&str>) -> CaseResult {
        CaseResult {
            phase: phase.into(),
            case_id: id.into(),
            title: id.into(),
            status,
            message: message.map(Into::into),
            requirements: vec![],
            capability: "c".into(),
            surface: Surface::Api,
            effect: Effect::Read,
            steps: vec![],
            cleanup: vec![],
            duration_ms: 12,
            started_at: "2026-11-24T13:00:00Z".into(),
            expectation: None,
        }
    }

    #[test]
    fn a_passing_case_is_one_plain_line() {
        let c = case("scoped_keys", "authorize_in_scope", Status::Pass, None);
        assert_eq!(
            case_line(&c, false),
            "PASS      scoped_keys::authorize_in_scope  (12 ms)"
        );
    }

    #[test]
    fn failures_carry_their_message_on_indented_lines() {
        let c = case("pam", "replay", Status::Fail, Some("expected 409\ngot 200"));
        assert_eq!(
            case_line(&c, false),
            "FAIL      pam::replay  (12 ms)\n          expected 409\n          got 200"
        );
        let d = case("pam", "off", Status::Disabled, Some("filtered out"));
        assert_eq!(case_line(&d, false), "DISABLED  pam::off  (12 ms)");
    }

    #[test]
    fn control_sequences_in_names_and_messages_are_escaped_and_cannot_forge_a_line() {
        let forged =
            "boom\u{1b}]52;c;ZXZpbA==\u{7}\r\u{1b}[2KPASSED (exit 0): ok\u{9b}\u{202e}\nnext";
        let mut c = case("p\u{1b}[1A", "c", Status::Fail, Some(forged));
        c.duration_ms = 1;
        let line = case_line(&c, false);
        for bad in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}'] {
            assert!(!line.contains(bad), "{bad:?} in {line:?}");
        }
        assert!(
            line.contains("\\x1b]52;c;ZXZpbA==\\x07\\x0d\\x1b[2KPASSED"),
            "{line}"
        );
        assert!(line.contains("\\u{202e}"), "{line}");
        // Every line after the first is indented: none can pass for a verdict line.
        assert!(
            line.lines().skip(1).all(|l| l.starts_with("          ")),
            "{line}"
        );
        assert_eq!(terminal_safe("plain\ttext\n"), "plain\ttext\n");
    }

    #[test]
    fn colour_only_when_asked() {
        let c = case("p", "c", Status::Error, Some("boom"));
        assert!(!case_line(&c, false).contains('\x1b'));
        let coloured = case_line(&c, true);
        assert!(
            coloured.starts_with("\x1b[1;33mERROR   \x1b[0m"),
            "{coloured:?}"
        );
    }

    #[test]
    fn summary_counts_per_phase_and_in_total() {
        let run = RunResult {
            run_id: "r".into(),
            harness_version: "0".into(),
            suites_hash: "h".into(),
            target: TargetInfo {
                kind: "mock".into(),
                base_url: "http://127.0.0.1:1".into(),
                tenant: "t".into(),
                mock_faults: vec![],
                surfaces: vec![Surface::Api],
                thothctl: None,
            },
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            cases: vec![
                case("bootstrap", "a", Status::Pass, None),
                case("bootstrap", "b", Status::Skip, Some("why")),
                case("pam", "c", Status::Fail, Some("bad")),
            ],
            interrupted: None,
            shard: None,
            evidence: None,
            conformance: None,
        };
        let table = summary_table(&run, false);
        let expected = "\
thothctl: not found (thothctl cases not run)
┌───────────┬──────┬──────┬───────┬──────┬──────────┬───────┐
│ phase     │ pass │ fail │ error │ skip │ disabled │ total │
├───────────┼──────┼──────┼───────┼──────┼──────────┼───────┤
│ bootstrap │ 1    │ 0    │ 0     │ 1    │ 0        │ 2     │
│ pam       │ 0    │ 1    │ 0     │ 0    │ 0        │ 1     │
│ total     │ 1    │ 1    │ 0     │ 1    │ 0        │ 3     │
└───────────┴──────┴──────┴───────┴──────┴──────────┴───────┘
FAILED (exit 1): 1 case(s) failed: the target broke a requirement";
        assert_eq!(table, expected);
        assert!(!table.contains('\x1b'));
        assert!(summary_table(&run, true).contains("\x1b[1;31mFAILED"));
    }
}
