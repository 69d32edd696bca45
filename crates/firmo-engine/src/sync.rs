//! `firmo sync`: wires the stages. Pull runs ahead of enrichment, several pages are
//! enriched at once, writes trail behind in batches; every account the run touches ends
//! with one [`Verdict`](crate::verdict::Verdict).

use std::sync::Arc;

use firmo_connect::ConnectorError;
use firmo_connect::crm::{Crm, FilterGroup, PullRequest};
use firmo_store::RunStart;
use futures_util::StreamExt as _;

use crate::budget;
use crate::config::Config;
use crate::contacts::ContactStage;
use crate::cursor;
use crate::enrich::Enricher;
use crate::pass::{Pass, PassContext};
use crate::pull;
use crate::report::RunSummary;
use crate::run::{RunRecord, RunState};
use crate::setup::{self, PropertyReport};
use crate::state::StateError;
use crate::write::{self, WriteTarget};

/// Runtime knobs of one sync (pipeline semantics live in the config file).
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    pub dry_run: bool,
    /// Stop after this many accounts.
    pub limit: Option<usize>,
    /// A `[segments.NAME]` of the config.
    pub segment: Option<String>,
    /// Ignore the incremental cursor: pull every company.
    pub full: bool,
}

/// Progress callbacks (the CLI draws a bar; tests and `--json` ignore them).
pub trait Progress: Send + Sync {
    fn phase(&self, _name: &str) {}
    fn pulled(&self, _total: u64) {}
    fn processed(&self, _total: u64) {}
}

/// No progress output.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Why a sync stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Crm(#[from] ConnectorError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("unknown segment `{name}`; the config defines: {known}")]
    UnknownSegment { name: String, known: String },
}

/// Pages pulled ahead of enrichment.
const PULL_AHEAD: usize = 8;
/// Pages enriched at once. Enough to hide one page's provider round trips and Clay's
/// callback behind the others; each holds at most 100 accounts.
const PAGES_IN_FLIGHT: usize = 24;

/// Runs the pipeline.
pub async fn sync(
    config: &Config,
    crm: Arc<dyn Crm>,
    enricher: &Enricher,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<RunSummary, SyncError> {
    sync_with_contacts(config, crm, None, enricher, options, progress).await
}

/// [`sync`], with each enriched page's contacts through `contacts` (see
/// [`crate::contacts`]).
pub async fn sync_with_contacts(
    config: &Config,
    crm: Arc<dyn Crm>,
    contacts: Option<&ContactStage>,
    enricher: &Enricher,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<RunSummary, SyncError> {
    let started = (enricher.clock)();
    let segment = segment_filters(config, options.segment.as_deref())?;
    progress.phase("checking CRM properties");
    let portal = crm.account_key().await?;
    let setup = setup::prepare(crm.as_ref(), options.dry_run).await?;
    if let Some(stage) = contacts {
        stage.prepare(options.dry_run).await?;
    }
    let start = run_start(config, crm.name(), &portal, options, started);
    let record = RunRecord::start(&enricher.store, start).await?;
    let cursor = cursor::plan(
        &enricher.store,
        config,
        crm.name(),
        &portal,
        options.full,
        started,
    )
    .await?;
    let request = PullRequest {
        properties: crate::properties::pull_properties(config),
        segment,
        modified_since: cursor.modified_since,
        page_size: Some(100),
    };

    progress.phase("syncing");
    let (pages, puller) = pull::spawn(Arc::clone(&crm), request, options.limit, PULL_AHEAD);
    let (jobs, writer) = if options.dry_run {
        (None, None)
    } else {
        let target = WriteTarget {
            crm: Arc::clone(&crm),
            run: record.clone(),
            portal: portal.clone(),
            clock: Arc::clone(&enricher.clock),
        };
        let (jobs, task) = write::spawn(target);
        (Some(jobs), Some(task))
    };
    let state = RunState::new(
        &enricher.providers,
        config.budget.max_credits_per_run,
        Arc::clone(&enricher.clock),
        config.push_wait(),
        options.dry_run,
    )
    .recording(&record);
    let month = budget::month_for_run(&enricher.store, &config.monthly, started).await?;
    let state = match &month {
        Some(month) => state.within_month(month, &config.monthly),
        None => state,
    };
    let ctx = PassContext {
        config,
        crm: crm.as_ref(),
        portal: &portal,
        live: &setup.live,
        enricher,
        run: &state,
        record: &record,
        dry_run: options.dry_run,
    };
    let mut pass = Pass::default();
    let stopped = consume(&ctx, pages, jobs, contacts, &mut pass, progress).await;

    let written = match writer {
        Some(task) => Some(task.await.unwrap_or(Err(StateError::Gone))),
        None => None,
    };
    let pulled = puller.await.unwrap_or_default();
    let finished = (enricher.clock)();
    let error = stopped
        .err()
        .map(|e| e.to_string())
        .or_else(|| match &written {
            Some(Err(e)) => Some(e.to_string()),
            _ => None,
        });
    let mut crm_calls = 1 + setup.calls + pulled.calls;
    if let Some(Ok(w)) = &written {
        crm_calls += w.calls;
        pass.absorb_writes(w);
    }
    let unfiltered = options.limit.is_none() && options.segment.is_none();
    if error.is_none() && pulled.complete && !pass.holds_cursor && !options.dry_run && unfiltered {
        let (crm_name, hw) = (crm.name(), pulled.high_water);
        cursor::advance(
            &enricher.store,
            crm_name,
            &portal,
            &cursor,
            hw,
            started,
            finished,
        )
        .await?;
    }
    let estimated = options
        .dry_run
        .then(|| pass.estimated_crm_calls(crm_calls, &setup));
    let (mut summary, outcome) = pass.summary(crate::pass::SummaryInputs {
        run_id: record.id,
        dry_run: options.dry_run,
        crm: crm.name(),
        portal: &portal,
        mode: cursor.mode(),
        started,
        finished,
        crm_calls,
        estimated_crm_calls: estimated,
        monthly: budget::after_run(month, &config.monthly, &state.stats()),
        providers: state.stats(),
        planned_credits: state.planned_credits(),
        budget: config.budget.max_credits_per_run,
        properties: setup.report,
        error,
    });
    summary.contacts = contacts.map(ContactStage::summary);
    // The run's spend is every lookup's: the people's too (their own line says how much).
    if let Some(c) = &summary.contacts {
        summary.credits += c.credits;
        summary.planned_credits += c.planned_credits;
        summary.crm_calls += c.crm_calls;
        if let Some(estimated) = summary.estimated_crm_calls.as_mut() {
            *estimated += c.crm_calls;
        }
    }
    let json = serde_json::to_value(&summary).unwrap_or_default();
    record.finish(finished, outcome, json).await?;
    Ok(summary)
}

/// Why a pass stopped before its last page.
#[derive(Debug, thiserror::Error)]
enum Stopped {
    #[error("pulling from the CRM: {0}")]
    Pull(ConnectorError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Enriches the pulled pages, several at once, and hands each evaluated page to the pass.
async fn consume(
    ctx: &PassContext<'_>,
    pages: tokio::sync::mpsc::Receiver<pull::Page>,
    jobs: Option<tokio::sync::mpsc::Sender<write::WriteJob>>,
    contacts: Option<&ContactStage>,
    pass: &mut Pass,
    progress: &dyn Progress,
) -> Result<(), Stopped> {
    let pages = futures_util::stream::unfold(pages, |mut rx| async move {
        rx.recv().await.map(|page| (page, rx))
    });
    let evaluated = pages
        .map(|page| async move {
            match page {
                Ok(companies) => {
                    let mut page = ctx.evaluate_page(companies).await?;
                    if let Some(stage) = contacts {
                        stage.enrich_page(ctx, &mut page).await?;
                    }
                    Ok(page)
                }
                Err(e) => Err(Stopped::Pull(e)),
            }
        })
        .buffer_unordered(PAGES_IN_FLIGHT);
    let mut evaluated = std::pin::pin!(evaluated);
    while let Some(page) = evaluated.next().await {
        let page = page?;
        pass.scanned += page.len() as u64;
        progress.pulled(pass.scanned);
        pass.absorb_page(ctx, page, jobs.as_ref()).await?;
        progress.processed(pass.scanned);
    }
    Ok(())
}

/// `firmo properties ensure`: creates what is missing of firmo's group and properties,
/// checks the rest, and reports each.
pub async fn ensure_properties(crm: &dyn Crm) -> Result<Vec<PropertyReport>, ConnectorError> {
    setup::prepare(crm, false).await.map(|s| s.report)
}

/// How the run is recorded: what was asked of it.
fn run_start(
    config: &Config,
    crm: &'static str,
    portal: &str,
    options: &SyncOptions,
    started: firmo_core::UnixMillis,
) -> RunStart {
    RunStart::new("sync", started)
        .on(crm, portal.to_owned())
        .dry_run(options.dry_run)
        .config(serde_json::json!({
            "segment": options.segment,
            "full": options.full,
            "limit": options.limit,
            "budget": config.budget.max_credits_per_run,
        }))
}

fn segment_filters(config: &Config, name: Option<&str>) -> Result<Vec<FilterGroup>, SyncError> {
    let Some(name) = name else {
        return Ok(Vec::new());
    };
    let filters = config
        .segments
        .get(name)
        .ok_or_else(|| SyncError::UnknownSegment {
            name: name.to_owned(),
            known: config.segment_names(),
        })?;
    Ok(vec![FilterGroup::all(filters.iter().cloned())])
}
