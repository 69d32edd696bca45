//! One-call property setup, the capacity pre-check, portal rules and the doctor facts,
//! through the client against the sandbox (in-process, 127.0.0.1:0), on every API
//! version where the behaviour is the same, and per version where HubSpot's differs.

use std::time::Duration;

use firmo_connect::crm::{
    CompanyUpdate, Crm, EnsureOutcome, PropertyDef, PropertyGroup, PropertyOption, PropertyType,
    SearchQuery, WriteOutcome,
};
use firmo_connect::{ConnectorError, Secret};
use firmo_hubspot::{ApiVersion, HubspotClient, HubspotConfig};
use firmo_sandbox::{PortalRule, SandboxConfig, SandboxHandle};

async fn start(config: SandboxConfig) -> SandboxHandle {
    firmo_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts")
}

fn client(sandbox: &SandboxHandle, version: ApiVersion) -> HubspotClient {
    let mut config = HubspotConfig::new(Secret::new(sandbox.token()))
        .with_base_url(sandbox.base_url())
        .with_api_version(version);
    config.requests_per_interval = 2000;
    config.interval = Duration::from_secs(1);
    config.search_per_second = 200;
    config.base_backoff = Duration::from_millis(10);
    config.max_retries = 2;
    HubspotClient::new(config).unwrap()
}

fn group() -> PropertyGroup {
    PropertyGroup {
        name: "firmo".into(),
        label: "firmo".into(),
        display_order: None,
    }
}

fn prop(
    name: &str,
    property_type: PropertyType,
    field_type: &str,
    options: &[&str],
) -> PropertyDef {
    PropertyDef {
        name: name.into(),
        label: name.into(),
        property_type,
        field_type: field_type.into(),
        group_name: "firmo".into(),
        options: options
            .iter()
            .map(|o| PropertyOption {
                label: (*o).into(),
                value: (*o).into(),
            })
            .collect(),
        description: String::new(),
        crm_defined: false,
    }
}

fn wanted() -> Vec<PropertyDef> {
    vec![
        prop("firmo_headcount", PropertyType::Number, "number", &[]),
        prop("firmo_industry", PropertyType::String, "text", &[]),
        prop(
            "firmo_funding_stage",
            PropertyType::Enumeration,
            "select",
            &["seed", "series_a"],
        ),
        prop(
            "firmo_post_funding",
            PropertyType::Bool,
            "booleancheckbox",
            &[],
        ),
    ]
}

#[tokio::test]
async fn a_first_setup_takes_four_calls_a_second_one_and_mismatches_are_reported() {
    for version in ApiVersion::ALL {
        let sandbox = start(SandboxConfig::default()).await;
        let hubspot = client(&sandbox, version);
        let ensured = hubspot
            .ensure_properties(&group(), &wanted())
            .await
            .unwrap();
        let outcomes = &ensured.outcomes;
        assert!(
            outcomes.iter().all(|(_, o)| *o == EnsureOutcome::Created),
            "{version}: {outcomes:?}"
        );
        assert_eq!(
            sandbox.stats().total_requests,
            4,
            "{version}: {:?}",
            sandbox.stats().requests
        );
        assert_eq!(
            ensured.calls, 4,
            "{version}: the calls it counts are the calls made"
        );
        // The live definitions are the CRM's own: the built-ins listed and the created ones
        // as the batch answered, so no second list is needed.
        let listed = hubspot.list_properties().await.unwrap();
        let mut live = ensured.live.clone();
        let mut listed_sorted = listed.clone();
        live.sort_by(|a, b| a.name.cmp(&b.name));
        listed_sorted.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(live, listed_sorted, "{version}");
        let stage = live
            .iter()
            .find(|p| p.name == "firmo_funding_stage")
            .unwrap();
        assert_eq!(stage.options.len(), 2);
        assert!(live.iter().any(|p| p.name == "domain" && p.crm_defined));
        assert_eq!(sandbox.stats().requests["properties.batch_create"], 1);
        assert!(sandbox.state().property("firmo_funding_stage").is_some());

        sandbox.reset_stats();
        let mut again = wanted();
        again[1] = prop("firmo_industry", PropertyType::Number, "number", &[]);
        let ensured = hubspot.ensure_properties(&group(), &again).await.unwrap();
        let outcomes = &ensured.outcomes;
        assert_eq!(
            sandbox.stats().total_requests,
            1,
            "{version}: nothing to create"
        );
        assert_eq!(ensured.calls, 1);
        assert_eq!(outcomes[0].1, EnsureOutcome::Unchanged);
        assert_eq!(
            outcomes[1].1,
            EnsureOutcome::Mismatch {
                expected: "number/number".into(),
                found: "string/text".into()
            }
        );
        assert_eq!(
            sandbox.state().property("firmo_industry").unwrap().kind,
            "string",
            "never clobbered"
        );

        sandbox.reset_stats();
        let mut extended = wanted();
        extended[2] = prop(
            "firmo_funding_stage",
            PropertyType::Enumeration,
            "select",
            &["seed", "series_a", "series_b"],
        );
        let ensured = hubspot
            .ensure_properties(&group(), &extended)
            .await
            .unwrap();
        assert_eq!(
            ensured.outcomes[2].1,
            EnsureOutcome::OptionsAdded(vec!["series_b".into()])
        );
        assert_eq!(
            (ensured.calls, sandbox.stats().total_requests),
            (2, 2),
            "{version}: the list and one PATCH"
        );
        let live = ensured
            .live
            .iter()
            .find(|p| p.name == "firmo_funding_stage")
            .unwrap();
        let listed = hubspot.get_property("firmo_funding_stage").await.unwrap();
        assert_eq!(
            Some(live),
            listed.as_ref(),
            "{version}: live has the new option"
        );
        sandbox.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_full_portal_or_too_many_options_refuses_before_creating_anything() {
    let sandbox = start(SandboxConfig {
        custom_property_limit: 2,
        ..SandboxConfig::default()
    })
    .await;
    let hubspot = client(&sandbox, ApiVersion::default());
    let err = hubspot
        .ensure_properties(&group(), &wanted())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Capacity { .. }), "{err:?}");
    assert!(err.to_string().contains("2 left"), "{err}");
    assert!(sandbox.state().property("firmo_headcount").is_none());
    assert!(
        !sandbox
            .stats()
            .requests
            .contains_key("properties.batch_create")
    );
    let capacity = hubspot.property_capacity().await.unwrap().unwrap();
    assert_eq!((capacity.limit, capacity.left()), (2, 2));

    let options: Vec<String> = (0..5001).map(|i| format!("tag_{i}")).collect();
    let refs: Vec<&str> = options.iter().map(String::as_str).collect();
    let huge = prop(
        "firmo_tech_stack",
        PropertyType::Enumeration,
        "checkbox",
        &refs,
    );
    sandbox.reset_stats();
    let err = hubspot
        .ensure_properties(&group(), &[huge])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("5000"), "{err}");
    assert_eq!(sandbox.stats().total_requests, 1, "only the list was read");
}

#[tokio::test]
async fn a_portal_rule_rejects_a_2026_09_write_as_a_portal_rule_and_v3_ignores_it() {
    let sandbox = start(SandboxConfig {
        companies: 3,
        portal_rules: vec![PortalRule::ConditionallyRequired {
            property: "state".into(),
            when_property: "country".into(),
            equals: "US".into(),
        }],
        ..SandboxConfig::default()
    })
    .await;
    let ids: Vec<String> = sandbox.companies().into_iter().map(|c| c.id).collect();
    let write = |id: &str, props: &[(&str, &str)]| CompanyUpdate {
        id: id.to_owned(),
        properties: props
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let updates = vec![
        write(&ids[0], &[("country", "US"), ("state", "")]),
        write(&ids[1], &[("country", "US"), ("state", "CA")]),
    ];
    let outcomes = client(&sandbox, ApiVersion::V2026_09)
        .update_companies(&updates)
        .await
        .unwrap();
    match &outcomes[0] {
        WriteOutcome::Failed {
            error:
                ConnectorError::PortalRule {
                    rule,
                    property,
                    message,
                    ..
                },
            ..
        } => {
            assert_eq!(rule, "MISSING_CONDITIONAL_REQUIRED_PROPERTY");
            assert_eq!(property.as_deref(), Some("state"));
            assert!(message.contains("[country]"), "{message}");
        }
        other => panic!("expected a portal-rule failure, got {other:?}"),
    }
    assert!(outcomes[1].is_written());
    // A single-record call is rejected whole (400): the same typed outcome.
    let one = client(&sandbox, ApiVersion::V2026_09)
        .update_companies(&updates[..1])
        .await
        .unwrap();
    assert!(
        matches!(
            &one[0],
            WriteOutcome::Failed {
                error: ConnectorError::PortalRule { .. },
                ..
            }
        ),
        "{one:?}"
    );
    for version in [ApiVersion::V2026_03, ApiVersion::V3] {
        let outcomes = client(&sandbox, version)
            .update_companies(&updates)
            .await
            .unwrap();
        assert!(
            outcomes.iter().all(WriteOutcome::is_written),
            "{version}: {outcomes:?}"
        );
    }
}

#[tokio::test]
async fn access_facts_name_the_portal_scopes_and_rate_limits_and_each_problem() {
    let sandbox = start(SandboxConfig {
        portal_id: 777,
        rate_limit: Some(firmo_sandbox::RateLimit::HUBSPOT_FREE),
        ..SandboxConfig::default()
    })
    .await;
    for version in ApiVersion::ALL {
        let facts = client(&sandbox, version).access_facts().await.unwrap();
        assert_eq!(facts.account_id.as_deref(), Some("777"), "{version}");
        assert!(facts.missing_scopes.is_empty(), "{facts:?}");
        assert!(
            facts
                .scopes
                .unwrap()
                .contains(&"crm.objects.companies.write".to_owned())
        );
        assert_eq!(facts.rate_limit.max_per_interval, Some(100));
        assert_eq!(facts.rate_limit.interval_ms, Some(10_000));
    }
    let narrow = start(SandboxConfig {
        token_scopes: vec!["crm.objects.companies.read".into(), "oauth".into()],
        ..SandboxConfig::default()
    })
    .await;
    let facts = client(&narrow, ApiVersion::default())
        .access_facts()
        .await
        .unwrap();
    assert_eq!(
        facts.missing_scopes,
        [
            "crm.objects.companies.write",
            "crm.schemas.companies.read",
            "crm.schemas.companies.write"
        ]
    );
    let mut wrong =
        HubspotConfig::new(Secret::new("not-the-token")).with_base_url(sandbox.base_url());
    wrong.max_retries = 0;
    let err = HubspotClient::new(wrong)
        .unwrap()
        .access_facts()
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
}

/// r12: "with search pacing at 4/s, 5 searches arrived within one second once".
#[tokio::test]
async fn search_pacing_never_puts_five_searches_in_one_second() {
    let sandbox = start(SandboxConfig {
        companies: 5,
        search_per_second: Some(4),
        ..SandboxConfig::default()
    })
    .await;
    let mut config =
        HubspotConfig::new(Secret::new(sandbox.token())).with_base_url(sandbox.base_url());
    config.max_retries = 0;
    let hubspot = HubspotClient::new(config).unwrap();
    let query = SearchQuery {
        limit: 1,
        ..SearchQuery::default()
    };
    for _ in 0..9 {
        hubspot.search(&query).await.expect("never a 429");
    }
    let stats = sandbox.stats();
    assert_eq!(stats.total_429, 0);
    assert!(
        stats.max_search_in_second <= 4,
        "{}",
        stats.max_search_in_second
    );
}
