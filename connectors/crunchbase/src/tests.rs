//! The adapter against the shared scripted server: the connector contract, then what is
//! Crunchbase's own (both calls of a lookup, retries on either).

use firmo_connect::http::HttpPolicy;
use firmo_connect::testing::{
    Case, MalformedCase, Mode, ProviderContract, Reply, ScriptedServer, check_provider,
    contract_policy,
};
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Date, Field, Source, Value};

use crate::{CrunchbaseClient, CrunchbaseConfig};

const KEY: &str = "cb-user-key-0123456789";

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

fn build(
    base_url: &str,
    key: Secret,
    policy: HttpPolicy,
) -> Result<CrunchbaseClient, ConnectorError> {
    let config = CrunchbaseConfig {
        base_url: base_url.to_owned(),
        ..CrunchbaseConfig::default()
    };
    CrunchbaseClient::with_policy(config, key, policy)
}

/// Crunchbase's answers: a lookup is a search, then the entity; an empty search is not
/// found after one call, an entity gone since the search (404) too; 401 bad key; 402 on
/// a plan's call quota.
fn contract() -> ProviderContract {
    let hit = || Reply::new(200, SEARCH_HIT);
    ProviderContract {
        service: Service::Crunchbase,
        key: KEY.into(),
        domain: "acme-analytics.example".into(),
        found: Case::Expect(vec![hit(), Reply::new(200, ORGANIZATION)]),
        not_found: Case::Expect(vec![
            vec![Reply::new(200, SEARCH_MISS)],
            vec![hit(), Reply::new(404, "[]")],
        ]),
        pending: Case::Unsupported("Crunchbase answers every lookup at once: no queued state"),
        auth: vec![vec![Reply::new(
            401,
            r#"[{"message":"Invalid user key","code":"LA401"}]"#,
        )]],
        quota: Case::Expect(vec![vec![
            hit(),
            Reply::new(402, r#"{"error":"Monthly quota reached"}"#),
        ]]),
        malformed: Case::Expect(vec![
            MalformedCase::new(vec![Reply::new(200, r#"{"entities":"none"}"#)], "entities"),
            MalformedCase::new(
                vec![
                    hit(),
                    Reply::new(200, r#"{"cards":{"raised_funding_rounds":{"0":{}}}}"#),
                ],
                "cards.raised_funding_rounds",
            ),
        ]),
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
async fn search_then_entity_gives_the_latest_round() {
    let (client, server) = client_for(vec![
        Reply::new(200, SEARCH_HIT),
        Reply::new(200, ORGANIZATION),
    ])
    .await;
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
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/api/v4/searches/organizations")
    );
    assert_eq!(seen[0].json()["query"][0]["field_id"], "website_url");
    assert_eq!(
        seen[0].json()["query"][0]["values"][0],
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
    assert!(seen.iter().all(|s| s.header("x-cb-user-key") == Some(KEY)));
    assert_eq!(
        (client.name(), client.sources()),
        ("crunchbase", &[Source::Crunchbase][..])
    );
    assert!((client.cost_per_lookup() - 2.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn rate_limited_and_server_errors_are_retried_on_either_call() {
    let (client, server) = client_for(vec![
        Reply::new(429, r#"[{"message":"Rate limit exceeded"}]"#).header("retry-after", "0"),
        Reply::new(200, SEARCH_HIT),
        Reply::new(500, "oops"),
        Reply::new(200, ORGANIZATION),
    ])
    .await;
    assert!(matches!(
        client.lookup("acme-analytics.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    assert_eq!(server.request_count(), 4);
    assert_eq!(client.http().stats().retries, 2);
}
