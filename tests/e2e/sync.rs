//! The weekly job: the first sync creates firmo's properties and fills them, the next one
//! within the refresh windows costs nothing and writes nothing, and a person's edit of a
//! firmo value outlives later syncs.

use std::collections::BTreeMap;

use crate::support::{
    Sandbox, Workspace, count, credits, firmo, firmo_props, is_zero, outcomes_total, prop, reasons,
    sync, sync_args, with_domain,
};

/// What the sync should have written about one company, read back from the CRM.
const ENRICHED: [&str; 5] = [
    "firmo_headcount",
    "firmo_industry",
    "firmo_tech_stack",
    "firmo_sources",
    "firmo_enriched_at",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_creates_the_properties_and_writes_enriched_values() {
    let sb = Sandbox::start(50).await;
    let ws = Workspace::new();
    let before = sb.companies();
    assert!(!sb.has_property("firmo_headcount"));

    // The defaults, as a user runs it on day one (no config file at all).
    let args = sync_args(&ws, &sb, None, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = firmo(&ws, &args).await;
    out.expect_code(0);
    let summary = out.summary();

    // Properties: every one created, and the portal has them now.
    let properties = summary["properties"].as_array().expect("a property report");
    assert!(properties.len() >= ENRICHED.len(), "{properties:?}");
    for p in properties {
        assert_eq!(p["status"], "created", "{p}");
        let name = p["name"].as_str().unwrap();
        assert!(sb.has_property(name), "{name} is not in the CRM");
    }
    for name in ENRICHED {
        assert!(sb.has_property(name), "{name} was not created");
    }

    // One outcome per company; the ones without a domain are skipped, saying so.
    assert_eq!(count(&summary, "/scanned") as usize, before.len());
    assert_eq!(
        outcomes_total(&summary) as usize,
        before.len(),
        "{summary:#}"
    );
    let without_domain = before.len() - with_domain(&before).len();
    assert!(without_domain > 0, "the demo data should have gaps");
    assert_eq!(
        reasons(&summary, "skipped", "no domain") as usize,
        without_domain,
        "{}",
        summary["skipped"]
    );
    assert_eq!(count(&summary, "/outcomes/failed"), 0);
    assert!(credits(&summary, "/credits") > 0.0);

    // The CRM holds the values now.
    let after = sb.companies();
    let mut written = 0;
    let mut filled: BTreeMap<&str, usize> = BTreeMap::new();
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old.id, new.id);
        let ours = firmo_props(new);
        if prop(old, "domain").is_none() {
            assert!(ours.is_empty(), "{} has no domain but got {ours:?}", new.id);
            continue;
        }
        if ours.is_empty() {
            continue;
        }
        written += 1;
        for name in ENRICHED {
            if ours.contains_key(name) {
                *filled.entry(name).or_default() += 1;
            }
        }
        assert!(
            ours.contains_key("firmo_enriched_at") && ours.contains_key("firmo_sources"),
            "{}: {ours:?}",
            new.id
        );
        // firmo_sources names a source for exactly the fields that have a value.
        let sources = ours["firmo_sources"];
        for entry in sources.split(';') {
            let (field, source) = entry.split_once('=').expect("field=source");
            assert!(!source.is_empty(), "{sources}");
            assert!(
                ours.contains_key(format!("firmo_{field}").as_str()),
                "{}: firmo_sources names {field} but firmo_{field} is empty ({ours:?})",
                new.id
            );
        }
        // Built-in properties are filled only where they were empty.
        for (builtin, ours_name) in [
            ("numberofemployees", "firmo_headcount"),
            ("industry", "firmo_industry"),
        ] {
            match prop(old, builtin) {
                Some(value) => assert_eq!(
                    prop(new, builtin),
                    Some(value),
                    "{}: firmo overwrote the CRM's own {builtin}",
                    new.id
                ),
                None if builtin == "numberofemployees" => assert_eq!(
                    prop(new, builtin),
                    ours.get(ours_name).copied(),
                    "{}: an empty {builtin} gets firmo's headcount",
                    new.id
                ),
                None => {}
            }
        }
    }
    assert_eq!(written, count(&summary, "/outcomes/written") as usize);
    assert!(
        written * 10 >= with_domain(&before).len() * 8,
        "{written} written"
    );
    for name in ENRICHED {
        let n = filled.get(name).copied().unwrap_or(0);
        assert!(n * 10 >= written * 8, "{name} on only {n} of {written}");
    }

    // The summary's examples are what the CRM got.
    let samples = summary["samples"].as_array().expect("samples");
    assert!(!samples.is_empty());
    for sample in samples {
        let company = sb.company(sample["id"].as_str().unwrap());
        let headcount = &sample["fields"]["headcount"][0];
        if let Some(h) = headcount.as_u64() {
            assert_eq!(
                prop(&company, "firmo_headcount"),
                Some(h.to_string().as_str())
            );
        }
        let industry = &sample["fields"]["industry"][0];
        if let Some(i) = industry.as_str() {
            assert_eq!(prop(&company, "firmo_industry"), Some(i));
        }
    }

    // Writes went in batches, and the sandbox saw the values land.
    let stats = sb.stats();
    assert_eq!(
        sb.requests("companies.batch_update"),
        written.div_ceil(100) as u64
    );
    assert!(stats.values_written as usize >= written * ENRICHED.len());

    // `firmo report` shows this run.
    let state = ws.state().display().to_string();
    let report = firmo(&ws, &["--state", &state, "--json", "report"]).await;
    report.expect_code(0);
    let report = report.json();
    let last = &report["runs"][0];
    assert_eq!(last["id"], summary["run_id"], "{report:#}");
    assert_eq!(last["kind"], "sync");
    assert_eq!(last["summary"]["outcomes"], summary["outcomes"]);
    assert_eq!(report["latest"]["run_id"], summary["run_id"]);
    let html = ws.path("report.html");
    let html_arg = html.display().to_string();
    let text = firmo(&ws, &["--state", &state, "report", "--html", &html_arg]).await;
    text.expect_code(0);
    let run_id = summary["run_id"].as_i64().unwrap();
    assert!(
        text.stdout.contains(&format!("run {run_id}")),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("headcount"), "{}", text.stdout);
    let page = std::fs::read_to_string(&html).expect("the HTML report was written");
    assert!(
        page.contains("<html") && page.contains("headcount"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_within_the_refresh_windows_spends_and_writes_nothing() {
    let sb = Sandbox::start(40).await;
    let ws = Workspace::new();
    let first = sync(&ws, &sb, &[]).await;
    first.expect_code(0);
    assert!(count(&first.summary(), "/outcomes/written") > 0);
    let crm_before = sb.companies();
    let providers_before = sb.provider_requests();
    let stats_before = sb.stats();

    // Incremental (the default) and then a full pass: neither has anything to do.
    for extra in [&[][..], &["--full"][..]] {
        let out = sync(&ws, &sb, extra).await;
        out.expect_code(0);
        let summary = out.summary();
        assert!(
            is_zero(credits(&summary, "/credits")),
            "{extra:?}: {summary:#}"
        );
        for (name, p) in summary["providers"].as_object().unwrap() {
            assert_eq!(p["lookups"], 0, "{extra:?}: {name} looked something up");
        }
        assert_eq!(count(&summary, "/outcomes/written"), 0, "{extra:?}");
        assert_eq!(count(&summary, "/outcomes/failed"), 0, "{extra:?}");
        assert_eq!(outcomes_total(&summary), count(&summary, "/scanned"));
        assert_eq!(
            sb.provider_requests(),
            providers_before,
            "{extra:?}: a provider was asked again"
        );
        let stats = sb.stats();
        assert_eq!(
            stats.values_written, stats_before.values_written,
            "{extra:?}"
        );
        assert_eq!(
            sb.requests("companies.batch_update"),
            stats_before.requests["companies.batch_update"],
            "{extra:?}: a batch update was sent"
        );
        assert_eq!(
            stats.requests.get("properties.create"),
            stats_before.requests.get("properties.create"),
            "{extra:?}: properties created again"
        );
        assert_eq!(sb.companies(), crm_before, "{extra:?}: the CRM changed");
    }
    // The full pass saw every company again.
    let all = sync(&ws, &sb, &["--full", "--dry-run"]).await;
    all.expect_code(0);
    let plan = all.summary();
    assert_eq!(count(&plan, "/scanned") as usize, crm_before.len());
    assert!(is_zero(credits(&plan, "/planned_credits")), "{plan:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_edit_of_a_firmo_value_survives_the_next_sync() {
    let sb = Sandbox::start(30).await;
    let ws = Workspace::new();
    sync(&ws, &sb, &[]).await.expect_code(0);

    let target = sb
        .companies()
        .into_iter()
        .find(|c| prop(c, "firmo_headcount").is_some())
        .expect("some company got a headcount");
    let ours: u64 = prop(&target, "firmo_headcount").unwrap().parse().unwrap();
    let human = (ours + 1234).to_string();
    sb.edit_company(&target.id, serde_json::json!({ "firmo_headcount": human }))
        .await;
    let edited = sb.company(&target.id);
    assert_eq!(prop(&edited, "firmo_headcount"), Some(human.as_str()));
    let written_before = sb.stats().values_written;

    let out = sync(&ws, &sb, &["--full"]).await;
    out.expect_code(0);
    let summary = out.summary();
    let after = sb.company(&target.id);
    assert_eq!(
        prop(&after, "firmo_headcount"),
        Some(human.as_str()),
        "firmo overwrote a person's edit"
    );
    assert_eq!(
        firmo_props(&after),
        firmo_props(&edited),
        "firmo touched the edited record"
    );
    assert_eq!(sb.stats().values_written, written_before);
    assert_eq!(
        reasons(&summary, "skipped", "human"),
        1,
        "the edited account is reported as kept: {}",
        summary["skipped"]
    );
    assert_eq!(count(&summary, "/outcomes/written"), 0);
    assert!(is_zero(credits(&summary, "/credits")));
}

/// Runs capped syncs until one has nothing left to do (then a `--full` one, when asked),
/// and checks the CRM ends as one unlimited run leaves it.
async fn budget_runs_converge(finish_with_full_sweep: bool) {
    const BUDGET: f64 = 60.0;
    // What an unlimited run writes, on an identical portal.
    let unlimited = {
        let sb = Sandbox::start(40).await;
        let ws = Workspace::new();
        sync(&ws, &sb, &[]).await.expect_code(0);
        sb.companies()
    };

    let sb = Sandbox::start(40).await;
    let ws = Workspace::new();
    let config = ws.write(
        "budget.toml",
        &format!(
            "[crm]\nrequests_per_10s = 10000\nsearch_per_second = 100\n\n\
             [budget]\nmax_credits_per_run = {BUDGET}\n"
        ),
    );
    let mut spent = Vec::new();
    let mut extra: &[&str] = &[];
    loop {
        assert!(spent.len() < 8, "still spending after {spent:?}");
        let args = sync_args(&ws, &sb, Some(&config), extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = firmo(&ws, &args).await;
        out.expect_code(0);
        let summary = out.summary();
        let credits = credits(&summary, "/credits");
        assert!(credits <= BUDGET, "run {} spent {credits}", spent.len() + 1);
        spent.push(credits);
        if is_zero(credits) && count(&summary, "/outcomes/written") == 0 {
            if !finish_with_full_sweep || !extra.is_empty() {
                break;
            }
            extra = &["--full"];
        }
    }
    assert!(spent.len() >= 3, "the budget never bit: {spent:?}");

    // In the end the CRM holds what one unlimited run writes.
    for (capped, free) in sb.companies().iter().zip(&unlimited) {
        let mut capped_props = firmo_props(capped);
        let mut free_props = firmo_props(free);
        capped_props.remove("firmo_enriched_at");
        free_props.remove("firmo_enriched_at");
        assert_eq!(
            capped_props,
            free_props,
            "{} ({:?}) after runs spending {spent:?}",
            capped.id,
            prop(capped, "domain")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_budget_caps_each_run_and_later_runs_finish_the_job() {
    budget_runs_converge(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_left_waiting_are_finished_by_plain_incremental_syncs() {
    budget_runs_converge(false).await;
}

/// HubSpot's dated API version is the default; the legacy `v3` paths give the same sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dated_and_the_legacy_api_versions_sync_alike() {
    let mut written = Vec::new();
    for version in ["2026-09", "v3"] {
        let sb = Sandbox::start(30).await;
        let ws = Workspace::new();
        let config = ws.write(
            "versioned.toml",
            &format!(
                "[crm]\nrequests_per_10s = 10000\nsearch_per_second = 100\napi_version = \"{version}\"\n"
            ),
        );
        let args = sync_args(&ws, &sb, Some(&config), &[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = firmo(&ws, &args).await;
        out.expect_code(0);
        let summary = out.summary();
        written.push((
            count(&summary, "/outcomes/written"),
            count(&summary, "/crm_calls"),
        ));
        assert!(
            sb.has_property("firmo_headcount"),
            "{version}: properties created"
        );
    }
    assert!(written[0].0 > 0, "{written:?}");
    assert_eq!(
        written[0], written[1],
        "same writes, same CRM calls on both versions"
    );
    let ws = Workspace::new();
    let bad = ws.write("bad.toml", "[crm]\napi_version = \"v4\"\n");
    let out = firmo(
        &ws,
        &["--config", &bad.display().to_string(), "sync", "--sandbox"],
    )
    .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("2026-09"),
        "the error lists the versions: {}",
        out.stderr
    );
}
