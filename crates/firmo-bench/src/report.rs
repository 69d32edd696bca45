//! The printed report of one scenario, with the goals next to the figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::figures::{Calls, bound, per_100, ratio};
use crate::mem::Rss;
use crate::scenario::Measured;

/// Goal: CRM calls per 100 accounts on a full sync.
const GOAL_CALLS_PER_100: f64 = 2.1;
/// Goal: wall time within this factor of the rate-limit bound.
const GOAL_BOUND_FACTOR: f64 = 1.05;
/// Goal (issue 9): the engine's peak RSS at 100,000 companies under 100 MB, read as the
/// stricter MiB.
const GOAL_PEAK_MIB: f64 = 100.0;
/// Goal (issue 9): accounts per second at 100,000 companies with pacing lifted.
const GOAL_ACCOUNTS_PER_SECOND: f64 = 1_500.0;

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn list(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".to_owned();
    }
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn rss(r: Option<Rss>, f: impl Fn(Rss) -> String) -> String {
    r.map_or_else(|| "n/a (no /proc)".to_owned(), f)
}

pub(crate) fn render(m: &Measured) -> String {
    let mut o = String::new();
    let s = &m.summary;
    let accounts = s.scanned;
    let calls = Calls::classify(&m.stats.requests);
    let limit = m.scenario.rate_limit.map_or_else(
        || "no limits".to_owned(),
        |l| format!("CRM limit {}/{} ms", l.max_requests, l.interval.as_millis()),
    );
    let _ = writeln!(
        o,
        "\n== firmo-bench [{}]: full sync of {} sandbox companies, {limit} ==",
        m.scenario.name, m.scenario.companies
    );
    let _ = writeln!(
        o,
        "sandbox {}; seeded in {}; run {} ({} mode, outcome {}{})",
        if m.scenario.sandbox_process {
            "in a child process"
        } else {
            "in this process"
        },
        secs(m.seed_time),
        s.run_id,
        s.mode,
        s.outcome,
        s.error
            .as_deref()
            .map(|e| format!(", error: {e}"))
            .unwrap_or_default()
    );

    // CRM calls.
    let crm_kinds: BTreeMap<String, u64> = m
        .stats
        .requests
        .iter()
        .filter(|(k, _)| !calls.providers.contains_key(*k))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let _ = writeln!(
        o,
        "CRM calls, the sandbox's counters (HubSpot-side, retries included):"
    );
    let _ = writeln!(o, "  by endpoint:  {}", list(&crm_kinds));
    let _ = writeln!(
        o,
        "  setup {} + per-account {} = {} for {accounts} accounts",
        calls.setup,
        calls.per_account,
        calls.crm()
    );
    let per_account_100 = per_100(calls.per_account, accounts);
    let total_100 = per_100(calls.crm(), accounts);
    let _ = writeln!(
        o,
        "  per 100 accounts: {per_account_100:.3} per-account calls [goal <= {GOAL_CALLS_PER_100}: {}], {total_100:.3} with setup [{}]",
        verdict(per_account_100 <= GOAL_CALLS_PER_100),
        verdict(total_100 <= GOAL_CALLS_PER_100),
    );
    let _ = writeln!(
        o,
        "  the run summary's crm_calls: {} = {:.3} per 100 accounts (first attempts only)",
        s.crm_calls,
        per_100(s.crm_calls, accounts)
    );

    // Time: each resource's bound, and the wall time against the largest.
    let wall = m.wall;
    let crm_bound = m
        .scenario
        .rate_limit
        .map(|l| bound(calls.rate_limited_kinds, l.max_requests, l.interval));
    let mut bounds: Vec<(String, Duration)> = crm_bound
        .map(|b| vec![("CRM".to_owned(), b)])
        .unwrap_or_default();
    if m.scenario.provider_limits {
        if let (Some(b), Some(l)) = (crm_bound, m.scenario.rate_limit) {
            let _ = writeln!(
                o,
                "  bound of the CRM: {} ({} calls under /crm at {}/{} ms)",
                secs(b),
                calls.rate_limited_kinds,
                l.max_requests,
                l.interval.as_millis()
            );
        }
        for (name, rate) in crate::scenario::EMULATOR_LIMITS {
            let requests: u64 = calls
                .providers
                .iter()
                .filter(|(kind, _)| kind.split('.').next() == Some(name))
                .map(|(_, n)| *n)
                .sum();
            let b = bound(requests, rate, Duration::from_mins(1));
            let _ = writeln!(
                o,
                "  bound of {name}: {} ({requests} requests at {rate}/min)",
                secs(b)
            );
            bounds.push((name.to_owned(), b));
        }
    }
    if let Some((name, largest)) = bounds.iter().max_by_key(|(_, b)| *b)
        && m.scenario.provider_limits
    {
        let r = ratio(wall, *largest);
        let _ = writeln!(
            o,
            "wall time {} vs the largest bound, {name}'s {}: {} [goal <= {GOAL_BOUND_FACTOR}x: {}]",
            secs(wall),
            secs(*largest),
            r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.3}x")),
            verdict(r.is_some_and(|r| r <= GOAL_BOUND_FACTOR)),
        );
    }
    match m.scenario.rate_limit {
        // Under the providers' limits the largest bound, printed above, is the measure.
        Some(_) if m.scenario.provider_limits => {}
        Some(l) => {
            let b = bound(calls.rate_limited_kinds, l.max_requests, l.interval);
            let r = ratio(wall, b);
            let _ = writeln!(
                o,
                "wall time {} vs the rate-limit bound {} ({} calls under /crm at {}/{} ms): {} [goal <= {GOAL_BOUND_FACTOR}x: {}]",
                secs(wall),
                secs(b),
                calls.rate_limited_kinds,
                l.max_requests,
                l.interval.as_millis(),
                r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.3}x")),
                verdict(r.is_some_and(|r| r <= GOAL_BOUND_FACTOR)),
            );
        }
        None => {
            let per_second = accounts as f64 / wall.as_secs_f64().max(1e-9);
            let goal = if accounts >= 100_000 {
                format!(
                    " [goal >= {GOAL_ACCOUNTS_PER_SECOND} at 100,000: {}]",
                    verdict(per_second >= GOAL_ACCOUNTS_PER_SECOND)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "wall time {}: {per_second:.0} accounts/s{goal}",
                secs(wall)
            );
        }
    }
    let _ = writeln!(
        o,
        "  429s seen by the sandbox: {} ({}); max requests in one window: {}",
        m.stats.total_429,
        list(&m.stats.rate_limited),
        m.stats.max_in_window
    );
    let _ = writeln!(
        o,
        "  HubSpot client: {} requests, {} retries, {} 429s; waited {} on its pacer, {} on pauses/backoff",
        m.client.requests,
        m.client.retries,
        m.client.rate_limited,
        secs(m.client.limiter_wait),
        secs(m.client.pause_wait)
    );
    let (busy, idle) = m.timeline.split();
    let last_page = m.timeline.processed.last().copied();
    let tail = last_page
        .zip(m.timeline.started)
        .map(|(last, start)| wall.saturating_sub(last.duration_since(start)));
    let _ = writeln!(
        o,
        "  enrich stage: {} pages, busy {} (enrich+merge+diff+hand-off), waiting for pages {}; after the last page: {}",
        m.timeline.processed.len(),
        secs(busy),
        secs(idle),
        tail.map_or_else(|| "n/a".to_owned(), secs)
    );

    let pages = m.timeline.page_times();
    if !pages.is_empty() {
        let mut sorted = pages.clone();
        sorted.sort();
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        let mean = |ds: &[Duration]| {
            ds.iter().sum::<Duration>() / u32::try_from(ds.len().max(1)).unwrap_or(u32::MAX)
        };
        let tenth = pages.len().div_ceil(10);
        let _ = writeln!(
            o,
            "  time per page in the enrich stage: median {}, p90 {}, max {}; first tenth of pages {} each, last tenth {}",
            ms(sorted[sorted.len() / 2]),
            ms(sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)]),
            ms(sorted[sorted.len() - 1]),
            ms(mean(&pages[..tenth])),
            ms(mean(&pages[pages.len() - tenth..])),
        );
    }

    // Memory.
    let _ = writeln!(
        o,
        "memory (VmRSS/VmHWM of this process):\n  at start {}; sandbox started and seeded {}; at the end {}",
        rss(m.rss_start, |r| r.current.to_string()),
        rss(m.rss_seeded, |r| format!(
            "{} (seeding peak {})",
            r.current, r.peak
        )),
        rss(m.rss_end, |r| r.current.to_string()),
    );
    let peak = m.rss_end.map(|r| r.peak);
    let goal_applies = accounts >= 100_000;
    if m.scenario.sandbox_process {
        let _ = writeln!(
            o,
            "  peak RSS {}: the engine alone (HubSpot client, providers, Clay receiver, store, pipeline){}",
            peak.map_or_else(|| "n/a".to_owned(), |p| p.to_string()),
            if goal_applies {
                format!(
                    " [goal < {GOAL_PEAK_MIB} MiB at 100,000: {}]",
                    verdict(peak.is_some_and(|p| p.mib() < GOAL_PEAK_MIB))
                )
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            o,
            "  the sandbox child: {}",
            rss(m.sandbox_rss, |r| format!(
                "RSS {} at the end, peak {}",
                r.current, r.peak
            ))
        );
    } else {
        let seeded = m.rss_seeded.map(|r| r.current);
        let _ = writeln!(
            o,
            "  peak RSS {}: engine AND sandbox (same process){}",
            peak.map_or_else(|| "n/a".to_owned(), |p| p.to_string()),
            if goal_applies {
                format!(
                    " [goal < {GOAL_PEAK_MIB} MiB: {} for the sum; rerun with --sandbox-process for the engine alone]",
                    verdict(peak.is_some_and(|p| p.mib() < GOAL_PEAK_MIB))
                )
            } else {
                String::new()
            }
        );
        if let (Some(seeded), Some(start), Some(peak)) = (seeded, m.rss_start, peak) {
            let _ = writeln!(
                o,
                "  the sandbox's share: {:.1} MiB to start and seed it (RSS seeded - RSS at start), plus what the {} values it stored during the sync take; peak - seeded = {:.1} MiB is the engine plus that growth",
                seeded.mib() - start.current.mib(),
                m.stats.values_written,
                peak.mib() - seeded.mib()
            );
        }
    }

    // Outcomes.
    let c = &s.outcomes;
    let _ = writeln!(
        o,
        "outcomes of {accounts} accounts: written {}, unchanged {}, skipped {}, rejected {}, failed {} (sum {})",
        c.written,
        c.unchanged,
        c.skipped,
        c.rejected,
        c.failed,
        c.written + c.unchanged + c.skipped + c.rejected + c.failed
    );
    let _ = writeln!(o, "  skipped: {}", list(&s.skipped));
    let _ = writeln!(o, "  rejected: {}", list(&s.rejected));
    let _ = writeln!(o, "  failed: {}", list(&s.failed));
    let _ = writeln!(o, "  values written (sandbox): {}", m.stats.values_written);
    let _ = writeln!(o, "providers (credits {:.0}):", s.credits);
    for (name, p) in &s.providers {
        let _ = writeln!(
            o,
            "  {name}: {} lookups ({} emulator requests), found {}, not found {}, pending {}, errors {}, cache hits {}{}",
            p.lookups,
            calls.providers.get(name).copied().unwrap_or(0),
            p.found,
            p.not_found,
            p.pending,
            p.errors,
            p.cache_hits,
            p.stopped
                .as_deref()
                .map(|w| format!(", stopped: {w}"))
                .unwrap_or_default()
        );
    }
    o
}
