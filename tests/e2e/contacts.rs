//! `[contacts]`: the people at each account, through the sandbox's associations, contacts
//! and Clay people table. What the CRM holds afterwards is read over its HubSpot API, as
//! any integration would; who has a recent engineering executive is the sandbox's truth
//! (`firmo_sandbox::has_recent_exec`), which Clay's company table and its people table
//! both tell, so `exec_change` is checked with either source and with both.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use firmo_core::Date;
use firmo_sandbox::Company;
use firmo_sandbox::emulators::synth;
use serde_json::{Value, json};

use crate::support::{
    Sandbox, TOKEN, Workspace, count, credits, firmo, is_zero, prop, sync_args, with_domain,
};

/// At most this many contacts per company in these tests.
const CAP: usize = 2;

/// Which sources a run hears about executive changes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Executives {
    /// As users run it: Clay's company table (its LinkedIn columns) and the people.
    CompanyTableAndPeople,
    /// Clay's company table off: only the people say.
    PeopleOnly,
    /// Contacts off: only the company table says.
    CompanyTableOnly,
}

/// Contacts on, at most [`CAP`] per company, Clay's company table on: the demo's setup.
fn config(ws: &Workspace) -> PathBuf {
    config_for(ws, Executives::CompanyTableAndPeople)
}

fn config_for(ws: &Workspace, executives: Executives) -> PathBuf {
    let (clay, contacts) = match executives {
        Executives::CompanyTableAndPeople => (true, true),
        Executives::PeopleOnly => (false, true),
        Executives::CompanyTableOnly => (true, false),
    };
    ws.write(
        "contacts.toml",
        &format!(
            "[crm]\nrequests_per_10s = 10000\nsearch_per_second = 100\n\n\
             [sources.clay]\nenabled = {clay}\n\n\
             [contacts]\nenabled = {contacts}\nper_company = {CAP}\n"
        ),
    )
}

async fn run(ws: &Workspace, sb: &Sandbox, extra: &[&str]) -> crate::support::Output {
    run_with(ws, sb, Executives::CompanyTableAndPeople, extra).await
}

async fn run_with(
    ws: &Workspace,
    sb: &Sandbox,
    executives: Executives,
    extra: &[&str],
) -> crate::support::Output {
    let config = config_for(ws, executives);
    let args = sync_args(ws, sb, Some(&config), extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    firmo(ws, &args).await
}

async fn post(sb: &Sandbox, path: &str, body: Value) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(format!("{}{path}", sb.url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("the sandbox answers");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}

/// Each company's contact ids as the associations API lists them, one entry per listing
/// (a contact under two association types may be listed twice).
async fn associations(sb: &Sandbox, companies: &[&str]) -> BTreeMap<String, Vec<String>> {
    let inputs: Vec<Value> = companies.iter().map(|id| json!({ "id": id })).collect();
    let body = post(
        sb,
        "/crm/v4/associations/companies/contacts/batch/read",
        json!({ "inputs": inputs }),
    )
    .await;
    let mut out = BTreeMap::new();
    for result in body["results"].as_array().cloned().unwrap_or_default() {
        let from = result["from"]["id"].as_str().unwrap_or_default().to_owned();
        let to: Vec<String> = result["to"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .flat_map(|t| {
                // One listing per association type, as HubSpot may answer.
                let id = match &t["toObjectId"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let types = t["associationTypes"].as_array().map_or(1, Vec::len);
                std::iter::repeat_n(id, types.max(1))
            })
            .collect();
        out.insert(from, to);
    }
    out
}

const READ: &[&str] = &[
    "email",
    "jobtitle",
    "firmo_job_title",
    "firmo_linkedin_url",
    "firmo_seniority",
    "firmo_role_start_date",
];

/// The contacts' properties, by id.
async fn contacts(sb: &Sandbox, ids: &BTreeSet<String>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let ids: Vec<&String> = ids.iter().collect();
    for chunk in ids.chunks(100) {
        let inputs: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
        let body = post(
            sb,
            "/crm/v3/objects/contacts/batch/read",
            json!({ "inputs": inputs, "properties": READ }),
        )
        .await;
        for c in body["results"].as_array().cloned().unwrap_or_default() {
            let id = c["id"].as_str().unwrap_or_default().to_owned();
            out.insert(id, c["properties"].clone());
        }
    }
    out
}

fn text<'a>(contact: &'a Value, property: &str) -> Option<&'a str> {
    contact[property].as_str().filter(|v| !v.is_empty())
}

/// HubSpot requests the sandbox counted for contacts: their records, associations,
/// properties and property groups.
fn contact_requests(sb: &Sandbox) -> u64 {
    sb.stats()
        .requests
        .iter()
        .filter(|(kind, _)| {
            [
                "crm.contacts.",
                "crm.associations.",
                "properties.contacts.",
                "property_groups.contacts.",
            ]
            .iter()
            .any(|family| kind.starts_with(family))
        })
        .map(|(_, n)| n)
        .sum()
}

/// Rows the Clay people table received.
async fn people_rows(sb: &Sandbox) -> u64 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stats: Value = reqwest::get(format!("{}/clay/people/_emulator/stats", sb.url()))
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("stats are JSON");
    stats["rows_received"].as_u64().expect("a row count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selected_contacts_get_titles_and_profiles_once_each_and_a_second_sync_spends_nothing() {
    let sb = Sandbox::start(24).await;
    let ws = Workspace::new();
    let companies = sb.companies();
    let ids: Vec<&str> = with_domain(&companies)
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    // Someone who works with two of the companies: a "Technical buyer" at the second too.
    let shared = associations(&sb, &ids[..1]).await[ids[0]][0].clone();
    assert!(sb.state().associate(
        ids[1],
        &shared,
        firmo_sandbox::AssociationLabel::TechnicalBuyer
    ));
    let listed = associations(&sb, &ids).await;
    let all: BTreeSet<String> = listed.values().flatten().cloned().collect();
    let before = contacts(&sb, &all).await;
    // The seed lists some contacts twice (unlabeled and "Primary"): the case to dedupe.
    let listings: usize = listed.values().map(Vec::len).sum();
    assert!(listings > all.len(), "no contact is associated twice");

    let calls_before = contact_requests(&sb);
    let out = run(&ws, &sb, &[]).await;
    out.expect_code(0);
    let summary = out.summary();
    let c = &summary["contacts"];
    assert_eq!(count(c, "/read") as usize, all.len(), "{c:#}");
    // Every contact call the CRM saw is counted, and only those.
    assert_eq!(
        count(c, "/crm_calls"),
        contact_requests(&sb) - calls_before,
        "{c:#}"
    );
    let selected = count(c, "/selected");
    assert!(
        selected > 0 && selected as usize <= CAP * ids.len(),
        "{c:#}"
    );
    // Each selected person looked up once: one row each in the people table.
    assert_eq!(count(c, "/looked_up"), selected, "{c:#}");
    assert_eq!(people_rows(&sb).await, selected);
    assert!(credits(c, "/credits") > 0.0);
    assert!(count(c, "/written") > 0, "{c:#}");
    // The shared contact was selected at both companies and looked up once.
    let shared_at: usize = listed.values().filter(|l| l.contains(&shared)).count();
    assert_eq!(shared_at, 2);

    let after = contacts(&sb, &all).await;
    let mut enriched_all: BTreeSet<&String> = BTreeSet::new();
    for (company, contact_ids) in &listed {
        let distinct: BTreeSet<&String> = contact_ids.iter().collect();
        let enriched: Vec<&Value> = distinct
            .iter()
            .filter_map(|id| after.get(*id).map(|p| (*id, p)))
            .filter(|(_, p)| text(p, "firmo_linkedin_url").is_some())
            .map(|(id, p)| {
                enriched_all.insert(id);
                p
            })
            .collect();
        assert!(
            enriched.len() <= CAP,
            "company {company}: {} contacts enriched, the cap is {CAP}",
            enriched.len()
        );
        for p in enriched {
            let url = text(p, "firmo_linkedin_url").unwrap();
            assert!(url.starts_with("https://www.linkedin.com/in/"), "{url}");
            let title = text(p, "firmo_job_title").expect("an enriched title");
            // `jobtitle` is filled where it was empty, and kept where it was not.
            let id = p["hs_object_id"].as_str().unwrap_or_default();
            match before.get(id).and_then(|b| text(b, "jobtitle")) {
                None => assert_eq!(text(p, "jobtitle"), Some(title), "contact {id}"),
                Some(old) => assert_eq!(text(p, "jobtitle"), Some(old), "contact {id}"),
            }
        }
    }
    assert_eq!(enriched_all.len() as u64, count(c, "/found"));

    // exec_change follows the people: set exactly where a recent CTO/VP Eng works.
    assert_exec_change(&sb.companies(), Executives::CompanyTableAndPeople, 0);

    let rows = people_rows(&sb).await;
    let calls_before = contact_requests(&sb);
    let again = run(&ws, &sb, &[]).await;
    again.expect_code(0);
    let summary = again.summary();
    let c = &summary["contacts"];
    assert_eq!(
        count(c, "/crm_calls"),
        contact_requests(&sb) - calls_before,
        "{c:#}"
    );
    assert_eq!(count(c, "/looked_up"), 0, "{c:#}");
    assert!(is_zero(credits(c, "/credits")));
    assert_eq!(count(c, "/cached"), selected, "{c:#}");
    assert_eq!(count(c, "/written"), 0, "{c:#}");
    assert_eq!(
        people_rows(&sb).await,
        rows,
        "the second sync pushed people"
    );
    assert_eq!(contacts(&sb, &all).await, after);
}

/// `exec_change` on every demo company with a domain is what the sandbox's one truth
/// says (`firmo_sandbox::has_recent_exec`), and the people who set it are named. With the
/// company table alone, a company Clay does not know, or whose row is still out
/// (`unanswered` of them at most), has no value.
fn assert_exec_change(companies: &[Company], executives: Executives, unanswered: u64) {
    let mut gaps = Vec::new();
    let mut recent_seen = 0;
    for company in with_domain(companies) {
        let domain = prop(company, "domain").unwrap();
        let recent = firmo_sandbox::has_recent_exec(domain);
        recent_seen += usize::from(recent);
        let value = prop(company, "firmo_exec_change");
        let sources = prop(company, "firmo_sources").unwrap_or_default();
        let named = sources.contains("exec_change=contact:");
        if executives == Executives::CompanyTableOnly {
            assert!(!named, "{domain}: {sources}");
            let known = synth::profile(domain, Date::new(2026, 1, 1).unwrap())
                .found_at(synth::Provider::Clay);
            match value {
                Some(v) => assert_eq!(v == "true", recent, "{domain}: exec_change {v}"),
                None if known => gaps.push(domain.to_owned()),
                None => {}
            }
            continue;
        }
        assert_eq!(
            value == Some("true"),
            recent,
            "{executives:?}, {domain}: exec_change {value:?}"
        );
        assert_eq!(named, recent, "{executives:?}, {domain}: {sources}");
    }
    assert!(
        recent_seen > 0,
        "no demo company has a recent engineering executive"
    );
    assert!(
        gaps.len() as u64 <= unanswered,
        "{executives:?}: no exec_change at {gaps:?}, {unanswered} Clay rows outstanding"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_change_is_right_from_the_people_the_company_table_or_both() {
    for executives in [
        Executives::PeopleOnly,
        Executives::CompanyTableOnly,
        Executives::CompanyTableAndPeople,
    ] {
        let sb = Sandbox::start(24).await;
        let ws = Workspace::new();
        let out = run_with(&ws, &sb, executives, &[]).await;
        out.expect_code(0);
        let summary = out.summary();
        let unanswered = match executives {
            Executives::PeopleOnly => 0,
            _ => count(&summary["providers"]["clay"], "/pending"),
        };
        if executives != Executives::CompanyTableOnly {
            // The people found are the ones who set it, one company each.
            let recent = with_domain(&sb.companies())
                .iter()
                .filter(|c| firmo_sandbox::has_recent_exec(prop(c, "domain").unwrap()))
                .count();
            assert_eq!(count(&summary, "/contacts/exec_changes") as usize, recent);
        }
        assert_exec_change(&sb.companies(), executives, unanswered);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_a_person_edited_survives_the_next_sync() {
    let sb = Sandbox::start(12).await;
    let ws = Workspace::new();
    let companies = sb.companies();
    let ids: Vec<&str> = with_domain(&companies)
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let all: BTreeSet<String> = associations(&sb, &ids)
        .await
        .into_values()
        .flatten()
        .collect();
    let before = contacts(&sb, &all).await;
    run(&ws, &sb, &[]).await.expect_code(0);
    let after = contacts(&sb, &all).await;
    // A contact whose empty title firmo filled.
    let (id, _) = after
        .iter()
        .find(|(id, p)| {
            text(p, "jobtitle").is_some()
                && before.get(*id).and_then(|b| text(b, "jobtitle")).is_none()
        })
        .expect("firmo filled some empty title");
    post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({"inputs": [{"id": id, "properties": {
            "jobtitle": "Chief Coffee Officer",
            "firmo_job_title": "Chief Coffee Officer",
        }}]}),
    )
    .await;

    let out = run(&ws, &sb, &["--full"]).await;
    out.expect_code(0);
    let now = contacts(&sb, &all).await;
    assert_eq!(text(&now[id], "jobtitle"), Some("Chief Coffee Officer"));
    assert_eq!(
        text(&now[id], "firmo_job_title"),
        Some("Chief Coffee Officer")
    );
    assert_eq!(count(&out.summary()["contacts"], "/looked_up"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_prices_contact_lookups_apart_and_writes_no_one() {
    let sb = Sandbox::start(12).await;
    let ws = Workspace::new();
    let out = run(&ws, &sb, &["--dry-run"]).await;
    out.expect_code(0);
    let summary = out.summary();
    let c = &summary["contacts"];
    let planned = count(c, "/would_look_up");
    assert!(planned > 0, "{c:#}");
    assert_eq!(count(c, "/looked_up"), 0);
    // One credit per person (Clay's default price), apart from the companies' estimate.
    assert!((credits(c, "/planned_credits") - planned as f64).abs() < 1e-9);
    assert_eq!(people_rows(&sb).await, 0, "a dry run pushed people");
    let properties: Vec<&str> = c["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert!(
        properties.iter().all(|s| *s == "would create"),
        "{properties:?}"
    );

    let config = config(&ws);
    let mut args = sync_args(&ws, &sb, Some(&config), &["--dry-run"]);
    args.retain(|a| a != "--json");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = firmo(&ws, &args).await;
    text.expect_code(0);
    assert!(
        text.stdout.contains(&format!(
            "lookups     {planned:>8}   would be made, {planned}.0 credits"
        )),
        "{}",
        text.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_contacts_setting_stops_before_any_call_naming_the_key() {
    let sb = Sandbox::start(3).await;
    let ws = Workspace::new();
    let config = ws.write("bad.toml", "[contacts]\nenabled = true\nper_company = 0\n");
    let args = sync_args(&ws, &sb, Some(&config), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = firmo(&ws, &args).await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("contacts.per_company"),
        "{}",
        out.stderr
    );
    assert_eq!(sb.stats().requests.values().sum::<u64>(), 0);
}
