//! Timing whole processes (the CLI as a user starts it), with their peak memory, and
//! generating N copies of the suites for the growth table of `bench --scale N`.

use std::path::Path;
use std::time::{Duration, Instant};

/// One finished child process.
#[derive(Debug, Clone, Copy)]
pub struct ProcRun {
    pub wall: Duration,
    /// Peak resident set (VmHWM), sampled every 5 ms while it ran; None off Linux.
    pub peak_rss_bytes: Option<u64>,
    pub exit: Option<i32>,
}

/// `VmHWM` of a running process, in bytes.
pub fn peak_rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `cmd` to the end, output discarded, timing it from spawn to exit.
pub async fn run_timed(cmd: &mut tokio::process::Command) -> std::io::Result<ProcRun> {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let mut peak = None;
    let status = loop {
        // VmHWM only grows, so the last sample before the exit is the peak (give or
        // take the last few milliseconds).
        if let Some(rss) = pid.and_then(peak_rss_of) {
            peak = Some(rss);
        }
        tokio::select! {
            status = child.wait() => break status?,
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    };
    Ok(ProcRun {
        wall: started.elapsed(),
        peak_rss_bytes: peak,
        exit: status.code(),
    })
}

/// Writes `copies` copies of every suite in `src` into `dst`: copy k > 0 renames each
/// phase `P` to `P_xK` (and its `after` names with it), runs after every phase of
/// copy k - 1, and makes the run-unique names of its `vars:` unique to the copy
/// (`{{run_id}}` becomes `{{run_id}}xK`). The copies share one tenant, one settings
/// document and one run id: side by side they changed each other's settings mid-case,
/// and in sequence the second copy found the first one's approval under the same
/// session (both seen with 3 copies). So the growth table measures the harness doing the
/// same work N times, not the copies colliding. `requirements.yaml` is copied once.
/// Returns the files written.
pub fn scale_suites(src: &Path, dst: &Path, copies: usize) -> std::io::Result<usize> {
    std::fs::create_dir_all(dst)?;
    let mut written = 0;
    let mut entries: Vec<_> = std::fs::read_dir(src)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    entries.sort();
    let mut suites = Vec::new();
    for path in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path)?;
        match top_level_phase(&text) {
            Some(phase) => suites.push((name, phase, text)),
            None => {
                std::fs::write(dst.join(&name), text)?;
                written += 1;
            }
        }
    }
    let phases: Vec<&str> = suites.iter().map(|(_, p, _)| p.as_str()).collect();
    for k in 0..copies.max(1) {
        for (name, _, text) in &suites {
            let (file, out) = if k == 0 {
                (name.clone(), text.clone())
            } else {
                let previous = if k == 1 {
                    String::new()
                } else {
                    format!("_x{}", k - 1)
                };
                let before: Vec<String> = phases.iter().map(|p| format!("{p}{previous}")).collect();
                let stem = name.trim_end_matches(".yaml");
                (
                    format!("{stem}_x{k}.yaml"),
                    rename_phases(text, &format!("_x{k}"), &before),
                )
            };
            std::fs::write(dst.join(file), out)?;
            written += 1;
        }
    }
    Ok(written)
}

/// The value of a top-level `phase:` line, if the file is a suite.
fn top_level_phase(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("phase: "))
        .map(|p| p.trim().to_owned())
}

/// Suffixes the top-level `phase:` and the names of a one-line `after: [...]`, adds
/// `also_after` to that list (creating it under `phase:` when the file has none), and
/// suffixes `{{run_id}}` in the top-level `vars:` block with the copy's number.
fn rename_phases(text: &str, suffix: &str, also_after: &[String]) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let unique_run_id = format!("{{{{run_id}}}}{}", suffix.trim_start_matches('_'));
    let mut in_vars = false;
    let has_after = text.lines().any(|l| l.starts_with("after: ["));
    let after_line = |own: Vec<String>, end: &str| {
        let mut names = own;
        names.extend(also_after.iter().cloned());
        format!("after: [{}]{end}", names.join(", "))
    };
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if body.starts_with(|c: char| !c.is_whitespace() && c != '#') {
            in_vars = body.starts_with("vars:");
        }
        if in_vars {
            out.push_str(&line.replace("{{run_id}}", &unique_run_id));
        } else if let Some(phase) = body.strip_prefix("phase: ") {
            out.push_str(&format!("phase: {}{suffix}{end}", phase.trim()));
            if !has_after && !also_after.is_empty() {
                if end.is_empty() {
                    out.push('\n');
                }
                out.push_str(&after_line(Vec::new(), "\n"));
            }
        } else if let Some(list) = body
            .strip_prefix("after: [")
            .and_then(|rest| rest.trim_end().strip_suffix(']'))
        {
            let names: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| format!("{n}{suffix}"))
                .collect();
            out.push_str(&after_line(names, end));
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_rename_phase_and_after_only() {
        let text = "# c\nphase: endpoints\ntitle: t\nafter: [bootstrap, mdm]\ncases:\n  - id: x\n    phase: not_top_level\n";
        assert_eq!(
            rename_phases(text, "_x2", &[]),
            "# c\nphase: endpoints_x2\ntitle: t\nafter: [bootstrap_x2, mdm_x2]\ncases:\n  - id: x\n    phase: not_top_level\n"
        );
        let text = "phase: p\nvars:\n  # {{run_id}}\n  agent: \"a-{{run_id}}\"\ncases:\n  - name: \"n-{{run_id}}\"\n";
        assert_eq!(
            rename_phases(text, "_x2", &[]),
            "phase: p_x2\nvars:\n  # {{run_id}}x2\n  agent: \"a-{{run_id}}x2\"\ncases:\n  - name: \"n-{{run_id}}\"\n"
        );
    }

    #[test]
    fn each_copy_runs_after_every_phase_of_the_one_before() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("a.yaml"), "phase: a\n").unwrap();
        std::fs::write(src.path().join("b.yaml"), "phase: b\nafter: [a]\n").unwrap();
        std::fs::write(src.path().join("requirements.yaml"), "requirements: []\n").unwrap();
        let dst = tempfile::tempdir().unwrap();
        assert_eq!(scale_suites(src.path(), dst.path(), 3).unwrap(), 7);
        let read = |f: &str| std::fs::read_to_string(dst.path().join(f)).unwrap();
        assert_eq!(read("a.yaml"), "phase: a\n");
        assert_eq!(read("a_x1.yaml"), "phase: a_x1\nafter: [a, b]\n");
        assert_eq!(read("b_x1.yaml"), "phase: b_x1\nafter: [a_x1, a, b]\n");
        assert_eq!(read("a_x2.yaml"), "phase: a_x2\nafter: [a_x1, b_x1]\n");
        assert_eq!(
            read("b_x2.yaml"),
            "phase: b_x2\nafter: [a_x2, a_x1, b_x1]\n"
        );
    }
}
