//! `leases.rs`'s operations in PostgreSQL's dialect. A lease records the server backend
//! (pid and start time, from `pg_stat_activity`) of the connection that took it; a lease
//! whose backend is gone is dead, whatever its expiry says. The start time guards against
//! a new backend reusing a dead one's pid.

use std::path::Path;

use firmo_core::UnixMillis;

use crate::error::StoreError;
use crate::pg::conn::PgConn;
use crate::runs::RunId;

/// True for a lease row `l` whose backend still runs (a macro, so the statements stay
/// `&'static str` for the statement cache).
macro_rules! alive {
    () => {
        "EXISTS (SELECT 1 FROM pg_stat_activity a \
         WHERE a.pid = l.backend_pid \
           AND (extract(epoch FROM a.backend_start) * 1000)::bigint = l.backend_start)"
    };
}

/// Of the keys just leased, those answered since the caller read the cache, given back.
/// An insert that waited on another run's lease row sees that run's answer only in a later
/// statement (its own snapshot predates the other's commit), hence this second look.
const ANSWERED: &str = "DELETE FROM lookup_leases l \
     USING unnest($2::text[], $3::bigint[]) AS u(k, seen) \
     WHERE l.provider = $1 AND l.company_key = u.k AND l.run_id = $4 \
       AND EXISTS (SELECT 1 FROM provider_cache c WHERE c.provider = $1 \
           AND c.company_key = u.k AND c.fetched_at > u.seen) \
     RETURNING l.company_key";

pub(crate) fn lease_lookups(
    pg: &PgConn,
    path: &Path,
    provider: &str,
    keys: &[(String, Option<UnixMillis>)],
    run: RunId,
    now: UnixMillis,
    until: UnixMillis,
) -> Result<Vec<String>, StoreError> {
    const OP: &str = "leasing lookups in";
    let provider = provider.to_owned();
    let seen: Vec<i64> = keys
        .iter()
        .map(|(_, t)| t.map_or(i64::MIN, |t| t.0))
        .collect();
    let keys: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    pg.run(path, OP, move |s| {
        // A conflicting row is taken over only when it is ours, expired or dead; a
        // concurrent lease of the same key waits for the other's commit, then sees it.
        const SQL: &str = concat!(
            "INSERT INTO lookup_leases AS l \
                 (provider, company_key, run_id, backend_pid, backend_start, expires_at) \
             SELECT $1, u.k, $2, pg_backend_pid(), \
                    (SELECT (extract(epoch FROM backend_start) * 1000)::bigint \
                     FROM pg_stat_activity WHERE pid = pg_backend_pid()), $3 \
             FROM unnest($4::text[], $6::bigint[]) AS u(k, seen) \
             WHERE NOT EXISTS (SELECT 1 FROM provider_cache c \
                 WHERE c.provider = $1 AND c.company_key = u.k AND c.fetched_at > u.seen) \
             ON CONFLICT (provider, company_key) DO UPDATE SET \
                 run_id = excluded.run_id, backend_pid = excluded.backend_pid, \
                 backend_start = excluded.backend_start, expires_at = excluded.expires_at \
             WHERE l.run_id = excluded.run_id OR l.expires_at <= $5 OR NOT ",
            alive!(),
            " RETURNING company_key"
        );
        let rows = s.query(
            OP,
            SQL,
            &[&provider, &run.0, &until.0, &keys, &now.0, &seen],
        )?;
        let granted: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let seen_of: std::collections::HashMap<&str, i64> = keys
            .iter()
            .map(String::as_str)
            .zip(seen.iter().copied())
            .collect();
        let granted_seen: Vec<i64> = granted.iter().map(|k| seen_of[k.as_str()]).collect();
        let answered: std::collections::HashSet<String> = s
            .query(OP, ANSWERED, &[&provider, &granted, &granted_seen, &run.0])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(granted
            .into_iter()
            .filter(|k| !answered.contains(k))
            .collect())
    })
}

pub(crate) fn release_leases(pg: &PgConn, path: &Path, run: RunId) -> Result<(), StoreError> {
    const OP: &str = "releasing lookup leases in";
    pg.run(path, OP, move |s| {
        s.execute(OP, "DELETE FROM lookup_leases WHERE run_id = $1", &[&run.0])
            .map(drop)
    })
}

pub(crate) fn void_dead_leases(pg: &PgConn, path: &Path) -> Result<(), StoreError> {
    const OP: &str = "clearing dead lookup leases in";
    pg.run(path, OP, move |s| {
        const SQL: &str = concat!("DELETE FROM lookup_leases l WHERE NOT ", alive!());
        s.execute(OP, SQL, &[]).map(drop)
    })
}

pub(crate) fn leased_elsewhere(
    pg: &PgConn,
    path: &Path,
    provider: &str,
    keys: &[String],
    run: RunId,
    now: UnixMillis,
) -> Result<Vec<String>, StoreError> {
    const OP: &str = "reading lookup leases in";
    let (provider, keys) = (provider.to_owned(), keys.to_vec());
    pg.run(path, OP, move |s| {
        const SQL: &str = concat!(
            "SELECT l.company_key FROM lookup_leases l \
             WHERE l.provider = $1 AND l.company_key = ANY($2::text[]) \
               AND l.run_id <> $3 AND l.expires_at > $4 AND ",
            alive!(),
            " ORDER BY l.company_key COLLATE \"C\""
        );
        let rows = s.query(OP, SQL, &[&provider, &keys, &run.0, &now.0])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })
}
