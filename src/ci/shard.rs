//! `--shard I/N`: which phases a shard runs.
//!
//! The unit of sharding is the whole phase: cases of a phase share captures and
//! `needs` one another, so splitting a phase would break it. Phases are assigned by
//! balanced greedy on case count: largest phase first (ties by name), each to the shard
//! with the fewest cases so far (ties to the lowest index). That depends only on the
//! suite set (phase names and case counts), so every shard of a CI matrix computes the
//! same split without talking to the others, and the shards together hold every phase
//! exactly once.
//!
//! `after` only orders phases inside one run; it is not a data dependency (every phase
//! keeps its state run-unique and runs alone, see suites/README.md). So a shard may hold
//! a phase whose `after` predecessors run in another shard: it simply starts without
//! waiting for them. Inside a shard, `after` among the shard's phases still orders them.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::outcome::ShardInfo;
use crate::suite::load::Project;

/// A parsed `I/N` (1 <= I <= N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse shard `{given}`: {why} (expected I/N with 1 <= I <= N, e.g. 1/2)")]
pub struct ShardParseError {
    given: String,
    why: &'static str,
}

impl FromStr for Shard {
    type Err = ShardParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| ShardParseError {
            given: s.to_owned(),
            why,
        };
        let (i, n) = s.split_once('/').ok_or_else(|| err("no `/`"))?;
        let index: u32 = i.trim().parse().map_err(|_| err("I is not a number"))?;
        let total: u32 = n.trim().parse().map_err(|_| err("N is not a number"))?;
        if total == 0 {
            return Err(err("N must be at least 1"));
        }
        if index == 0 || index > total {
            return Err(err("I must be between 1 and N"));
        }
        Ok(Shard { index, total })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

impl Shard {
    pub fn info(self) -> ShardInfo {
        ShardInfo {
            index: self.index,
            total: self.total,
        }
    }
}

/// Every phase's shard (1-based), for `total` shards: `(phase, shard)` in project order.
pub fn assignment(project: &Project, total: u32) -> Vec<(String, u32)> {
    let total = total.max(1);
    let mut phases: Vec<(&str, usize)> = project
        .suites
        .iter()
        .map(|s| (s.suite.phase.as_str(), s.suite.cases.len()))
        .collect();
    phases.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut load = vec![0usize; total as usize];
    let mut shard_of = std::collections::HashMap::new();
    for (phase, cases) in phases {
        let (lightest, _) = load
            .iter()
            .enumerate()
            .min_by_key(|(i, l)| (**l, *i))
            .unwrap_or((0, &0));
        load[lightest] += cases;
        shard_of.insert(phase, lightest as u32 + 1);
    }
    project
        .suites
        .iter()
        .map(|s| {
            let phase = s.suite.phase.clone();
            let shard = shard_of.get(phase.as_str()).copied().unwrap_or(1);
            (phase, shard)
        })
        .collect()
}

/// The phases `shard` runs.
pub fn phases_of(project: &Project, shard: Shard) -> BTreeSet<String> {
    assignment(project, shard.total)
        .into_iter()
        .filter(|(_, s)| *s == shard.index)
        .map(|(p, _)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::testing::project;

    #[test]
    fn parses_and_refuses() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, total: 3 }));
        for bad in ["0/2", "3/2", "1/0", "1", "a/2", "1/b", ""] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("parse shard `{bad}`")), "{e}");
        }
    }

    #[test]
    fn balanced_greedy_keeps_phases_whole_and_covers_each_once() {
        let p = project(&[
            ("a", 16),
            ("b", 12),
            ("c", 11),
            ("d", 10),
            ("e", 9),
            ("f", 5),
        ]);
        let got = assignment(&p, 2);
        // 16->1, 12->2, 11->2 (23), 10->1 (26), 9->2 (32), 5->1 (31).
        let want: Vec<(String, u32)> = [("a", 1), ("b", 2), ("c", 2), ("d", 1), ("e", 2), ("f", 1)]
            .iter()
            .map(|(p, s)| (p.to_string(), *s))
            .collect();
        assert_eq!(got, want);
        let one: BTreeSet<String> = phases_of(&p, Shard { index: 1, total: 2 });
        let two: BTreeSet<String> = phases_of(&p, Shard { index: 2, total: 2 });
        assert!(one.is_disjoint(&two));
        assert_eq!(one.len() + two.len(), 6);
        // Deterministic whatever the file order.
        let shuffled = project(&[
            ("f", 5),
            ("c", 11),
            ("a", 16),
            ("e", 9),
            ("b", 12),
            ("d", 10),
        ]);
        assert_eq!(phases_of(&shuffled, Shard { index: 1, total: 2 }), one);
    }

    #[test]
    fn more_shards_than_phases_leaves_some_empty() {
        let p = project(&[("a", 2), ("b", 2)]);
        assert_eq!(phases_of(&p, Shard { index: 3, total: 3 }), BTreeSet::new());
        assert_eq!(phases_of(&p, Shard { index: 1, total: 1 }).len(), 2);
    }
}
