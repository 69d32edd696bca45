//! One error for everything the fleet does; every message names the state (as
//! [`firmo_store::display_location`] shows it, without a password) and what was being done.

/// Why a fleet operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The state is an SQLite file: a fleet's workers share one PostgreSQL database.
    #[error(
        "a fleet needs a PostgreSQL state shared by its workers (--state postgres://… or \
         FIRMO_STATE); {location} is an SQLite file"
    )]
    NotPostgres { location: String },
    /// The server refused or dropped a statement.
    #[error("{op} in {location}: {message}")]
    Db {
        op: &'static str,
        location: String,
        message: String,
    },
    /// The worker no longer holds the job: it was queued again after the worker looked
    /// lost, and another worker may hold it now.
    #[error("job {job} is no longer held by this worker (it was queued again)")]
    NotHeld { job: i64 },
    #[error("no portal named `{0}` in the fleet (`firmo fleet list` shows them)")]
    UnknownPortal(String),
    #[error("a portal named `{0}` is in the fleet already (`firmo fleet remove {0}` first)")]
    PortalExists(String),
    #[error("portal name {name:?}: {why}")]
    BadName { name: String, why: &'static str },
    #[error("--every {value:?}: {why}")]
    BadInterval { value: String, why: &'static str },
    #[error(
        "the fleet tables in {location} are at version {found}, newer than this firmo knows \
         ({known}): upgrade firmo"
    )]
    TooNew {
        location: String,
        found: i64,
        known: i64,
    },
    #[error(transparent)]
    Store(#[from] firmo_store::StoreError),
}

/// The server's own message when it sent one (the driver's `Display` says only "db
/// error"), else the driver's. Neither carries the URL, so no password leaks here.
pub(crate) fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => e.to_string(),
    }
}
