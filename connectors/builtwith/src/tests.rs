//! The adapter against a scripted local server: every failure mode BuiltWith has.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use firmo_connect::http::HttpPolicy;
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Field, Source, Value};

use crate::{BuiltWithClient, BuiltWithConfig};

const KEY: &str = "00000000-1111-2222-3333-444444444444";

/// One scripted answer.
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

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: String,
    headers: HeaderMap,
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
}

async fn answer(State(script): State<Arc<Script>>, request: Request) -> Response {
    script.seen.lock().unwrap().push(Seen {
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or_default().to_owned(),
        headers: request.headers().clone(),
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

/// Serves `replies` in order on 127.0.0.1 port 0; returns a client pointed at it.
async fn client_for(replies: Vec<Reply>) -> (BuiltWithClient, Arc<Script>) {
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
    let config = BuiltWithConfig {
        base_url: format!("http://{addr}"),
        ..BuiltWithConfig::default()
    };
    let mut policy = HttpPolicy::new(Service::BuiltWith, 0, Duration::from_mins(1));
    policy.base_backoff = Duration::from_millis(1);
    policy.max_backoff = Duration::from_millis(5);
    policy.max_retries = 3;
    policy.timeout = Duration::from_millis(300);
    let client = BuiltWithClient::with_policy(config, Secret::new(KEY), policy).unwrap();
    (client, script)
}

const DAY: i64 = 86_400_000;

fn now_millis() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A realistic answer: two live technologies and one BuiltWith last saw a year ago.
fn result_body() -> String {
    let now = now_millis();
    serde_json::json!({
        "Results": [{"Result": {"IsDB": "True", "Spend": 250, "Paths": [
            {"Domain": "acme-analytics.example", "Url": "", "SubDomain": "", "Technologies": [
                {"Name": "Google Analytics", "Tag": "analytics", "Categories": ["Audience Measurement"],
                 "FirstDetected": now - 700 * DAY, "LastDetected": now - 2 * DAY, "IsPremium": "no"},
                {"Name": "WordPress", "Tag": "cms", "Categories": ["Open Source"],
                 "FirstDetected": now - 900 * DAY, "LastDetected": now - 5 * DAY, "IsPremium": "no"},
                {"Name": "Flash", "Tag": "media", "Categories": [],
                 "FirstDetected": now - 3000 * DAY, "LastDetected": now - 365 * DAY, "IsPremium": "no"}
            ]}
        ]}, "Lookup": "acme-analytics.example", "FirstIndexed": now - 3000 * DAY, "LastIndexed": now - DAY}],
        "Errors": []
    })
    .to_string()
}

fn error_body(code: i64, message: &str) -> String {
    serde_json::json!({"Results": [], "Errors": [{"Lookup": "acme.example", "Message": message, "Code": code}]}).to_string()
}

fn requests(script: &Script) -> Vec<Seen> {
    script.seen.lock().unwrap().clone()
}

fn stack(outcome: LookupOutcome) -> Vec<String> {
    let LookupOutcome::Found(records) = outcome else {
        panic!("expected Found, got {outcome:?}")
    };
    assert_eq!(records[0].source, Source::BuiltWith);
    match records[0].get(Field::TechStack) {
        Some(Value::TextList(names)) => names.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn found_sends_key_and_lookup_and_keeps_live_technologies() {
    let (client, script) = client_for(vec![reply(200, result_body())]).await;
    let names = stack(client.lookup("acme-analytics.example").await.unwrap());
    assert_eq!(
        names,
        firmo_core::normalize::tech_stack(["Google Analytics", "WordPress"])
    );
    let seen = requests(&script);
    assert_eq!(seen[0].path, "/v21/api.json");
    assert!(
        seen[0].query.contains(&format!("KEY={KEY}")),
        "{}",
        seen[0].query
    );
    assert!(
        seen[0].query.contains("LOOKUP=acme-analytics.example"),
        "{}",
        seen[0].query
    );
    assert!(
        seen[0].headers.get("authorization").is_none(),
        "BuiltWith takes the key in the query only"
    );
    assert_eq!(client.name(), "builtwith");
    assert_eq!(client.sources(), &[Source::BuiltWith]);
}

#[tokio::test]
async fn errors_inside_a_200_are_not_found_auth_or_quota() {
    let (client, script) = client_for(vec![
        reply(200, error_body(-8, "Root domain invalid or not supported")),
        reply(
            200,
            error_body(
                -2,
                &format!("API Key incorrect ({KEY}) - it needs to be a Guid"),
            ),
        ),
        reply(200, error_body(-3, "You have run out of API credits")),
        reply(200, r#"{"Results":[],"Errors":[]}"#),
    ])
    .await;
    assert_eq!(
        client.lookup("nobody.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    let auth = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(auth, ConnectorError::Auth { .. }) && auth.stops_service(),
        "{auth:?}"
    );
    assert!(
        !format!("{auth} {auth:?}").contains(KEY),
        "the echoed key is scrubbed: {auth}"
    );
    let quota = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(quota, ConnectorError::QuotaExhausted { .. }) && quota.stops_service(),
        "{quota:?}"
    );
    assert_eq!(
        client.lookup("empty.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    assert_eq!(requests(&script).len(), 4, "none of these is retried");
}

#[tokio::test]
async fn http_level_key_and_credit_errors() {
    let (client, _) = client_for(vec![
        reply(401, format!("Invalid key {KEY}")),
        reply(402, "Payment required"),
    ])
    .await;
    let auth = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(auth, ConnectorError::Auth { .. }) && !auth.to_string().contains(KEY),
        "{auth}"
    );
    assert!(
        client
            .lookup("acme.example")
            .await
            .unwrap_err()
            .stops_service()
    );
}

#[tokio::test]
async fn rate_limits_server_errors_and_internal_errors_are_retried() {
    let mut limited = reply(429, "Too many requests");
    limited.headers.push(("retry-after", "0"));
    let (client, script) = client_for(vec![
        limited,
        reply(503, "unavailable"),
        reply(200, error_body(-99, "Internal code error")),
        reply(200, result_body()),
    ])
    .await;
    assert_eq!(
        stack(client.lookup("acme-analytics.example").await.unwrap()).len(),
        2
    );
    assert_eq!(requests(&script).len(), 4);
    let stats = client.http().stats();
    assert_eq!(
        (stats.rate_limited, stats.server_errors, stats.retries),
        (1, 1, 3)
    );
}

#[tokio::test]
async fn malformed_json_names_the_path() {
    let (client, _) = client_for(vec![
        reply(200, "<html>Service Unavailable</html>"),
        reply(
            200,
            r#"{"Results":[{"Result":{"Paths":{"Technologies":[]}}}]}"#,
        ),
    ])
    .await;
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Malformed { path, .. } if path == "$"),
        "{err:?}"
    );
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Malformed { path, .. } if path == "Results[0].Result.Paths"),
        "{err:?}"
    );
}

#[tokio::test]
async fn timeouts_and_unreachable_hosts_never_show_the_key() {
    let slow = || {
        let mut r = reply(200, result_body());
        r.delay = Duration::from_secs(5);
        r
    };
    let (client, _) = client_for((0..4).map(|_| slow()).collect()).await;
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Timeout {
                service: Service::BuiltWith,
                ..
            }
        ),
        "{err:?}"
    );

    // A port nothing listens on: bind one, note it, close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = BuiltWithConfig {
        base_url: format!("http://{closed}"),
        ..BuiltWithConfig::default()
    };
    let mut policy = HttpPolicy::new(Service::BuiltWith, 0, Duration::from_mins(1));
    policy.max_retries = 1;
    policy.base_backoff = Duration::from_millis(1);
    let client = BuiltWithClient::with_policy(config, Secret::new(KEY), policy).unwrap();
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Transport { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(KEY), "{err}");
}
