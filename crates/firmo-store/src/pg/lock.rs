//! The run lock on PostgreSQL: a session advisory lock, taken on the store's own
//! connection, plus a row in `firmo_run_locks` saying who holds it.
//!
//! Why this shape:
//! - the server drops a session lock when its connection ends for any reason (the
//!   process killed with SIGKILL, the machine gone: the socket closes, or TCP keepalive
//!   notices), so a dead run never leaves a stale lock, as with the SQLite sidecar's
//!   `flock`;
//! - on the store's own connection, the lock and the run's writes share one fate: a run
//!   whose connection died cannot go on writing without its lock;
//! - an advisory lock locks no table, so readers (`firmo report`) are never in its way;
//! - the key is a hash of the schema and a scope (`state` today; a portal for the fleet
//!   to come), so states in different schemas of one database do not collide;
//! - the row is only trusted while its backend still holds the lock (checked against
//!   `pg_locks`), so a killed holder's leftover row never names the wrong process.

use std::path::{Path, PathBuf};

use super::conn::PgConn;
use crate::error::{StoreError, from_json, to_json};
use crate::lock::LockHolder;

/// A held lock; released (row first, then the lock) when dropped.
#[derive(Debug)]
pub(crate) struct PgLock {
    conn: PgConn,
    path: PathBuf,
    scope: String,
    key: i64,
}

/// Takes the lock of `scope` for `holder` without waiting.
pub(crate) fn acquire(
    conn: &PgConn,
    path: &Path,
    scope: &str,
    holder: &LockHolder,
) -> Result<PgLock, StoreError> {
    const OP: &str = "taking the run lock on";
    let text = to_json(holder, path, OP, || "the lock holder".into())?;
    let owned_scope = scope.to_owned();
    let outcome = conn.run(path, OP, move |s| {
        let scope = owned_scope;
        let row = s.query_opt(
            OP,
            // Session locks are re-entrant, so "do I hold it already?" is asked first:
            // a second lock from the same store is refused, as a second `flock` is.
            "WITH k AS (SELECT hashtextextended('firmo run lock ' || current_schema() || ' ' \
                                               || $1, 0) AS k) \
             SELECT k.k, EXISTS (SELECT 1 FROM pg_locks l \
                 WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted \
                   AND l.objsubid = 1 AND l.classid::bigint = ((k.k >> 32) & 4294967295) \
                   AND l.objid::bigint = (k.k & 4294967295)) FROM k",
            &[&scope],
        )?;
        let row = row.expect("a SELECT from a one-row CTE returns one row");
        let (key, mine): (i64, bool) = (row.get(0), row.get(1));
        let taken = !mine && {
            let row = s.query_opt(OP, "SELECT pg_try_advisory_lock($1)", &[&key])?;
            row.is_some_and(|r| r.get(0))
        };
        if taken {
            s.execute(
                OP,
                "INSERT INTO firmo_run_locks (scope, backend_pid, holder) \
                 VALUES ($1, pg_backend_pid(), $2) \
                 ON CONFLICT (scope) DO UPDATE SET \
                     backend_pid = excluded.backend_pid, holder = excluded.holder",
                &[&scope, &text],
            )?;
            return Ok(Ok(key));
        }
        let row = s.query_opt(
            OP,
            "SELECT h.holder FROM firmo_run_locks h WHERE h.scope = $1 AND EXISTS ( \
                 SELECT 1 FROM pg_locks l \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.pid = h.backend_pid \
                   AND l.objsubid = 1 AND l.classid::bigint = (($2::bigint >> 32) & 4294967295) \
                   AND l.objid::bigint = ($2::bigint & 4294967295))",
            &[&scope, &key],
        )?;
        Ok(Err(row.map(|r| r.get::<_, String>(0))))
    })?;
    match outcome {
        Ok(key) => {
            tracing::debug!(state = %path.display(), scope, %holder, "took the run lock");
            Ok(PgLock {
                conn: conn.clone(),
                path: path.to_path_buf(),
                scope: scope.to_owned(),
                key,
            })
        }
        Err(holder) => Err(StoreError::Locked {
            state: path.to_path_buf(),
            // A holder that has not written its row yet reads as unknown.
            holder: holder.and_then(|h| from_json(&h, path, OP, String::new).ok()),
        }),
    }
}

impl Drop for PgLock {
    fn drop(&mut self) {
        let (scope, key) = (self.scope.clone(), self.key);
        // Forget the holder first so nobody reads a finished run as the holder. A failure
        // here (the connection is gone) is harmless: the server released the lock with it.
        let _ = self
            .conn
            .run(&self.path, "releasing the run lock on", move |s| {
                s.execute(
                    "releasing the run lock on",
                    "DELETE FROM firmo_run_locks WHERE scope = $1 AND backend_pid = pg_backend_pid()",
                    &[&scope],
                )?;
                s.execute(
                    "releasing the run lock on",
                    "SELECT pg_advisory_unlock($1)",
                    &[&key],
                )
            });
    }
}
