//! firmo's state: the provider cache, sync cursors, the write journal, run history and the
//! credit ledger, in one embedded SQLite file (`.firmo/state.db` by default) or, when the
//! state location is a `postgres://` URL, in a PostgreSQL database shared by several
//! processes or machines.
//!
//! The API is synchronous: [`Store`] is `Send` (not `Sync`), so an async caller owns it on
//! one thread or moves it into `spawn_blocking`. Reads take `&self`; writes take `&mut
//! self`, and each write call is one transaction. To record many things atomically and
//! cheaply (one commit, one fsync), group them with [`Store::write`]:
//!
//! ```
//! use firmo_core::UnixMillis;
//! use firmo_store::{LookupEntry, LookupStatus, RunStart, Store};
//!
//! # fn main() -> Result<(), firmo_store::StoreError> {
//! let mut store = Store::open_in_memory()?;
//! let run = store.start_run(&RunStart::new("sync", UnixMillis(1_000)))?;
//! let answer = LookupEntry::new("clearbit", "acme.com", UnixMillis(1_500), LookupStatus::Miss)
//!     .charged(1.0);
//! // The answer and its cost land together or not at all.
//! store.write(|w| {
//!     w.put_lookup(&answer)?;
//!     w.add_credits(run, "clearbit", 1.0, 1)
//! })?;
//! let cached = store.get_lookup("clearbit", "acme.com")?.unwrap();
//! assert_eq!(cached.status, LookupStatus::Miss);
//! # Ok(())
//! # }
//! ```
//!
//! # Two backends, one behaviour
//!
//! [`Store::open`] takes a path or a URL ([`is_postgres_url`] tells them apart) and
//! every method works the same on both: the same tables and columns, the same numbered
//! migrations from version 1 (SQLite's in `schema.rs`, PostgreSQL's dialect of them in
//! `pg/schema.rs`), the same errors. One conformance suite (`tests/conformance.rs`) runs
//! every test on both; `scripts/pg.sh` starts the throwaway server it needs. The backend
//! is an enum inside [`Store`], not a trait object: the set is closed, a [`Writer`]
//! borrows the connection for one transaction, and each method's `match` puts the two
//! dialects side by side. On PostgreSQL the connection lives on a thread of its own, so
//! the store can be called from inside a tokio runtime; a transaction is `BEGIN`, the
//! writer's statements and `COMMIT` on that connection. See `docs/storage.md` for how
//! each backend keeps each promise below.
//!
//! # Durability and consistency
//!
//! The file runs in WAL mode with foreign keys on and a busy timeout (several `firmo`
//! processes may share it; a writer waits for another instead of failing). Every write
//! is a transaction that commits whole or not at all: a process killed at any point,
//! even mid-transaction, leaves the last committed state, and a commit is safe from a
//! killed process the moment the call returns. That is what lets the engine store a
//! provider's answer *before* the CRM write that uses it and never pay twice.
//!
//! The default [`Durability::Normal`] (`synchronous = NORMAL`, SQLite's advice for WAL)
//! flushes to disk at checkpoints rather than at every commit: a power cut or OS crash
//! can lose the last few commits (worst case a lookup is paid again), never consistency.
//! [`Durability::Full`] survives that too, for an fsync per commit. Measured with
//! `examples/store_bench.rs` (release build, on the development VM's virtual disk):
//!
//! | pattern (two runs)                | `Normal`          | `Full`            |
//! |-------------------------------------|-------------------|-------------------|
//! | one answer per commit               | 12,500 /s         | 150–160 /s        |
//! | commits of 100 answers              | 55,000–99,000 /s  | 11,000–11,700 /s  |
//! | 10,000 answers in one transaction   | 73,000–74,000 /s  | 64,000–66,000 /s  |
//! | `get_lookups`                       | 95,000–170,000 keys/s (either)        |
//! | `last_writes`, 100 ids a call       | 120,000–180,000 ids/s (either)        |
//!
//! PostgreSQL 15 on the same VM, over loopback TCP with `fsync = on`, beside SQLite
//! measured in the same run (`FIRMO_PG_FSYNC=on scripts/pg.sh cargo run --release -p
//! firmo-store --example store_bench`; `Normal` is `synchronous_commit = off`, `Full` is
//! `on`). The VM was shared with other builds (load 12 on 2 cores), which is why the
//! SQLite column is lower than above; read the two side by side:
//!
//! | pattern (one run)                 | SQLite `Normal` | PostgreSQL `Normal` | SQLite `Full` | PostgreSQL `Full` |
//! |-----------------------------------|-----------------|---------------------|---------------|-------------------|
//! | one answer per commit             | 4,800 /s        | 380 /s              | 120 /s        | 85 /s             |
//! | commits of 100 answers            | 13,900 /s       | 8,300 /s            | 5,900 /s      | 4,100 /s          |
//! | 10,000 answers in one transaction | 23,300 /s       | 12,500 /s           | 21,600 /s     | 10,500 /s         |
//! | `get_lookups`, keys               | 36,000 /s       | 22,500 /s           | 49,000 /s     | 19,100 /s         |
//! | `record_writes`, 30,000 in one    | 26,700 /s       | 4,000 /s            | 31,400 /s     | 4,800 /s          |
//! | `last_writes`, 100 ids a call     | 29,000 ids/s    | 14,700 ids/s        | 28,900 ids/s  | 15,900 ids/s      |
//!
//! A PostgreSQL commit is three round trips (`BEGIN`, the statement, `COMMIT`), so one
//! answer per commit is bound by latency, which a loaded machine inflates most; batches
//! go as one statement per batch (arrays) and are within 2× of SQLite, except journal
//! writes, where the server's per-row foreign-key checks dominate.
//!
//! So recording each answer as it arrives is affordable; to record many things at once
//! (an answer and its charge, a page of outcomes) use one [`Store::write`]. Timestamps
//! are passed in by the caller ([`UnixMillis`]); the store reads no clock.
//!
//! # One run at a time, and readers beside it
//!
//! (On PostgreSQL: a session advisory lock on the store's own connection instead of the
//! sidecar file, the holder in the table `firmo_run_locks`, and a `READ ONLY` session for
//! readers; the server drops a killed run's lock when its connection closes.)
//!
//! A command that writes (`sync`, `enrich`, an import) takes the file's run lock for its
//! whole duration with [`Store::lock_for_run`]: an OS lock on the sidecar
//! `<state>.lock`, which names the holder (pid, host, command, start) so that a second
//! run fails with [`StoreError::Locked`] saying who is in the way. The kernel drops the
//! lock with the process, SIGKILL included. See [`RunLock`] for why not SQLite's locks.
//!
//! `firmo report` and `sync --dry-run` open the file with [`Store::open_read_only`]
//! instead: no lock, no migration, no file created, and it works while a run holds the
//! lock and on a file or directory the user may not write. Writes through it are
//! [`StoreError::ReadOnly`].
//!
//! A paid answer and its charge to the run commit together
//! ([`Store::put_lookup_charged`]), so a run killed halfway still shows what it spent.
//!
//! # Tables
//!
//! **`provider_cache`**: one row per (`provider`, `company_key`), the company key being the
//! normalized domain. `fetched_at` (ms) is when the latest answer arrived; `status` is
//! `hit`, `miss`, `pending` or `error`; `records` is the JSON array of normalized
//! [`firmo_core::ProviderRecord`]s; `error` the last error message; `retry_after` (ms) when
//! a pending lookup may be asked again; `credits` every credit ever charged for this key;
//! `attempts` how many answers in a row had the current status. A `pending` or `error`
//! answer keeps the records of an earlier hit (a failed refresh does not erase good
//! data); a `miss` clears them. See [`LookupEntry`].
//!
//! **`sync_cursors`**: (`crm`, `portal`, `name`) → `value`, `updated_at`: where the last
//! incremental pull stopped.
//!
//! **`runs`**: one row per `firmo` invocation that does work: `kind` (`sync`, `enrich`,
//! …), `crm`, `portal`, `started_at`, `finished_at`, `dry_run`, `outcome`, the effective
//! `config_json` and a `summary_json`. A run with no `finished_at` reads as
//! [`RunOutcome::Interrupted`].
//!
//! **`run_outcomes`**: exactly one row per (`run_id`, `account_id`): `domain`, `outcome`
//! (`written`, `unchanged`, `skipped`, `rejected`, `failed`), `reason`, `detail_json`.
//! Recording an account again in the same run replaces its outcome.
//!
//! **`run_credits`**: the credit ledger, per (`run_id`, `provider`): `credits` and
//! `lookups`, accumulated by [`Store::add_credits`].
//!
//! **`write_journal`**: append-only history of every CRM property value firmo wrote:
//! `run_id`, `crm`, `portal`, `record_id`, `property`, `value`, `written_at`.
//!
//! **`journal_latest`**: the newest `write_journal` row per (`crm`, `portal`, `record_id`,
//! `property`), kept in the same transaction, so [`Store::last_writes`] (the engine's
//! "did a human change it since?" check) is a primary-key lookup however long the
//! history grows.
//!
//! **`run_merged`**: per (`run_id`, `account_id`), the merged company and its quality
//! findings as JSON, for `firmo report` coverage. The bulk of the file over time:
//! [`Store::prune_merged`] keeps it to the newest runs.
//!
//! The schema version is `PRAGMA user_version` ([`SCHEMA_VERSION`]; on PostgreSQL the
//! table `firmo_schema`); opening a state applies the missing migrations and refuses one
//! from a newer firmo.

mod cache;
mod cursor;
mod error;
mod group;
mod journal;
mod leases;
mod lock;
mod pg;
mod runs;
mod schema;
mod spot_checks;
mod status;
// The PostgreSQL half of `spot_checks`, beside the other dialect files (declared here
// rather than in `pg/mod.rs`, which this change does not own).
#[path = "pg/leases.rs"]
mod pg_leases;
#[path = "pg/spot_checks.rs"]
mod pg_spot_checks;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

pub use cache::{CacheCount, CachedLookup, LookupEntry};
pub use error::StoreError;
pub use firmo_core::UnixMillis;
pub use journal::JournalEntry;
pub use lock::{LockHolder, RunLock, lock_path};
pub use pg::is_postgres_url;
pub use runs::{
    AccountOutcome, MergedSnapshot, OutcomeCounts, ProviderSpend, RunId, RunRecord, RunStart,
};
pub use schema::SCHEMA_VERSION;
pub use spot_checks::{SpotCheck, SpotVerdict};
pub use status::{LookupStatus, Outcome, RunOutcome};

use error::Context;

/// The default state file, relative to the working directory.
pub const DEFAULT_PATH: &str = ".firmo/state.db";

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// A returned commit survives a process kill; a power cut or OS crash may lose the
    /// last commits but never leaves the file inconsistent (`PRAGMA synchronous =
    /// NORMAL`). The default: about 80 times cheaper per commit than `Full`.
    #[default]
    Normal,
    /// Every commit is flushed before the call returns: also survives a power cut
    /// (`PRAGMA synchronous = FULL`).
    Full,
}

/// Options for [`Store::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long a write waits for another process's write to finish before failing.
    pub busy_timeout: Duration,
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            busy_timeout: Duration::from_secs(10),
            durability: Durability::Normal,
        }
    }
}

/// An open state: an SQLite file or a PostgreSQL database. See the [crate docs](crate)
/// for the tables.
#[derive(Debug)]
pub struct Store {
    conn: Conn,
    /// The file, or the PostgreSQL URL without its password.
    path: PathBuf,
    /// Opened with [`Store::open_read_only`]: every write is refused up front.
    read_only: bool,
    /// Inside [`Store::grouped`] with its transaction open: writes join it as savepoints.
    grouping: bool,
}

/// The backend behind a [`Store`]. An enum rather than a trait object: the set is closed
/// (two), a [`Writer`] borrows the connection for the length of one transaction, and a
/// `match` at the top of each method keeps each backend's SQL beside the other's while
/// the compiler insists that every method handles both.
#[derive(Debug)]
enum Conn {
    Sqlite(Connection),
    Postgres(pg::PgConn),
}

/// A borrowed [`Conn`], for one call or one transaction.
#[derive(Debug, Clone, Copy)]
enum Db<'a> {
    Sqlite(&'a Connection),
    Postgres(&'a pg::PgConn),
}

/// How `location` (a path or a `postgres://` URL) may be shown: a URL loses its password.
pub fn display_location(location: &Path) -> String {
    match location.to_str() {
        Some(url) if is_postgres_url(url) => pg::redact(url),
        _ => location.display().to_string(),
    }
}

/// A state location that is a PostgreSQL URL.
fn postgres_url(location: &Path) -> Option<&str> {
    location.to_str().filter(|s| is_postgres_url(s))
}

impl Store {
    /// Opens (creating it and its parent directories if needed) and migrates the state
    /// file at `path`, with default options. A `postgres://` or `postgresql://` URL in
    /// place of the path opens that PostgreSQL database instead (see
    /// [`Store::open_with`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, &StoreOptions::default())
    }

    /// Opens the state at `path` with `options`: an SQLite file, or, for a
    /// `postgres://…` URL, the tables in the connection's current schema (created and
    /// migrated as the file would be). On PostgreSQL `busy_timeout` bounds the connect
    /// and every wait for a row lock (`lock_timeout`), and [`Durability::Normal`] is
    /// `synchronous_commit = off`.
    pub fn open_with(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref();
        if let Some(url) = postgres_url(path) {
            let (conn, path) = pg::open(url, options, false, pg::schema::MIGRATIONS)?;
            return Ok(Store {
                conn: Conn::Postgres(conn),
                path,
                read_only: false,
                grouping: false,
            });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).ctx(path, "opening")?;
        Store::setup(conn, path.to_path_buf(), options, schema::MIGRATIONS)
    }

    /// A private in-memory store (for tests and `--dry-run` without a state file).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().ctx(&path, "opening")?;
        Store::setup(conn, path, &StoreOptions::default(), schema::MIGRATIONS)
    }

    fn setup(
        mut conn: Connection,
        path: PathBuf,
        options: &StoreOptions,
        migrations: &[&str],
    ) -> Result<Store, StoreError> {
        conn.busy_timeout(options.busy_timeout)
            .ctx(&path, "opening")?;
        // Room for every statement a sync prepares, the journal's batch shapes among them,
        // so none is compiled again for each page.
        conn.set_prepared_statement_cache_capacity(64);
        // The first statement that reads the file: a non-SQLite file fails here.
        let mode = enable_wal(&conn, &path, options.busy_timeout)?;
        if mode != "wal" && path != Path::new(":memory:") {
            tracing::warn!(path = %path.display(), mode, "state file is not in WAL mode");
        }
        let synchronous = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .ctx(&path, "opening")?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .ctx(&path, "opening")?;
        // Statement and savepoint journals in memory: each write inside a group
        // ([`Store::grouped`]) is a savepoint, and spilling their pages to a temporary file
        // doubled the kernel time of a large sync's store thread. They are freed as each
        // write ends; a writing connection runs no large sorts that would also land here.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .ctx(&path, "opening")?;
        schema::migrate(&mut conn, &path, migrations)?;
        Ok(Store {
            conn: Conn::Sqlite(conn),
            path,
            read_only: false,
            grouping: false,
        })
    }

    /// Opens the existing state file at `path` for reading only (`firmo report`, `sync
    /// --dry-run`): it creates, migrates and locks nothing, works on a file or directory
    /// this process may not write, and alongside a run that holds the run lock. Every
    /// write through it is [`StoreError::ReadOnly`].
    ///
    /// SQLite opens it with `SQLITE_OPEN_READ_ONLY`. A WAL-mode file needs its `-shm`
    /// index to be read safely beside a writer; when that index does not exist and
    /// cannot be created (a cleanly closed file in a directory we may not write), no
    /// writer with our rights can be running, so the file is reread as `immutable=1`
    /// (a snapshot without locking) instead of failing.
    ///
    /// On PostgreSQL the session is `READ ONLY` (the server refuses writes too), and a
    /// schema with no firmo tables is [`StoreError::Missing`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        if let Some(url) = postgres_url(path) {
            let (conn, path) =
                pg::open(url, &StoreOptions::default(), true, pg::schema::MIGRATIONS)?;
            return Ok(Store {
                conn: Conn::Postgres(conn),
                path,
                read_only: true,
                grouping: false,
            });
        }
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing {
                    path: path.to_path_buf(),
                });
            }
            _ => {}
        }
        match Store::open_ro_uri(path, false) {
            Err(StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            }) if matches!(
                e.code,
                ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied
            ) =>
            {
                tracing::debug!(
                    path = %path.display(),
                    error = %e,
                    "the WAL index is unavailable; reading the state file as immutable"
                );
                Store::open_ro_uri(path, true)
            }
            result => result,
        }
    }

    fn open_ro_uri(path: &Path, immutable: bool) -> Result<Store, StoreError> {
        const OP: &str = "opening read-only";
        let mut uri = file_uri(path);
        uri.push_str(if immutable {
            "?mode=ro&immutable=1"
        } else {
            "?mode=ro"
        });
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&uri, flags).ctx(path, OP)?;
        conn.busy_timeout(StoreOptions::default().busy_timeout)
            .ctx(path, OP)?;
        // The first read: a missing WAL index or a non-SQLite file fails here.
        schema::check_current(&conn, path, schema::MIGRATIONS.len() as i64)?;
        Ok(Store {
            conn: Conn::Sqlite(conn),
            path: path.to_path_buf(),
            read_only: true,
            grouping: false,
        })
    }

    /// Whether this store was opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The file this store reads and writes (`:memory:` for an in-memory store; the URL
    /// without its password for PostgreSQL).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this store keeps its state in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Postgres(_))
    }

    /// The connection, borrowed for one call.
    fn db(&self) -> Db<'_> {
        match &self.conn {
            Conn::Sqlite(conn) => Db::Sqlite(conn),
            Conn::Postgres(pg) => Db::Postgres(pg),
        }
    }

    /// The SQLite connection, for the tests of SQLite-only behaviour.
    #[cfg(test)]
    fn sqlite(&self) -> &Connection {
        match &self.conn {
            Conn::Sqlite(conn) => conn,
            Conn::Postgres(_) => panic!("an SQLite store was expected"),
        }
    }

    /// The schema version (equal to [`SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        match self.db() {
            Db::Sqlite(conn) => schema::version(conn, &self.path),
            Db::Postgres(pg) => pg.run(
                &self.path,
                "reading the schema version of",
                pg::schema::version,
            ),
        }
    }

    /// Runs `f` in one write transaction: everything it records commits together when it
    /// returns `Ok`, and nothing does when it returns `Err` or panics. Use it to batch the
    /// many small writes of a run (one commit instead of one per call).
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Writer<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                op: "writing to",
                path: self.path.clone(),
            });
        }
        let path = &self.path;
        let conn = match &mut self.conn {
            Conn::Sqlite(conn) => conn,
            Conn::Postgres(pg) => return pg_write(pg, path, f),
        };
        if self.grouping {
            return grouped_write(conn, path, f);
        }
        // IMMEDIATE takes the write lock up front, so a second process waits on the busy
        // timeout instead of failing when it upgrades a read lock mid-transaction.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(path, "starting a write to")?;
        let value = f(&Writer {
            conn: Db::Sqlite(&tx),
            path,
        })?;
        tx.commit().ctx(path, "committing a write to")?;
        Ok(value)
    }
}

/// [`Store::write`] inside [`Store::grouped`]: a savepoint in the group's transaction, so
/// an `Err` undoes this write alone. Once SQLite has rolled the group back by itself,
/// writes are refused rather than committed one by one behind the group's back: the
/// group's callers are all told their writes were lost, and these must be among them.
fn grouped_write<T>(
    conn: &mut Connection,
    path: &Path,
    f: impl FnOnce(&Writer<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if conn.is_autocommit() {
        return Err(StoreError::GroupLost {
            path: path.to_path_buf(),
        });
    }
    let savepoint = conn.savepoint().ctx(path, "starting a write to")?;
    let value = f(&Writer {
        conn: Db::Sqlite(&savepoint),
        path,
    })?;
    savepoint.commit().ctx(path, "committing a write to")?;
    Ok(value)
}

/// [`Store::write`] on PostgreSQL: `BEGIN`, the writer's statements as they come, then
/// `COMMIT`; an error or a panic in `f` rolls back (the guard's `Drop`).
fn pg_write<T>(
    pg: &pg::PgConn,
    path: &Path,
    f: impl FnOnce(&Writer<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    struct Rollback<'a> {
        pg: &'a pg::PgConn,
        path: &'a Path,
        open: bool,
    }
    impl Drop for Rollback<'_> {
        fn drop(&mut self) {
            if self.open {
                let _ = self.pg.run(self.path, "rolling back a write to", |s| {
                    s.batch("rolling back a write to", "ROLLBACK")
                });
            }
        }
    }
    const BEGIN: &str = "starting a write to";
    const COMMIT: &str = "committing a write to";
    pg.run(path, BEGIN, |s| s.batch(BEGIN, "BEGIN"))?;
    let mut guard = Rollback {
        pg,
        path,
        open: true,
    };
    let value = f(&Writer {
        conn: Db::Postgres(pg),
        path,
    })?;
    // Whatever COMMIT answers, the transaction is over: no ROLLBACK after it.
    guard.open = false;
    pg.run(path, COMMIT, |s| s.batch(COMMIT, "COMMIT"))?;
    Ok(value)
}

/// An SQLite URI (`file:` + the percent-encoded path) for `path`: `?`, `#` and `%` in a
/// file name would otherwise be read as URI syntax.
fn file_uri(path: &Path) -> String {
    use std::fmt::Write;
    let mut uri = String::from("file:");
    for byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(byte) {
            uri.push(char::from(*byte));
        } else {
            let _ = write!(uri, "%{byte:02X}");
        }
    }
    uri
}

/// Switches the file to WAL mode. The switch needs the file to itself for a moment and
/// SQLite reports `SQLITE_BUSY` without calling the busy handler when another connection
/// is opening it at the same time (seen with several processes opening a fresh file),
/// so retry with a short backoff, for as long as the busy timeout allows.
fn enable_wal(conn: &Connection, path: &Path, timeout: Duration) -> Result<String, StoreError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result.ctx(path, "opening"),
        }
    }
}

/// Records writes inside one [`Store::write`] transaction. Its methods mirror the
/// `Store` write methods of the same names.
#[derive(Debug)]
pub struct Writer<'a> {
    conn: Db<'a>,
    path: &'a Path,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Store>();
    }

    #[test]
    fn in_memory_store_is_migrated() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.path(), Path::new(":memory:"));
    }

    #[test]
    fn open_creates_parent_directories_and_uses_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/state.db");
        let store = Store::open(&path).unwrap();
        assert!(path.is_file());
        let mode: String = store
            .sqlite()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .sqlite()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn durability_sets_the_synchronous_pragma() {
        let dir = tempfile::tempdir().unwrap();
        let synchronous = |store: &Store| -> i64 {
            store
                .sqlite()
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap()
        };
        let normal = Store::open(dir.path().join("n.db")).unwrap();
        assert_eq!(synchronous(&normal), 1);
        let options = StoreOptions {
            durability: Durability::Full,
            ..StoreOptions::default()
        };
        let full = Store::open_with(dir.path().join("f.db"), &options).unwrap();
        assert_eq!(synchronous(&full), 2);
    }

    // Transactions, and everything else both backends do alike: tests/conformance.rs.
}
