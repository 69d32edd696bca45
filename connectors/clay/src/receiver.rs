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
//! - 500: the sink could not store a row (Clay's column retries failed requests).

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

/// Where arriving rows go (the engine stores them in the provider cache). An empty
/// `records` list means Clay found nothing for the company: cache it as not found.
#[async_trait]
pub trait ClayRowSink: Send + Sync {
    /// Stores one row's records; an error makes the receiver answer 500.
    async fn accept(&self, domain: String, records: Vec<ProviderRecord>) -> Result<(), String>;
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
    for row in parsed {
        tracing::info!(
            provider = "clay",
            domain = row.domain,
            records = row.records.len(),
            "Clay row arrived"
        );
        if let Err(e) = receiver.sink.accept(row.domain.clone(), row.records).await {
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
        domains.push(row.domain);
    }
    (
        StatusCode::OK,
        axum::Json(json!({"accepted": domains.len(), "domains": domains})),
    )
        .into_response()
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
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(constant_time_eq(b"", b""));
    }
}
