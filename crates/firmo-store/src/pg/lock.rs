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
//! - the key is a hash of the schema and a scope, so states in different schemas of one
//!   database do not collide: `state` for a whole-state run (`firmo sync`), `portal
//!   CRM/ID` for one portal's run (fleet workers), which also holds `state` in shared
//!   mode, so portals run side by side and a whole-state run excludes them all;
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
    /// The whole state's key, held shared beside a portal's lock.
    parent: Option<i64>,
}

/// The scope of the whole state's lock.
pub(crate) const STATE: &str = "state";

/// The lock scope of one portal.
pub(crate) fn portal_scope(crm: &str, portal: &str) -> String {
    format!("portal {crm}/{portal}")
}

/// The holder of `key` (in any mode) as its row says, preferring the row of `scope`.
const HOLDER: &str = "SELECT h.holder FROM firmo_run_locks h WHERE EXISTS ( \
         SELECT 1 FROM pg_locks l \
         WHERE l.locktype = 'advisory' AND l.granted AND l.pid = h.backend_pid \
           AND l.objsubid = 1 AND l.classid::bigint = (($2::bigint >> 32) & 4294967295) \
           AND l.objid::bigint = ($2::bigint & 4294967295)) \
     ORDER BY (h.scope = $1) DESC LIMIT 1";

/// What one attempt found: the keys taken, or the holder's row in the way.
type Attempt = Result<(i64, Option<i64>), Option<String>>;

/// Takes the lock of `scope` for `holder` without waiting. A portal's lock (`shared_state`)
/// also holds the whole state's key in shared mode: portals run side by side, and a
/// whole-state lock (`firmo sync` without a fleet) excludes and is excluded by all of them.
pub(crate) fn acquire(
    conn: &PgConn,
    path: &Path,
    scope: &str,
    shared_state: bool,
    holder: &LockHolder,
) -> Result<PgLock, StoreError> {
    const OP: &str = "taking the run lock on";
    let text = to_json(holder, path, OP, || "the lock holder".into())?;
    let owned_scope = scope.to_owned();
    let outcome = conn.run(path, OP, move |s| -> Result<Attempt, StoreError> {
        let scope = owned_scope;
        let row = s.query_opt(
            OP,
            // Session locks are re-entrant, so "do I hold it already?" is asked first: a
            // second lock from the same store is refused, as a second `flock` is. Holding
            // the whole state exclusively counts as holding every portal.
            "WITH k AS (SELECT \
                 hashtextextended('firmo run lock ' || current_schema() || ' ' || $1, 0) AS k, \
                 hashtextextended('firmo run lock ' || current_schema() || ' state', 0) AS s) \
             SELECT k.k, k.s, EXISTS (SELECT 1 FROM pg_locks l \
                 WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted \
                   AND l.objsubid = 1 \
                   AND ((l.classid::bigint = ((k.k >> 32) & 4294967295) \
                         AND l.objid::bigint = (k.k & 4294967295)) \
                     OR ($2 AND l.mode = 'ExclusiveLock' \
                         AND l.classid::bigint = ((k.s >> 32) & 4294967295) \
                         AND l.objid::bigint = (k.s & 4294967295)))) FROM k",
            &[&scope, &shared_state],
        )?;
        let row = row.expect("a SELECT from a one-row CTE returns one row");
        let (key, state_key, mine): (i64, i64, bool) = (row.get(0), row.get(1), row.get(2));
        let in_the_way = |s: &mut super::conn::Session, key: i64| -> Result<Attempt, StoreError> {
            let row = s.query_opt(OP, HOLDER, &[&scope, &key])?;
            Ok(Err(row.map(|r| r.get::<_, String>(0))))
        };
        if mine {
            // Held by this very session: as the portal's holder, or as the whole state's.
            return match in_the_way(s, key)? {
                Err(None) if shared_state => in_the_way(s, state_key),
                found => Ok(found),
            };
        }
        let parent = if shared_state {
            let row = s.query_opt(OP, "SELECT pg_try_advisory_lock_shared($1)", &[&state_key])?;
            if !row.is_some_and(|r| r.get::<_, bool>(0)) {
                return in_the_way(s, state_key);
            }
            Some(state_key)
        } else {
            None
        };
        let row = s.query_opt(OP, "SELECT pg_try_advisory_lock($1)", &[&key])?;
        if !row.is_some_and(|r| r.get::<_, bool>(0)) {
            if let Some(parent) = parent {
                s.execute(OP, "SELECT pg_advisory_unlock_shared($1)", &[&parent])?;
            }
            return in_the_way(s, key);
        }
        s.execute(
            OP,
            "INSERT INTO firmo_run_locks (scope, backend_pid, holder) \
             VALUES ($1, pg_backend_pid(), $2) \
             ON CONFLICT (scope) DO UPDATE SET \
                 backend_pid = excluded.backend_pid, holder = excluded.holder",
            &[&scope, &text],
        )?;
        Ok(Ok((key, parent)))
    })?;
    match outcome {
        Ok((key, parent)) => {
            tracing::debug!(state = %path.display(), scope, %holder, "took the run lock");
            Ok(PgLock {
                conn: conn.clone(),
                path: path.to_path_buf(),
                scope: scope.to_owned(),
                key,
                parent,
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
        let (scope, key, parent) = (self.scope.clone(), self.key, self.parent);
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
                )?;
                match parent {
                    Some(parent) => s.execute(
                        "releasing the run lock on",
                        "SELECT pg_advisory_unlock_shared($1)",
                        &[&parent],
                    ),
                    None => Ok(0),
                }
            });
    }
}
