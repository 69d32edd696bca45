//! `firmo report --sources-md PATH`: the "Enrichment Data Sources" document a RevOps team
//! keeps by hand (per source: what it supplies, refresh, spend, coverage, accuracy, known
//! issues, last updated), written from the config and the store's measurements so the
//! numbers are never looked up by hand again.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use firmo_core::{Date, Field, Severity, Source};
use firmo_engine::budget::MonthToDate;
use firmo_engine::config::Config;
use firmo_engine::quality::{self, Accuracy, QualityReport, RunView};

use crate::cli::GlobalArgs;
use crate::context::{load_config, open_store_read_only};
use crate::output::print;
use crate::{CmdResult, Failure};

/// How many recent runs are searched for the newest real (not dry) one.
const RECENT_RUNS: usize = 20;

/// `portal`: `--portal NAME`, which limits the run described and the month's spend to
/// that portal's.
pub(crate) fn run(global: &GlobalArgs, path: &Path, portal: Option<&str>) -> CmdResult {
    let config = load_config(global)?;
    if !crate::context::state_exists(global) {
        return Err(Failure::Usage(anyhow!(
            "no state file at {}: run `firmo sync` first (or pass --state)",
            crate::context::state_label(global)
        )));
    }
    let store = open_store_read_only(global)?;
    let now = firmo_engine::system_clock()();
    let today = now
        .date()
        .ok_or_else(|| anyhow!("the system clock ({} ms) is not a date", now.0))?;
    let portal = portal
        .map(|asked| super::report::portal_key(global, &store, asked))
        .transpose()?;
    let recent = match &portal {
        Some(portal) => store.list_runs_on(portal, RECENT_RUNS)?,
        None => store.list_runs(RECENT_RUNS)?,
    };
    let latest = recent
        .into_iter()
        .find(|r| !r.dry_run)
        .ok_or_else(|| Failure::Usage(anyhow!("no run to describe yet: run `firmo sync` first")))?;
    let view = quality::view(&store, latest.id.0)?;
    let measured = quality::measure(&store, latest.id.0, today)?;
    let mut month = MonthToDate::of(&store, config.monthly.reset_day, now)?;
    if let Some(portal) = &portal {
        // The same period, this portal's ledger only.
        let since = firmo_store::UnixMillis(month.start.midnight_utc_millis());
        month.spent = store
            .credits_since_on(portal, since)?
            .into_iter()
            .map(|r| (r.provider, r.credits))
            .collect();
    }
    let text = render(&Inputs {
        config: &config,
        view: &view,
        quality: &measured,
        month: &month,
        today,
    });
    std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    if !global.quiet {
        print(&format!(
            "wrote {} (run {}, {} accounts)\n",
            path.display(),
            latest.id,
            view.accounts.len()
        ))?;
    }
    Ok(())
}

/// Everything the document is written from.
pub(crate) struct Inputs<'a> {
    pub config: &'a Config,
    pub view: &'a RunView,
    pub quality: &'a QualityReport,
    pub month: &'a MonthToDate,
    pub today: Date,
}

/// The provider whose name is the source's (LinkedIn data has none: it comes through
/// Clay), with its config.
fn provider_of(
    config: &Config,
    source: Source,
) -> Option<(&str, &firmo_engine::config::SourceConfig)> {
    config
        .sources
        .iter()
        .find(|(name, _)| Source::from_name(name) == Some(source))
        .map(|(name, c)| (name.as_str(), c))
}

fn pct(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

fn accuracy_text(a: &Accuracy) -> String {
    format!(
        "{} ± {:.0} ({} checked, {})",
        pct(a.rate),
        a.margin() * 100.0,
        a.n,
        a.sampled_on
    )
}

fn refresh_text(days: u32) -> &'static str {
    match days {
        0..=7 => "weekly",
        8..=31 => "monthly",
        _ => "quarterly",
    }
}

/// The document, as Markdown.
pub(crate) fn render(input: &Inputs<'_>) -> String {
    let Inputs {
        config,
        view,
        quality,
        month,
        today,
    } = input;
    let mut out = String::from("# Enrichment Data Sources\n\n");
    let _ = writeln!(
        out,
        "Written by `firmo report --sources-md` on {today} from run {} ({}, {} accounts). \
         Edit `firmo.toml`, not this file: the next run of the command rewrites it.\n",
        view.run.id,
        view.run.kind,
        view.accounts.len()
    );
    let price = config.budget.credit_price;
    let currency = &config.budget.currency;
    let money = |credits: f64| {
        price.map_or_else(String::new, |p| format!(" ({:.2} {currency})", credits * p))
    };
    let _ = writeln!(
        out,
        "| Source | Supplies | Refresh | Credits since {} | Coverage (values won) |\n\
         |---|---|---|---|---|",
        month.start
    );
    let rule = |field: Field| config.core.merge.rule(field);
    let supplies = |source: Source| -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|f| rule(*f).sources.contains(&source))
            .collect()
    };
    for source in Source::ALL {
        let fields = supplies(source);
        let provider = provider_of(config, source);
        let spent = provider
            .and_then(|(name, _)| month.spent.get(name).copied())
            .unwrap_or(0.0);
        let won: Vec<String> = fields
            .iter()
            .map(|f| format!("{} {}", f.name(), pct(view.source_coverage(*f, source))))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}{} | {} |",
            source.label(),
            fields
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
            provider.map_or("with Clay", |(_, c)| refresh_text(c.refresh.days())),
            if provider.is_some() {
                format!("{spent:.1}")
            } else {
                "(Clay's)".to_owned()
            },
            if provider.is_some() {
                money(spent)
            } else {
                String::new()
            },
            won.join(", ")
        );
    }
    for source in Source::ALL {
        let fields = supplies(source);
        let _ = writeln!(out, "\n## {}\n", source.label());
        match provider_of(config, source) {
            Some((name, c)) => {
                let spent = month.spent.get(name).copied().unwrap_or(0.0);
                let _ = writeln!(
                    out,
                    "- **Status:** {} (`[sources.{name}]`)",
                    if c.enabled { "enabled" } else { "disabled" }
                );
                let _ = writeln!(
                    out,
                    "- **Refresh:** {} (every {} days)",
                    refresh_text(c.refresh.days()),
                    c.refresh.days()
                );
                let _ = writeln!(
                    out,
                    "- **Spend this month:** {spent:.1} credits since {}{}{}",
                    month.start,
                    money(spent),
                    c.monthly_credits
                        .map(|l| format!(", of a {l:.0}-credit monthly limit"))
                        .unwrap_or_default()
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "- **Status:** delivered through Clay's rows; refreshed and paid with Clay"
                );
            }
        }
        let _ = writeln!(out, "- **Supplies:**");
        for field in &fields {
            let order = rule(*field).sources.iter().position(|s| *s == source);
            let _ = writeln!(
                out,
                "  - `{}`: source {} of {}; {} of accounts have their value from it \
                 (the field is filled for {})",
                field.name(),
                order.map_or(0, |i| i + 1),
                rule(*field).sources.len(),
                pct(view.source_coverage(*field, source)),
                pct(view.coverage(*field))
            );
        }
        let _ = writeln!(out, "- **Accuracy (spot checks) and corrections:**");
        let mut any = false;
        for field in &fields {
            let Some(sq) = quality
                .fields
                .iter()
                .find(|f| f.field == field.name())
                .and_then(|f| f.sources.iter().find(|s| s.source == source.name()))
            else {
                continue;
            };
            if let Some(a) = &sq.accuracy {
                any = true;
                let _ = writeln!(out, "  - `{}`: {}", field.name(), accuracy_text(a));
            }
            let c = &sq.corrections;
            if c.written > 0 {
                any = true;
                let _ = writeln!(
                    out,
                    "  - `{}`: {} of {} values firmo wrote were changed by a person ({:.1} %)",
                    field.name(),
                    c.corrected,
                    c.written,
                    c.rate * 100.0
                );
            }
        }
        if !any {
            let _ = writeln!(
                out,
                "  - not measured yet: `firmo spot-check sample --field FIELD --n 50`"
            );
        }
        let _ = writeln!(out, "- **Known quality issues:**");
        let issues = known_issues(view, quality, source);
        if issues.is_empty() {
            let _ = writeln!(out, "  - none found in run {}", view.run.id);
        }
        for issue in issues {
            let _ = writeln!(out, "  - {issue}");
        }
        let _ = writeln!(out, "- **Last updated:** {today}");
    }
    out
}

/// This source's issues: the rules' findings on fields it won, and the fields where it
/// often disagrees with another source.
fn known_issues(view: &RunView, quality: &QualityReport, source: Source) -> Vec<String> {
    // (code, rule) → (severity, accounts)
    let mut findings: BTreeMap<(String, String), (Severity, u64)> = BTreeMap::new();
    for account in &view.accounts {
        for f in &account.findings {
            let Some(field) = f.field else { continue };
            if account.fields.get(&field).and_then(|v| v.source) != Some(source) {
                continue;
            }
            let entry = findings
                .entry((f.code.clone(), f.rule.clone()))
                .or_insert((f.severity, 0));
            entry.1 += 1;
        }
    }
    let mut out: Vec<String> = findings
        .into_iter()
        .map(|((code, rule), (severity, n))| {
            let what = match severity {
                Severity::Reject => "rejected",
                Severity::Flag => "flagged",
            };
            format!("{code} `{rule}`: {what} on {n} accounts where it supplied the value")
        })
        .collect();
    for a in &quality.agreement {
        let other = if a.a == source.name() {
            &a.b
        } else if a.b == source.name() {
            &a.a
        } else {
            continue;
        };
        // Below four in five is worth a reviewer's look; above is wording noise.
        if a.compared > 0 && a.rate < 0.8 {
            out.push(format!(
                "`{}` agrees with {} on {} of {} accounts ({})",
                a.field,
                Source::from_name(other).map_or_else(|| other.clone(), |s| s.label().to_owned()),
                a.agreed,
                a.compared,
                pct(a.rate)
            ));
        }
    }
    out
}
