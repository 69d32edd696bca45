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

impl Writer<'_> {
    /// Records one answer (an upsert): the latest answer's fields replace the old ones,
    /// except that `credits` add up, `attempts` add up while the status stays the same,
    /// and a `pending`/`error` answer without records keeps an earlier hit's records.
    pub fn put_lookup(&self, entry: &LookupEntry) -> Result<(), StoreError> {
        const OP: &str = "writing the provider cache in";
        if !entry.credits.is_finite() || entry.credits < 0.0 {
            return Err(StoreError::Invalid {
                op: OP,
                path: self.path.to_path_buf(),
                what: format!(
                    "{}/{}: credits must be a finite number >= 0, got {}",
                    entry.provider, entry.key, entry.credits
                ),
            });
        }
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::put_lookup(pg, self.path, entry),
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
        let tx = conn
            .unchecked_transaction()
            .ctx(&self.path, "reading the provider cache in")?;
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

#[cfg(test)]
mod tests {
    use firmo_core::{Field, Source, Value};

    use super::*;

    fn record(at: i64, headcount: i64) -> ProviderRecord {
        ProviderRecord::new(Source::Clearbit, UnixMillis(at))
            .with(Field::Headcount, Some(Value::Integer(headcount)))
    }

    #[test]
    fn a_hit_round_trips_with_typed_records() {
        let mut store = Store::open_in_memory().unwrap();
        let entry = LookupEntry::hit(
            "clearbit",
            "acme.com",
            UnixMillis(10),
            vec![record(10, 120)],
        )
        .charged(1.5);
        store.put_lookup(&entry).unwrap();
        let got = store.get_lookup("clearbit", "acme.com").unwrap().unwrap();
        assert_eq!(got.status, LookupStatus::Hit);
        assert_eq!(got.records, entry.records);
        assert_eq!(got.fetched_at, UnixMillis(10));
        assert!((got.credits - 1.5).abs() < f64::EPSILON);
        assert_eq!(got.attempts, 1);
        assert_eq!(store.get_lookup("clearbit", "other.com").unwrap(), None);
        assert_eq!(store.get_lookup("clay", "acme.com").unwrap(), None);
    }

    #[test]
    fn upserts_replace_the_answer_and_add_up_the_cost() {
        let mut store = Store::open_in_memory().unwrap();
        let key = ("clearbit", "acme.com");
        let pending = LookupEntry::new(key.0, key.1, UnixMillis(1), LookupStatus::Pending)
            .with_retry_after(UnixMillis(500))
            .charged(1.0);
        store.put_lookup(&pending).unwrap();
        store.put_lookup(&pending).unwrap();
        let got = store.get_lookup(key.0, key.1).unwrap().unwrap();
        assert_eq!((got.status, got.attempts), (LookupStatus::Pending, 2));
        assert_eq!(got.retry_after, Some(UnixMillis(500)));

        store
            .put_lookup(&LookupEntry::hit(
                key.0,
                key.1,
                UnixMillis(2),
                vec![record(2, 50)],
            ))
            .unwrap();
        let got = store.get_lookup(key.0, key.1).unwrap().unwrap();
        assert_eq!(
            (got.status, got.attempts),
            (LookupStatus::Hit, 1),
            "attempts reset"
        );
        assert_eq!(got.retry_after, None);
        assert!(
            (got.credits - 2.0).abs() < f64::EPSILON,
            "credits accumulate"
        );
        assert_eq!(
            store.pending_lookups("clearbit").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_failed_refresh_keeps_the_last_good_records_but_a_miss_clears_them() {
        let mut store = Store::open_in_memory().unwrap();
        let good = LookupEntry::hit("clearbit", "acme.com", UnixMillis(1), vec![record(1, 9)]);
        store.put_lookup(&good).unwrap();
        store
            .put_lookup(
                &LookupEntry::new("clearbit", "acme.com", UnixMillis(2), LookupStatus::Error)
                    .with_error("HTTP 503"),
            )
            .unwrap();
        let got = store.get_lookup("clearbit", "acme.com").unwrap().unwrap();
        assert_eq!(got.status, LookupStatus::Error);
        assert_eq!(got.error.as_deref(), Some("HTTP 503"));
        assert_eq!(got.fetched_at, UnixMillis(2));
        assert_eq!(got.records, good.records);

        store
            .put_lookup(&LookupEntry::new(
                "clearbit",
                "acme.com",
                UnixMillis(3),
                LookupStatus::Miss,
            ))
            .unwrap();
        let got = store.get_lookup("clearbit", "acme.com").unwrap().unwrap();
        assert_eq!((got.status, got.error), (LookupStatus::Miss, None));
        assert!(got.records.is_empty());
    }

    #[test]
    fn get_lookups_returns_only_known_keys() {
        let mut store = Store::open_in_memory().unwrap();
        let entries: Vec<_> = (0..250)
            .map(|i| {
                let status = if i % 2 == 0 {
                    LookupStatus::Hit
                } else {
                    LookupStatus::Miss
                };
                LookupEntry::new("clay", format!("c{i}.com"), UnixMillis(i), status)
            })
            .collect();
        store.put_lookups(&entries).unwrap();
        let keys: Vec<String> = (240..260).map(|i| format!("c{i}.com")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let got = store.get_lookups("clay", &keys).unwrap();
        assert_eq!(got.len(), 10);
        assert_eq!(got["c241.com"].status, LookupStatus::Miss);
        assert_eq!(got["c242.com"].fetched_at, UnixMillis(242));
        assert!(store.get_lookups("clearbit", &keys).unwrap().is_empty());
    }

    #[test]
    fn pending_lookups_come_soonest_first() {
        let mut store = Store::open_in_memory().unwrap();
        let pending = |key: &str, at: Option<i64>| {
            let entry = LookupEntry::new("clay", key, UnixMillis(0), LookupStatus::Pending);
            match at {
                Some(at) => entry.with_retry_after(UnixMillis(at)),
                None => entry,
            }
        };
        store
            .put_lookups(&[
                pending("late.com", Some(900)),
                pending("soon.com", Some(100)),
                pending("any.com", None),
                LookupEntry::new("clay", "done.com", UnixMillis(0), LookupStatus::Hit),
                LookupEntry::new(
                    "clearbit",
                    "other.com",
                    UnixMillis(0),
                    LookupStatus::Pending,
                ),
            ])
            .unwrap();
        assert_eq!(
            store.pending_lookups("clay").unwrap(),
            ["any.com", "soon.com", "late.com"]
        );
    }

    #[test]
    fn the_summary_counts_keys_per_provider_and_status() {
        let mut store = Store::open_in_memory().unwrap();
        let miss = |p: &str, k: &str| {
            LookupEntry::new(p, k, UnixMillis(0), LookupStatus::Miss).charged(1.0)
        };
        store
            .put_lookups(&[
                miss("clay", "a.com"),
                miss("clay", "b.com"),
                LookupEntry::hit("clay", "c.com", UnixMillis(0), vec![record(0, 5)]),
                miss("clearbit", "a.com"),
            ])
            .unwrap();
        let summary = store.cache_summary().unwrap();
        let lines: Vec<_> = summary
            .iter()
            .map(|c| (c.provider.as_str(), c.status, c.keys))
            .collect();
        assert_eq!(
            lines,
            [
                ("clay", LookupStatus::Hit, 1),
                ("clay", LookupStatus::Miss, 2),
                ("clearbit", LookupStatus::Miss, 1)
            ]
        );
        assert!((summary[1].credits - 2.0).abs() < f64::EPSILON);
    }

    #[test]
    fn bad_credit_counts_are_refused_and_roll_back_the_batch() {
        let mut store = Store::open_in_memory().unwrap();
        let ok = LookupEntry::new("clay", "a.com", UnixMillis(0), LookupStatus::Miss);
        let bad =
            LookupEntry::new("clay", "b.com", UnixMillis(0), LookupStatus::Miss).charged(f64::NAN);
        let err = store.put_lookups(&[ok, bad]).unwrap_err();
        assert!(
            err.to_string().contains("clay/b.com: credits must be"),
            "{err}"
        );
        assert_eq!(store.get_lookup("clay", "a.com").unwrap(), None);
    }

    #[test]
    fn a_charged_answer_lands_on_the_run_ledger_with_the_cache_entry() {
        let mut store = Store::open_in_memory().unwrap();
        let run = store
            .start_run(&crate::RunStart::new("sync", UnixMillis(1)))
            .unwrap();
        let miss =
            LookupEntry::new("clearbit", "a.com", UnixMillis(2), LookupStatus::Miss).charged(1.5);
        store.put_lookup_charged(&miss, run).unwrap();
        let pending = LookupEntry::new("clearbit", "b.com", UnixMillis(3), LookupStatus::Pending)
            .charged(0.5);
        store.put_lookup_charged(&pending, run).unwrap();
        // A failed call is not a lookup and costs nothing.
        let error = LookupEntry::new("clearbit", "c.com", UnixMillis(4), LookupStatus::Error);
        store.put_lookup_charged(&error, run).unwrap();

        // The run never finished: it reads as interrupted and still shows its spend.
        let got = store.get_run(run).unwrap().unwrap();
        assert_eq!(got.outcome, crate::RunOutcome::Interrupted);
        assert_eq!(got.lookups, 2);
        assert!((got.credits - 2.0).abs() < f64::EPSILON, "{}", got.credits);
        assert!(store.get_lookup("clearbit", "c.com").unwrap().is_some());
    }

    #[test]
    fn pending_answers_of_runs_that_never_finished_are_orphaned() {
        let mut store = Store::open_in_memory().unwrap();
        let pending = |key: &str, at: i64| {
            LookupEntry::new("clay", key, UnixMillis(at), LookupStatus::Pending)
                .with_retry_after(UnixMillis(at + 3_600_000))
        };
        // Run 1 was killed after pushing a.com.
        let killed = store
            .start_run(&crate::RunStart::new("sync", UnixMillis(100)))
            .unwrap();
        store.put_lookup(&pending("a.com", 150)).unwrap();
        store
            .put_lookup(&LookupEntry::new(
                "clay",
                "hit.com",
                UnixMillis(160),
                LookupStatus::Hit,
            ))
            .unwrap();
        // Run 2 finished with b.com still pending (its callback may still come).
        let finished = store
            .start_run(&crate::RunStart::new("sync", UnixMillis(200)))
            .unwrap();
        store.put_lookup(&pending("b.com", 250)).unwrap();
        store
            .finish_run(
                finished,
                UnixMillis(300),
                crate::RunOutcome::Ok,
                &serde_json::json!({}),
            )
            .unwrap();
        // The current run pushes c.com.
        let current = store
            .start_run(&crate::RunStart::new("sync", UnixMillis(400)))
            .unwrap();
        store.put_lookup(&pending("c.com", 450)).unwrap();

        assert_eq!(store.orphaned_pending("clay", current).unwrap(), ["a.com"]);
        assert!(
            store
                .orphaned_pending("clearbit", current)
                .unwrap()
                .is_empty()
        );
        // Seen from the killed run itself, nothing of its own is orphaned; c.com is.
        assert_eq!(store.orphaned_pending("clay", killed).unwrap(), ["c.com"]);
    }

    #[test]
    fn a_charge_to_an_unknown_run_stores_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let miss =
            LookupEntry::new("clay", "a.com", UnixMillis(2), LookupStatus::Miss).charged(1.0);
        let err = store.put_lookup_charged(&miss, RunId(42)).unwrap_err();
        assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
        assert_eq!(store.get_lookup("clay", "a.com").unwrap(), None);
    }

    #[test]
    fn unreadable_records_are_an_error_naming_the_key() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .put_lookup(&LookupEntry::new(
                "clay",
                "a.com",
                UnixMillis(0),
                LookupStatus::Hit,
            ))
            .unwrap();
        store
            .conn
            .execute(
                "UPDATE provider_cache SET records = '[{\"source\": 1}]'",
                [],
            )
            .unwrap();
        let err = store.get_lookup("clay", "a.com").unwrap_err();
        assert!(err.to_string().contains("records of clay/a.com"), "{err}");
    }
}
