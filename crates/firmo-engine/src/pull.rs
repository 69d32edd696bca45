//! Pull: stream the CRM's companies page by page, running ahead of enrichment by a
//! bounded number of pages so memory stays flat however many companies the CRM holds.

use std::sync::Arc;

use firmo_connect::ConnectorError;
use firmo_connect::crm::{Crm, CrmCompany, PullCursor, PullRequest};
use firmo_core::UnixMillis;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How the pull went.
#[derive(Debug, Clone, Copy, Default)]
pub struct PullReport {
    pub calls: u64,
    /// The newest modification time seen (the next incremental cursor).
    pub high_water: Option<UnixMillis>,
    /// Every matching company was pulled.
    pub complete: bool,
}

pub type Page = Result<Vec<CrmCompany>, ConnectorError>;

/// Starts pulling; pages arrive on the receiver, at most `ahead` of them unconsumed.
pub fn spawn(
    crm: Arc<dyn Crm>,
    request: PullRequest,
    limit: Option<usize>,
    ahead: usize,
) -> (mpsc::Receiver<Page>, JoinHandle<PullReport>) {
    let (pages, rx) = mpsc::channel::<Page>(ahead.max(1));
    let task = tokio::spawn(async move {
        let mut report = PullReport::default();
        let mut cursor: Option<PullCursor> = None;
        let mut pulled = 0usize;
        loop {
            let page = crm.pull(&request, cursor.as_ref()).await;
            report.calls += 1;
            let mut page = match page {
                Ok(page) => page,
                Err(e) => {
                    let _ = pages.send(Err(e)).await;
                    return report;
                }
            };
            if let Some(max) = limit {
                page.companies.truncate(max.saturating_sub(pulled));
            }
            pulled += page.companies.len();
            report.high_water = report.high_water.max(page.high_water);
            let done = page.next.is_none() || limit.is_some_and(|max| pulled >= max);
            if pages.send(Ok(page.companies)).await.is_err() {
                return report;
            }
            if done {
                report.complete = true;
                return report;
            }
            cursor = page.next;
        }
    });
    (rx, task)
}
