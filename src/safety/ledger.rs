//! The ledger: every record a run creates on the tenant, one JSON line per event,
//! written the moment it happens (append, flush, and for a live tenant fsync), so a run
//! killed with SIGKILL still leaves a file `cleanup --ledger` can finish the job from.
//! The undo's marks are written as they happen and synced once at its end (a settings
//! restore at once): one that the machine loses only makes a later cleanup send an
//! undo again that accepts the record being gone.
//!
//! Lines (`op` tells them apart):
//! - `begin`: `{op, run_id, target_kind, govapi_url, tenant, harness_version, at}`, first line.
//! - `created`: `{op, seq, kind, id, phase?, case?, step?, at, undo?: {method, path, body?,
//!   ok_status[]}, note?}`; `path` is relative to `{govapi_url}/{tenant}`; no `undo`
//!   means append-only ("cannot delete").
//! - `undone`: `{op, ref, status, at}`; `undo_failed`: `{op, ref, status?, message, at}`;
//!   `released`: `{op, ref, message, at}` (nothing to undo: e.g. a lease race lost before
//!   anything of this run changed the tenant).
//! - A `created` line with `lost` set is a record the server created whose id the run
//!   could not learn: no undo can be written, so it stays pending (cleanup incomplete,
//!   exit 6) and says what to remove by hand.
//!
//! No credential is ever written: undo requests carry the target's credential when sent.
//! The file is private (0600, set on every open) and locked (flock) by the process that
//! has it open, so two runs or a run and a `cleanup` never write one ledger at once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::suite::model::ResourceKind;
use crate::target::TargetKind;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("failed to write the ledger {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to read the ledger {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to read the ledger {}: line {line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("failed to read the ledger {}: it has no `begin` line", path.display())]
    NoBegin { path: PathBuf },
    #[error(
        "failed to open the ledger {}: another run or cleanup has it open (locked); give this run its own --ledger or --reports",
        path.display()
    )]
    InUse { path: PathBuf },
}

/// The request that takes a record back.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct UndoRequest {
    pub method: String,
    /// Relative to `{govapi_url}/{tenant}`, e.g. `/thoth/api-keys/key_1`.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Statuses that count as undone; empty means any 2xx or 404.
    #[serde(default)]
    pub ok_status: Vec<u16>,
}

impl UndoRequest {
    pub fn accepts(&self, status: u16) -> bool {
        if self.ok_status.is_empty() {
            (200..300).contains(&status) || status == 404
        } else {
            self.ok_status.contains(&status)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Begin {
    pub run_id: String,
    /// `mock` or `live`: a mock's ledger dies with its process.
    pub target_kind: String,
    pub govapi_url: String,
    pub tenant: String,
    pub harness_version: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Created {
    pub seq: u64,
    pub kind: ResourceKind,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<UndoRequest>,
    /// Why there is no undo, or how the undo was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The server created something the run could not identify (why, and what to look
    /// for): pending until a person removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Line {
    Begin(Begin),
    Created(Created),
    Undone {
        #[serde(rename = "ref")]
        of: u64,
        status: u16,
        at: String,
    },
    UndoFailed {
        #[serde(rename = "ref")]
        of: u64,
        #[serde(default)]
        status: Option<u16>,
        message: String,
        at: String,
    },
    Released {
        #[serde(rename = "ref")]
        of: u64,
        message: String,
        at: String,
    },
}

/// An open ledger, shared by the phases of a run (they append concurrently).
pub struct Ledger {
    path: PathBuf,
    /// The run the `begin` line names.
    run_id: String,
    /// A live tenant's ledger: what was created is synced line by line, since the
    /// tenant outlives this process and its machine. A mock's ledger dies with its
    /// process (`cleanup` refuses one), so nothing in it waits for the disk.
    durable: bool,
    inner: Mutex<Inner>,
}

struct Inner {
    file: File,
    next_seq: u64,
    /// How many times this ledger waited for the disk (see [`Ledger::syncs`]).
    syncs: u64,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

/// When a line is on the disk, not only written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sync {
    /// Synced before the caller moves on.
    Now,
    /// Written (a killed process loses nothing written) and synced by the next
    /// [`Ledger::sync`] or [`Sync::Now`] line.
    Later,
}

fn write_line(inner: &mut Inner, line: &Line, sync: Sync) -> std::io::Result<()> {
    let file = &mut inner.file;
    let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
    text.push('\n');
    // One write per line: a SIGKILL right after a record was created leaves it in the
    // file, as the kernel holds what was written. The sync is for the machine going
    // down too.
    file.write_all(text.as_bytes())?;
    file.flush()?;
    if sync == Sync::Now {
        file.sync_data()?;
        inner.syncs += 1;
    }
    Ok(())
}

/// How long a held ledger lock is retried before the ledger reads as in use.
#[cfg(unix)]
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(1000);
#[cfg(unix)]
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// Opens (creating) `path` private and locked for this process: 0600 whatever mode an
/// existing file had, and an exclusive flock held as long as the file stays open.
fn open_locked(path: &Path) -> Result<File, LedgerError> {
    let err = |source| LedgerError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut opts = OpenOptions::new();
    opts.create(true).read(true).append(true);
    #[cfg(unix)]
    {
        // The settings snapshot is whatever the server returns on GET: keep it private.
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let file = opts.open(path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // `mode` applies only to a file this open created: tighten one that was there.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
        use rustix::fs::{flock, FlockOperation};
        // A flock belongs to the open file, and a child this process spawns on another
        // thread holds a copy of every descriptor from its fork until its exec closes
        // them (O_CLOEXEC): a ledger this process just closed can read as locked for
        // those milliseconds. Another run's lock lasts its whole run, so a short retry
        // tells the two apart and still refuses a concurrent run.
        let mut waited = std::time::Duration::ZERO;
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(e) if e == rustix::io::Errno::WOULDBLOCK && waited < LOCK_GRACE => {
                    std::thread::sleep(LOCK_RETRY);
                    waited += LOCK_RETRY;
                }
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    return Err(LedgerError::InUse {
                        path: path.to_owned(),
                    })
                }
                Err(e) => return Err(err(e.into())),
            }
        }
    }
    Ok(file)
}

/// A ledger file opened and locked, before anything is written to it: what it already
/// holds decides whether a new run may start it afresh.
pub struct Claimed {
    path: PathBuf,
    file: File,
    /// The previous content, if any: `Ok(None)` for an empty or new file.
    pub previous: Result<Option<Replay>, LedgerError>,
}

impl Claimed {
    pub fn open(path: &Path) -> Result<Claimed, LedgerError> {
        let file = open_locked(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| LedgerError::Read {
            path: path.to_owned(),
            source,
        })?;
        let previous = if text.trim().is_empty() {
            Ok(None)
        } else {
            Replay::parse(path, &text).map(Some)
        };
        Ok(Claimed {
            path: path.to_owned(),
            file,
            previous,
        })
    }

    /// Starts the ledger afresh (the caller decided the previous content may go).
    pub fn start(self, begin: Begin) -> Result<Ledger, LedgerError> {
        let err = |source| LedgerError::Write {
            path: self.path.clone(),
            source,
        };
        // Truncated under the lock, so no other process can have written in between.
        self.file.set_len(0).map_err(err)?;
        let mut inner = Inner {
            file: self.file,
            next_seq: 1,
            syncs: 0,
        };
        let run_id = begin.run_id.clone();
        let durable = begin.target_kind != TargetKind::Mock.as_str();
        let sync = if durable { Sync::Now } else { Sync::Later };
        write_line(&mut inner, &Line::Begin(begin), sync).map_err(err)?;
        Ok(Ledger {
            path: self.path,
            run_id,
            durable,
            inner: Mutex::new(inner),
        })
    }
}

impl Ledger {
    /// Starts a new ledger at `path` (replacing any file there) with its `begin` line.
    pub fn create(path: &Path, begin: Begin) -> Result<Ledger, LedgerError> {
        Claimed::open(path)?.start(begin)
    }

    /// Reopens an existing ledger for appending (cleanup after a crash).
    pub fn open_append(path: &Path) -> Result<(Ledger, Replay), LedgerError> {
        if !path.is_file() {
            // Not created here: a mistyped path is an error, not a new empty ledger.
            return Err(LedgerError::Read {
                path: path.to_owned(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let claimed = Claimed::open(path)?;
        let replay = match claimed.previous {
            Ok(Some(r)) => r,
            Ok(None) => return Err(LedgerError::NoBegin { path: path.into() }),
            Err(e) => return Err(e),
        };
        let next_seq = replay.created.keys().max().map_or(1, |m| m + 1);
        Ok((
            Ledger {
                path: path.to_owned(),
                run_id: replay.begin.run_id.clone(),
                durable: replay.begin.target_kind != TargetKind::Mock.as_str(),
                inner: Mutex::new(Inner {
                    file: claimed.file,
                    next_seq,
                    syncs: 0,
                }),
            },
            replay,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// `Sync::Now` where the ledger is durable; a mock's never waits for the disk.
    fn now_if_durable(&self) -> Sync {
        if self.durable {
            Sync::Now
        } else {
            Sync::Later
        }
    }

    fn append(&self, line: &Line, sync: Sync) -> Result<(), LedgerError> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        write_line(&mut g, line, sync).map_err(|source| LedgerError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Puts every line written so far on the disk (a durable ledger's marks are
    /// written one by one and synced here, once, at the end of an undo).
    pub fn sync(&self) -> Result<(), LedgerError> {
        if !self.durable {
            return Ok(());
        }
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.file.sync_data().map_err(|source| LedgerError::Write {
            path: self.path.clone(),
            source,
        })?;
        g.syncs += 1;
        Ok(())
    }

    /// How many times this ledger has waited for the disk: one per record created on a
    /// live tenant and one per undo, none for a mock's.
    pub fn syncs(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).syncs
    }

    /// Records a created record; `seq` is assigned here. Returns the entry as written.
    pub fn record(&self, mut created: Created) -> Result<Created, LedgerError> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        created.seq = g.next_seq;
        g.next_seq += 1;
        let sync = self.now_if_durable();
        write_line(&mut g, &Line::Created(created.clone()), sync).map_err(|source| {
            LedgerError::Write {
                path: self.path.clone(),
                source,
            }
        })?;
        Ok(created)
    }

    /// Written, not yet synced (see [`Ledger::sync`]): a mark lost with the machine
    /// makes a later `cleanup --ledger` send that undo again, which accepts the 404 of
    /// a record already gone.
    pub fn mark_undone(&self, seq: u64, status: u16) -> Result<(), LedgerError> {
        self.append(
            &Line::Undone {
                of: seq,
                status,
                at: now(),
            },
            Sync::Later,
        )
    }

    /// Nothing to undo for this entry (said why); it counts as done.
    pub fn mark_released(&self, seq: u64, message: &str) -> Result<(), LedgerError> {
        self.append(
            &Line::Released {
                of: seq,
                message: message.to_owned(),
                at: now(),
            },
            self.now_if_durable(),
        )
    }

    pub fn mark_failed(
        &self,
        seq: u64,
        status: Option<u16>,
        message: &str,
    ) -> Result<(), LedgerError> {
        self.append(
            &Line::UndoFailed {
                of: seq,
                status,
                message: message.to_owned(),
                at: now(),
            },
            Sync::Later,
        )
    }
}

pub fn now() -> String {
    crate::stamp::now_rfc3339()
}

/// A ledger read back: what was created and what has been undone since.
#[derive(Debug, Clone)]
pub struct Replay {
    pub begin: Begin,
    pub created: BTreeMap<u64, Created>,
    pub undone: BTreeMap<u64, u16>,
    /// Last failure per entry (cleared in effect by a later `undone`).
    pub failed: BTreeMap<u64, String>,
    /// A last line cut short (the process died mid-write); it is ignored.
    pub truncated_tail: bool,
}

impl Replay {
    pub fn read(path: &Path) -> Result<Replay, LedgerError> {
        let text = std::fs::read_to_string(path).map_err(|source| LedgerError::Read {
            path: path.to_owned(),
            source,
        })?;
        Replay::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Replay, LedgerError> {
        let mut begin = None;
        let mut created = BTreeMap::new();
        let mut undone = BTreeMap::new();
        let mut failed = BTreeMap::new();
        let mut truncated_tail = false;
        let lines: Vec<&str> = text.split('\n').collect();
        for (i, raw) in lines.iter().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let line: Line = match serde_json::from_str(raw) {
                Ok(l) => l,
                // Only the last line can be half written (every line is fsynced whole).
                Err(_) if i + 1 == lines.len() => {
                    truncated_tail = true;
                    continue;
                }
                Err(e) => {
                    return Err(LedgerError::Parse {
                        path: path.to_owned(),
                        line: i + 1,
                        message: e.to_string(),
                    })
                }
            };
            match line {
                Line::Begin(b) => begin = Some(b),
                Line::Created(c) => {
                    created.insert(c.seq, c);
                }
                Line::Undone { of, status, .. } => {
                    undone.insert(of, status);
                }
                Line::UndoFailed { of, message, .. } => {
                    failed.insert(of, message);
                }
                Line::Released { of, .. } => {
                    // Done with nothing sent: status 0 says no request answered.
                    undone.insert(of, 0);
                }
            }
        }
        let begin = begin.ok_or_else(|| LedgerError::NoBegin {
            path: path.to_owned(),
        })?;
        Ok(Replay {
            begin,
            created,
            undone,
            failed,
            truncated_tail,
        })
    }

    /// Entries with an undo that has not succeeded yet, newest first (the undo order).
    pub fn pending(&self) -> Vec<&Created> {
        self.created
            .values()
            .rev()
            .filter(|c| (c.undo.is_some() || c.lost.is_some()) && !self.undone.contains_key(&c.seq))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lock released within the grace (a spawned child's copy of the descriptor,
    /// closed at its exec) is waited for; one held longer (another run) is refused.
    #[cfg(unix)]
    #[test]
    fn a_lock_released_within_the_grace_is_taken_and_a_held_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let held = open_locked(&path).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(150));
            drop(held);
        });
        let second = open_locked(&path).expect("the lock was released within the grace");
        release.join().unwrap();
        let refused = open_locked(&path);
        assert!(
            matches!(refused, Err(LedgerError::InUse { .. })),
            "{refused:?}"
        );
        drop(second);
    }

    fn begin() -> Begin {
        Begin {
            run_id: "0badc0de".into(),
            target_kind: "live".into(),
            govapi_url: "http://127.0.0.1:9".into(),
            tenant: "acme".into(),
            harness_version: "0".into(),
            at: now(),
        }
    }

    fn key(id: &str) -> Created {
        Created {
            seq: 0,
            kind: ResourceKind::ApiKey,
            id: id.into(),
            phase: Some("scoped_keys".into()),
            case: None,
            step: None,
            at: now(),
            undo: Some(UndoRequest {
                method: "DELETE".into(),
                path: format!("/thoth/api-keys/{id}"),
                body: None,
                ok_status: Vec::new(),
            }),
            note: None,
            lost: None,
        }
    }

    #[test]
    fn append_then_replay_gives_pending_in_reverse_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ledger.jsonl");
        let ledger = Ledger::create(&path, begin()).unwrap();
        let a = ledger.record(key("key_a")).unwrap();
        let b = ledger.record(key("key_b")).unwrap();
        let mut ep = key("ep-1");
        ep.kind = ResourceKind::Endpoint;
        ep.undo = None;
        ledger.record(ep).unwrap();
        assert_eq!((a.seq, b.seq), (1, 2));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the ledger is private");
        }
        ledger.mark_undone(a.seq, 204).unwrap();
        let replay = Replay::read(&path).unwrap();
        assert_eq!(replay.begin.tenant, "acme");
        assert_eq!(replay.created.len(), 3);
        let pending: Vec<&str> = replay.pending().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            pending,
            vec!["key_b"],
            "undone and append-only entries are not pending"
        );
    }

    /// A live tenant's ledger waits for the disk on each record it holds and once for
    /// the marks of an undo; a mock's never does, and both have every line in the file
    /// as soon as the call returns (which is what a SIGKILL leaves).
    #[test]
    fn a_live_ledger_syncs_each_record_and_a_mock_ledger_none() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, expected) in [("live", [1, 3, 4, 5]), ("mock", [0, 0, 0, 0])] {
            let path = dir.path().join(format!("{kind}.jsonl"));
            let ledger = Ledger::create(
                &path,
                Begin {
                    target_kind: kind.into(),
                    ..begin()
                },
            )
            .unwrap();
            let after_begin = ledger.syncs();
            let a = ledger.record(key("key_a")).unwrap();
            ledger.record(key("key_b")).unwrap();
            let after_records = ledger.syncs();
            ledger.mark_undone(a.seq, 204).unwrap();
            ledger.mark_failed(2, Some(500), "boom").unwrap();
            let replay = Replay::read(&path).unwrap();
            assert_eq!(
                replay.pending().len(),
                1,
                "{kind}: the marks are in the file"
            );
            let after_marks = ledger.syncs();
            ledger.sync().unwrap();
            let after_sync = ledger.syncs();
            ledger.mark_released(2, "gone").unwrap();
            assert_eq!(
                [after_begin, after_records, after_sync, ledger.syncs()],
                expected,
                "{kind}"
            );
            assert_eq!(after_marks, after_records, "{kind}: marks wait for sync()");
        }
    }

    #[test]
    fn a_half_written_last_line_is_ignored_but_a_broken_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let ledger = Ledger::create(&path, begin()).unwrap();
        ledger.record(key("key_a")).unwrap();
        drop(ledger);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"op\":\"created\",\"seq\":2,\"ki");
        let replay = Replay::parse(&path, &text).unwrap();
        assert!(replay.truncated_tail);
        assert_eq!(replay.pending().len(), 1);

        let broken =
            format!("{text}\n{{\"op\":\"undone\",\"ref\":1,\"status\":204,\"at\":\"x\"}}\n");
        let err = Replay::parse(&path, &broken).unwrap_err();
        assert!(matches!(err, LedgerError::Parse { line: 3, .. }), "{err}");
        assert!(Replay::parse(&path, "").is_err(), "no begin line");
    }

    #[test]
    fn reopening_continues_the_sequence_and_undo_status_rules_apply() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let ledger = Ledger::create(&path, begin()).unwrap();
        ledger.record(key("key_a")).unwrap();
        drop(ledger);
        let (ledger, replay) = Ledger::open_append(&path).unwrap();
        assert_eq!(replay.pending().len(), 1);
        let c = ledger.record(key("key_b")).unwrap();
        assert_eq!(c.seq, 2);
        ledger.mark_failed(2, Some(500), "boom").unwrap();
        let replay = Replay::read(&path).unwrap();
        assert_eq!(replay.failed.get(&2).map(String::as_str), Some("boom"));
        assert_eq!(replay.pending().len(), 2, "a failed undo is still pending");

        let undo = c.undo.unwrap();
        assert!(undo.accepts(204) && undo.accepts(404) && !undo.accepts(500));
        let strict = UndoRequest {
            ok_status: vec![200],
            ..undo
        };
        assert!(strict.accepts(200) && !strict.accepts(404));
    }
}
