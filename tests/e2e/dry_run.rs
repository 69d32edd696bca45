//! `firmo sync --dry-run`: the plan and its cost, and not one write anywhere.

use crate::support::{
    Sandbox, Workspace, count, credits, is_zero, outcomes_total, prop, sync, with_domain,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_plans_and_prices_but_writes_nothing() {
    let sb = Sandbox::start(40).await;
    let ws = Workspace::new();
    let before = sb.companies();

    let out = sync(&ws, &sb, &["--dry-run"]).await;
    out.expect_code(0);
    let summary = out.summary();
    assert_eq!(summary["dry_run"], true);

    // Nothing written, nothing created, nobody asked.
    let stats = sb.stats();
    for kind in [
        "companies.batch_update",
        "companies.update",
        "companies.create",
        "properties.create",
        "properties.update",
        "property_groups.create",
        "clearbit",
        "builtwith",
        "crunchbase",
    ] {
        assert_eq!(sb.requests(kind), 0, "a dry run sent {kind}: {stats:?}");
    }
    assert_eq!(
        sb.provider_requests()["clay"],
        0,
        "a dry run pushed Clay rows"
    );
    assert_eq!(stats.values_written, 0);
    assert!(!sb.has_property("firmo_headcount"));
    assert!(!sb.has_property("firmo_enriched_at"));
    assert_eq!(sb.companies(), before);
    assert!(is_zero(credits(&summary, "/credits")));

    // What the real run would do and cost.
    let properties = summary["properties"].as_array().unwrap();
    assert!(!properties.is_empty());
    for p in properties {
        assert_eq!(p["status"], "would create", "{p}");
    }
    let planned = credits(&summary, "/planned_credits");
    assert!(planned > 0.0, "{summary:#}");
    let estimated = count(&summary, "/estimated_crm_calls");
    // Setup creates the properties in one batch request (and the group in another).
    assert!(
        estimated > count(&summary, "/crm_calls"),
        "the estimate ({estimated}) must cover creating {} properties",
        properties.len()
    );
    assert_eq!(outcomes_total(&summary) as usize, before.len());

    // Per account: the lookups it needs and their price; each domain is priced once (accounts
    // sharing a domain share its lookups), adding up to the run's total.
    let plan = summary["plan"].as_array().expect("a per-account plan");
    assert_eq!(plan.len(), before.len());
    let mut priced = std::collections::BTreeMap::new();
    for entry in plan {
        let id = entry["id"].as_str().unwrap();
        let company = before.iter().find(|c| c.id == id).expect("a known id");
        let price = entry["credits"].as_f64().unwrap();
        if prop(company, "domain").is_some() {
            let lookups = entry["lookups"].as_object().unwrap();
            assert!(lookups.values().any(|s| s == "would_fetch"), "{entry}");
            assert!(price > 0.0, "{entry}");
            let domain = entry["domain"]
                .as_str()
                .expect("a normalized domain")
                .to_owned();
            let first = *priced.entry(domain).or_insert(price);
            assert!(
                (first - price).abs() < 1e-9,
                "one domain, two prices: {entry}"
            );
        } else {
            assert!(is_zero(price), "{entry}");
        }
    }
    let sum: f64 = priced.values().sum();
    assert!(
        (sum - planned).abs() < 1e-6,
        "plan adds up to {sum}, total says {planned}"
    );

    // The real run spends no more than the plan said.
    let real = sync(&ws, &sb, &[]).await;
    real.expect_code(0);
    let real = real.summary();
    let spent = credits(&real, "/credits");
    assert!(
        spent > 0.0 && spent <= planned,
        "spent {spent}, planned {planned}"
    );
    assert_eq!(
        count(&real, "/crm_calls"),
        estimated,
        "the dry run's estimate of CRM calls"
    );
    assert_eq!(outcomes_total(&real) as usize, before.len());
    assert!(
        with_domain(&sb.companies())
            .iter()
            .any(|c| prop(c, "firmo_enriched_at").is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_changes_each_account_would_get() {
    let sb = Sandbox::start(20).await;
    let ws = Workspace::new();
    sync(&ws, &sb, &[]).await.expect_code(0);
    // Someone adds a company whose domain firmo has already looked up.
    let companies = sb.companies();
    let known = companies
        .iter()
        .find(|c| prop(c, "firmo_headcount").is_some() && prop(c, "firmo_industry").is_some())
        .expect("an enriched company");
    let domain = prop(known, "domain").unwrap().to_owned();
    let id = sb
        .create_company(serde_json::json!({ "name": "Newly Added Inc", "domain": domain }))
        .await;
    let written = sb.stats().values_written;
    let providers = sb.provider_requests();

    let out = sync(&ws, &sb, &["--dry-run"]).await;
    out.expect_code(0);
    let summary = out.summary();
    assert!(
        is_zero(credits(&summary, "/planned_credits")),
        "{summary:#}"
    );
    let plan = summary["plan"].as_array().unwrap();
    let entry = plan
        .iter()
        .find(|p| p["id"] == id.as_str())
        .unwrap_or_else(|| panic!("the new company is not in the plan: {plan:#?}"));
    let changes = entry["changes"].as_object().expect("changes");
    for property in ["firmo_headcount", "firmo_industry", "firmo_sources"] {
        assert_eq!(
            changes.get(property).and_then(|v| v.as_str()),
            prop(known, property),
            "{property} for the new company: {entry:#}"
        );
    }
    for lookup in entry["lookups"].as_object().unwrap().values() {
        assert_ne!(lookup, "would_fetch", "{entry:#}");
    }
    assert_eq!(sb.stats().values_written, written, "the dry run wrote");
    assert_eq!(
        sb.requests("companies.batch_update"),
        1,
        "only the first run's batch"
    );
    assert_eq!(
        sb.provider_requests(),
        providers,
        "the dry run asked a provider"
    );

    // The real run writes what the dry run showed.
    let real = sync(&ws, &sb, &[]).await;
    real.expect_code(0);
    let added = sb.company(&id);
    for (property, value) in changes {
        if property == "firmo_enriched_at" {
            continue;
        }
        assert_eq!(
            prop(&added, property),
            value.as_str(),
            "{property} written differs from the plan"
        );
    }
}
