//! The HubSpot connector against the shared scripted server: the CRM connector contract
//! through the `Crm` trait, then batch-update answers the sandbox doesn't give but
//! HubSpot may: a 207 whose errors name records only by `ids`, transient errors inside a
//! 207, results without `objectWriteTraceId`, records missing from both `results` and
//! `errors`.

use firmo_connect::crm::{CompanyUpdate, WriteOutcome};
use firmo_connect::http::HttpPolicy;
use firmo_connect::testing::{
    CrmContract, ErrorKind, Expected, MalformedCase, Mode, Reply, ScriptedServer, check_crm,
    contract_policy,
};
use firmo_connect::{ConnectorError, Secret, Service};
use firmo_hubspot::{HubspotClient, HubspotConfig};
use serde_json::{Value, json};

const TOKEN: &str = "pat-na1-00000000-1111-2222-3333-444444444444";

#[expect(
    clippy::needless_pass_by_value,
    reason = "the contract's builder shape: other connectors take the policy by value"
)]
fn build(
    base_url: &str,
    token: Secret,
    policy: HttpPolicy,
) -> Result<HubspotClient, ConnectorError> {
    let HttpPolicy {
        timeout,
        max_retries,
        base_backoff,
        max_backoff,
        max_retry_time,
        ..
    } = policy;
    let mut config = HubspotConfig::new(token).with_base_url(base_url);
    // No client-side pacing: the waits under test are the server's.
    config.requests_per_interval = 0;
    config.search_per_second = 0;
    config.timeout = timeout;
    config.max_retries = max_retries;
    config.base_backoff = base_backoff;
    config.max_backoff = max_backoff;
    config.max_retry_time = max_retry_time;
    HubspotClient::new(config)
}

fn object(id: &str) -> Value {
    json!({"id": id, "properties": {}, "createdAt": "2024-01-01T00:00:00.000Z",
           "updatedAt": "2024-01-01T00:00:00.000Z", "archived": false})
}

fn batch(results: &[&str], errors: &[Value]) -> Value {
    json!({"status": "COMPLETE", "results": results.iter().map(|id| object(id)).collect::<Vec<_>>(),
           "errors": errors, "numErrors": 0,
           "startedAt": "2024-01-01T00:00:00.000Z", "completedAt": "2024-01-01T00:00:00.000Z"})
}

fn updates(ids: &[&str]) -> Vec<CompanyUpdate> {
    ids.iter()
        .map(|id| CompanyUpdate {
            id: (*id).to_owned(),
            properties: [("numberofemployees".to_owned(), format!("{id}0"))].into(),
        })
        .collect()
}

fn sent_ids(body: &Value) -> Vec<String> {
    body["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(
                i["objectWriteTraceId"], i["id"],
                "each input is traced by its id"
            );
            i["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// HubSpot's answers: a last page of the companies list, a 200 batch update, a 207 that
/// fails one record as invalid and one as deleted, a 401 for a refused token.
fn contract() -> CrmContract {
    let error = |category: &str, message: &str, ids: &[&str]| {
        json!({"status": "error", "category": category, "message": message,
               "context": {"ids": ids}, "errors": [], "links": {}})
    };
    CrmContract {
        service: Service::Hubspot,
        token: TOKEN.into(),
        pull_page: vec![Reply::json(
            200,
            &json!({"results": [object("1"), object("2")]}),
        )],
        pull_companies: 2,
        pull_malformed: MalformedCase::new(
            vec![Reply::json(200, &json!({"results": "none"}))],
            "companies list",
        ),
        updates: updates(&["1", "2", "3"]),
        update_written: vec![Reply::json(200, &batch(&["1", "2", "3"], &[]))],
        update_partial: vec![Reply::json(
            207,
            &batch(
                &["1"],
                &[
                    error("VALIDATION_ERROR", "Property values were not valid", &["2"]),
                    error(
                        "OBJECT_NOT_FOUND",
                        "Could not get some COMPANY objects, they may be deleted or not exist.",
                        &["3"],
                    ),
                ],
            ),
        )],
        partial_expected: vec![
            Expected::Written,
            Expected::Failed(ErrorKind::Validation),
            Expected::Failed(ErrorKind::NotFound),
        ],
        update_malformed: MalformedCase::new(
            vec![Reply::json(200, &json!({"results": 5}))],
            "batch update response",
        ),
        auth: Reply::json(
            401,
            &json!({"status": "error", "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found."}),
        ),
    }
}

#[tokio::test]
async fn hubspot_meets_the_crm_connector_contract() {
    let report = check_crm(&contract(), build).await;
    assert!(report.unsupported.is_empty(), "{report:?}");
    assert!(report.checked.contains(&Mode::PartialWrite), "{report:?}");
}

async fn serve(replies: Vec<Reply>, fallback: Option<Reply>) -> (HubspotClient, ScriptedServer) {
    let server = ScriptedServer::start(replies).await;
    server.set_fallback(fallback);
    let client = build(
        &server.base_url(),
        Secret::new(TOKEN),
        contract_policy(Service::Hubspot),
    )
    .unwrap();
    (client, server)
}

fn bodies(server: &ScriptedServer) -> Vec<Value> {
    server
        .requests()
        .iter()
        .map(firmo_connect::testing::Seen::json)
        .collect()
}

#[tokio::test]
async fn transient_and_unmentioned_records_are_resent_alone() {
    let rate_limited = json!({"status": "error", "category": "RATE_LIMITS",
        "message": "You have reached your ten_secondly_rolling limit.", "context": {"ids": ["3"]}, "errors": [], "links": {}});
    let (client, server) = serve(
        vec![
            Reply::json(207, &batch(&["1", "2"], &[rate_limited])),
            Reply::json(200, &batch(&["3", "4"], &[])),
        ],
        None,
    )
    .await;
    let outcomes = client
        .batch_update(&updates(&["1", "2", "3", "4"]))
        .await
        .unwrap();
    assert!(
        outcomes.iter().all(WriteOutcome::is_written),
        "{outcomes:?}"
    );
    let bodies = bodies(&server);
    assert_eq!(bodies.len(), 2);
    assert_eq!(sent_ids(&bodies[0]), ["1", "2", "3", "4"]);
    assert_eq!(
        sent_ids(&bodies[1]),
        ["3", "4"],
        "only the records not yet written"
    );
}

#[tokio::test]
async fn an_answer_that_never_mentions_a_record_fails_it_after_the_retries() {
    let (client, server) = serve(Vec::new(), Some(Reply::json(200, &batch(&["1"], &[])))).await;
    let outcomes = client.batch_update(&updates(&["1", "2"])).await.unwrap();
    assert!(outcomes[0].is_written());
    assert!(
        matches!(
            &outcomes[1],
            WriteOutcome::Failed {
                error: ConnectorError::Malformed { .. },
                ..
            }
        ),
        "{:?}",
        outcomes[1]
    );
    // The first call, then 3 rounds for record 2 alone.
    let bodies = bodies(&server);
    assert_eq!(bodies.len(), 4);
    assert!(bodies[1..].iter().all(|b| sent_ids(b) == ["2"]));
}

#[tokio::test]
async fn errors_named_by_ids_only_map_to_their_records_with_the_value_sent() {
    let invalid = json!({"status": "error", "category": "VALIDATION_ERROR",
        "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"20 was not a valid number\",\"error\":\"INVALID_LONG\",\"name\":\"numberofemployees\"}]",
        "context": {"ids": ["2"]}, "errors": [], "links": {}});
    let missing = json!({"status": "error", "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some COMPANY objects, they may be deleted or not exist.",
        "context": {"ids": ["3"]}, "errors": [], "links": {}});
    let (client, server) = serve(
        vec![Reply::json(207, &batch(&["1"], &[invalid, missing]))],
        None,
    )
    .await;
    let outcomes = client
        .batch_update(&updates(&["1", "2", "3"]))
        .await
        .unwrap();
    assert!(outcomes[0].is_written());
    let WriteOutcome::Failed {
        error:
            ConnectorError::Validation {
                property,
                value,
                message,
                ..
            },
        ..
    } = &outcomes[1]
    else {
        panic!("{:?}", outcomes[1])
    };
    assert_eq!(
        (property.as_deref(), value.as_deref()),
        (Some("numberofemployees"), Some("20"))
    );
    assert!(message.contains("INVALID_LONG"), "{message}");
    assert!(matches!(
        &outcomes[2],
        WriteOutcome::Failed {
            error: ConnectorError::NotFound { .. },
            ..
        }
    ));
    assert_eq!(server.request_count(), 1, "final errors are not resent");
}

#[tokio::test]
async fn a_server_error_that_outlasts_the_retries_fails_the_batch_but_reports_every_record() {
    let down = json!({"status": "error", "category": "INTERNAL_ERROR", "message": "down"});
    let (client, server) = serve(Vec::new(), Some(Reply::json(503, &down))).await;
    let outcomes = client.batch_update(&updates(&["1", "2"])).await.unwrap();
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert!(
            matches!(
                o,
                WriteOutcome::Failed {
                    error: ConnectorError::Server { status: 503, .. },
                    ..
                }
            ),
            "{o:?}"
        );
    }
    // 1 attempt + the configured retries, then reported.
    assert_eq!(
        server.request_count() as u32,
        1 + client.config().max_retries
    );
}
