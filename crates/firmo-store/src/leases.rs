//! Lookup leases: which run is asking a provider about a key right now.
//!
//! Runs that share one provider cache (fleet portals on one PostgreSQL state, synced side
//! by side) each plan from the cache before they ask, so two of them needing the same
//! domain at the same moment would both buy it. A run therefore leases the keys it is
//! about to ask for: a key another live run holds is not asked again but waited for, and
//! its answer read from the cache once stored. Storing an answer ends the key's lease
//! ([`Writer::put_lookup`]); a run ends its leftover leases when it finishes.
//!
//! A lease is live while it has not expired and its holder can still be alive:
//! - on PostgreSQL, while the server backend of the holder's connection runs (a worker
//!   killed with SIGKILL frees its keys the moment its socket closes);
//! - on SQLite, whose runs each hold the whole state's lock, no other run can be alive
//!   beside the current one: [`Writer::void_dead_leases`] clears what a killed run left.

use std::time::Duration;

use firmo_core::UnixMillis;
use rusqlite::params;

use crate::error::{Context, StoreError};
use crate::runs::RunId;
use crate::{Db, Store, Writer, pg_leases};

const OP_LEASE: &str = "leasing lookups in";
const OP_READ: &str = "reading lookup leases in";

fn expiry(now: UnixMillis, ttl: Duration) -> UnixMillis {
    UnixMillis(
        now.0
            .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
    )
}

impl Writer<'_> {
    /// Leases `keys` of `provider` to run `run` until `now + ttl`, and returns the keys
    /// this run now holds: those free, expired, dead or already its own. Each key comes
    /// with the `fetched_at` of the cached answer the caller planned from (`None`: there
    /// was none). Left out are a key another live run holds (that run is asking: wait for
    /// its answer, [`Store::leased_elsewhere`]) and a key answered since the caller read
    /// the cache (read it again: someone just paid for it).
    pub fn lease_lookups(
        &self,
        provider: &str,
        keys: &[(String, Option<UnixMillis>)],
        run: RunId,
        now: UnixMillis,
        ttl: Duration,
    ) -> Result<Vec<String>, StoreError> {
        let until = expiry(now, ttl);
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                return pg_leases::lease_lookups(pg, self.path, provider, keys, run, now, until);
            }
        };
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO lookup_leases (provider, company_key, run_id, expires_at) \
                 SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM provider_cache c \
                     WHERE c.provider = ?1 AND c.company_key = ?2 AND c.fetched_at > ?6) \
                 ON CONFLICT (provider, company_key) DO UPDATE SET \
                     run_id = excluded.run_id, expires_at = excluded.expires_at \
                 WHERE lookup_leases.run_id = excluded.run_id OR lookup_leases.expires_at <= ?5",
            )
            .ctx(self.path, OP_LEASE)?;
        let mut granted = Vec::with_capacity(keys.len());
        for (key, seen) in keys {
            let seen = seen.map_or(i64::MIN, |t| t.0);
            let changed = stmt
                .execute(params![provider, key, run.0, until.0, now.0, seen])
                .ctx(self.path, OP_LEASE)?;
            if changed > 0 {
                granted.push(key.clone());
            }
        }
        Ok(granted)
    }

    /// Ends every lease run `run` still holds (keys it leased and never stored an answer
    /// for: the provider failed, the run stopped early).
    pub fn release_leases(&self, run: RunId) -> Result<(), StoreError> {
        const OP: &str = "releasing lookup leases in";
        match self.conn {
            Db::Sqlite(conn) => conn
                .prepare_cached("DELETE FROM lookup_leases WHERE run_id = ?1")
                .and_then(|mut stmt| stmt.execute([run.0]))
                .map(drop)
                .ctx(self.path, OP),
            Db::Postgres(pg) => pg_leases::release_leases(pg, self.path, run),
        }
    }

    /// Clears the leases of runs that cannot be alive, so a run restarted after a kill
    /// does not wait out its predecessor's leases. On SQLite that is every run but
    /// `current` (call it only while holding the state's run lock); on PostgreSQL every
    /// run whose connection has ended.
    pub fn void_dead_leases(&self, current: RunId) -> Result<(), StoreError> {
        const OP: &str = "clearing dead lookup leases in";
        match self.conn {
            Db::Sqlite(conn) => conn
                .prepare_cached("DELETE FROM lookup_leases WHERE run_id <> ?1")
                .and_then(|mut stmt| stmt.execute([current.0]))
                .map(drop)
                .ctx(self.path, OP),
            Db::Postgres(pg) => pg_leases::void_dead_leases(pg, self.path),
        }
    }
}

impl Store {
    /// Which of `keys` of `provider` another live run holds a lease on at `now`.
    pub fn leased_elsewhere(
        &self,
        provider: &str,
        keys: &[String],
        run: RunId,
        now: UnixMillis,
    ) -> Result<Vec<String>, StoreError> {
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                return pg_leases::leased_elsewhere(pg, &self.path, provider, keys, run, now);
            }
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT 1 FROM lookup_leases \
                 WHERE provider = ?1 AND company_key = ?2 AND run_id <> ?3 AND expires_at > ?4",
            )
            .ctx(&self.path, OP_READ)?;
        let mut held = Vec::new();
        for key in keys {
            if stmt
                .exists(params![provider, key, run.0, now.0])
                .ctx(&self.path, OP_READ)?
            {
                held.push(key.clone());
            }
        }
        Ok(held)
    }

    /// Leases `keys` in a write of their own (see [`Writer::lease_lookups`]).
    pub fn lease_lookups(
        &mut self,
        provider: &str,
        keys: &[(String, Option<UnixMillis>)],
        run: RunId,
        now: UnixMillis,
        ttl: Duration,
    ) -> Result<Vec<String>, StoreError> {
        self.write(|w| w.lease_lookups(provider, keys, run, now, ttl))
    }
}
