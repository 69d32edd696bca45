//! The Clearbit adapter against the sandbox's Clearbit emulator.

use std::time::Duration;

use firmo_clearbit::{ClearbitClient, ClearbitConfig};
use firmo_connect::http::HttpPolicy;
use firmo_connect::testing::quick_backoff;
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Field, Source, Value};
use firmo_sandbox::emulators::EmulatorSettings;
use firmo_sandbox::testing::sandbox;
use firmo_sandbox::{Faults, SandboxHandle};

fn client(sandbox: &SandboxHandle, key: &str) -> ClearbitClient {
    let config = ClearbitConfig {
        base_url: format!("{}/clearbit", sandbox.base_url()),
        ..ClearbitConfig::default()
    };
    let policy = quick_backoff(ClearbitClient::http_policy(&config));
    ClearbitClient::with_policy(config, Secret::new(key), policy).unwrap()
}

fn key() -> String {
    EmulatorSettings::default().clearbit_key
}

#[tokio::test]
async fn complete_company_has_every_clearbit_field() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let clearbit = client(&sandbox, &key());
    let LookupOutcome::Found(records) = clearbit.lookup("complete.example").await.unwrap() else {
        panic!("complete.example should be found")
    };
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.source, Source::Clearbit);
    for field in [
        Field::Industry,
        Field::Headcount,
        Field::RevenueRange,
        Field::TechStack,
    ] {
        assert!(
            record.get(field).is_some(),
            "{field} missing from {record:?}"
        );
    }
    let Some(Value::Text(bucket)) = record.get(Field::RevenueRange) else {
        panic!()
    };
    assert!(
        firmo_core::field::REVENUE_BUCKETS
            .iter()
            .any(|b| b.value == bucket),
        "{bucket}"
    );
}

#[tokio::test]
async fn junk_values_still_normalize() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let LookupOutcome::Found(records) = client(&sandbox, &key())
        .lookup("junk.example")
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(
        records[0].get(Field::RevenueRange).is_some(),
        "{:?}",
        records[0]
    );
    assert!(
        records[0].get(Field::TechStack).is_some(),
        "{:?}",
        records[0]
    );
}

#[tokio::test]
async fn missing_and_pending_companies() {
    let settings = EmulatorSettings {
        clearbit_pending_after: Duration::ZERO,
        ..EmulatorSettings::default()
    };
    let sandbox = sandbox(settings).await;
    let clearbit = client(&sandbox, &key());
    assert_eq!(
        clearbit.lookup("notfound.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    assert_eq!(
        clearbit.lookup("missing-clearbit.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    assert!(matches!(
        clearbit.lookup("pending.example").await.unwrap(),
        LookupOutcome::Pending { .. }
    ));
    // A later pass: the emulator has indexed it by now.
    assert!(matches!(
        clearbit.lookup("pending.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
}

#[tokio::test]
async fn bad_key_and_empty_account_stop_clearbit() {
    let settings = EmulatorSettings {
        clearbit_credits: Some(1),
        ..EmulatorSettings::default()
    };
    let sandbox = sandbox(settings).await;
    let wrong = client(&sandbox, "sk_wrong")
        .lookup("complete.example")
        .await
        .unwrap_err();
    assert!(
        matches!(
            wrong,
            ConnectorError::Auth {
                service: Service::Clearbit,
                ..
            }
        ),
        "{wrong:?}"
    );
    assert!(wrong.stops_service());
    let clearbit = client(&sandbox, &key());
    let out_of_credit = clearbit.lookup("nocredits.example").await.unwrap_err();
    assert!(
        matches!(out_of_credit, ConnectorError::QuotaExhausted { .. }),
        "{out_of_credit:?}"
    );
    assert!(matches!(
        clearbit.lookup("complete.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    let dry = clearbit.lookup("disagree.example").await.unwrap_err();
    assert!(dry.stops_service(), "the one credit is spent: {dry:?}");
}

#[tokio::test]
async fn injected_429s_and_5xx_are_retried() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let clearbit = client(&sandbox, &key());
    sandbox.set_faults(Faults {
        burst_429: 2,
        ..Faults::default()
    });
    assert!(matches!(
        clearbit.lookup("complete.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    assert_eq!(clearbit.http().stats().rate_limited, 2);
    sandbox.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let mut policy = HttpPolicy::new(Service::Clearbit, 0, Duration::from_mins(1));
    policy.max_retries = 2;
    policy.base_backoff = Duration::from_millis(1);
    let config = ClearbitConfig {
        base_url: format!("{}/clearbit", sandbox.base_url()),
        ..ClearbitConfig::default()
    };
    let failing = ClearbitClient::with_policy(config, Secret::new(key()), policy).unwrap();
    let err = failing.lookup("complete.example").await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Server { .. }) && err.is_transient(),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_batch_bills_what_the_emulator_bills() {
    let settings = EmulatorSettings {
        clearbit_pending_after: Duration::ZERO,
        ..EmulatorSettings::default()
    };
    let (sandbox, log) = firmo_sandbox::testing::sandbox_with_log(settings).await;
    let clearbit = client(&sandbox, &key());
    let domains: Vec<String> = [
        "complete.example",
        "notfound.example",
        "pending.example",
        "complete.example",
    ]
    .map(String::from)
    .to_vec();
    let first = clearbit.lookup_batch(&domains).await;
    assert!(matches!(
        first[2].outcome,
        Ok(LookupOutcome::Pending { .. })
    ));
    assert_eq!(log.requests("clearbit"), 3, "the repeat is not sent");
    // The next pass completes the queued lookup, billed once.
    let second = clearbit.lookup_batch(&domains[2..3]).await;
    assert!(matches!(second[0].outcome, Ok(LookupOutcome::Found(_))));
    let charged: f64 = first.iter().chain(&second).map(|a| a.credits).sum();
    assert!(
        (charged - 3.0).abs() < 1e-9 && (log.credits("clearbit") - 3.0).abs() < 1e-9,
        "a 200, a 404 and a completed 202: firmo {charged}, Clearbit {}",
        log.credits("clearbit")
    );
}
