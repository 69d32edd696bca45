//! Person answers: the cache key of a person, what is being pushed right now, what came
//! back during this run, and the receiver's sink that stores each arriving row before
//! anyone uses it (so a crash never pays for a person twice).
//!
//! The cache is the company one: entries under the person provider's name (its ledger
//! and monthly limit are the provider's), keyed `person:<PersonQuery::key>` so a person
//! never collides with a domain. The cache records *that* a person was answered, when,
//! and what it cost; what was found is written to firmo's contact properties, which is
//! where a later run reads it back (see [`super::properties::from_crm`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use firmo_clay::person::{ClayPersonSink, PersonRow};
use firmo_clay::receiver::Accept;
use firmo_connect::PersonOutcome;
use firmo_core::UnixMillis;
use firmo_store::{LookupEntry, LookupStatus};
use tokio::sync::Notify;

use crate::Clock;
use crate::run::lock;
use crate::state::StoreHandle;

/// The cache key of a person ([`firmo_connect::PersonQuery::key`]).
pub(crate) fn cache_key(person_key: &str) -> String {
    format!("person:{person_key}")
}

/// Pushes on their way out and answers that came back during this run, shared by the
/// pages and the receiver.
#[derive(Debug, Default)]
pub struct Arrivals {
    pushing: Mutex<HashSet<String>>,
    arrived: Mutex<HashMap<String, PersonOutcome>>,
    notify: Notify,
}

impl Arrivals {
    pub(crate) fn set_pushing(&self, key: &str, on: bool) {
        let mut pushing = lock(&self.pushing);
        if on {
            pushing.insert(key.to_owned());
        } else {
            pushing.remove(key);
        }
    }

    fn is_pushing(&self, key: &str) -> bool {
        lock(&self.pushing).contains(key)
    }

    /// The answer that arrived for `key` this run, if one did.
    pub(crate) fn take(&self, key: &str) -> Option<PersonOutcome> {
        lock(&self.arrived).get(key).cloned()
    }

    fn arrive(&self, key: String, outcome: PersonOutcome) {
        lock(&self.arrived).insert(key, outcome);
        self.notify.notify_waiters();
    }

    /// Resolves when every key of `keys` has an answer, or at `deadline`.
    pub(crate) async fn wait_for(&self, keys: &[String], deadline: tokio::time::Instant) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so an arrival in between is not missed.
            notified.as_mut().enable();
            if keys.iter().all(|k| lock(&self.arrived).contains_key(k)) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

/// Stores arriving person rows in the cache and hands them to the waiting pages.
pub(crate) struct CacheSink {
    pub store: StoreHandle,
    pub arrivals: Arc<Arrivals>,
    pub clock: Clock,
    pub provider: &'static str,
}

/// The cache entry an answer becomes (unpaid: the push was charged).
pub(crate) fn answer_entry(
    provider: &str,
    key: &str,
    at: UnixMillis,
    outcome: &PersonOutcome,
) -> LookupEntry {
    let status = match outcome {
        PersonOutcome::Found(_) => LookupStatus::Hit,
        PersonOutcome::NotFound => LookupStatus::Miss,
        PersonOutcome::Pending { .. } => LookupStatus::Pending,
    };
    LookupEntry::new(provider, cache_key(key), at, status)
}

#[async_trait]
impl ClayPersonSink for CacheSink {
    /// Stores a row only when a push for its person is outstanding: being pushed right
    /// now (its pending entry may not be stored yet) or pending in the cache.
    async fn offer(&self, row: PersonRow) -> Result<Accept, String> {
        let pushing = self.arrivals.is_pushing(&row.key);
        let entry = answer_entry(self.provider, &row.key, (self.clock)(), &row.outcome);
        let stored = self
            .store
            .call(move |s| {
                let pending = s
                    .get_lookup(&entry.provider, &entry.key)?
                    .is_some_and(|e| e.status == LookupStatus::Pending);
                if !(pushing || pending) {
                    return Ok(false);
                }
                s.put_lookup(&entry)?;
                Ok(true)
            })
            .await
            .map_err(|e| e.to_string())?;
        if !stored {
            return Ok(Accept::Unsolicited);
        }
        self.arrivals.arrive(row.key, row.outcome);
        Ok(Accept::Stored)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_wait_ends_when_every_key_arrived_or_at_the_deadline() {
        let arrivals = Arc::new(Arrivals::default());
        let keys = vec!["a".to_owned(), "b".to_owned()];
        let far = tokio::time::Instant::now() + Duration::from_mins(1);
        let waiting = {
            let arrivals = Arc::clone(&arrivals);
            let keys = keys.clone();
            tokio::spawn(async move { arrivals.wait_for(&keys, far).await })
        };
        arrivals.arrive("a".into(), PersonOutcome::NotFound);
        arrivals.arrive("b".into(), PersonOutcome::NotFound);
        waiting.await.unwrap();
        assert_eq!(arrivals.take("b"), Some(PersonOutcome::NotFound));
        // Nothing arrives for `c`: the deadline ends the wait.
        let soon = tokio::time::Instant::now() + Duration::from_millis(20);
        arrivals.wait_for(&["c".to_owned()], soon).await;
        assert_eq!(arrivals.take("c"), None);
    }
}
