//! Row parsing, the callback receiver, the CSV import and the webhook push, each against
//! realistic and broken input.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use firmo_connect::http::HttpPolicy;
use firmo_connect::testing::{
    BatchCase, Case, ErrorKind, Expect, Mode, PendingCase, ProviderContract, Reply, ScriptedServer,
    check_provider, contract_policy,
};
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Date, ExecChange, Field, ProviderRecord, Source, UnixMillis, Value, normalize};
use serde_json::{Map, Value as Json, json};

use crate::parse::{ClayRow, parse_row};
use crate::receiver::{CALLBACK_PATH, ClayRowSink, ReceiverConfig, router};
use crate::{ClayClient, ClayConfig, import_csv};

const AT: UnixMillis = UnixMillis(1_760_000_000_000);

fn object(json: Json) -> Map<String, Json> {
    match json {
        Json::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn row(json: Json) -> ClayRow {
    parse_row(&object(json), AT).unwrap()
}

fn record(row: &ClayRow, source: Source) -> &ProviderRecord {
    row.records
        .iter()
        .find(|r| r.source == source)
        .unwrap_or_else(|| panic!("no {source} record in {row:?}"))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn date(s: &str) -> Date {
    Date::parse_iso(s).unwrap()
}

/// A row as the Clay emulator's HTTP API column sends it.
fn emulator_row() -> Json {
    json!({
        "domain": "acme-analytics.example", "account_id": "123",
        "company_name": "Acme Analytics", "industry": "Software Development",
        "employee_count": 180, "linkedin_url": "https://www.linkedin.com/company/acme",
        "linkedin_employee_count": 176, "technologies": ["Amazon EC2", "React"],
        "funding_stage": "Series B", "last_funding_date": "2026-05-01",
        "last_funding_amount_usd": 32_000_000, "employee_growth_6mo_pct": 12.5,
        "open_engineering_roles": 7, "job_postings_count": 19,
        "recent_executive_changes": [
            {"name": "Dana Roe", "title": "VP Engineering", "start_date": "2026-09-01"},
            {"name": "Sam Poe", "title": "CTO", "start_date": "2026-03-15"}
        ],
        "clay_table_id": "t_firmo", "clay_row_id": "r_0000000001"
    })
}

#[test]
fn a_full_row_splits_into_clay_and_linkedin_records() {
    let row = row(emulator_row());
    assert_eq!(row.domain, "acme-analytics.example");
    assert_eq!(row.account_id.as_deref(), Some("123"));
    assert_eq!(row.records.len(), 2);
    let clay = record(&row, Source::Clay);
    assert_eq!(clay.fetched_at, AT);
    assert_eq!(
        clay.get(Field::Industry),
        Some(&text("Software Development"))
    );
    assert_eq!(clay.get(Field::Headcount), Some(&Value::Integer(180)));
    assert_eq!(
        clay.get(Field::TechStack),
        Some(&Value::TextList(normalize::tech_stack([
            "Amazon EC2",
            "React"
        ])))
    );
    assert_eq!(clay.get(Field::FundingStage), Some(&text("series_b")));
    assert_eq!(
        clay.get(Field::LastFundingDate),
        Some(&Value::Date(date("2026-05-01")))
    );
    assert_eq!(
        clay.get(Field::LastFundingAmount),
        Some(&Value::Integer(32_000_000))
    );
    assert_eq!(
        clay.get(Field::EmployeeGrowth6mo),
        None,
        "LinkedIn data never lands under Clay"
    );
    let linkedin = record(&row, Source::LinkedIn);
    assert_eq!(linkedin.get(Field::Headcount), Some(&Value::Integer(176)));
    assert_eq!(
        linkedin.get(Field::EmployeeGrowth6mo),
        Some(&Value::Decimal(12.5))
    );
    assert_eq!(
        linkedin.get(Field::RecentJobPostings),
        Some(&Value::Integer(19))
    );
    assert_eq!(
        linkedin.exec_changes,
        vec![
            ExecChange {
                title: "VP Engineering".into(),
                date: date("2026-09-01")
            },
            ExecChange {
                title: "CTO".into(),
                date: date("2026-03-15")
            },
        ]
    );
    assert_eq!(linkedin.get(Field::Industry), None);
}

#[test]
fn junk_values_are_normalized() {
    let row = row(json!({
        "domain": "https://www.Acme-Analytics.example/", "industry": " Software Development  ",
        "employee_count": "1,250", "technologies": ["React", "react", "AMAZON EC2 "],
        "last_funding_amount_usd": "$12.5M", "employee_growth_6mo_pct": "12.5%",
        "funding_stage": "Venture - Series Unknown"
    }));
    assert_eq!(row.domain, "acme-analytics.example");
    let clay = record(&row, Source::Clay);
    assert_eq!(
        clay.get(Field::Industry),
        Some(&text("Software Development"))
    );
    assert_eq!(clay.get(Field::Headcount), Some(&Value::Integer(1250)));
    assert_eq!(
        clay.get(Field::LastFundingAmount),
        Some(&Value::Integer(12_500_000))
    );
    let Some(Value::TextList(stack)) = clay.get(Field::TechStack) else {
        panic!("{clay:?}")
    };
    assert_eq!(
        stack,
        &normalize::tech_stack(["React", "react", "AMAZON EC2 "])
    );
    assert_eq!(stack.len(), 2, "{stack:?}");
    assert_eq!(
        record(&row, Source::LinkedIn).get(Field::EmployeeGrowth6mo),
        Some(&Value::Decimal(12.5))
    );
}

#[test]
fn a_row_clay_found_nothing_for_has_no_records() {
    let row = row(json!({
        "domain": "nobody.example", "company_name": null, "industry": null, "employee_count": null,
        "technologies": null, "funding_stage": null, "last_funding_date": null,
        "last_funding_amount_usd": null, "employee_growth_6mo_pct": null,
        "open_engineering_roles": null, "job_postings_count": null, "recent_executive_changes": null
    }));
    assert_eq!(row.domain, "nobody.example");
    assert!(row.records.is_empty(), "{row:?}");
}

#[test]
fn rows_without_a_usable_domain_are_rejected_naming_the_column() {
    let err = parse_row(&object(json!({"industry": "Software"})), AT).unwrap_err();
    assert!(
        err.to_string().contains("no domain") && err.to_string().contains("industry"),
        "{err}"
    );
    let err = parse_row(&object(json!({"Website": "not a domain"})), AT).unwrap_err();
    assert!(err.to_string().contains("`Website`"), "{err}");
    let err = parse_row(&object(json!({"domain": ["a.example"]})), AT).unwrap_err();
    assert!(err.to_string().contains("`domain`"), "{err}");
    assert!(
        parse_row(
            &object(json!({"domain": "", "website": "acme.example"})),
            AT
        )
        .is_ok(),
        "an empty column falls through"
    );
}

#[test]
fn column_names_are_matched_loosely() {
    let row = row(json!({
        "Company Website": "acme.example", "Employee Count": "51-200", "LinkedIn Headcount": "176",
        "Tech Stack": "React; Amazon EC2", "Last Funding Type": "series_a",
        "Last Funding Date": "2024-02-29", "Last Funding Amount": "3,000,000",
        "Employee Growth (6 months)": 8, "Open Engineering Roles": "4",
        "Executive Changes": "VP Engineering (2024-09-01); CTO: 2024-07-15; Janitor",
        "Some Column We Do Not Know": {"x": 1}
    }));
    let clay = record(&row, Source::Clay);
    assert_eq!(
        clay.get(Field::Headcount),
        normalize::headcount("51-200")
            .ok()
            .map(Value::Integer)
            .as_ref()
    );
    assert_eq!(
        clay.get(Field::TechStack),
        Some(&Value::TextList(normalize::tech_stack([
            "React",
            "Amazon EC2"
        ])))
    );
    assert_eq!(clay.get(Field::FundingStage), Some(&text("series_a")));
    assert_eq!(
        clay.get(Field::LastFundingAmount),
        Some(&Value::Integer(3_000_000))
    );
    let linkedin = record(&row, Source::LinkedIn);
    assert_eq!(linkedin.get(Field::Headcount), Some(&Value::Integer(176)));
    assert_eq!(
        linkedin.get(Field::EmployeeGrowth6mo),
        Some(&Value::Decimal(8.0))
    );
    assert_eq!(
        linkedin.get(Field::RecentJobPostings),
        Some(&Value::Integer(4)),
        "engineering roles as the fallback"
    );
    assert_eq!(
        linkedin.exec_changes,
        vec![
            ExecChange {
                title: "VP Engineering".into(),
                date: date("2024-09-01")
            },
            ExecChange {
                title: "CTO".into(),
                date: date("2024-07-15")
            },
        ]
    );
}

#[test]
fn wrong_types_drop_only_their_field() {
    let row = row(json!({
        "domain": "acme.example", "industry": 5, "employee_count": {"n": 3}, "technologies": {"a": 1},
        "last_funding_date": "someday", "last_funding_amount_usd": "lots", "funding_stage": "Series B",
        "employee_growth_6mo_pct": [1], "job_postings_count": -3, "recent_executive_changes": "nobody"
    }));
    let clay = record(&row, Source::Clay);
    assert_eq!(clay.fields.len(), 1, "{clay:?}");
    assert_eq!(clay.get(Field::FundingStage), Some(&text("series_b")));
    assert!(
        row.records.iter().all(|r| r.source != Source::LinkedIn),
        "nothing readable from LinkedIn"
    );
}

// ---- the callback receiver ----

/// A sink that records what it is given, and can be told to fail.
#[derive(Default)]
struct MemorySink {
    rows: Mutex<Vec<(String, Vec<ProviderRecord>)>>,
    fail: bool,
}

#[async_trait]
impl ClayRowSink for MemorySink {
    async fn accept(&self, domain: String, records: Vec<ProviderRecord>) -> Result<(), String> {
        if self.fail {
            return Err("disk full".into());
        }
        self.rows.lock().unwrap().push((domain, records));
        Ok(())
    }
}

const SECRET: &str = "callback-s3cret";

async fn receiver(sink: Arc<MemorySink>, max_body_bytes: usize) -> String {
    let mut config = ReceiverConfig::new(Secret::new(SECRET));
    config.max_body_bytes = max_body_bytes;
    let app = router(config, sink);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}{CALLBACK_PATH}")
}

async fn post(url: &str, secret: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, Json) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(secret) = secret {
        request = request.header("x-firmo-secret", secret);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(Json::Null);
    (status, json)
}

#[tokio::test]
async fn the_receiver_stores_authenticated_rows() {
    let sink = Arc::new(MemorySink::default());
    let url = receiver(Arc::clone(&sink), 1 << 20).await;
    let (status, answer) = post(&url, Some(SECRET), emulator_row().to_string()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"accepted": 1, "domains": ["acme-analytics.example"]})
    );
    let batch = json!([{"domain": "a.example", "industry": "Retail"}, {"website": "b.example"}]);
    assert_eq!(post(&url, Some(SECRET), batch.to_string()).await.0, 200);
    let rows = sink.rows.lock().unwrap();
    let domains: Vec<&str> = rows.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(
        domains,
        ["acme-analytics.example", "a.example", "b.example"]
    );
    assert_eq!(rows[0].1.len(), 2);
    assert!(
        rows[2].1.is_empty(),
        "nothing enriched: an empty list, cached as not found"
    );
}

#[tokio::test]
async fn the_receiver_refuses_missing_or_wrong_secrets() {
    let sink = Arc::new(MemorySink::default());
    let url = receiver(Arc::clone(&sink), 1 << 20).await;
    assert_eq!(post(&url, None, emulator_row().to_string()).await.0, 401);
    assert_eq!(
        post(&url, Some("callback-s3creT"), emulator_row().to_string())
            .await
            .0,
        401
    );
    assert_eq!(
        post(&url, Some(""), emulator_row().to_string()).await.0,
        401
    );
    assert!(sink.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_receiver_rejects_malformed_and_oversized_bodies() {
    let sink = Arc::new(MemorySink::default());
    let url = receiver(Arc::clone(&sink), 4096).await;
    let (status, answer) = post(&url, Some(SECRET), "{\"domain\": ").await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("not JSON"),
        "{answer}"
    );
    let (status, answer) = post(&url, Some(SECRET), r#""acme.example""#).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("expected a row object"),
        "{answer}"
    );
    let (status, answer) = post(
        &url,
        Some(SECRET),
        json!({"industry": "Retail"}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("no domain"),
        "{answer}"
    );
    // One bad row in a batch: the batch is refused whole, nothing stored.
    let batch = json!([{"domain": "a.example"}, {"domain": "???"}]);
    let (status, answer) = post(&url, Some(SECRET), batch.to_string()).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().starts_with("row 1:"),
        "{answer}"
    );
    let huge = json!({"domain": "a.example", "notes": "x".repeat(10_000)}).to_string();
    assert_eq!(post(&url, Some(SECRET), huge).await.0, 413);
    assert!(sink.rows.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_receiver_answers_500_when_the_sink_fails() {
    let sink = Arc::new(MemorySink {
        fail: true,
        ..MemorySink::default()
    });
    let url = receiver(sink, 1 << 20).await;
    assert_eq!(
        post(&url, Some(SECRET), emulator_row().to_string()).await.0,
        500
    );
}

// ---- the CSV import ----

#[test]
fn csv_import_maps_headers_and_reports_bad_lines() {
    let csv = "\
Company Name,Website,Industry,Employee Count,Technologies,Funding Stage,Last Funding Date,Last Funding Amount (USD),Employee Growth 6mo (%),Job Postings Count,Recent Executive Changes
Acme,https://acme.example,Software Development,\"1,250\",\"[\"\"React\"\",\"\"Amazon EC2\"\"]\",Series B,2024-05-02,$25M,12.5%,19,\"[{\"\"title\"\":\"\"CTO\"\",\"\"start_date\"\":\"\"2024-07-15\"\"}]\"
NoDomain Inc,,Retail,10,,,,,,,
Beta,beta.example,,,,,,,,,
Broken,not a domain!,Retail,,,,,,,,
";
    let import = import_csv(csv.as_bytes(), AT).unwrap();
    let domains: Vec<&str> = import.rows.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(domains, ["acme.example", "beta.example"]);
    let acme = &import.rows[0].1;
    let clay = acme.iter().find(|r| r.source == Source::Clay).unwrap();
    assert_eq!(clay.get(Field::Headcount), Some(&Value::Integer(1250)));
    assert_eq!(
        clay.get(Field::LastFundingAmount),
        Some(&Value::Integer(25_000_000))
    );
    assert_eq!(clay.get(Field::FundingStage), Some(&text("series_b")));
    let linkedin = acme.iter().find(|r| r.source == Source::LinkedIn).unwrap();
    assert_eq!(
        linkedin.get(Field::EmployeeGrowth6mo),
        Some(&Value::Decimal(12.5))
    );
    assert_eq!(
        linkedin.get(Field::RecentJobPostings),
        Some(&Value::Integer(19))
    );
    assert_eq!(linkedin.exec_changes.len(), 1);
    assert!(import.rows[1].1.is_empty());
    let lines: Vec<u64> = import.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 5], "{:?}", import.errors);
    assert!(
        import.errors[0].message.contains("no domain"),
        "{:?}",
        import.errors
    );
    assert!(
        import.errors[1].message.contains("Website"),
        "{:?}",
        import.errors
    );
}

#[test]
fn csv_without_a_domain_column_is_refused() {
    let err = import_csv("Name,Industry\nAcme,Retail\n".as_bytes(), AT).unwrap_err();
    assert!(err.to_string().contains("Name, Industry"), "{err}");
    let empty = import_csv("domain\n".as_bytes(), AT).unwrap();
    assert!(empty.rows.is_empty() && empty.errors.is_empty());
}

#[test]
fn csv_with_ragged_lines_keeps_going() {
    let csv =
        "domain,industry\nacme.example,Retail\nshort.example\nlong.example,Retail,extra,cells\n";
    let import = import_csv(csv.as_bytes(), AT).unwrap();
    assert_eq!(import.rows.len(), 3, "{import:?}");
}

// ---- the webhook push ----

fn build(base_url: &str, token: Secret, policy: HttpPolicy) -> Result<ClayClient, ConnectorError> {
    let config = ClayConfig {
        webhook_url: format!("{base_url}/webhooks/t_firmo"),
        ..ClayConfig::default()
    };
    ClayClient::with_policy(config, Some(token), policy)
}

const ACCEPTED: &str = r#"{"success":true,"row_id":"r_1"}"#;

/// Clay's webhook: 200 accepts the row (billed at once: its columns run), 401 a wrong
/// token, 402 or a 4xx naming the submission limit an exhausted webhook. A lookup never
/// finds or misses: the row's answer arrives later through the receiver.
fn contract() -> ProviderContract {
    let callback = "a lookup only pushes the row: Clay answers through the callback receiver";
    ProviderContract {
        service: Service::Clay,
        key: "clay-webhook-token-0123".into(),
        domain: "acme.example".into(),
        found: Case::Unsupported(callback),
        not_found: Case::Unsupported(callback),
        pending: Case::Expect(PendingCase {
            replies: vec![Reply::new(200, ACCEPTED)],
            charged: true,
        }),
        auth: vec![vec![Reply::new(
            401,
            r#"{"success":false,"error":"Missing or invalid webhook auth token."}"#,
        )]],
        quota: Case::Expect(vec![
            vec![Reply::new(402, "Payment required")],
            vec![Reply::new(
                403,
                "This webhook has reached its submission limit",
            )],
        ]),
        malformed: Case::Unsupported(
            "the webhook's answer body is not read: a 2xx accepts the row",
        ),
        // A webhook takes one row per request; each accepted row is billed.
        batch: BatchCase {
            domains: ["a.example", "b.example", "c.example"]
                .map(String::from)
                .to_vec(),
            replies: vec![
                Reply::new(200, ACCEPTED),
                Reply::new(400, r#"{"success":false,"error":"Payload too large"}"#),
                Reply::new(200, ACCEPTED),
            ],
            expected: vec![
                (Expect::Pending, 1.0),
                (Expect::Failed(ErrorKind::Validation), 0.0),
                (Expect::Pending, 1.0),
            ],
            auth: Reply::new(
                401,
                r#"{"success":false,"error":"Missing or invalid webhook auth token."}"#,
            ),
        },
    }
}

#[tokio::test]
async fn clay_meets_the_connector_contract() {
    let report = check_provider(&contract(), build).await;
    assert_eq!(
        report.unsupported_modes(),
        [Mode::Found, Mode::NotFound, Mode::Malformed],
        "{report:?}"
    );
}

async fn clay_for(replies: Vec<Reply>, token: &str) -> (ClayClient, ScriptedServer) {
    let server = ScriptedServer::start(replies).await;
    let client = build(
        &server.base_url(),
        Secret::new(token),
        contract_policy(Service::Clay),
    )
    .unwrap();
    (client, server)
}

/// The token and JSON body of each push the server saw.
fn pushes(server: &ScriptedServer) -> Vec<(Option<String>, Json)> {
    server
        .requests()
        .iter()
        .map(|r| (r.header("x-clay-webhook-auth").map(str::to_owned), r.json()))
        .collect()
}

#[tokio::test]
async fn lookup_pushes_once_and_is_pending() {
    let (client, server) = clay_for(
        vec![Reply::new(200, ACCEPTED), Reply::new(200, ACCEPTED)],
        "tok",
    )
    .await;
    let hour = Some(Duration::from_hours(1));
    assert_eq!(
        client.lookup("acme.example").await.unwrap(),
        LookupOutcome::Pending {
            retry_after: hour,
            charged: true
        }
    );
    let LookupOutcome::Pending {
        retry_after: Some(left),
        charged: false,
    } = client.lookup("acme.example").await.unwrap()
    else {
        panic!()
    };
    assert!(left <= Duration::from_hours(1));
    assert_eq!(
        server.request_count(),
        1,
        "a pending domain is not pushed twice"
    );
    client.row_arrived("acme.example");
    assert!(matches!(
        client.lookup("acme.example").await.unwrap(),
        LookupOutcome::Pending { .. }
    ));
    let seen = pushes(&server);
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0],
        (Some("tok".to_owned()), json!({"domain": "acme.example"}))
    );
    assert_eq!(server.requests()[0].path, "/webhooks/t_firmo");
    assert_eq!(
        (client.name(), client.sources()),
        ("clay", &[Source::Clay, Source::LinkedIn][..])
    );
}

#[tokio::test]
async fn push_carries_the_account_id() {
    let (client, server) = clay_for(vec![Reply::new(200, ACCEPTED)], "tok").await;
    client.push("acme.example", Some("123")).await.unwrap();
    assert_eq!(
        pushes(&server)[0].1,
        json!({"domain": "acme.example", "account_id": "123"})
    );
}

#[tokio::test]
async fn a_deleted_webhook_is_not_found() {
    let (client, server) = clay_for(
        vec![Reply::new(
            404,
            r#"{"success":false,"error":"No table with this webhook."}"#,
        )],
        "tok",
    )
    .await;
    let gone = client.lookup("c.example").await.unwrap_err();
    assert!(
        matches!(gone, ConnectorError::NotFound { .. }) && !gone.is_transient(),
        "{gone:?}"
    );
    assert_eq!(server.request_count(), 1);
}

#[test]
fn a_missing_webhook_url_is_a_clear_error() {
    let err = ClayClient::new(ClayConfig::default(), None).unwrap_err();
    assert!(err.to_string().contains("webhook_url"), "{err}");
    let err = ClayClient::new(
        ClayConfig {
            webhook_url: "not a url".into(),
            ..ClayConfig::default()
        },
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a usable URL"), "{err}");
}
