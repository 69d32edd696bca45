//! The BuiltWith adapter against the sandbox's BuiltWith emulator.

use firmo_builtwith::{BuiltWithClient, BuiltWithConfig};
use firmo_connect::testing::{expect_found, quick_backoff};
use firmo_connect::{ConnectorError, LookupOutcome, Provider, Secret, Service};
use firmo_core::{Field, Source, Value};
use firmo_sandbox::emulators::EmulatorSettings;
use firmo_sandbox::testing::sandbox;
use firmo_sandbox::{Faults, SandboxHandle};

fn client(sandbox: &SandboxHandle, key: &str) -> BuiltWithClient {
    let config = BuiltWithConfig {
        base_url: format!("{}/builtwith", sandbox.base_url()),
        ..BuiltWithConfig::default()
    };
    let policy = quick_backoff(BuiltWithClient::http_policy(&config));
    BuiltWithClient::with_policy(config, Secret::new(key), policy).unwrap()
}

fn key() -> String {
    EmulatorSettings::default().builtwith_key
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
async fn complete_company_has_a_live_canonical_stack() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let names = stack(
        client(&sandbox, &key())
            .lookup("complete.example")
            .await
            .unwrap(),
    );
    assert!(!names.is_empty());
    assert_eq!(
        names,
        firmo_core::normalize::tech_stack(&names),
        "canonical, deduplicated, sorted"
    );
    assert!(
        names
            .iter()
            .any(|n| firmo_core::normalize::is_cloud_provider(n)),
        "complete.example runs on AWS: {names:?}"
    );
}

#[tokio::test]
async fn unknown_domains_are_not_found_and_junk_is_deduplicated() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let builtwith = client(&sandbox, &key());
    assert_eq!(
        builtwith.lookup("notfound.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    assert_eq!(
        builtwith.lookup("missing-builtwith.example").await.unwrap(),
        LookupOutcome::NotFound
    );
    let names = stack(builtwith.lookup("junk.example").await.unwrap());
    let mut lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    lower.dedup();
    assert_eq!(
        lower.len(),
        names.len(),
        "odd-cased duplicates merged: {names:?}"
    );
}

#[tokio::test]
async fn bad_key_and_no_credits_stop_builtwith_and_never_show_the_key() {
    let sandbox = sandbox(EmulatorSettings {
        builtwith_credits: Some(1),
        ..EmulatorSettings::default()
    })
    .await;
    let wrong_key = "00000000-dead-beef-0000-000000000000";
    let err = client(&sandbox, wrong_key)
        .lookup("complete.example")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Auth {
                service: Service::BuiltWith,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(wrong_key));
    let builtwith = client(&sandbox, &key());
    let err = builtwith.lookup("nocredits.example").await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::QuotaExhausted { .. }) && err.stops_service(),
        "{err:?}"
    );
    assert!(matches!(
        builtwith.lookup("complete.example").await.unwrap(),
        LookupOutcome::Found(_)
    ));
    let err = builtwith.lookup("disagree.example").await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::QuotaExhausted { .. }),
        "the one credit is spent: {err:?}"
    );
}

#[tokio::test]
async fn injected_429s_are_waited_out() {
    let sandbox = sandbox(EmulatorSettings::default()).await;
    let builtwith = client(&sandbox, &key());
    sandbox.set_faults(Faults {
        burst_429: 1,
        ..Faults::default()
    });
    assert!(!stack(builtwith.lookup("complete.example").await.unwrap()).is_empty());
    assert_eq!(builtwith.http().stats().rate_limited, 1);
}

/// 20 generated domains and three reserved ones (one BuiltWith lacks, one unknown).
fn batch_domains() -> Vec<String> {
    let mut domains: Vec<String> = (0..20).map(|i| format!("batch-{i}.example")).collect();
    domains.extend(
        [
            "complete.example",
            "missing-builtwith.example",
            "notfound.example",
        ]
        .map(String::from),
    );
    domains
}

#[tokio::test]
async fn a_batch_is_one_request_per_16_domains_and_bills_what_the_emulator_bills() {
    let (sandbox, log) =
        firmo_sandbox::testing::sandbox_with_log(EmulatorSettings::default()).await;
    let builtwith = client(&sandbox, &key());
    let domains = batch_domains();
    let answers = builtwith.lookup_batch(&domains).await;
    assert_eq!(answers.len(), domains.len());
    assert_eq!(log.requests("builtwith"), 2, "23 domains: 16, then 7");
    assert_eq!(
        log.domains("builtwith"),
        domains,
        "each asked once, in order"
    );
    for (answer, domain) in answers.iter().zip(&domains) {
        assert_eq!(&answer.domain, domain);
    }
    let missing: Vec<&str> = answers
        .iter()
        .filter(|a| a.outcome == Ok(LookupOutcome::NotFound))
        .map(|a| a.domain.as_str())
        .collect();
    assert!(
        missing.contains(&"missing-builtwith.example") && missing.contains(&"notfound.example")
    );
    let charged: f64 = answers.iter().map(|a| a.credits).sum();
    assert!(
        (charged - log.credits("builtwith")).abs() < 1e-9,
        "firmo charges {charged}, BuiltWith billed {}",
        log.credits("builtwith")
    );
    let found = answers
        .iter()
        .filter(|a| matches!(a.outcome, Ok(LookupOutcome::Found(_))));
    assert!(
        (charged - found.count() as f64).abs() < 1e-9,
        "a credit per found domain"
    );
}
