//! Clay person enrichment: a [`PersonProvider`] over a Clay *people* table, and the
//! callback receiver its rows come back through.
//!
//! What Clay documents: there is no synchronous person API outside the Enterprise plan
//! ("Does Clay have an API? … mostly no", university.clay.com "Using Clay as an API";
//! the Enterprise API's "basic people and company data" is not public). People go in as
//! company rows do: every table has a webhook URL that takes a JSON object per row; the
//! table's "Enrich Person" column (name, title, org) and "LinkedIn Profile" column (the
//! profile URL) run; an "HTTP API" column POSTs the enriched row to a URL of the user's
//! (Clay's "Clay API for New User Enrichment" template, val.town). Seniority and start
//! date in role are the person-enrichment providers' columns the table maps in.
//!
//! So this is the company flow with a person key, not a new mechanism: a lookup pushes
//! `{"contact_id", "firmo_key", "email", "first_name", "last_name", "company_domain",
//! "linkedin_url"}` (empty ones left out) and answers [`PersonOutcome::Pending`]; the row
//! returns to [`PEOPLE_CALLBACK_PATH`] with the input echoed and the columns
//! `job_title`, `linkedin_url`, `seniority`, `role_start_date`. It is a separate trait
//! from [`Provider`](firmo_connect::Provider) because the key and the answer differ
//! (see [`firmo_connect::person`]); the outcomes mean the same.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use firmo_connect::http::{HttpClient, HttpPolicy};
use firmo_connect::{ConnectorError, PersonOutcome, PersonProvider, PersonQuery, Secret};
use firmo_core::contact::{Contact, ContactField};
use firmo_core::normalize;
use firmo_core::value::Value;
use serde_json::{Map, Value as Json, json};

use crate::client::Webhook;
use crate::config::ClayConfig;
use crate::receiver::{Accept, ReceiverConfig};

/// Where person rows come back, beside the company rows' [`crate::receiver::CALLBACK_PATH`].
pub const PEOPLE_CALLBACK_PATH: &str = "/clay/people/rows";

/// Pushes people into a Clay people table. `config.webhook_url` is the *people*
/// table's webhook (each table has its own).
#[derive(Debug)]
pub struct ClayPeopleClient {
    config: ClayConfig,
    webhook: Webhook,
}

impl ClayPeopleClient {
    /// A client with the webhook token (if any) read from `api_key_env`.
    pub fn from_env(config: ClayConfig) -> Result<ClayPeopleClient, ConnectorError> {
        let token = config.webhook_token();
        ClayPeopleClient::new(config, token)
    }

    /// A client with the HTTP policy the config implies.
    pub fn new(
        config: ClayConfig,
        token: Option<Secret>,
    ) -> Result<ClayPeopleClient, ConnectorError> {
        let policy = Webhook::policy(&config);
        ClayPeopleClient::with_policy(config, token, policy)
    }

    /// A client with an explicit HTTP policy (tests shorten backoffs and timeouts).
    pub fn with_policy(
        config: ClayConfig,
        token: Option<Secret>,
        policy: HttpPolicy,
    ) -> Result<ClayPeopleClient, ConnectorError> {
        let webhook = Webhook::new(
            &config,
            token,
            policy,
            "contacts.people_webhook_url",
            "the people table's",
        )?;
        Ok(ClayPeopleClient { config, webhook })
    }

    /// The shared client's counters.
    pub fn http(&self) -> &HttpClient {
        self.webhook.http()
    }

    /// POSTs one person to the people table's webhook.
    pub async fn push(&self, query: &PersonQuery) -> Result<(), ConnectorError> {
        self.webhook.post(&push_body(query)).await?;
        pushed(query);
        Ok(())
    }

    /// Forgets that `key` ([`PersonQuery::key`]) was pushed (its row arrived).
    pub fn row_arrived(&self, key: &str) {
        self.webhook.row_arrived(key);
    }
}

fn pushed(query: &PersonQuery) {
    // The contact id only: emails are personal data and stay out of logs.
    tracing::info!(
        provider = "clay",
        contact_id = query.contact_id,
        "person pushed to the Clay people table; awaiting its callback"
    );
}

fn push_body(query: &PersonQuery) -> Json {
    let mut body = Map::new();
    body.insert("contact_id".into(), json!(query.contact_id));
    body.insert("firmo_key".into(), json!(query.key()));
    let fields = [
        ("email", &query.email),
        ("first_name", &query.first_name),
        ("last_name", &query.last_name),
        ("company_domain", &query.company_domain),
        ("linkedin_url", &query.linkedin_url),
    ];
    for (key, value) in fields {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            body.insert(key.into(), json!(v));
        }
    }
    Json::Object(body)
}

#[async_trait]
impl PersonProvider for ClayPeopleClient {
    fn name(&self) -> &'static str {
        crate::NAME
    }

    fn cost_per_lookup(&self) -> f64 {
        self.config.cost_per_lookup
    }

    fn answers_by_push(&self) -> bool {
        true
    }

    async fn lookup_person(&self, query: &PersonQuery) -> Result<PersonOutcome, ConnectorError> {
        let done = self
            .webhook
            .push_once(&query.key(), &push_body(query))
            .await?;
        if done.charged {
            pushed(query);
        }
        Ok(PersonOutcome::Pending {
            retry_after: Some(done.retry_after),
            // The table's columns run (and bill) as soon as the row lands.
            charged: done.charged,
        })
    }
}

/// One person row as it came back.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRow {
    pub contact_id: String,
    /// The [`PersonQuery::key`] it answers (echoed `firmo_key`, else rebuilt from the
    /// echoed email or the contact id).
    pub key: String,
    /// [`PersonOutcome::Found`] with the canonical values, or `NotFound` when Clay filled
    /// no column.
    pub outcome: PersonOutcome,
    /// Values Clay sent that firmo can't use, each as `column: reason` (a company page
    /// as the LinkedIn profile, an unknown seniority).
    pub dropped: Vec<String>,
}

/// A person row without what identifies it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonRowError {
    #[error(
        "column `contact_id` is missing or not a string or number: map the contact id input column into the HTTP API column's body"
    )]
    MissingContactId,
    #[error("column `{column}` must be a string or null, got {got}")]
    WrongType { column: &'static str, got: String },
}

/// Parses one person row: canonical values through core's contact normalizers.
pub fn parse_person_row(row: &Map<String, Json>) -> Result<PersonRow, PersonRowError> {
    let contact_id = match row.get("contact_id") {
        Some(Json::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Json::Number(n)) => n.to_string(),
        _ => return Err(PersonRowError::MissingContactId),
    };
    let text = |column: &'static str| -> Result<Option<String>, PersonRowError> {
        match row.get(column) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(PersonRowError::WrongType {
                column,
                got: firmo_core::value::describe_json(other),
            }),
        }
    };
    let key = match (text("firmo_key")?, text("email")?) {
        (Some(key), _) => key,
        (None, email) => PersonQuery {
            contact_id: contact_id.clone(),
            email,
            ..PersonQuery::default()
        }
        .key(),
    };
    let mut contact = Contact::new();
    let mut dropped = Vec::new();
    let mut any = false;
    if let Some(title) = text("job_title")? {
        any = true;
        match normalize::job_title(&title) {
            Ok(t) => {
                contact.insert(ContactField::JobTitle, Value::Text(t));
            }
            Err(e) => dropped.push(format!("job_title: {e}")),
        }
    }
    if let Some(url) = text("linkedin_url")? {
        any = true;
        match normalize::linkedin_profile_url(&url) {
            Ok(u) => {
                contact.insert(ContactField::LinkedinUrl, Value::Text(u));
            }
            Err(e) => dropped.push(format!("linkedin_url: {e}")),
        }
    }
    if let Some(level) = text("seniority")? {
        any = true;
        match normalize::seniority(&level) {
            Ok(s) => {
                contact.insert(ContactField::Seniority, Value::Text(s.to_owned()));
            }
            Err(e) => dropped.push(format!("seniority: {e}")),
        }
    }
    if let Some(start) = text("role_start_date")? {
        any = true;
        match normalize::date(&start) {
            Ok(d) => {
                contact.insert(ContactField::RoleStartDate, Value::Date(d));
            }
            Err(e) => dropped.push(format!("role_start_date: {e}")),
        }
    }
    // A row whose every value was unusable still found someone: the engine's rules
    // decide on the empty record, as for a company row with only bad columns.
    let outcome = if any {
        PersonOutcome::Found(contact)
    } else {
        PersonOutcome::NotFound
    };
    Ok(PersonRow {
        contact_id,
        key,
        outcome,
        dropped,
    })
}

/// Where arriving person rows go (the engine's cache).
#[async_trait]
pub trait ClayPersonSink: Send + Sync {
    /// Stores a row that answers an outstanding push ([`Accept::Stored`]) and refuses any
    /// other ([`Accept::Unsolicited`], answered 422); an error is answered 500.
    async fn offer(&self, row: PersonRow) -> Result<Accept, String>;
}

struct PeopleState {
    config: ReceiverConfig,
    sink: Arc<dyn ClayPersonSink>,
}

/// The person rows' receiver: `POST` [`PEOPLE_CALLBACK_PATH`] with one row or an array,
/// the shared secret in the configured header. Answers as the company receiver does
/// ([`crate::receiver`]): 200 `{"accepted", "contacts"}`, 401, 400 naming the row and
/// column, 413, 422 `{"unsolicited"}`, 500.
pub fn people_router(config: ReceiverConfig, sink: Arc<dyn ClayPersonSink>) -> Router {
    let limit = config.max_body_bytes;
    Router::new()
        .route(PEOPLE_CALLBACK_PATH, post(receive))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(Arc::new(PeopleState { config, sink }))
}

/// The person rows' receiver, served on its own port during a run.
pub struct PeopleReceiver {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl PeopleReceiver {
    /// Binds `addr` (port 0: any free port) and serves [`people_router`] for `sink` there.
    pub async fn start(
        addr: std::net::SocketAddr,
        config: ReceiverConfig,
        sink: Arc<dyn ClayPersonSink>,
    ) -> std::io::Result<PeopleReceiver> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = people_router(config, sink);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "Clay people receiver stopped with an error");
            }
        });
        Ok(PeopleReceiver { addr, stop, task })
    }

    /// The URL to configure on the people table's HTTP API column.
    pub fn url(&self) -> String {
        format!("http://{}{PEOPLE_CALLBACK_PATH}", self.addr)
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

/// Compares all of both values whatever differs first, so timing tells nothing.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn receive(
    State(receiver): State<Arc<PeopleState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = receiver.config.secret.expose().as_bytes();
    let presented = headers
        .get(receiver.config.header.as_str())
        .map(axum::http::HeaderValue::as_bytes);
    if expected.is_empty() || !presented.is_some_and(|p| same_secret(p, expected)) {
        tracing::warn!(
            provider = "clay",
            header = receiver.config.header,
            "refused a person callback without the shared secret"
        );
        return error(StatusCode::UNAUTHORIZED, "missing or wrong shared secret");
    }
    let rows = match serde_json::from_slice::<Json>(&body) {
        Ok(Json::Object(row)) => vec![Json::Object(row)],
        Ok(Json::Array(items)) => items,
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
    // Parse every row before storing any: a bad batch stores nothing.
    let mut parsed = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let Json::Object(row) = row else {
            let got = firmo_core::value::describe_json(row);
            return error(
                StatusCode::BAD_REQUEST,
                &format!("row {i}: expected an object, got {got}"),
            );
        };
        match parse_person_row(row) {
            Ok(row) => parsed.push(row),
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("row {i}: {e}")),
        }
    }
    let mut contacts = Vec::new();
    let mut unsolicited = Vec::new();
    for row in parsed {
        if !row.dropped.is_empty() {
            tracing::warn!(provider = "clay", contact_id = row.contact_id, dropped = ?row.dropped, "unusable values in a Clay person row");
        }
        let id = row.contact_id.clone();
        match receiver.sink.offer(row).await {
            Ok(Accept::Stored) => contacts.push(id),
            Ok(Accept::Unsolicited) => unsolicited.push(id),
            Err(e) => {
                tracing::error!(
                    provider = "clay",
                    contact_id = id,
                    "could not store a Clay person row: {e}"
                );
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "could not store the row; retry later",
                );
            }
        }
    }
    if !unsolicited.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": format!("{} row(s) for people firmo did not push to Clay were refused", unsolicited.len()),
                "unsolicited": unsolicited,
                "accepted": contacts.len(),
                "contacts": contacts,
            })),
        )
            .into_response();
    }
    (
        StatusCode::OK,
        axum::Json(json!({"accepted": contacts.len(), "contacts": contacts})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: Json) -> Map<String, Json> {
        let Json::Object(row) = json else {
            panic!("a row is an object")
        };
        row
    }

    #[test]
    fn a_row_becomes_canonical_contact_fields() {
        let parsed = parse_person_row(&row(json!({
            "contact_id": 7,
            "email": "Maya.Chen@acme.example",
            "job_title": "  Chief Technology   Officer ",
            "linkedin_url": "linkedin.com/in/Maya-Chen-3f2a/",
            "seniority": "C-Suite",
            "role_start_date": "2026-10-01",
        })))
        .unwrap();
        assert_eq!(parsed.contact_id, "7");
        assert_eq!(parsed.key, "email:maya.chen@acme.example");
        let PersonOutcome::Found(contact) = parsed.outcome else {
            panic!("found")
        };
        assert_eq!(
            contact[&ContactField::JobTitle],
            Value::Text("Chief Technology Officer".into())
        );
        assert_eq!(
            contact[&ContactField::LinkedinUrl],
            Value::Text("https://www.linkedin.com/in/maya-chen-3f2a".into())
        );
        assert_eq!(
            contact[&ContactField::Seniority],
            Value::Text("c_suite".into())
        );
        assert!(parsed.dropped.is_empty());
    }

    #[test]
    fn unusable_values_are_dropped_with_a_reason_and_an_empty_row_is_not_found() {
        let parsed = parse_person_row(&row(json!({
            "contact_id": "8", "firmo_key": "contact:8",
            "linkedin_url": "https://www.linkedin.com/company/acme",
            "seniority": "wizard", "job_title": null,
        })))
        .unwrap();
        assert_eq!(parsed.key, "contact:8");
        assert_eq!(parsed.outcome, PersonOutcome::Found(Contact::new()));
        assert_eq!(parsed.dropped.len(), 2);
        assert!(parsed.dropped[0].starts_with("linkedin_url: "));
        let empty = parse_person_row(&row(json!({"contact_id": "9", "job_title": ""}))).unwrap();
        assert_eq!(empty.outcome, PersonOutcome::NotFound);
        assert_eq!(
            parse_person_row(&row(json!({"email": "x@y.example"}))),
            Err(PersonRowError::MissingContactId)
        );
        let wrong = parse_person_row(&row(json!({"contact_id": "1", "job_title": 3})));
        assert!(wrong.unwrap_err().to_string().contains("`job_title`"));
    }

    #[test]
    fn the_push_carries_the_key_and_leaves_blanks_out() {
        let body = push_body(&PersonQuery {
            contact_id: "7".into(),
            email: Some("maya.chen@acme.example".into()),
            first_name: Some(" ".into()),
            company_domain: Some("acme.example".into()),
            ..PersonQuery::default()
        });
        assert_eq!(
            body,
            json!({
                "contact_id": "7", "firmo_key": "email:maya.chen@acme.example",
                "email": "maya.chen@acme.example", "company_domain": "acme.example",
            })
        );
        assert!(same_secret(b"abc", b"abc") && !same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }
}
