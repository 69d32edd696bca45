//! The PostgreSQL schema: the same tables, columns, keys and checks as the SQLite file's,
//! migration for migration (`MIGRATIONS[i]` here and in `crate::schema` both take version
//! `i` to `i + 1`; a test holds the two to the same tables and columns).
//!
//! Dialect differences, each on purpose:
//! - SQLite's `INTEGER` is 64-bit; here every integer column is `BIGINT` (milliseconds
//!   overflow `INTEGER`), `REAL` is `DOUBLE PRECISION`;
//! - `INTEGER PRIMARY KEY AUTOINCREMENT` is `BIGINT GENERATED ALWAYS AS IDENTITY` (ids
//!   never reused either way); `WITHOUT ROWID` has no counterpart and no need of one;
//! - `PRAGMA user_version` and `application_id` are the one-row table `firmo_schema`;
//! - the run lock's sidecar file is a session advisory lock plus the table
//!   `firmo_run_locks`, which says who holds it (see `super::lock`).
//!
//! The tables go in the connection's current schema (the first existing one on its
//! `search_path`, `public` by default), so one database can hold several states.

use std::path::Path;

use super::conn::Session;
use crate::error::StoreError;
use crate::schema::APPLICATION_ID;

/// Migration `i` takes a database from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3];

const V1: &str = "
CREATE TABLE provider_cache (
    provider     TEXT             NOT NULL,
    company_key  TEXT             NOT NULL,
    fetched_at   BIGINT           NOT NULL,
    status       TEXT             NOT NULL CHECK (status IN ('hit', 'miss', 'pending', 'error')),
    records      TEXT             NOT NULL DEFAULT '[]',
    error        TEXT,
    retry_after  BIGINT,
    credits      DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (credits >= 0),
    attempts     BIGINT           NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    PRIMARY KEY (provider, company_key)
);
CREATE INDEX provider_cache_pending ON provider_cache (provider, retry_after)
    WHERE status = 'pending';

CREATE TABLE sync_cursors (
    crm         TEXT    NOT NULL,
    portal      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (crm, portal, name)
);

CREATE TABLE runs (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT    NOT NULL,
    crm          TEXT,
    portal       TEXT,
    started_at   BIGINT  NOT NULL,
    finished_at  BIGINT,
    dry_run      BIGINT  NOT NULL CHECK (dry_run IN (0, 1)),
    outcome      TEXT CHECK (outcome IN ('ok', 'partial', 'failed', 'interrupted')),
    config_json  TEXT    NOT NULL,
    summary_json TEXT,
    CHECK ((finished_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX runs_kind ON runs (kind, id);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE write_journal (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      BIGINT  NOT NULL REFERENCES runs (id),
    crm         TEXT    NOT NULL,
    portal      TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    property    TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    written_at  BIGINT  NOT NULL
);
CREATE INDEX write_journal_run ON write_journal (run_id);

CREATE TABLE journal_latest (
    crm         TEXT    NOT NULL,
    portal      TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    property    TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    written_at  BIGINT  NOT NULL,
    run_id      BIGINT  NOT NULL REFERENCES runs (id),
    PRIMARY KEY (crm, portal, record_id, property)
);

CREATE TABLE run_outcomes (
    run_id      BIGINT  NOT NULL REFERENCES runs (id),
    account_id  TEXT    NOT NULL,
    domain      TEXT,
    outcome     TEXT    NOT NULL
        CHECK (outcome IN ('written', 'unchanged', 'skipped', 'rejected', 'failed')),
    reason      TEXT,
    detail_json TEXT,
    PRIMARY KEY (run_id, account_id)
);

CREATE TABLE run_credits (
    run_id      BIGINT           NOT NULL REFERENCES runs (id),
    provider    TEXT             NOT NULL,
    credits     DOUBLE PRECISION NOT NULL CHECK (credits >= 0),
    lookups     BIGINT           NOT NULL CHECK (lookups >= 0),
    PRIMARY KEY (run_id, provider)
);

CREATE TABLE run_merged (
    run_id        BIGINT  NOT NULL REFERENCES runs (id),
    account_id    TEXT    NOT NULL,
    merged_json   TEXT    NOT NULL,
    findings_json TEXT    NOT NULL,
    PRIMARY KEY (run_id, account_id)
);

CREATE TABLE firmo_run_locks (
    scope        TEXT    PRIMARY KEY,
    backend_pid  BIGINT  NOT NULL,
    holder       TEXT    NOT NULL
);
";

/// Version 2: spot-check verdicts (see `crate::schema`).
const V2: &str = "
CREATE TABLE spot_checks (
    run_id          BIGINT  NOT NULL REFERENCES runs (id),
    account_id      TEXT    NOT NULL,
    field           TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    value           TEXT    NOT NULL,
    verdict         TEXT    NOT NULL CHECK (verdict IN ('correct', 'wrong', 'unsure')),
    corrected_value TEXT,
    checked_at      BIGINT  NOT NULL,
    PRIMARY KEY (run_id, account_id, field)
);
CREATE INDEX spot_checks_field ON spot_checks (field, checked_at);
";

/// Version 3: lookup leases (see `crate::schema`). A lease names the server backend of
/// the run's connection: it dies with that connection (a killed worker frees its keys at
/// once), checked against `pg_stat_activity` by pid and start time.
const V3: &str = "
CREATE TABLE lookup_leases (
    provider      TEXT    NOT NULL,
    company_key   TEXT    NOT NULL,
    run_id        BIGINT  NOT NULL REFERENCES runs (id),
    backend_pid   INTEGER,
    backend_start BIGINT,
    expires_at    BIGINT  NOT NULL,
    PRIMARY KEY (provider, company_key)
);
CREATE INDEX lookup_leases_run ON lookup_leases (run_id);
-- `firmo report --portal`: one portal's newest runs without reading the others.
CREATE INDEX runs_portal ON runs (portal, id);
-- A CRM record's latest writes under any portal key (a portal reached another way
-- adopts its journal): a seek per record, not a scan of the CRM's journal.
CREATE INDEX journal_latest_record ON journal_latest (crm, record_id);
";

/// What `firmo_schema` says, read without writing.
enum Found {
    /// No `firmo_schema` table; `tables` other tables in the schema.
    Empty {
        tables: i64,
    },
    Firmo {
        app_id: i64,
        version: i64,
    },
}

fn found(session: &mut Session, op: &'static str) -> Result<Found, StoreError> {
    let row = session.query_opt(
        op,
        "SELECT current_schema(), \
                (SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'firmo_schema'), \
                (SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema())",
        &[],
    )?;
    let row = row.expect("a SELECT without FROM returns one row");
    let schema: Option<String> = row.get(0);
    if schema.is_none() {
        return Err(StoreError::Postgres {
            op,
            path: session.path.clone(),
            message: "no schema to keep the state in: none on the search_path exists (create \
                      it, or set search_path in the URL's options)"
                .to_owned(),
            source: None,
        });
    }
    if row.get::<_, i64>(1) == 0 {
        return Ok(Found::Empty { tables: row.get(2) });
    }
    let row = session.query_opt(op, "SELECT application_id, version FROM firmo_schema", &[])?;
    match row {
        Some(row) => Ok(Found::Firmo {
            app_id: row.get(0),
            version: row.get(1),
        }),
        None => Ok(Found::Firmo {
            app_id: 0,
            version: 0,
        }),
    }
}

/// The schema version (equal to the number of migrations once open).
pub(crate) fn version(session: &mut Session) -> Result<i64, StoreError> {
    match found(session, "reading the schema version of")? {
        Found::Firmo { version, .. } => Ok(version),
        Found::Empty { .. } => Ok(0),
    }
}

fn not_firmo(path: &Path, why: String) -> StoreError {
    StoreError::NotFirmo {
        path: path.to_path_buf(),
        why,
    }
}

/// Checks, without writing, that the schema holds a firmo state at exactly `supported`.
pub(crate) fn check_current(session: &mut Session, supported: i64) -> Result<(), StoreError> {
    const OP: &str = "opening read-only";
    let path = session.path.clone();
    let (app_id, found) = match found(session, OP)? {
        Found::Empty { tables: 0 } => return Err(StoreError::Missing { path }),
        Found::Empty { tables } => {
            return Err(not_firmo(
                &path,
                format!("it already holds {tables} tables"),
            ));
        }
        Found::Firmo { app_id, version } => (app_id, version),
    };
    if app_id != i64::from(APPLICATION_ID) {
        return Err(not_firmo(
            &path,
            format!("its application id is {app_id:#x}"),
        ));
    }
    match found.cmp(&supported) {
        std::cmp::Ordering::Greater => Err(StoreError::TooNew {
            path,
            found,
            supported,
        }),
        std::cmp::Ordering::Less => Err(StoreError::Outdated {
            path,
            found,
            supported,
        }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// Brings the schema up to `migrations.len()`, one transaction per migration, or refuses
/// a schema it must not touch. Safe to race: a transaction-scoped advisory lock makes
/// concurrent openers take turns, and each re-reads the version under it.
pub(crate) fn migrate(session: &mut Session, migrations: &[&str]) -> Result<(), StoreError> {
    let path = session.path.clone();
    let supported = migrations.len() as i64;
    loop {
        session.batch("opening", "BEGIN")?;
        let step = migrate_one(session, &path, migrations, supported);
        match step {
            Ok(true) => session.batch("migrating", "COMMIT")?,
            Ok(false) => {
                session.batch("opening", "COMMIT")?;
                return Ok(());
            }
            Err(e) => {
                let _ = session.batch("migrating", "ROLLBACK");
                return Err(e);
            }
        }
    }
}

/// Applies the next migration inside the open transaction: `Ok(false)` when there is none.
fn migrate_one(
    session: &mut Session,
    path: &Path,
    migrations: &[&str],
    supported: i64,
) -> Result<bool, StoreError> {
    session.execute(
        "opening",
        "SELECT pg_advisory_xact_lock(hashtextextended('firmo migrate ' || current_schema(), 0))",
        &[],
    )?;
    let (app_id, found) = match found(session, "opening")? {
        Found::Empty { tables } if tables > 0 => {
            return Err(not_firmo(path, format!("it already holds {tables} tables")));
        }
        Found::Empty { .. } => {
            session.batch(
                "migrating",
                "CREATE TABLE firmo_schema (application_id BIGINT NOT NULL, version BIGINT NOT NULL)",
            )?;
            session.execute(
                "migrating",
                "INSERT INTO firmo_schema (application_id, version) VALUES ($1, 0)",
                &[&i64::from(APPLICATION_ID)],
            )?;
            (i64::from(APPLICATION_ID), 0)
        }
        Found::Firmo { app_id, version } => (app_id, version),
    };
    if found > supported {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    if app_id != i64::from(APPLICATION_ID) {
        return Err(not_firmo(
            path,
            format!("its application id is {app_id:#x}"),
        ));
    }
    if found == supported {
        return Ok(false);
    }
    let Some(sql) = usize::try_from(found).ok().and_then(|i| migrations.get(i)) else {
        return Err(not_firmo(path, format!("its schema version is {found}")));
    };
    session.batch("migrating", sql)?;
    session.execute(
        "migrating",
        "UPDATE firmo_schema SET version = $1",
        &[&(found + 1)],
    )?;
    tracing::debug!(state = %path.display(), version = found + 1, "migrated the PostgreSQL state");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_number_their_migrations_alike() {
        assert_eq!(MIGRATIONS.len(), crate::schema::MIGRATIONS.len());
        // Every table of each SQLite migration is created by the same PostgreSQL one.
        for (sqlite, pg) in crate::schema::MIGRATIONS.iter().zip(MIGRATIONS) {
            for table in sqlite.split("CREATE TABLE ").skip(1) {
                let name = table.split_whitespace().next().unwrap();
                assert!(pg.contains(&format!("CREATE TABLE {name} (")), "{name}");
            }
        }
    }
}
