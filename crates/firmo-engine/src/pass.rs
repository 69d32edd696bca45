//! One pass over the CRM's pages: each page evaluated against the CRM, each account's
//! verdict decided and counted, its outcome recorded or its changes queued for writing.

use std::collections::BTreeMap;

use firmo_connect::crm::{Crm, CrmCompany, PropertyDef, format_timestamp};
use firmo_core::coverage::Coverage;
use firmo_core::{Field, UnixMillis};
use firmo_store::{AccountOutcome, JournalEntry, MergedSnapshot, RunId, RunOutcome};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::diff::PropertySkip;
use crate::enrich::{Account, Enricher};
use crate::evaluate::{Evaluated, against_crm};
use crate::events;
use crate::fetch::LookupState;
use crate::report::{AccountPlan, LeftEmpty, RunSummary, Tally, verdict_reason};
use crate::run::{PageRecord, ProviderStats, RunRecord, RunState};
use crate::setup::{PropertyReport, Setup};
use crate::state::StateError;
use crate::verdict::{self, Verdict};
use crate::write::{WRITE_BATCH, WriteJob, WriteReport};

/// What every page of the pass needs.
pub(crate) struct PassContext<'a> {
    pub config: &'a Config,
    /// The CRM: its name keys the journal, and it encodes and compares values.
    pub crm: &'a dyn Crm,
    pub portal: &'a str,
    pub live: &'a BTreeMap<String, PropertyDef>,
    pub enricher: &'a Enricher,
    pub run: &'a RunState,
    pub record: &'a RunRecord,
    pub dry_run: bool,
}

impl PassContext<'_> {
    /// What firmo last wrote to each of `ids` in this portal (adopting its writes made
    /// under an earlier key of the same portal): record id → property → value.
    pub(crate) async fn journal(
        &self,
        ids: Vec<String>,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, StateError> {
        let (crm, portal) = (self.crm.name(), self.portal.to_owned());
        let journal = self
            .enricher
            .store
            .call(move |s| {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                s.last_writes_adopting(crm, &portal, &ids)
            })
            .await?;
        let mut ours: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for ((id, property), entry) in journal {
            ours.entry(id).or_default().insert(property, entry.value);
        }
        Ok(ours)
    }

    /// Enriches one pulled page and compares each account with the CRM and the journal.
    pub(crate) async fn evaluate_page(
        &self,
        companies: Vec<CrmCompany>,
    ) -> Result<Vec<Evaluated>, StateError> {
        let accounts: Vec<Account> = companies
            .into_iter()
            .map(|c| self.config.account(c))
            .collect();
        let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
        let ours = self.journal(ids).await?;
        let enriched = self.enricher.enrich_page(accounts, self.run).await?;
        let now = (self.enricher.clock)();
        let empty = BTreeMap::new();
        Ok(enriched
            .into_iter()
            .map(|e| {
                let journal = ours.get(&e.account.id).unwrap_or(&empty);
                against_crm(self.config, self.crm, e, journal, self.live, now)
            })
            .collect())
    }
}

/// What the pass has counted so far.
#[derive(Default)]
pub(crate) struct Pass {
    pub tally: Tally,
    pub coverage: Coverage,
    pub plans: Vec<AccountPlan>,
    pub scanned: u64,
    /// Some account is unfinished (failed, waiting, deferred): the cursor stays.
    pub holds_cursor: bool,
    /// Dry run: accounts the real run would most likely write.
    expected_writes: u64,
    /// Field → accounts it is empty on while a provider that might fill it was not asked,
    /// and those providers' credits.
    left_empty: BTreeMap<Field, (u64, BTreeMap<&'static str, f64>)>,
}

impl Pass {
    /// Decides each account's verdict; records the page's outcomes and queues its writes.
    pub(crate) async fn absorb_page(
        &mut self,
        ctx: &PassContext<'_>,
        page: Vec<Evaluated>,
        jobs: Option<&mpsc::Sender<WriteJob>>,
    ) -> Result<(), StateError> {
        let now = (ctx.enricher.clock)();
        let mut record = PageRecord::default();
        for mut e in page {
            let verdict = verdict::decide(&e.enriched, &e.diff, &e.preflight);
            let enriched = &e.enriched;
            self.coverage
                .add_validated(&enriched.evaluation.merged, &enriched.evaluation.findings);
            self.tally
                .absorb_findings(&enriched.evaluation.findings, &e.preflight);
            self.count_left_empty(ctx, enriched);
            for f in enriched.rejected() {
                events::record_rejected(&enriched.account.id, &f.code, &f.message);
            }
            self.tally.absorb_kept(&e.diff.skipped);
            for skip in &e.diff.skipped {
                if let PropertySkip::HumanEdited { property, .. } = skip {
                    events::human_edit_kept(&enriched.account.id, property);
                }
            }
            record.snapshots.push(MergedSnapshot {
                account_id: enriched.account.id.clone(),
                merged: enriched.evaluation.merged.to_plain_json(),
                findings: serde_json::to_value(&enriched.evaluation.findings).unwrap_or_default(),
            });
            if !ctx.dry_run {
                record.journal.extend(adopted(ctx, &mut e, now));
            }
            if ctx.dry_run {
                self.plans.push(AccountPlan::new(&e));
                self.expected_writes += u64::from(verdict.expects_write());
            }
            self.holds_cursor |= verdict.holds_cursor();
            let detail = detail_json(ctx, &e);
            let enriched = &e.enriched;
            let domain = enriched.domain.as_ref().ok().cloned();
            if verdict == Verdict::ToWrite {
                self.tally.sample(enriched);
            }
            if let (Verdict::ToWrite, Some(jobs)) = (&verdict, jobs) {
                let job = WriteJob {
                    account_id: enriched.account.id.clone(),
                    domain,
                    changes: e.diff.changes,
                    detail,
                };
                // The writer only goes away when the run is failing; its error says why.
                let _ = jobs.send(job).await;
                continue;
            }
            self.tally.count(&verdict, ctx.dry_run);
            record.outcomes.push(AccountOutcome {
                account_id: enriched.account.id.clone(),
                domain,
                outcome: verdict.outcome(),
                reason: verdict_reason(&verdict, ctx.dry_run),
                detail: Some(detail),
            });
        }
        ctx.record.page(record).await
    }

    /// Counts the fields the waterfall left empty on this account that a provider it did
    /// not ask might fill.
    fn count_left_empty(&mut self, ctx: &PassContext<'_>, enriched: &crate::enrich::Enriched) {
        if enriched.domain.is_err() {
            return;
        }
        let providers = &ctx.enricher.providers;
        for field in Field::ALL {
            if crate::waterfall::is_filled(&enriched.evaluation, field) {
                continue;
            }
            let unasked: Vec<usize> = ctx
                .enricher
                .waterfall
                .sources_of(field)
                .iter()
                .copied()
                .filter(|&pi| {
                    enriched.lookups.get(providers[pi].name) == Some(&LookupState::NotNeeded)
                })
                .collect();
            if unasked.is_empty() {
                continue;
            }
            let (accounts, costs) = self.left_empty.entry(field).or_default();
            *accounts += 1;
            for pi in unasked {
                *costs.entry(providers[pi].name).or_default() += providers[pi].policy.cost;
            }
        }
    }

    /// Counts what the write stage decided.
    pub(crate) fn absorb_writes(&mut self, w: &WriteReport) {
        self.tally
            .count_n(firmo_store::Outcome::Written, None, w.written);
        for verdict in &w.failed {
            self.tally.count(verdict, false);
        }
        self.holds_cursor |= !w.failed.is_empty();
    }

    /// A dry run's estimate of the CRM calls the real run makes.
    pub(crate) fn estimated_crm_calls(&self, calls_so_far: u64, setup: &Setup) -> u64 {
        calls_so_far + self.expected_writes.div_ceil(WRITE_BATCH as u64) + setup.calls_to_create()
    }

    /// The run's summary and its stored outcome.
    pub(crate) fn summary(self, i: SummaryInputs<'_>) -> (RunSummary, RunOutcome) {
        let outcome = if i.error.is_some() {
            RunOutcome::Failed
        } else if self.tally.outcomes.rejected + self.tally.outcomes.failed > 0 {
            RunOutcome::Partial
        } else {
            RunOutcome::Ok
        };
        let summary = RunSummary {
            run_id: i.run_id.0,
            dry_run: i.dry_run,
            crm: i.crm.to_owned(),
            portal: i.portal.to_owned(),
            mode: i.mode.to_owned(),
            started_at: format_timestamp(i.started),
            finished_at: format_timestamp(i.finished),
            duration_ms: i.finished.0.saturating_sub(i.started.0),
            scanned: self.scanned,
            crm_calls: i.crm_calls,
            estimated_crm_calls: i.estimated_crm_calls,
            credits: i.providers.values().map(|p| p.credits).sum(),
            planned_credits: i.planned_credits,
            budget: i.budget,
            monthly: i.monthly,
            providers: i.providers,
            outcomes: self.tally.outcomes,
            skipped: self.tally.skipped,
            rejected: self.tally.rejected,
            failed: self.tally.failed,
            findings: self.tally.findings,
            coverage: self.coverage.summary(),
            left_empty: self
                .left_empty
                .into_iter()
                .map(|(field, (accounts, would_cost))| LeftEmpty {
                    field: field.name(),
                    accounts,
                    would_cost,
                })
                .collect(),
            properties: i.properties,
            samples: self.tally.samples,
            human_edits_kept: self.tally.human_edits_kept,
            plan: self.plans,
            contacts: None,
            outcome: outcome.to_string(),
            error: i.error,
        };
        (summary, outcome)
    }
}

/// The run's own figures, for the summary.
pub(crate) struct SummaryInputs<'a> {
    pub run_id: RunId,
    pub dry_run: bool,
    pub crm: &'static str,
    pub portal: &'a str,
    pub mode: &'static str,
    pub started: UnixMillis,
    pub finished: UnixMillis,
    pub crm_calls: u64,
    pub estimated_crm_calls: Option<u64>,
    pub providers: BTreeMap<String, ProviderStats>,
    pub monthly: Option<crate::budget::MonthlyStatus>,
    pub planned_credits: f64,
    pub budget: f64,
    pub properties: Vec<PropertyReport>,
    pub error: Option<String>,
}

/// Values the CRM already holds as firmo would write them, journaled as firmo's.
fn adopted(ctx: &PassContext<'_>, e: &mut Evaluated, now: UnixMillis) -> Vec<JournalEntry> {
    std::mem::take(&mut e.diff.adopt)
        .into_iter()
        .map(|(property, value)| JournalEntry {
            crm: ctx.crm.name().to_owned(),
            portal: ctx.portal.to_owned(),
            record_id: e.enriched.account.id.clone(),
            property,
            value,
            written_at: now,
        })
        .collect()
}

fn detail_json(ctx: &PassContext<'_>, e: &Evaluated) -> serde_json::Value {
    let enriched = &e.enriched;
    let providers: Vec<(&'static str, &'static [firmo_core::Source])> = ctx
        .enricher
        .providers
        .iter()
        .map(|p| (p.name, p.provider.sources()))
        .collect();
    // What this account's lookups cost this run (a lookup shared by several accounts is
    // listed under each).
    let credits: BTreeMap<&str, f64> = ctx
        .enricher
        .providers
        .iter()
        .filter(|p| enriched.lookups.get(p.name) == Some(&LookupState::Fetched))
        .map(|p| (p.name, p.policy.cost))
        .collect();
    serde_json::json!({
        "name": enriched.account.name,
        "changes": e.diff.changes,
        "kept": e.diff.skipped,
        "findings": enriched.evaluation.findings,
        "preflight": e.preflight,
        "lookups": enriched.lookups,
        "credits": credits,
        "waterfall": ctx.enricher.waterfall.trace(&providers, &enriched.lookups, &enriched.evaluation),
    })
}
