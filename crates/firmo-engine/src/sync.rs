//! `firmo sync`: wires the stages. Pull runs ahead of enrichment, several pages are
//! enriched at once, writes trail behind in batches; every account the run touches ends
//! with one [`Verdict`](crate::verdict::Verdict).

mod pages;

use std::sync::Arc;

use firmo_connect::ConnectorError;
use firmo_connect::crm::{Crm, PullRequest};
use firmo_core::UnixMillis;
use firmo_store::RunStart;

use crate::budget::{self, MonthToDate};
use crate::config::{Config, UnknownSegment};
use crate::contacts::ContactStage;
use crate::cursor::{self, CursorPlan};
use crate::enrich::Enricher;
use crate::report::RunSummary;
use crate::run::{RunRecord, RunState};
use crate::setup::{self, PropertyReport, Setup};
use crate::state::StateError;
use pages::Passed;

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
    #[error(transparent)]
    UnknownSegment(#[from] UnknownSegment),
}

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
    let (sync, request) = Opened::open(config, crm, contacts, enricher, options, progress).await?;
    progress.phase("syncing");
    let passed = sync.pass(request, contacts, progress).await;
    sync.close(passed, contacts).await
}

/// A sync between its setup and its summary: what every later step reads.
struct Opened<'a> {
    config: &'a Config,
    crm: Arc<dyn Crm>,
    enricher: &'a Enricher,
    options: &'a SyncOptions,
    started: UnixMillis,
    portal: String,
    setup: Setup,
    record: RunRecord,
    cursor: CursorPlan,
    state: RunState,
    month: Option<MonthToDate>,
}

impl<'a> Opened<'a> {
    /// Checks the CRM's properties, records the run's start, plans its cursor and budget,
    /// and says what to pull.
    async fn open(
        config: &'a Config,
        crm: Arc<dyn Crm>,
        contacts: Option<&ContactStage>,
        enricher: &'a Enricher,
        options: &'a SyncOptions,
        progress: &dyn Progress,
    ) -> Result<(Opened<'a>, PullRequest), SyncError> {
        let (started, dry_run) = ((enricher.clock)(), options.dry_run);
        let segment = config.segment_filters(options.segment.as_deref())?;
        progress.phase("checking CRM properties");
        let portal = crm.account_key().await?;
        let setup = setup::prepare(crm.as_ref(), dry_run).await?;
        if let Some(stage) = contacts {
            stage.prepare(dry_run).await?;
        }
        let start = run_start(config, crm.name(), &portal, options, started);
        let (store, full) = (&enricher.store, options.full);
        let record = RunRecord::start(store, start).await?;
        let cursor = cursor::plan(store, config, crm.name(), &portal, full, started).await?;
        let state = RunState::new(
            &enricher.providers,
            config.budget.max_credits_per_run,
            Arc::clone(&enricher.clock),
            config.push_wait(),
            dry_run,
        )
        .recording(&record);
        let month = budget::month_for_run(store, &config.monthly, started).await?;
        let state = match &month {
            Some(month) => state.within_month(month, &config.monthly),
            None => state,
        };
        let request = PullRequest {
            properties: crate::properties::pull_properties(config),
            segment,
            modified_since: cursor.modified_since,
            page_size: Some(100),
        };
        let opened = Opened {
            config,
            crm,
            enricher,
            options,
            started,
            portal,
            setup,
            record,
            cursor,
            state,
            month,
        };
        Ok((opened, request))
    }

    /// Only a real, unfiltered pass that pulled every company and left no account
    /// unfinished moves the cursor: otherwise the next run would skip what this one missed.
    fn cursor_may_move(&self, passed: &Passed) -> bool {
        let o = self.options;
        let unfiltered = o.limit.is_none() && o.segment.is_none();
        passed.error.is_none()
            && passed.pulled.complete
            && !passed.pass.holds_cursor
            && !o.dry_run
            && unfiltered
    }

    /// Moves the cursor when the pass allows it, and records the run's summary.
    async fn close(
        self,
        passed: Passed,
        contacts: Option<&ContactStage>,
    ) -> Result<RunSummary, SyncError> {
        let (options, config, finished) = (self.options, self.config, (self.enricher.clock)());
        if self.cursor_may_move(&passed) {
            let (store, crm, hw) = (
                &self.enricher.store,
                self.crm.name(),
                passed.pulled.high_water,
            );
            let (cursor, started) = (&self.cursor, self.started);
            cursor::advance(store, crm, &self.portal, cursor, hw, started, finished).await?;
        }
        let Passed {
            pass,
            error,
            crm_calls,
            ..
        } = passed;
        let estimated = options
            .dry_run
            .then(|| pass.estimated_crm_calls(crm_calls, &self.setup));
        let (mut summary, outcome) = pass.summary(crate::pass::SummaryInputs {
            run_id: self.record.id,
            dry_run: options.dry_run,
            crm: self.crm.name(),
            portal: &self.portal,
            mode: self.cursor.mode(),
            started: self.started,
            finished,
            crm_calls,
            estimated_crm_calls: estimated,
            monthly: budget::after_run(self.month, &config.monthly, &self.state.stats()),
            providers: self.state.stats(),
            planned_credits: self.state.planned_credits(),
            budget: config.budget.max_credits_per_run,
            properties: self.setup.report,
            error,
        });
        if let Some(stage) = contacts {
            stage.add_to(&mut summary);
        }
        let json = serde_json::to_value(&summary).unwrap_or_default();
        self.record.finish(finished, outcome, json).await?;
        Ok(summary)
    }
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
    started: UnixMillis,
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
