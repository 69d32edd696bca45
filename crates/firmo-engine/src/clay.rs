//! Clay's half of a run: the callback receiver that Clay's HTTP API column posts enriched
//! rows to. Rows are stored in the provider cache the moment they arrive (and runs
//! waiting on them are woken); rows that arrive after the run are picked up by the next.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use firmo_clay::receiver::{ClayRowSink, ReceiverConfig};
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
}

#[async_trait]
impl ClayRowSink for CacheSink {
    async fn accept(&self, domain: String, records: Vec<ProviderRecord>) -> Result<(), String> {
        let at = (self.clock)();
        // A row with no records is Clay's "nothing found": cached as a miss.
        let entry = if records.is_empty() {
            LookupEntry::new("clay", domain, at, LookupStatus::Miss)
        } else {
            LookupEntry::hit("clay", domain, at, records)
        };
        self.store
            .call(move |s| s.put_lookup(&entry))
            .await
            .map_err(|e| e.to_string())?;
        self.arrivals.arrived();
        Ok(())
    }
}

/// A running callback receiver.
pub struct ClayReceiver {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ClayReceiver {
    /// Starts the receiver on `addr` (port 0: any free port).
    pub async fn start(
        addr: SocketAddr,
        config: ReceiverConfig,
        store: StoreHandle,
        arrivals: Arc<Arrivals>,
        clock: Clock,
    ) -> std::io::Result<ClayReceiver> {
        let sink = Arc::new(CacheSink {
            store,
            arrivals,
            clock,
        });
        let app = firmo_clay::receiver::router(config, sink);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "Clay callback receiver stopped with an error");
            }
        });
        tracing::info!(%addr, path = firmo_clay::receiver::CALLBACK_PATH, "Clay callback receiver listening");
        Ok(ClayReceiver { addr, stop, task })
    }

    /// The URL to configure on Clay's HTTP API column (when reachable at `addr`).
    pub fn url(&self) -> String {
        format!(
            "http://{}{}",
            self.addr,
            firmo_clay::receiver::CALLBACK_PATH
        )
    }

    /// Stops accepting rows and waits for rows in flight.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Points the sandbox's Clay table at this receiver, as a user would configure the HTTP
/// API column in Clay's UI.
pub async fn register_with_sandbox(
    sandbox_url: &str,
    table: &str,
    callback_url: &str,
    header: &str,
    secret: &str,
) -> Result<(), String> {
    let url = format!(
        "{}/clay/_emulator/tables/{table}",
        sandbox_url.trim_end_matches('/')
    );
    let body = serde_json::json!({
        "callback_url": callback_url,
        "callback_secret_header": header,
        "callback_secret": secret,
    });
    let response = reqwest::Client::new()
        .put(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the sandbox answered HTTP {} to the Clay table setup",
            response.status().as_u16()
        ))
    }
}
