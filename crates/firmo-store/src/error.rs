//! The store's error type: every variant names the state (a file, or a PostgreSQL URL
//! without its password) and what firmo was doing.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in the store. Messages read as
/// "`<operation>` `<file>`: `<cause>`", so the CLI can print them as they are.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation (I/O, a constraint, a locked file, a corrupt page).
    #[error("{op} {}: {source}", path.display())]
    Sqlite {
        /// What firmo was doing, e.g. "opening" or "writing the provider cache in".
        op: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// PostgreSQL refused an operation, or the connection to it failed. `message` carries
    /// the server's own words (the driver's `Display` says only "db error").
    #[error("{op} {}: {message}", path.display())]
    Postgres {
        op: &'static str,
        /// The state URL, password removed.
        path: PathBuf,
        message: String,
        #[source]
        source: Option<postgres::Error>,
    },
    /// The parent directory of the state file could not be created.
    #[error("creating the directory for {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was written by a newer firmo; opening it could corrupt it.
    #[error(
        "opening {}: schema version {found} is newer than this firmo ({supported}): upgrade firmo",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// The file is an SQLite database that belongs to something else.
    #[error("opening {}: not a firmo state file ({why}); pass another --state path", path.display())]
    NotFirmo { path: PathBuf, why: String },
    /// A caller passed a value the store refuses (a negative or non-finite credit count).
    #[error("{op} {}: {what}", path.display())]
    Invalid {
        op: &'static str,
        path: PathBuf,
        what: String,
    },
    /// Another run holds the state file's run lock (see [`crate::RunLock`]).
    #[error(
        "{} is in use by another firmo run{}; wait for it to finish (its lock goes away \
         when that process exits, even if it is killed), or pass another --state",
        state.display(),
        match holder {
            Some(h) => format!(": {h}"),
            None => " (it has not recorded who it is yet)".to_owned(),
        }
    )]
    Locked {
        /// The state file.
        state: PathBuf,
        /// Who holds it, when the lock file says.
        holder: Option<crate::LockHolder>,
    },
    /// The run lock's sidecar file could not be created, opened or locked.
    #[error("taking the run lock {}: {source}", path.display())]
    Lock {
        /// The lock file (`<state>.lock`).
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A write through a store opened with [`crate::Store::open_read_only`].
    #[error("{op} {}: the state file was opened read-only (by a read-only command)", path.display())]
    ReadOnly { op: &'static str, path: PathBuf },
    /// A read-only open found no state file.
    #[error("opening {} read-only: there is no state file there (a first `firmo sync` creates it; or pass another --state)", path.display())]
    Missing { path: PathBuf },
    /// A read-only open found a file from an older firmo, which only a writing command
    /// may migrate.
    #[error(
        "opening {} read-only: schema version {found} is older than this firmo ({supported}); \
         run a command that writes (e.g. `firmo sync`) once to migrate it",
        path.display()
    )]
    Outdated {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// A write inside a group ([`crate::Store::grouped`]) after SQLite rolled the group's
    /// transaction back by itself: nothing the group wrote is stored.
    #[error("writing to {}: SQLite rolled back the transaction this write was part of (a full disk or an I/O error?)", path.display())]
    GroupLost { path: PathBuf },
    /// A write that succeeded inside a group whose commit then failed: the commit's error,
    /// as text (each of the group's callers gets its own copy).
    #[error("{message}")]
    GroupCommit { message: String },
    /// A JSON column could not be written or read back.
    #[error("{op} {}: {what}: {source}", path.display())]
    Json {
        op: &'static str,
        path: PathBuf,
        /// Which value, e.g. "records of clearbit/acme.com".
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    /// This error for another caller of the same failed group commit.
    #[must_use]
    pub fn relayed(&self) -> StoreError {
        StoreError::GroupCommit {
            message: self.to_string(),
        }
    }
}

/// Attaches the file and the operation to a rusqlite error.
pub(crate) trait Context<T> {
    fn ctx(self, path: &Path, op: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, path: &Path, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            op,
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Attaches the state and the operation to a PostgreSQL error.
pub(crate) trait PgContext<T> {
    fn pg(self, path: &Path, op: &'static str) -> Result<T, StoreError>;
}

impl<T> PgContext<T> for Result<T, postgres::Error> {
    fn pg(self, path: &Path, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Postgres {
            op,
            path: path.to_path_buf(),
            message: pg_message(&source),
            source: Some(source),
        })
    }
}

/// The server's message (with its SQLSTATE and detail) for a database error, the cause
/// chain for a connection error: the words a user can act on.
fn pg_message(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{} ({})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str(": ");
            text.push_str(detail);
        }
        return text;
    }
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Serializes `value` for a JSON column.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(
    value: &T,
    path: &Path,
    op: &'static str,
    what: impl FnOnce() -> String,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Json {
        op,
        path: path.to_path_buf(),
        what: what(),
        source,
    })
}

/// Parses a JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
    op: &'static str,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Json {
        op,
        path: path.to_path_buf(),
        what: what(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation_and_the_file() {
        let err: Result<(), _> =
            Err(rusqlite::Error::InvalidQuery).ctx(Path::new("/x/state.db"), "opening");
        let msg = err.unwrap_err().to_string();
        assert!(msg.starts_with("opening /x/state.db: "), "{msg}");

        let err = StoreError::TooNew {
            path: "/x/state.db".into(),
            found: 7,
            supported: 5,
        };
        assert_eq!(
            err.to_string(),
            "opening /x/state.db: schema version 7 is newer than this firmo (5): upgrade firmo"
        );
    }

    #[test]
    fn bad_json_names_the_value() {
        let err = from_json::<Vec<u8>>("{", Path::new("s.db"), "reading", || "records".into())
            .unwrap_err();
        assert!(
            err.to_string().starts_with("reading s.db: records: "),
            "{err}"
        );
    }
}
