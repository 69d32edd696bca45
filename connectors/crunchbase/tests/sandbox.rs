//! The Crunchbase adapter against the sandbox's Crunchbase emulator.

use firmo_connect::testing::quick_backoff;
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Field, Source, Value};
use firmo_crunchbase::{CrunchbaseClient, CrunchbaseConfig};
use firmo_sandbox::emulators::EmulatorSettings;
use firmo_sandbox::testing::sandbox;
use firmo_sandbox::{Faults, SandboxHandle};

fn client(sandbox: &SandboxHandle, key: &str) -> CrunchbaseClient {
    let config = CrunchbaseConfig {
        base_url: format!("{}/crunchbase", sandbox.base_url()),
        ..CrunchbaseConfig::default()
    };
    let policy = quick_backoff(CrunchbaseClient::http_policy(&config));
    CrunchbaseClient::with_policy(config, Secret::new(key), policy).unwrap()
}

fn key() -> String {
    EmulatorSettings::default().crunchbase_key
}

#[tokio::test]
async fn complete_company_has_its_latest_round() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let LookupOutcome::Found(records) = client(&sandbox, &key())
        .lookup("complete.example")
        .await
        .unwrap()
    else {
        panic!("complete.example should be found")
    };
    let record = &records[0];
    assert_eq!(record.source, Source::Crunchbase);
    let Some(Value::Text(stage)) = record.get(Field::FundingStage) else {
        panic!("{record:?}")
    };
    assert!(
        firmo_core::field::FUNDING_STAGES
            .iter()
            .any(|s| s.value == stage),
        "{stage}"
    );
    assert!(
        matches!(record.get(Field::LastFundingDate), Some(Value::Date(_))),
        "{record:?}"
    );
    assert!(
        matches!(record.get(Field::LastFundingAmount), Some(Value::Integer(n)) if *n > 0),
        "{record:?}"
    );
}

#[tokio::test]
async fn unknown_and_unfunded_companies() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let crunchbase = client(&sandbox, &key());
    assert_eq!(
        crunchbase.lookup("notfound.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    assert_eq!(
        crunchbase
            .lookup("missing-crunchbase.example")
            .await
            .unwrap(),
        LookupOutcome::NotFound
    );
    let LookupOutcome::Found(records) = crunchbase.lookup("unfunded.example").await.unwrap() else {
        panic!()
    };
    assert_eq!(
        records[0].get(Field::FundingStage),
        None,
        "{:?}",
        records[0]
    );
    assert_eq!(records[0].get(Field::LastFundingAmount), None);
    assert!(matches!(
        crunchbase.lookup("junk.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
}

#[tokio::test]
async fn a_wrong_key_stops_crunchbase() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let err = client(&sandbox, "not-the-key")
        .lookup("complete.example")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Auth {
                service: Service::Crunchbase,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.stops_service() && !format!("{err:?}").contains("not-the-key"));
}

#[tokio::test]
async fn injected_429s_and_5xx_are_retried() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let crunchbase = client(&sandbox, &key());
    sandbox.set_faults(Faults {
        burst_429: 2,
        ..Faults::default()
    });
    assert!(matches!(
        crunchbase.lookup("complete.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    assert_eq!(crunchbase.http().stats().rate_limited, 2);
    sandbox.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let err = crunchbase.lookup("complete.example").await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Server { .. }) && err.is_transient(),
        "{err:?}"
    );
    assert!(
        !err.stops_service(),
        "a server error does not stop Crunchbase for the run"
    );
}

#[tokio::test]
async fn a_batch_is_one_search_per_25_domains_with_no_entity_calls() {
    let (sandbox, log) =
        firmo_sandbox::testing::sandbox_with_log(EmulatorSettings::default()).await;
    let crunchbase = client(&sandbox, &key());
    let mut domains: Vec<String> = (0..28).map(|i| format!("batch-{i}.example")).collect();
    domains.extend(["complete.example", "missing-crunchbase.example"].map(String::from));
    let answers = crunchbase.lookup_batch(&domains).await;
    assert_eq!(answers.len(), 30);
    assert_eq!(log.requests("crunchbase"), 2, "30 domains: 25, then 5");
    assert!(
        log.of("crunchbase")
            .iter()
            .all(|a| a.endpoint == "searches/organizations")
    );
    assert_eq!(log.domains("crunchbase"), domains);
    let complete = answers
        .iter()
        .find(|a| a.domain == "complete.example")
        .unwrap();
    let Ok(LookupOutcome::Found(records)) = &complete.outcome else {
        panic!("{complete:?}")
    };
    assert!(
        matches!(records[0].get(Field::LastFundingAmount), Some(Value::Integer(n)) if *n > 0),
        "{records:?}"
    );
    assert!(
        answers
            .iter()
            .any(|a| a.domain == "missing-crunchbase.example"
                && a.outcome == Ok(LookupOutcome::NotFound))
    );
    let charged: f64 = answers.iter().map(|a| a.credits).sum();
    assert!(
        (charged - 2.0).abs() < 1e-9 && (log.credits("crunchbase") - 2.0).abs() < 1e-9,
        "two calls: firmo charged {charged}, Crunchbase billed {}",
        log.credits("crunchbase")
    );
}
