//! One sandbox company enriched through all four providers (Clay through its webhook,
//! the emulator's callback and our receiver), merged under the default rules: every one
//! of the nine fields is present and attributed to the source DESIGN.md's precedence
//! names.

mod common;

use firmo_builtwith::{BuiltWithClient, BuiltWithConfig};
use firmo_clearbit::{ClearbitClient, ClearbitConfig};
use firmo_connect::testing::expect_found;
use firmo_connect::{LookupOutcome, Provider, Secret};
use firmo_core::config::MergeConfig;
use firmo_core::merge::merge;
use firmo_core::{Field, Source};
use firmo_crunchbase::{CrunchbaseClient, CrunchbaseConfig};
use firmo_sandbox::emulators::EmulatorSettings;

use common::{WEBHOOK_TOKEN, clay, next_row, receiver, sandbox};

const DOMAIN: &str = "complete.example";

fn clearbit(base: &str, keys: &EmulatorSettings) -> ClearbitClient {
    let config = ClearbitConfig {
        base_url: format!("{base}/clearbit"),
        ..ClearbitConfig::default()
    };
    ClearbitClient::new(config, Secret::new(keys.clearbit_key.clone())).unwrap()
}

fn crunchbase(base: &str, keys: &EmulatorSettings) -> CrunchbaseClient {
    let config = CrunchbaseConfig {
        base_url: format!("{base}/crunchbase"),
        ..CrunchbaseConfig::default()
    };
    CrunchbaseClient::new(config, Secret::new(keys.crunchbase_key.clone())).unwrap()
}

#[tokio::test]
async fn every_field_from_its_source() {
    let (callback, mut rows) = receiver().await;
    let sandbox = sandbox(&callback).await;
    let base = sandbox.base_url();
    let keys = EmulatorSettings::default();

    let clearbit = clearbit(&base, &keys);
    let builtwith = BuiltWithClient::new(
        BuiltWithConfig {
            base_url: format!("{base}/builtwith"),
            ..BuiltWithConfig::default()
        },
        Secret::new(keys.builtwith_key.clone()),
    )
    .unwrap();
    let crunchbase = crunchbase(&base, &keys);
    let clay = clay(&sandbox, WEBHOOK_TOKEN);

    // The four lookups run concurrently, as the engine runs them.
    let (a, b, c, d) = tokio::join!(
        clearbit.lookup(DOMAIN),
        builtwith.lookup(DOMAIN),
        crunchbase.lookup(DOMAIN),
        clay.lookup(DOMAIN)
    );
    let mut records = expect_found(a.unwrap());
    records.extend(expect_found(b.unwrap()));
    records.extend(expect_found(c.unwrap()));
    assert!(
        matches!(d.unwrap(), LookupOutcome::Pending { .. }),
        "Clay answers through its callback"
    );
    let (domain, clay_records) = next_row(&mut rows).await;
    assert_eq!(domain, DOMAIN);
    records.extend(clay_records);

    let merged = merge(&records, &MergeConfig::default());
    let expected = [
        (Field::Industry, Source::Clay),
        (Field::Headcount, Source::Clay),
        (Field::RevenueRange, Source::Clearbit),
        (Field::TechStack, Source::BuiltWith),
        // Funding: Clay's row first, Crunchbase where Clay has none (the sources document).
        (Field::FundingStage, Source::Clay),
        (Field::LastFundingDate, Source::Clay),
        (Field::LastFundingAmount, Source::Clay),
        (Field::EmployeeGrowth6mo, Source::LinkedIn),
        (Field::RecentJobPostings, Source::LinkedIn),
    ];
    for (field, source) in expected {
        let Some(value) = merged.get(field) else {
            panic!("{field} missing after the merge: {records:#?}")
        };
        assert_eq!(
            value.source, source,
            "{field} attributed to {} instead of {source}",
            value.source
        );
    }
    assert_eq!(merged.fields.len(), 9);
    let stack = merged.get(Field::TechStack).unwrap();
    assert!(
        stack.contributors.contains(Source::BuiltWith) && stack.contributors.contains(Source::Clay),
        "tech_stack is a union"
    );
}

#[tokio::test]
async fn a_provider_out_of_credits_or_down_leaves_the_others_working() {
    const DOMAIN: &str = "nocredits.example";
    let (callback, mut rows) = receiver().await;
    let sandbox = sandbox(&callback).await;
    let base = sandbox.base_url();
    let keys = EmulatorSettings::default();
    let clearbit = clearbit(&base, &keys);
    // BuiltWith is "down": nothing listens where it is configured.
    let mut builtwith_config = BuiltWithConfig {
        base_url: firmo_connect::testing::closed_port_url(),
        ..BuiltWithConfig::default()
    };
    builtwith_config.timeout_secs = 1;
    let mut down_policy = BuiltWithClient::http_policy(&builtwith_config);
    down_policy.max_retries = 1;
    down_policy.base_backoff = std::time::Duration::from_millis(1);
    let builtwith = BuiltWithClient::with_policy(
        builtwith_config,
        Secret::new(keys.builtwith_key.clone()),
        down_policy,
    )
    .unwrap();
    let crunchbase = crunchbase(&base, &keys);
    let clay = clay(&sandbox, WEBHOOK_TOKEN);

    let (a, b, c, d) = tokio::join!(
        clearbit.lookup(DOMAIN),
        builtwith.lookup(DOMAIN),
        crunchbase.lookup(DOMAIN),
        clay.lookup(DOMAIN)
    );
    let quota = a.unwrap_err();
    assert!(
        quota.stops_service() && !quota.is_transient(),
        "Clearbit is out of credits: {quota:?}"
    );
    let down = b.unwrap_err();
    assert!(
        down.is_transient() && !down.stops_service(),
        "BuiltWith is down: {down:?}"
    );
    assert!(!expect_found(c.unwrap()).is_empty());
    assert!(matches!(d.unwrap(), LookupOutcome::Pending { .. }));
    let (domain, records) = next_row(&mut rows).await;
    assert_eq!(domain, DOMAIN);
    assert!(!records.is_empty());
}
