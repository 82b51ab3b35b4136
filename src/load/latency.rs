//! Per-operation latency samples and their summary (p50, p95, p99, max), error and
//! retry counts.

use std::sync::Mutex;
use std::time::Duration;

/// The operations of a load run, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Register,
    Checkin,
    Stats,
    List,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Register, Op::Checkin, Op::Stats, Op::List];

    pub fn name(self) -> &'static str {
        match self {
            Op::Register => "register",
            Op::Checkin => "checkin",
            Op::Stats => "stats",
            Op::List => "list",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default)]
struct OpRecord {
    /// One sample per HTTP attempt, in microseconds (u32: 71 minutes at most).
    micros: Vec<u32>,
    errors: u64,
    retries: u64,
}

/// Samples of every operation; shared by the workers.
#[derive(Debug, Default)]
pub struct Latencies {
    ops: [Mutex<OpRecord>; 4],
}

/// What one operation did over the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpSummary {
    pub op: Op,
    /// HTTP attempts made (retries included).
    pub count: usize,
    /// Operations that did not succeed in the end.
    pub errors: u64,
    /// Attempts repeated after a 429 or a declared transient status.
    pub retries: u64,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    fn record(&self, op: Op) -> std::sync::MutexGuard<'_, OpRecord> {
        self.ops[op.index()]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub fn sample(&self, op: Op, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        self.record(op).micros.push(micros);
    }

    pub fn error(&self, op: Op) {
        self.record(op).errors += 1;
    }

    pub fn retry(&self, op: Op) {
        self.record(op).retries += 1;
    }

    pub fn summary(&self) -> Vec<OpSummary> {
        Op::ALL
            .iter()
            .map(|&op| {
                let r = self.record(op);
                let mut sorted = r.micros.clone();
                sorted.sort_unstable();
                OpSummary {
                    op,
                    count: sorted.len(),
                    errors: r.errors,
                    retries: r.retries,
                    p50: percentile(&sorted, 50.0),
                    p95: percentile(&sorted, 95.0),
                    p99: percentile(&sorted, 99.0),
                    max: sorted.last().map_or(Duration::ZERO, |m| micros(*m)),
                }
            })
            .collect()
    }
}

fn micros(m: u32) -> Duration {
    Duration::from_micros(u64::from(m))
}

/// Nearest-rank percentile of sorted samples (0 for none).
pub fn percentile(sorted: &[u32], pct: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    micros(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// "0.42 ms" / "12.3 ms" / "1.20 s".
pub fn show(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// The latency table of the load report.
pub fn table(summary: &[OpSummary]) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record([
        "operation",
        "requests",
        "errors",
        "retries",
        "p50",
        "p95",
        "p99",
        "max",
    ]);
    for s in summary.iter().filter(|s| s.count > 0 || s.errors > 0) {
        b.push_record([
            s.op.name().to_string(),
            s.count.to_string(),
            s.errors.to_string(),
            s.retries.to_string(),
            show(s.p50),
            show(s.p95),
            show(s.p99),
            show(s.max),
        ]);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::psql());
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_micros(50));
        assert_eq!(percentile(&samples, 95.0), Duration::from_micros(95));
        assert_eq!(percentile(&samples, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_micros(100));
        assert_eq!(percentile(&[7], 50.0), Duration::from_micros(7));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn summary_counts_per_operation() {
        let l = Latencies::default();
        for m in [3, 1, 2] {
            l.sample(Op::Checkin, Duration::from_millis(m));
        }
        l.retry(Op::Checkin);
        l.error(Op::Register);
        let s = l.summary();
        let checkin = s.iter().find(|s| s.op == Op::Checkin).unwrap();
        assert_eq!((checkin.count, checkin.retries, checkin.errors), (3, 1, 0));
        assert_eq!(checkin.p50, Duration::from_millis(2));
        assert_eq!(checkin.max, Duration::from_millis(3));
        let register = s.iter().find(|s| s.op == Op::Register).unwrap();
        assert_eq!((register.count, register.errors), (0, 1));
        let shown = table(&s);
        assert!(shown.contains("checkin") && shown.contains("register"));
        assert!(
            !shown.contains("list"),
            "operations never used are left out"
        );
    }
}
