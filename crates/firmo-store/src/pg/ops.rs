//! Every store operation in PostgreSQL's dialect, one function per `Store`/`Writer`
//! method of the same name. The callers in `cache.rs`, `runs.rs`, `journal.rs` and
//! `cursor.rs` validate their input first and dispatch here, so the rules (credits must
//! be finite, one outcome per account, …) are written once for both backends.
//!
//! SQL differences from the SQLite statements: `$n` placeholders; a page of keys as one
//! array (`unnest($n)`) instead of one statement per key, one round trip for the page,
//! each key looked up through a `LATERAL … OFFSET 0` subquery so that the planner probes
//! the primary key per key even before the table has statistics (a plain `= ANY($n)`
//! was planned as a scan of the whole portal: 600 ms instead of 0.4 ms for 20 keys in
//! 30,000 rows); `NULLS
//! FIRST` where SQLite sorts NULL first by itself; `COLLATE "C"` on text ordering, so
//! both backends sort by bytes whatever the database's locale; `RETURNING id` instead of
//! `last_insert_rowid()`; `sum(bigint)` cast back from `numeric`.

use std::collections::HashMap;
use std::path::Path;

use firmo_core::UnixMillis;
use postgres::Row;

use super::conn::{PgConn, Session};
use crate::cache::{CacheCount, CachedLookup, LookupEntry};
use crate::error::{StoreError, from_json, to_json};
use crate::journal::JournalEntry;
use crate::runs::{
    AccountOutcome, MergedSnapshot, OutcomeCounts, ProviderSpend, RawRun, RunId, RunRecord,
    RunStart,
};
use crate::status::{LookupStatus, Outcome, RunOutcome};

/// Parses a closed-vocabulary column; an unknown word is an error naming it.
fn word<T>(
    session: &Session,
    op: &'static str,
    text: &str,
    what: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::Postgres {
        op,
        path: session.path.clone(),
        message: format!("unknown {what} {text:?}"),
        source: None,
    })
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// ---- provider cache ----

fn cached(session: &Session, op: &'static str, row: &Row) -> Result<CachedLookup, StoreError> {
    let provider: String = row.get(0);
    let key: String = row.get(1);
    let status: String = row.get(3);
    let records: String = row.get(4);
    let records = from_json(&records, &session.path, op, || {
        format!("records of {provider}/{key}")
    })?;
    Ok(CachedLookup {
        status: word(session, op, &status, "lookup status", LookupStatus::parse)?,
        fetched_at: UnixMillis(row.get(2)),
        records,
        error: row.get(5),
        retry_after: row.get::<_, Option<i64>>(6).map(UnixMillis),
        credits: row.get(7),
        attempts: u32::try_from(row.get::<_, i64>(8)).unwrap_or(u32::MAX),
        provider,
        key,
    })
}

pub(crate) fn get_lookups(
    pg: &PgConn,
    path: &Path,
    provider: &str,
    keys: Vec<String>,
) -> Result<HashMap<String, CachedLookup>, StoreError> {
    const OP: &str = "reading the provider cache in";
    let provider = provider.to_owned();
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT c.provider, c.company_key, c.fetched_at, c.status, c.records, c.error, \
                    c.retry_after, c.credits, c.attempts \
             FROM unnest($2::text[]) AS k(key) CROSS JOIN LATERAL ( \
                 SELECT * FROM provider_cache \
                 WHERE provider = $1 AND company_key = k.key OFFSET 0) AS c",
            &[&provider, &keys],
        )?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in &rows {
            let lookup = cached(s, OP, row)?;
            found.insert(lookup.key.clone(), lookup);
        }
        Ok(found)
    })
}

/// Splits `items` into runs in which no key repeats: one multi-row upsert may not touch a
/// row twice, and answers for the same key must apply in order.
fn distinct_runs<'a, T, K: Eq + std::hash::Hash>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<&'a [T]> {
    let mut runs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut start = 0;
    for (i, item) in items.iter().enumerate() {
        if !seen.insert(key(item)) {
            runs.push(&items[start..i]);
            seen.clear();
            seen.insert(key(item));
            start = i;
        }
    }
    if start < items.len() {
        runs.push(&items[start..]);
    }
    runs
}

pub(crate) fn put_lookups(
    pg: &PgConn,
    path: &Path,
    entries: &[LookupEntry],
) -> Result<(), StoreError> {
    const OP: &str = "writing the provider cache in";
    let mut batches = Vec::new();
    for run in distinct_runs(entries, |e| (e.provider.as_str(), e.key.as_str())) {
        let mut records = Vec::with_capacity(run.len());
        for e in run {
            records.push(to_json(&e.records, path, OP, || {
                format!("records of {}/{}", e.provider, e.key)
            })?);
        }
        batches.push(LookupColumns {
            provider: run.iter().map(|e| e.provider.clone()).collect(),
            key: run.iter().map(|e| e.key.clone()).collect(),
            fetched_at: run.iter().map(|e| e.fetched_at.0).collect(),
            status: run.iter().map(|e| e.status.as_str()).collect(),
            records,
            error: run.iter().map(|e| e.error.clone()).collect(),
            retry_after: run.iter().map(|e| e.retry_after.map(|t| t.0)).collect(),
            credits: run.iter().map(|e| e.credits).collect(),
            attempts: run.iter().map(|e| i64::from(e.attempts)).collect(),
        });
    }
    pg.run(path, OP, move |s| {
        for b in &batches {
            // One statement per run of distinct keys: the rows go as arrays.
            s.execute(
                OP,
                "INSERT INTO provider_cache (provider, company_key, fetched_at, status, records, \
                     error, retry_after, credits, attempts) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], \
                     $5::text[], $6::text[], $7::bigint[], $8::float8[], $9::bigint[]) \
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
                &[
                    &b.provider,
                    &b.key,
                    &b.fetched_at,
                    &b.status,
                    &b.records,
                    &b.error,
                    &b.retry_after,
                    &b.credits,
                    &b.attempts,
                ],
            )?;
            // The answers are in: their keys' leases end (`leases.rs`).
            s.execute(
                OP,
                "DELETE FROM lookup_leases l USING unnest($1::text[], $2::text[]) AS k(p, c) \
                 WHERE l.provider = k.p AND l.company_key = k.c",
                &[&b.provider, &b.key],
            )?;
        }
        Ok(())
    })
}

/// A run of answers as one array per column.
struct LookupColumns {
    provider: Vec<String>,
    key: Vec<String>,
    fetched_at: Vec<i64>,
    status: Vec<&'static str>,
    records: Vec<String>,
    error: Vec<Option<String>>,
    retry_after: Vec<Option<i64>>,
    credits: Vec<f64>,
    attempts: Vec<i64>,
}

fn keys(
    pg: &PgConn,
    path: &Path,
    sql: &'static str,
    provider: &str,
    current: Option<RunId>,
) -> Result<Vec<String>, StoreError> {
    const OP: &str = "reading the provider cache in";
    let provider = provider.to_owned();
    pg.run(path, OP, move |s| {
        let rows = match current {
            Some(run) => s.query(OP, sql, &[&provider, &run.0])?,
            None => s.query(OP, sql, &[&provider])?,
        };
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })
}

pub(crate) fn pending_lookups(
    pg: &PgConn,
    path: &Path,
    provider: &str,
) -> Result<Vec<String>, StoreError> {
    keys(
        pg,
        path,
        "SELECT company_key FROM provider_cache \
         WHERE provider = $1 AND status = 'pending' \
         ORDER BY retry_after NULLS FIRST, company_key COLLATE \"C\"",
        provider,
        None,
    )
}

pub(crate) fn orphaned_pending(
    pg: &PgConn,
    path: &Path,
    provider: &str,
    current: RunId,
) -> Result<Vec<String>, StoreError> {
    keys(
        pg,
        path,
        "SELECT c.company_key FROM provider_cache c \
         WHERE c.provider = $1 AND c.status = 'pending' \
           AND (SELECT r.finished_at IS NULL AND r.id <> $2 FROM runs r \
                WHERE r.started_at <= c.fetched_at AND r.dry_run = 0 \
                ORDER BY r.started_at DESC, r.id DESC LIMIT 1) IS TRUE \
         ORDER BY c.company_key COLLATE \"C\"",
        provider,
        Some(current),
    )
}

pub(crate) fn cache_summary(pg: &PgConn, path: &Path) -> Result<Vec<CacheCount>, StoreError> {
    const OP: &str = "reading the provider cache in";
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT provider, status, count(*), sum(credits) FROM provider_cache \
             GROUP BY provider, status \
             ORDER BY provider COLLATE \"C\", status COLLATE \"C\"",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                let status: String = row.get(1);
                Ok(CacheCount {
                    provider: row.get(0),
                    status: word(s, OP, &status, "lookup status", LookupStatus::parse)?,
                    keys: row.get::<_, i64>(2) as u64,
                    credits: row.get(3),
                })
            })
            .collect()
    })
}

// ---- cursors ----

pub(crate) fn set_cursor(
    pg: &PgConn,
    path: &Path,
    key: [&str; 4],
    updated_at: UnixMillis,
) -> Result<(), StoreError> {
    const OP: &str = "writing a sync cursor in";
    let [crm, portal, name, value] = key.map(str::to_owned);
    pg.run(path, OP, move |s| {
        s.execute(
            OP,
            "INSERT INTO sync_cursors (crm, portal, name, value, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (crm, portal, name) DO UPDATE SET \
                 value = excluded.value, updated_at = excluded.updated_at",
            &[&crm, &portal, &name, &value, &updated_at.0],
        )?;
        Ok(())
    })
}

pub(crate) fn get_cursor_entry(
    pg: &PgConn,
    path: &Path,
    key: [&str; 3],
) -> Result<Option<(String, UnixMillis)>, StoreError> {
    const OP: &str = "reading a sync cursor in";
    let [crm, portal, name] = key.map(str::to_owned);
    pg.run(path, OP, move |s| {
        let row = s.query_opt(
            OP,
            "SELECT value, updated_at FROM sync_cursors \
             WHERE crm = $1 AND portal = $2 AND name = $3",
            &[&crm, &portal, &name],
        )?;
        Ok(row.map(|r| (r.get(0), UnixMillis(r.get(1)))))
    })
}

// ---- write journal ----

pub(crate) fn record_writes(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
    entries: &[JournalEntry],
) -> Result<(), StoreError> {
    const OP: &str = "writing the write journal in";
    let runs = distinct_runs(entries, |e| {
        (
            e.crm.as_str(),
            e.portal.as_str(),
            e.record_id.as_str(),
            e.property.as_str(),
        )
    });
    let batches: Vec<([Vec<String>; 5], Vec<i64>)> = runs
        .into_iter()
        .map(|run| {
            let column =
                |f: fn(&JournalEntry) -> &String| run.iter().map(|e| f(e).clone()).collect();
            let text = [
                column(|e| &e.crm),
                column(|e| &e.portal),
                column(|e| &e.record_id),
                column(|e| &e.property),
                column(|e| &e.value),
            ];
            (text, run.iter().map(|e| e.written_at.0).collect())
        })
        .collect();
    pg.run(path, OP, move |s| {
        for ([crm, portal, record_id, property, value], written_at) in &batches {
            let params: [&(dyn postgres::types::ToSql + Sync); 7] =
                [&run_id.0, crm, portal, record_id, property, value, written_at];
            // History ids follow the journal's order: rows are inserted by ordinality.
            s.execute(
                OP,
                "INSERT INTO write_journal \
                     (run_id, crm, portal, record_id, property, value, written_at) \
                 SELECT $1, c, p, r, k, v, w FROM unnest($2::text[], $3::text[], $4::text[], \
                     $5::text[], $6::text[], $7::bigint[]) WITH ORDINALITY AS t(c, p, r, k, v, w, n) \
                 ORDER BY n",
                &params,
            )?;
            s.execute(
                OP,
                "INSERT INTO journal_latest \
                     (run_id, crm, portal, record_id, property, value, written_at) \
                 SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], \
                     $6::text[], $7::bigint[]) \
                 ON CONFLICT (crm, portal, record_id, property) DO UPDATE SET \
                     value = excluded.value, written_at = excluded.written_at, \
                     run_id = excluded.run_id \
                 WHERE excluded.written_at >= journal_latest.written_at",
                &params,
            )?;
        }
        Ok(())
    })
}

pub(crate) fn last_writes(
    pg: &PgConn,
    path: &Path,
    crm: &str,
    portal: &str,
    record_ids: Vec<String>,
) -> Result<HashMap<(String, String), JournalEntry>, StoreError> {
    const OP: &str = "reading the write journal in";
    let (crm, portal) = (crm.to_owned(), portal.to_owned());
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT j.record_id, j.property, j.value, j.written_at \
             FROM unnest($3::text[]) AS r(id) CROSS JOIN LATERAL ( \
                 SELECT * FROM journal_latest \
                 WHERE crm = $1 AND portal = $2 AND record_id = r.id OFFSET 0) AS j",
            &[&crm, &portal, &record_ids],
        )?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            let entry = JournalEntry {
                crm: crm.clone(),
                portal: portal.clone(),
                record_id: row.get(0),
                property: row.get(1),
                value: row.get(2),
                written_at: UnixMillis(row.get(3)),
            };
            found.insert((entry.record_id.clone(), entry.property.clone()), entry);
        }
        Ok(found)
    })
}

/// [`Store::last_writes_adopting`] on PostgreSQL: per record and property, this key's
/// entry if it has one, else the newest under any other key of the same CRM.
pub(crate) fn last_writes_adopting(
    pg: &PgConn,
    path: &Path,
    crm: &str,
    portal: &str,
    record_ids: Vec<String>,
) -> Result<HashMap<(String, String), JournalEntry>, StoreError> {
    const OP: &str = "reading the write journal in";
    let (crm, portal) = (crm.to_owned(), portal.to_owned());
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT DISTINCT ON (j.record_id, j.property) \
                    j.record_id, j.property, j.value, j.written_at, j.portal \
             FROM unnest($3::text[]) AS r(id) CROSS JOIN LATERAL ( \
                 SELECT * FROM journal_latest \
                 WHERE crm = $1 AND record_id = r.id OFFSET 0) AS j \
             ORDER BY j.record_id, j.property, (j.portal = $2) DESC, j.written_at DESC",
            &[&crm, &portal, &record_ids],
        )?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            let entry = JournalEntry {
                crm: crm.clone(),
                portal: row.get(4),
                record_id: row.get(0),
                property: row.get(1),
                value: row.get(2),
                written_at: UnixMillis(row.get(3)),
            };
            found.insert((entry.record_id.clone(), entry.property.clone()), entry);
        }
        Ok(found)
    })
}

pub(crate) fn writes_for_run(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
) -> Result<Vec<JournalEntry>, StoreError> {
    const OP: &str = "reading the write journal in";
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT crm, portal, record_id, property, value, written_at FROM write_journal \
             WHERE run_id = $1 ORDER BY id",
            &[&run_id.0],
        )?;
        Ok(rows
            .iter()
            .map(|row| JournalEntry {
                crm: row.get(0),
                portal: row.get(1),
                record_id: row.get(2),
                property: row.get(3),
                value: row.get(4),
                written_at: UnixMillis(row.get(5)),
            })
            .collect())
    })
}

// ---- runs ----

pub(crate) fn start_run(pg: &PgConn, path: &Path, start: &RunStart) -> Result<RunId, StoreError> {
    const OP: &str = "recording a run in";
    let config = to_json(&start.config, path, OP, || "run config".into())?;
    let start = start.clone();
    pg.run(path, OP, move |s| {
        let row = s.query_opt(
            OP,
            "INSERT INTO runs (kind, crm, portal, started_at, dry_run, config_json) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &start.kind,
                &start.crm,
                &start.portal,
                &start.started_at.0,
                &i64::from(start.dry_run),
                &config,
            ],
        )?;
        Ok(RunId(row.map_or(0, |r| r.get(0))))
    })
}

pub(crate) fn finish_run(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
    finished_at: UnixMillis,
    outcome: RunOutcome,
    summary: String,
) -> Result<u64, StoreError> {
    const OP: &str = "recording the end of a run in";
    pg.run(path, OP, move |s| {
        s.execute(
            OP,
            "UPDATE runs SET finished_at = $2, outcome = $3, summary_json = $4 WHERE id = $1",
            &[&run_id.0, &finished_at.0, &outcome.as_str(), &summary],
        )
    })
}

/// An outcome with its detail already serialized.
pub(crate) type OutcomeRow = (AccountOutcome, Option<String>);

pub(crate) fn record_outcomes(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
    rows: Vec<OutcomeRow>,
) -> Result<(), StoreError> {
    const OP: &str = "recording account outcomes in";
    pg.run(path, OP, move |s| {
        for (o, detail) in &rows {
            s.execute(
                OP,
                "INSERT INTO run_outcomes \
                     (run_id, account_id, domain, outcome, reason, detail_json) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (run_id, account_id) DO UPDATE SET \
                     domain = excluded.domain, outcome = excluded.outcome, \
                     reason = excluded.reason, detail_json = excluded.detail_json",
                &[
                    &run_id.0,
                    &o.account_id,
                    &o.domain,
                    &o.outcome.as_str(),
                    &o.reason,
                    detail,
                ],
            )?;
        }
        Ok(())
    })
}

pub(crate) fn add_credits(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
    provider: &str,
    credits: f64,
    lookups: u64,
) -> Result<(), StoreError> {
    const OP: &str = "writing the credit ledger in";
    let provider = provider.to_owned();
    pg.run(path, OP, move |s| {
        s.execute(
            OP,
            "INSERT INTO run_credits (run_id, provider, credits, lookups) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run_id, provider) DO UPDATE SET \
                 credits = run_credits.credits + excluded.credits, \
                 lookups = run_credits.lookups + excluded.lookups",
            &[&run_id.0, &provider, &credits, &count(lookups)],
        )?;
        Ok(())
    })
}

/// A merged snapshot serialized: (account id, merged JSON, findings JSON).
pub(crate) type MergedRow = (String, String, String);

pub(crate) fn record_merged(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
    rows: Vec<MergedRow>,
) -> Result<(), StoreError> {
    const OP: &str = "recording merged snapshots in";
    pg.run(path, OP, move |s| {
        for (account_id, merged, findings) in &rows {
            s.execute(
                OP,
                "INSERT INTO run_merged (run_id, account_id, merged_json, findings_json) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (run_id, account_id) DO UPDATE SET \
                     merged_json = excluded.merged_json, findings_json = excluded.findings_json",
                &[&run_id.0, account_id, merged, findings],
            )?;
        }
        Ok(())
    })
}

pub(crate) fn prune_merged(pg: &PgConn, path: &Path, keep: i64) -> Result<u64, StoreError> {
    const OP: &str = "pruning merged snapshots in";
    pg.run(path, OP, move |s| {
        s.execute(
            OP,
            "DELETE FROM run_merged WHERE run_id NOT IN \
                 (SELECT id FROM runs ORDER BY id DESC LIMIT $1)",
            &[&keep],
        )
    })
}

/// Which runs [`runs`] reads.
#[derive(Debug, Clone)]
pub(crate) enum Runs {
    One(RunId),
    Newest(i64),
    LastOfKind(String),
    /// The newest N on one portal.
    NewestOn(String, i64),
}

fn raw_run(s: &Session, row: &Row) -> Result<RawRun, StoreError> {
    const OP: &str = "reading runs in";
    let outcome: Option<String> = row.get(7);
    Ok(RawRun {
        id: row.get(0),
        kind: row.get(1),
        crm: row.get(2),
        portal: row.get(3),
        started_at: row.get(4),
        finished_at: row.get(5),
        dry_run: row.get::<_, i64>(6) != 0,
        outcome: outcome
            .map(|o| word(s, OP, &o, "run outcome", RunOutcome::parse))
            .transpose()?,
        config: row.get(8),
        summary: row.get(9),
    })
}

/// Runs with their counts and spend, read in one snapshot (a repeatable-read
/// transaction), as SQLite reads them in one read transaction.
pub(crate) fn runs(pg: &PgConn, path: &Path, which: Runs) -> Result<Vec<RunRecord>, StoreError> {
    const OP: &str = "reading runs in";
    pg.run(path, OP, move |s| {
        s.batch(OP, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let result = runs_in_snapshot(s, &which);
        let end = s.batch(OP, if result.is_ok() { "COMMIT" } else { "ROLLBACK" });
        let runs = result?;
        end?;
        Ok(runs)
    })
}

fn runs_in_snapshot(s: &mut Session, which: &Runs) -> Result<Vec<RunRecord>, StoreError> {
    const OP: &str = "reading runs in";
    let rows = match which {
        Runs::One(id) => s.query(
            OP,
            "SELECT id, kind, crm, portal, started_at, finished_at, dry_run, outcome, \
                    config_json, summary_json FROM runs WHERE id = $1",
            &[&id.0],
        )?,
        Runs::Newest(limit) => s.query(
            OP,
            "SELECT id, kind, crm, portal, started_at, finished_at, dry_run, outcome, \
                    config_json, summary_json FROM runs ORDER BY id DESC LIMIT $1",
            &[limit],
        )?,
        Runs::LastOfKind(kind) => s.query(
            OP,
            "SELECT id, kind, crm, portal, started_at, finished_at, dry_run, outcome, \
                    config_json, summary_json FROM runs WHERE kind = $1 ORDER BY id DESC LIMIT 1",
            &[kind],
        )?,
        Runs::NewestOn(portal, limit) => s.query(
            OP,
            "SELECT id, kind, crm, portal, started_at, finished_at, dry_run, outcome, \
                    config_json, summary_json FROM runs WHERE portal = $1 \
                    ORDER BY id DESC LIMIT $2",
            &[portal, limit],
        )?,
    };
    let mut runs = Vec::with_capacity(rows.len());
    for row in &rows {
        let raw = raw_run(s, row)?;
        let id = RunId(raw.id);
        let counts = outcome_counts_in(s, id)?;
        let spend = credits_for_run_in(s, id)?;
        let path = s.path.clone();
        runs.push(raw.into_record(&path, counts, &spend)?);
    }
    Ok(runs)
}

pub(crate) fn run_portals(pg: &PgConn, path: &Path) -> Result<Vec<String>, StoreError> {
    const OP: &str = "reading runs in";
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT DISTINCT portal COLLATE \"C\" AS p FROM runs WHERE portal IS NOT NULL \
             ORDER BY p",
            &[],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })
}

fn outcome_counts_in(s: &mut Session, run_id: RunId) -> Result<OutcomeCounts, StoreError> {
    const OP: &str = "reading account outcomes in";
    let rows = s.query(
        OP,
        "SELECT outcome, count(*) FROM run_outcomes WHERE run_id = $1 GROUP BY outcome",
        &[&run_id.0],
    )?;
    let mut counts = OutcomeCounts::default();
    for row in &rows {
        let outcome: String = row.get(0);
        let outcome = word(s, OP, &outcome, "account outcome", Outcome::parse)?;
        *counts.slot(outcome) = row.get::<_, i64>(1) as u64;
    }
    Ok(counts)
}

fn spend(rows: &[Row]) -> Vec<ProviderSpend> {
    rows.iter()
        .map(|row| ProviderSpend {
            provider: row.get(0),
            credits: row.get(1),
            lookups: row.get::<_, i64>(2) as u64,
        })
        .collect()
}

fn credits_for_run_in(s: &mut Session, run_id: RunId) -> Result<Vec<ProviderSpend>, StoreError> {
    const OP: &str = "reading the credit ledger in";
    let rows = s.query(
        OP,
        "SELECT provider, credits, lookups FROM run_credits WHERE run_id = $1 \
         ORDER BY provider COLLATE \"C\"",
        &[&run_id.0],
    )?;
    Ok(spend(&rows))
}

pub(crate) fn outcome_counts(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
) -> Result<OutcomeCounts, StoreError> {
    pg.run(path, "reading account outcomes in", move |s| {
        outcome_counts_in(s, run_id)
    })
}

pub(crate) fn credits_for_run(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
) -> Result<Vec<ProviderSpend>, StoreError> {
    pg.run(path, "reading the credit ledger in", move |s| {
        credits_for_run_in(s, run_id)
    })
}

pub(crate) fn credits_since(
    pg: &PgConn,
    path: &Path,
    since: UnixMillis,
    portal: Option<String>,
) -> Result<Vec<ProviderSpend>, StoreError> {
    const OP: &str = "reading the credit ledger in";
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT c.provider, sum(c.credits), sum(c.lookups)::bigint \
             FROM run_credits c JOIN runs r ON r.id = c.run_id \
             WHERE r.started_at >= $1 AND r.dry_run = 0 AND ($2::text IS NULL OR r.portal = $2) \
             GROUP BY c.provider ORDER BY c.provider COLLATE \"C\"",
            &[&since.0, &portal],
        )?;
        Ok(spend(&rows))
    })
}

pub(crate) fn outcomes(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
) -> Result<Vec<AccountOutcome>, StoreError> {
    const OP: &str = "reading account outcomes in";
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT account_id, domain, outcome, reason, detail_json FROM run_outcomes \
             WHERE run_id = $1 ORDER BY account_id COLLATE \"C\"",
            &[&run_id.0],
        )?;
        rows.iter()
            .map(|row| {
                let account_id: String = row.get(0);
                let outcome: String = row.get(2);
                let detail: Option<String> = row.get(4);
                let detail = detail
                    .map(|d| {
                        from_json(&d, &s.path, OP, || {
                            format!("detail of account {account_id}")
                        })
                    })
                    .transpose()?;
                Ok(AccountOutcome {
                    domain: row.get(1),
                    outcome: word(s, OP, &outcome, "account outcome", Outcome::parse)?,
                    reason: row.get(3),
                    detail,
                    account_id,
                })
            })
            .collect()
    })
}

pub(crate) fn for_each_merged(
    pg: &PgConn,
    path: &Path,
    run_id: RunId,
    mut f: impl FnMut(MergedSnapshot),
) -> Result<(), StoreError> {
    const OP: &str = "reading merged snapshots in";
    pg.run_streaming(
        path,
        OP,
        move |s, out| {
            s.stream(
                OP,
                "SELECT account_id, merged_json, findings_json FROM run_merged \
                 WHERE run_id = $1 ORDER BY account_id COLLATE \"C\"",
                &[&run_id.0],
                |row| {
                    let item: MergedRow = (row.get(0), row.get(1), row.get(2));
                    out.send(item).is_ok()
                },
            )
        },
        |(account_id, merged, findings)| {
            let what = || format!("merged snapshot of account {account_id}");
            let merged = from_json(&merged, path, OP, what)?;
            let findings = from_json(&findings, path, OP, what)?;
            f(MergedSnapshot {
                account_id,
                merged,
                findings,
            });
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::distinct_runs;

    #[test]
    fn runs_break_where_a_key_repeats() {
        let items = ["a", "b", "a", "c", "c", "d"];
        assert_eq!(
            distinct_runs(&items, |k| *k),
            [&["a", "b"][..], &["a", "c"], &["c", "d"]]
        );
        assert!(distinct_runs(&[] as &[&str], |k| *k).is_empty());
    }
}
