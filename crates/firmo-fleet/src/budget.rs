//! Credit reservations: a running job holds the credits its run may spend, taken at its
//! start against the portal's and the fleet's monthly budgets, so jobs that start at the
//! same moment cannot each spend what is left and overshoot together.
//!
//! What a budget has committed is the month's ledger (`run_credits` of real runs) plus,
//! per running job, what its reservation still holds: the reservation minus what its run
//! has spent so far. Its run is told by id, not by clock: the runs on the portal's
//! account key with an id above the newest run at reservation time (one run per portal
//! at a time, under the portal's run lock). Reservations are taken one at a time per
//! schema (a transaction-level advisory lock), read and written in one transaction; a
//! job's end, its retry and a dead worker's requeue release it.

use crate::schema::MONTH_START_MS;
use crate::{Fleet, FleetError, Job};

/// The answer to [`Fleet::reserve`].
#[derive(Debug, Clone, PartialEq)]
pub enum Reservation {
    /// These credits are held for the job: its run's credit cap (no more than asked).
    Granted(f64),
    /// Nothing is left in the portal's or the fleet's month once the ledger and the
    /// running jobs' reservations are counted; the job should not run.
    Spent { detail: String },
}

/// One budget's limit and what it has committed (spent this month plus reserved).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Budget {
    pub(crate) limit: Option<f64>,
    pub(crate) committed: f64,
}

impl Budget {
    fn left(self) -> Option<f64> {
        self.limit.map(|limit| limit - self.committed)
    }
}

/// What a job asking for `want` credits may hold under the portal's and the fleet's
/// budgets. The smaller of what is left in either caps it.
pub(crate) fn grant(want: f64, portal: Budget, fleet: Budget) -> Reservation {
    for (whose, budget) in [("portal's", portal), ("fleet's", fleet)] {
        if let (Some(left), Some(limit)) = (budget.left(), budget.limit)
            && left <= 0.0
        {
            return Reservation::Spent {
                detail: format!(
                    "the {whose} budget this month is spent or reserved by running jobs \
                     ({:.1} of {limit:.1})",
                    budget.committed
                ),
            };
        }
    }
    let left = [portal.left(), fleet.left()]
        .into_iter()
        .flatten()
        .fold(want, f64::min);
    Reservation::Granted(left.max(0.0))
}

/// The credits spent by the runs of job `j`'s portal since its reservation (SQL over a
/// `fleet_jobs j` row): what its run has used of what it holds.
pub(crate) const JOB_SPENT: &str = "COALESCE((SELECT sum(c.credits) FROM run_credits c \
     JOIN runs r ON r.id = c.run_id JOIN fleet_portals p ON p.account_key = r.portal \
     WHERE p.name = j.portal AND r.id > j.reserved_after_run AND r.dry_run = 0), 0)::double precision";

impl Fleet {
    /// Reserves up to `want` credits for `job`, which `worker` holds, against what is
    /// left of its portal's and the fleet's monthly budgets after the month's spend and
    /// the other running jobs' reservations. The answer's credits are the cap to give the
    /// job's run; [`Fleet::finish`], [`Fleet::retry_later`] and the requeue of a lost
    /// worker's job release them. Asking again for the same job replaces its reservation.
    pub async fn reserve(
        &self,
        job: &Job,
        worker: &str,
        want: f64,
    ) -> Result<Reservation, FleetError> {
        const OP: &str = "reserving credits for a job";
        let mut client = self.tx_client().lock().await;
        let tx = client.transaction().await.map_err(self.db(OP))?;
        // One reservation at a time per fleet: each reads the others' as committed.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('firmo fleet budget ' || current_schema(), 0))",
            &[],
        )
        .await
        .map_err(self.db(OP))?;
        let spent = |portal_filter: &str| {
            format!(
                "COALESCE((SELECT sum(c.credits) FROM run_credits c JOIN runs r ON r.id = c.run_id \
                 WHERE r.dry_run = 0 AND r.started_at >= {MONTH_START_MS}{portal_filter}), 0)::double precision"
            )
        };
        let row = tx
            .query_opt(
                &format!(
                    "SELECT p.monthly_credits, (SELECT b.monthly_credits FROM fleet_budget b), \
                         {portal_spent}, {fleet_spent}, \
                         COALESCE((SELECT max(id) FROM runs), 0) \
                     FROM fleet_jobs j JOIN fleet_portals p ON p.name = j.portal \
                     WHERE j.id = $1 AND j.state = 'running' AND j.worker = $2",
                    portal_spent = spent(" AND r.portal = p.account_key"),
                    fleet_spent = spent("")
                ),
                &[&job.id, &worker],
            )
            .await
            .map_err(self.db(OP))?
            .ok_or(FleetError::NotHeld { job: job.id })?;
        let held = tx
            .query_one(
                &format!(
                    "WITH held AS ( \
                         SELECT j.portal, GREATEST(j.reserved_credits - {JOB_SPENT}, 0) AS credits \
                         FROM fleet_jobs j \
                         WHERE j.state = 'running' AND j.reserved_credits IS NOT NULL AND j.id <> $1) \
                     SELECT COALESCE(sum(credits) FILTER (WHERE portal = $2), 0), \
                            COALESCE(sum(credits), 0) FROM held"
                ),
                &[&job.id, &job.portal],
            )
            .await
            .map_err(self.db(OP))?;
        let portal = Budget {
            limit: row.get(0),
            committed: row.get::<_, f64>(2) + held.get::<_, f64>(0),
        };
        let fleet = Budget {
            limit: row.get(1),
            committed: row.get::<_, f64>(3) + held.get::<_, f64>(1),
        };
        let answer = grant(want, portal, fleet);
        if let Reservation::Granted(credits) = answer {
            let newest_run: i64 = row.get(4);
            tx.execute(
                "UPDATE fleet_jobs SET reserved_credits = $3, reserved_after_run = $4 \
                 WHERE id = $1 AND worker = $2",
                &[&job.id, &worker, &credits, &newest_run],
            )
            .await
            .map_err(self.db(OP))?;
        }
        tx.commit().await.map_err(self.db(OP))?;
        Ok(answer)
    }

    /// Credits the running jobs hold now (what their runs have not spent yet).
    pub async fn reserved(&self) -> Result<f64, FleetError> {
        let held: f64 = self
            .client()
            .query_one(
                &format!(
                    "SELECT COALESCE(sum(GREATEST(j.reserved_credits - {JOB_SPENT}, 0)), 0) \
                     FROM fleet_jobs j WHERE j.state = 'running' AND j.reserved_credits IS NOT NULL"
                ),
                &[],
            )
            .await
            .map_err(self.db("reading the running jobs' reservations"))?
            .get(0);
        Ok(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Budget = Budget {
        limit: None,
        committed: 0.0,
    };

    fn budget(limit: f64, committed: f64) -> Budget {
        Budget {
            limit: Some(limit),
            committed,
        }
    }

    #[test]
    fn the_grant_is_the_smallest_of_the_ask_and_what_each_budget_has_left() {
        assert_eq!(grant(50.0, NONE, NONE), Reservation::Granted(50.0));
        assert_eq!(
            grant(50.0, budget(100.0, 70.0), NONE),
            Reservation::Granted(30.0)
        );
        assert_eq!(
            grant(50.0, budget(100.0, 70.0), budget(1000.0, 990.0)),
            Reservation::Granted(10.0)
        );
        assert_eq!(
            grant(5.0, budget(100.0, 0.0), budget(100.0, 0.0)),
            Reservation::Granted(5.0)
        );
    }

    fn portal(name: &str, monthly_credits: Option<f64>) -> crate::NewPortal {
        crate::NewPortal {
            name: name.into(),
            crm: "hubspot".into(),
            token_env: "T".into(),
            config_path: None,
            sandbox_url: None,
            every_ms: 3_600_000,
            monthly_credits,
        }
    }

    /// A fleet on a fresh schema with these portals queued and a fleet budget.
    async fn fleet(portals: &[(&str, Option<f64>)], budget: f64) -> Option<(String, Fleet)> {
        let url = crate::test_db::url().await?;
        let fleet = Fleet::connect(&url).await.unwrap();
        for (name, monthly) in portals {
            fleet.add_portal(&portal(name, *monthly)).await.unwrap();
        }
        fleet.set_fleet_budget(Some(budget)).await.unwrap();
        fleet.schedule().await.unwrap();
        Some((url, fleet))
    }

    /// A worker on a connection of its own, holding the next queued job.
    async fn worker_with_job(url: &str, id: &str) -> (Fleet, Job) {
        let worker = Fleet::connect(url).await.unwrap();
        worker.register_worker(id, "here", 1).await.unwrap();
        let job = worker.claim(id).await.unwrap().expect("a queued job");
        (worker, job)
    }

    /// A run on portal `key` in the store (a dry one: credits it would have spent), that
    /// spent `credits`.
    async fn run_spending(url: &str, key: &str, credits: f64, dry_run: bool) -> i64 {
        let url = url.to_owned();
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut store = firmo_store::Store::open(&url).unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            let start = firmo_store::RunStart::new(
                "sync",
                firmo_store::UnixMillis(i64::try_from(now.as_millis()).unwrap()),
            )
            .on("hubspot", key)
            .dry_run(dry_run);
            let run = store.start_run(&start).unwrap();
            store.add_credits(run, "clearbit", credits, 1).unwrap();
            run.0
        })
        .await
        .unwrap()
    }

    const BUDGET_KEY: &str = "hashtextextended('firmo fleet budget ' || current_schema(), 0)";

    #[tokio::test]
    async fn two_jobs_started_at_once_on_a_fleet_budget_that_fits_one_get_one_reservation() {
        let Some((url, fleet)) = fleet(&[("a", None), ("b", None)], 10.0).await else {
            return;
        };
        let (w1, j1) = worker_with_job(&url, "w1").await;
        let (w2, j2) = worker_with_job(&url, "w2").await;
        // Hold the reservations' lock so both asks are at the server, waiting, before
        // either is answered: the two jobs start at the same moment.
        let (gate, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        gate.execute(&format!("SELECT pg_advisory_lock({BUDGET_KEY})"), &[])
            .await
            .unwrap();
        let first = tokio::spawn(async move { w1.reserve(&j1, "w1", 10.0).await });
        let second = tokio::spawn(async move { w2.reserve(&j2, "w2", 10.0).await });
        let waiting = format!(
            "SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory' AND NOT l.granted \
             AND l.objsubid = 1 AND l.classid::bigint = ({BUDGET_KEY} >> 32) & 4294967295 \
             AND l.objid::bigint = {BUDGET_KEY} & 4294967295"
        );
        let mut queued = 0;
        for _ in 0..500 {
            // The asks travel to the server on their own connections: poll, bounded.
            queued = gate
                .query_one(&waiting, &[])
                .await
                .unwrap()
                .get::<_, i64>(0);
            if queued == 2 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(queued, 2, "both reservations wait on the lock");
        gate.execute(&format!("SELECT pg_advisory_unlock({BUDGET_KEY})"), &[])
            .await
            .unwrap();
        let mut answers = [
            first.await.unwrap().unwrap(),
            second.await.unwrap().unwrap(),
        ];
        answers.sort_by_key(|a| matches!(a, Reservation::Spent { .. }));
        assert_eq!(answers[0], Reservation::Granted(10.0));
        let Reservation::Spent { detail } = &answers[1] else {
            panic!("the second job overshoots: {answers:?}");
        };
        assert!(detail.contains("fleet's budget"), "{detail}");
        assert!((fleet.reserved().await.unwrap() - 10.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn a_reservation_shrinks_as_its_run_spends_is_replaced_at_the_end_and_freed_with_a_lost_worker()
     {
        let Some((url, fleet)) = fleet(&[("a", None), ("b", None), ("c", Some(3.0))], 10.0).await
        else {
            return;
        };
        fleet.set_account_key("a", "hubspot:1").await.unwrap();
        // What a dry run would have spent is no spend.
        run_spending(&url, "hubspot:1", 100.0, true).await;
        let (wa, ja) = worker_with_job(&url, "wa").await;
        assert_eq!(ja.portal, "a");
        assert_eq!(
            wa.reserve(&ja, "wa", 50.0).await.unwrap(),
            Reservation::Granted(10.0),
            "capped at the fleet's month"
        );
        let run = run_spending(&url, "hubspot:1", 4.0, false).await;
        // Spent 4 of the 10 it holds: 6 still held, 4 in the ledger, nothing left.
        assert!((fleet.reserved().await.unwrap() - 6.0).abs() < 1e-9);
        assert!((fleet.spent_this_month(None).await.unwrap() - 4.0).abs() < 1e-9);
        let (wb, jb) = worker_with_job(&url, "wb").await;
        assert!(matches!(
            wb.reserve(&jb, "wb", 50.0).await.unwrap(),
            Reservation::Spent { .. }
        ));

        let done = crate::JobOutcome::Done {
            run_id: Some(run),
            detail: "ok".into(),
        };
        wa.finish(&ja, "wa", &done).await.unwrap();
        let spent: Option<f64> = fleet
            .client()
            .query_one(
                "SELECT spent_credits FROM fleet_jobs WHERE id = $1",
                &[&ja.id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(spent, Some(4.0), "the run's spend replaces the reservation");
        assert_eq!(
            wb.reserve(&jb, "wb", 50.0).await.unwrap(),
            Reservation::Granted(6.0)
        );

        // b's worker dies holding 6: the next claim queues its job again and frees them.
        drop(wb);
        let mut requeued = 0;
        for _ in 0..200 {
            // The server notices the closed socket in its own time: poll, bounded.
            requeued = fleet.requeue_lost().await.unwrap();
            if requeued > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(requeued, 1);
        assert!(fleet.reserved().await.unwrap().abs() < 1e-9);
        let (wc, jc) = worker_with_job(&url, "wc").await;
        assert_eq!(jc.portal, "c");
        assert_eq!(
            wc.reserve(&jc, "wc", 50.0).await.unwrap(),
            Reservation::Granted(3.0),
            "the portal's own month is the smaller"
        );
        // A worker that lost its job cannot reserve for it.
        let err = wa.reserve(&ja, "wa", 1.0).await.unwrap_err();
        assert!(
            matches!(err, FleetError::NotHeld { job } if job == ja.id),
            "{err}"
        );
    }

    #[test]
    fn a_spent_budget_says_whose_and_how_much() {
        let Reservation::Spent { detail } = grant(5.0, NONE, budget(10.0, 10.0)) else {
            panic!("nothing is left");
        };
        assert!(detail.contains("fleet's budget"), "{detail}");
        assert!(detail.contains("(10.0 of 10.0)"), "{detail}");
        let Reservation::Spent { detail } = grant(5.0, budget(3.0, 4.5), budget(10.0, 0.0)) else {
            panic!("the portal's is overspent");
        };
        assert!(detail.contains("portal's budget"), "{detail}");
    }
}
