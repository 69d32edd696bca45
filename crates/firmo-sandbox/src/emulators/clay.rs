//! Clay table webhooks and the HTTP API column's callback, under `/clay`.
//!
//! Clay has no synchronous lookup API for most plans. The documented flow, emulated
//! here:
//!
//! 1. `POST /clay/webhooks/{table_id}` with a JSON object (e.g.
//!    `{"domain":"acme.example","account_id":"123"}`) adds a row to the table. When the
//!    table has a webhook token, the request must carry it in `x-clay-webhook-auth`
//!    (401 otherwise). Answers: 200 `{"success":true,"row_id":"…"}`; 400 when the body
//!    is not a JSON object; 404 for an unknown table; 413 over 100 KB.
//! 2. The table's enrichment columns run (here: the synthetic profile of the row's
//!    `domain`, or `website`/`company_domain` when `domain` is absent).
//! 3. After `clay_callback_delay` the "HTTP API column" POSTs the enriched row as JSON to
//!    the table's callback URL, with the table's secret in its configured header.
//!    A failed callback (connection error or non-2xx) is retried `clay_callback_retries`
//!    times, `clay_retry_backoff` apart, as the column's retry setting does. Outcomes are
//!    counted in [`ClayStats`].
//!
//! In Clay the callback is configured in the table's UI; here
//! `PUT /clay/_emulator/tables/{table_id}` with `{"callback_url", "callback_secret_header",
//! "callback_secret", "webhook_token"}` (all optional) creates or updates a table, and
//! `EmulatorSettings::clay_tables` preloads them (by default one table, `sandbox`, with no
//! token and no callback yet). `GET /clay/_emulator/stats` shows the
//! counters. A row for a table without a callback URL is accepted and counted in
//! `rows_without_callback`.
//!
//! # The enriched row
//!
//! The input columns are echoed (so `account_id` comes back), then Clay-style columns:
//!
//! | column | example | notes |
//! |---|---|---|
//! | `domain` | `"acme.example"` | as sent |
//! | `company_name` | `"Acme"` | |
//! | `industry` | `"Software Development"` | LinkedIn's industry wording |
//! | `employee_count` | `180` | Clay's firmographic headcount |
//! | `linkedin_url` | `"https://www.linkedin.com/company/acme"` | |
//! | `linkedin_employee_count` | `176` | LinkedIn members listing the company |
//! | `technologies` | `["Amazon EC2", "React"]` | live technologies only |
//! | `funding_stage` | `"Series B"` | Crunchbase's display label of the latest round (`Seed`, `Pre-Seed`, `Angel`, `Series A`…, `Venture - Series Unknown`, `Debt Financing`, `Private Equity`, `Convertible Note`) |
//! | `last_funding_date` | `"2026-05-01"` | |
//! | `last_funding_amount_usd` | `32000000` | `null` when undisclosed |
//! | `employee_growth_6mo_pct` | `12.5` | percent (LinkedIn) |
//! | `open_engineering_roles` | `7` | (LinkedIn) |
//! | `job_postings_count` | `19` | (LinkedIn) |
//! | `recent_executive_changes` | `[{"name","title","start_date"}]` | newest first (LinkedIn) |
//! | `clay_table_id`, `clay_row_id` | | |
//!
//! A company Clay cannot find (or a row without a usable domain) comes back with every
//! enrichment column `null`. Junk profiles send `employee_count` as `"1,250"`,
//! `last_funding_amount_usd` as `"$12.5M"`, growth as `"12.5%"`, padded industry and
//! odd-cased, duplicated technologies.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use firmo_core::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::EmulatorSettings;
use super::synth::{self, Profile, Provider};

/// The largest webhook body accepted.
const MAX_BODY: usize = 100 * 1024;
/// Header carrying a table's webhook token.
const WEBHOOK_AUTH_HEADER: &str = "x-clay-webhook-auth";

/// A Clay table: its webhook token and its HTTP API column's target.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClayTable {
    pub table_id: String,
    /// Required in `x-clay-webhook-auth` when set.
    pub webhook_token: Option<String>,
    /// Where enriched rows are POSTed; no callback when `None`.
    pub callback_url: Option<String>,
    /// Header the callback carries the secret in.
    pub callback_secret_header: String,
    pub callback_secret: Option<String>,
}

impl ClayTable {
    /// A table with no token and no callback yet.
    pub fn new(table_id: &str) -> ClayTable {
        ClayTable {
            table_id: table_id.to_owned(),
            webhook_token: None,
            callback_url: None,
            callback_secret_header: "x-callback-secret".to_owned(),
            callback_secret: None,
        }
    }
}

impl fmt::Debug for ClayTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("ClayTable")
            .field("table_id", &self.table_id)
            .field("webhook_token", &redact(&self.webhook_token))
            .field("callback_url", &self.callback_url)
            .field("callback_secret_header", &self.callback_secret_header)
            .field("callback_secret", &redact(&self.callback_secret))
            .finish()
    }
}

/// What the Clay emulator has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClayCallbackCounts {
    /// Rows accepted by a webhook.
    pub rows_received: u64,
    /// Rows delivered to the callback (a 2xx answer).
    pub callbacks_sent: u64,
    /// Rows given up on after every retry failed.
    pub callbacks_failed: u64,
    /// Callback requests made, retries included.
    pub attempts: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// Rows accepted for a table with no callback URL.
    pub rows_without_callback: u64,
}

/// Shared, observable Clay counters. Clones share the same counters.
#[derive(Clone)]
pub struct ClayStats(Arc<watch::Sender<ClayCallbackCounts>>);

impl Default for ClayStats {
    fn default() -> Self {
        ClayStats(Arc::new(watch::Sender::new(ClayCallbackCounts::default())))
    }
}

impl fmt::Debug for ClayStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClayStats").field(&self.counts()).finish()
    }
}

impl ClayStats {
    /// The counters now.
    pub fn counts(&self) -> ClayCallbackCounts {
        *self.0.borrow()
    }

    /// A receiver that sees every change.
    pub fn subscribe(&self) -> watch::Receiver<ClayCallbackCounts> {
        self.0.subscribe()
    }

    /// Waits until `done` holds for the counters and returns them.
    pub async fn wait_until(
        &self,
        mut done: impl FnMut(&ClayCallbackCounts) -> bool,
    ) -> ClayCallbackCounts {
        let mut rx = self.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        match rx.wait_for(|c| done(c)).await {
            Ok(c) => *c,
            Err(_) => self.counts(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut ClayCallbackCounts)) {
        self.0.send_modify(f);
    }
}

#[derive(Debug)]
struct ClayState {
    today: Date,
    tables: Mutex<HashMap<String, ClayTable>>,
    delay: Duration,
    retries: u32,
    backoff: Duration,
    stats: ClayStats,
    client: reqwest::Client,
    next_row: AtomicU64,
}

/// The Clay routes (mounted under `/clay`).
pub fn router(settings: &EmulatorSettings) -> Router {
    // The callback URL may be https; reqwest is built without a default provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let tables = settings
        .clay_tables
        .iter()
        .map(|t| (t.table_id.clone(), t.clone()))
        .collect();
    let state = Arc::new(ClayState {
        today: settings.today,
        tables: Mutex::new(tables),
        delay: settings.clay_callback_delay,
        retries: settings.clay_callback_retries,
        backoff: settings.clay_retry_backoff,
        stats: settings.clay_stats.clone(),
        client,
        next_row: AtomicU64::new(1),
    });
    Router::new()
        .route("/webhooks/{table_id}", post(webhook))
        .route("/_emulator/tables/{table_id}", put(configure_table))
        .route("/_emulator/stats", get(stats))
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"success": false, "error": message}))).into_response()
}

async fn webhook(
    State(state): State<Arc<ClayState>>,
    Path(table_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let table = {
        let tables = state.tables.lock().unwrap_or_else(PoisonError::into_inner);
        tables.get(&table_id).cloned()
    };
    let Some(table) = table else {
        return error(StatusCode::NOT_FOUND, "No table with this webhook.");
    };
    if let Some(token) = &table.webhook_token {
        let presented = headers
            .get(WEBHOOK_AUTH_HEADER)
            .and_then(|v| v.to_str().ok());
        if presented != Some(token.as_str()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "Missing or invalid webhook auth token.",
            );
        }
    }
    if body.len() > MAX_BODY {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "Webhook body over 100 KB.");
    }
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "The body must be a JSON object.");
    };
    let row_number = state.next_row.fetch_add(1, Ordering::Relaxed);
    let row_id = format!("r_{row_number:010}");
    state.stats.update(|c| c.rows_received += 1);
    let Some(url) = table.callback_url.clone() else {
        state.stats.update(|c| c.rows_without_callback += 1);
        return (
            StatusCode::OK,
            Json(json!({"success": true, "row_id": row_id})),
        )
            .into_response();
    };
    let mut row = enriched_row(&input, state.today);
    row.insert("clay_table_id".into(), table.table_id.clone().into());
    row.insert("clay_row_id".into(), row_id.clone().into());
    let task_state = Arc::clone(&state);
    tokio::spawn(async move {
        deliver(&task_state, &table, &url, Value::Object(row)).await;
    });
    (
        StatusCode::OK,
        Json(json!({"success": true, "row_id": row_id})),
    )
        .into_response()
}

/// Posts `row` to `url`, retrying as configured, and counts the outcome.
async fn deliver(state: &ClayState, table: &ClayTable, url: &str, row: Value) {
    tokio::time::sleep(state.delay).await;
    for attempt in 0..=state.retries {
        if attempt > 0 {
            tokio::time::sleep(state.backoff).await;
        }
        state.stats.update(|c| {
            c.attempts += 1;
            c.retries += u64::from(attempt > 0);
        });
        let mut req = state.client.post(url).json(&row);
        if let Some(secret) = &table.callback_secret {
            req = req.header(table.callback_secret_header.as_str(), secret.as_str());
        }
        match req.send().await {
            Ok(resp) if resp.status().is_success() => {
                state.stats.update(|c| c.callbacks_sent += 1);
                return;
            }
            Ok(resp) => {
                tracing::debug!(table = %table.table_id, status = %resp.status(), attempt, "clay emulator callback refused");
            }
            Err(e) => {
                tracing::debug!(table = %table.table_id, error = %e, attempt, "clay emulator callback failed");
            }
        }
    }
    state.stats.update(|c| c.callbacks_failed += 1);
}

#[derive(Debug, Deserialize)]
struct TableConfig {
    callback_url: Option<String>,
    callback_secret_header: Option<String>,
    callback_secret: Option<String>,
    webhook_token: Option<String>,
}

async fn configure_table(
    State(state): State<Arc<ClayState>>,
    Path(table_id): Path<String>,
    body: Bytes,
) -> Response {
    let config: TableConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid table config: {e}"),
            );
        }
    };
    if let Some(url) = &config.callback_url
        && reqwest::Url::parse(url).is_err()
    {
        return error(StatusCode::BAD_REQUEST, "callback_url is not a URL.");
    }
    let mut tables = state.tables.lock().unwrap_or_else(PoisonError::into_inner);
    let table = tables
        .entry(table_id.clone())
        .or_insert_with(|| ClayTable::new(&table_id));
    if config.callback_url.is_some() {
        table.callback_url = config.callback_url;
    }
    if let Some(h) = config.callback_secret_header {
        table.callback_secret_header = h;
    }
    if config.callback_secret.is_some() {
        table.callback_secret = config.callback_secret;
    }
    if config.webhook_token.is_some() {
        table.webhook_token = config.webhook_token;
    }
    let shown = json!({
        "table_id": table.table_id,
        "webhook_url_path": format!("/clay/webhooks/{}", table.table_id),
        "callback_url": table.callback_url,
        "callback_secret_header": table.callback_secret_header,
        "has_callback_secret": table.callback_secret.is_some(),
        "has_webhook_token": table.webhook_token.is_some(),
    });
    (StatusCode::OK, Json(shown)).into_response()
}

async fn stats(State(state): State<Arc<ClayState>>) -> Response {
    Json(state.stats.counts()).into_response()
}

/// Crunchbase's display label for an investment type, as Clay columns show it.
fn stage_label(kind: &str) -> String {
    match kind {
        "pre_seed" => "Pre-Seed".to_owned(),
        "angel" => "Angel".to_owned(),
        "seed" => "Seed".to_owned(),
        "series_unknown" => "Venture - Series Unknown".to_owned(),
        "debt_financing" => "Debt Financing".to_owned(),
        "private_equity" => "Private Equity".to_owned(),
        "convertible_note" => "Convertible Note".to_owned(),
        other => match other.strip_prefix("series_") {
            Some(letter) => format!("Series {}", letter.to_uppercase()),
            None => other.replace('_', " "),
        },
    }
}

/// The row Clay would post back for `input` (the webhook body): the input columns and
/// the enrichment columns described in the module docs.
pub fn enriched_row(input: &Map<String, Value>, today: Date) -> Map<String, Value> {
    let mut row = input.clone();
    let domain = ["domain", "website", "company_domain"]
        .iter()
        .find_map(|k| input.get(*k).and_then(Value::as_str))
        .and_then(synth::normalize_domain);
    let profile = domain
        .map(|d| synth::profile(&d, today))
        .filter(|p| p.found_at(Provider::Clay));
    for (k, v) in enrichment_columns(profile.as_ref()) {
        row.insert(k.to_owned(), v);
    }
    row
}

fn enrichment_columns(p: Option<&Profile>) -> Vec<(&'static str, Value)> {
    let Some(p) = p else {
        return [
            "company_name",
            "industry",
            "employee_count",
            "linkedin_url",
            "linkedin_employee_count",
            "technologies",
            "funding_stage",
            "last_funding_date",
            "last_funding_amount_usd",
            "employee_growth_6mo_pct",
            "open_engineering_roles",
            "job_postings_count",
            "recent_executive_changes",
        ]
        .into_iter()
        .map(|k| (k, Value::Null))
        .collect();
    };
    let junk = p.quirks.junk;
    let latest = p.latest_round();
    let mut techs: Vec<String> = p.live_tech_names().into_iter().map(str::to_owned).collect();
    if junk {
        if let Some(first) = techs.first().cloned() {
            techs.push(first.to_lowercase());
        }
        if let Some(last) = techs.last_mut() {
            *last = format!("{} ", last.to_uppercase());
        }
    }
    let headcount = if junk {
        Value::from(thousands(p.headcount))
    } else {
        Value::from(p.headcount)
    };
    let amount = latest.and_then(|r| r.money_raised).map(|m| {
        if junk {
            Value::from(format!("${:.1}M", m.value_usd as f64 / 1e6))
        } else {
            Value::from(m.value_usd)
        }
    });
    let growth = if junk {
        Value::from(format!("{:.1}%", p.linkedin.growth_6mo_pct))
    } else {
        json!(p.linkedin.growth_6mo_pct)
    };
    let industry = if junk {
        format!(" {}  ", p.clay_industry())
    } else {
        p.clay_industry().to_owned()
    };
    let changes: Vec<Value> = p
        .linkedin
        .exec_changes
        .iter()
        .map(|c| json!({"name": c.name, "title": c.title, "start_date": c.start_date.to_string()}))
        .collect();
    let mut columns = vec![
        ("company_name", p.name.clone().into()),
        ("industry", industry.into()),
        ("employee_count", headcount),
        (
            "linkedin_url",
            format!("https://www.linkedin.com/{}", p.linkedin.handle).into(),
        ),
        ("linkedin_employee_count", p.linkedin.employee_count.into()),
        ("technologies", json!(techs)),
        (
            "funding_stage",
            latest.map(|r| stage_label(r.investment_type)).into(),
        ),
        (
            "last_funding_date",
            latest.map(|r| r.announced_on.to_string()).into(),
        ),
        ("last_funding_amount_usd", amount.unwrap_or(Value::Null)),
        ("employee_growth_6mo_pct", growth),
        (
            "open_engineering_roles",
            p.linkedin.open_engineering_roles.into(),
        ),
        ("job_postings_count", p.linkedin.job_postings.into()),
        ("recent_executive_changes", Value::Array(changes)),
    ];
    // Clay's own columns found nothing for a documented share of companies (synth).
    for (column, value) in &mut columns {
        if p.clay_lacks(column) {
            *value = Value::Null;
        }
    }
    columns
}

/// `1250` → `"1,250"`.
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::routing::post;
    use tokio::sync::mpsc;

    use super::super::testutil::{client, fixed_today, serve};
    use super::*;

    /// A callback receiver answering `status` and forwarding each (secret, body).
    async fn receiver(
        status: StatusCode,
    ) -> (SocketAddr, mpsc::UnboundedReceiver<(Option<String>, Value)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, Json(body): Json<Value>| {
                let tx = tx.clone();
                async move {
                    let secret = headers
                        .get("x-firmo-secret")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let _ = tx.send((secret, body));
                    status
                }
            }),
        );
        (serve(app).await, rx)
    }

    fn settings() -> EmulatorSettings {
        EmulatorSettings {
            today: fixed_today(),
            clay_callback_delay: Duration::from_millis(5),
            clay_retry_backoff: Duration::from_millis(5),
            ..EmulatorSettings::default()
        }
    }

    async fn configure(base: &str, table: &str, hook: SocketAddr) {
        let resp = client()
            .put(format!("{base}/_emulator/tables/{table}"))
            .json(&json!({
                "callback_url": format!("http://{hook}/hook"),
                "callback_secret_header": "x-firmo-secret",
                "callback_secret": "s3cret",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let shown: Value = resp.json().await.unwrap();
        assert!(!shown.to_string().contains("s3cret"));
    }

    #[tokio::test]
    async fn webhook_to_callback_round_trip() {
        let s = settings();
        let base = format!("http://{}", serve(router(&s)).await);
        let (hook, mut rx) = receiver(StatusCode::OK).await;
        configure(&base, "t_accounts", hook).await;

        let resp = client()
            .post(format!("{base}/webhooks/t_accounts"))
            .json(&json!({"domain": "complete.example", "account_id": "42"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let ack: Value = resp.json().await.unwrap();
        assert_eq!(ack["success"], true);

        let (secret, row) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(secret.as_deref(), Some("s3cret"));
        let p = synth::profile("complete.example", fixed_today());
        assert_eq!(row["account_id"], "42");
        assert_eq!(row["domain"], "complete.example");
        assert_eq!(row["clay_row_id"], ack["row_id"]);
        assert_eq!(row["company_name"], p.name);
        assert_eq!(row["industry"], p.clay_industry());
        assert_eq!(row["employee_count"], p.headcount);
        assert_eq!(row["linkedin_employee_count"], p.linkedin.employee_count);
        assert_eq!(row["funding_stage"], "Series B");
        let latest = p.latest_round().unwrap();
        assert_eq!(row["last_funding_date"], latest.announced_on.to_string());
        assert_eq!(row["last_funding_amount_usd"], 32_000_000);
        assert_eq!(row["employee_growth_6mo_pct"], 24.0);
        assert!(row["open_engineering_roles"].as_u64().unwrap() >= 12);
        assert!(row["job_postings_count"].as_u64() >= row["open_engineering_roles"].as_u64());
        assert_eq!(row["recent_executive_changes"][0]["title"], "CTO");
        let techs: Vec<&str> = row["technologies"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(techs, p.live_tech_names());

        let counts = s.clay_stats.wait_until(|c| c.callbacks_sent == 1).await;
        assert_eq!(
            (
                counts.rows_received,
                counts.attempts,
                counts.callbacks_failed
            ),
            (1, 1, 0)
        );
    }

    #[tokio::test]
    async fn failed_callbacks_are_retried_then_counted() {
        let s = EmulatorSettings {
            clay_callback_retries: 2,
            ..settings()
        };
        let base = format!("http://{}", serve(router(&s)).await);
        let (hook, mut rx) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
        configure(&base, "t_flaky", hook).await;
        let resp = client()
            .post(format!("{base}/webhooks/t_flaky"))
            .json(&json!({"domain": "acme.example"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let counts = s.clay_stats.wait_until(|c| c.callbacks_failed == 1).await;
        assert_eq!(
            (counts.attempts, counts.retries, counts.callbacks_sent),
            (3, 2, 0)
        );
        let mut seen = 0;
        while rx.try_recv().is_ok() {
            seen += 1;
        }
        assert_eq!(seen, 3, "the receiver saw every attempt");
    }

    #[tokio::test]
    async fn unknown_company_row_has_null_enrichment() {
        let s = settings();
        let base = format!("http://{}", serve(router(&s)).await);
        let (hook, mut rx) = receiver(StatusCode::OK).await;
        configure(&base, "t1", hook).await;
        for domain in ["missing-clay.example", "not a domain"] {
            client()
                .post(format!("{base}/webhooks/t1"))
                .json(&json!({"domain": domain, "account_id": 7}))
                .send()
                .await
                .unwrap();
            let (_, row) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row["account_id"], 7);
            assert!(row["industry"].is_null() && row["employee_count"].is_null());
            assert!(row["recent_executive_changes"].is_null());
        }
    }

    #[tokio::test]
    async fn webhook_errors_and_token() {
        let s = EmulatorSettings {
            clay_tables: vec![ClayTable {
                webhook_token: Some("tok".into()),
                ..ClayTable::new("locked")
            }],
            ..settings()
        };
        let base = format!("http://{}", serve(router(&s)).await);
        let c = client();
        let url = format!("{base}/webhooks/locked");
        let body = json!({"domain": "acme.example"});
        assert_eq!(c.post(&url).json(&body).send().await.unwrap().status(), 401);
        let ok = c
            .post(&url)
            .header(WEBHOOK_AUTH_HEADER, "tok")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let bad = c
            .post(&url)
            .header(WEBHOOK_AUTH_HEADER, "tok")
            .json(&json!([1, 2]))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let big = json!({"domain": "a.example", "pad": "x".repeat(MAX_BODY)});
        let too_big = c
            .post(&url)
            .header(WEBHOOK_AUTH_HEADER, "tok")
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(too_big.status(), 413);
        let missing = c
            .post(format!("{base}/webhooks/nope"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        let counts = s.clay_stats.counts();
        assert_eq!((counts.rows_received, counts.rows_without_callback), (1, 1));
        let shown: Value = c
            .get(format!("{base}/_emulator/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(shown["rows_received"], 1);
    }

    #[test]
    fn junk_rows_need_normalizing() {
        let mut input = Map::new();
        input.insert("domain".into(), "junk.example".into());
        let row = enriched_row(&input, fixed_today());
        let p = synth::profile("junk.example", fixed_today());
        assert_eq!(row["employee_count"], thousands(p.headcount));
        assert!(
            row["employee_growth_6mo_pct"]
                .as_str()
                .unwrap()
                .ends_with('%')
        );
        assert!(row["industry"].as_str().unwrap().starts_with(' '));
        if let Some(r) = p.latest_round().filter(|r| r.money_raised.is_some()) {
            assert!(
                row["last_funding_amount_usd"]
                    .as_str()
                    .unwrap()
                    .starts_with('$'),
                "{r:?}"
            );
        }
        assert_eq!(enriched_row(&input, fixed_today()), row, "deterministic");
    }

    #[test]
    fn formats_thousands_and_labels() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1250), "1,250");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(stage_label("series_unknown"), "Venture - Series Unknown");
        assert_eq!(stage_label("series_c"), "Series C");
    }

    #[test]
    fn table_debug_redacts_secrets() {
        let t = ClayTable {
            callback_secret: Some("s3cret".into()),
            webhook_token: Some("tok".into()),
            ..ClayTable::new("t")
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("tok\""));
    }
}
