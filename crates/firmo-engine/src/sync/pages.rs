//! The pass: pages pulled ahead, enriched several at once and handed to the pass as each
//! finishes, their writes trailing behind in batches.

use std::sync::Arc;

use firmo_connect::ConnectorError;
use firmo_connect::crm::PullRequest;
use futures_util::StreamExt as _;

use super::{Opened, Progress};
use crate::contacts::ContactStage;
use crate::pass::{Pass, PassContext};
use crate::pull::{self, PullReport};
use crate::state::StateError;
use crate::write::{self, WriteTarget};

/// Pages pulled ahead of enrichment.
const PULL_AHEAD: usize = 8;

/// Pages enriched at once. Enough to hide one page's provider round trips and Clay's
/// callback behind the others; each holds at most 100 accounts. 24 was no faster at
/// 100,000 accounts (`firmo-bench --only lifted`) and held up to 25 MiB more.
const PAGES_IN_FLIGHT: usize = 16;

/// What the pass left for the summary.
pub(super) struct Passed {
    pub(super) pass: Pass,
    /// Why the pass or its writes stopped early.
    pub(super) error: Option<String>,
    pub(super) crm_calls: u64,
    pub(super) pulled: PullReport,
}

impl Opened<'_> {
    /// Pulls, enriches and (unless a dry run) writes every page, then waits for the pull
    /// and write stages to end.
    pub(super) async fn pass(
        &self,
        request: PullRequest,
        contacts: Option<&ContactStage>,
        progress: &dyn Progress,
    ) -> Passed {
        let (crm, limit) = (Arc::clone(&self.crm), self.options.limit);
        let (pages, puller) = pull::spawn(crm, request, limit, PULL_AHEAD);
        let target = (!self.options.dry_run).then(|| WriteTarget {
            crm: Arc::clone(&self.crm),
            run: self.record.clone(),
            portal: self.portal.clone(),
            clock: Arc::clone(&self.enricher.clock),
        });
        let (jobs, writer) = target.map(write::spawn).unzip();
        let ctx = PassContext {
            config: self.config,
            crm: self.crm.as_ref(),
            portal: &self.portal,
            live: &self.setup.live,
            enricher: self.enricher,
            run: &self.state,
            record: &self.record,
            dry_run: self.options.dry_run,
        };
        let mut pass = Pass::default();
        let stopped = consume(&ctx, pages, jobs, contacts, &mut pass, progress).await;
        let written = match writer {
            Some(task) => Some(task.await.unwrap_or(Err(StateError::Gone))),
            None => None,
        };
        let pulled = puller.await.unwrap_or_default();
        let mut error = stopped.err().map(|e| e.to_string());
        // The one call before setup: reading the portal.
        let mut crm_calls = 1 + self.setup.calls + pulled.calls;
        match &written {
            Some(Ok(w)) => {
                crm_calls += w.calls;
                pass.absorb_writes(w);
            }
            Some(Err(e)) => error = error.or_else(|| Some(e.to_string())),
            None => {}
        }
        Passed {
            pass,
            error,
            crm_calls,
            pulled,
        }
    }
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
