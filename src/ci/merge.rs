//! `merge`: the shards' `results.json` back into the one run an unsharded run would
//! have produced, so every report (and the verdict) is written from it exactly as
//! `run` writes them.
//!
//! The merged run is defined as:
//! - cases: every shard's cases, in project order (phase file order, then case order),
//!   which is the order an unsharded run reports them in;
//! - `run_id`: the shards' run ids joined with `+` in shard order (each shard needs its
//!   own run id: shards may run at once against one tenant, and run ids keep their
//!   names apart), so the merged evidence names every run behind it;
//! - `started_at` / `finished_at`: the earliest start and the latest finish;
//!   `duration_ms` the wall time between them;
//! - `interrupted`: each interrupted shard's reason, prefixed with its shard;
//! - `shard`: none (it is the whole run again); `evidence`: the shards' summed.
//!
//! Refused (exit 2): results of different suite sets (`suites_hash`), harness versions
//! or targets, a case present in two files, a sharded set with a shard missing or
//! given twice, and a suite set on disk other than the one the shards ran (the
//! coverage report is computed against its catalogue).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::outcome::{EvidenceDelivery, RunResult};
use crate::suite::load::Project;

/// Why results cannot be merged. Messages read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("merge results: no results file given")]
    Empty,
    #[error(
        "merge results: `{}` ran suites {theirs}, `{}` ran suites {ours}: results of different suite sets never merge",
        other.display(), first.display()
    )]
    SuitesHash {
        first: PathBuf,
        ours: String,
        other: PathBuf,
        theirs: String,
    },
    #[error(
        "merge results: the suites on disk hash to {on_disk}, the results were run with {ran}: point --suites/--fixtures at the suite set the shards ran"
    )]
    ProjectHash { on_disk: String, ran: String },
    #[error("merge results: `{}` and `{}` differ in {what} ({a} vs {b})", first.display(), other.display())]
    Mismatch {
        first: PathBuf,
        other: PathBuf,
        what: &'static str,
        a: String,
        b: String,
    },
    #[error("merge results: case `{case}` is in both `{}` and `{}`", first.display(), other.display())]
    Overlap {
        case: String,
        first: PathBuf,
        other: PathBuf,
    },
    #[error("merge results: `{}` is a shard and `{}` is not", sharded.display(), whole.display())]
    MixedSharding { sharded: PathBuf, whole: PathBuf },
    #[error("merge results: shard {index}/{total} is given twice (`{}` and `{}`)", first.display(), other.display())]
    DuplicateShard {
        index: u32,
        total: u32,
        first: PathBuf,
        other: PathBuf,
    },
    #[error(
        "merge results: shard(s) {missing} of {total} missing: a merged run must hold every shard"
    )]
    MissingShards { missing: String, total: u32 },
    #[error("merge results: case `{case}` in `{}` is not in the suites on disk", file.display())]
    UnknownCase { case: String, file: PathBuf },
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Merges shard results (`(file, run)` pairs, in any order) into one run.
pub fn merge_runs(
    project: &Project,
    project_hash: &str,
    mut inputs: Vec<(PathBuf, RunResult)>,
) -> Result<RunResult, MergeError> {
    if inputs.is_empty() {
        return Err(MergeError::Empty);
    }
    inputs.sort_by_key(|(_, r)| r.shard.map(|s| s.index).unwrap_or(0));
    check_compatible(&inputs)?;
    check_shards(&inputs)?;
    let (_, first) = &inputs[0];
    if first.suites_hash != project_hash {
        return Err(MergeError::ProjectHash {
            on_disk: project_hash.to_owned(),
            ran: first.suites_hash.clone(),
        });
    }

    // Project order: (phase position, case position).
    let mut position: HashMap<String, (usize, usize)> = HashMap::new();
    for (pi, s) in project.suites.iter().enumerate() {
        for (ci, c) in s.suite.cases.iter().enumerate() {
            position.insert(format!("{}::{}", s.suite.phase, c.id), (pi, ci));
        }
    }
    let mut seen: HashMap<String, &PathBuf> = HashMap::new();
    let mut cases = Vec::new();
    for (path, run) in &inputs {
        for case in &run.cases {
            let name = case.full_name();
            if let Some(first) = seen.get(&name) {
                return Err(MergeError::Overlap {
                    case: name,
                    first: (*first).clone(),
                    other: path.clone(),
                });
            }
            let pos = *position.get(&name).ok_or_else(|| MergeError::UnknownCase {
                case: name.clone(),
                file: path.clone(),
            })?;
            seen.insert(name, path);
            cases.push((pos, case.clone()));
        }
    }
    cases.sort_by_key(|(pos, _)| *pos);

    let mut run_ids: Vec<&str> = Vec::new();
    for (_, r) in &inputs {
        if !run_ids.contains(&r.run_id.as_str()) {
            run_ids.push(&r.run_id);
        }
    }
    let started = inputs
        .iter()
        .min_by_key(|(_, r)| parse_time(&r.started_at))
        .map(|(_, r)| r.started_at.clone())
        .unwrap_or_default();
    let finished = inputs
        .iter()
        .max_by_key(|(_, r)| parse_time(&r.finished_at))
        .map(|(_, r)| r.finished_at.clone())
        .unwrap_or_default();
    let duration_ms = match (parse_time(&started), parse_time(&finished)) {
        (Some(a), Some(b)) if b >= a => (b - a).whole_milliseconds() as u64,
        _ => inputs.iter().map(|(_, r)| r.duration_ms).max().unwrap_or(0),
    };
    let interrupted: Vec<String> = inputs
        .iter()
        .filter_map(|(_, r)| {
            let why = r.interrupted.as_ref()?;
            Some(match r.shard {
                Some(s) => format!("shard {}/{}: {why}", s.index, s.total),
                None => why.clone(),
            })
        })
        .collect();
    let evidence = inputs.iter().filter_map(|(_, r)| r.evidence.as_ref()).fold(
        None,
        |acc: Option<EvidenceDelivery>, e| {
            let mut acc = acc.unwrap_or_default();
            acc.jsonl = acc.jsonl.or_else(|| e.jsonl.clone());
            acc.webhook = acc.webhook.or_else(|| e.webhook.clone());
            acc.events += e.events;
            acc.delivered += e.delivered;
            acc.failures.extend(e.failures.iter().cloned());
            Some(acc)
        },
    );
    let mut target = first.target.clone();
    let surfaces: BTreeSet<_> = inputs
        .iter()
        .flat_map(|(_, r)| r.target.surfaces.iter().copied())
        .collect();
    target.surfaces = surfaces.into_iter().collect();
    Ok(RunResult {
        run_id: run_ids.join("+"),
        harness_version: first.harness_version.clone(),
        suites_hash: first.suites_hash.clone(),
        target,
        started_at: started,
        finished_at: finished,
        duration_ms,
        cases: cases.into_iter().map(|(_, c)| c).collect(),
        interrupted: (!interrupted.is_empty()).then(|| interrupted.join("; ")),
        shard: None,
        evidence,
        // Re-assessed over the merged cases by the caller, who has the catalogue.
        conformance: None,
    })
}

fn check_compatible(inputs: &[(PathBuf, RunResult)]) -> Result<(), MergeError> {
    let (first_path, first) = &inputs[0];
    for (path, run) in &inputs[1..] {
        if run.suites_hash != first.suites_hash {
            return Err(MergeError::SuitesHash {
                first: first_path.clone(),
                ours: first.suites_hash.clone(),
                other: path.clone(),
                theirs: run.suites_hash.clone(),
            });
        }
        let mismatch = |what, a: &str, b: &str| MergeError::Mismatch {
            first: first_path.clone(),
            other: path.clone(),
            what,
            a: a.to_owned(),
            b: b.to_owned(),
        };
        let (a, b) = (&first.target, &run.target);
        if first.harness_version != run.harness_version {
            return Err(mismatch(
                "harness version",
                &first.harness_version,
                &run.harness_version,
            ));
        }
        if a.kind != b.kind {
            return Err(mismatch("target kind", &a.kind, &b.kind));
        }
        if a.tenant != b.tenant {
            return Err(mismatch("tenant", &a.tenant, &b.tenant));
        }
        if a.mock_faults != b.mock_faults {
            return Err(mismatch(
                "mock faults",
                &a.mock_faults.join(","),
                &b.mock_faults.join(","),
            ));
        }
        // Each in-process mock listens on its own ephemeral port; a live tenant is one URL.
        if a.kind != "mock" && a.base_url != b.base_url {
            return Err(mismatch("GovAPI URL", &a.base_url, &b.base_url));
        }
    }
    Ok(())
}

fn check_shards(inputs: &[(PathBuf, RunResult)]) -> Result<(), MergeError> {
    let sharded: Vec<&(PathBuf, RunResult)> =
        inputs.iter().filter(|(_, r)| r.shard.is_some()).collect();
    if sharded.is_empty() {
        return Ok(());
    }
    if let Some((whole, _)) = inputs.iter().find(|(_, r)| r.shard.is_none()) {
        return Err(MergeError::MixedSharding {
            sharded: sharded[0].0.clone(),
            whole: whole.clone(),
        });
    }
    let mut by_index: BTreeMap<u32, &PathBuf> = BTreeMap::new();
    let total = sharded[0].1.shard.map(|s| s.total).unwrap_or(1);
    for (path, run) in &sharded {
        let Some(s) = run.shard else { continue };
        if s.total != total {
            return Err(MergeError::Mismatch {
                first: sharded[0].0.clone(),
                other: path.clone(),
                what: "shard count",
                a: total.to_string(),
                b: s.total.to_string(),
            });
        }
        if let Some(first) = by_index.insert(s.index, path) {
            return Err(MergeError::DuplicateShard {
                index: s.index,
                total,
                first: first.clone(),
                other: path.clone(),
            });
        }
    }
    let missing: Vec<String> = (1..=total)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::MissingShards {
            missing: missing.join(", "),
            total,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::testing::project;
    use crate::outcome::{CaseResult, ShardInfo, Status, TargetInfo};
    use crate::suite::model::{Effect, Surface};

    fn case(phase: &str, id: &str) -> CaseResult {
        CaseResult {
            phase: phase.into(),
            case_id: id.into(),
            title: id.into(),
            status: Status::Pass,
            message: None,
            requirements: vec![],
            capability: "x".into(),
            surface: Surface::Api,
            effect: Effect::Read,
            steps: vec![],
            cleanup: vec![],
            duration_ms: 1,
            started_at: "2026-11-24T13:00:00Z".into(),
            expectation: None,
        }
    }

    fn shard(index: u32, cases: Vec<CaseResult>, start: &str, end: &str) -> (PathBuf, RunResult) {
        let run = RunResult {
            run_id: format!("run{index}"),
            harness_version: "0.1.0".into(),
            suites_hash: "h".into(),
            target: TargetInfo {
                kind: "mock".into(),
                base_url: format!("http://127.0.0.1:{index}"),
                tenant: "conformance".into(),
                mock_faults: vec![],
                surfaces: vec![Surface::Api],
                thothctl: None,
            },
            started_at: start.into(),
            finished_at: end.into(),
            duration_ms: 5,
            cases,
            interrupted: None,
            shard: Some(ShardInfo { index, total: 2 }),
            evidence: None,
            conformance: None,
        };
        (PathBuf::from(format!("s{index}.json")), run)
    }

    #[test]
    fn merged_run_is_in_project_order_with_a_defined_id_and_span() {
        let p = project(&[("a", 2), ("b", 1)]);
        let one = shard(
            1,
            vec![case("b", "c0")],
            "2026-11-24T13:00:01Z",
            "2026-11-24T13:00:09Z",
        );
        let mut two = shard(
            2,
            vec![case("a", "c1"), case("a", "c0")],
            "2026-11-24T13:00:00Z",
            "2026-11-24T13:00:05Z",
        );
        two.1.interrupted = Some("interrupted (Ctrl-C)".into());
        two.1.target.surfaces.push(Surface::Thothctl);
        let m = merge_runs(&p, "h", vec![two, one]).unwrap();
        let names: Vec<String> = m.cases.iter().map(|c| c.full_name()).collect();
        assert_eq!(names, ["a::c0", "a::c1", "b::c0"]);
        assert_eq!(m.run_id, "run1+run2");
        assert_eq!(m.started_at, "2026-11-24T13:00:00Z");
        assert_eq!(m.finished_at, "2026-11-24T13:00:09Z");
        assert_eq!(m.duration_ms, 9000);
        assert_eq!(
            m.interrupted.as_deref(),
            Some("shard 2/2: interrupted (Ctrl-C)")
        );
        assert_eq!(m.shard, None);
        assert_eq!(m.target.surfaces, vec![Surface::Api, Surface::Thothctl]);
        assert_eq!(m.target.base_url, "http://127.0.0.1:1");
    }

    #[test]
    fn refuses_runs_that_are_not_one_run() {
        let p = project(&[("a", 1), ("b", 1)]);
        let t = ("2026-11-24T13:00:00Z", "2026-11-24T13:00:01Z");
        let ok = || {
            vec![
                shard(1, vec![case("a", "c0")], t.0, t.1),
                shard(2, vec![case("b", "c0")], t.0, t.1),
            ]
        };
        assert!(merge_runs(&p, "h", ok()).is_ok());

        let mut v = ok();
        v[1].1.target.tenant = "other".into();
        let e = merge_runs(&p, "h", v).unwrap_err().to_string();
        assert!(e.contains("differ in tenant"), "{e}");

        let mut v = ok();
        v[1].1.target.mock_faults = vec!["webhook-unsigned".into()];
        let e = merge_runs(&p, "h", v).unwrap_err().to_string();
        assert!(e.contains("differ in mock faults"), "{e}");

        let mut v = ok();
        for (_, r) in &mut v {
            r.target.kind = "live".into();
        }
        let e = merge_runs(&p, "h", v).unwrap_err().to_string();
        assert!(e.contains("differ in GovAPI URL"), "{e}");

        let mut v = ok();
        v[1].1.shard = None;
        let e = merge_runs(&p, "h", v).unwrap_err().to_string();
        assert!(e.contains("is a shard and"), "{e}");

        let mut v = ok();
        v[1].1.cases.push(case("a", "c0"));
        let e = merge_runs(&p, "h", v).unwrap_err().to_string();
        assert!(e.contains("case `a::c0` is in both"), "{e}");

        let mut v = ok();
        v[1].1.cases.push(case("zz", "c0"));
        let e = merge_runs(&p, "h", v).unwrap_err().to_string();
        assert!(
            e.contains("`zz::c0`") && e.contains("not in the suites"),
            "{e}"
        );

        let e = merge_runs(&p, "other", ok()).unwrap_err().to_string();
        assert!(e.contains("the suites on disk hash to other"), "{e}");
        assert!(matches!(
            merge_runs(&p, "h", vec![]),
            Err(MergeError::Empty)
        ));
    }
}
