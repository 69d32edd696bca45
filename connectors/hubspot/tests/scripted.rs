//! Batch-update answers the sandbox doesn't give but HubSpot may: a 207 whose errors
//! name records only by `ids`, transient errors inside a 207, results without
//! `objectWriteTraceId`, records missing from both `results` and `errors`. A tiny
//! scripted server on 127.0.0.1:0 answers them and records what the client sent.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use firmo_connect::crm::{CompanyUpdate, WriteOutcome};
use firmo_connect::{ConnectorError, Secret};
use firmo_hubspot::{HubspotClient, HubspotConfig};
use serde_json::{Value, json};

#[derive(Default)]
struct Script {
    answers: VecDeque<(u16, Value)>,
    fallback: Option<(u16, Value)>,
    bodies: Vec<Value>,
}

type Shared = Arc<Mutex<Script>>;

async fn batch_update(
    State(script): State<Shared>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut s = script.lock().unwrap();
    s.bodies.push(body);
    let (status, answer) = s
        .answers
        .pop_front()
        .or_else(|| s.fallback.clone())
        .expect("a scripted answer");
    (StatusCode::from_u16(status).unwrap(), Json(answer))
}

async fn serve(script: Script) -> (HubspotClient, Shared) {
    let shared = Arc::new(Mutex::new(script));
    let app = Router::new()
        .route("/crm/v3/objects/companies/batch/update", post(batch_update))
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = HubspotConfig::new(Secret::new("t")).with_base_url(format!("http://{addr}"));
    config.requests_per_interval = 1000;
    config.interval = Duration::from_secs(1);
    config.base_backoff = Duration::from_millis(5);
    (HubspotClient::new(config).unwrap(), shared)
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

#[tokio::test]
async fn transient_and_unmentioned_records_are_resent_alone() {
    let rate_limited = json!({"status": "error", "category": "RATE_LIMITS",
        "message": "You have reached your ten_secondly_rolling limit.", "context": {"ids": ["3"]}, "errors": [], "links": {}});
    let script = Script {
        answers: VecDeque::from([
            (207, batch(&["1", "2"], &[rate_limited])),
            (200, batch(&["3", "4"], &[])),
        ]),
        ..Script::default()
    };
    let (client, shared) = serve(script).await;
    let outcomes = client
        .batch_update(&updates(&["1", "2", "3", "4"]))
        .await
        .unwrap();
    assert!(
        outcomes.iter().all(WriteOutcome::is_written),
        "{outcomes:?}"
    );
    let bodies = shared.lock().unwrap().bodies.clone();
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
    let script = Script {
        fallback: Some((200, batch(&["1"], &[]))),
        ..Script::default()
    };
    let (client, shared) = serve(script).await;
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
    let bodies = shared.lock().unwrap().bodies.clone();
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
    let script = Script {
        answers: VecDeque::from([(207, batch(&["1"], &[invalid, missing]))]),
        ..Script::default()
    };
    let (client, shared) = serve(script).await;
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
    assert_eq!(
        shared.lock().unwrap().bodies.len(),
        1,
        "final errors are not resent"
    );
}

#[tokio::test]
async fn a_server_error_that_outlasts_the_retries_fails_the_batch_but_reports_every_record() {
    let script = Script {
        fallback: Some((
            503,
            json!({"status": "error", "category": "INTERNAL_ERROR", "message": "down"}),
        )),
        ..Script::default()
    };
    let (client, shared) = serve(script).await;
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
        shared.lock().unwrap().bodies.len() as u32,
        1 + client.config().max_retries
    );
}
