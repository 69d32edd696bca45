//! The run lock: one run at a time per state file.
//!
//! Two runs on one state (a cron run overlapping a manual one) would each plan the same
//! lookups and pay for them twice, so a run holds an exclusive lock for its whole
//! duration. The lock is an OS file lock ([`File::try_lock`], `flock(2)` on Linux) on a
//! sidecar file next to the state, `<state>.lock`, rather than one of SQLite's locks:
//!
//! - the kernel drops it when the holding process exits for any reason, SIGKILL included,
//!   so a killed run never leaves a stale lock to clean up by hand;
//! - it leaves the database itself unlocked, so read-only commands (`firmo report`,
//!   `sync --dry-run`) keep working while a run holds it (SQLite's `locking_mode =
//!   EXCLUSIVE` would shut readers out of a WAL file too);
//! - the sidecar carries who holds it (pid, host, command, start), which the second run's
//!   error shows.
//!
//! The sidecar is never deleted: a process that unlinks it would let a newcomer lock a
//! fresh file while a third process still holds the old one, and two runs would proceed.
//! `flock` is not reliable on some network file systems; keep the state on a local disk.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use firmo_core::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::{Store, StoreError};

/// Who holds (or wants) a run lock; written into the sidecar file so that a second run
/// can say who is in its way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    /// The command line or command name, e.g. `firmo sync --crm hubspot`.
    pub command: String,
    pub started_at: UnixMillis,
}

impl LockHolder {
    /// This process, running `command` since `started_at` (the store reads no clock).
    pub fn this_process(command: impl Into<String>, started_at: UnixMillis) -> LockHolder {
        LockHolder {
            pid: std::process::id(),
            host: hostname(),
            command: command.into(),
            started_at,
        }
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` (pid {} on {}, started {})",
            self.command,
            self.pid,
            self.host,
            utc(self.started_at)
        )
    }
}

/// Formats an instant as `YYYY-MM-DD HH:MM:SS UTC` for messages.
fn utc(at: UnixMillis) -> String {
    let secs = at.0.div_euclid(1000).rem_euclid(86_400);
    match at.date() {
        Some(date) => format!(
            "{date} {:02}:{:02}:{:02} UTC",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ),
        None => format!("at {} ms after the epoch", at.0),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".to_owned())
}

/// The sidecar lock file of the state file at `state`: `<state>.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// An exclusive run lock on a state file, held until dropped (or until the process ends,
/// however it ends). Take it with [`RunLock::acquire`] or [`Store::lock_for_run`].
#[derive(Debug)]
pub struct RunLock {
    /// `None` for an in-memory store, which no other process can share, and for
    /// PostgreSQL.
    file: Option<File>,
    /// The advisory lock of a PostgreSQL state (see `pg/lock.rs`).
    _pg: Option<crate::pg::lock::PgLock>,
    path: PathBuf,
}

impl RunLock {
    /// Takes the run lock of the state file at `state` for `holder`, without waiting:
    /// [`StoreError::Locked`] names the current holder when another run has it.
    pub fn acquire(state: &Path, holder: &LockHolder) -> Result<RunLock, StoreError> {
        let path = lock_path(state);
        let io_error = |source| StoreError::Lock {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_error)?;
        }
        // No truncation here: the file may be another run's, holding its identity.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    state: state.to_path_buf(),
                    holder: read_holder(&mut file),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }
        let text = serde_json::to_string(holder).map_err(|e| io_error(e.into()))?;
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(text.as_bytes()))
            .map_err(io_error)?;
        tracing::debug!(lock = %path.display(), %holder, "took the run lock");
        Ok(RunLock {
            file: Some(file),
            _pg: None,
            path,
        })
    }

    /// The sidecar file this lock is held on (for PostgreSQL, the state's URL).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The holder recorded in a lock file, if it can be read. A holder that has just taken
/// the lock may not have written itself yet: that reads as `None`.
fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Forget the holder first so nobody reads a finished run as the holder; a
            // failure here is harmless (the next holder overwrites it).
            let _ = file.set_len(0);
            let _ = file.unlock();
        }
    }
}

impl Store {
    /// Takes the run lock of this store's file for `holder` (see [`RunLock::acquire`]);
    /// on PostgreSQL, a session advisory lock on the store's own connection, released
    /// when the lock is dropped or the connection ends (the process killed included).
    /// Commands that write (`sync`, `enrich`, imports) hold it for their whole duration;
    /// read-only commands don't take it. An in-memory store is private to this process,
    /// so its lock always succeeds and guards nothing.
    pub fn lock_for_run(&self, holder: &LockHolder) -> Result<RunLock, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                op: "taking the run lock on",
                path: self.path.clone(),
            });
        }
        if let crate::Db::Postgres(pg) = self.db() {
            let lock =
                crate::pg::lock::acquire(pg, &self.path, crate::pg::lock::STATE, false, holder)?;
            return Ok(RunLock {
                file: None,
                _pg: Some(lock),
                path: self.path.clone(),
            });
        }
        if self.path == Path::new(":memory:") {
            return Ok(RunLock {
                file: None,
                _pg: None,
                path: self.path.clone(),
            });
        }
        RunLock::acquire(&self.path, holder)
    }
}

impl Store {
    /// Takes the run lock of one portal (`crm`, `portal`) for `holder`: what a fleet
    /// worker holds while it syncs that portal. On PostgreSQL runs on different portals
    /// proceed side by side, a second run on the same portal is [`StoreError::Locked`]
    /// naming the first, and a whole-state lock ([`Store::lock_for_run`]) and portal
    /// locks exclude each other. An SQLite file has one lock for everything: this is
    /// [`Store::lock_for_run`].
    pub fn lock_portal(
        &self,
        crm: &str,
        portal: &str,
        holder: &LockHolder,
    ) -> Result<RunLock, StoreError> {
        if let crate::Db::Postgres(pg) = self.db()
            && !self.read_only
        {
            let scope = crate::pg::lock::portal_scope(crm, portal);
            let lock = crate::pg::lock::acquire(pg, &self.path, &scope, true, holder)?;
            return Ok(RunLock {
                file: None,
                _pg: Some(lock),
                path: self.path.clone(),
            });
        }
        self.lock_for_run(holder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(command: &str) -> LockHolder {
        LockHolder::this_process(command, UnixMillis(1_764_000_000_000))
    }

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_the_state_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let first = RunLock::acquire(&state, &holder("firmo sync --crm hubspot")).unwrap();
        assert_eq!(first.path(), dir.path().join("state.db.lock"));

        let err = RunLock::acquire(&state, &holder("firmo enrich")).unwrap_err();
        let StoreError::Locked {
            state: ref named,
            holder: Some(ref who),
        } = err
        else {
            panic!("expected Locked with a holder, got {err:?}");
        };
        assert_eq!(named, &state);
        assert_eq!(who.command, "firmo sync --crm hubspot");
        assert_eq!(who.pid, std::process::id());
        let msg = err.to_string();
        assert!(msg.contains(&state.display().to_string()), "{msg}");
        assert!(msg.contains("`firmo sync --crm hubspot` (pid "), "{msg}");
        assert!(msg.contains("started 2025-11-24 16:00:00 UTC"), "{msg}");
        assert!(msg.contains("wait for it to finish"), "{msg}");
    }

    #[test]
    fn dropping_the_lock_lets_the_next_run_take_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let first = RunLock::acquire(&state, &holder("first")).unwrap();
        drop(first);
        assert_eq!(
            std::fs::read_to_string(lock_path(&state)).unwrap(),
            "",
            "a released lock names no holder"
        );
        let second = RunLock::acquire(&state, &holder("second")).unwrap();
        let text = std::fs::read_to_string(second.path()).unwrap();
        assert!(text.contains("\"second\""), "{text}");
    }

    #[test]
    fn a_holder_not_yet_recorded_still_refuses_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let held = File::create(lock_path(&state)).unwrap();
        held.try_lock().unwrap();
        let err = RunLock::acquire(&state, &holder("second")).unwrap_err();
        assert!(
            matches!(err, StoreError::Locked { holder: None, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("another firmo run"), "{err}");
    }

    #[test]
    fn an_unusable_lock_location_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the lock file would go.
        std::fs::create_dir(dir.path().join("state.db.lock")).unwrap();
        let err = RunLock::acquire(&dir.path().join("state.db"), &holder("x")).unwrap_err();
        assert!(matches!(err, StoreError::Lock { .. }), "{err:?}");
        assert!(err.to_string().contains("state.db.lock"), "{err}");
    }

    #[test]
    fn a_store_locks_its_own_file_and_an_in_memory_store_always_locks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        let _held = store.lock_for_run(&holder("a")).unwrap();
        let other = Store::open(dir.path().join("s.db")).unwrap();
        assert!(matches!(
            other.lock_for_run(&holder("b")),
            Err(StoreError::Locked { .. })
        ));
        let memory = Store::open_in_memory().unwrap();
        let _a = memory.lock_for_run(&holder("a")).unwrap();
        let _b = memory.lock_for_run(&holder("b")).unwrap();
    }

    #[test]
    fn times_format_as_utc() {
        assert_eq!(utc(UnixMillis(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(UnixMillis(90_061_000)), "1970-01-02 01:01:01 UTC");
    }
}
