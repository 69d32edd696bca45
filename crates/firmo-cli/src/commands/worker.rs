//! `firmo worker`: takes portal syncs from the fleet's queue and runs each through the
//! same pipeline `firmo sync` runs (the same target wiring, the same engine), under the
//! portal's run lock and the portal's shared rate limit.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use firmo_engine::config::Config;
use firmo_engine::sync::{NoProgress, SyncOptions, sync};
use firmo_fleet::pace::{PacedCrm, PortalLimit};
use firmo_fleet::{Fleet, Job, JobOutcome, Reservation};
use firmo_store::{LockHolder, Store, StoreError};
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tracing::Instrument as _;

use super::fleet::{connect, failure};
use crate::cli::{CrmChoice, GlobalArgs, TargetArgs, WorkerArgs};
use crate::context;
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

/// How long a job whose portal is locked by a run outside the fleet waits to be retried.
const LOCKED_RETRY_MS: i64 = 60_000;
/// How often a worker says it is alive (`fleet status` shows the age).
const HEARTBEAT: Duration = Duration::from_secs(5);

pub(crate) async fn run(global: &GlobalArgs, args: &WorkerArgs) -> CmdResult {
    let fleet = connect(global).await?;
    let location = global.state.to_str().unwrap_or_default().to_owned();
    let me = LockHolder::this_process("firmo worker", (firmo_engine::system_clock())());
    let id = format!("{}:{}:{:04x}", me.host, me.pid, fastrand::u16(..));
    fleet
        .register_worker(&id, &me.host, args.concurrency)
        .await
        .map_err(failure)?;
    tracing::info!(worker = %id, concurrency = args.concurrency, state = %fleet.location(), "worker started");
    let beat = {
        let (fleet, id) = (fleet.clone(), id.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            loop {
                tick.tick().await;
                if let Err(e) = fleet.heartbeat(&id).await {
                    tracing::warn!(worker = %id, error = %e, "heartbeat not recorded");
                }
            }
        })
    };
    let result = work(args, &fleet, &location, &id).await;
    beat.abort();
    let tally = result?;
    if global.json {
        print_json(&serde_json::json!({
            "worker": id, "done": tally.done, "failed": tally.failed, "skipped": tally.skipped,
        }))?;
    } else if !global.quiet {
        print(&format!(
            "worker {id}: {} done, {} failed, {} skipped\n",
            tally.done, tally.failed, tally.skipped
        ))?;
    }
    if tally.failed > 0 {
        return Err(Failure::SomeFailed);
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Tally {
    done: u64,
    failed: u64,
    skipped: u64,
}

async fn work(
    args: &WorkerArgs,
    fleet: &Fleet,
    location: &str,
    id: &str,
) -> Result<Tally, Failure> {
    let mut tally = Tally::default();
    let mut running = FuturesUnordered::new();
    let poll = Duration::from_secs(args.poll);
    let stop = super::wait_for_signal();
    tokio::pin!(stop);
    loop {
        while running.len() < args.concurrency as usize {
            let Some(job) = fleet.claim(id).await.map_err(failure)? else {
                break;
            };
            let span = tracing::info_span!("job", job = job.id, portal = %job.portal, attempt = job.attempt);
            running.push(
                async move {
                    let outcome = run_job(fleet, location, id, &job).await;
                    (job, outcome)
                }
                .instrument(span),
            );
        }
        if running.is_empty()
            && args.exit_when_idle
            && fleet.open_jobs().await.map_err(failure)? == 0
        {
            return Ok(tally);
        }
        tokio::select! {
            Some((job, outcome)) = running.next(), if !running.is_empty() => {
                let Some(outcome) = outcome else { continue };
                match &outcome {
                    JobOutcome::Done { .. } => tally.done += 1,
                    JobOutcome::Failed { .. } => tally.failed += 1,
                    JobOutcome::Skipped { .. } => tally.skipped += 1,
                }
                fleet.finish(&job, id, &outcome).await.map_err(failure)?;
            }
            // Idle, or waiting beside running jobs: ask the queue again (a lost worker's
            // job may be free now).
            () = tokio::time::sleep(poll) => {}
            // Stop taking jobs and go: the running ones are handed to other workers once
            // this process's connections close, and pay for nothing already stored.
            () = &mut stop => {
                tracing::warn!(worker = %id, running = running.len(), "stopping; running jobs go back to the queue");
                return Ok(tally);
            }
        }
    }
}

/// Runs one job; `None` when it went back to the queue instead of ending.
async fn run_job(fleet: &Fleet, location: &str, worker: &str, job: &Job) -> Option<JobOutcome> {
    tracing::info!("job started");
    let outcome = match sync_portal(fleet, location, worker, job).await {
        Ok(outcome) => outcome,
        Err(e) => Some(JobOutcome::Failed {
            run_id: None,
            detail: format!("{e:#}"),
        }),
    };
    match &outcome {
        Some(JobOutcome::Done { run_id, detail }) => {
            tracing::info!(run = ?run_id, detail = %detail, "job done");
        }
        Some(JobOutcome::Failed { run_id, detail }) => {
            tracing::warn!(run = ?run_id, detail = %detail, "job failed");
        }
        Some(JobOutcome::Skipped { detail }) => tracing::info!(detail = %detail, "job skipped"),
        None => tracing::info!("job queued again"),
    }
    outcome
}

async fn sync_portal(
    fleet: &Fleet,
    location: &str,
    worker: &str,
    job: &Job,
) -> anyhow::Result<Option<JobOutcome>> {
    let portal = fleet.portal(&job.portal).await?;
    let mut config = match &portal.config_path {
        Some(path) => Config::load(Path::new(path))?,
        None => Config::from_toml("", "(defaults)")?,
    };
    config.crm.token_env.clone_from(&portal.token_env);
    let crm =
        CrmChoice::named(&portal.crm).with_context(|| format!("portal {:?}'s CRM", portal.name))?;
    let target_args = TargetArgs {
        crm,
        sandbox: false,
        sandbox_url: portal.sandbox_url.clone(),
        sandbox_companies: 0,
    };
    let store = open(location).await?;
    // No whole-state lock (`None`): the portal's own lock is taken below, so workers on
    // other portals run beside this one.
    let mut target = context::target(&config, &target_args, store, None)
        .await
        .map_err(|f| match f {
            Failure::Usage(e) | Failure::Run(e) => e,
            Failure::SomeFailed => anyhow!("the target could not be built"),
        })?;
    // Workers on other portals read and write the same provider cache: lease before asking.
    target.enricher.shares_cache = true;
    let outcome = sync_with(fleet, &config, &portal, location, worker, job, &target).await;
    target.finish().await;
    outcome
}

async fn sync_with(
    fleet: &Fleet,
    config: &Config,
    portal: &firmo_fleet::Portal,
    location: &str,
    worker: &str,
    job: &Job,
    target: &context::Target,
) -> anyhow::Result<Option<JobOutcome>> {
    let key = target.crm.account_key().await?;
    if portal.account_key.as_deref() != Some(key.as_str()) {
        fleet.set_account_key(&portal.name, &key).await?;
    }
    // Budgets: the job reserves what its run may spend against this portal's month and
    // the fleet's, net of the running jobs' reservations, and the run is capped at it; the
    // job's end (or its requeue) releases it.
    let mut config = config.clone();
    match fleet
        .reserve(job, worker, config.budget.max_credits_per_run)
        .await?
    {
        Reservation::Granted(credits) => config.budget.max_credits_per_run = credits,
        Reservation::Spent { detail } => return Ok(Some(JobOutcome::Skipped { detail })),
    }
    tracing::info!(
        credits = config.budget.max_credits_per_run,
        "credits reserved"
    );

    // The portal's run lock on a connection of its own, held for the whole sync.
    let lock_store = open(location).await?;
    let holder = LockHolder::this_process(
        format!("firmo worker {worker} job {}", job.id),
        (firmo_engine::system_clock())(),
    );
    let crm_name = target.crm.name();
    let lock = match lock_store.lock_portal(crm_name, &key, &holder) {
        Ok(lock) => lock,
        Err(e @ StoreError::Locked { .. }) => {
            fleet
                .retry_later(job, worker, LOCKED_RETRY_MS, &e.to_string())
                .await?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(account = %key, "portal locked; syncing");

    let crm: Arc<dyn firmo_connect::crm::Crm> = Arc::new(PacedCrm::new(
        target.crm.clone(),
        fleet.clone(),
        format!("{crm_name} {key}"),
        PortalLimit::per_10s(config.crm.requests_per_10s),
    ));
    let result = sync(
        &config,
        crm,
        &target.enricher,
        &SyncOptions::default(),
        &NoProgress,
    )
    .await;
    drop(lock);
    let outcome = match result {
        Err(e) => JobOutcome::Failed {
            run_id: None,
            detail: e.to_string(),
        },
        Ok(summary) => {
            let detail = format!(
                "{} scanned, {} written, {} failed, {:.1} credits",
                summary.scanned,
                summary.outcomes.get(firmo_store::Outcome::Written),
                summary.outcomes.failed,
                summary.credits
            );
            match &summary.error {
                Some(error) => JobOutcome::Failed {
                    run_id: Some(summary.run_id),
                    detail: format!("{detail}; stopped early: {error}"),
                },
                None if summary.outcomes.failed > 0 => JobOutcome::Failed {
                    run_id: Some(summary.run_id),
                    detail,
                },
                None => JobOutcome::Done {
                    run_id: Some(summary.run_id),
                    detail,
                },
            }
        }
    };
    Ok(Some(outcome))
}

async fn open(location: &str) -> anyhow::Result<Store> {
    let location = location.to_owned();
    let store = tokio::task::spawn_blocking(move || Store::open(&location)).await??;
    Ok(store)
}
