//! The callback receiver: the endpoint Clay's "HTTP API" column POSTs enriched rows to.
//!
//! `POST {CALLBACK_PATH}` with a JSON object (one row) or an array of rows, and the
//! shared secret in the configured header (default `x-firmo-secret`; set the same header
//! and value on the Clay column). Answers:
//! - 200 `{"accepted": n, "domains": […]}`: every row was parsed and handed to the sink;
//! - 401: the secret is missing or wrong (compared in constant time);
//! - 400 `{"error": "…"}`: not JSON, not an object/array, or a row without a usable
//!   domain (the message names the row and the column);
//! - 413: the body is over the size limit;
//! - 422 `{"error": "…", "unsolicited": […]}`: a row for a domain firmo has no
//!   outstanding push for (an authenticated caller replaying or inventing rows must not
//!   plant data in the cache). The other rows of a batch are stored; the refused ones
//!   are logged. 422 and not 5xx: sending the same row again will not help.
//! - 500: the sink could not store a row (Clay's column retries failed requests).
//!
//! [`ClayReceiver`] runs the router on its own listener for the length of a run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use firmo_connect::Secret;
use firmo_core::{ProviderRecord, UnixMillis};
use serde_json::{Value as Json, json};

use crate::parse::parse_row;

/// Where the receiver listens, relative to the server it is mounted in.
pub const CALLBACK_PATH: &str = "/clay/rows";
/// The header the shared secret travels in unless configured otherwise.
pub const DEFAULT_SECRET_HEADER: &str = "x-firmo-secret";
/// The default body limit: a Clay row is a few KB; 1 MiB leaves room for batches.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How the receiver authenticates and bounds requests.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// The shared secret Clay's column sends.
    pub secret: Secret,
    /// The header it is sent in (case-insensitive).
    pub header: String,
    /// Bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
}

impl ReceiverConfig {
    /// A config with the default header and body limit.
    pub fn new(secret: Secret) -> ReceiverConfig {
        ReceiverConfig {
            secret,
            header: DEFAULT_SECRET_HEADER.to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// What a sink did with an offered row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// The row answered an outstanding push and is stored.
    Stored,
    /// No push for this domain is outstanding: the row was not stored.
    Unsolicited,
}

/// Where arriving rows go (the engine stores them in the provider cache). An empty
/// `records` list means Clay found nothing for the company: cache it as not found.
#[async_trait]
pub trait ClayRowSink: Send + Sync {
    /// Stores one row's records; an error makes the receiver answer 500.
    async fn accept(&self, domain: String, records: Vec<ProviderRecord>) -> Result<(), String>;

    /// Offers one row: a sink that knows which pushes are outstanding stores a row that
    /// answers one ([`Accept::Stored`]) and refuses any other ([`Accept::Unsolicited`],
    /// answered 422). The receiver calls only this. The default stores every row through
    /// [`ClayRowSink::accept`], for sinks that track no pushes; it goes once the engine's
    /// sink implements `offer` itself.
    async fn offer(&self, domain: String, records: Vec<ProviderRecord>) -> Result<Accept, String> {
        self.accept(domain, records).await.map(|()| Accept::Stored)
    }
}

struct Receiver {
    config: ReceiverConfig,
    sink: Arc<dyn ClayRowSink>,
}

/// The receiver's routes, to mount in a server (`POST` [`CALLBACK_PATH`]).
pub fn router(config: ReceiverConfig, sink: Arc<dyn ClayRowSink>) -> Router {
    let limit = config.max_body_bytes;
    Router::new()
        .route(CALLBACK_PATH, post(receive))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(Arc::new(Receiver { config, sink }))
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = receiver.config.secret.expose().as_bytes();
    let presented = headers
        .get(receiver.config.header.as_str())
        .map(axum::http::HeaderValue::as_bytes);
    // An empty configured secret authenticates nobody.
    if expected.is_empty() || !presented.is_some_and(|p| constant_time_eq(p, expected)) {
        tracing::warn!(
            provider = "clay",
            header = receiver.config.header,
            "refused a callback without the shared secret"
        );
        return error(StatusCode::UNAUTHORIZED, "missing or wrong shared secret");
    }
    let rows = match serde_json::from_slice::<Json>(&body) {
        Ok(Json::Object(row)) => vec![row],
        Ok(Json::Array(items)) => {
            let mut rows = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Json::Object(row) => rows.push(row),
                    other => {
                        let got = firmo_core::value::describe_json(&other);
                        return error(
                            StatusCode::BAD_REQUEST,
                            &format!("row {i}: expected an object, got {got}"),
                        );
                    }
                }
            }
            rows
        }
        Ok(other) => {
            let got = firmo_core::value::describe_json(&other);
            return error(
                StatusCode::BAD_REQUEST,
                &format!("expected a row object or an array of rows, got {got}"),
            );
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
            );
        }
    };
    let fetched_at = now();
    // Parse every row before storing any, so a bad batch stores nothing and Clay's retry
    // of a fixed batch doesn't store rows twice.
    let mut parsed = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        match parse_row(row, fetched_at) {
            Ok(row) => parsed.push(row),
            Err(e) if rows.len() == 1 => return error(StatusCode::BAD_REQUEST, &e.to_string()),
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("row {i}: {e}")),
        }
    }
    let mut domains = Vec::with_capacity(parsed.len());
    let mut unsolicited = Vec::new();
    for row in parsed {
        tracing::info!(
            provider = "clay",
            domain = row.domain,
            records = row.records.len(),
            "Clay row arrived"
        );
        match receiver.sink.offer(row.domain.clone(), row.records).await {
            Ok(Accept::Stored) => domains.push(row.domain),
            Ok(Accept::Unsolicited) => {
                tracing::warn!(
                    provider = "clay",
                    domain = row.domain,
                    "refused a Clay row for a domain with no outstanding push"
                );
                unsolicited.push(row.domain);
            }
            Err(e) => {
                tracing::error!(
                    provider = "clay",
                    domain = row.domain,
                    "could not store a Clay row: {e}"
                );
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "could not store the row; retry later",
                );
            }
        }
    }
    if !unsolicited.is_empty() {
        let message = format!(
            "{} row(s) for domains firmo did not push to Clay were refused ({} stored)",
            unsolicited.len(),
            domains.len()
        );
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": message,
                "unsolicited": unsolicited,
                "accepted": domains.len(),
                "domains": domains,
            })),
        )
            .into_response();
    }
    (
        StatusCode::OK,
        axum::Json(json!({"accepted": domains.len(), "domains": domains})),
    )
        .into_response()
}

/// A running callback receiver: [`router`] served on its own listener until
/// [`ClayReceiver::stop`].
#[derive(Debug)]
pub struct ClayReceiver {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ClayReceiver {
    /// Binds `addr` (port 0: any free port) and serves the receiver for `sink` there.
    pub async fn start(
        addr: SocketAddr,
        config: ReceiverConfig,
        sink: Arc<dyn ClayRowSink>,
    ) -> std::io::Result<ClayReceiver> {
        let app = router(config, sink);
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
        tracing::info!(%addr, path = CALLBACK_PATH, "Clay callback receiver listening");
        Ok(ClayReceiver { addr, stop, task })
    }

    /// The address it listens on (the bound port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to configure on Clay's HTTP API column (when reachable at `addr`).
    pub fn url(&self) -> String {
        format!("http://{}{CALLBACK_PATH}", self.addr)
    }

    /// Stops accepting rows and waits for rows in flight to be stored.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

/// Equal bytes, in time independent of where they differ (only the length leaks).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0_u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}

fn now() -> UnixMillis {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixMillis(millis)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A sink that knows which domains were pushed, as the engine's does.
    #[derive(Default)]
    struct Outstanding {
        pushed: Mutex<Vec<String>>,
        stored: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl ClayRowSink for Outstanding {
        async fn accept(&self, domain: String, _: Vec<ProviderRecord>) -> Result<(), String> {
            self.stored.lock().unwrap().push(domain);
            Ok(())
        }

        async fn offer(
            &self,
            domain: String,
            records: Vec<ProviderRecord>,
        ) -> Result<Accept, String> {
            let expected = {
                let mut pushed = self.pushed.lock().unwrap();
                let found = pushed.iter().position(|d| *d == domain);
                found.map(|i| pushed.remove(i))
            };
            match expected {
                Some(_) => self.accept(domain, records).await.map(|()| Accept::Stored),
                None => Ok(Accept::Unsolicited),
            }
        }
    }

    async fn started(sink: Arc<Outstanding>) -> ClayReceiver {
        let config = ReceiverConfig::new(Secret::new("s3cret".to_owned()));
        ClayReceiver::start("127.0.0.1:0".parse().unwrap(), config, sink)
            .await
            .unwrap()
    }

    async fn post(receiver: &ClayReceiver, body: &Json) -> (u16, Json) {
        firmo_connect::http::install_crypto_provider();
        let response = reqwest::Client::new()
            .post(receiver.url())
            .header(DEFAULT_SECRET_HEADER, "s3cret")
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Finding 11: an authenticated row for a domain nobody asked about is refused.
    #[tokio::test]
    async fn rows_without_an_outstanding_push_are_refused_with_422_and_not_stored() {
        let sink = Arc::new(Outstanding::default());
        sink.pushed.lock().unwrap().push("acme.com".to_owned());
        let receiver = started(Arc::clone(&sink)).await;
        assert!(receiver.url().starts_with("http://127.0.0.1:"));
        assert!(receiver.url().ends_with(CALLBACK_PATH));

        let row = |domain: &str| json!({"domain": domain, "employee count": 120});
        let (status, body) = post(&receiver, &row("evil.example")).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["unsolicited"], json!(["evil.example"]));
        assert!(sink.stored.lock().unwrap().is_empty());

        // A batch: the solicited row is stored, the other refused, and the answer says so.
        let (status, body) = post(&receiver, &json!([row("acme.com"), row("other.io")])).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["unsolicited"], json!(["other.io"]));
        assert_eq!(body["domains"], json!(["acme.com"]));
        assert_eq!(*sink.stored.lock().unwrap(), ["acme.com"]);

        // The push was answered: the same row again is unsolicited now.
        let (status, _) = post(&receiver, &row("acme.com")).await;
        assert_eq!(status, 422);
        receiver.stop().await;
    }

    #[tokio::test]
    async fn solicited_rows_are_stored_and_a_stopped_receiver_no_longer_listens() {
        let sink = Arc::new(Outstanding::default());
        sink.pushed.lock().unwrap().push("acme.com".to_owned());
        let receiver = started(Arc::clone(&sink)).await;
        let addr = receiver.addr();
        let (status, body) = post(
            &receiver,
            &json!({"domain": "acme.com", "industry": "Retail"}),
        )
        .await;
        assert_eq!(
            (status, body["accepted"].clone()),
            (200, json!(1)),
            "{body}"
        );
        assert_eq!(*sink.stored.lock().unwrap(), ["acme.com"]);
        receiver.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    /// A sink that tracks no pushes keeps today's behaviour through the default `offer`.
    #[tokio::test]
    async fn the_default_offer_stores_through_accept() {
        struct All(Mutex<u32>);
        #[async_trait]
        impl ClayRowSink for All {
            async fn accept(&self, _: String, _: Vec<ProviderRecord>) -> Result<(), String> {
                *self.0.lock().unwrap() += 1;
                Ok(())
            }
        }
        let sink = All(Mutex::new(0));
        let got = sink.offer("a.com".to_owned(), Vec::new()).await;
        assert_eq!((got, *sink.0.lock().unwrap()), (Ok(Accept::Stored), 1));
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(constant_time_eq(b"", b""));
    }
}
