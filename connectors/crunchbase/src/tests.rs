//! The adapter against the shared scripted server: the connector contract, then what is
//! Crunchbase's own (the one search a lookup or a batch sends, its retries).

use firmo_connect::http::HttpPolicy;
use firmo_connect::testing::{
    BatchCase, Case, ErrorKind, Expect, MalformedCase, Mode, ProviderContract, Reply,
    ScriptedServer, check_provider, contract_policy,
};
use firmo_connect::{Billing, ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Date, Field, Source, Value};

use crate::{CrunchbaseClient, CrunchbaseConfig};

const KEY: &str = "cb-user-key-0123456789";

const SEARCH_HIT: &str = r#"{"count":1,"entities":[{"uuid":"5f9c-acme","properties":{
  "identifier":{"uuid":"5f9c-acme","value":"Acme Analytics","permalink":"acme-analytics","entity_def_id":"organization"},
  "website_url":"https://www.acme-analytics.example","last_funding_type":"series_b","last_funding_at":"2024-05-02",
  "last_funding_total":{"value":23000000,"currency":"EUR","value_usd":25000000}}}]}"#;
const SEARCH_MISS: &str = r#"{"count":0,"entities":[]}"#;

/// A search answer with one hit per website given.
fn hits(websites: &[&str]) -> String {
    let entities: Vec<serde_json::Value> = websites
        .iter()
        .map(|w| {
            serde_json::json!({"uuid": "u", "properties": {
                "identifier": {"uuid": "u", "permalink": "p", "value": "Org"},
                "website_url": w, "last_funding_type": "seed", "last_funding_at": "2023-03-01"
            }})
        })
        .collect();
    serde_json::json!({"count": entities.len(), "entities": entities}).to_string()
}

fn build(
    base_url: &str,
    key: Secret,
    policy: HttpPolicy,
) -> Result<CrunchbaseClient, ConnectorError> {
    let config = CrunchbaseConfig {
        base_url: base_url.to_owned(),
        // Small, so the contract's batch is split into two searches.
        batch_size: 2,
        ..CrunchbaseConfig::default()
    };
    CrunchbaseClient::with_policy(config, key, policy)
}

/// Crunchbase's answers: a lookup is one search, whose hits carry the funding summary;
/// an empty search is not found; 401 bad key; 402 on a plan's call quota. A batch is one
/// search per `batch_size` domains, each billed as one call shared by its domains.
fn contract() -> ProviderContract {
    ProviderContract {
        service: Service::Crunchbase,
        key: KEY.into(),
        domain: "acme-analytics.example".into(),
        found: Case::Expect(vec![Reply::new(200, SEARCH_HIT)]),
        not_found: Case::Expect(vec![
            vec![Reply::new(200, SEARCH_MISS)],
            vec![Reply::new(200, r#"{"count":0}"#)],
        ]),
        pending: Case::Unsupported("Crunchbase answers every lookup at once: no queued state"),
        auth: vec![vec![Reply::new(
            401,
            r#"[{"message":"Invalid user key","code":"LA401"}]"#,
        )]],
        quota: Case::Expect(vec![vec![Reply::new(
            402,
            r#"{"error":"Monthly quota reached"}"#,
        )]]),
        malformed: Case::Expect(vec![
            MalformedCase::new(vec![Reply::new(200, r#"{"entities":"none"}"#)], "entities"),
            MalformedCase::new(
                vec![Reply::new(200, r#"{"entities":[{"properties":[1]}]}"#)],
                "entities[0].properties",
            ),
        ]),
        // Two per search here: [a, b] then [c].
        batch: BatchCase {
            domains: ["a.example", "b.example", "a.example", "c.example"]
                .map(String::from)
                .to_vec(),
            replies: vec![
                Reply::new(
                    200,
                    hits(&["https://www.a.example/", "https://elsewhere.example"]),
                ),
                Reply::new(200, r#"{"entities":"none"}"#),
            ],
            expected: vec![
                (Expect::Found, 0.5),
                (Expect::NotFound, 0.5),
                (Expect::Found, 0.0),
                (Expect::Failed(ErrorKind::Malformed), 1.0),
            ],
            auth: Reply::new(401, r#"[{"message":"Invalid user key","code":"LA401"}]"#),
        },
    }
}

#[tokio::test]
async fn crunchbase_meets_the_connector_contract() {
    let report = check_provider(&contract(), build).await;
    assert_eq!(report.unsupported_modes(), [Mode::Pending], "{report:?}");
}

async fn client_for(replies: Vec<Reply>) -> (CrunchbaseClient, ScriptedServer) {
    let server = ScriptedServer::start(replies).await;
    let client = build(
        &server.base_url(),
        Secret::new(KEY),
        contract_policy(Service::Crunchbase),
    )
    .unwrap();
    (client, server)
}

#[tokio::test]
async fn one_search_answers_a_lookup_with_the_funding_summary() {
    let (client, server) = client_for(vec![Reply::new(200, SEARCH_HIT)]).await;
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
    assert_eq!(
        records[0].get(Field::FundingStage),
        Some(&Value::Text("series_b".into()))
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "no entity request");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/api/v4/searches/organizations")
    );
    let body = seen[0].json();
    assert_eq!(body["query"][0]["field_id"], "website_url");
    assert_eq!(body["query"][0]["operator_id"], "domain_eq");
    assert_eq!(
        body["query"][0]["values"],
        serde_json::json!(["acme-analytics.example"])
    );
    assert!(
        body["field_ids"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("last_funding_total")),
        "{body}"
    );
    assert!(seen.iter().all(|s| s.header("x-cb-user-key") == Some(KEY)));
    assert_eq!(
        (client.name(), client.sources()),
        ("crunchbase", &[Source::Crunchbase][..])
    );
    assert_eq!(client.billing(), Billing::PerRequest);
    assert!((client.cost_per_lookup() - 1.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn a_batch_lists_its_domains_in_one_predicate() {
    let (client, server) = client_for(vec![Reply::new(
        200,
        hits(&["https://b.example", "https://a.example"]),
    )])
    .await;
    let domains = ["a.example", "b.example"].map(String::from);
    let answers = client.lookup_batch(&domains).await;
    assert!(
        answers
            .iter()
            .all(|a| matches!(a.outcome, Ok(LookupOutcome::Found(_))))
    );
    assert_eq!(server.request_count(), 1);
    assert_eq!(
        server.requests()[0].json()["query"][0]["values"],
        serde_json::json!(["a.example", "b.example"])
    );
    assert!((answers.iter().map(|a| a.credits).sum::<f64>() - 1.0).abs() < 1e-9);
}

#[tokio::test]
async fn rate_limited_and_server_errors_are_retried() {
    let (client, server) = client_for(vec![
        Reply::new(429, r#"[{"message":"Rate limit exceeded"}]"#).header("retry-after", "0"),
        Reply::new(500, "oops"),
        Reply::new(200, SEARCH_HIT),
    ])
    .await;
    assert!(matches!(
        client.lookup("acme-analytics.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    assert_eq!(server.request_count(), 3);
    assert_eq!(client.http().stats().retries, 2);
}
