//! Other runs on the same provider cache (fleet portals synced side by side on one
//! PostgreSQL state). In-run claims (`plan.rs`) keep a run's pages from asking twice;
//! leases in the store keep runs from it: before asking, a run leases the keys it is
//! about to pay for, and a key another live run holds is waited for instead, then read
//! from the cache once that run has stored its answer.

use std::collections::BTreeMap;
use std::time::Duration;

use firmo_core::UnixMillis;
use firmo_store::RunId;

use crate::fetch::ProviderHandle;
use crate::run::RunState;
use crate::state::{StateError, StoreHandle};

/// How long a lease holds without its answer: longer than any one lookup takes with
/// its retries and pacing. On PostgreSQL a holder that dies frees its keys at once (the
/// lease dies with its connection); the expiry only bounds a holder that hangs.
pub(crate) const LEASE_TTL: Duration = Duration::from_mins(10);

/// How often a run waiting on another's lookups looks again: first soon (most lookups
/// take well under a second), then no more than every two seconds.
const FIRST_LOOK: Duration = Duration::from_millis(100);
const LAST_LOOK: Duration = Duration::from_secs(2);

/// Leases the keys of `to_ask` (provider index → domain and credits) for run `id`, and
/// takes out of it, returned as they were, the keys another live run is asking about and
/// those answered since they were planned (`seen`: the `fetched_at` of the cached answer
/// each was planned from).
pub(crate) async fn lease(
    store: &StoreHandle,
    providers: &[ProviderHandle],
    run: &RunState,
    id: RunId,
    to_ask: &mut BTreeMap<usize, Vec<(String, f64)>>,
    seen: &dyn Fn(usize, &str) -> Option<UnixMillis>,
) -> Result<Vec<(usize, String, f64)>, StateError> {
    let mut held = Vec::new();
    for (&pi, wanted) in to_ask.iter_mut() {
        let name = providers[pi].name;
        let keys: Vec<(String, Option<UnixMillis>)> = wanted
            .iter()
            .map(|(d, _)| (d.clone(), seen(pi, d)))
            .collect();
        let now = (run.clock)();
        let granted: std::collections::HashSet<String> = store
            .call(move |s| s.lease_lookups(name, &keys, id, now, LEASE_TTL))
            .await?
            .into_iter()
            .collect();
        tracing::debug!(
            provider = name,
            asked = wanted.len(),
            granted = granted.len(),
            "leased lookups"
        );
        if granted.len() == wanted.len() {
            continue;
        }
        wanted.retain(|(domain, credits)| {
            let mine = granted.contains(domain);
            if !mine {
                held.push((pi, domain.clone(), *credits));
            }
            mine
        });
    }
    to_ask.retain(|_, wanted| !wanted.is_empty());
    Ok(held)
}

/// Waits until no other live run holds a lease on `keys` (provider index, domain): their
/// answers are then in the cache, or their holder gave up. Returns the keys still held
/// when `patience` ran out.
pub(crate) async fn wait_for_peers(
    store: &StoreHandle,
    providers: &[ProviderHandle],
    run: &RunState,
    id: RunId,
    keys: Vec<(usize, String)>,
    patience: Duration,
) -> Result<Vec<(usize, String)>, StateError> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut pause = FIRST_LOOK;
    let mut held = keys;
    loop {
        let mut by_provider: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (pi, domain) in &held {
            by_provider.entry(*pi).or_default().push(domain.clone());
        }
        let names: Vec<(usize, &'static str, Vec<String>)> = by_provider
            .into_iter()
            .map(|(pi, domains)| (pi, providers[pi].name, domains))
            .collect();
        let now = (run.clock)();
        held = store
            .call(move |s| {
                let mut still = Vec::new();
                for (pi, name, domains) in &names {
                    let busy = s.leased_elsewhere(name, domains, id, now)?;
                    still.extend(busy.into_iter().map(|d| (*pi, d)));
                }
                Ok(still)
            })
            .await?;
        if held.is_empty() || tokio::time::Instant::now() + pause > deadline {
            return Ok(held);
        }
        // Polling, because the other run is another process: the store is all the two
        // share (PostgreSQL's LISTEN would save the polls, not the wait).
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LAST_LOOK);
    }
}
