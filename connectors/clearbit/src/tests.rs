//! The adapter against a scripted local server: every failure mode Clearbit has.

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

use crate::{ClearbitClient, ClearbitConfig};

const KEY: &str = "sk_test_0123456789abcdef";

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
async fn client_for(replies: Vec<Reply>) -> (ClearbitClient, Arc<Script>) {
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
    let config = ClearbitConfig {
        base_url: format!("http://{addr}"),
        ..ClearbitConfig::default()
    };
    let mut policy = HttpPolicy::new(Service::Clearbit, 0, Duration::from_mins(1));
    policy.base_backoff = Duration::from_millis(1);
    policy.max_backoff = Duration::from_millis(5);
    policy.max_retries = 3;
    policy.timeout = Duration::from_millis(300);
    let client = ClearbitClient::with_policy(config, Secret::new(KEY), policy).unwrap();
    (client, script)
}

const COMPANY: &str = r#"{"name":"Acme Analytics","domain":"acme-analytics.example",
  "category":{"sector":"Information Technology","industry":"Internet Software & Services"},
  "metrics":{"employees":180,"employeesRange":"51-250","estimatedAnnualRevenue":"$10M-$50M"},
  "tech":["aws_ec2","google_analytics","react"]}"#;

fn requests(script: &Script) -> Vec<Seen> {
    script.seen.lock().unwrap().clone()
}

#[tokio::test]
async fn found_sends_bearer_key_and_domain_and_parses_the_company() {
    let (client, script) = client_for(vec![reply(200, COMPANY)]).await;
    let outcome = client.lookup("acme-analytics.example").await.unwrap();
    let LookupOutcome::Found(records) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].source, Source::Clearbit);
    assert_eq!(records[0].get(Field::Headcount), Some(&Value::Integer(180)));
    let seen = requests(&script);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v2/companies/find");
    assert_eq!(seen[0].query, "domain=acme-analytics.example");
    assert_eq!(
        seen[0].headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
    assert_eq!(client.name(), "clearbit");
    assert_eq!(client.sources(), &[Source::Clearbit]);
    assert!((client.cost_per_lookup() - 1.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn queued_is_pending_after_one_request() {
    let (client, script) = client_for(vec![reply(202, ""), {
        let mut r = reply(202, "");
        r.headers.push(("retry-after", "60"));
        r
    }])
    .await;
    assert_eq!(
        client.lookup("new-startup.example").await.unwrap(),
        LookupOutcome::Pending {
            retry_after: Some(Duration::from_mins(5)),
            charged: false
        }
    );
    assert_eq!(
        requests(&script).len(),
        1,
        "a 202 is an answer, not something to spin on"
    );
    assert_eq!(
        client.lookup("new-startup.example").await.unwrap(),
        LookupOutcome::Pending {
            retry_after: Some(Duration::from_mins(1)),
            charged: false
        }
    );
}

#[tokio::test]
async fn unknown_and_invalid_domains_are_not_found() {
    let (client, script) = client_for(vec![
        reply(
            404,
            r#"{"error":{"type":"unknown_record","message":"Unknown domain"}}"#,
        ),
        reply(
            422,
            r#"{"error":{"type":"params_invalid","message":"Invalid domain"}}"#,
        ),
    ])
    .await;
    assert_eq!(
        client.lookup("nobody.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    assert_eq!(
        client.lookup("bad-tld.invalid").await.unwrap(),
        LookupOutcome::NotFound
    );
    assert_eq!(requests(&script).len(), 2);
}

#[tokio::test]
async fn invalid_key_and_no_credits_stop_the_service_without_leaking_the_key() {
    let (client, script) = client_for(vec![
        reply(
            401,
            r#"{"error":{"type":"auth_required","message":"Invalid API key"}}"#,
        ),
        reply(
            402,
            r#"{"error":{"type":"over_quota","message":"Over plan quota"}}"#,
        ),
    ])
    .await;
    let auth = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(
            auth,
            ConnectorError::Auth {
                service: Service::Clearbit,
                ..
            }
        ),
        "{auth:?}"
    );
    assert!(auth.stops_service());
    let quota = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(quota, ConnectorError::QuotaExhausted { .. }),
        "{quota:?}"
    );
    assert!(quota.stops_service());
    for e in [auth, quota] {
        assert!(!format!("{e} {e:?}").contains(KEY));
    }
    assert_eq!(
        requests(&script).len(),
        2,
        "no retry of a refused key or an empty account"
    );
}

#[tokio::test]
async fn rate_limited_then_success_waits_as_told() {
    let mut limited = reply(
        429,
        r#"{"error":{"type":"rate_limit","message":"Rate limit exceeded"}}"#,
    );
    limited.headers.push(("retry-after", "0"));
    let (client, script) = client_for(vec![limited, reply(200, COMPANY)]).await;
    assert!(matches!(
        client.lookup("acme.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    assert_eq!(requests(&script).len(), 2);
    assert_eq!(client.http().stats().rate_limited, 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed_or_give_up() {
    let (client, script) = client_for(vec![
        reply(503, "down"),
        reply(502, "bad gateway"),
        reply(200, COMPANY),
    ])
    .await;
    assert!(matches!(
        client.lookup("acme.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    assert_eq!(requests(&script).len(), 3);

    let (client, script) = client_for((0..4).map(|_| reply(500, "boom")).collect()).await;
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Server { status: 500, .. }) && err.is_transient(),
        "{err:?}"
    );
    assert_eq!(requests(&script).len(), 4, "first attempt plus max_retries");
}

#[tokio::test]
async fn malformed_json_names_the_path() {
    let (client, _) = client_for(vec![
        reply(200, "{\"name\": \"Acme\""),
        reply(200, r#"{"metrics":"many"}"#),
    ])
    .await;
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Malformed { service: Service::Clearbit, path, .. } if path == "$"),
        "{err:?}"
    );
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Malformed { path, .. } if path == "metrics"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let slow = || {
        let mut r = reply(200, COMPANY);
        r.delay = Duration::from_secs(5);
        r
    };
    let (client, script) = client_for((0..4).map(|_| slow()).collect()).await;
    let err = client.lookup("acme.example").await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Timeout {
                service: Service::Clearbit,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(
        requests(&script).len(),
        4,
        "timeouts are retried like transport errors"
    );
}
