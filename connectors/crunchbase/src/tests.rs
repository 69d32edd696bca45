//! The adapter against a scripted local server: both calls of a lookup and every
//! failure mode Crunchbase has.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use firmo_connect::http::HttpPolicy;
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Date, Field, Source, Value};

use crate::{CrunchbaseClient, CrunchbaseConfig};

const KEY: &str = "cb-user-key-0123456789";

struct Reply {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
    delay: Duration,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.into(),
        delay: Duration::ZERO,
    }
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    key: Option<String>,
    body: serde_json::Value,
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
}

async fn answer(State(script): State<Arc<Script>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    script.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        key: parts
            .headers
            .get("x-cb-user-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    });
    let next = script.replies.lock().unwrap().pop_front();
    let Some(next) = next else {
        return Response::builder()
            .status(StatusCode::GONE)
            .body(Body::from("script exhausted"))
            .unwrap();
    };
    if !next.delay.is_zero() {
        tokio::time::sleep(next.delay).await;
    }
    let mut response = Response::builder().status(next.status);
    for (name, value) in next.headers {
        response = response.header(name, value);
    }
    response.body(Body::from(next.body)).unwrap()
}

async fn client_for(replies: Vec<Reply>) -> (CrunchbaseClient, Arc<Script>) {
    let script = Arc::new(Script {
        replies: Mutex::new(replies.into()),
        seen: Mutex::default(),
    });
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(Arc::clone(&script));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = CrunchbaseConfig {
        base_url: format!("http://{addr}"),
        ..CrunchbaseConfig::default()
    };
    let mut policy = HttpPolicy::new(Service::Crunchbase, 0, Duration::from_mins(1));
    policy.base_backoff = Duration::from_millis(1);
    policy.max_backoff = Duration::from_millis(5);
    policy.max_retries = 3;
    policy.timeout = Duration::from_millis(300);
    let client = CrunchbaseClient::with_policy(config, Secret::new(KEY), policy).unwrap();
    (client, script)
}

fn requests(script: &Script) -> Vec<Seen> {
    script.seen.lock().unwrap().clone()
}

const SEARCH_HIT: &str = r#"{"count":1,"entities":[{"uuid":"5f9c-acme","properties":{
  "identifier":{"uuid":"5f9c-acme","value":"Acme Analytics","permalink":"acme-analytics","entity_def_id":"organization"},
  "website_url":"https://www.acme-analytics.example"}}]}"#;
const SEARCH_MISS: &str = r#"{"count":0,"entities":[]}"#;
const ORGANIZATION: &str = r#"{"properties":{"identifier":{"permalink":"acme-analytics"},
  "last_funding_type":"series_b","last_funding_at":"2024-05-02"},
  "cards":{"raised_funding_rounds":[
    {"identifier":{"value":"Series A - Acme"},"announced_on":"2022-01-10","investment_type":"series_a",
     "money_raised":{"value":10000000,"currency":"USD","value_usd":10000000}},
    {"identifier":{"value":"Series B - Acme"},"announced_on":"2024-05-02","investment_type":"series_b",
     "money_raised":{"value":23000000,"currency":"EUR","value_usd":25000000},
     "investor_identifiers":[{"value":"Example Ventures"}]}]}}"#;

#[tokio::test]
async fn search_then_entity_gives_the_latest_round() {
    let (client, script) = client_for(vec![reply(200, SEARCH_HIT), reply(200, ORGANIZATION)]).await;
    let outcome = client.lookup("acme-analytics.example").await.unwrap();
    let LookupOutcome::Found(records) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(records[0].source, Source::Crunchbase);
    assert_eq!(
        records[0].get(Field::LastFundingAmount),
        Some(&Value::Integer(25_000_000))
    );
    assert_eq!(
        records[0].get(Field::LastFundingDate),
        Some(&Value::Date(Date::new(2024, 5, 2).unwrap()))
    );
    let seen = requests(&script);
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/api/v4/searches/organizations")
    );
    assert_eq!(seen[0].body["query"][0]["field_id"], "website_url");
    assert_eq!(
        seen[0].body["query"][0]["values"][0],
        "acme-analytics.example"
    );
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("GET", "/api/v4/entities/organizations/acme-analytics")
    );
    assert!(
        seen[1].query.contains("card_ids=raised_funding_rounds"),
        "{}",
        seen[1].query
    );
    assert!(seen.iter().all(|s| s.key.as_deref() == Some(KEY)));
    assert_eq!(
        (client.name(), client.sources()),
        ("crunchbase", &[Source::Crunchbase][..])
    );
    assert!((client.cost_per_lookup() - 2.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn unknown_domain_is_not_found_after_one_call() {
    let (client, script) = client_for(vec![
        reply(200, SEARCH_MISS),
        reply(200, SEARCH_HIT),
        reply(404, "[]"),
    ])
    .await;
    assert_eq!(
        client.lookup("nobody.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    assert_eq!(requests(&script).len(), 1);
    // Found by the search, gone from the entity endpoint: also not found.
    assert_eq!(
        client.lookup("acme-analytics.example").await.unwrap(),
        LookupOutcome::NotFound
    );
}

#[tokio::test]
async fn invalid_key_and_quota_stop_the_service() {
    let (client, script) = client_for(vec![
        reply(401, r#"[{"message":"Invalid user key","code":"LA401"}]"#),
        reply(200, SEARCH_HIT),
        reply(402, r#"{"error":"Monthly quota reached"}"#),
    ])
    .await;
    let auth = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(auth, ConnectorError::Auth { .. }) && auth.stops_service(),
        "{auth:?}"
    );
    assert!(!format!("{auth:?}").contains(KEY));
    let quota = client.lookup("acme-analytics.example").await.unwrap_err();
    assert!(
        matches!(quota, ConnectorError::QuotaExhausted { .. }) && quota.stops_service(),
        "{quota:?}"
    );
    assert_eq!(requests(&script).len(), 3);
}

#[tokio::test]
async fn rate_limited_and_server_errors_are_retried_on_either_call() {
    let mut limited = reply(429, r#"[{"message":"Rate limit exceeded"}]"#);
    limited.headers.push(("retry-after", "0"));
    let (client, script) = client_for(vec![
        limited,
        reply(200, SEARCH_HIT),
        reply(500, "oops"),
        reply(200, ORGANIZATION),
    ])
    .await;
    assert!(matches!(
        client.lookup("acme-analytics.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    assert_eq!(requests(&script).len(), 4);
    assert_eq!(client.http().stats().retries, 2);
}

#[tokio::test]
async fn malformed_answers_name_the_path() {
    let (client, _) = client_for(vec![
        reply(200, r#"{"entities":"none"}"#),
        reply(200, SEARCH_HIT),
        reply(200, r#"{"cards":{"raised_funding_rounds":{"0":{}}}}"#),
    ])
    .await;
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Malformed { path, .. } if path == "entities"),
        "{err:?}"
    );
    let err = client.lookup("acme-analytics.example").await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Malformed { path, .. } if path == "cards.raised_funding_rounds"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let slow = || {
        let mut r = reply(200, SEARCH_HIT);
        r.delay = Duration::from_secs(5);
        r
    };
    let (client, _) = client_for((0..4).map(|_| slow()).collect()).await;
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Timeout {
                service: Service::Crunchbase,
                ..
            }
        ),
        "{err:?}"
    );
}
