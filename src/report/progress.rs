//! What `run` prints while it runs, and how.
//!
//! - On a terminal (stdout is a TTY and `CI` is unset or empty): one status line that
//!   updates in place (cases done, the running case and how long it has run, elapsed
//!   time), with each finished case printed above it.
//! - Otherwise (piped, or `CI` set): plain lines, one per finished case.
//! - `--quiet`: no case lines, only the summary table and the verdict.
//! - `--verbose`: the redacted transcript of every failing or erroring case after its
//!   line.
//! - Colour only on a TTY, and never when `NO_COLOR` is set to a non-empty value
//!   (<https://no-color.org>).
//!
//! Everything printed passes through the redactor, and is kept for the final secret scan.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::console::{case_line, terminal_safe};
use super::transcript::case_transcript;
use crate::outcome::{CaseResult, Status};
use crate::redact::Redactor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleMode {
    /// The updating status line.
    pub live: bool,
    pub color: bool,
    pub verbosity: Verbosity,
}

fn set(env: &dyn Fn(&str) -> Option<String>, name: &str) -> bool {
    env(name).is_some_and(|v| !v.is_empty())
}

impl ConsoleMode {
    pub fn detect(stdout_is_tty: bool, env: &dyn Fn(&str) -> Option<String>, v: Verbosity) -> Self {
        ConsoleMode {
            live: stdout_is_tty && !set(env, "CI") && v != Verbosity::Quiet,
            color: stdout_is_tty && !set(env, "NO_COLOR"),
            verbosity: v,
        }
    }
}

/// Erase the current terminal line and return to its start.
const CLEAR_LINE: &str = "\r\x1b[2K";

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The status line: `[12/88] 00:41  endpoints::checkin (3.2s) +1 running`.
pub fn status_line(
    done: usize,
    total: usize,
    running: Option<(&str, Duration)>,
    others_running: usize,
    elapsed: Duration,
    width: usize,
) -> String {
    let mut line = format!("[{done}/{total}] {}", clock(elapsed));
    if let Some((name, for_how_long)) = running {
        line.push_str(&format!("  {name} ({:.1}s)", for_how_long.as_secs_f64()));
    }
    if others_running > 0 {
        line.push_str(&format!(" +{others_running} running"));
    }
    // Wider than the terminal would wrap, and `\r` only returns to the last row.
    let width = width.max(20);
    if line.chars().count() > width {
        line = line.chars().take(width - 1).collect::<String>() + "…";
    }
    line
}

struct State {
    done: usize,
    /// Running case per phase (phases run concurrently), with its start.
    running: BTreeMap<String, (String, Instant)>,
    line_shown: bool,
    /// Set by [`Console::end_live`]: later prints must not draw the line again.
    ended: bool,
}

/// The run's console: thread-safe, shared by the runner's callbacks and the ticker.
pub struct Console {
    mode: ConsoleMode,
    redactor: Redactor,
    total: usize,
    started: Instant,
    width: usize,
    state: Mutex<State>,
    printed: Mutex<String>,
}

impl Console {
    pub fn new(mode: ConsoleMode, redactor: &Redactor, total: usize) -> Arc<Console> {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100);
        Arc::new(Console {
            mode,
            redactor: redactor.clone(),
            total,
            started: Instant::now(),
            width,
            state: Mutex::new(State {
                done: 0,
                running: BTreeMap::new(),
                line_shown: false,
                ended: false,
            }),
            printed: Mutex::new(String::new()),
        })
    }

    pub fn mode(&self) -> ConsoleMode {
        self.mode
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prints `text` (redacted, and escaped for the terminal: it may hold whatever a
    /// target sent) as whole lines, above the status line.
    pub fn print(&self, text: &str) {
        let text = self.redactor.redact(text);
        self.print_lines(&terminal_safe(&text));
    }

    /// Prints output of the console formatters ([`case_line`],
    /// [`super::console::summary_table`]), which escape what they interpolate and may
    /// add colour of their own; redacted like everything else.
    pub fn print_painted(&self, text: &str) {
        self.print_lines(&self.redactor.redact(text));
    }

    fn print_lines(&self, text: &str) {
        let mut st = self.state();
        let mut out = std::io::stdout().lock();
        if st.line_shown {
            let _ = write!(out, "{CLEAR_LINE}");
            st.line_shown = false;
        }
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
        let mut printed = self.printed.lock().unwrap_or_else(|e| e.into_inner());
        printed.push_str(text);
        printed.push('\n');
        drop(out);
        self.draw(&mut st);
    }

    /// Prints `text` (redacted) on stderr, and keeps it for the secret scan.
    pub fn eprint(&self, text: &str) {
        let text = self.redactor.redact(text);
        let text = terminal_safe(&text);
        {
            // Cleared, not ended: the next case redraws it below the message.
            let mut st = self.state();
            Self::clear(&mut st);
        }
        eprintln!("{text}");
        let mut printed = self.printed.lock().unwrap_or_else(|e| e.into_inner());
        printed.push_str(&text);
        printed.push('\n');
    }

    pub fn case_started(&self, phase: &str, case: &str) {
        let mut st = self.state();
        st.running.insert(
            phase.to_owned(),
            (format!("{phase}::{case}"), Instant::now()),
        );
        self.draw(&mut st);
    }

    pub fn case_finished(&self, case: &CaseResult) {
        {
            let mut st = self.state();
            st.done += 1;
            if st
                .running
                .get(&case.phase)
                .is_some_and(|(name, _)| *name == case.full_name())
            {
                st.running.remove(&case.phase);
            }
        }
        if self.mode.verbosity == Verbosity::Quiet {
            self.tick();
            return;
        }
        let mut text = case_line(case, self.mode.color);
        if self.mode.verbosity == Verbosity::Verbose
            && matches!(case.status, Status::Fail | Status::Error)
        {
            text.push('\n');
            let transcript = case_transcript(case, &self.redactor);
            text.push_str(terminal_safe(transcript.trim_end()).as_ref());
        }
        self.print_painted(&text);
    }

    /// Redraws the status line (elapsed time moves on even when no case finishes).
    pub fn tick(&self) {
        let mut st = self.state();
        self.draw(&mut st);
    }

    fn draw(&self, st: &mut State) {
        if !self.mode.live || st.ended {
            return;
        }
        let newest = st.running.values().max_by_key(|(_, at)| *at);
        let line = status_line(
            st.done,
            self.total,
            newest.map(|(name, at)| (name.as_str(), at.elapsed())),
            st.running.len().saturating_sub(1),
            self.started.elapsed(),
            self.width,
        );
        let line = self.redactor.redact(&line);
        let line = terminal_safe(&line);
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{CLEAR_LINE}{line}");
        let _ = out.flush();
        st.line_shown = true;
    }

    /// Removes the status line for good (before the summary).
    pub fn end_live(&self) {
        let mut st = self.state();
        st.ended = true;
        Self::clear(&mut st);
    }

    fn clear(st: &mut State) {
        if st.line_shown {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{CLEAR_LINE}");
            let _ = out.flush();
            st.line_shown = false;
        }
    }

    /// Everything printed so far (already redacted), for the secret scan.
    pub fn printed(&self) -> String {
        self.printed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn live_and_colour_only_on_a_tty_and_as_the_environment_allows() {
        let n = Verbosity::Normal;
        let tty = ConsoleMode::detect(true, &env(&[]), n);
        assert!(tty.live && tty.color);
        let piped = ConsoleMode::detect(false, &env(&[]), n);
        assert!(!piped.live && !piped.color);
        let ci = ConsoleMode::detect(true, &env(&[("CI", "true")]), n);
        assert!(!ci.live && ci.color);
        let no_color = ConsoleMode::detect(true, &env(&[("NO_COLOR", "1")]), n);
        assert!(no_color.live && !no_color.color);
        // An empty NO_COLOR / CI counts as unset (no-color.org).
        let empty = ConsoleMode::detect(true, &env(&[("NO_COLOR", ""), ("CI", "")]), n);
        assert!(empty.live && empty.color);
        let quiet = ConsoleMode::detect(true, &env(&[]), Verbosity::Quiet);
        assert!(!quiet.live);
    }

    #[test]
    fn status_line_shows_progress_running_case_and_elapsed() {
        let line = status_line(
            12,
            88,
            Some(("endpoints::checkin", Duration::from_millis(3200))),
            1,
            Duration::from_secs(61),
            100,
        );
        assert_eq!(line, "[12/88] 01:01  endpoints::checkin (3.2s) +1 running");
        let idle = status_line(0, 5, None, 0, Duration::ZERO, 100);
        assert_eq!(idle, "[0/5] 00:00");
        let narrow = status_line(
            1,
            2,
            Some(("a_very_long_phase::a_very_long_case_name", Duration::ZERO)),
            0,
            Duration::ZERO,
            24,
        );
        assert_eq!(narrow.chars().count(), 24);
        assert!(narrow.ends_with('…'));
    }
}
