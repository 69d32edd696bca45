//! `firmo fleet status`: per portal its last job, when it is next due, its open job and
//! this month's spend; the queue's depth; the workers alive and their heartbeats.

use tokio_postgres::Row;

use crate::budget::JOB_SPENT;
use crate::schema::{MONTH_START_MS, NOW_MS, worker_alive};
use crate::{Fleet, FleetError};

/// The fleet at one moment (timestamps are the server's, epoch milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetStatus {
    pub now: i64,
    pub portals: Vec<PortalStatus>,
    /// Jobs queued (not yet taken).
    pub queued: u64,
    /// Jobs running.
    pub running: u64,
    pub workers: Vec<WorkerStatus>,
    /// Credits every portal spent this month, and the fleet's budget.
    pub fleet_spent_this_month: f64,
    pub fleet_monthly_credits: Option<f64>,
    /// Credits the running jobs hold and have not spent yet (see [`Fleet::reserve`]).
    pub fleet_reserved: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortalStatus {
    pub name: String,
    pub account_key: Option<String>,
    /// The last job that ended: when, and how (`done`, `failed`, `skipped`, with detail).
    pub last_finished_at: Option<i64>,
    pub last_outcome: Option<String>,
    pub last_detail: Option<String>,
    /// When `fleet schedule` will next queue it (its last start plus its interval).
    pub next_due: i64,
    /// `queued` or `running` (with the worker) when a job is open.
    pub open: Option<String>,
    pub spent_this_month: f64,
    pub monthly_credits: Option<f64>,
    /// What its running job holds and has not spent yet; `None` when none holds any.
    pub reserved: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkerStatus {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub concurrency: i32,
    pub started_at: i64,
    pub heartbeat_at: i64,
    /// Jobs it runs now.
    pub running: u64,
}

fn portal(row: &Row) -> PortalStatus {
    let worker: Option<String> = row.get(6);
    let state: Option<String> = row.get(5);
    PortalStatus {
        name: row.get(0),
        account_key: row.get(1),
        last_finished_at: row.get(2),
        last_outcome: row.get(3),
        last_detail: row.get(4),
        open: state.map(|s| match worker {
            Some(w) => format!("{s} on {w}"),
            None => s,
        }),
        next_due: row.get(7),
        spent_this_month: row.get(8),
        monthly_credits: row.get(9),
        reserved: row.get(10),
    }
}

impl Fleet {
    pub async fn status(&self) -> Result<FleetStatus, FleetError> {
        const OP: &str = "reading the fleet's status";
        let now: i64 = self
            .client()
            .query_one(&format!("SELECT {NOW_MS}"), &[])
            .await
            .map_err(self.db(OP))?
            .get(0);
        let rows = self
            .client()
            .query(
                &format!(
                    "SELECT p.name, p.account_key, last.finished_at, last.state, last.detail, \
                         open.state, open.worker, \
                         COALESCE((SELECT max(j.started_at) FROM fleet_jobs j \
                             WHERE j.portal = p.name AND j.state <> 'skipped') + p.every_ms, {NOW_MS}), \
                         COALESCE((SELECT sum(c.credits) FROM run_credits c JOIN runs r ON r.id = c.run_id \
                             WHERE r.portal = p.account_key AND r.dry_run = 0 \
                             AND r.started_at >= {MONTH_START_MS}), 0)::double precision, \
                         p.monthly_credits, open.reserved \
                     FROM fleet_portals p \
                     LEFT JOIN LATERAL (SELECT finished_at, state, detail FROM fleet_jobs j \
                         WHERE j.portal = p.name AND j.finished_at IS NOT NULL \
                         ORDER BY j.finished_at DESC LIMIT 1) last ON true \
                     LEFT JOIN LATERAL (SELECT state, worker, \
                         CASE WHEN j.reserved_credits IS NOT NULL \
                             THEN GREATEST(j.reserved_credits - {JOB_SPENT}, 0) END AS reserved \
                         FROM fleet_jobs j \
                         WHERE j.portal = p.name AND j.state IN ('queued', 'running') LIMIT 1) open ON true \
                     ORDER BY p.name COLLATE \"C\""
                ),
                &[],
            )
            .await
            .map_err(self.db(OP))?;
        let counts = self
            .client()
            .query_one(
                "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running') \
                 FROM fleet_jobs",
                &[],
            )
            .await
            .map_err(self.db(OP))?;
        let workers = self
            .client()
            .query(
                &format!(
                    "SELECT w.id, w.host, w.pid, w.concurrency, w.started_at, w.heartbeat_at, \
                         (SELECT count(*) FROM fleet_jobs j WHERE j.worker = w.id AND j.state = 'running') \
                     FROM fleet_workers w WHERE {alive} ORDER BY w.started_at, w.id",
                    alive = worker_alive("w.id")
                ),
                &[],
            )
            .await
            .map_err(self.db(OP))?;
        Ok(FleetStatus {
            now,
            portals: rows.iter().map(portal).collect(),
            queued: counts.get::<_, i64>(0) as u64,
            running: counts.get::<_, i64>(1) as u64,
            workers: workers
                .iter()
                .map(|r| WorkerStatus {
                    id: r.get(0),
                    host: r.get(1),
                    pid: r.get(2),
                    concurrency: r.get(3),
                    started_at: r.get(4),
                    heartbeat_at: r.get(5),
                    running: r.get::<_, i64>(6) as u64,
                })
                .collect(),
            fleet_spent_this_month: self.spent_this_month(None).await?,
            fleet_monthly_credits: self.fleet_budget().await?,
            fleet_reserved: self.reserved().await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Fleet, NewPortal};

    #[tokio::test]
    async fn status_shows_open_jobs_and_only_live_workers() {
        let Some(url) = crate::test_db::url().await else {
            return;
        };
        let fleet = Fleet::connect(&url).await.unwrap();
        fleet
            .add_portal(&NewPortal {
                name: "a".into(),
                crm: "hubspot".into(),
                token_env: "T".into(),
                config_path: None,
                sandbox_url: None,
                every_ms: 1000,
                monthly_credits: Some(5.0),
            })
            .await
            .unwrap();
        fleet.schedule().await.unwrap();
        let gone = Fleet::connect(&url).await.unwrap();
        gone.register_worker("gone", "h", 1).await.unwrap();
        drop(gone);
        fleet.register_worker("here", "h", 2).await.unwrap();
        let job = fleet.claim("here").await.unwrap().unwrap();
        // GREATEST ignores NULL: a job that reserved nothing must not show 0 held.
        assert_eq!(fleet.status().await.unwrap().portals[0].reserved, None);
        fleet.reserve(&job, "here", 2.0).await.unwrap();
        let status = fleet.status().await.unwrap();
        assert_eq!(status.portals[0].reserved, Some(2.0));
        assert!((status.fleet_reserved - 2.0).abs() < 1e-9);
        assert_eq!((status.queued, status.running), (0, 1));
        assert_eq!(status.portals[0].open.as_deref(), Some("running on here"));
        assert_eq!(status.portals[0].monthly_credits, Some(5.0));
        let ids: Vec<&str> = status.workers.iter().map(|w| w.id.as_str()).collect();
        // `gone` may take the server a moment to notice; `here` is always listed.
        assert!(ids.contains(&"here"), "{ids:?}");
        assert_eq!(
            status
                .workers
                .iter()
                .find(|w| w.id == "here")
                .unwrap()
                .running,
            1
        );
    }
}
