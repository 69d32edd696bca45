//! Write: send changes to the CRM in batches of its limit, trailing enrichment, and
//! journal each value the CRM accepted so later runs recognise it as firmo's.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use firmo_connect::crm::{CompanyUpdate, Crm, WriteOutcome};
use firmo_store::{AccountOutcome, JournalEntry};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::Clock;
use crate::events;
use crate::report::verdict_reason;
use crate::run::{PageRecord, RunRecord};
use crate::state::StateError;
use crate::verdict::{FailKind, Verdict};

/// HubSpot batch inputs are capped at 100.
pub const WRITE_BATCH: usize = 100;

/// One account's changes, waiting for its batch.
#[derive(Debug)]
pub struct WriteJob {
    pub account_id: String,
    pub domain: Option<String>,
    pub changes: BTreeMap<String, String>,
    pub detail: serde_json::Value,
}

/// What the write stage did.
#[derive(Debug, Default)]
pub struct WriteReport {
    pub calls: u64,
    pub written: u64,
    /// The verdicts of the accounts whose write failed.
    pub failed: Vec<Verdict>,
}

/// Where the stage journals and records.
pub struct WriteTarget {
    pub crm: Arc<dyn Crm>,
    pub run: RunRecord,
    pub portal: String,
    pub clock: Clock,
}

/// Starts the write stage; it ends when the sender is dropped and the last batch is sent.
pub fn spawn(
    target: WriteTarget,
) -> (
    mpsc::Sender<WriteJob>,
    JoinHandle<Result<WriteReport, StateError>>,
) {
    let (jobs, mut queue) = mpsc::channel::<WriteJob>(WRITE_BATCH * 2);
    let task = tokio::spawn(async move {
        let mut report = WriteReport::default();
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        loop {
            let job = queue.recv().await;
            let closed = job.is_none();
            batch.extend(job);
            if batch.len() >= WRITE_BATCH || (closed && !batch.is_empty()) {
                flush(&target, std::mem::take(&mut batch), &mut report).await?;
            }
            if closed {
                return Ok(report);
            }
        }
    });
    (jobs, task)
}

async fn flush(
    target: &WriteTarget,
    jobs: Vec<WriteJob>,
    report: &mut WriteReport,
) -> Result<(), StateError> {
    let updates: Vec<CompanyUpdate> = jobs
        .iter()
        .map(|j| CompanyUpdate {
            id: j.account_id.clone(),
            properties: j.changes.clone(),
        })
        .collect();
    report.calls += updates.len().div_ceil(WRITE_BATCH) as u64;
    let outcomes = match target.crm.update_companies(&updates).await {
        Ok(o) => o,
        // Nothing was sent: every record in the batch fails with the same error.
        Err(error) => updates
            .iter()
            .map(|u| WriteOutcome::Failed {
                id: u.id.clone(),
                error: error.clone(),
            })
            .collect(),
    };
    let by_id: HashMap<&str, &WriteOutcome> = outcomes.iter().map(|o| (o.id(), o)).collect();
    let now = (target.clock)();
    let crm = target.crm.name();
    let mut page = PageRecord::default();
    for job in jobs {
        let verdict = match by_id.get(job.account_id.as_str()) {
            Some(WriteOutcome::Written { .. }) => {
                page.journal
                    .extend(job.changes.iter().map(|(property, value)| JournalEntry {
                        crm: crm.to_owned(),
                        portal: target.portal.clone(),
                        record_id: job.account_id.clone(),
                        property: property.clone(),
                        value: value.clone(),
                        written_at: now,
                    }));
                report.written += 1;
                Verdict::Written
            }
            Some(WriteOutcome::Failed { error, .. }) => {
                events::write_failed(&job.account_id, error);
                Verdict::Failed(FailKind::Write(error.clone()))
            }
            None => Verdict::Failed(FailKind::NoOutcome),
        };
        page.outcomes.push(AccountOutcome {
            account_id: job.account_id,
            domain: job.domain,
            outcome: verdict.outcome(),
            reason: verdict_reason(&verdict, false),
            detail: Some(job.detail),
        });
        if matches!(verdict, Verdict::Failed(_)) {
            report.failed.push(verdict);
        }
    }
    target.run.page(page).await
}
