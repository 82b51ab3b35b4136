//! What `run` prints while it runs, and how.
//!
//! - On a terminal (stdout is a TTY and `CI` is unset or empty): one status line that
//!   updates in place (cases done, the running case and how long it has run, elapsed
//!   time), with each finished case printed above it. indicatif draws it (and fits it
//!   to the terminal's width).
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

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

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

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The status line's message after `[done/total] mm:ss`: the newest running case and
/// how long it has run, and how many others run beside it
/// (`endpoints::checkin (3.2s) +1 running`).
pub fn running_message(running: Option<(&str, Duration)>, others_running: usize) -> String {
    let mut line = String::new();
    if let Some((name, for_how_long)) = running {
        line.push_str(&format!("{name} ({:.1}s)", for_how_long.as_secs_f64()));
    }
    if others_running > 0 {
        line.push_str(&format!(" +{others_running} running"));
    }
    line
}

/// `[12/88] 01:01  endpoints::checkin (3.2s) +1 running`, cut to the terminal's width.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("[{pos}/{len}] {clock}  {wide_msg}")
        .expect("the template is valid")
        .with_key(
            "clock",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&clock(state.elapsed()));
            },
        )
}

struct State {
    done: usize,
    /// Running case per phase (phases run concurrently), with its start.
    running: BTreeMap<String, (String, Instant)>,
}

/// The run's console: thread-safe, shared by the runner's callbacks and the ticker.
pub struct Console {
    mode: ConsoleMode,
    redactor: Redactor,
    /// The live status line (only in live mode; hidden by indicatif off a terminal).
    bar: Option<ProgressBar>,
    state: Mutex<State>,
    printed: Mutex<String>,
}

impl Console {
    pub fn new(mode: ConsoleMode, redactor: &Redactor, total: usize) -> Arc<Console> {
        let bar = mode.live.then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stdout_with_hz(8),
            );
            bar.set_style(bar_style());
            bar
        });
        Arc::new(Console {
            mode,
            redactor: redactor.clone(),
            bar,
            state: Mutex::new(State {
                done: 0,
                running: BTreeMap::new(),
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

    /// Runs `f` with the status line taken off the screen, then puts it back.
    fn above_the_line(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn print_lines(&self, text: &str) {
        let mut st = self.state();
        self.above_the_line(|| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        });
        let mut printed = self.printed.lock().unwrap_or_else(|e| e.into_inner());
        printed.push_str(text);
        printed.push('\n');
        self.draw(&mut st);
    }

    /// Prints `text` (redacted) on stderr, and keeps it for the secret scan.
    pub fn eprint(&self, text: &str) {
        let text = self.redactor.redact(text);
        let text = terminal_safe(&text);
        self.above_the_line(|| eprintln!("{text}"));
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
        let Some(bar) = &self.bar else {
            return;
        };
        if bar.is_finished() {
            return;
        }
        let newest = st.running.values().max_by_key(|(_, at)| *at);
        let message = running_message(
            newest.map(|(name, at)| (name.as_str(), at.elapsed())),
            st.running.len().saturating_sub(1),
        );
        // Case names come from suites: redacted and made safe like every other line.
        let message = terminal_safe(&self.redactor.redact(&message)).into_owned();
        bar.set_position(st.done as u64);
        bar.set_message(message);
    }

    /// Removes the status line for good (before the summary).
    pub fn end_live(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
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
    fn the_message_shows_the_running_case_and_how_many_run_beside_it() {
        let line = running_message(Some(("endpoints::checkin", Duration::from_millis(3200))), 1);
        assert_eq!(line, "endpoints::checkin (3.2s) +1 running");
        assert_eq!(running_message(None, 0), "");
        assert_eq!(clock(Duration::from_secs(61)), "01:01");
    }
}
