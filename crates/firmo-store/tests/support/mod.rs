//! A fresh, private state on each backend for the store's tests, and the `conformance!`
//! macro that runs one test body on both.
//!
//! SQLite: a file in a temp directory. PostgreSQL: a schema of its own in the database
//! `FIRMO_TEST_POSTGRES` names (the URL gets `search_path` set to it), dropped afterwards,
//! so the tests run in parallel on one server. `scripts/pg.sh` starts a throwaway server
//! and sets the variable; without it the PostgreSQL tests say so on stderr and pass,
//! except under `CI=true`, where they fail: CI must never skip them silently.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use firmo_store::Store;

/// The variable naming the PostgreSQL server the tests may use.
pub(crate) const POSTGRES_ENV: &str = "FIRMO_TEST_POSTGRES";

/// Runs each test body once per backend, as `sqlite::NAME` and `postgres::NAME`; the
/// body gets a fresh [`State`] under the name it gives.
macro_rules! conformance {
    ($($(#[$meta:meta])* fn $name:ident($state:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[test]
                fn $name() {
                    let $state = crate::support::State::sqlite();
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[test]
                fn $name() {
                    let Some($state) = crate::support::State::postgres(stringify!($name))
                    else {
                        return;
                    };
                    $body
                }
            )*
        }
    };
}

/// Which backend a [`State`] is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A private state location that lives as long as this value.
pub(crate) struct State {
    pub(crate) backend: Backend,
    /// What `--state` would be given: a file path or a URL.
    pub(crate) location: String,
    dir: Option<tempfile::TempDir>,
    /// The server URL and the schema this state lives in.
    postgres: Option<(String, String)>,
}

/// The server URL, or `None` (said loudly) when none is configured. Under `CI=true` a
/// missing server fails the test instead.
pub(crate) fn postgres_url(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var(POSTGRES_ENV)
        && !url.is_empty()
    {
        return Some(url);
    }
    let why = format!(
        "{POSTGRES_ENV} is unset: the PostgreSQL case of {test} was NOT RUN \
         (scripts/pg.sh cargo test -p firmo-store runs it)"
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}; under CI=true that is a failure, not a skip"
    );
    // Straight to the process's stderr: the harness captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "WARNING: {why}");
    None
}

static NEXT: AtomicU64 = AtomicU64::new(0);

impl State {
    pub(crate) fn sqlite() -> State {
        let dir = tempfile::tempdir().unwrap();
        let location = dir.path().join("state.db").display().to_string();
        State {
            backend: Backend::Sqlite,
            location,
            dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh schema on the test server, or `None` when there is none.
    pub(crate) fn postgres(test: &str) -> Option<State> {
        let url = postgres_url(test)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!(
            "t{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={url} does not answer: {e}"));
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let location = format!("{url}{sep}options=-csearch_path%3D{schema}");
        Some(State {
            backend: Backend::Postgres,
            location,
            dir: None,
            postgres: Some((url, schema)),
        })
    }

    pub(crate) fn open(&self) -> Store {
        Store::open(&self.location).unwrap()
    }

    /// The state file (SQLite only).
    pub(crate) fn file(&self) -> PathBuf {
        assert_eq!(self.backend, Backend::Sqlite);
        PathBuf::from(&self.location)
    }

    /// The temp directory holding the state file (SQLite only).
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.dir.as_ref().unwrap().path()
    }

    /// Runs raw SQL on a connection of its own (to corrupt or inspect what the store
    /// wrote, as another program could).
    pub(crate) fn execute(&self, sql: &str) {
        match &self.postgres {
            None => rusqlite::Connection::open(&self.location)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Some((url, schema)) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
                client
                    .batch_execute(&format!("SET search_path = {schema}; {sql}"))
                    .unwrap();
            }
        }
    }

    /// One integer from raw SQL (see [`State::execute`]).
    pub(crate) fn query_i64(&self, sql: &str) -> i64 {
        match &self.postgres {
            None => rusqlite::Connection::open(&self.location)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Some((url, schema)) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
                client
                    .batch_execute(&format!("SET search_path = {schema}"))
                    .unwrap();
                client.query_one(sql, &[]).unwrap().get(0)
            }
        }
    }

    /// Sets the stored schema version, as an older or newer firmo would have left it.
    pub(crate) fn set_schema_version(&self, version: i64) {
        match self.backend {
            Backend::Sqlite => self.execute(&format!("PRAGMA user_version = {version}")),
            Backend::Postgres => {
                self.execute(&format!("UPDATE firmo_schema SET version = {version}"));
            }
        }
    }

    /// Returns once no process holds this state's run lock, waiting for the server to
    /// notice a killed holder's connection (PostgreSQL releases the lock, and ends the
    /// holder's transaction, only then). Waits in a blocking lock call, not a poll; a
    /// no-op on SQLite, where the kernel releases the lock with the process.
    pub(crate) fn wait_until_unlocked(&self) {
        if let Some((url, schema)) = &self.postgres {
            let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            let key = "hashtextextended('firmo run lock ' || current_schema() || ' state', 0)";
            client
                .batch_execute(&format!(
                    "SET search_path = {schema}; SET statement_timeout = '60s'; \
                     SELECT pg_advisory_lock({key}); SELECT pg_advisory_unlock({key});"
                ))
                .unwrap();
        }
    }

    /// Whatever the backend can check of its own consistency: SQLite's integrity and
    /// foreign-key checks (PostgreSQL enforces both on every write).
    pub(crate) fn check_integrity(&self) {
        if self.backend == Backend::Sqlite {
            let conn = rusqlite::Connection::open(&self.location).unwrap();
            let result: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(result, "ok");
            let violations: i64 = conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(violations, 0);
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.postgres
            && let Ok(mut admin) = postgres::Client::connect(url, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}
