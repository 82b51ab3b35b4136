//! Fitting the harness into CI pipelines: split a run into shards (`run --shard I/N`),
//! merge the shards' `results.json` back into one run (`merge`), and re-run only what
//! failed last time (`run --rerun-failed`).

pub mod github;
pub mod merge;
pub mod rerun;
pub mod shard;

use std::collections::BTreeSet;
use std::path::Path;

use crate::report::read_results;
use crate::suite::load::Project;

/// Which phases and cases `--shard` and `--rerun-failed` leave in a run.
#[derive(Debug, Default)]
pub struct Selection {
    pub phases: Option<BTreeSet<String>>,
    pub cases: Option<BTreeSet<String>>,
    /// Lines for stderr: what the re-run picked, failed cases the suites no longer have.
    pub notes: Vec<String>,
}

impl Selection {
    /// Reads `rerun_failed` (a results.json) if given; its error reads after "failed to".
    pub fn new(
        project: &Project,
        shard: Option<shard::Shard>,
        rerun_failed: Option<&Path>,
    ) -> Result<Selection, String> {
        let mut sel = Selection::default();
        if let Some(shard) = shard {
            sel.phases = Some(shard::phases_of(project, shard));
        }
        if let Some(path) = rerun_failed {
            let previous = read_results(path).map_err(|e| format!("failed to {e}"))?;
            let picked = rerun::select(project, &previous);
            for name in &picked.unknown {
                sel.notes.push(format!(
                    "warning: {name} failed last time but is not in the suites any more"
                ));
            }
            sel.notes.push(format!(
                "rerun: {} failed case(s) in {}, {} case(s) to run with their needs",
                picked.failed.len(),
                path.display(),
                picked.cases.len()
            ));
            sel.cases = Some(picked.cases);
        }
        Ok(sel)
    }

    /// How many cases the run will hold (for the progress line).
    pub fn count(&self, project: &Project) -> usize {
        project
            .suites
            .iter()
            .filter(|s| {
                self.phases
                    .as_ref()
                    .is_none_or(|p| p.contains(&s.suite.phase))
            })
            .flat_map(|s| s.suite.cases.iter().map(move |c| (s, c)))
            .filter(|(s, c)| {
                self.cases
                    .as_ref()
                    .is_none_or(|set| set.contains(&format!("{}::{}", s.suite.phase, c.id)))
            })
            .count()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::catalogue::Catalogue;
    use crate::suite::load::{LoadedSuite, Project};
    use crate::suite::model::Suite;

    /// A project of phases with `n` independent cases each (`c0`, `c1`, ...).
    pub fn project(phases: &[(&str, usize)]) -> Project {
        let suites = phases
            .iter()
            .map(|(name, n)| {
                let cases: String = (0..*n)
                    .map(|i| {
                        format!(
                            "  - {{ id: c{i}, title: t, capability: x, effect: read, steps: [] }}\n"
                        )
                    })
                    .collect();
                let yaml = format!("phase: {name}\ntitle: t\nrunbook: r\ncases:\n{cases}");
                let suite: Suite = serde_saphyr::from_str(&yaml).unwrap();
                LoadedSuite {
                    path: format!("{name}.yaml").into(),
                    suite,
                }
            })
            .collect();
        Project {
            suites,
            catalogue: Catalogue {
                capabilities: vec![],
                requirements: vec![],
            },
            fixtures_dir: ".".into(),
            suites_dir: ".".into(),
        }
    }
}
