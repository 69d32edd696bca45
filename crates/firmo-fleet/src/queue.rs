//! The job queue of portal syncs, and the workers that take them.
//!
//! A job is `queued`, then `running` on one worker, then `done`, `failed` or `skipped`.
//! The partial unique index on open jobs keeps one per portal, so two workers never hold
//! jobs of one portal (the store's portal run lock is the second guard, for a
//! `firmo sync` run by hand on the same state). A worker holds a session advisory lock
//! for its lifetime; a running job whose worker's lock is gone is queued again by the
//! next [`Fleet::claim`], with the lost attempt closed as `worker lost`.

use crate::budget::JOB_SPENT;
use crate::schema::{MONTH_START_MS, NOW_MS, worker_alive, worker_key};
use crate::{Fleet, FleetError};

/// A job a worker took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub portal: String,
    /// 1 on the first try; more after a lost worker or a retry.
    pub attempt: i32,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// The sync ran to its end (some accounts may have failed: the run says).
    Done { run_id: Option<i64>, detail: String },
    /// The sync could not run or stopped early.
    Failed { run_id: Option<i64>, detail: String },
    /// Not run, on purpose (the portal's or the fleet's budget is spent).
    Skipped { detail: String },
}

impl JobOutcome {
    fn parts(&self) -> (&'static str, Option<i64>, &str) {
        match self {
            JobOutcome::Done { run_id, detail } => ("done", *run_id, detail),
            JobOutcome::Failed { run_id, detail } => ("failed", *run_id, detail),
            JobOutcome::Skipped { detail } => ("skipped", None, detail),
        }
    }
}

/// One try of a job on one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub job_id: i64,
    pub portal: String,
    pub attempt: i32,
    pub worker: String,
    pub started_at: i64,
    /// `None` while it runs.
    pub ended_at: Option<i64>,
    pub outcome: Option<String>,
}

impl Fleet {
    /// Enqueues a sync of every portal that is due (never synced, or its last job started
    /// `every` ago or more) and has no open job; returns their names.
    pub async fn schedule(&self) -> Result<Vec<String>, FleetError> {
        let rows = self
            .client()
            .query(
                &format!(
                    "INSERT INTO fleet_jobs (portal, state, enqueued_at, not_before) \
                     SELECT p.name, 'queued', {NOW_MS}, {NOW_MS} FROM fleet_portals p \
                     WHERE NOT EXISTS (SELECT 1 FROM fleet_jobs j WHERE j.portal = p.name \
                         AND j.state IN ('queued', 'running')) \
                       AND COALESCE((SELECT max(j.started_at) FROM fleet_jobs j \
                         WHERE j.portal = p.name AND j.state <> 'skipped') + p.every_ms, 0) \
                         <= {NOW_MS} \
                     ORDER BY p.name \
                     ON CONFLICT DO NOTHING RETURNING portal"
                ),
                &[],
            )
            .await
            .map_err(self.db("scheduling due portals"))?;
        let mut names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        names.sort();
        Ok(names)
    }

    /// Registers this process as worker `id` and takes its liveness lock on this
    /// connection (held until the connection ends). Keep this [`Fleet`] for the worker's
    /// whole life: its jobs are given up when it goes.
    pub async fn register_worker(
        &self,
        id: &str,
        host: &str,
        concurrency: u32,
    ) -> Result<(), FleetError> {
        const OP: &str = "registering the worker";
        let locked: bool = self
            .client()
            .query_one(
                &format!("SELECT pg_try_advisory_lock({})", worker_key("$1::text")),
                &[&id],
            )
            .await
            .map_err(self.db(OP))?
            .get(0);
        if !locked {
            return Err(FleetError::Db {
                op: OP,
                location: self.location.clone(),
                message: format!("another live worker is registered as {id}"),
            });
        }
        self.client()
            .execute(
                &format!(
                    "INSERT INTO fleet_workers (id, host, pid, concurrency, started_at, heartbeat_at) \
                     VALUES ($1, $2, $3, $4, {NOW_MS}, {NOW_MS}) ON CONFLICT (id) DO UPDATE SET \
                     host = excluded.host, pid = excluded.pid, concurrency = excluded.concurrency, \
                     started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at"
                ),
                &[
                    &id,
                    &host,
                    &i64::from(std::process::id()),
                    &(concurrency as i32),
                ],
            )
            .await
            .map_err(self.db(OP))?;
        Ok(())
    }

    /// Says the worker is still here (shown by `fleet status`; liveness is the lock).
    pub async fn heartbeat(&self, id: &str) -> Result<(), FleetError> {
        self.client()
            .execute(
                &format!("UPDATE fleet_workers SET heartbeat_at = {NOW_MS} WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(self.db("recording the worker's heartbeat"))?;
        Ok(())
    }

    /// Queues again every running job whose worker is gone; returns how many.
    pub async fn requeue_lost(&self) -> Result<u64, FleetError> {
        let rows = self
            .client()
            .query(
                &format!(
                    "WITH lost AS ( \
                         UPDATE fleet_jobs j SET state = 'queued', worker = NULL, not_before = {NOW_MS}, \
                             reserved_credits = NULL, reserved_after_run = NULL \
                         WHERE j.state = 'running' AND NOT {alive} RETURNING j.id), \
                     closed AS ( \
                         UPDATE fleet_attempts a SET ended_at = {NOW_MS}, outcome = 'worker lost' \
                         FROM lost WHERE a.job_id = lost.id AND a.ended_at IS NULL) \
                     SELECT id FROM lost",
                    alive = worker_alive("j.worker")
                ),
                &[],
            )
            .await
            .map_err(self.db("queueing the jobs of lost workers again"))?;
        for row in &rows {
            let id: i64 = row.get(0);
            tracing::warn!(job = id, "job's worker is gone; queued again");
        }
        Ok(rows.len() as u64)
    }

    /// Takes the next queued job for `worker`, first queueing again the jobs of workers
    /// that are gone. `None` when nothing is queued and due.
    pub async fn claim(&self, worker: &str) -> Result<Option<Job>, FleetError> {
        self.requeue_lost().await?;
        let row = self
            .client()
            .query_opt(
                &format!(
                    "WITH next AS ( \
                         SELECT id FROM fleet_jobs WHERE state = 'queued' AND not_before <= {NOW_MS} \
                         ORDER BY not_before, id LIMIT 1 FOR UPDATE SKIP LOCKED), \
                     taken AS ( \
                         UPDATE fleet_jobs j SET state = 'running', worker = $1, \
                             started_at = {NOW_MS}, attempts = j.attempts + 1 \
                         FROM next WHERE j.id = next.id RETURNING j.id, j.portal, j.attempts), \
                     tried AS ( \
                         INSERT INTO fleet_attempts (job_id, attempt, worker, started_at) \
                         SELECT id, attempts, $1, {NOW_MS} FROM taken) \
                     SELECT id, portal, attempts FROM taken"
                ),
                &[&worker],
            )
            .await
            .map_err(self.db("taking a job"))?;
        Ok(row.map(|r| Job {
            id: r.get(0),
            portal: r.get(1),
            attempt: r.get(2),
        }))
    }

    /// Records how `job` ended, if `worker` still holds it (a job queued again after its
    /// worker looked lost is not overwritten by that worker's late answer). Its credit
    /// reservation is released and what its run spent is kept as `spent_credits`.
    pub async fn finish(
        &self,
        job: &Job,
        worker: &str,
        outcome: &JobOutcome,
    ) -> Result<(), FleetError> {
        let (state, run_id, detail) = outcome.parts();
        self.client()
            .execute(
                &format!(
                    "WITH f AS ( \
                         UPDATE fleet_jobs j SET state = $3, run_id = $4, detail = $5, finished_at = {NOW_MS}, \
                             spent_credits = CASE WHEN j.reserved_credits IS NULL THEN NULL ELSE {JOB_SPENT} END, \
                             reserved_credits = NULL \
                         WHERE id = $1 AND state = 'running' AND worker = $2 RETURNING id) \
                     UPDATE fleet_attempts a SET ended_at = {NOW_MS}, outcome = $3 \
                     FROM f WHERE a.job_id = f.id AND a.attempt = $6"
                ),
                &[&job.id, &worker, &state, &run_id, &detail, &job.attempt],
            )
            .await
            .map_err(self.db("recording a job's outcome"))?;
        Ok(())
    }

    /// Puts `job` back in the queue, due `delay_ms` from now (its portal was locked by a
    /// run outside the fleet, say).
    pub async fn retry_later(
        &self,
        job: &Job,
        worker: &str,
        delay_ms: i64,
        why: &str,
    ) -> Result<(), FleetError> {
        self.client()
            .execute(
                &format!(
                    "WITH r AS ( \
                         UPDATE fleet_jobs SET state = 'queued', worker = NULL, detail = $4, \
                             not_before = {NOW_MS} + $3, reserved_credits = NULL, reserved_after_run = NULL \
                         WHERE id = $1 AND state = 'running' AND worker = $2 RETURNING id) \
                     UPDATE fleet_attempts a SET ended_at = {NOW_MS}, outcome = 'retry: ' || $4 \
                     FROM r WHERE a.job_id = r.id AND a.attempt = $5"
                ),
                &[&job.id, &worker, &delay_ms, &why, &job.attempt],
            )
            .await
            .map_err(self.db("queueing a job again"))?;
        Ok(())
    }

    /// Jobs queued or running.
    pub async fn open_jobs(&self) -> Result<u64, FleetError> {
        let n: i64 = self
            .client()
            .query_one(
                "SELECT count(*) FROM fleet_jobs WHERE state IN ('queued', 'running')",
                &[],
            )
            .await
            .map_err(self.db("counting open jobs"))?
            .get(0);
        Ok(n as u64)
    }

    /// Every attempt of every job, oldest first: who ran which portal when.
    pub async fn attempts(&self) -> Result<Vec<Attempt>, FleetError> {
        let rows = self
            .client()
            .query(
                "SELECT a.job_id, j.portal, a.attempt, a.worker, a.started_at, a.ended_at, a.outcome \
                 FROM fleet_attempts a JOIN fleet_jobs j ON j.id = a.job_id \
                 ORDER BY a.started_at, a.job_id, a.attempt",
                &[],
            )
            .await
            .map_err(self.db("reading job attempts"))?;
        Ok(rows
            .iter()
            .map(|r| Attempt {
                job_id: r.get(0),
                portal: r.get(1),
                attempt: r.get(2),
                worker: r.get(3),
                started_at: r.get(4),
                ended_at: r.get(5),
                outcome: r.get(6),
            })
            .collect())
    }

    /// Credits the runs of the portal `account_key` charged this calendar month (UTC),
    /// from the store's credit ledger; `None` as the key: every portal's.
    pub async fn spent_this_month(&self, account_key: Option<&str>) -> Result<f64, FleetError> {
        let spent: f64 = self
            .client()
            .query_one(
                &format!(
                    "SELECT COALESCE(sum(c.credits), 0)::double precision \
                     FROM run_credits c JOIN runs r ON r.id = c.run_id \
                     WHERE r.started_at >= {MONTH_START_MS} AND r.dry_run = 0 \
                       AND ($1::text IS NULL OR r.portal = $1)"
                ),
                &[&account_key],
            )
            .await
            .map_err(self.db("reading this month's spend"))?
            .get(0);
        Ok(spent)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Fleet, JobOutcome, NewPortal};

    async fn fleet_with(portals: &[&str]) -> Option<(String, Fleet)> {
        let url = crate::test_db::url().await?;
        let fleet = Fleet::connect(&url).await.unwrap();
        for name in portals {
            fleet
                .add_portal(&NewPortal {
                    name: (*name).into(),
                    crm: "hubspot".into(),
                    token_env: "T".into(),
                    config_path: None,
                    sandbox_url: None,
                    every_ms: 3_600_000,
                    monthly_credits: None,
                })
                .await
                .unwrap();
        }
        Some((url, fleet))
    }

    #[tokio::test]
    async fn a_due_portal_is_queued_once_and_not_again_until_its_interval_passes() {
        let Some((_, fleet)) = fleet_with(&["a", "b"]).await else {
            return;
        };
        assert_eq!(fleet.schedule().await.unwrap(), ["a", "b"]);
        assert!(
            fleet.schedule().await.unwrap().is_empty(),
            "open jobs block a second"
        );
        fleet.register_worker("w1", "here", 1).await.unwrap();
        let first = fleet.claim("w1").await.unwrap().unwrap();
        let second = fleet.claim("w1").await.unwrap().unwrap();
        assert_ne!(first.portal, second.portal);
        assert_eq!(fleet.claim("w1").await.unwrap(), None);
        for job in [&first, &second] {
            let outcome = JobOutcome::Done {
                run_id: None,
                detail: "ok".into(),
            };
            fleet.finish(job, "w1", &outcome).await.unwrap();
        }
        assert_eq!(fleet.open_jobs().await.unwrap(), 0);
        // Started moments ago, due every hour: not due yet.
        assert!(fleet.schedule().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_job_of_a_worker_whose_connection_ended_goes_to_the_next_worker() {
        let Some((url, fleet)) = fleet_with(&["a"]).await else {
            return;
        };
        fleet.schedule().await.unwrap();
        let doomed = Fleet::connect(&url).await.unwrap();
        doomed.register_worker("doomed", "here", 1).await.unwrap();
        let job = doomed.claim("doomed").await.unwrap().unwrap();
        fleet.register_worker("next", "here", 1).await.unwrap();
        // While the first worker lives, its job is its own.
        assert_eq!(fleet.claim("next").await.unwrap(), None);
        // Dropping the last handle closes the connection, as a killed process's does.
        drop(doomed);
        let mut retried = None;
        for _ in 0..200 {
            // The server notices the closed socket in its own time: poll, bounded.
            retried = fleet.claim("next").await.unwrap();
            if retried.is_some() {
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let retried = retried.expect("the lost job is handed on");
        assert_eq!((retried.id, retried.attempt), (job.id, 2));
        let attempts = fleet.attempts().await.unwrap();
        assert_eq!(attempts[0].outcome.as_deref(), Some("worker lost"));
        assert_eq!(attempts[1].worker, "next");
        // The lost worker's late answer does not overwrite the new attempt's job.
        let late = JobOutcome::Failed {
            run_id: None,
            detail: "late".into(),
        };
        fleet.finish(&job, "doomed", &late).await.unwrap();
        assert_eq!(fleet.open_jobs().await.unwrap(), 1);
    }
}
