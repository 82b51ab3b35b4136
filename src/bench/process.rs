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
/// phase `P` to `P_xK` (and its `after` names with it), so the copies are independent
/// phases of the same cases; `requirements.yaml` is copied once. Returns the files
/// written.
pub fn scale_suites(src: &Path, dst: &Path, copies: usize) -> std::io::Result<usize> {
    std::fs::create_dir_all(dst)?;
    let mut written = 0;
    let mut entries: Vec<_> = std::fs::read_dir(src)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path)?;
        let is_suite = text.lines().any(|l| l.starts_with("phase: "));
        if !is_suite {
            std::fs::write(dst.join(&name), text)?;
            written += 1;
            continue;
        }
        for k in 0..copies.max(1) {
            let stem = name.trim_end_matches(".yaml");
            let out = if k == 0 {
                text.clone()
            } else {
                rename_phases(&text, &format!("_x{k}"))
            };
            let file = if k == 0 {
                name.clone()
            } else {
                format!("{stem}_x{k}.yaml")
            };
            std::fs::write(dst.join(file), out)?;
            written += 1;
        }
    }
    Ok(written)
}

/// Suffixes the top-level `phase:` and the names of a one-line `after: [...]`.
fn rename_phases(text: &str, suffix: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if let Some(phase) = body.strip_prefix("phase: ") {
            out.push_str(&format!("phase: {}{suffix}{end}", phase.trim()));
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
            out.push_str(&format!("after: [{}]{end}", names.join(", ")));
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
            rename_phases(text, "_x2"),
            "# c\nphase: endpoints_x2\ntitle: t\nafter: [bootstrap_x2, mdm_x2]\ncases:\n  - id: x\n    phase: not_top_level\n"
        );
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("a.yaml"), "phase: a\n").unwrap();
        std::fs::write(src.path().join("requirements.yaml"), "requirements: []\n").unwrap();
        let dst = tempfile::tempdir().unwrap();
        assert_eq!(scale_suites(src.path(), dst.path(), 3).unwrap(), 4);
        assert_eq!(
            std::fs::read_to_string(dst.path().join("a_x2.yaml")).unwrap(),
            "phase: a_x2\n"
        );
    }
}
