//! A person lookup round trip against the sandbox's Clay people emulator (127.0.0.1 on
//! ephemeral ports): the push answers pending and is billed once, the enriched row comes
//! back through our receiver with canonical values, a stranger is not found, and the
//! receiver refuses what it must.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use firmo_clay::receiver::{Accept, ReceiverConfig};
use firmo_clay::{ClayConfig, ClayPeopleClient, ClayPersonSink, PersonRow, people_router};
use firmo_connect::{PersonOutcome, PersonProvider, PersonQuery, Secret};
use firmo_core::Date;
use firmo_core::contact::ContactField;
use firmo_core::value::Value;
use firmo_sandbox::emulators::EmulatorSettings;
use firmo_sandbox::emulators::people::people_at;
use firmo_sandbox::{SandboxConfig, SandboxHandle};
use serde_json::json;
use tokio::sync::mpsc;

const SECRET: &str = "people-callback-secret";

/// Stores rows for keys it was told to expect, and hands every stored row to the test.
struct Sink {
    expected: Mutex<BTreeSet<String>>,
    rows: mpsc::UnboundedSender<PersonRow>,
}

#[async_trait]
impl ClayPersonSink for Sink {
    async fn offer(&self, row: PersonRow) -> Result<Accept, String> {
        if !self.expected.lock().unwrap().remove(&row.key) {
            return Ok(Accept::Unsolicited);
        }
        self.rows.send(row).map_err(|e| e.to_string())?;
        Ok(Accept::Stored)
    }
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn today() -> Date {
    Date::new(2026, 11, 26).unwrap()
}

async fn sandbox() -> SandboxHandle {
    let config = SandboxConfig {
        companies: 1,
        emulators: EmulatorSettings {
            today: today(),
            clay_callback_delay: Duration::ZERO,
            ..EmulatorSettings::default()
        },
        ..SandboxConfig::default()
    };
    firmo_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A plain client for the emulator's admin calls, built by firmo's HTTP layer (which
/// installs the TLS provider reqwest insists on, even for http).
fn http() -> reqwest::Client {
    let policy =
        firmo_connect::HttpPolicy::new(firmo_connect::Service::Clay, 600, Duration::from_mins(1));
    firmo_connect::HttpClient::new(policy)
        .unwrap()
        .reqwest()
        .clone()
}

#[tokio::test]
async fn a_person_is_pushed_once_and_comes_back_enriched() {
    let (tx, mut rows) = mpsc::unbounded_channel();
    let sink = Arc::new(Sink {
        expected: Mutex::default(),
        rows: tx,
    });
    let receiver = serve(people_router(
        ReceiverConfig::new(Secret::new(SECRET)),
        sink.clone(),
    ))
    .await;
    let sandbox = sandbox().await;
    let configured = http()
        .put(format!(
            "{}/clay/people/_emulator/tables/people",
            sandbox.base_url()
        ))
        .json(&json!({
            "callback_url": format!("http://{receiver}/clay/people/rows"),
            "callback_secret_header": "x-firmo-secret",
            "callback_secret": SECRET,
            "webhook_token": "people-token",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(configured.status(), 200);
    let config = ClayConfig {
        webhook_url: format!("{}/clay/people/webhooks/people", sandbox.base_url()),
        ..ClayConfig::default()
    };
    let clay = ClayPeopleClient::new(config.clone(), Some(Secret::new("people-token"))).unwrap();

    // A company whose engineering leader started recently, and that leader: the
    // emulator's people come from each company's synthetic profile.
    let (domain, lead) = (0..1000)
        .map(|i| format!("acme{i}.example"))
        .find(|d| firmo_sandbox::has_recent_exec(d))
        .map(|d| {
            let lead = people_at(&d)[0];
            (d, lead)
        })
        .unwrap();
    let email = format!("{}@{domain}", lead.local_part());
    let maya = PersonQuery {
        contact_id: "5000001".into(),
        email: Some(email.clone()),
        first_name: Some(lead.first.into()),
        company_domain: Some(domain.clone()),
        ..PersonQuery::default()
    };
    sink.expected.lock().unwrap().insert(maya.key());
    let first = clay.lookup_person(&maya).await.unwrap();
    assert!(matches!(
        first,
        PersonOutcome::Pending { charged: true, .. }
    ));
    // Asked again before the row is back: not pushed again, not billed again.
    let again = clay.lookup_person(&maya).await.unwrap();
    assert!(matches!(
        again,
        PersonOutcome::Pending { charged: false, .. }
    ));
    assert_eq!(clay.http().stats().requests, 1);

    let row = rows.recv().await.unwrap();
    assert_eq!(row.contact_id, "5000001");
    assert_eq!(row.key, format!("email:{email}"));
    let PersonOutcome::Found(contact) = &row.outcome else {
        panic!("{lead:?} is one of the emulator's people at {domain}: {row:?}")
    };
    assert_eq!(
        contact[&ContactField::JobTitle],
        Value::Text(lead.title.into())
    );
    assert_eq!(
        contact[&ContactField::Seniority],
        Value::Text(lead.seniority.into())
    );
    assert_eq!(
        contact[&ContactField::RoleStartDate],
        Value::Date(
            Date::from_days_since_epoch(today().days_since_epoch() - lead.days_in_role).unwrap()
        )
    );
    let Value::Text(url) = &contact[&ContactField::LinkedinUrl] else {
        panic!("a LinkedIn URL")
    };
    assert_eq!(url, &lead.linkedin_url(&domain));
    // Core counts her as an executive change within 90 days of "today".
    let evaluation = firmo_core::contact::evaluate_contact(
        contact,
        &firmo_core::ValidationContext::new(today()),
    );
    assert!(evaluation.exec_change.is_some());

    clay.row_arrived(&row.key);
    let stranger = PersonQuery {
        contact_id: "5000002".into(),
        email: Some(format!("nobody@{domain}")),
        ..PersonQuery::default()
    };
    sink.expected.lock().unwrap().insert(stranger.key());
    clay.lookup_person(&stranger).await.unwrap();
    let row = rows.recv().await.unwrap();
    assert_eq!(row.contact_id, "5000002");
    assert_eq!(row.outcome, PersonOutcome::NotFound);

    // A wrong webhook token is the table's 401, named as an auth failure.
    let wrong = ClayPeopleClient::new(config, Some(Secret::new("nope"))).unwrap();
    let err = wrong.lookup_person(&maya).await.unwrap_err();
    assert!(!err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn the_receiver_refuses_strangers_bad_rows_and_unsolicited_people() {
    let (tx, _rows) = mpsc::unbounded_channel();
    let sink = Arc::new(Sink {
        expected: Mutex::default(),
        rows: tx,
    });
    let receiver = serve(people_router(
        ReceiverConfig::new(Secret::new(SECRET)),
        sink,
    ))
    .await;
    let url = format!("http://{receiver}/clay/people/rows");
    let c = http();
    let row = json!({"contact_id": "1", "email": "maya.chen@acme.example", "job_title": "CTO"});
    let no_secret = c.post(&url).json(&row).send().await.unwrap();
    assert_eq!(no_secret.status(), 401);
    let post = |body: serde_json::Value| {
        c.post(&url)
            .header("x-firmo-secret", SECRET)
            .json(&body)
            .send()
    };
    let bad = post(json!([row, {"job_title": "CTO"}])).await.unwrap();
    assert_eq!(bad.status(), 400);
    let message = bad.text().await.unwrap();
    assert!(
        message.contains("row 1") && message.contains("contact_id"),
        "{message}"
    );
    let unsolicited = post(row).await.unwrap();
    assert_eq!(unsolicited.status(), 422);
    let body: serde_json::Value = unsolicited.json().await.unwrap();
    assert_eq!(body["unsolicited"], json!(["1"]));
}

#[test]
fn a_people_client_needs_a_usable_webhook_url() {
    let err = ClayPeopleClient::new(ClayConfig::default(), None).unwrap_err();
    assert!(err.to_string().contains("people table"), "{err}");
    let config = ClayConfig {
        webhook_url: "not a url".into(),
        ..ClayConfig::default()
    };
    assert!(ClayPeopleClient::new(config, None).is_err());
}
