//! Progress of a load run on stderr: a bar redrawn in place on a terminal, a plain line
//! per tenth otherwise (CI logs), nothing when off.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Bar,
    Plain,
    Off,
}

/// Endpoints done so far; the workers bump it, a ticker shows it.
#[derive(Debug)]
pub struct Progress {
    done: AtomicUsize,
    total: usize,
    mode: ProgressMode,
    started: Instant,
}

impl Progress {
    pub fn new(total: usize, mode: ProgressMode) -> Arc<Progress> {
        Arc::new(Progress {
            done: AtomicUsize::new(0),
            total,
            mode,
            started: Instant::now(),
        })
    }

    /// One more endpoint finished (registered and checked in, or given up on).
    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.mode == ProgressMode::Plain
            && self.total >= 10
            && done.is_multiple_of(self.total / 10)
        {
            eprintln!("{}", self.line(done));
        }
    }

    pub fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    fn line(&self, done: usize) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        format!(
            "{done}/{} endpoints registered and checked in ({:.0}/s)",
            self.total,
            done as f64 / secs
        )
    }

    fn bar(&self, done: usize) -> String {
        const WIDTH: usize = 30;
        let filled = (done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        format!(
            "\r[{}{}] {}",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            self.line(done)
        )
    }

    /// Redraws the bar until `stop` resolves; then draws it a last time and ends the line.
    pub async fn run_bar(self: Arc<Self>, stop: tokio::sync::oneshot::Receiver<()>) {
        if self.mode != ProgressMode::Bar {
            return;
        }
        let mut stop = stop;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    eprint!("{}", self.bar(self.done()));
                    let _ = std::io::stderr().flush();
                }
                _ = &mut stop => break,
            }
        }
        eprintln!("{}", self.bar(self.done()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_with_progress() {
        let p = Progress::new(10, ProgressMode::Off);
        for _ in 0..5 {
            p.tick();
        }
        let bar = p.bar(p.done());
        assert!(
            bar.contains(&format!("[{}{}]", "#".repeat(15), ".".repeat(15))),
            "{bar}"
        );
        assert!(bar.contains("5/10 endpoints"), "{bar}");
        assert!(Progress::new(0, ProgressMode::Off).bar(0).contains("0/0"));
    }
}
