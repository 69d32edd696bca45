//! When things go wrong: a batch update that fails for some records (HubSpot's 207), and a
//! process killed in the middle of a run. Nothing is lost and no lookup is paid twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use firmo_sandbox::Faults;

use crate::support::{
    Sandbox, Workspace, command, count, credits, firmo, firmo_props, is_zero, outcomes_total, prop,
    reasons, sync, sync_args, wait_until, with_domain,
};

/// Three companies with distinct domains, for the fault to fail.
fn pick_victims(sb: &Sandbox) -> BTreeSet<String> {
    let companies = sb.companies();
    let mut seen = BTreeSet::new();
    with_domain(&companies)
        .into_iter()
        .filter(|c| seen.insert(prop(c, "domain").unwrap().to_ascii_lowercase()))
        .skip(2)
        .step_by(5)
        .take(3)
        .map(|c| c.id.clone())
        .collect()
}

/// First run with failing ids: reported, the rest written. Returns the victims.
async fn sync_with_failing_ids(sb: &Sandbox, ws: &Workspace) -> BTreeSet<String> {
    let victims = pick_victims(sb);
    assert_eq!(victims.len(), 3);
    sb.set_faults(Faults {
        fail_ids: victims.clone(),
        ..Faults::default()
    });
    let out = sync(ws, sb, &[]).await;
    out.expect_code(1);
    let summary = out.summary();
    assert_eq!(count(&summary, "/outcomes/failed"), 3, "{summary:#}");
    assert_eq!(reasons(&summary, "failed", ""), 3, "{}", summary["failed"]);
    assert_eq!(summary["outcome"], "partial");
    assert_eq!(outcomes_total(&summary), count(&summary, "/scanned"));
    for id in &victims {
        assert!(
            firmo_props(&sb.company(id)).is_empty(),
            "{id} failed but holds firmo values"
        );
        // Each failed account is named with the CRM's reason.
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(id.as_str()) && l.contains("INJECTED_FAULT")),
            "{id}'s failure is not reported:\n{}",
            out.stderr
        );
    }
    let written = sb
        .companies()
        .iter()
        .filter(|c| prop(c, "firmo_enriched_at").is_some())
        .count();
    assert_eq!(written as u64, count(&summary, "/outcomes/written"));
    assert!(written > 20, "{written}");
    sb.set_faults(Faults::default());
    victims
}

/// The re-run that must pick the failed accounts up: written now, from the cache.
fn assert_recovered(sb: &Sandbox, summary: &serde_json::Value, victims: &BTreeSet<String>) {
    for id in victims {
        let c = sb.company(id);
        assert!(
            prop(&c, "firmo_enriched_at").is_some(),
            "{id} was not written on the next run: {:?}",
            firmo_props(&c)
        );
    }
    assert_eq!(count(summary, "/outcomes/written"), 3, "{summary:#}");
    assert_eq!(count(summary, "/outcomes/failed"), 0);
    assert!(
        is_zero(credits(summary, "/credits")),
        "the answers were paid already"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_batch_failure_is_reported_and_nothing_is_lost() {
    let sb = Sandbox::start(40).await;
    let ws = Workspace::new();
    let victims = sync_with_failing_ids(&sb, &ws).await;
    let providers = sb.provider_requests();

    let out = sync(&ws, &sb, &["--full"]).await;
    out.expect_code(0);
    assert_recovered(&sb, &out.summary(), &victims);
    assert_eq!(
        sb.provider_requests(),
        providers,
        "a provider was asked again about a domain it had answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_writes_are_retried_by_the_next_incremental_sync() {
    let sb = Sandbox::start(40).await;
    let ws = Workspace::new();
    let victims = sync_with_failing_ids(&sb, &ws).await;
    let providers = sb.provider_requests();

    // The weekly cron line, unchanged: no --full.
    let out = sync(&ws, &sb, &[]).await;
    out.expect_code(0);
    assert_recovered(&sb, &out.summary(), &victims);
    assert_eq!(sb.provider_requests(), providers);
}

/// Domain keys each provider has an answer for in the state file (found, not found, pending
/// or failed): what a restart must not ask again.
fn stored_answers(state: &std::path::Path) -> BTreeMap<String, u64> {
    let store = firmo_store::Store::open(state).expect("the state file opens after a kill");
    let mut stored = BTreeMap::new();
    for count in store.cache_summary().expect("the cache reads") {
        // A Clay row pushed and not back at the kill had its callback sent to the dead
        // run's receiver: the restart pushes it again at once, so it is no answer.
        if count.provider == "clay" && count.status == firmo_store::LookupStatus::Pending {
            continue;
        }
        *stored.entry(count.provider).or_default() += count.keys;
    }
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_restarts_without_paying_twice() {
    let sb = Sandbox::start(60).await;
    let ws = Workspace::new();
    let companies = sb.companies();
    // One lookup per provider per distinct domain, however many records share it.
    let domains: BTreeSet<String> = companies
        .iter()
        .filter_map(|c| prop(c, "domain"))
        .filter_map(|d| firmo_core::normalize::domain(d).ok())
        .collect();
    let distinct = domains.len() as u64;
    // Every provider is asked about every domain (no waterfall), so the restart's lookups
    // are exactly the answers the kill left unstored.
    let config = ws.write(
        "ask-everyone.toml",
        "[crm]\nrequests_per_10s = 10000\nsearch_per_second = 100\n[waterfall]\nenabled = false\n",
    );
    let config_arg = config.display().to_string();
    let state_arg = ws.state().display().to_string();
    // Properties first, so the killed run spends its time on lookups.
    let url = sb.url();
    let ensure = firmo(
        &ws,
        &[
            "--config",
            &config_arg,
            "--state",
            &state_arg,
            "properties",
            "ensure",
            "--sandbox-url",
            &url,
        ],
    )
    .await;
    ensure.expect_code(0);

    // Slow answers keep lookups in flight long enough to kill the run among them.
    sb.set_faults(Faults {
        latency: Duration::from_millis(250),
        ..Faults::default()
    });
    let args = sync_args(&ws, &sb, Some(&config), &[]);
    let mut child = command(&ws, &args.iter().map(String::as_str).collect::<Vec<_>>())
        .spawn()
        .expect("firmo starts");
    // Pages run concurrently, so providers progress unevenly: kill once every provider
    // has some answer stored (the state file is read alongside the run, as WAL allows).
    let state = ws.state();
    wait_until(
        "the run to store answers from every provider",
        Duration::from_secs(30),
        || {
            let stored = firmo_store::Store::open_read_only(&state)
                .ok()
                .and_then(|s| s.cache_summary().ok())
                .unwrap_or_default();
            ["clearbit", "builtwith", "crunchbase", "clay"]
                .iter()
                .all(|p| stored.iter().any(|c| c.provider == *p && c.keys > 0))
        },
    )
    .await;
    child.kill().await.expect("the run is killed");
    let at_kill = sb.provider_requests();
    assert_eq!(
        sb.requests("companies.batch_update"),
        0,
        "the run wrote before it was killed: kill it earlier"
    );
    let stored = stored_answers(&ws.state());
    // Batched providers (BuiltWith, Crunchbase) may have all their answers in at the kill;
    // some provider must still be mid-lookups.
    assert!(
        ["clearbit", "builtwith", "crunchbase", "clay"]
            .iter()
            .any(|p| stored.get(*p).is_some_and(|n| *n > 0 && *n < distinct)),
        "every provider had all or none of its {distinct} answers stored at the kill: kill it \
         mid-lookups ({stored:?}, {at_kill:?})"
    );

    sb.set_faults(Faults::default());
    let restart = sync_args(&ws, &sb, Some(&config), &[]);
    let out = firmo(&ws, &restart.iter().map(String::as_str).collect::<Vec<_>>()).await;
    out.expect_code(0);
    let summary = out.summary();
    let after = sb.provider_requests();

    // The restart asks each provider about exactly the domains it has no stored answer for.
    for provider in ["clearbit", "builtwith", "crunchbase", "clay"] {
        let missing = distinct - stored.get(provider).copied().unwrap_or(0);
        let asked = after[provider] - at_kill[provider];
        let lookups = summary["providers"][provider]["lookups"].as_u64().unwrap();
        assert_eq!(
            lookups, missing,
            "{provider}: the restart looked up {lookups} domains, {missing} had no stored answer"
        );
        // A Crunchbase lookup is a search, then the organization when one matches.
        // BuiltWith takes 16 domains a request, a Crunchbase search 25.
        let batch = match provider {
            "builtwith" => 16,
            "crunchbase" => 25,
            _ => 1,
        };
        let (least, most) = (missing.div_ceil(batch), missing);
        assert!(
            (least..=most).contains(&asked),
            "{provider}: the restart sent {asked} requests for {missing} unanswered domains \
             ({} before the kill, {} stored)",
            at_kill[provider],
            stored.get(provider).copied().unwrap_or(0)
        );
    }

    // And it finished: every company has an outcome, every one with a domain is enriched.
    assert_eq!(
        outcomes_total(&summary) as usize,
        companies.len(),
        "{summary:#}"
    );
    assert_eq!(count(&summary, "/outcomes/failed"), 0);
    for c in sb.companies() {
        if prop(&c, "domain").is_some() {
            assert!(
                prop(&c, "firmo_enriched_at").is_some(),
                "{} was not enriched after the restart: {:?}",
                c.id,
                firmo_props(&c)
            );
        }
    }
    // The report still reads the file, and the killed run is in the history.
    let report = firmo(&ws, &["--state", &state_arg, "--json", "report"]).await;
    report.expect_code(0);
    let runs = report.json()["runs"].clone();
    assert_eq!(runs[0]["id"], summary["run_id"]);
    assert_eq!(runs[0]["outcome"], "ok");
    assert_eq!(runs[1]["outcome"], "interrupted", "{runs:#}");
    assert!(runs[1]["finished_at"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_lose_nothing_once_a_clean_run_follows() {
    // What one run writes when nothing goes wrong, on an identical portal.
    let clean = {
        let sb = Sandbox::start(40).await;
        let ws = Workspace::new();
        sync(&ws, &sb, &[]).await.expect_code(0);
        sb.companies()
    };

    let sb = Sandbox::start(40).await;
    let ws = Workspace::new();
    // 5xx answers, dropped connections and a 429 burst, on the CRM and every provider.
    sb.set_faults(Faults {
        error_rate: 0.1,
        drop_rate: 0.03,
        burst_429: 3,
        ..Faults::default()
    });
    let out = sync(&ws, &sb, &[]).await;
    assert!(
        matches!(out.code, Some(0 | 1)),
        "a faulty run is an ordinary failure, not a crash: {out:?}"
    );
    if out.code == Some(0) || out.json()["summary"].is_object() {
        let summary = out.summary();
        assert_eq!(outcomes_total(&summary), count(&summary, "/scanned"));
    }
    let stats = sb.stats();
    assert!(
        stats.injected_errors + stats.dropped + stats.total_429 > 0,
        "no fault fired: {stats:?}"
    );

    sb.set_faults(Faults::default());
    let out = sync(&ws, &sb, &["--full"]).await;
    out.expect_code(0);
    // Everything the clean run wrote is there, the same. A faulty run may have added a
    // field: where Clay failed, the waterfall asked the next provider, and what was paid
    // for is used (Clearbit's revenue range, say).
    for (after, want) in sb.companies().iter().zip(&clean) {
        let got = firmo_props(after);
        // A union names its first listed contributor: a provider the faulty run asked
        // (BuiltWith where Clay failed) may head the same tech stack now.
        let sources_of = |props: &BTreeMap<&str, &str>| -> BTreeSet<String> {
            props
                .get("firmo_sources")
                .map(|s| {
                    s.split(';')
                        .filter(|s| !s.starts_with("tech_stack="))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        for (key, value) in firmo_props(want) {
            if key == "firmo_enriched_at" || key == "firmo_sources" {
                continue;
            }
            assert_eq!(
                got.get(key),
                Some(&value),
                "{} {key} after a faulty run and a clean one: {got:?}",
                after.id
            );
        }
        let (got_sources, want_sources) = (sources_of(&got), sources_of(&firmo_props(want)));
        assert!(
            want_sources.is_subset(&got_sources),
            "{}: sources {got_sources:?} lack some of {want_sources:?}",
            after.id
        );
    }
}
