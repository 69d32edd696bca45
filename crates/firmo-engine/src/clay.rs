//! Clay's half of a run: the callback receiver that Clay's HTTP API column posts enriched
//! rows to. Rows are stored in the provider cache the moment they arrive (and runs
//! waiting on them are woken); rows that arrive after the run are picked up by the next.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use firmo_clay::receiver::{Accept, ClayReceiver, ClayRowSink, ReceiverConfig};
use firmo_core::ProviderRecord;
use firmo_store::{LookupEntry, LookupStatus};

use crate::Clock;
use crate::fetch::Arrivals;
use crate::state::StoreHandle;

/// Stores arriving rows in the cache (through the store thread, so a row and a page's
/// pending entry for the same domain never interleave) and wakes the pages waiting.
struct CacheSink {
    store: StoreHandle,
    arrivals: Arc<Arrivals>,
    clock: Clock,
    provider: &'static str,
}

impl CacheSink {
    fn entry(&self, domain: String, records: Vec<ProviderRecord>) -> LookupEntry {
        let at = (self.clock)();
        // A row with no records is Clay's "nothing found": cached as a miss.
        if records.is_empty() {
            LookupEntry::new(self.provider, domain, at, LookupStatus::Miss)
        } else {
            LookupEntry::hit(self.provider, domain, at, records)
        }
    }
}

#[async_trait]
impl ClayRowSink for CacheSink {
    async fn accept(&self, domain: String, records: Vec<ProviderRecord>) -> Result<(), String> {
        let entry = self.entry(domain.clone(), records);
        self.store
            .call(move |s| s.put_lookup(&entry))
            .await
            .map_err(|e| e.to_string())?;
        self.arrivals.arrived(self.provider, &domain);
        Ok(())
    }

    /// Stores a row only when a push for its domain is outstanding: being pushed right now
    /// (its pending entry may not be stored yet), or pending in the cache (pushed by this
    /// run or an earlier one). Every moment of a push is covered by one or the other: the
    /// in-flight mark is cleared only after the pending entry is stored.
    async fn offer(&self, domain: String, records: Vec<ProviderRecord>) -> Result<Accept, String> {
        let pushing = self.arrivals.is_pushing(self.provider, &domain);
        let entry = self.entry(domain.clone(), records);
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
        self.arrivals.arrived(self.provider, &domain);
        Ok(Accept::Stored)
    }
}

/// Starts Clay's callback receiver (the Clay crate's server) on `addr`, storing rows for
/// provider `provider` through the store thread.
pub async fn start_receiver(
    addr: SocketAddr,
    config: ReceiverConfig,
    store: StoreHandle,
    arrivals: Arc<Arrivals>,
    clock: Clock,
    provider: &'static str,
) -> std::io::Result<ClayReceiver> {
    let sink = Arc::new(CacheSink {
        store,
        arrivals,
        clock,
        provider,
    });
    ClayReceiver::start(addr, config, sink).await
}

/// Registers a callback receiver at a stand-in's `setup` URL ([`Endpoint::callback_setup`];
/// `what` names the table in errors): the table calls back to `callback_url` with
/// `secret` in `header`, as a user configures the HTTP API column in Clay's UI.
///
/// [`Endpoint::callback_setup`]: crate::providers::Endpoint::callback_setup
pub async fn register_receiver(
    setup: &str,
    what: &str,
    callback_url: &str,
    header: &str,
    secret: &str,
) -> Result<(), String> {
    let body = serde_json::json!({
        "callback_url": callback_url,
        "callback_secret_header": header,
        "callback_secret": secret,
    });
    let response = reqwest::Client::new()
        .put(setup)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the {what} setup answered HTTP {}",
            response.status().as_u16()
        ))
    }
}
