//! Where each case is written: its suite file (as reports show it) and the line of its
//! `id`, so CI annotations and JUnit consumers point at the case, not at line 1.

use std::collections::BTreeMap;
use std::path::Path;

use super::load::{suite_source_index, Project};

/// A case's place in its suite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `/`-separated, as reports show it (`suites/<phase>.yaml` for built-in suites).
    pub file: String,
    pub line: u64,
}

/// `phase::case` → where it is written. A suite whose text cannot be read again (moved
/// since it was loaded) gets line 1 of its file rather than nothing.
pub fn case_locations(project: &Project) -> BTreeMap<String, Location> {
    let mut out = BTreeMap::new();
    for s in &project.suites {
        let file = s.path.to_string_lossy().replace('\\', "/");
        // As the loader reads it: `cases[i]` counts the cases `for_each` expands.
        let index = source(&s.path).map(|t| suite_source_index(&s.path, &t));
        for (i, case) in s.suite.cases.iter().enumerate() {
            let line = index
                .as_ref()
                .map_or(1, |ix| ix.locate(&format!("cases[{i}].id")).line);
            out.insert(
                format!("{}::{}", s.suite.phase, case.id),
                Location {
                    file: file.clone(),
                    line: line.max(1),
                },
            );
        }
    }
    out
}

/// The file's text: on disk, else the built-in copy of that repository path.
fn source(path: &Path) -> Option<String> {
    if let Ok(t) = std::fs::read_to_string(path) {
        return Some(t);
    }
    let shown = path.to_string_lossy().replace('\\', "/");
    super::embedded::FILES
        .iter()
        .find(|(rel, _)| *rel == shown)
        .and_then(|(_, b)| String::from_utf8(b.to_vec()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_cases_point_at_the_line_of_their_id() {
        let dirs = crate::suite::embedded::resolve(None, None).unwrap();
        let mut project = crate::suite::load::load_project(&dirs.suites, &dirs.fixtures).unwrap();
        for s in &mut project.suites {
            s.path = crate::suite::embedded::shown_path(&dirs, &s.path);
        }
        let locs = case_locations(&project);
        assert!(locs.len() > 20);
        for (name, loc) in &locs {
            let (_, case) = name.split_once("::").unwrap();
            let text = crate::suite::embedded::FILES
                .iter()
                .find(|(r, _)| *r == loc.file)
                .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_else(|| panic!("{name}: {} is not a built-in file", loc.file));
            let line = text.lines().nth(loc.line as usize - 1).unwrap();
            assert!(
                line.contains(&format!("id: {case}")),
                "{name}: line {} is `{line}`",
                loc.line
            );
        }
    }
}
