//! Runs and what hangs off them: per-account outcomes, the credit ledger and merged
//! snapshots.

use std::path::Path;

use firmo_core::UnixMillis;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::error::{Context, StoreError, from_json, to_json};
use crate::status::{Outcome, RunOutcome};
use crate::{Db, Store, Writer, pg};

/// A run's id (the `runs` row id; increases with every run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a run is, recorded when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStart {
    /// The command: `sync`, `enrich`, …
    pub kind: String,
    /// The CRM and portal it works on (none for CSV enrichment).
    pub crm: Option<String>,
    pub portal: Option<String>,
    pub started_at: UnixMillis,
    pub dry_run: bool,
    /// The effective configuration, for reproducing the run later.
    pub config: serde_json::Value,
}

impl RunStart {
    /// A real (not dry) run of `kind` with no CRM and an empty config.
    pub fn new(kind: impl Into<String>, started_at: UnixMillis) -> RunStart {
        RunStart {
            kind: kind.into(),
            crm: None,
            portal: None,
            started_at,
            dry_run: false,
            config: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Sets the CRM and portal.
    #[must_use]
    pub fn on(mut self, crm: impl Into<String>, portal: impl Into<String>) -> RunStart {
        self.crm = Some(crm.into());
        self.portal = Some(portal.into());
        self
    }

    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> RunStart {
        self.dry_run = dry_run;
        self
    }

    #[must_use]
    pub fn config(mut self, config: serde_json::Value) -> RunStart {
        self.config = config;
        self
    }
}

/// How many accounts of a run ended in each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub written: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub failed: u64,
}

impl OutcomeCounts {
    pub fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Written => self.written,
            Outcome::Unchanged => self.unchanged,
            Outcome::Skipped => self.skipped,
            Outcome::Rejected => self.rejected,
            Outcome::Failed => self.failed,
        }
    }

    pub(crate) fn slot(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Written => &mut self.written,
            Outcome::Unchanged => &mut self.unchanged,
            Outcome::Skipped => &mut self.skipped,
            Outcome::Rejected => &mut self.rejected,
            Outcome::Failed => &mut self.failed,
        }
    }

    /// Accounts with any outcome.
    pub fn total(&self) -> u64 {
        Outcome::ALL.iter().map(|o| self.get(*o)).sum()
    }
}

/// A run as recorded, with its outcome counts and credit totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub id: RunId,
    pub kind: String,
    pub crm: Option<String>,
    pub portal: Option<String>,
    pub started_at: UnixMillis,
    /// `None` when the run never recorded an end.
    pub finished_at: Option<UnixMillis>,
    pub dry_run: bool,
    /// [`RunOutcome::Interrupted`] when `finished_at` is `None` (killed, crashed, or still
    /// running in another process).
    pub outcome: RunOutcome,
    pub config: serde_json::Value,
    pub summary: Option<serde_json::Value>,
    pub counts: OutcomeCounts,
    /// Credits and lookups summed over providers (see [`Store::credits_for_run`]).
    pub credits: f64,
    pub lookups: u64,
}

/// The outcome of one account in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountOutcome {
    /// The CRM record id (or the CSV `account_id`).
    pub account_id: String,
    pub domain: Option<String>,
    pub outcome: Outcome,
    /// Why: the skip reason, the rule code, the error.
    pub reason: Option<String>,
    /// Anything structured worth keeping (the changes written, the finding).
    pub detail: Option<serde_json::Value>,
}

/// Credits and lookups spent on one provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderSpend {
    pub provider: String,
    pub credits: f64,
    pub lookups: u64,
}

/// The merged company and its findings for one account in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergedSnapshot {
    pub account_id: String,
    pub merged: serde_json::Value,
    pub findings: serde_json::Value,
}

fn check_credits(
    path: &Path,
    op: &'static str,
    what: &str,
    credits: f64,
) -> Result<(), StoreError> {
    if credits.is_finite() && credits >= 0.0 {
        return Ok(());
    }
    Err(StoreError::Invalid {
        op,
        path: path.to_path_buf(),
        what: format!("{what}: credits must be a finite number >= 0, got {credits}"),
    })
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Writer<'_> {
    /// Records the start of a run and returns its id.
    pub fn start_run(&self, start: &RunStart) -> Result<RunId, StoreError> {
        const OP: &str = "recording a run in";
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::start_run(pg, self.path, start),
        };
        let config = to_json(&start.config, self.path, OP, || "run config".into())?;
        conn.prepare_cached(
            "INSERT INTO runs (kind, crm, portal, started_at, dry_run, config_json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                start.kind,
                start.crm,
                start.portal,
                start.started_at.0,
                start.dry_run,
                config
            ])
        })
        .ctx(self.path, OP)?;
        Ok(RunId(conn.last_insert_rowid()))
    }

    /// Records the end of run `run_id`. Finishing a run twice keeps the later call.
    pub fn finish_run(
        &self,
        run_id: RunId,
        finished_at: UnixMillis,
        outcome: RunOutcome,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        const OP: &str = "recording the end of a run in";
        let summary = to_json(summary, self.path, OP, || {
            format!("summary of run {run_id}")
        })?;
        let changed = match self.conn {
            Db::Sqlite(conn) => conn
                .prepare_cached(
                    "UPDATE runs SET finished_at = ?2, outcome = ?3, summary_json = ?4 \
                     WHERE id = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![run_id.0, finished_at.0, outcome, summary])
                })
                .ctx(self.path, OP)? as u64,
            Db::Postgres(pg) => {
                pg::ops::finish_run(pg, self.path, run_id, finished_at, outcome, summary)?
            }
        };
        if changed == 0 {
            return Err(StoreError::Invalid {
                op: OP,
                path: self.path.to_path_buf(),
                what: format!("there is no run {run_id}"),
            });
        }
        Ok(())
    }

    /// Records the outcome of each account; an account already recorded for this run
    /// gets its outcome replaced (one outcome per account per run).
    pub fn record_outcomes(
        &self,
        run_id: RunId,
        outcomes: &[AccountOutcome],
    ) -> Result<(), StoreError> {
        const OP: &str = "recording account outcomes in";
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let rows = outcomes
                    .iter()
                    .map(|o| Ok((o.clone(), self.detail_json(OP, o)?)))
                    .collect::<Result<_, StoreError>>()?;
                return pg::ops::record_outcomes(pg, self.path, run_id, rows);
            }
        };
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO run_outcomes \
                     (run_id, account_id, domain, outcome, reason, detail_json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (run_id, account_id) DO UPDATE SET \
                     domain = excluded.domain, outcome = excluded.outcome, \
                     reason = excluded.reason, detail_json = excluded.detail_json",
            )
            .ctx(self.path, OP)?;
        for o in outcomes {
            let detail = self.detail_json(OP, o)?;
            stmt.execute(params![
                run_id.0,
                o.account_id,
                o.domain,
                o.outcome,
                o.reason,
                detail
            ])
            .ctx(self.path, OP)?;
        }
        Ok(())
    }

    fn detail_json(
        &self,
        op: &'static str,
        o: &AccountOutcome,
    ) -> Result<Option<String>, StoreError> {
        o.detail
            .as_ref()
            .map(|d| {
                to_json(d, self.path, op, || {
                    format!("detail of account {}", o.account_id)
                })
            })
            .transpose()
    }

    /// Adds `credits` and `lookups` to what run `run_id` spent on `provider`.
    pub fn add_credits(
        &self,
        run_id: RunId,
        provider: &str,
        credits: f64,
        lookups: u64,
    ) -> Result<(), StoreError> {
        const OP: &str = "writing the credit ledger in";
        check_credits(self.path, OP, provider, credits)?;
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                return pg::ops::add_credits(pg, self.path, run_id, provider, credits, lookups);
            }
        };
        conn.prepare_cached(
            "INSERT INTO run_credits (run_id, provider, credits, lookups) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (run_id, provider) DO UPDATE SET \
                     credits = run_credits.credits + excluded.credits, \
                     lookups = run_credits.lookups + excluded.lookups",
        )
        .and_then(|mut stmt| stmt.execute(params![run_id.0, provider, credits, count(lookups)]))
        .ctx(self.path, OP)?;
        Ok(())
    }

    /// Stores the merged snapshot of each account (replacing one stored earlier in the
    /// same run).
    pub fn record_merged(
        &self,
        run_id: RunId,
        merged: &[MergedSnapshot],
    ) -> Result<(), StoreError> {
        const OP: &str = "recording merged snapshots in";
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let mut rows = Vec::with_capacity(merged.len());
                for m in merged {
                    let what = || format!("merged snapshot of account {}", m.account_id);
                    rows.push((
                        m.account_id.clone(),
                        to_json(&m.merged, self.path, OP, what)?,
                        to_json(&m.findings, self.path, OP, what)?,
                    ));
                }
                return pg::ops::record_merged(pg, self.path, run_id, rows);
            }
        };
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO run_merged (run_id, account_id, merged_json, findings_json) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (run_id, account_id) DO UPDATE SET \
                     merged_json = excluded.merged_json, findings_json = excluded.findings_json",
            )
            .ctx(self.path, OP)?;
        for m in merged {
            let what = || format!("merged snapshot of account {}", m.account_id);
            let merged_json = to_json(&m.merged, self.path, OP, what)?;
            let findings_json = to_json(&m.findings, self.path, OP, what)?;
            stmt.execute(params![run_id.0, m.account_id, merged_json, findings_json])
                .ctx(self.path, OP)?;
        }
        Ok(())
    }
}

const RUN_COLUMNS: &str = "id, kind, crm, portal, started_at, finished_at, dry_run, outcome, \
                           config_json, summary_json";

/// A `runs` row before its JSON is parsed and its counts are added (either backend).
pub(crate) struct RawRun {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) crm: Option<String>,
    pub(crate) portal: Option<String>,
    pub(crate) started_at: i64,
    pub(crate) finished_at: Option<i64>,
    pub(crate) dry_run: bool,
    pub(crate) outcome: Option<RunOutcome>,
    pub(crate) config: String,
    pub(crate) summary: Option<String>,
}

impl RawRun {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawRun> {
        Ok(RawRun {
            id: row.get(0)?,
            kind: row.get(1)?,
            crm: row.get(2)?,
            portal: row.get(3)?,
            started_at: row.get(4)?,
            finished_at: row.get(5)?,
            dry_run: row.get(6)?,
            outcome: row.get(7)?,
            config: row.get(8)?,
            summary: row.get(9)?,
        })
    }

    fn finish(self, conn: &Connection, path: &Path) -> Result<RunRecord, StoreError> {
        let id = RunId(self.id);
        let counts = outcome_counts(conn, path, id)?;
        let spend = credits_for_run(conn, path, id)?;
        self.into_record(path, counts, &spend)
    }

    /// The record, given the run's outcome counts and spend.
    pub(crate) fn into_record(
        self,
        path: &Path,
        counts: OutcomeCounts,
        spend: &[ProviderSpend],
    ) -> Result<RunRecord, StoreError> {
        const OP: &str = "reading runs in";
        let id = RunId(self.id);
        let config = from_json(&self.config, path, OP, || format!("config of run {id}"))?;
        let summary = self
            .summary
            .map(|s| from_json(&s, path, OP, || format!("summary of run {id}")))
            .transpose()?;
        Ok(RunRecord {
            id,
            kind: self.kind,
            crm: self.crm,
            portal: self.portal,
            started_at: UnixMillis(self.started_at),
            finished_at: self.finished_at.map(UnixMillis),
            dry_run: self.dry_run,
            outcome: self.outcome.unwrap_or(RunOutcome::Interrupted),
            config,
            summary,
            counts,
            credits: spend.iter().map(|s| s.credits).sum(),
            lookups: spend.iter().map(|s| s.lookups).sum(),
        })
    }
}

fn outcome_counts(
    conn: &Connection,
    path: &Path,
    run_id: RunId,
) -> Result<OutcomeCounts, StoreError> {
    const OP: &str = "reading account outcomes in";
    let mut stmt = conn
        .prepare_cached(
            "SELECT outcome, count(*) FROM run_outcomes WHERE run_id = ?1 GROUP BY outcome",
        )
        .ctx(path, OP)?;
    let rows = stmt
        .query_map([run_id.0], |row| {
            Ok((row.get::<_, Outcome>(0)?, row.get::<_, i64>(1)?))
        })
        .ctx(path, OP)?;
    let mut counts = OutcomeCounts::default();
    for row in rows {
        let (outcome, n) = row.ctx(path, OP)?;
        *counts.slot(outcome) = n as u64;
    }
    Ok(counts)
}

fn spend_rows(
    conn: &Connection,
    path: &Path,
    sql: &str,
    param: i64,
) -> Result<Vec<ProviderSpend>, StoreError> {
    const OP: &str = "reading the credit ledger in";
    let mut stmt = conn.prepare_cached(sql).ctx(path, OP)?;
    stmt.query_map([param], |row| {
        Ok(ProviderSpend {
            provider: row.get(0)?,
            credits: row.get(1)?,
            lookups: row.get::<_, i64>(2)? as u64,
        })
    })
    .and_then(Iterator::collect)
    .ctx(path, OP)
}

fn credits_for_run(
    conn: &Connection,
    path: &Path,
    run_id: RunId,
) -> Result<Vec<ProviderSpend>, StoreError> {
    spend_rows(
        conn,
        path,
        "SELECT provider, credits, lookups FROM run_credits WHERE run_id = ?1 ORDER BY provider",
        run_id.0,
    )
}

impl Store {
    /// Records the start of a run in its own transaction and returns its id.
    pub fn start_run(&mut self, start: &RunStart) -> Result<RunId, StoreError> {
        self.write(|w| w.start_run(start))
    }

    /// Records the end of a run (see [`Writer::finish_run`]).
    pub fn finish_run(
        &mut self,
        run_id: RunId,
        finished_at: UnixMillis,
        outcome: RunOutcome,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.write(|w| w.finish_run(run_id, finished_at, outcome, summary))
    }

    /// Records account outcomes in one transaction (see [`Writer::record_outcomes`]).
    pub fn record_outcomes(
        &mut self,
        run_id: RunId,
        outcomes: &[AccountOutcome],
    ) -> Result<(), StoreError> {
        self.write(|w| w.record_outcomes(run_id, outcomes))
    }

    /// Adds to the credit ledger (see [`Writer::add_credits`]).
    pub fn add_credits(
        &mut self,
        run_id: RunId,
        provider: &str,
        credits: f64,
        lookups: u64,
    ) -> Result<(), StoreError> {
        self.write(|w| w.add_credits(run_id, provider, credits, lookups))
    }

    /// Stores merged snapshots in one transaction (see [`Writer::record_merged`]).
    pub fn record_merged(
        &mut self,
        run_id: RunId,
        merged: &[MergedSnapshot],
    ) -> Result<(), StoreError> {
        self.write(|w| w.record_merged(run_id, merged))
    }

    /// Deletes the merged snapshots of all but the newest `keep_runs` runs and returns
    /// how many it deleted. Snapshots are the store's bulk (one JSON document per account
    /// per run), needed only by reports on recent runs; everything else is kept.
    pub fn prune_merged(&mut self, keep_runs: usize) -> Result<u64, StoreError> {
        let keep = count(keep_runs as u64);
        self.write(|w| {
            let conn = match w.conn {
                Db::Sqlite(conn) => conn,
                Db::Postgres(pg) => return pg::ops::prune_merged(pg, w.path, keep),
            };
            let deleted = conn
                .execute(
                    "DELETE FROM run_merged WHERE run_id NOT IN \
                         (SELECT id FROM runs ORDER BY id DESC LIMIT ?1)",
                    [keep],
                )
                .ctx(w.path, "pruning merged snapshots in")?;
            Ok(deleted as u64)
        })
    }

    /// Run `run_id`, if it exists.
    pub fn get_run(&self, run_id: RunId) -> Result<Option<RunRecord>, StoreError> {
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let runs = pg::ops::runs(pg, &self.path, pg::ops::Runs::One(run_id))?;
                return Ok(runs.into_iter().next());
            }
        };
        self.query_runs(
            conn,
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
            [run_id.0],
        )
        .map(|runs| runs.into_iter().next())
    }

    /// The newest `limit` runs, newest first.
    pub fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let newest = pg::ops::Runs::Newest(count(limit as u64));
                return pg::ops::runs(pg, &self.path, newest);
            }
        };
        self.query_runs(
            conn,
            &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?1"),
            [count(limit as u64)],
        )
    }

    /// The newest `limit` runs on `portal` (as `runs.portal` holds it: the CRM's account
    /// key, `hubspot:123`), newest first. Filtered in the query, so a state holding many
    /// portals' runs reads only this one's.
    pub fn list_runs_on(&self, portal: &str, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let newest = pg::ops::Runs::NewestOn(portal.to_owned(), count(limit as u64));
                return pg::ops::runs(pg, &self.path, newest);
            }
        };
        self.query_runs(
            conn,
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE portal = ?1 ORDER BY id DESC LIMIT ?2"),
            params![portal, count(limit as u64)],
        )
    }

    /// Every portal the state holds runs on (`runs.portal`), sorted.
    pub fn run_portals(&self) -> Result<Vec<String>, StoreError> {
        const OP: &str = "reading runs in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::run_portals(pg, &self.path),
        };
        conn.prepare_cached(
            "SELECT DISTINCT portal FROM runs WHERE portal IS NOT NULL ORDER BY portal",
        )
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .ctx(&self.path, OP)
    }

    /// The newest run of `kind` (`sync`, `enrich`, …), finished or not.
    pub fn last_run(&self, kind: &str) -> Result<Option<RunRecord>, StoreError> {
        const OP: &str = "reading runs in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let last = pg::ops::Runs::LastOfKind(kind.to_owned());
                return Ok(pg::ops::runs(pg, &self.path, last)?.into_iter().next());
            }
        };
        let tx = crate::group::snapshot(conn, &self.path, OP)?;
        let raw = tx
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE kind = ?1 ORDER BY id DESC LIMIT 1"
            ))
            .and_then(|mut stmt| stmt.query_row([kind], RawRun::from_row).optional())
            .ctx(&self.path, OP)?;
        raw.map(|raw| raw.finish(&tx, &self.path)).transpose()
    }

    fn query_runs(
        &self,
        conn: &Connection,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<RunRecord>, StoreError> {
        const OP: &str = "reading runs in";
        let tx = crate::group::snapshot(conn, &self.path, OP)?;
        let raws: Vec<RawRun> = tx
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_map(params, RawRun::from_row)?.collect())
            .ctx(&self.path, OP)?;
        raws.into_iter()
            .map(|raw| raw.finish(&tx, &self.path))
            .collect()
    }

    /// Every account outcome of run `run_id`, by account id.
    pub fn outcomes(&self, run_id: RunId) -> Result<Vec<AccountOutcome>, StoreError> {
        const OP: &str = "reading account outcomes in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::outcomes(pg, &self.path, run_id),
        };
        let raws: Vec<(AccountOutcome, Option<String>)> = conn
            .prepare_cached(
                "SELECT account_id, domain, outcome, reason, detail_json FROM run_outcomes \
                 WHERE run_id = ?1 ORDER BY account_id",
            )
            .and_then(|mut stmt| {
                stmt.query_map([run_id.0], |row| {
                    Ok((
                        AccountOutcome {
                            account_id: row.get(0)?,
                            domain: row.get(1)?,
                            outcome: row.get(2)?,
                            reason: row.get(3)?,
                            detail: None,
                        },
                        row.get(4)?,
                    ))
                })?
                .collect()
            })
            .ctx(&self.path, OP)?;
        raws.into_iter()
            .map(|(mut outcome, detail)| {
                outcome.detail = detail
                    .map(|d| {
                        from_json(&d, &self.path, OP, || {
                            format!("detail of account {}", outcome.account_id)
                        })
                    })
                    .transpose()?;
                Ok(outcome)
            })
            .collect()
    }

    /// How many accounts of run `run_id` ended in each outcome.
    pub fn outcome_counts(&self, run_id: RunId) -> Result<OutcomeCounts, StoreError> {
        match self.db() {
            Db::Sqlite(conn) => outcome_counts(conn, &self.path, run_id),
            Db::Postgres(pg) => pg::ops::outcome_counts(pg, &self.path, run_id),
        }
    }

    /// What run `run_id` spent, per provider (by name).
    pub fn credits_for_run(&self, run_id: RunId) -> Result<Vec<ProviderSpend>, StoreError> {
        match self.db() {
            Db::Sqlite(conn) => credits_for_run(conn, &self.path, run_id),
            Db::Postgres(pg) => pg::ops::credits_for_run(pg, &self.path, run_id),
        }
    }

    /// What every real (not dry) run started at or after `since` spent, per provider.
    pub fn credits_since(&self, since: UnixMillis) -> Result<Vec<ProviderSpend>, StoreError> {
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::credits_since(pg, &self.path, since, None),
        };
        spend_rows(
            conn,
            &self.path,
            "SELECT c.provider, sum(c.credits), sum(c.lookups) \
             FROM run_credits c JOIN runs r ON r.id = c.run_id \
             WHERE r.started_at >= ?1 AND r.dry_run = 0 \
             GROUP BY c.provider ORDER BY c.provider",
            since.0,
        )
    }

    /// What the real runs on `portal` started at or after `since` spent, per provider
    /// (see [`Store::credits_since`]).
    pub fn credits_since_on(
        &self,
        portal: &str,
        since: UnixMillis,
    ) -> Result<Vec<ProviderSpend>, StoreError> {
        const OP: &str = "reading the credit ledger in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                return pg::ops::credits_since(pg, &self.path, since, Some(portal.to_owned()));
            }
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT c.provider, sum(c.credits), sum(c.lookups) \
                 FROM run_credits c JOIN runs r ON r.id = c.run_id \
                 WHERE r.started_at >= ?1 AND r.dry_run = 0 AND r.portal = ?2 \
                 GROUP BY c.provider ORDER BY c.provider",
            )
            .ctx(&self.path, OP)?;
        stmt.query_map(params![since.0, portal], |row| {
            Ok(ProviderSpend {
                provider: row.get(0)?,
                credits: row.get(1)?,
                lookups: row.get::<_, i64>(2)? as u64,
            })
        })
        .and_then(Iterator::collect)
        .ctx(&self.path, OP)
    }

    /// Every merged snapshot of run `run_id`, by account id.
    pub fn merged_for_run(&self, run_id: RunId) -> Result<Vec<MergedSnapshot>, StoreError> {
        let mut all = Vec::new();
        self.for_each_merged(run_id, |m| all.push(m))?;
        Ok(all)
    }

    /// Streams the merged snapshots of run `run_id` by account id, one at a time, so a
    /// report over 100,000 accounts never holds them all.
    pub fn for_each_merged(
        &self,
        run_id: RunId,
        mut f: impl FnMut(MergedSnapshot),
    ) -> Result<(), StoreError> {
        const OP: &str = "reading merged snapshots in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::for_each_merged(pg, &self.path, run_id, f),
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT account_id, merged_json, findings_json FROM run_merged \
                 WHERE run_id = ?1 ORDER BY account_id",
            )
            .ctx(&self.path, OP)?;
        let mut rows = stmt.query([run_id.0]).ctx(&self.path, OP)?;
        while let Some(row) = rows.next().ctx(&self.path, OP)? {
            let (account_id, merged, findings): (String, String, String) =
                (|| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))().ctx(&self.path, OP)?;
            let what = || format!("merged snapshot of account {account_id}");
            let merged = from_json(&merged, &self.path, OP, what)?;
            let findings = from_json(&findings, &self.path, OP, what)?;
            f(MergedSnapshot {
                account_id,
                merged,
                findings,
            });
        }
        Ok(())
    }
}

// Tests: tests/conformance.rs, run on both backends.
