//! The PostgreSQL backend: the same tables and semantics as the SQLite file, for a state
//! shared by several processes or machines (`--state postgres://…`).

pub(crate) mod conn;
pub(crate) mod lock;
pub(crate) mod ops;
pub(crate) mod schema;

use std::path::PathBuf;
use std::str::FromStr;

pub(crate) use conn::PgConn;

use crate::error::StoreError;
use crate::{Durability, StoreOptions};

/// Whether a state location is a PostgreSQL URL rather than a file path.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The URL as it may be shown: the password in the user part and any `password=`
/// parameter are replaced by `***`, so errors and logs never carry it.
pub(crate) fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    // The user part ends at the last '@' (a password may hold '@', '/' or '?'; a '@'
    // later in the query only makes this redact more than it must).
    let (user, rest) = match rest.rsplit_once('@') {
        Some((user, rest)) => match user.split_once(':') {
            Some((name, _)) => (format!("{name}:***@"), rest),
            None => (format!("{user}@"), rest),
        },
        None => (String::new(), rest),
    };
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => rest.to_owned(),
    };
    format!("{scheme}://{user}{rest}")
}

/// Connects to `url` and prepares the session: migrated (or, read-only, checked and set
/// read-only), with `options` applied. Returns the connection and its label.
pub(crate) fn open(
    url: &str,
    options: &StoreOptions,
    read_only: bool,
    migrations: &'static [&'static str],
) -> Result<(PgConn, PathBuf), StoreError> {
    let op = if read_only {
        "opening read-only"
    } else {
        "opening"
    };
    let path = PathBuf::from(redact(url));
    let mut config = postgres::Config::from_str(url).map_err(|e| StoreError::Postgres {
        op,
        path: path.clone(),
        // The parser's message names the bad part, never the password's value.
        message: format!("not a usable PostgreSQL URL: {e}"),
        source: Some(e),
    })?;
    if config.get_application_name().is_none() {
        config.application_name("firmo");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.busy_timeout);
    }
    let conn = PgConn::connect(config, &path, op)?;
    // A writer waits for another's row locks as long as SQLite's busy timeout allows.
    let lock_timeout = format!(
        "SET lock_timeout = {}; SET synchronous_commit = {}",
        options.busy_timeout.as_millis(),
        match options.durability {
            Durability::Full => "on",
            Durability::Normal => "off",
        }
    );
    conn.run(&path, op, move |s| {
        s.batch(op, &lock_timeout)?;
        if read_only {
            s.batch(op, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")?;
            schema::check_current(s, migrations.len() as i64)
        } else {
            schema::migrate(s, migrations)
        }
    })?;
    Ok((conn, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_postgres_url("postgres://firmo@127.0.0.1/firmo"));
        assert!(is_postgres_url("postgresql://h/db"));
        assert!(!is_postgres_url(".firmo/state.db"));
        assert!(!is_postgres_url("postgres.db"));
    }

    #[test]
    fn passwords_never_reach_the_label() {
        assert_eq!(
            redact("postgres://firmo:s3cret@db.internal:5432/firmo?sslmode=disable"),
            "postgres://firmo:***@db.internal:5432/firmo?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://u@h/db?password=s3cret&application_name=x"),
            "postgresql://u@h/db?password=***&application_name=x"
        );
        assert_eq!(redact("postgres://h"), "postgres://h");
        // A password holding '@' or '/' still goes: the host is after the last '@'.
        assert_eq!(redact("postgres://u:p@s/s@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn a_bad_url_is_an_error_naming_the_url_without_its_password() {
        let err = open(
            "postgres://u:hunter2@h:notaport/db",
            &StoreOptions::default(),
            false,
            schema::MIGRATIONS,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("opening postgres://u:***@h:notaport/db: "),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}
