//! The provider cache: every answer a provider gave, keyed by (provider, company key).

use std::collections::HashMap;
use std::path::Path;

use firmo_core::{ProviderRecord, UnixMillis};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::{Context, StoreError, from_json, to_json};
use crate::runs::RunId;
use crate::status::LookupStatus;
use crate::{Db, Store, Writer, pg};

/// One provider answer to record with [`Store::put_lookup`].
#[derive(Debug, Clone, PartialEq)]
pub struct LookupEntry {
    /// Provider name as in config (`clearbit`, `clay`, …).
    pub provider: String,
    /// The company key: the normalized domain.
    pub key: String,
    /// When the answer arrived.
    pub fetched_at: UnixMillis,
    pub status: LookupStatus,
    /// The normalized records (for a hit; empty otherwise).
    pub records: Vec<ProviderRecord>,
    /// What went wrong (for an error).
    pub error: Option<String>,
    /// For a pending answer: not to be asked again before this instant.
    pub retry_after: Option<UnixMillis>,
    /// Credits this answer cost; added to the key's running total.
    pub credits: f64,
    /// Provider calls this answer took (usually 1).
    pub attempts: u32,
}

impl LookupEntry {
    /// An answer with no records, no error, no cost and one attempt.
    pub fn new(
        provider: impl Into<String>,
        key: impl Into<String>,
        fetched_at: UnixMillis,
        status: LookupStatus,
    ) -> LookupEntry {
        LookupEntry {
            provider: provider.into(),
            key: key.into(),
            fetched_at,
            status,
            records: Vec::new(),
            error: None,
            retry_after: None,
            credits: 0.0,
            attempts: 1,
        }
    }

    /// A hit carrying `records`.
    pub fn hit(
        provider: impl Into<String>,
        key: impl Into<String>,
        fetched_at: UnixMillis,
        records: Vec<ProviderRecord>,
    ) -> LookupEntry {
        LookupEntry {
            records,
            ..LookupEntry::new(provider, key, fetched_at, LookupStatus::Hit)
        }
    }

    /// Sets the credits this answer cost.
    #[must_use]
    pub fn charged(mut self, credits: f64) -> LookupEntry {
        self.credits = credits;
        self
    }

    /// Sets the error message.
    #[must_use]
    pub fn with_error(mut self, message: impl Into<String>) -> LookupEntry {
        self.error = Some(message.into());
        self
    }

    /// Sets when a pending lookup may be asked again.
    #[must_use]
    pub fn with_retry_after(mut self, at: UnixMillis) -> LookupEntry {
        self.retry_after = Some(at);
        self
    }
}

/// What the cache holds for one (provider, company key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CachedLookup {
    pub provider: String,
    pub key: String,
    /// When the latest answer arrived.
    pub fetched_at: UnixMillis,
    /// The latest answer's status.
    pub status: LookupStatus,
    /// The latest hit's records: kept through later `pending`/`error` answers, cleared by
    /// a `miss`. Each record carries its own `fetched_at`.
    pub records: Vec<ProviderRecord>,
    pub error: Option<String>,
    pub retry_after: Option<UnixMillis>,
    /// Every credit ever charged for this key.
    pub credits: f64,
    /// How many answers in a row had `status` (provider calls, summed).
    pub attempts: u32,
}

/// One line of [`Store::cache_summary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheCount {
    pub provider: String,
    pub status: LookupStatus,
    /// Company keys whose latest answer has this status.
    pub keys: u64,
    /// Credits ever charged for those keys.
    pub credits: f64,
}

const SELECT: &str = "SELECT provider, company_key, fetched_at, status, records, error, \
     retry_after, credits, attempts FROM provider_cache \
     WHERE provider = ?1 AND company_key = ?2";

/// Reads one row; `None` when the key was never looked up.
fn get(
    conn: &Connection,
    path: &Path,
    provider: &str,
    key: &str,
) -> Result<Option<CachedLookup>, StoreError> {
    const OP: &str = "reading the provider cache in";
    let raw = conn
        .prepare_cached(SELECT)
        .and_then(|mut stmt| {
            stmt.query_row(params![provider, key], |row| {
                Ok((
                    CachedLookup {
                        provider: row.get(0)?,
                        key: row.get(1)?,
                        fetched_at: UnixMillis(row.get(2)?),
                        status: row.get(3)?,
                        records: Vec::new(),
                        error: row.get(5)?,
                        retry_after: row.get::<_, Option<i64>>(6)?.map(UnixMillis),
                        credits: row.get(7)?,
                        attempts: row.get(8)?,
                    },
                    row.get::<_, String>(4)?,
                ))
            })
            .optional()
        })
        .ctx(path, OP)?;
    let Some((mut lookup, records)) = raw else {
        return Ok(None);
    };
    lookup.records = from_json(&records, path, OP, || {
        format!("records of {provider}/{key}")
    })?;
    Ok(Some(lookup))
}

fn check_lookup_credits(path: &Path, entry: &LookupEntry) -> Result<(), StoreError> {
    if entry.credits.is_finite() && entry.credits >= 0.0 {
        return Ok(());
    }
    Err(StoreError::Invalid {
        op: "writing the provider cache in",
        path: path.to_path_buf(),
        what: format!(
            "{}/{}: credits must be a finite number >= 0, got {}",
            entry.provider, entry.key, entry.credits
        ),
    })
}

impl Writer<'_> {
    /// Records one answer (an upsert): the latest answer's fields replace the old ones,
    /// except that `credits` add up, `attempts` add up while the status stays the same,
    /// and a `pending`/`error` answer without records keeps an earlier hit's records.
    /// Ends the key's lease, if any.
    pub fn put_lookup(&self, entry: &LookupEntry) -> Result<(), StoreError> {
        const OP: &str = "writing the provider cache in";
        check_lookup_credits(self.path, entry)?;
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                return pg::ops::put_lookups(pg, self.path, std::slice::from_ref(entry));
            }
        };
        let records = to_json(&entry.records, self.path, OP, || {
            format!("records of {}/{}", entry.provider, entry.key)
        })?;
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO provider_cache (provider, company_key, fetched_at, status, records, \
                     error, retry_after, credits, attempts) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (provider, company_key) DO UPDATE SET \
                     fetched_at = excluded.fetched_at, \
                     status = excluded.status, \
                     records = CASE WHEN excluded.status IN ('pending', 'error') \
                                     AND excluded.records = '[]' \
                                    THEN provider_cache.records ELSE excluded.records END, \
                     error = excluded.error, \
                     retry_after = excluded.retry_after, \
                     credits = provider_cache.credits + excluded.credits, \
                     attempts = CASE WHEN provider_cache.status = excluded.status \
                                     THEN provider_cache.attempts + excluded.attempts \
                                     ELSE excluded.attempts END",
            )
            .ctx(self.path, OP)?;
        stmt.execute(params![
            entry.provider,
            entry.key,
            entry.fetched_at.0,
            entry.status,
            records,
            entry.error,
            entry.retry_after.map(|t| t.0),
            entry.credits,
            entry.attempts,
        ])
        .ctx(self.path, OP)?;
        // The answer is in: whoever leased the key to ask for it is done (`leases.rs`).
        conn.prepare_cached("DELETE FROM lookup_leases WHERE provider = ?1 AND company_key = ?2")
            .and_then(|mut stmt| stmt.execute(params![entry.provider, entry.key]))
            .ctx(self.path, OP)?;
        Ok(())
    }

    /// Records one answer and charges it to run `run_id` in the same transaction: the
    /// entry's `credits` and, for an answer (`hit`, `miss`, `pending`; not an `error`),
    /// one lookup go on the run's ledger the moment the cache holds them. So a run killed
    /// halfway reports what it spent, and the cache's and the ledger's totals stay equal.
    pub fn put_lookup_charged(&self, entry: &LookupEntry, run_id: RunId) -> Result<(), StoreError> {
        self.put_lookup(entry)?;
        let lookups = u64::from(entry.status != LookupStatus::Error);
        if lookups > 0 || entry.credits > 0.0 {
            self.add_credits(run_id, &entry.provider, entry.credits, lookups)?;
        }
        Ok(())
    }

    /// Records many answers (see [`Writer::put_lookup`]).
    pub fn put_lookups(&self, entries: &[LookupEntry]) -> Result<(), StoreError> {
        if let Db::Postgres(pg) = self.conn {
            entries
                .iter()
                .try_for_each(|e| check_lookup_credits(self.path, e))?;
            // One trip to the connection thread for the whole batch.
            return pg::ops::put_lookups(pg, self.path, entries);
        }
        entries.iter().try_for_each(|entry| self.put_lookup(entry))
    }
}

impl Store {
    /// What the cache holds for `provider` and company `key`, if anything.
    pub fn get_lookup(
        &self,
        provider: &str,
        key: &str,
    ) -> Result<Option<CachedLookup>, StoreError> {
        match self.db() {
            Db::Sqlite(conn) => get(conn, &self.path, provider, key),
            Db::Postgres(pg) => {
                let mut found =
                    pg::ops::get_lookups(pg, &self.path, provider, vec![key.to_owned()])?;
                Ok(found.remove(key))
            }
        }
    }

    /// The cached answers for many keys of one provider, read as one consistent snapshot.
    /// Keys never looked up are absent from the map.
    pub fn get_lookups(
        &self,
        provider: &str,
        keys: &[&str],
    ) -> Result<HashMap<String, CachedLookup>, StoreError> {
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let keys = keys.iter().map(|k| (*k).to_owned()).collect();
                return pg::ops::get_lookups(pg, &self.path, provider, keys);
            }
        };
        let tx = crate::group::snapshot(conn, &self.path, "reading the provider cache in")?;
        let mut found = HashMap::with_capacity(keys.len());
        for key in keys {
            if let Some(lookup) = get(&tx, &self.path, provider, key)? {
                found.insert(lookup.key.clone(), lookup);
            }
        }
        Ok(found)
    }

    /// Company keys whose latest `provider` answer is `pending`, soonest `retry_after`
    /// first (those without one first of all).
    pub fn pending_lookups(&self, provider: &str) -> Result<Vec<String>, StoreError> {
        const OP: &str = "reading the provider cache in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::pending_lookups(pg, &self.path, provider),
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT company_key FROM provider_cache \
                 WHERE provider = ?1 AND status = 'pending' \
                 ORDER BY retry_after, company_key",
            )
            .ctx(&self.path, OP)?;
        stmt.query_map([provider], |row| row.get(0))
            .and_then(Iterator::collect)
            .ctx(&self.path, OP)
    }

    /// Company keys whose latest `provider` answer is `pending` and was recorded by a run
    /// that never finished (killed or crashed), other than `current`: the push went out
    /// but the receiver that would have taken the callback died with that run, so the
    /// entry's `retry_after` is worth nothing and the key may be asked again now.
    ///
    /// The run an answer belongs to is the latest non-dry run started at or before its
    /// `fetched_at`. Only meaningful while holding the run lock: without it an unfinished
    /// run may still be alive.
    pub fn orphaned_pending(
        &self,
        provider: &str,
        current: RunId,
    ) -> Result<Vec<String>, StoreError> {
        const OP: &str = "reading the provider cache in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                return pg::ops::orphaned_pending(pg, &self.path, provider, current);
            }
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT c.company_key FROM provider_cache c \
                 WHERE c.provider = ?1 AND c.status = 'pending' \
                   AND (SELECT r.finished_at IS NULL AND r.id <> ?2 FROM runs r \
                        WHERE r.started_at <= c.fetched_at AND r.dry_run = 0 \
                        ORDER BY r.started_at DESC, r.id DESC LIMIT 1) = 1 \
                 ORDER BY c.company_key",
            )
            .ctx(&self.path, OP)?;
        stmt.query_map(params![provider, current.0], |row| row.get(0))
            .and_then(Iterator::collect)
            .ctx(&self.path, OP)
    }

    /// How many cached keys each provider has per status, by provider then status (for
    /// reports: hit rate, misses never paid for twice, lookups still pending).
    pub fn cache_summary(&self) -> Result<Vec<CacheCount>, StoreError> {
        const OP: &str = "reading the provider cache in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::cache_summary(pg, &self.path),
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT provider, status, count(*), sum(credits) FROM provider_cache \
                 GROUP BY provider, status ORDER BY provider, status",
            )
            .ctx(&self.path, OP)?;
        stmt.query_map([], |row| {
            Ok(CacheCount {
                provider: row.get(0)?,
                status: row.get(1)?,
                keys: row.get::<_, i64>(2)? as u64,
                credits: row.get(3)?,
            })
        })
        .and_then(Iterator::collect)
        .ctx(&self.path, OP)
    }

    /// Records one provider answer in its own transaction (see [`Writer::put_lookup`]).
    pub fn put_lookup(&mut self, entry: &LookupEntry) -> Result<(), StoreError> {
        self.write(|w| w.put_lookup(entry))
    }

    /// Records one answer and its charge to `run_id` in one transaction (see
    /// [`Writer::put_lookup_charged`]).
    pub fn put_lookup_charged(
        &mut self,
        entry: &LookupEntry,
        run_id: RunId,
    ) -> Result<(), StoreError> {
        self.write(|w| w.put_lookup_charged(entry, run_id))
    }

    /// Records many provider answers in one transaction.
    pub fn put_lookups(&mut self, entries: &[LookupEntry]) -> Result<(), StoreError> {
        self.write(|w| w.put_lookups(entries))
    }
}

// Tests: tests/conformance.rs, run on both backends.
