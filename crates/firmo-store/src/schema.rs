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
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3];

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

/// Version 2: spot-check verdicts (`firmo spot-check import`), one per sampled account and
/// field of a run; importing the same sheet again replaces its verdicts.
const V2: &str = "
CREATE TABLE spot_checks (
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    account_id      TEXT    NOT NULL,
    field           TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    value           TEXT    NOT NULL,
    verdict         TEXT    NOT NULL CHECK (verdict IN ('correct', 'wrong', 'unsure')),
    corrected_value TEXT,
    checked_at      INTEGER NOT NULL,
    PRIMARY KEY (run_id, account_id, field)
) WITHOUT ROWID;
CREATE INDEX spot_checks_field ON spot_checks (field, checked_at);
";

/// Version 3: lookup leases, so that two runs sharing the provider cache (fleet portals
/// on one PostgreSQL state) never buy the same (provider, domain) at the same time (the
/// run that leases a key asks, the other waits for its answer: `leases.rs`); indexes of
/// runs by portal (`firmo report --portal`) and of the journal by record
/// (`last_writes_adopting`).
const V3: &str = "
CREATE TABLE lookup_leases (
    provider     TEXT    NOT NULL,
    company_key  TEXT    NOT NULL,
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    backend_pid  INTEGER,
    backend_start INTEGER,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (provider, company_key)
) WITHOUT ROWID;
CREATE INDEX lookup_leases_run ON lookup_leases (run_id);
-- `firmo report --portal`: one portal's newest runs without reading the others.
CREATE INDEX runs_portal ON runs (portal, id);
-- A CRM record's latest writes under any portal key (a portal reached another way
-- adopts its journal): a seek per record, not a scan of the CRM's journal.
CREATE INDEX journal_latest_record ON journal_latest (crm, record_id);
";

/// Reads `PRAGMA user_version`.
pub(crate) fn version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .ctx(path, "reading the schema version of")
}

/// Checks, without writing, that the file is a firmo state file at exactly `supported`
/// (for a read-only store, which must not migrate).
pub(crate) fn check_current(
    conn: &Connection,
    path: &Path,
    supported: i64,
) -> Result<(), StoreError> {
    let found = version(conn, path)?;
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .ctx(path, "opening read-only")?;
    if app_id != APPLICATION_ID {
        return Err(StoreError::NotFirmo {
            path: path.to_path_buf(),
            why: format!("its application id is {app_id:#x}"),
        });
    }
    match found.cmp(&supported) {
        std::cmp::Ordering::Greater => Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported,
        }),
        std::cmp::Ordering::Less => Err(StoreError::Outdated {
            path: path.to_path_buf(),
            found,
            supported,
        }),
        std::cmp::Ordering::Equal => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreOptions};

    fn open(path: &Path, migrations: &[&str]) -> Result<Store, StoreError> {
        let conn = Connection::open(path).unwrap();
        Store::setup(
            conn,
            path.to_path_buf(),
            &StoreOptions::default(),
            migrations,
        )
    }

    fn user_version(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn an_empty_file_migrates_to_the_latest_version_and_reopens_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        std::fs::write(&path, b"").unwrap();
        drop(Store::open(&path).unwrap());
        assert_eq!(user_version(&path), SCHEMA_VERSION);
        let schema = |p: &Path| -> Vec<String> {
            let conn = Connection::open(p).unwrap();
            let mut stmt = conn
                .prepare("SELECT sql FROM sqlite_schema ORDER BY name")
                .unwrap();
            stmt.query_map([], |r| r.get::<_, Option<String>>(0))
                .unwrap()
                .map(|r| r.unwrap().unwrap_or_default())
                .collect()
        };
        let before = schema(&path);
        assert!(
            before
                .iter()
                .any(|sql| sql.contains("CREATE TABLE provider_cache"))
        );
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(schema(&path), before);
    }

    #[test]
    fn a_later_migration_applies_on_top_and_keeps_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let mut store = open(&path, &[V1]).unwrap();
            store
                .set_cursor("hubspot", "1", "after", "x", firmo_core::UnixMillis(1))
                .unwrap();
        }
        let v2 = "ALTER TABLE sync_cursors ADD COLUMN note TEXT";
        let store = open(&path, &[V1, v2]).unwrap();
        assert_eq!(store.schema_version().unwrap(), 2);
        assert_eq!(
            store
                .get_cursor("hubspot", "1", "after")
                .unwrap()
                .as_deref(),
            Some("x")
        );
        let note: Option<String> = store
            .sqlite()
            .query_row("SELECT note FROM sync_cursors", [], |r| r.get(0))
            .unwrap();
        assert_eq!(note, None);
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(open(&path, &[V1]).unwrap());
        let broken = "CREATE TABLE extra (x INTEGER); THIS IS NOT SQL";
        let err = open(&path, &[V1, broken]).unwrap_err();
        assert!(err.to_string().starts_with("migrating "), "{err}");
        assert_eq!(user_version(&path), 1);
        let extra: i64 = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'extra'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(extra, 0, "the half-applied migration was rolled back");
    }

    #[test]
    fn a_newer_file_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let newer: Vec<&str> = MIGRATIONS.iter().copied().chain(["SELECT 1"]).collect();
        drop(open(&path, &newer).unwrap());
        let err = Store::open(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "opening {}: schema version {} is newer than this firmo ({SCHEMA_VERSION}): \
                 upgrade firmo",
                path.display(),
                SCHEMA_VERSION + 1
            )
        );
    }

    #[test]
    fn other_databases_and_other_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE notes (body TEXT)")
            .unwrap();
        let err = Store::open(&foreign).unwrap_err();
        assert!(
            err.to_string()
                .contains("not a firmo state file (it already holds 1 tables)"),
            "{err}"
        );

        let app = dir.path().join("app.db");
        Connection::open(&app)
            .unwrap()
            .execute_batch("PRAGMA application_id = 7")
            .unwrap();
        let err = Store::open(&app).unwrap_err();
        assert!(err.to_string().contains("application id is 0x7"), "{err}");

        let text = dir.path().join("notes.txt");
        std::fs::write(
            &text,
            "this is not a database, just some text long enough".repeat(20),
        )
        .unwrap();
        let err = Store::open(&text).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("opening {}: ", text.display())),
            "{err}"
        );
    }
}
