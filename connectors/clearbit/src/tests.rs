//! The adapter against the shared scripted server: the connector contract, then what is
//! Clearbit's own (the request it sends, the company it parses, the wait it reads).

use std::time::Duration;

use firmo_connect::testing::{
    BatchCase, Case, ErrorKind, Expect, MalformedCase, PendingCase, ProviderContract, Reply,
    ScriptedServer, check_provider, contract_policy,
};
use firmo_connect::{LookupOutcome, Provider, Secret, Service};
use firmo_core::{Field, Source, Value};

use crate::{ClearbitClient, ClearbitConfig};

const KEY: &str = "sk_test_0123456789abcdef";

const COMPANY: &str = r#"{"name":"Acme Analytics","domain":"acme-analytics.example",
  "category":{"sector":"Information Technology","industry":"Internet Software & Services"},
  "metrics":{"employees":180,"employeesRange":"51-250","estimatedAnnualRevenue":"$10M-$50M"},
  "tech":["aws_ec2","google_analytics","react"]}"#;

fn build(
    base_url: &str,
    key: Secret,
    policy: firmo_connect::http::HttpPolicy,
) -> Result<ClearbitClient, firmo_connect::ConnectorError> {
    let config = ClearbitConfig {
        base_url: base_url.to_owned(),
        ..ClearbitConfig::default()
    };
    ClearbitClient::with_policy(config, key, policy)
}

/// Clearbit's answers: 200 company, 404 unknown and 422 invalid domain (both not found),
/// 202 queued (billed when it completes), 401 bad key, 402 over quota. The Company API
/// takes one domain per request, so a batch is one request per domain, and Clearbit
/// bills each domain it answers 200 or 404 (a 202 when it completes; a 422 never).
fn contract() -> ProviderContract {
    let error = |kind: &str, message: &str| {
        Reply::json(
            0,
            &serde_json::json!({"error": {"type": kind, "message": message}}),
        )
    };
    let status = |status: u16, reply: Reply| Reply { status, ..reply };
    ProviderContract {
        service: Service::Clearbit,
        key: KEY.into(),
        domain: "acme-analytics.example".into(),
        found: Case::Expect(vec![Reply::new(200, COMPANY)]),
        not_found: Case::Expect(vec![
            vec![status(404, error("unknown_record", "Unknown domain"))],
            vec![status(422, error("params_invalid", "Invalid domain"))],
        ]),
        pending: Case::Expect(PendingCase {
            replies: vec![Reply::new(202, "")],
            charged: false,
        }),
        auth: vec![vec![status(401, error("auth_required", "Invalid API key"))]],
        quota: Case::Expect(vec![vec![status(
            402,
            error("over_quota", "Over plan quota"),
        )]]),
        malformed: Case::Expect(vec![
            MalformedCase::new(vec![Reply::new(200, "{\"name\": \"Acme\"")], "$"),
            MalformedCase::new(vec![Reply::new(200, r#"{"metrics":"many"}"#)], "metrics"),
        ]),
        batch: BatchCase {
            domains: [
                "a.example",
                "b.example",
                "c.example",
                "a.example",
                "d.example",
                "e.example",
            ]
            .map(String::from)
            .to_vec(),
            replies: vec![
                Reply::new(200, COMPANY),
                status(404, error("unknown_record", "Unknown domain")),
                Reply::new(202, ""),
                Reply::new(200, r#"{"metrics":"many"}"#),
                status(422, error("params_invalid", "Invalid domain")),
            ],
            expected: vec![
                (Expect::Found, 1.0),
                (Expect::NotFound, 1.0),
                (Expect::Pending, 0.0),
                (Expect::Found, 0.0),
                // A 200 firmo can't read is still a 200 Clearbit counted.
                (Expect::Failed(ErrorKind::Malformed), 1.0),
                (Expect::NotFound, 0.0),
            ],
            auth: status(401, error("auth_required", "Invalid API key")),
        },
    }
}

#[tokio::test]
async fn clearbit_meets_the_connector_contract() {
    let report = check_provider(&contract(), build).await;
    assert!(report.unsupported.is_empty(), "{report:?}");
}

async fn client_for(replies: Vec<Reply>) -> (ClearbitClient, ScriptedServer) {
    let server = ScriptedServer::start(replies).await;
    let client = build(
        &server.base_url(),
        Secret::new(KEY),
        contract_policy(Service::Clearbit),
    )
    .unwrap();
    (client, server)
}

#[tokio::test]
async fn found_sends_bearer_key_and_domain_and_parses_the_company() {
    let (client, server) = client_for(vec![Reply::new(200, COMPANY)]).await;
    let outcome = client.lookup("acme-analytics.example").await.unwrap();
    let LookupOutcome::Found(records) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].source, Source::Clearbit);
    assert_eq!(records[0].get(Field::Headcount), Some(&Value::Integer(180)));
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v2/companies/find");
    assert_eq!(seen[0].query, "domain=acme-analytics.example");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(client.name(), "clearbit");
    assert_eq!(client.sources(), &[Source::Clearbit]);
    assert!((client.cost_per_lookup() - 1.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn queued_waits_the_configured_time_or_what_clearbit_says() {
    let (client, _server) = client_for(vec![
        Reply::new(202, ""),
        Reply::new(202, "").header("retry-after", "60"),
    ])
    .await;
    assert_eq!(
        client.lookup("new-startup.example").await.unwrap(),
        LookupOutcome::Pending {
            retry_after: Some(Duration::from_mins(5)),
            charged: false
        }
    );
    assert_eq!(
        client.lookup("new-startup.example").await.unwrap(),
        LookupOutcome::Pending {
            retry_after: Some(Duration::from_mins(1)),
            charged: false
        }
    );
}
