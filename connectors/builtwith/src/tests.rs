//! The adapter against the shared scripted server: the connector contract, then what is
//! BuiltWith's own (the key in the query, live technologies, errors inside a 200).

use firmo_connect::http::HttpPolicy;
use firmo_connect::testing::{
    Case, MalformedCase, Mode, ProviderContract, Reply, ScriptedServer, check_provider,
    contract_policy, expect_found,
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
        ..BuiltWithConfig::default()
    };
    BuiltWithClient::with_policy(config, key, policy)
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
    }
}

#[tokio::test]
async fn builtwith_meets_the_connector_contract() {
    let report = check_provider(&contract(), build).await;
    assert_eq!(report.unsupported_modes(), [Mode::Pending], "{report:?}");
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
