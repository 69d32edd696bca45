//! Schema migrations. `PRAGMA user_version` holds how many of [`MIGRATIONS`] a file has
//! had applied; opening a file applies the rest, each in its own transaction, so a crash
//! mid-migration leaves the file at the previous version. Migrations are append-only:
//! never edit a released one, add the next.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Context, StoreError};

/// `PRAGMA application_id` of a firmo state file ("FIRM" in ASCII), so firmo refuses to
/// migrate some other program's database that `--state` happens to point at.
pub(crate) const APPLICATION_ID: i32 = 0x4649_524D;

/// The schema version this firmo writes: the number of migrations.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Migration `i` takes a file from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1];

/// Version 1: the provider cache, sync cursors, the write journal, runs and what hangs
/// off them (account outcomes, the credit ledger, merged snapshots).
const V1: &str = "
CREATE TABLE provider_cache (
    provider     TEXT    NOT NULL,
    company_key  TEXT    NOT NULL,
    fetched_at   INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('hit', 'miss', 'pending', 'error')),
    records      TEXT    NOT NULL DEFAULT '[]',
    error        TEXT,
    retry_after  INTEGER,
    credits      REAL    NOT NULL DEFAULT 0 CHECK (credits >= 0),
    attempts     INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    PRIMARY KEY (provider, company_key)
) WITHOUT ROWID;
CREATE INDEX provider_cache_pending ON provider_cache (provider, retry_after)
    WHERE status = 'pending';

CREATE TABLE sync_cursors (
    crm         TEXT    NOT NULL,
    portal      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (crm, portal, name)
) WITHOUT ROWID;

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    crm          TEXT,
    portal       TEXT,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    dry_run      INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    outcome      TEXT CHECK (outcome IN ('ok', 'partial', 'failed', 'interrupted')),
    config_json  TEXT    NOT NULL,
    summary_json TEXT,
    CHECK ((finished_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX runs_kind ON runs (kind, id);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE write_journal (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    crm         TEXT    NOT NULL,
    portal      TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    property    TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    written_at  INTEGER NOT NULL
);
CREATE INDEX write_journal_run ON write_journal (run_id);

CREATE TABLE journal_latest (
    crm         TEXT    NOT NULL,
    portal      TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    property    TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    written_at  INTEGER NOT NULL,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    PRIMARY KEY (crm, portal, record_id, property)
) WITHOUT ROWID;

CREATE TABLE run_outcomes (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    account_id  TEXT    NOT NULL,
    domain      TEXT,
    outcome     TEXT    NOT NULL
        CHECK (outcome IN ('written', 'unchanged', 'skipped', 'rejected', 'failed')),
    reason      TEXT,
    detail_json TEXT,
    PRIMARY KEY (run_id, account_id)
) WITHOUT ROWID;

CREATE TABLE run_credits (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    provider    TEXT    NOT NULL,
    credits     REAL    NOT NULL CHECK (credits >= 0),
    lookups     INTEGER NOT NULL CHECK (lookups >= 0),
    PRIMARY KEY (run_id, provider)
) WITHOUT ROWID;

CREATE TABLE run_merged (
    run_id        INTEGER NOT NULL REFERENCES runs (id),
    account_id    TEXT    NOT NULL,
    merged_json   TEXT    NOT NULL,
    findings_json TEXT    NOT NULL,
    PRIMARY KEY (run_id, account_id)
) WITHOUT ROWID;
";

/// Reads `PRAGMA user_version`.
pub(crate) fn version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .ctx(path, "reading the schema version of")
}

/// Brings the file up to [`SCHEMA_VERSION`], or refuses a file it must not touch.
/// Safe to race: the version is re-read inside each write transaction.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    migrations: &[&str],
) -> Result<(), StoreError> {
    let supported = migrations.len() as i64;
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(path, "opening")?;
        let found = version(&tx, path)?;
        if found > supported {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
        let app_id: i32 = tx
            .query_row("PRAGMA application_id", [], |row| row.get(0))
            .ctx(path, "opening")?;
        if app_id != 0 && app_id != APPLICATION_ID {
            return Err(StoreError::NotFirmo {
                path: path.to_path_buf(),
                why: format!("its application id is {app_id:#x}"),
            });
        }
        if found == supported {
            return Ok(());
        }
        if found == 0 {
            let tables: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                    [],
                    |row| row.get(0),
                )
                .ctx(path, "opening")?;
            if tables > 0 {
                return Err(StoreError::NotFirmo {
                    path: path.to_path_buf(),
                    why: format!("it already holds {tables} tables"),
                });
            }
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .ctx(path, "migrating")?;
        }
        let index = usize::try_from(found).unwrap_or(usize::MAX);
        let Some(sql) = migrations.get(index) else {
            // A negative version: nothing firmo wrote.
            return Err(StoreError::NotFirmo {
                path: path.to_path_buf(),
                why: format!("its schema version is {found}"),
            });
        };
        tx.execute_batch(sql).ctx(path, "migrating")?;
        tx.pragma_update(None, "user_version", found + 1)
            .ctx(path, "migrating")?;
        tx.commit().ctx(path, "migrating")?;
        tracing::debug!(path = %path.display(), version = found + 1, "migrated state file");
    }
}
