//! The adapter against the shared scripted server: the connector contract, then what is
//! BuiltWith's own (the key in the query, live technologies, errors inside a 200).

use firmo_connect::http::HttpPolicy;
use firmo_connect::testing::{
    BatchCase, Case, ErrorKind, Expect, MalformedCase, Mode, ProviderContract, Reply,
    ScriptedServer, check_provider, contract_policy, expect_found,
};
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Field, Source, Value};

use crate::{BuiltWithClient, BuiltWithConfig};

const KEY: &str = "00000000-1111-2222-3333-444444444444";

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

fn build(
    base_url: &str,
    key: Secret,
    policy: HttpPolicy,
) -> Result<BuiltWithClient, ConnectorError> {
    let config = BuiltWithConfig {
        base_url: base_url.to_owned(),
        // Small, so the contract's batch is split into two requests.
        batch_size: 2,
        ..BuiltWithConfig::default()
    };
    BuiltWithClient::with_policy(config, key, policy)
}

/// A result for `lookup` with one live technology.
fn result_for(lookup: &str) -> serde_json::Value {
    let now = now_millis();
    serde_json::json!({"Lookup": lookup, "Result": {"Paths": [{"Technologies": [
        {"Name": "React", "Tag": "javascript", "FirstDetected": now - 100 * DAY, "LastDetected": now - DAY}
    ]}]}})
}

/// BuiltWith's answers: most failures are an `Errors[]` entry inside a 200 (-8 domain
/// not supported, -2 bad key, echoing it, -3 out of credits); HTTP 401/402 as well.
fn contract() -> ProviderContract {
    ProviderContract {
        service: Service::BuiltWith,
        key: KEY.into(),
        domain: "acme-analytics.example".into(),
        found: Case::Expect(vec![Reply::new(200, result_body())]),
        not_found: Case::Expect(vec![
            vec![Reply::new(
                200,
                error_body(-8, "Root domain invalid or not supported"),
            )],
            vec![Reply::new(200, r#"{"Results":[],"Errors":[]}"#)],
        ]),
        pending: Case::Unsupported("BuiltWith answers every lookup at once: no queued state"),
        auth: vec![
            vec![Reply::new(
                200,
                error_body(
                    -2,
                    &format!("API Key incorrect ({KEY}) - it needs to be a Guid"),
                ),
            )],
            vec![Reply::new(401, format!("Invalid key {KEY}"))],
        ],
        quota: Case::Expect(vec![
            vec![Reply::new(
                200,
                error_body(-3, "You have run out of API credits"),
            )],
            vec![Reply::new(402, "Payment required")],
        ]),
        malformed: Case::Expect(vec![
            MalformedCase::new(
                vec![Reply::new(200, "<html>Service Unavailable</html>")],
                "$",
            ),
            MalformedCase::new(
                vec![Reply::new(
                    200,
                    r#"{"Results":[{"Result":{"Paths":{"Technologies":[]}}}]}"#,
                )],
                "Results[0].Result.Paths",
            ),
        ]),
        // Two per request here: [a, b] then [c]. BuiltWith bills a domain per result it
        // returns, not the ones it answers with an error.
        batch: BatchCase {
            domains: ["a.example", "b.example", "a.example", "c.example"]
                .map(String::from)
                .to_vec(),
            replies: vec![
                Reply::new(
                    200,
                    serde_json::json!({"Results": [result_for("a.example")], "Errors": [
                        {"Lookup": "b.example", "Message": "Domain not in our system.", "Code": -10}
                    ]})
                    .to_string(),
                ),
                Reply::new(
                    200,
                    r#"{"Results":[{"Lookup":"c.example","Result":{"Paths":{"Technologies":[]}}}]}"#,
                ),
            ],
            expected: vec![
                (Expect::Found, 1.0),
                (Expect::NotFound, 0.0),
                (Expect::Found, 0.0),
                (Expect::Failed(ErrorKind::Malformed), 1.0),
            ],
            // A whole-call error names no domain.
            auth: Reply::new(
                200,
                serde_json::json!({"Results": null, "Errors": [
                    {"Lookup": null, "Message": format!("API Key incorrect ({KEY})"), "Code": -2}
                ]})
                .to_string(),
            ),
        },
    }
}

#[tokio::test]
async fn builtwith_meets_the_connector_contract() {
    let report = check_provider(&contract(), build).await;
    assert_eq!(report.unsupported_modes(), [Mode::Pending], "{report:?}");
}

#[tokio::test]
async fn a_batch_sends_its_domains_comma_separated_in_one_lookup() {
    let body = serde_json::json!({"Results": [result_for("b.example"), result_for("a.example")]});
    let (client, server) = client_for(vec![Reply::new(200, body.to_string())]).await;
    let domains = ["a.example", "b.example"].map(String::from);
    let answers = client.lookup_batch(&domains).await;
    assert_eq!(server.request_count(), 1);
    assert!(
        server.requests()[0]
            .query
            .contains("LOOKUP=a.example%2Cb.example"),
        "{}",
        server.requests()[0].query
    );
    assert!(
        answers
            .iter()
            .all(|a| matches!(a.outcome, Ok(LookupOutcome::Found(_))))
    );
    assert!((answers.iter().map(|a| a.credits).sum::<f64>() - 2.0).abs() < 1e-9);
}

async fn client_for(replies: Vec<Reply>) -> (BuiltWithClient, ScriptedServer) {
    let server = ScriptedServer::start(replies).await;
    let client = build(
        &server.base_url(),
        Secret::new(KEY),
        contract_policy(Service::BuiltWith),
    )
    .unwrap();
    (client, server)
}

fn stack(outcome: LookupOutcome) -> Vec<String> {
    let records = expect_found(outcome);
    assert_eq!(records[0].source, Source::BuiltWith);
    match records[0].get(Field::TechStack) {
        Some(Value::TextList(names)) => names.clone(),
        other => panic!("no tech stack: {other:?}"),
    }
}

#[tokio::test]
async fn found_sends_key_and_lookup_and_keeps_live_technologies() {
    let (client, server) = client_for(vec![Reply::new(200, result_body())]).await;
    let names = stack(client.lookup("acme-analytics.example").await.unwrap());
    assert_eq!(
        names,
        firmo_core::normalize::tech_stack(["Google Analytics", "WordPress"])
    );
    let seen = server.requests();
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
        seen[0].header("authorization").is_none(),
        "BuiltWith takes the key in the query only"
    );
    assert_eq!(client.name(), "builtwith");
    assert_eq!(client.sources(), &[Source::BuiltWith]);
}

#[tokio::test]
async fn an_internal_error_inside_a_200_is_retried_like_a_5xx() {
    let (client, server) = client_for(vec![
        Reply::new(429, "Too many requests").header("retry-after", "0"),
        Reply::new(503, "unavailable"),
        Reply::new(200, error_body(-99, "Internal code error")),
        Reply::new(200, result_body()),
    ])
    .await;
    assert_eq!(
        stack(client.lookup("acme-analytics.example").await.unwrap()).len(),
        2
    );
    assert_eq!(server.request_count(), 4);
    let stats = client.http().stats();
    assert_eq!(
        (stats.rate_limited, stats.server_errors, stats.retries),
        (1, 1, 3)
    );
}
