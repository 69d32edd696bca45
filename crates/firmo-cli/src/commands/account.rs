//! `firmo report --account ID`: one account's latest outcome and its attempt trace —
//! which providers were asked in which order for each field, what each answered, what
//! it cost, and what was written.

use std::fmt::Write as _;

use firmo_store::{AccountOutcome, RunRecord, Store};
use serde::Serialize;
use serde_json::Value;

use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

/// How many recent runs are searched for the account.
const RUNS_SEARCHED: usize = 50;

#[derive(Debug, Serialize)]
struct AccountReport {
    run: RunRecord,
    outcome: AccountOutcome,
}

pub(crate) fn run(store: &Store, id: &str, json: bool) -> CmdResult {
    let mut found = None;
    for run in store.list_runs(RUNS_SEARCHED)? {
        if let Some(outcome) = store
            .outcomes(run.id)?
            .into_iter()
            .find(|o| o.account_id == id)
        {
            found = Some(AccountReport { run, outcome });
            break;
        }
    }
    let Some(report) = found else {
        return Err(Failure::Usage(anyhow::anyhow!(
            "account {id} is in none of the last {RUNS_SEARCHED} runs (ids are the CRM's record ids, or a CSV's account_id)"
        )));
    };
    if json {
        print_json(&report)?;
    } else {
        print(&render(&report))?;
    }
    Ok(())
}

fn render(r: &AccountReport) -> String {
    let o = &r.outcome;
    let detail = o.detail.clone().unwrap_or(Value::Null);
    let mut out = String::new();
    let name = detail["name"].as_str().unwrap_or("(no name)");
    let domain = o.domain.as_deref().unwrap_or("(no domain)");
    let _ = writeln!(out, "account {} · {name} · {domain}", o.account_id);
    let dry = if r.run.dry_run { ", dry run" } else { "" };
    let _ = writeln!(
        out,
        "run {} ({}{dry}) · {}{}",
        r.run.id.0,
        r.run.kind,
        o.outcome.as_str(),
        o.reason
            .as_deref()
            .map(|why| format!(": {why}"))
            .unwrap_or_default()
    );
    if let Some(lookups) = detail["lookups"].as_object() {
        let _ = writeln!(out, "\nlookups");
        for (provider, state) in lookups {
            let credits = detail["credits"][provider].as_f64().unwrap_or(0.0);
            let paid = if credits > 0.0 {
                format!("   {credits:.1} credits")
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {provider:<12} {}{paid}", state_text(state));
        }
    }
    if let Some(fields) = detail["waterfall"].as_object() {
        let _ = writeln!(out, "\nwaterfall (each field's sources in the order asked)");
        for (field, steps) in fields {
            let steps: Vec<String> = steps
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let has = if s["had_value"].as_bool() == Some(true) {
                        "value"
                    } else {
                        "no value"
                    };
                    format!(
                        "{} ({}, {has})",
                        s["provider"].as_str().unwrap_or("?"),
                        state_text(&s["outcome"])
                    )
                })
                .collect();
            let _ = writeln!(out, "  {field:<22} {}", steps.join(" → "));
        }
    }
    if let Some(changes) = detail["changes"].as_object().filter(|c| !c.is_empty()) {
        let _ = writeln!(out, "\nchanges");
        for (property, value) in changes {
            let _ = writeln!(
                out,
                "  {property:<28} {}",
                value.as_str().unwrap_or_default()
            );
        }
    }
    out
}

/// A lookup state as stored (`"fetched"`, or `{"failed": "why"}`) in words.
fn state_text(state: &Value) -> String {
    match state {
        Value::String(s) => s.replace('_', " "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}
